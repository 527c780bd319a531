/// Operator messages are made of sentences that come from different places (our text, the
/// server's `error_description`, a hint): each part ends with exactly one period, whether or
/// not the server already put one there — never "server..".
enum Sentence {
    /// `text` with trailing spaces and periods removed and one period added (a text ending in
    /// `!`, `?` or `…` keeps its own mark).
    static func end(_ text: String) -> String {
        var trimmed = Substring(text)
        while let last = trimmed.last, last == " " || last == "." || last == "\n" {
            trimmed.removeLast()
        }
        guard let last = trimmed.last else { return "" }
        if last == "!" || last == "?" || last == "…" { return String(trimmed) }
        return trimmed + "."
    }

    /// The parts as sentences, one space apart; empty parts are skipped.
    static func join(_ parts: [String?]) -> String {
        parts.compactMap { $0 }.map(end).filter { !$0.isEmpty }.joined(separator: " ")
    }
}
