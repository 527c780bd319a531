import Dispatch
import Foundation
import Logging
import Synchronization
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyNet

@testable import TokenProxy

/// A token source without an IdP: mints `token-NAME-N` on demand, counts fetches and
/// refreshes, and fails on request. Each test builds its own.
final class FakeTokenSource: ProxyTokenSource {
    struct State {
        var held: [String: TokenStore.Snapshot] = [:]
        var serial = 0
        var fetches = 0
        var refreshes = 0
        var failure: TokenServiceError?
    }

    let state = Mutex(State())

    var refreshes: Int { state.withLock { $0.refreshes } }
    var fetches: Int { state.withLock { $0.fetches } }

    /// Makes `name` hold a token received `age` ago.
    @discardableResult
    func preload(_ name: String, age: Duration = .zero) -> TokenStore.Snapshot {
        state.withLock { Self.mint(name, age: age, &$0) }
    }

    func fail(with error: TokenServiceError?) { state.withLock { $0.failure = error } }

    func cachedToken(_ name: String, minValid: Duration?) -> TokenStore.Snapshot? {
        state.withLock { $0.held[name] }.flatMap {
            $0.isUsable(at: .now, minValid: minValid) ? $0 : nil
        }
    }

    func token(_ name: String, minValid: Duration?) async throws -> TokenStore.Snapshot {
        if let held = cachedToken(name, minValid: minValid) { return held }
        return try state.withLock { state in
            if let failure = state.failure { throw failure }
            state.fetches += 1
            return Self.mint(name, age: .zero, &state)
        }
    }

    func refresh(_ name: String) async throws -> TokenStore.Snapshot {
        try state.withLock { state in
            if let failure = state.failure { throw failure }
            state.refreshes += 1
            return Self.mint(name, age: .zero, &state)
        }
    }

    private static func mint(_ name: String, age: Duration, _ state: inout State)
        -> TokenStore.Snapshot
    {
        state.serial += 1
        let received = ContinuousClock.now - age
        let held = TokenStore.Snapshot(
            held: HeldToken(
                value: IssuedToken(
                    accessToken: Redacted("token-\(name)-\(state.serial)"), tokenType: "Bearer",
                    scope: nil),
                receivedAt: received, expiresAt: received + .seconds(300)),
            expiresAtUnix: Int64(Date().timeIntervalSince1970) + 300)
        state.held[name] = held
        return held
    }
}

enum ProxyRouterFixture {
    static let silent = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func route(
        host: String? = nil, prefix: String? = nil, strip: Bool = false, upstream: String,
        credential: String = "a", keepAuthorization: Bool = false, caFile: String? = nil
    ) -> ProxyRoute {
        ProxyRoute(
            host: host, pathPrefix: prefix, stripPrefix: strip, upstream: URL(string: upstream)!,
            credential: credential, keepClientAuthorization: keepAuthorization, caFile: caFile)
    }

    static func router(
        _ routes: [ProxyRoute], tunnels: [ProxyTunnel] = [],
        tokens: FakeTokenSource = FakeTokenSource(),
        access: TokenAPI.AccessPolicy? = nil, metrics: Metrics? = nil,
        introspection: (any ProxyIntrospectionSource)? = nil, rules: [String: AccessRule] = [:]
    ) throws -> ProxyRouter {
        try ProxyRouter(
            configuration: ProxyConfiguration(
                listen: [.tcp(host: "127.0.0.1", port: 0)], routes: routes, tunnels: tunnels),
            tokens: tokens, introspection: introspection, access: access, rules: rules,
            metrics: metrics,
            logger: silent,
            tokenTimeout: .seconds(30),
            file: "test.json",
            makeTLS: { configuration in
                configuration == TLSClientConfiguration()
                    ? defaultTLS : try TLSClientContext(configuration: configuration)
            })
    }

    /// One context with the system trust store for all tests (building one takes ~0.2 s).
    static let defaultTLS = try! TLSClientContext(configuration: TLSClientConfiguration())

    static func head(_ method: String = "GET", _ target: String, _ fields: [(String, String)] = [])
        -> HTTPRequestHead
    {
        HTTPRequestHead(method: method, target: target, fields: HTTPFields(fields))
    }

    static let peer = PeerIdentity.tcp(address: "127.0.0.1", port: 40000)

    /// Runs `body` in a task of its own, as the engine's loops hand a parked request's wait
    /// to the router: nothing blocks a thread any more (the router answers through a
    /// completion, awaited here).
    /// The result comes back under a lock rather than through `Task.value`, so that
    /// ThreadSanitizer sees the hand-over of the `ProxyForward` object the router wrote to.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T {
        let result = Mutex<T?>(nil)
        await Task {
            let value = await body()
            result.withLock { $0 = value }
        }.value
        return result.withLock { $0.take() }!
    }

    static func decide(_ router: ProxyRouter, _ head: HTTPRequestHead, peer: PeerIdentity = peer)
        async
        -> ProxyDecision
    {
        await onThread { await router.decide(head, peer: peer, listener: "proxy") }
    }
}

extension ProxyDecision {
    var forward: ProxyForward? {
        if case .forward(let forward) = self { return forward }
        return nil
    }

    var response: HTTPServerResponse? {
        if case .respond(let response) = self { return response }
        return nil
    }
}

extension HTTPServerResponse {
    var text: String { String(decoding: body, as: UTF8.self) }
}
