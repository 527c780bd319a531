import Synchronization
import Testing
import TokenProxyPosix

@Suite(.timeLimit(.minutes(1)))
struct PosixThreadsTests {
    /// The body runs on a new thread carrying the name, cut to the kernel's 15 bytes.
    @Test func startsANamedThread() async throws {
        let seen = Mutex<String?>(nil)
        try Posix.startThread(name: "tokenproxy-test-thread") {
            let comm = Posix.readKernelBytes("/proc/thread-self/comm", limit: 64)
            seen.withLock { $0 = comm.map { String(decoding: $0, as: UTF8.self) } }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while seen.withLock({ $0 }) == nil, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(seen.withLock { $0 } == "tokenproxy-test\n")
    }
}
