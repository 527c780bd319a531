import Foundation
import Glibc

/// A throwaway server process for tests: `python3 -c SCRIPT ARGS…`, whose script binds
/// 127.0.0.1 port 0 and prints the port it got as its first line (so no test races for a free
/// port). The process is killed by pid in `stop()` or deinit, and its stderr is discarded.
///
/// Shared by `TestTLSServer` and the proxy's TLS upstream tests, which differ only in what the
/// script does once a client connects.
package final class PythonScriptServer: Sendable {
    /// The port the script printed.
    package let port: Int
    private let process: Process

    /// Starts `script` with `arguments`; throws when it ends or prints no port number first.
    package init(script: String, arguments: [String], name: String) throws {
        let process = Process()
        // The system interpreter starts faster than a version-manager shim found through PATH.
        let systemPython = "/usr/bin/python3"
        let direct = FileManager.default.isExecutableFile(atPath: systemPython)
        process.executableURL = URL(fileURLWithPath: direct ? systemPython : "/usr/bin/env")
        process.arguments = (direct ? [] : ["python3"]) + ["-c", script] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            process.waitUntilExit()
            throw TestSupportError("python3 \(name) did not start")
        }
        self.process = process
        self.port = port
    }

    deinit { stop() }

    /// Kills the process by pid and reaps it.
    package func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }
}
