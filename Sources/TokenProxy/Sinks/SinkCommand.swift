import Dispatch
import Foundation
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = Array(argv.dropFirst())
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do {
            try process.run()
        } catch {
            return .couldNotStart("\(program): \(error.localizedDescription)")
        }
        let output = Mutex<[UInt8]>([])
        let drained = DispatchSemaphore(value: 0)
        let reader = pipe.fileHandleForReading
        DispatchQueue.global().async {
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                output.withLock { bytes in
                    let room = Limits.Sink.maxQuotedOutputBytes - bytes.count
                    if room > 0 { bytes += chunk.prefix(room) }
                }
            }
            drained.signal()
        }
        let seconds =
            Double(timeout.components.seconds)
            + Double(timeout.components.attoseconds) / 1e18
        if exited.wait(timeout: .now() + seconds) == .timedOut {
            process.terminate()
            if exited.wait(timeout: .now() + 1) == .timedOut {
                try? Posix.sendSignal(SIGKILL, to: process.processIdentifier)
                exited.wait()
            }
            return .timedOut(after: timeout)
        }
        // A grandchild may hold the pipe open: do not wait for it long.
        _ = drained.wait(timeout: .now() + 0.5)
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let text = output.withLock { String(decoding: $0, as: UTF8.self) }
            let status =
                process.terminationReason == .exit
                ? process.terminationStatus : 128 + process.terminationStatus
            return .failed(
                status: status,
                output: text.split(whereSeparator: \.isNewline).joined(separator: " | "))
        }
        return .succeeded
    }
}
