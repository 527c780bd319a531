import Glibc
import Synchronization
import Testing
import TokenProxyPosix

@testable import TokenProxyNet

/// A client that forwards what the loop reports to closures (all called on the loop's thread).
private final class RecordingClient: EventLoopClient, @unchecked Sendable {
    var deadline: UInt64?
    var onEvents: (UInt32) -> Void = { _ in }
    var onDeadline: () -> Void = {}
    var onStop: () -> Void = {}

    func handleEvents(_ events: UInt32) { onEvents(events) }

    func deadlinePassed(now: UInt64) {
        deadline = nil
        onDeadline()
    }

    func loopStopped() { onStop() }
}

/// A connected non-blocking Unix stream socket pair for the loop tests (both ends close-on-exec).
func nonBlockingSocketPair() -> (Int32, Int32) {
    var fds: [Int32] = [0, 0]
    let socketType =
        Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        | Int32(SOCK_CLOEXEC.rawValue)
    #expect(socketpair(AF_UNIX, socketType, 0, &fds) == 0)
    return (fds[0], fds[1])
}

@Suite(.timeLimit(.minutes(1)))
struct EventLoopTests {
    @Test func runsJobsInTheOrderTheyWereQueued() async {
        let loop = EventLoop(name: "test")
        loop.start()
        defer { loop.stop() }
        let order = Mutex<[Int]>([])
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            for index in 0..<100 {
                loop.execute { order.withLock { $0.append(index) } }
            }
            loop.execute { continuation.resume() }
        }
        #expect(order.withLock { $0 } == Array(0..<100))
    }

    @Test func reportsAReadableDescriptorToItsClient() async throws {
        let loop = EventLoop(name: "test")
        loop.start()
        defer { loop.stop() }
        let (local, remote) = nonBlockingSocketPair()
        defer {
            _ = close(local)
            _ = close(remote)
        }
        let client = RecordingClient()
        let events = await withCheckedContinuation {
            (continuation: CheckedContinuation<UInt32, Never>) in
            loop.execute {
                client.onEvents = { events in
                    // Level-triggered: stop watching before resuming, or it reports again.
                    try? loop.watch(
                        fd: local, token: 7, events: nil, previous: Epoll.input)
                    loop.deregister(token: 7)
                    continuation.resume(returning: events)
                }
                loop.register(client, token: 7)
                try? loop.watch(fd: local, token: 7, events: Epoll.input, previous: nil)
                var byte: UInt8 = 42
                _ = send(remote, &byte, 1, 0)
            }
        }
        #expect(events & Epoll.input != 0)
    }

    @Test func tellsAClientWhenItsDeadlinePassed() async {
        let loop = EventLoop(name: "test")
        loop.start()
        defer { loop.stop() }
        let client = RecordingClient()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute {
                client.onDeadline = {
                    loop.deregister(token: 3)
                    continuation.resume()
                }
                let deadline = EventLoop.now() + 5_000_000
                client.deadline = deadline
                loop.register(client, token: 3)
                loop.noteDeadline(deadline)
            }
        }
        #expect(client.deadline == nil)
    }

    @Test func tellsRegisteredClientsToCloseWhenStopped() async {
        let loop = EventLoop(name: "test")
        loop.start()
        let client = RecordingClient()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute {
                client.onStop = { continuation.resume() }
                loop.register(client, token: 9)
            }
            loop.stop()
        }
    }

    @Test func namesItsThreadForTopAndPerf() async throws {
        let loop = EventLoop(name: "loop-test-7")
        loop.start()
        defer { loop.stop() }
        let name = await withCheckedContinuation {
            (continuation: CheckedContinuation<String, Never>) in
            loop.execute {
                let text = KernelThreadName.current()
                continuation.resume(returning: text)
            }
        }
        #expect(name == "loop-test-7")
    }

    @Test func countsDeadlinesFromTheTimeItWoke() async {
        let loop = EventLoop(name: "test")
        loop.start()
        defer { loop.stop() }
        let (before, woke, after) = await withCheckedContinuation {
            (continuation: CheckedContinuation<(UInt64, UInt64, UInt64), Never>) in
            let before = EventLoop.now()
            loop.execute { continuation.resume(returning: (before, loop.time, EventLoop.now())) }
        }
        #expect(before <= woke)
        #expect(woke <= after)
    }

    @Test func rejectsWatchingTheSameDescriptorTwiceWithAnError() {
        let loop = EventLoop(name: "test")
        defer { loop.stop() }
        let (local, remote) = nonBlockingSocketPair()
        _ = close(remote)
        defer { _ = close(local) }
        // Watching the same descriptor twice is EEXIST: an error, not a crash.
        #expect(throws: NetError.self) {
            try loop.watch(fd: local, token: 1, events: Epoll.input, previous: nil)
            try loop.watch(fd: local, token: 1, events: Epoll.input, previous: nil)
        }
    }
}

/// Reads the calling thread's kernel name (`/proc/thread-self/comm`) with plain libc calls.
private enum KernelThreadName {
    static func current() -> String {
        let fd = open("/proc/thread-self/comm", O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { _ = close(fd) }
        var bytes = [UInt8](repeating: 0, count: 64)
        let count = read(fd, &bytes, bytes.count)
        guard count > 0 else { return "" }
        return String(decoding: bytes[..<count], as: UTF8.self)
            .trimmingSuffix(while: { $0 == "\n" })
    }
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var text = self
        while let last = text.last, predicate(last) { text.removeLast() }
        return text
    }
}
