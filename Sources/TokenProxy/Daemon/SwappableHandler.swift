import TokenProxyNet

/// Forwards to the current token API, which a reload replaces without touching the listening
/// sockets or the connections on them.
final class SwappableHandler: HTTPServerHandler {
    /// Read on every request, written on reload.
    private let current: ThreadLock<TokenAPI>

    init(_ api: TokenAPI) { current = ThreadLock(api) }

    func swap(_ api: TokenAPI) { current.withLock { $0 = api } }

    /// The token API serving now.
    var api: TokenAPI { current.withReadLock { $0 } }

    func handle(
        _ request: HTTPServerRequest, respond: @escaping @Sendable (HTTPServerResponse) -> Void
    ) {
        current.withReadLock { $0 }.handle(request, respond: respond)
    }
}
