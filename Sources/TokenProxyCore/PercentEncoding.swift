/// `%XX` decoding (RFC 3986 §2.1) without Foundation's `removingPercentEncoding`.
package enum PercentEncoding {
    /// `text` with every `%XX` replaced by its byte; nil for a malformed escape or a result that
    /// is not UTF-8, as `removingPercentEncoding` answered. With `plusAsSpace`, `+` is a space
    /// (the form encoding, WHATWG URL §5.1).
    package static func decode(_ text: some Collection<UInt8>, plusAsSpace: Bool = false)
        -> String?
    {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "+"), plusAsSpace {
                out.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                let first = text.index(after: index)
                guard first < text.endIndex, case let second = text.index(after: first),
                    second < text.endIndex,
                    let high = ASCIIHex.value(text[first]), let low = ASCIIHex.value(text[second])
                else { return nil }
                out.append(high << 4 | low)
                index = second
            } else {
                out.append(byte)
            }
            index = text.index(after: index)
        }
        return String(validating: out, as: UTF8.self)
    }

    /// `text` percent-decoded; see `decode(_:plusAsSpace:)`.
    package static func decode(_ text: String) -> String? {
        decode(text.utf8)
    }
}
