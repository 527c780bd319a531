import Dispatch
import Synchronization
import TokenProxyCore
import TokenProxyPosix

#if canImport(Glibc)
    import Glibc
#endif

/// `tokenproxy exec NAME -- COMMAND ARGS…`: runs a command with a credential's token from the
/// running daemon in its environment, forwards SIGTERM/SIGINT/SIGHUP to it, and exits with its
/// status. On refresh (the daemon's token changed), it can restart the command with the new
/// token or send it a signal (for programs that re-read a sink file on SIGHUP).
package final class ExecSupervisor: Sendable {
    /// What to do when the daemon's token changes.
    package enum OnRefresh: Sendable, Equatable {
        /// Nothing: the command keeps the token it started with.
        case none
        /// Stop the command (SIGTERM, SIGKILL after the grace period) and start it again.
        case restart
        /// Send it this signal.
        case signal(Int32)
    }

    package struct Options: Sendable {
        package var name: String
        package var socket: String
        package var variable: String
        package var onRefresh: OnRefresh
        package var command: [String]
        /// How often the daemon is asked whether the token changed.
        package var pollInterval: Duration

        package init(
            name: String, socket: String, variable: String, onRefresh: OnRefresh,
            command: [String], pollInterval: Duration = Limits.Exec.pollInterval
        ) {
            self.name = name
            self.socket = socket
            self.variable = variable
            self.onRefresh = onRefresh
            self.command = command
            self.pollInterval = pollInterval
        }
    }

    private struct State {
        /// The running (or last) command's process id.
        var child: Int32?
        /// How the last command ended, once `waitForExit` reaped it.
        var exit: ChildExit?
        var token = ""
        /// Set once we were told to stop (a forwarded SIGTERM/SIGINT): no more restarts.
        var stopping = false
        var restarting = false
    }

    private let options: Options
    private let environment: [String: String]
    private let state = Mutex(State())
    private let exited = DispatchSemaphore(value: 0)

    package init(options: Options, environment: [String: String]) {
        self.options = options
        self.environment = environment
    }

    /// Runs until the command exits on its own (or after a forwarded signal); returns its exit
    /// status (128 + the signal number if a signal ended it).
    package func run() throws(OneShot.Failure) -> Int32 {
        let program = try Self.resolve(options.command[0], path: environment["PATH"])
        let token = try currentToken()
        let signals: SignalPipe
        do {
            signals = try SignalPipe(signals: [SIGTERM, SIGINT, SIGHUP])
        } catch {
            throw OneShot.Failure(message: "cannot handle signals: \(error)", status: .osError)
        }
        try start(program: program, token: token)
        do {
            try Posix.startThread(name: "tokenproxy.execsig") { [self] in
                while let number = signals.next() { forward(number) }
            }
        } catch {
            throw OneShot.Failure(message: "cannot forward signals: \(error)", status: .osError)
        }
        let watcher = options.onRefresh == .none ? nil : watch()
        defer { watcher?.cancel() }
        while true {
            exited.wait()
            let (restart, status) = state.withLock { state -> (Bool, Int32) in
                (state.restarting && !state.stopping, state.exit?.shellStatus ?? 1)
            }
            guard restart else { return status }
            state.withLock { $0.restarting = false }
            do {
                try start(program: program, token: state.withLock { $0.token })
            } catch {
                StandardStreams.writeError("tokenproxy: error: \(error.message)\n")
                return ExitStatus.osError.rawValue
            }
        }
    }

    private func start(program: String, token: String) throws(OneShot.Failure) {
        var environment = self.environment
        environment[options.variable] = token
        // The lock is held across the spawn so a fast exit cannot be reaped before the pid is
        // recorded.
        try state.withLock { state throws(OneShot.Failure) in
            let pid: Int32
            do {
                pid = try Posix.spawn(
                    path: program, arguments: Array(options.command.dropFirst()),
                    environment: environment, output: .inherit, stdinFromNull: false
                ).pid
            } catch {
                throw OneShot.Failure(
                    message: "cannot start \(program): \(error)", status: .osError)
            }
            state.child = pid
            state.exit = nil
            state.token = token
            do {
                try Posix.startThread(name: "tokenproxy.execwait") { [self] in
                    let exit = (try? Posix.waitForExit(of: pid)) ?? .exited(1)
                    self.state.withLock { $0.exit = exit }
                    exited.signal()
                }
            } catch {
                throw OneShot.Failure(
                    message: "cannot wait for \(program): \(error)", status: .osError)
            }
        }
    }

    private func forward(_ number: Int32) {
        let pid = state.withLock { state -> Int32? in
            if number != SIGHUP { state.stopping = true }
            return state.child
        }
        if let pid { try? Posix.sendSignal(number, to: pid) }
    }

    /// Asks the daemon for the token every `pollInterval`; acts when it changed.
    private func watch() -> any DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "tokenproxy.exec"))
        let interval =
            Double(options.pollInterval.components.seconds)
            + Double(options.pollInterval.components.attoseconds) / 1e18
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [self] in
            guard let token = try? currentToken() else { return }
            let (changed, pid) = state.withLock { state -> (Bool, Int32?) in
                guard token != state.token, !state.stopping, !state.restarting else {
                    return (false, nil)
                }
                state.token = token
                return (true, state.child)
            }
            guard changed, let pid else { return }
            switch options.onRefresh {
            case .none:
                break
            case .signal(let number):
                try? Posix.sendSignal(number, to: pid)
            case .restart:
                state.withLock { $0.restarting = true }
                try? Posix.sendSignal(SIGTERM, to: pid)
                // A command that ignores SIGTERM is killed after the grace period.
                let grace = Double(Limits.Exec.restartGrace.components.seconds)
                DispatchQueue.global().asyncAfter(deadline: .now() + grace) { [self] in
                    let stillThere = state.withLock {
                        $0.restarting && $0.child == pid
                    }
                    if stillThere { try? Posix.sendSignal(SIGKILL, to: pid) }
                }
            }
        }
        timer.resume()
        return timer
    }

    private func currentToken() throws(OneShot.Failure) -> String {
        let body = try DaemonCommands.token(
            name: options.name, socket: options.socket, minValid: nil, format: .json)
        guard let token = JSONObjectMembers(Array(body.utf8))?.string("access_token") else {
            throw OneShot.Failure(
                message: "the daemon's answer is not a token response", status: .unavailable)
        }
        return token
    }

    /// `command` itself if it has a slash, else the first executable of that name on `path`.
    static func resolve(_ command: String, path: String?) throws(OneShot.Failure) -> String {
        if command.contains("/") { return command }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(command)"
            if Posix.isExecutableFile(candidate) { return candidate }
        }
        throw OneShot.Failure(
            message: "\(command): not found on PATH; give its absolute path", status: .usage)
    }
}
