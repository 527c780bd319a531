import Dispatch
import Synchronization
import TokenProxyCore
import TokenProxyPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a sink's post-write command (argv, no shell) with a deadline. The token is never in
/// its arguments or environment: the command reads the file it was told about
/// (`TOKENPROXY_SINK`).
enum SinkCommand {
    /// How a run ended.
    enum Outcome: Equatable {
        case succeeded
        /// Exited non-zero or was killed by a signal; `output` is the start of what it printed.
        case failed(status: Int32, output: String)
        /// Still running at the deadline: sent SIGTERM, then SIGKILL a second later.
        case timedOut(after: Duration)
        /// Could not be started (missing program, not executable).
        case couldNotStart(String)
    }

    /// Runs `argv` with `environment` and waits at most `timeout`. Blocks the calling thread
    /// (the sink writer's own queue).
    static func run(_ argv: [String], environment: [String: String], timeout: Duration)
        -> Outcome
    {
        guard let program = argv.first else { return .succeeded }
        let child: (pid: Int32, outputFD: Int32?)
        do {
            child = try Posix.spawn(
                path: program, arguments: Array(argv.dropFirst()), environment: environment,
                output: .pipe, stdinFromNull: true)
        } catch {
            return .couldNotStart("\(program): \(error)")
        }
        let exit = Mutex<ChildExit?>(nil)
        let exited = DispatchSemaphore(value: 0)
        do {
            try Posix.startThread(name: "tokenproxy.sinkwait") {
                let status = try? Posix.waitForExit(of: child.pid)
                exit.withLock { $0 = status ?? .exited(-1) }
                exited.signal()
            }
        } catch {
            // No thread for the wait: reap here, without the deadline.
            exit.withLock { $0 = (try? Posix.waitForExit(of: child.pid)) ?? .exited(-1) }
            exited.signal()
        }
        let output = Mutex<[UInt8]>([])
        let drained = DispatchSemaphore(value: 0)
        if let fd = child.outputFD {
            let pipe = PipeReader(fd: fd)
            DispatchQueue.global().async {
                pipe.drain { chunk in
                    output.withLock { bytes in
                        let room = Limits.Sink.maxQuotedOutputBytes - bytes.count
                        if room > 0 { bytes += chunk.prefix(room) }
                    }
                }
                drained.signal()
            }
        } else {
            drained.signal()
        }
        let seconds =
            Double(timeout.components.seconds)
            + Double(timeout.components.attoseconds) / 1e18
        if exited.wait(timeout: .now() + seconds) == .timedOut {
            try? Posix.sendSignal(SIGTERM, to: child.pid)
            if exited.wait(timeout: .now() + 1) == .timedOut {
                try? Posix.sendSignal(SIGKILL, to: child.pid)
                exited.wait()
            }
            return .timedOut(after: timeout)
        }
        // A grandchild may hold the pipe open: do not wait for it long.
        _ = drained.wait(timeout: .now() + 0.5)
        let status = exit.withLock { $0 } ?? .exited(-1)
        guard status == .exited(0) else {
            let text = output.withLock { String(decoding: $0, as: UTF8.self) }
            return .failed(
                status: status.shellStatus,
                output: text.split(whereSeparator: \.isNewline).joined(separator: " | "))
        }
        return .succeeded
    }
}

/// Reads a child's output pipe to its end on whatever thread calls `drain`, then closes it.
private final class PipeReader: Sendable {
    private let fd: Int32

    init(fd: Int32) { self.fd = fd }

    /// Calls `body` with each chunk until end of file or an error.
    func drain(_ body: ([UInt8]) -> Void) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let result = buffer.withUnsafeMutableBytes { raw in
                Result { () throws(PosixError) in try Posix.read(fd, into: raw) }
            }
            guard case .success(.done(let count)) = result, count > 0 else { break }
            body(Array(buffer[..<count]))
        }
        try? Posix.close(fd)
    }
}
