import TokenProxyNet

/// Forwards to the current token API, which a reload replaces without touching the listening
/// sockets or the connections on them.
final class SwappableHandler: HTTPServerHandler {
    /// Read on every request, written on reload.
    private let current: ReadMostlyLock<TokenAPI>

    init(_ api: TokenAPI) { current = ReadMostlyLock(api) }

    func swap(_ api: TokenAPI) { current.write { $0 = api } }

    func handle(
        _ request: HTTPServerRequest, respond: @escaping @Sendable (HTTPServerResponse) -> Void
    ) {
        current.read { $0 }.handle(request, respond: respond)
    }
}
