import Foundation
import Glibc
import Logging
import Synchronization
import Testing
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyNet

@testable import TokenProxy

/// The token API's fast path (`respondNow`) and what it remembers per connection: the same
/// answers as `handle`, a new token seen at once, access decisions kept only when the kernel's
/// ids made them, the audit counted on the connection's tally.
@Suite(.timeLimit(.minutes(1)))
struct TokenAPIConnectionTests {
    static let key = try! PrivateKey.generate(.ec(.p256))

    /// A store whose credential `demo` holds `token` (published as a reload hands it over; the
    /// service is never started, so nothing fetches).
    static func store(token: String? = "first") -> TokenStore {
        let credential = Credential(
            name: "demo", keyOrigin: "/k.json",
            key: ServiceKey(
                source: .zitadelServiceAccount(userID: "c1"), keyID: "k1", clientID: "c1",
                privateKey: key),
            issuer: URL(string: "https://idp.example")!, grant: .jwtBearer)
        let adopting = token.map {
            ["demo": TokenHandover(snapshot: snapshot($0), refreshAt: .now + .seconds(3600))]
        }
        return TokenStore(
            credentials: [credential], policies: ["demo": RefreshPolicy()],
            adopting: adopting ?? [:], clients: [:], onEvent: { _ in })
    }

    static func snapshot(_ token: String, lifetime: Duration = .seconds(300)) -> TokenStore.Snapshot
    {
        let now = ContinuousClock.now
        return TokenStore.Snapshot(
            held: HeldToken(
                value: IssuedToken(accessToken: Redacted(token), tokenType: "Bearer", scope: nil),
                receivedAt: now, expiresAt: now + lifetime),
            expiresAtUnix: Int64(Date().timeIntervalSince1970) + 300)
    }

    static func api(
        _ store: TokenStore, rules: [String: AccessRule] = [:], audit: TokenAudit? = nil
    ) -> TokenAPI {
        TokenAPI(
            store: store, metrics: Metrics(),
            access: TokenAPI.AccessPolicy(
                allowsAnyPeer: true, allowedUIDs: [], allowedGIDs: [], ownUID: 4242),
            tcpRequirement: nil, rules: rules, audit: audit)
    }

    static func request(
        _ method: String = "GET", target: String = "/v1/tokens/demo", fields: HTTPFields = [:],
        peer: PeerIdentity = .unix(pid: 1, uid: 1000, gid: 1000)
    ) -> HTTPServerRequest {
        HTTPServerRequest(
            head: HTTPRequestHead(method: method, target: target, fields: fields), body: [],
            peer: peer, listener: "unix")
    }

    static func accessToken(_ response: HTTPServerResponse?) -> String? {
        guard let response,
            let object = try? JSONSerialization.jsonObject(with: Data(response.body))
                as? [String: Any]
        else { return nil }
        return object["access_token"] as? String
    }

    static func viaHandle(_ api: TokenAPI, _ request: HTTPServerRequest) async -> HTTPServerResponse
    {
        await api.testResponse(to: request)
    }

