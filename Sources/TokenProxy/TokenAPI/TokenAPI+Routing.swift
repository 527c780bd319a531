import Glibc

extension TokenAPI {
    /// The position in the store's names of the credential that `target` asks for when it is
    /// exactly `/v1/tokens/{name}` (no query, no further segment), compared on the UTF-8
    /// bytes against ``tokenTargets``; `nil` sends the request down the general route, which
    /// answers everything else (including unknown names) the same way as before. The hot path
    /// builds no strings.
    func tokenPosition(inTarget target: String) -> Int? {
        let position = target.utf8.withContiguousStorageIfAvailable { bytes -> Int? in
            var position = 0
            while position < tokenTargets.count {
                let equal = tokenTargets[position].withUnsafeBytes { candidate in
                    // memcmp: the generic `elementsEqual` compared byte by byte (~250 instr).
                    candidate.count == bytes.count && !bytes.isEmpty
                        && memcmp(candidate.baseAddress!, bytes.baseAddress!, bytes.count) == 0
                }
                if equal { return position }
                position += 1
            }
            return nil
        }
        return position ?? nil
    }

    /// Per name of `names`, `/v1/tokens/{name}` as bytes (empty for a name with `?`, which the
    /// general route would cut at the query: it is left to that).
    static func tokenTargets(_ names: [String]) -> [[UInt8]] {
        names.map { $0.utf8.contains(0x3F) ? [] : Array("/v1/tokens/\($0)".utf8) }
    }
}
