import Glibc
import Testing

@testable import TokenProxyPosix

/// `Posix.spawn` and `waitForExit` against real children (`/bin/sh`).
@Suite(.timeLimit(.minutes(1)))
struct PosixSpawnTests {
    /// Runs `script` with its output in a pipe; returns what it printed and how it ended.
    private func run(_ script: String, environment: [String: String] = [:]) throws -> (
        String, ChildExit
    ) {
        let child = try Posix.spawn(
            path: "/bin/sh", arguments: ["-c", script], environment: environment, output: .pipe,
            stdinFromNull: true)
        let fd = try #require(child.outputFD)
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let result = try buffer.withUnsafeMutableBytes { try Posix.read(fd, into: $0) }
            guard case .done(let count) = result, count > 0 else { break }
            output += buffer[..<count]
        }
        try Posix.close(fd)
        return (String(decoding: output, as: UTF8.self), try Posix.waitForExit(of: child.pid))
    }

    @Test func capturesOutputAndErrorAndTheExitStatus() throws {
        let (output, exit) = try run("echo out; echo err >&2; exit 3")
        #expect(output == "out\nerr\n")
        #expect(exit == .exited(3))
        #expect(exit.shellStatus == 3)
    }

    @Test func reportsASignal() throws {
        let (_, exit) = try run("kill -9 $$")
        #expect(exit == .signaled(9))
        #expect(exit.shellStatus == 137)
    }

    /// Exactly the environment given, nothing of ours; stdin is /dev/null.
    @Test func passesExactlyTheEnvironment() throws {
        let (output, _) = try run(
            "echo \"$ONLY:${HOME:-unset}\"; cat; echo end", environment: ["ONLY": "yes"])
        #expect(output == "yes:unset\nend\n")
    }

    /// No descriptor of ours above 2 reaches the child, even one without close-on-exec, and
    /// the child starts with no blocked signals (the daemon blocks the ones it reads).
    @Test func closesOurDescriptorsAndClearsTheSignalMask() throws {
        let leaked = dup(1)
        defer { Glibc.close(leaked) }
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGUSR2)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let (output, exit) = try run(
            "ls /proc/self/fd | sort -n | tr '\\n' ' '; grep SigBlk /proc/self/status",
            environment: ["PATH": "/usr/bin:/bin"])
        #expect(exit == .exited(0))
        // 0, 1, 2 and the descriptor `ls` opens to read the directory.
        #expect(output == "0 1 2 3 SigBlk:\t0000000000000000\n", "\(output)")
    }

    @Test func aMissingProgramThrows() {
        #expect(throws: PosixError.self) {
            try Posix.spawn(
                path: "/nonexistent/program", arguments: [], environment: [:], output: .pipe,
                stdinFromNull: true)
        }
    }

    @Test func findsExecutableFiles() {
        #expect(Posix.isExecutableFile("/bin/sh"))
        #expect(!Posix.isExecutableFile("/bin"))
        #expect(!Posix.isExecutableFile("/etc/hostname") || access("/etc/hostname", X_OK) == 0)
        #expect(!Posix.isExecutableFile("/nonexistent"))
    }
}
