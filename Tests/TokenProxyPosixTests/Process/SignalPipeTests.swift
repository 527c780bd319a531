import Glibc
import Testing

@testable import TokenProxyPosix

/// Serialized: a process has one signal pipe (the handler writes to the newest one). Signals
/// are sent to the process, as systemd and kubelet send them: a thread-directed `raise` would
/// wait forever on a Dispatch worker thread, which blocks every signal.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct SignalPipeTests {
    /// Signals sent before anyone reads are kept and delivered as their numbers.
    @Test func keepsSignalsThatArriveBeforeTheReader() throws {
        let pipe = try SignalPipe(signals: [SIGUSR1, SIGUSR2])
        #expect(kill(getpid(), SIGUSR1) == 0)
        #expect(kill(getpid(), SIGUSR2) == 0)
        // Delivery may pick different threads, so the order between the two is not promised.
        let received: Set<Int32?> = [pipe.next(), pipe.next()]
        #expect(received == [SIGUSR1, SIGUSR2])
    }

    /// A second pipe takes over: the newest pipe receives what its handler forwards.
    @Test func theNewestPipeReceives() throws {
        let pipe = try SignalPipe(signals: [SIGUSR2])
        #expect(kill(getpid(), SIGUSR2) == 0)
        #expect(pipe.next() == SIGUSR2)
    }
}
