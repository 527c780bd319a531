extension TokenAPI {
    /// The configured name that `target` asks for when it is exactly `/v1/tokens/{name}` (no
    /// query, no further segment), compared on the UTF-8 bytes; `nil` sends the request down
    /// the general route, which answers everything else (including unknown names) the same way
    /// as before. Returns the element of `names`, so the hot path builds no strings.
    static func tokenName(inTarget target: String, names: [String]) -> String? {
        let prefix: StaticString = "/v1/tokens/"
        let utf8 = target.utf8
        let prefixCount = prefix.utf8CodeUnitCount
        guard utf8.count > prefixCount else { return nil }
        let matched: Int? = prefix.withUTF8Buffer { prefixBytes in
            var index = utf8.startIndex
            for byte in prefixBytes {
                guard utf8[index] == byte else { return nil }
                index = utf8.index(after: index)
            }
            let rest = utf8[index...]
            // A name with `?` would be cut at the query by the general route: leave it to that.
            for (position, name) in names.enumerated()
            where name.utf8.elementsEqual(rest) && !rest.contains(0x3F) {
                return position
            }
            return nil
        }
        return matched.map { names[$0] }
    }
}
