import Synchronization
import Testing
import TokenProxyCore
import TokenProxyPosix

@testable import TokenProxy

/// `ThreadReadCache`: a thread keeps what it read at a generation and reads again after a
/// write; a value in use is never released under its reader; a thread's values are released
/// when it exits. Each test runs its reads on a thread of its own (the cache is per thread).
@Suite(.timeLimit(.minutes(1)))
struct ThreadReadCacheTests {
    /// Counts the values made and released, shared by a test's values.
    private final class Ledger: Sendable {
        let counts = Mutex((made: 0, released: [String]()))
        var made: Int { counts.withLock { $0.made } }
        var released: [String] { counts.withLock { $0.released } }
    }

    private final class Value: Sendable {
        let ledger: Ledger
        let name: String

        init(_ name: String, _ ledger: Ledger) {
            self.name = name
            self.ledger = ledger
            ledger.counts.withLock { $0.made += 1 }
        }

        deinit { ledger.counts.withLock { [name] in $0.released.append(name) } }
    }

    /// Runs `body` on a new thread and waits until that thread has exited.
    private func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async throws -> T {
        let result = Mutex<T?>(nil)
        try Posix.startThread(name: "tp-test-cache") {
            let value = body()
            result.withLock { $0 = value }
            // Detached: the thread's exit, and with it the key's destructor, follows this body.
        }
        for _ in 0..<1000 where result.withLock({ $0 == nil }) {
            try await Task.sleep(for: .milliseconds(5))
        }
        return try #require(result.withLock { $0.take() })
    }

    /// A read of `owner` at `generation` whose miss makes `name`.
    private static func read(
        _ owner: UInt64, _ generation: UInt64, _ name: String, _ ledger: Ledger
    ) -> String? {
        ThreadReadCache.withValue(
            owner: owner, generation: generation, load: { Value(name, ledger) }, { $0?.name })
    }

    @Test func keepsWhatItReadUntilTheGenerationChanges() async throws {
        let ledger = Ledger()
        let owner = ThreadReadCache.newOwner()
        let names = try await onOwnThread {
            [
                Self.read(owner, 1, "first", ledger),
                Self.read(owner, 1, "not made: the first is kept", ledger),
                Self.read(owner, 2, "second", ledger),
                Self.read(owner, 2, "not made either", ledger),
            ]
        }
        #expect(names == ["first", "first", "second", "second"])
        #expect(ledger.made == 2)
    }

    @Test func keepsANilValueToo() async throws {
        let loads = Mutex(0)
        let owner = ThreadReadCache.newOwner()
        let values = try await onOwnThread {
            (0..<3).map { _ in
                ThreadReadCache.withValue(
                    owner: owner, generation: 7,
                    load: { () -> Value? in
                        loads.withLock { $0 += 1 }
                        return nil
                    }, { $0 == nil })
            }
        }
        #expect(values == [true, true, true])
        #expect(loads.withLock { $0 } == 1)
    }

    @Test func readsOfOtherSlotsInsideAReadDoNotReleaseItsValue() async throws {
        let ledger = Ledger()
        let outer = ThreadReadCache.newOwner()
        // Owners that want the outer's entry (the same place modulo the table) and the next.
        var rivals: [UInt64] = []
        while rivals.count < 3 {
            let owner = ThreadReadCache.newOwner()
            if owner % UInt64(Limits.ReadCache.entriesPerThread)
                == outer % UInt64(Limits.ReadCache.entriesPerThread)
            {
                rivals.append(owner)
            }
        }
        let rivalOwners = rivals
        let outcome = try await onOwnThread {
            // Kept by the first read; the second finds it (a hit: borrowed from the entry).
            _ = Self.read(outer, 1, "outer", ledger)
            return ThreadReadCache.withValue(
                owner: outer, generation: 1, load: { Value("outer", ledger) }
            ) { value -> (String?, [String], String?, String?) in
                // Each rival misses and may take an entry; none may take the pinned one.
                for rival in rivalOwners { _ = Self.read(rival, 1, "rival", ledger) }
                // Still there: found again, not made again (and so not released under us).
                let again = Self.read(outer, 1, "evicted", ledger)
                // The outer slot itself, written meanwhile: a new value, the old one kept.
                _ = Self.read(outer, 2, "outer again", ledger)
                return (
                    value?.name, ledger.released, again,
                    Self.read(outer, 2, "not made", ledger)
                )
            }
        }
        #expect(outcome.0 == "outer")
        // Released while the outer read ran: only rivals that replaced each other.
        #expect(!outcome.1.isEmpty && outcome.1.allSatisfy { $0 == "rival" })
        #expect(outcome.2 == "outer")
        #expect(outcome.3 == "outer again")
        #expect(ledger.made == rivals.count + 2)
    }

    @Test func aThreadReleasesWhatItKeptWhenItExits() async throws {
        let ledger = Ledger()
        let owner = ThreadReadCache.newOwner()
        let name = try await onOwnThread { Self.read(owner, 1, "kept", ledger) }
        #expect(name == "kept")
        // The thread's exit runs the key's destructor; wait for it (bounded).
        for _ in 0..<1000 where ledger.released.isEmpty {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(ledger.made == 1 && ledger.released == ["kept"])
    }

    @Test func ownersAreUnique() {
        let owners = (0..<100).map { _ in ThreadReadCache.newOwner() }
        #expect(Set(owners).count == 100)
        #expect(!owners.contains(0))
    }

    @Test func aSlotsReaderOnOneThreadSeesEveryWrite() async throws {
        let slot = SnapshotSlot(nil)
        let tokens = SlotTokenSource(["a"])
        let first = tokens.publish("a")
        let second = tokens.publish("a")
        let seen = try await onOwnThread { () -> [String?] in
            var seen: [String?] = []
            func look() { seen.append(slot.withProxyToken { $0?.generation }) }
            look()
            slot.withLock { $0 = first }
            look()
            look()
            slot.withLock { $0 = second }
            look()
            slot.withLock { $0 = nil }
            look()
            return seen
        }
        #expect(
            seen == [
                nil, first.value.generation, first.value.generation, second.value.generation,
                nil,
            ])
    }

    @Test func theRouterSlotsReaderOnOneThreadSeesEverySwap() async throws {
        typealias F = ProxyRouterFixture
        let slot = ProxyRouterSlot(
            try F.router([F.route(host: "old.example", upstream: "https://old.example")]))
        let replacement = try F.router([
            F.route(host: "new.example", upstream: "https://new.example")
        ])
        let head = F.head("GET", "http://new.example/")
        let statuses = try await onOwnThread { () -> [Int?] in
            func status() -> Int? {
                switch slot.decide(
                    head, peer: F.peer, listener: "proxy", receivedAt: 0, completion: { _ in })
                {
                case .now(.respond(let response)): return response.status
                default: return 200  // routed (forwarded now, or waiting for its token)
                }
            }
            let before = [status(), status()]
            slot.swap(replacement)
            return before + [status(), status()]
        }
        #expect(statuses == [403, 403, 200, 200])
    }
}
