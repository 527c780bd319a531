import FoundationEssentials
import TokenProxyCore

extension TokenEndpointRejection {

    /// Interprets an error answer. `secrets` (the assertion we sent) are scrubbed from any text
    /// the server echoes back, so a chatty error page cannot leak them into our logs.
    package init(status: Int, contentType: String?, body: [UInt8], secrets: [String]) {
        self.status = status
        let text = String(decoding: body, as: UTF8.self)
        let trimmed = text.trimmingWhitespace()
        if trimmed.isEmpty {
            detail = "empty body"
            return
        }
        if let object = JSONObjectMembers(body) {
            if let code = object.string("error"), Self.isValidErrorCode(code) {
                error = code
                detail = object.string("error_description").map {
                    Self.sanitize($0, secrets: secrets)
                }
            } else {
                detail =
                    "JSON without an OAuth error code: " + Self.sanitize(trimmed, secrets: secrets)
            }
            return
        }
        let isHTML =
            (contentType?.lowercased().contains("html") ?? false)
            || trimmed.prefix(15).lowercased().hasPrefix("<!doctype html")
            || trimmed.prefix(6).lowercased().hasPrefix("<html")
        if isHTML {
            let summary = Self.htmlTitle(trimmed) ?? Self.stripTags(trimmed)
            detail = "HTML page: " + Self.sanitize(summary, secrets: secrets)
        } else {
            detail = Self.sanitize(trimmed, secrets: secrets)
        }
    }

    /// RFC 6749 §5.2: error = 1*( %x20-21 / %x23-5B / %x5D-7E ).
    static func isValidErrorCode(_ code: String) -> Bool {
        !code.isEmpty && code.utf8.count <= 64
            && code.utf8.allSatisfy { ($0 >= 0x20 && $0 <= 0x7E) && $0 != 0x22 && $0 != 0x5C }
    }

    /// One line of printable text, secrets removed, at most `Limits.IdP.maxQuotedDetailCharacters` characters.
    static func sanitize(_ text: String, secrets: [String]) -> String {
        var cleaned = text
        for secret in secrets where !secret.isEmpty {
            cleaned = cleaned.replacing(secret, with: "<redacted>")
        }
        let printable = cleaned.unicodeScalars.map { scalar -> Character in
            scalar.properties.generalCategory == .control ? " " : Character(scalar)
        }
        var collapsed = ""
        var lastWasSpace = false
        for character in printable {
            let isSpace = character == " "
            if isSpace && lastWasSpace { continue }
            collapsed.append(character)
            lastWasSpace = isSpace
        }
        collapsed = collapsed.trimmingSpaces()
        if collapsed.count > Limits.IdP.maxQuotedDetailCharacters {
            collapsed = String(collapsed.prefix(Limits.IdP.maxQuotedDetailCharacters)) + "…"
        }
        return collapsed
    }

    private static func htmlTitle(_ html: String) -> String? {
        // Tags are found in an ASCII-lower-cased copy of the bytes; offsets match the original.
        let bytes = Array(html.utf8)
        let lower = bytes.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
        guard let open = lower.firstRange(of: Array("<title>".utf8)),
            let close = lower[open.upperBound...].firstRange(of: Array("</title>".utf8))
        else { return nil }
        let title = String(decoding: bytes[open.upperBound..<close.lowerBound], as: UTF8.self)
            .trimmingWhitespace()
        return title.isEmpty ? nil : title
    }

    private static func stripTags(_ html: String) -> String {
        var out = ""
        var inTag = false
        for character in html {
            if character == "<" {
                inTag = true
            } else if character == ">" {
                inTag = false
                out.append(" ")
            } else if !inTag {
                out.append(character)
            }
        }
        return out
    }
}
