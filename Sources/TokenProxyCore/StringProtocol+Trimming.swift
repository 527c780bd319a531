extension StringProtocol {
    /// The text without leading and trailing whitespace and line breaks (Unicode
    /// `White_Space`, as `trimmingCharacters(in: .whitespacesAndNewlines)` trimmed) — Swift's
    /// own character properties, so trimming needs no Foundation.
    package func trimmingWhitespace() -> String {
        trimming { $0.isWhitespace }
    }

    /// The text without leading and trailing spaces and tabs, line breaks kept (as
    /// `trimmingCharacters(in: .whitespaces)` trimmed).
    package func trimmingSpaces() -> String {
        trimming { $0.isWhitespace && !$0.isNewline }
    }

    private func trimming(_ drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }),
            let last = lastIndex(where: { !drop($0) })
        else { return "" }
        return String(self[first...last])
    }
}
