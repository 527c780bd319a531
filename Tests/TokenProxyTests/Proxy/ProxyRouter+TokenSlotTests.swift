import Foundation
import Synchronization
import Testing
import TokenProxyCore
import TokenProxyNet

@testable import TokenProxy

/// A token source that publishes in `SnapshotSlot`s, as `TokenStore` does: the router injects
/// from the slot directly (`ProxyToken`) and asks the source only when the slot cannot answer.
final class SlotTokenSource: ProxyTokenSource {
    let slots: [String: SnapshotSlot]
    private let counts = Mutex((fetches: 0, refreshes: 0, serial: 0))

    init(_ names: [String]) {
        slots = Dictionary(uniqueKeysWithValues: names.map { ($0, SnapshotSlot(nil)) })
    }

    var fetches: Int { counts.withLock { $0.fetches } }
    var refreshes: Int { counts.withLock { $0.refreshes } }

    /// Publishes a new token for `name`, received `age` ago, valid for `lifetime` from then.
    @discardableResult
    func publish(_ name: String, age: Duration = .seconds(60), lifetime: Duration = .seconds(300))
        -> TokenStore.Snapshot
    {
        let serial = counts.withLock {
            $0.serial += 1
            return $0.serial
        }
        let received = ContinuousClock.now - age
        let snapshot = TokenStore.Snapshot(
            held: HeldToken(
                value: IssuedToken(
                    accessToken: Redacted("slot-\(name)-\(serial)"), tokenType: "Bearer",
                    scope: nil),
                receivedAt: received, expiresAt: received + lifetime),
            expiresAtUnix: Int64(Date().timeIntervalSince1970) + 300)
        slots[name]!.withLock { $0 = snapshot }
        return snapshot
    }

    func snapshotSlot(_ name: String) -> SnapshotSlot? { slots[name] }

    func cachedToken(_ name: String, minValid: Duration?) -> TokenStore.Snapshot? {
        slots[name]?.read().flatMap { $0.isUsable(at: .now, minValid: minValid) ? $0 : nil }
    }

    func token(_ name: String, minValid: Duration?) async throws -> TokenStore.Snapshot {
        if let held = cachedToken(name, minValid: minValid) { return held }
        counts.withLock { $0.fetches += 1 }
        return publish(name, age: .zero)
    }

    func refresh(_ name: String) async throws -> TokenStore.Snapshot {
        counts.withLock { $0.refreshes += 1 }
        return publish(name, age: .zero)
    }
}

@Suite(.timeLimit(.minutes(1)))
struct ProxyRouterTokenSlotTests {
    typealias F = ProxyRouterFixture

    static func router(_ tokens: SlotTokenSource) throws -> ProxyRouter {
        try ProxyRouter(
            configuration: ProxyConfiguration(
                listen: [.tcp(host: "127.0.0.1", port: 0)],
                routes: [F.route(prefix: "/api/", upstream: "http://127.0.0.1:9000")]),
            tokens: tokens, logger: F.silent, tokenTimeout: .seconds(30), file: "test.json")
    }

    @Test func aWritePreparesTheProxyToken() {
        let slot = SnapshotSlot(nil)
        #expect(slot.proxyToken() == nil)
        let tokens = SlotTokenSource(["a"])
        let snapshot = tokens.publish("a")
        let before = slot.generation
        slot.withLock { $0 = snapshot }
        #expect(slot.generation == before + 1)
        let prepared = slot.proxyToken()
        #expect(prepared?.snapshot === snapshot)
        #expect(prepared?.authorization.value == snapshot.value.authorization.value)
        #expect(prepared?.generation == snapshot.value.generation)
        // A write that leaves the value keeps the prepared token; one that clears it drops it.
        slot.withLock { _ in }
        #expect(slot.proxyToken() === prepared)
        slot.withLock { $0 = nil }
        #expect(slot.proxyToken() == nil)
        #expect(slot.read() == nil)
    }

    /// The instants where a token's usability to the proxy changes, a nanosecond either side,
    /// and one on each end.
    private func instantsAroundTheChange(of snapshot: TokenStore.Snapshot) -> [ContinuousClock
        .Instant]
    {
        let minimum = Limits.Proxy.minimumTokenValidity
        let tick = Duration.nanoseconds(1)
        return [
            snapshot.receivedAt, snapshot.expiresAt - minimum - tick, snapshot.expiresAt - minimum,
            snapshot.expiresAt - minimum + tick, snapshot.expiresAt - tick, snapshot.expiresAt,
            snapshot.expiresAt + .seconds(1),
        ]
    }

