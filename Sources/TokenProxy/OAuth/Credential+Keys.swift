import TokenProxyCrypto

extension Credential {
    /// This credential with `nextKey` set.
    func withNextKey(_ key: ServiceKey?, origin: String?) -> Credential {
        var copy = self
        copy.nextKey = key
        copy.nextKeyOrigin = origin
        return copy
    }

    /// The keys to try, newest first: `nextKey` (during a rotation), then `key`, each as a
    /// credential that signs with it alone.
    var keysToTry: [Credential] {
        guard let nextKey else { return [self] }
        var next = self
        next.key = nextKey
        next.keyOrigin = nextKeyOrigin ?? keyOrigin
        next.nextKey = nil
        var current = self
        current.nextKey = nil
        return [next, current]
    }
}
