import Synchronization
import TokenProxyNet

/// Forwards to the current token API, which a reload replaces without touching the listening
/// sockets or the connections on them.
final class SwappableHandler: HTTPServerHandler {
    /// Read on every request, written on reload.
    private let current: ThreadLock<TokenAPI>
    /// Counts the swaps: a connection that kept the API it used last (`TokenAPIConnection`)
    /// checks this instead of taking the lock. Bumped after the swap (releasing), loaded
    /// before reading `current` (acquiring): a count seen implies the API it counted.
    private let swaps = Atomic<UInt64>(0)

    init(_ api: TokenAPI) { current = ThreadLock(api) }

    func swap(_ api: TokenAPI) {
        current.withLock { $0 = api }
        swaps.add(1, ordering: .releasing)
    }

    /// The token API serving now.
    var api: TokenAPI { current.withReadLock { $0 } }

    func handle(
        _ request: HTTPServerRequest, respond: @escaping @Sendable (HTTPServerResponse) -> Void
    ) {
        current.withReadLock { $0 }.handle(request, respond: respond)
    }

    /// The current API's fast path, without the lock while no reload happened since the
    /// connection's last request.
    func respondNow(
        to request: HTTPServerRequest, connectionState: inout AnyObject?
    ) -> HTTPServerResponse? {
        let generation = swaps.load(ordering: .acquiring)
        // The kept connection borrowed from `connectionState`, not copied out of it (a retain
        // and a release per request): nothing changes `connectionState` while it is used.
        if let kept = TokenAPIConnection.unretained(connectionState),
            kept._withUnsafeGuaranteedRef({ $0.handlerGeneration == generation })
        {
            return kept._withUnsafeGuaranteedRef { $0.api.respondNow(to: request, on: $0) }
        }
        let connection = TokenAPIConnection(api: api, handlerGeneration: generation)
        connectionState = connection
        return connection.api.respondNow(to: request, on: connection)
    }
}
