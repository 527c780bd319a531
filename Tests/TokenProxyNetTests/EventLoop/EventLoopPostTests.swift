import Dispatch
import Glibc
import Synchronization
import Testing
import TokenProxyPosix

@testable import TokenProxyNet

/// What the clients were asked, in order.
private final class EventLog: Sendable {
    let entries = Mutex<[String]>([])

    func append(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }
}

/// A client that notes what the loop asks of it, by name, and posts work as told (all on the
/// loop's thread).
private final class PostingClient: EventLoopClient, @unchecked Sendable {
    let name: String
    let log: EventLog
    /// Called on each event and each posted run; posts again while it returns true.
    var onEvents: (UInt32) -> Void = { _ in }
    var onPosted: () -> Void = {}
    var deadline: UInt64? { nil }

    init(_ name: String, log: EventLog) {
        self.name = name
        self.log = log
    }

    func handleEvents(_ events: UInt32) {
        log.append("\(name) event")
        onEvents(events)
    }

    func runPosted() {
        log.append("\(name) posted")
        onPosted()
    }

    func deadlinePassed(now: UInt64) {}
    func loopStopped() {}
}

/// `EventLoop.post(token:)`: work a client leaves for later runs after the other events of the
/// same wake-up, and work posted from posted work waits for the next wake-up.
@Suite(.timeLimit(.minutes(1)))
struct EventLoopPostTests {
    @Test func postedWorkRunsAfterTheOtherEventsOfTheWakeUp() async throws {
        let loop = EventLoop(name: "test")
        loop.start()
        defer { loop.stop() }
        let log = EventLog()
        let (firstLocal, firstRemote) = nonBlockingSocketPair()
        let (secondLocal, secondRemote) = nonBlockingSocketPair()
        defer { for fd in [firstLocal, firstRemote, secondLocal, secondRemote] { _ = close(fd) } }
        let first = PostingClient("first", log: log)
        let second = PostingClient("second", log: log)
        let hold = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        var posts = 0
        first.onEvents = { (_: UInt32) in
            // Level-triggered: leave epoll so only posted work follows.
            try? loop.watch(fd: firstLocal, token: 1, events: nil, previous: Epoll.input)
            loop.post(token: 1)
        }
        first.onPosted = {
            posts += 1
            if posts < 3 { loop.post(token: 1) } else { done.signal() }
        }
        second.onEvents = { (_: UInt32) in
            try? loop.watch(fd: secondLocal, token: 2, events: nil, previous: Epoll.input)
            loop.post(token: 2)
        }
        loop.execute {
            loop.register(first, token: 1)
            loop.register(second, token: 2)
            try? loop.watch(fd: firstLocal, token: 1, events: Epoll.input, previous: nil)
            try? loop.watch(fd: secondLocal, token: 2, events: Epoll.input, previous: nil)
            // Both become readable while the loop is busy here: one wake-up reports both.
            hold.wait()
        }
        var byte: UInt8 = 1
        #expect(send(firstRemote, &byte, 1, 0) == 1)
        #expect(send(secondRemote, &byte, 1, 0) == 1)
        hold.signal()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                done.wait()
                continuation.resume()
            }
        }
        #expect(
            log.all == [
                "first event", "second event", "first posted", "second posted", "first posted",
                "first posted",
            ])
    }

    @Test func workPostedByAClientThatLeftIsDropped() async {
        let loop = EventLoop(name: "test")
        loop.start()
        defer { loop.stop() }
        let log = EventLog()
        let gone = PostingClient("gone", log: log)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute {
                loop.register(gone, token: 5)
                loop.post(token: 5)
                loop.deregister(token: 5)
                // Runs after the posted work of this wake-up would have.
                loop.execute { continuation.resume() }
            }
        }
        #expect(log.all.isEmpty)
    }
}
