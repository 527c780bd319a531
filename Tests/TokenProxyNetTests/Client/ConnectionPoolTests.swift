import Testing

@testable import TokenProxyNet

/// The shared keep-alive pool with stand-in connections: order, limits, expiry, staleness,
/// and the one retry of a request that met a connection the server had closed.
@Suite(.timeLimit(.minutes(1)))
struct ConnectionPoolTests {
    final class FakeConnection: PooledConnection, @unchecked Sendable {
        // @unchecked: each test drives its connections from one thread.
        let name: String
        var isReusable = true
        var receivedResponseBytes = false
        var stale = false
        var isClosed = false
        var parkedCount = 0

        init(_ name: String) { self.name = name }

        func isStale() -> Bool { stale }
        func parked() { parkedCount += 1 }
        func close() { isClosed = true }
    }

    struct Failure: Error {}

    typealias Pool = ConnectionPool<String, FakeConnection>

    @Test func handsOutTheMostRecentlyUsedConnectionPerKey() {
        let pool = Pool(maxIdlePerKey: 4, idleTimeout: .seconds(60))
        let (a, b, c) = (FakeConnection("a"), FakeConnection("b"), FakeConnection("c"))
        pool.release(a, key: "x")
        pool.release(b, key: "x")
        pool.release(c, key: "y")
        #expect(pool.idleCount == 3 && pool.idleCount("x") == 2)
        #expect(pool.acquire("x") === b)
        #expect(pool.acquire("x") === a)
        #expect(pool.acquire("x") == nil)
        #expect(pool.acquire("y") === c)
        #expect(a.parkedCount == 1)
    }

    @Test func keepsAtMostTheLimitAndOnlyReusableConnections() {
        let pool = Pool(maxIdlePerKey: 1, idleTimeout: .seconds(60))
        let (kept, extra, broken) = (FakeConnection("k"), FakeConnection("e"), FakeConnection("b"))
        broken.isReusable = false
        pool.release(kept, key: "x")
        pool.release(extra, key: "x")
        pool.release(broken, key: "y")
        #expect(pool.idleCount == 1)
        #expect(!kept.isClosed && extra.isClosed && broken.isClosed)
    }

    @Test func skipsAndClosesStaleConnections() {
        let pool = Pool(maxIdlePerKey: 4, idleTimeout: .seconds(60))
        let (live, stale) = (FakeConnection("live"), FakeConnection("stale"))
        pool.release(live, key: "x")
        pool.release(stale, key: "x")
        stale.stale = true  // the server closed it while it sat idle
        #expect(pool.acquire("x") === live)
        #expect(stale.isClosed)
    }

    @Test func neverHandsOutAConnectionIdlePastTheTimeout() {
        let pool = Pool(maxIdlePerKey: 4, idleTimeout: .zero)
        let (old, older) = (FakeConnection("old"), FakeConnection("older"))
        pool.release(older, key: "x")
        pool.release(old, key: "x")
        #expect(pool.acquire("x") == nil)
        #expect(old.isClosed && older.isClosed)
        #expect(pool.idleCount == 0)
    }

    @Test func closeAllClosesIdleConnectionsAndLaterReleases() {
        let pool = Pool(maxIdlePerKey: 4, idleTimeout: .seconds(60))
        let (idle, busy) = (FakeConnection("idle"), FakeConnection("busy"))
        pool.release(idle, key: "x")
        pool.closeAll()
        #expect(pool.isClosed && idle.isClosed)
        pool.release(busy, key: "x")
        #expect(busy.isClosed && pool.idleCount == 0)
    }

    @Test func retriesOnceOnANewConnectionWhenAReusedOneFailsBeforeAnswering() throws {
        let pool = Pool(maxIdlePerKey: 4, idleTimeout: .seconds(60))
        let reused = FakeConnection("reused")
        pool.release(reused, key: "x")
        var tried: [String] = []
        let result = try pool.withConnection(
            "x", connect: { FakeConnection("new") }, mayReplay: { _, _ in true }
        ) { connection -> String in
            tried.append(connection.name)
            if connection === reused { throw Failure() }
            return connection.name
        }
        #expect(result == "new" && tried == ["reused", "new"])
        #expect(reused.isClosed)
    }

    @Test func retriesAtMostOnce() {
        let pool = Pool(maxIdlePerKey: 4, idleTimeout: .seconds(60))
        pool.release(FakeConnection("reused"), key: "x")
        var attempts = 0
        #expect(throws: Failure.self) {
            try pool.withConnection(
                "x", connect: { FakeConnection("new") }, mayReplay: { _, _ in true }
            ) { _ in
                attempts += 1
                throw Failure()
            }
        }
        #expect(attempts == 2)
    }

    @Test(arguments: ["fresh", "answered", "notReplayable"])
    func doesNotRetry(_ situation: String) {
        let pool = Pool(maxIdlePerKey: 4, idleTimeout: .seconds(60))
        if situation != "fresh" { pool.release(FakeConnection("reused"), key: "x") }
        var attempts = 0
        #expect(throws: Failure.self) {
            try pool.withConnection(
                "x", connect: { FakeConnection("new") },
                mayReplay: { _, _ in situation != "notReplayable" }
            ) { connection in
                attempts += 1
                // After a response byte the failure is not the idle-close race.
                connection.receivedResponseBytes = situation == "answered"
                throw Failure()
            }
        }
        #expect(attempts == 1)
    }
}
