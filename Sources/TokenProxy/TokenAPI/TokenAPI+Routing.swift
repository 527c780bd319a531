extension TokenAPI {
    /// The configured name that `target` asks for when it is exactly `/v1/tokens/{name}` (no
    /// query, no further segment), compared on the UTF-8 bytes; `nil` sends the request down
    /// the general route, which answers everything else (including unknown names) the same way
    /// as before. Returns the element of `names`, so the hot path builds no strings.
    static func tokenName(inTarget target: String, names: [String]) -> String? {
        tokenPosition(inTarget: target, names: names).map { names[$0] }
    }

    /// ``tokenName(inTarget:names:)``'s answer as its position in `names`.
    static func tokenPosition(inTarget target: String, names: [String]) -> Int? {
        let position = target.utf8.withContiguousStorageIfAvailable { bytes -> Int? in
            let prefix = tokensPrefix
            guard bytes.count > prefix.count else { return nil }
            for offset in 0..<prefix.count where bytes[offset] != prefix[offset] { return nil }
            let rest = UnsafeBufferPointer(rebasing: bytes[prefix.count...])
            // A name with `?` would be cut at the query by the general route: leave it to that.
            for (position, name) in names.enumerated() where Self.equals(name, rest) {
                return rest.contains(0x3F) ? nil : position
            }
            return nil
        }
        return position ?? nil
    }

    private static let tokensPrefix = Array("/v1/tokens/".utf8)

    /// (`withUTF8`: a small name has no contiguous storage to offer, and the generic
    /// `elementsEqual` over its `UTF8View` cost more than the rest of the match.)
    private static func equals(_ name: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard name.utf8.count == bytes.count else { return false }
        var name = name
        return name.withUTF8 { own in
            for index in 0..<own.count where own[index] != bytes[index] { return false }
            return true
        }
    }
}