    /// `ProxyToken.isUsable` is `isUsable(at:minValid:)` with the proxy's minimum, around the
    /// instants where the answer changes.
    @Test func isUsableAsTheSnapshotSays() {
        let tokens = SlotTokenSource(["a"])
        let snapshot = tokens.publish("a")
        let prepared = ProxyToken(snapshot)
        let minimum = Limits.Proxy.minimumTokenValidity
        for now in instantsAroundTheChange(of: snapshot) {
            #expect(
                prepared.isUsable(at: now) == snapshot.isUsable(at: now, minValid: minimum))
        }
    }

    /// `isUsable(atNanoseconds:)` (the engine's receive time, `ContinuousTime`) answers as
    /// `isUsable(at:)` at the same instant, around the instants where the answer changes.
    @Test func isUsableAtNanosecondsAsAtTheInstant() {
        let tokens = SlotTokenSource(["a"])
        let snapshot = tokens.publish("a")
        let prepared = ProxyToken(snapshot)
        for now in instantsAroundTheChange(of: snapshot) {
            #expect(
                prepared.isUsable(atNanoseconds: ContinuousTime.nanoseconds(now))
                    == prepared.isUsable(at: now))
        }
    }

    /// The slot's token is judged at the time the engine says the request arrived, not at a
    /// clock reading of the router's own: a token expired by now still served a request that
    /// arrived while it was usable, and one that arrives now makes the router fetch.
    @Test func theReceiveTimeDecidesWhetherTheSlotsTokenIsUsable() async throws {
        let tokens = SlotTokenSource(["a"])
        let router = try Self.router(tokens)
        let stale = tokens.publish("a", age: .seconds(400), lifetime: .seconds(300))
        let head = F.head("GET", "/api/x")
        let answer = router.decide(
            head, peer: F.peer, listener: "proxy",
            receivedAt: ContinuousTime.nanoseconds(stale.receivedAt), completion: { _ in })
        guard case .now(.forward(let forward)) = answer else {
            Issue.record("no forward at once")
            return
        }
        #expect(forward.authorization == "Bearer slot-a-1")
        #expect(tokens.fetches == 0)
        let fetched = try #require(await F.decide(router, head).forward)
        #expect(fetched.authorization == "Bearer slot-a-2")
        #expect(tokens.fetches == 1)
    }

    @Test func injectsTheTokenInTheSlotAndFollowsItsWrites() async throws {
        let tokens = SlotTokenSource(["a"])
        let router = try Self.router(tokens)
        #expect(router.routes.first?.tokenSlot === tokens.slots["a"])
        let first = tokens.publish("a")
        let forward = try #require(await F.decide(router, F.head("GET", "/api/x")).forward)
        #expect(forward.authorization == "Bearer slot-a-1")
        #expect(forward.tokenGeneration == first.value.generation)
        #expect(forward.target == "/api/x")
        #expect(forward.removeHeaders.contains("X-Tokenproxy-Refresh"))
        let second = tokens.publish("a")
        let next = try #require(await F.decide(router, F.head("GET", "/api/y?q")).forward)
        #expect(next.authorization == "Bearer slot-a-2")
        #expect(next.tokenGeneration == second.value.generation)
        #expect(tokens.fetches == 0 && tokens.refreshes == 0)
    }

    @Test func asksTheSourceWhenTheSlotCannotAnswer() async throws {
        let tokens = SlotTokenSource(["a"])
        let router = try Self.router(tokens)
        // Nothing published: fetched.
        let fetched = try #require(await F.decide(router, F.head("GET", "/api/x")).forward)
        #expect(fetched.authorization == "Bearer slot-a-1")
        #expect(tokens.fetches == 1)
        // Inside the minimum validity: fetched again.
        tokens.publish("a", age: .seconds(299) + .milliseconds(500), lifetime: .seconds(300))
        let renewed = try #require(await F.decide(router, F.head("GET", "/api/x")).forward)
        #expect(renewed.authorization == "Bearer slot-a-3")
        #expect(tokens.fetches == 2)
        // A forced refresh of a token older than the refresh interval: refreshed.
        tokens.publish("a", age: Limits.Proxy.minimumForcedRefreshInterval + .seconds(1))
        let forced = try #require(
            await F.decide(router, F.head("GET", "/api/x", [("X-Tokenproxy-Refresh", "1")]))
                .forward)
        #expect(forced.authorization == "Bearer slot-a-5")
        #expect(tokens.refreshes == 1)
    }
}
