internal import CLinuxShims
import Glibc

/// How a child process ended, as `waitpid` reports it.
package enum ChildExit: Sendable, Equatable {
    /// It called `exit(status)`.
    case exited(Int32)
    /// A signal ended it.
    case signaled(Int32)

    /// The shell's convention: the exit status, or 128 + the signal number.
    package var shellStatus: Int32 {
        switch self {
        case .exited(let status): status
        case .signaled(let signal): 128 + signal
        }
    }
}

/// Starting and reaping child processes (sink commands, `tokenproxy exec`'s command) without
/// Foundation's `Process`, the last reason some modules linked all of Foundation.
extension Posix {
    /// Where a child's standard output and error go.
    package enum ChildOutput: Sendable {
        /// Ours: the child writes where we do.
        case inherit
        /// Into a new pipe: `spawn` returns its read end.
        case pipe
    }

    /// Starts `path` with `arguments` (argv[1…]; argv[0] is `path`) and exactly `environment`.
    /// The child gets a default signal disposition and an empty signal mask (the daemon blocks
    /// the signals its signal thread reads, and ignores SIGPIPE; a child must not inherit
    /// either), and no descriptor of ours above 2: every one is closed in the child, so a
    /// listening socket or a key file cannot leak into a command.
    ///
    /// With `stdinFromNull`, standard input is `/dev/null`. A program that cannot be executed
    /// (missing, not executable) throws here: glibc's `posix_spawn` reports the `execve` error.
    /// With `.pipe`, the read end of the child's output is `outputFD` (closed by the caller
    /// with `Posix.close`; a number, since a non-copyable owner cannot be returned in a tuple).
    ///
    /// The corresponding C functions are `posix_spawn`, `pipe2` and
    /// `posix_spawn_file_actions_addclosefrom_np`.
    package static func spawn(
        path: String, arguments: [String], environment: [String: String],
        output: ChildOutput, stdinFromNull: Bool
    ) throws(PosixError) -> (pid: Int32, outputFD: Int32?) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        if stdinFromNull {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        var pipeEnds: [Int32] = [-1, -1]
        if case .pipe = output {
            try syscallNonBlocking("pipe2") { CLinuxShims_pipe_cloexec(&pipeEnds) }
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2)
        }
        _ = CLinuxShims_spawn_close_from(&actions, 3)

        let argv = ([path] + arguments).map { strdup($0) }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") }
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = (argv + [nil]).withUnsafeBufferPointer { argvPointer in
            (envp + [nil]).withUnsafeBufferPointer { envpPointer in
                posix_spawn(
                    &pid, path, &actions, &attributes,
                    UnsafeMutablePointer(mutating: argvPointer.baseAddress!),
                    UnsafeMutablePointer(mutating: envpPointer.baseAddress!))
            }
        }
        if pipeEnds[1] >= 0 { try? close(pipeEnds[1]) }
        guard result == 0 else {
            if pipeEnds[0] >= 0 { try? close(pipeEnds[0]) }
            throw PosixError(call: "posix_spawn", errno: result)
        }
        return (pid, pipeEnds[0] >= 0 ? pipeEnds[0] : nil)
    }

    /// Blocks until child `pid` ends and reaps it.
    ///
    /// The corresponding C function is `waitpid`.
    package static func waitForExit(of pid: Int32) throws(PosixError) -> ChildExit {
        var status: Int32 = 0
        try syscallNonBlocking("waitpid") { Glibc.waitpid(pid, &status, 0) }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import (macros).
        if status & 0x7F == 0 { return .exited((status >> 8) & 0xFF) }
        return .signaled(status & 0x7F)
    }
}
