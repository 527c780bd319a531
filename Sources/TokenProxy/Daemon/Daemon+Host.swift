import Dispatch
import Logging
import Synchronization
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyNet
import TokenProxyPosix

/// The daemon as a host citizen: key isolation, per-credential access rules, the audit
/// trail's reports, `STATUS=` kept current, the operations listener.
extension Daemon {
    /// Keeps other processes — even of the same uid — out of this one's memory: non-dumpable
    /// (no core dump, no `ptrace` attach, no `/proc/PID/mem`) and OpenSSL's secure heap for
    /// private keys. Must run before the first key is read (the secure heap only holds keys
    /// decoded after it exists), so `serve` and `check` call it first thing, before logging
    /// is set up: it returns what to log (nil when all is well). Idempotent. Failures are not
    /// fatal: the unit's `LimitCORE=0` and sandbox still apply.
    @discardableResult
    package static func isolateKeys() -> String? {
        isolation.withLock { result in
            if let result { return result.notice }
            var notices: [String] = []
            do {
                try Posix.setDumpable(false)
            } catch {
                notices.append("cannot mark the process non-dumpable: \(error)")
            }
            switch OpenSSLRuntime.enableSecureHeap(
                bytes: Limits.Host.secureHeapBytes, minimum: Limits.Host.secureHeapMinimumBytes)
            {
            case .locked: break
            case .unlocked:
                notices.append(
                    "OpenSSL secure heap not locked in memory (RLIMIT_MEMLOCK or a seccomp filter refused mlock); keys stay out of core dumps"
                )
            case .unavailable:
                notices.append("OpenSSL secure heap unavailable; keys live on the ordinary heap")
            }
            let notice = notices.isEmpty ? nil : notices.joined(separator: "; ")
            result = Isolation(notice: notice)
            return notice
        }
    }

    private struct Isolation: Sendable {
        var notice: String?
    }

    private static let isolation = Mutex<Isolation?>(nil)

    /// `allow` of every credential with user and group names resolved; the names that do not
    /// exist on this host as problems (so `check` refuses what `serve` could not honour).
    static func accessRules(_ configuration: Configuration) -> (
        rules: [String: AccessRule], problems: [ConfigurationProblem]
    ) {
        var rules: [String: AccessRule] = [:]
        var problems: [ConfigurationProblem] = []
        for credential in configuration.credentials {
            guard let allow = credential.allow else { continue }
            let path = "credentials.\(credential.name).allow"
            var rule = AccessRule(
                uids: Set(allow.uids), gids: Set(allow.gids), units: Set(allow.units))
            for (index, name) in allow.users.enumerated() {
                if let uid = try? Posix.userID(named: name) {
                    rule.uids.insert(uid)
                } else {
                    problems.append(
                        ConfigurationProblem(
                            path: "\(path).users[\(index)]",
                            message:
                                "no user '\(name)' on this host: create it (systemd-sysusers, useradd) or remove it"
                        ))
                }
            }
            for (index, name) in allow.groups.enumerated() {
                if let gid = try? Posix.groupID(named: name) {
                    rule.gids.insert(gid)
                } else {
                    problems.append(
                        ConfigurationProblem(
                            path: "\(path).groups[\(index)]",
                            message:
                                "no group '\(name)' on this host: create it (systemd-sysusers, groupadd) or remove it"
                        ))
                }
            }
            rules[credential.name] = rule
        }
        return (rules, problems)
    }

    /// Every `interval`, runs `body` on a queue of its own.
    func every(
        _ interval: Duration, label: String, _ body: @escaping @Sendable () -> Void
    ) -> DispatchSourceTimer {
        let milliseconds = Int(interval.components.seconds * 1000)
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: label))
        timer.schedule(
            deadline: .now() + .milliseconds(milliseconds), repeating: .milliseconds(milliseconds))
        timer.setEventHandler(handler: body)
        timer.resume()
        return timer
    }

    /// Reports the audit counts every `auditReportInterval`.
    func startAuditReports(_ audit: TokenAudit) -> DispatchSourceTimer {
        let interval = Limits.Host.auditReportInterval
        return every(interval, label: "tokenproxy.audit") { audit.report(interval: interval) }
    }

    /// Sends `STATUS=` every `statusInterval` ("2/2 tokens valid, next refresh in 4m10s").
    func startStatusUpdates() -> DispatchSourceTimer? {
        guard notifier.isEnabled else { return nil }
        return every(Limits.Host.statusInterval, label: "tokenproxy.status") { [self] in
            guard let store = currentRunning()?.store else { return }
            Task { notifier.status(StatusLine.text(await store.statuses())) }
        }
    }

    /// The operations listener, when configured: its own server with one event loop.
    func makeOperationsServer(
        _ operations: OperationsConfiguration?, tokens: SwappableHandler
    ) throws(StartupError) -> HTTPServer? {
        guard let operations else { return nil }
        do {
            return HTTPServer(
                listeners: [try Listener.tcp(host: operations.host, port: Int(operations.port))],
                handler: OperationsHandler(tokens: tokens),
                configuration: HTTPServerConfiguration(
                    maxConnections: Limits.Server.maxConnections, eventLoops: 1))
        } catch {
            throw StartupError(
                message:
                    "operations.listen: cannot listen on \(operations.host):\(operations.port): \(error)",
                status: .configuration)
        }
    }
}

extension Daemon {
    /// Waits until every credential holds a token, or SIGTERM/SIGINT arrives (the signal stays
    /// in the stream, so `waitForTermination` then shuts down at once). `STATUS=` says what is
    /// awaited; systemd's `TimeoutStartSec=` bounds the wait.
    func waitForFirstTokens(_ store: TokenStore, unless termination: TerminationFlag) async {
        var lastStatus = ""
        while !termination.isSet {
            let statuses = await store.statuses()
            if statuses.allSatisfy(\.holdsUsefulToken) { return }
            let status = "waiting for first tokens: " + StatusLine.text(statuses)
            if status != lastStatus {
                notifier.status(status)
                lastStatus = status
            }
            try? await Task.sleep(for: Limits.Host.firstTokenPollInterval)
        }
    }
}

/// Set by the signal thread when SIGTERM or SIGINT arrives, for waits that run before the
/// daemon reads its signal stream.
final class TerminationFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    func set() { flag.store(true, ordering: .releasing) }

    var isSet: Bool { flag.load(ordering: .acquiring) }
}