    @Test func answersACachedTokenAsHandleDoes() async throws {
        let api = Self.api(Self.store())
        var state: AnyObject?
        let fast = try #require(api.respondNow(to: Self.request(), connectionState: &state))
        let general = await Self.viaHandle(api, Self.request())
        #expect(fast.status == 200)
        #expect(Self.accessToken(fast) == "first")
        #expect(fast.encodedHead == general.encodedHead)
        #expect(fast.body == general.body)
        #expect(TokenAPIConnection.of(state) != nil)
        let text = try #require(
            api.respondNow(
                to: Self.request(fields: ["Accept": "text/plain"]), connectionState: &state))
        #expect(text.body == Array("first".utf8))
    }

    @Test func everythingElseGoesTheGeneralWay() {
        let api = Self.api(Self.store())
        var state: AnyObject?
        #expect(api.respondNow(to: Self.request("POST"), connectionState: &state) == nil)
        #expect(
            api.respondNow(to: Self.request(target: "/healthz"), connectionState: &state) == nil)
        #expect(
            api.respondNow(
                to: Self.request(target: "/v1/tokens/demo?min_valid=60"), connectionState: &state)
                == nil)
        #expect(
            api.respondNow(to: Self.request(target: "/v1/tokens/other"), connectionState: &state)
                == nil)
        let empty = Self.api(Self.store(token: nil))
        #expect(empty.respondNow(to: Self.request(), connectionState: &state) == nil)
    }

    @Test func aNewTokenIsSeenOnTheNextRequest() throws {
        let store = Self.store()
        let api = Self.api(store)
        var state: AnyObject?
        #expect(
            Self.accessToken(api.respondNow(to: Self.request(), connectionState: &state)) == "first"
        )
        store.slot(at: 0).withLock { $0 = Self.snapshot("second") }
        #expect(
            Self.accessToken(api.respondNow(to: Self.request(), connectionState: &state))
                == "second")
        // A token about to expire is not handed out: the general way waits for a new one.
        store.slot(at: 0).withLock { $0 = Self.snapshot("third", lifetime: .milliseconds(500)) }
        #expect(api.respondNow(to: Self.request(), connectionState: &state) == nil)
    }

    @Test func expiresInCountsDownAcrossTheSecond() throws {
        let store = Self.store(token: nil)
        store.slot(at: 0).withLock { $0 = Self.snapshot("short", lifetime: .milliseconds(3_500)) }
        let api = Self.api(store)
        var state: AnyObject?
        func expiresIn() throws -> Int? {
            let response = try #require(api.respondNow(to: Self.request(), connectionState: &state))
            let object =
                try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            return object?["expires_in"] as? Int
        }
        let first = try #require(try expiresIn())
        #expect(first == 3 || first == 2)
        Thread.sleep(forTimeInterval: 1.1)
        let second = try #require(try expiresIn())
        #expect(second < first, "the answer kept for a second is not kept longer")
    }

    @Test func usesTheTimeTheRequestArrivedNotAClockOfItsOwn() throws {
        let store = Self.store(token: nil)
        store.slot(at: 0).withLock { $0 = Self.snapshot("timed", lifetime: .seconds(10)) }
        let api = Self.api(store)
        var state: AnyObject?
        func request(at offset: Duration) -> HTTPServerRequest {
            var request = Self.request()
            request.receivedAt = ContinuousTime.nanoseconds(ContinuousClock.now + offset)
            return request
        }
        func expiresIn(_ response: HTTPServerResponse?) throws -> Int? {
            let body = try #require(response).body
            let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
            return object?["expires_in"] as? Int
        }
        // Arrived 5 s from now: 4 whole seconds left (less a moment).
        let later = try expiresIn(
            api.respondNow(to: request(at: .seconds(5)), connectionState: &state))
        #expect(later == 4 || later == 3)
        // The answer kept for that second is not handed to a request of another second.
        let now = try expiresIn(api.respondNow(to: request(at: .zero), connectionState: &state))
        #expect(now == 9 || now == 8)
        // Within `minimumUsefulValidity` of the expiry: not handed out (the general way waits).
        #expect(
            api.respondNow(to: request(at: .milliseconds(9_500)), connectionState: &state) == nil)
    }

    @Test func kernelDecisionsAreKeptProcDecisionsAreNot() throws {
        let store = Self.store()
        let api = Self.api(store, rules: ["demo": AccessRule(uids: [1000])])
        var allowed: AnyObject?
        #expect(api.respondNow(to: Self.request(), connectionState: &allowed)?.status == 200)
        #expect(TokenAPIConnection.of(allowed)?.credentials[0]?.decision == .allowed)
        var refused: AnyObject?
        let peer = PeerIdentity.unix(pid: 1, uid: 1001, gid: 1001)
        #expect(
            api.respondNow(to: Self.request(peer: peer), connectionState: &refused)?.status == 403)
        #expect(
            api.respondNow(to: Self.request(peer: peer), connectionState: &refused)?.status == 403)
        #expect(TokenAPIConnection.of(refused)?.credentials[0]?.decision == .perRequest)

        // A supplementary group of this very process: allowed through /proc, so asked again
        // on every request (the process may drop the group or exec while connected).
        let own = try #require(CallerInspector.details(pid: getpid(), uid: getuid()))
        guard let group = own.supplementaryGroups.first else { return }
        let byGroup = Self.api(store, rules: ["demo": AccessRule(gids: [group])])
        let me = PeerIdentity.unix(pid: getpid(), uid: getuid(), gid: 99_999)
        var proc: AnyObject?
        #expect(
            byGroup.respondNow(to: Self.request(peer: me), connectionState: &proc)?.status == 200)
        #expect(TokenAPIConnection.of(proc)?.credentials[0]?.decision == .perRequest)
        // The same peer, whose /proc no longer shows the group (another uid: the guard fails).
        let changed = PeerIdentity.unix(
            pid: getpid(), uid: getuid() == 54321 ? 54322 : 54321, gid: 99_999)
        var other: AnyObject?
        #expect(
            byGroup.respondNow(to: Self.request(peer: changed), connectionState: &other)?.status
                == 403)
    }

    @Test func auditCountsOnTheConnectionsTallyAndRegistersAgainAfterAReport() {
        let lines = TokenAuditTests.Lines()
        let logger = Logger(label: "test") { _ in TokenAuditTests.Capture(lines: lines) }
        let audit = TokenAudit(logger: logger)
        let api = Self.api(Self.store(), audit: audit)
        var state: AnyObject?
        for _ in 0..<5 { _ = api.respondNow(to: Self.request(), connectionState: &state) }
        audit.report(interval: .seconds(60))
        #expect(lines.entries.withLock { $0.last?.1["count"] } == "5")
        #expect(lines.entries.withLock { $0.last?.1["processes"] } == "1")
        for _ in 0..<3 { _ = api.respondNow(to: Self.request(), connectionState: &state) }
        audit.report(interval: .seconds(60))
        #expect(lines.entries.withLock { $0.last?.1["count"] } == "3")
        #expect(
            lines.entries.withLock { $0.last?.1["processes"] } == "1", "the process is known again")
        #expect(audit.served().first?.count == 8)
    }

    @Test func aSwapIsSeenByTheNextRequestOfAKeptConnection() {
        let first = Self.api(Self.store())
        let handler = SwappableHandler(first)
        var state: AnyObject?
        #expect(
            Self.accessToken(handler.respondNow(to: Self.request(), connectionState: &state))
                == "first")
        let kept = TokenAPIConnection.of(state)
        #expect(
            Self.accessToken(handler.respondNow(to: Self.request(), connectionState: &state))
                == "first")
        #expect(TokenAPIConnection.of(state) === kept, "no swap: the same memory")
        handler.swap(Self.api(Self.store(token: "after reload")))
        #expect(
            Self.accessToken(handler.respondNow(to: Self.request(), connectionState: &state))
                == "after reload")
    }
}
