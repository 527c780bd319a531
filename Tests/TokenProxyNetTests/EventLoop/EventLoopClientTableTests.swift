import Testing

@testable import TokenProxyNet

/// A client that does nothing; the table only stores and finds it.
private final class IdleClient: EventLoopClient {
    func handleEvents(_ events: UInt32) {}
    var deadline: UInt64? { nil }
    func deadlinePassed(now: UInt64) {}
    func loopStopped() {}
}

@Suite struct EventLoopClientTableTests {
    @Test func findsAClientByItsEpollData() {
        var table = EventLoopClientTable()
        let first = IdleClient()
        let second = IdleClient()
        table.insert(first, token: 1 << 62 | 5)
        table.insert(second, token: 7)
        #expect(table.client(for: table.epollData(for: 1 << 62 | 5)) === first)
        #expect(table.client(for: table.epollData(for: 7)) === second)
        #expect(table.count == 2)
    }

    @Test func dropsAnEventTakenForAClientThatLeft() {
        var table = EventLoopClientTable()
        table.insert(IdleClient(), token: 3)
        let stale = table.epollData(for: 3)
        table.remove(token: 3)
        #expect(table.client(for: stale) == nil)
        // The slot is reused by the next client, under a new generation: the stale event
        // (still in the same epoll_wait batch) must not reach the newcomer.
        let newcomer = IdleClient()
        table.insert(newcomer, token: 4)
        let fresh = table.epollData(for: 4)
        #expect(fresh & 0xffff_ffff == stale & 0xffff_ffff)
        #expect(fresh != stale)
        #expect(table.client(for: stale) == nil)
        #expect(table.client(for: fresh) === newcomer)
    }

    @Test func theWakeUpAndUnregisteredDataNeverMatchAClient() {
        var table = EventLoopClientTable()
        table.insert(IdleClient(), token: 0)
        table.insert(IdleClient(), token: 1)
        #expect(table.epollData(for: 0) != EventLoopClientTable.wake)
        #expect(table.client(for: EventLoopClientTable.wake) == nil)
        #expect(table.client(for: EventLoopClientTable.unregistered) == nil)
        #expect(table.epollData(for: 99) == EventLoopClientTable.unregistered)
        #expect(table.client(for: UInt64(1) << 32 | 12345) == nil)
    }

    @Test func registeringATokenAgainReplacesItsClientInPlace() {
        var table = EventLoopClientTable()
        table.insert(IdleClient(), token: 8)
        let data = table.epollData(for: 8)
        let replacement = IdleClient()
        table.insert(replacement, token: 8)
        #expect(table.epollData(for: 8) == data)
        #expect(table.client(for: data) === replacement)
        #expect(table.count == 1)
    }

    @Test func listsEveryClientAndForgetsThemAll() {
        var table = EventLoopClientTable()
        for token in 1...5 { table.insert(IdleClient(), token: UInt64(token)) }
        table.remove(token: 2)
        #expect(table.clients.count == 4)
        table.removeAll()
        #expect(table.clients.isEmpty)
        #expect(table.count == 0)
    }

    /// Events reach a client without a retain of their own, so a client that leaves while it
    /// handles one (it closes) must outlive that call: the table keeps it until the batch ends.
    @Test func keepsAClientThatLeftUntilTheBatchEnds() {
        var table = EventLoopClientTable()
        weak var watched: IdleClient?
        do {
            let client = IdleClient()
            watched = client
            table.insert(client, token: 1)
        }
        #expect(watched != nil, "the table holds its clients")
        table.remove(token: 1)
        #expect(watched != nil, "kept until the batch ends")
        table.releaseRetired()
        #expect(watched == nil)
    }

    @Test func releasesItsClientsWhenItGoes() {
        weak var registered: IdleClient?
        weak var left: IdleClient?
        do {
            var table = EventLoopClientTable()
            let first = IdleClient()
            let second = IdleClient()
            registered = first
            left = second
            table.insert(first, token: 1)
            table.insert(second, token: 2)
            table.remove(token: 2)
        }
        #expect(registered == nil)
        #expect(left == nil)
    }
}
