import TokenProxyCore

/// Where the proxy guard gets introspection answers: the daemon's ``Introspector``, or a fake
/// in tests (so that guarding can be tested without an IdP).
package protocol ProxyIntrospectionSource: Sendable {
    /// The cached answer, without suspending; nil: ask `introspect`.
    func cachedAnswer(_ name: String, token: Redacted<String>) -> IntrospectionAnswer?
    /// The answer from the cache, a request in flight for the same token, or the IdP.
    func introspect(_ name: String, token: Redacted<String>, hint: String?)
        async throws(IntrospectionError) -> IntrospectionAnswer
}

extension Introspector: ProxyIntrospectionSource {}
