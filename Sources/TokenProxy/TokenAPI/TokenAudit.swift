import Logging
import Synchronization
import TokenProxyCore

/// The audit trail of tokens handed out: who (pid, uid, gid, executable, unit) got which
/// credential's token — never the token. Aggregated so that a caller polling 10,000 times a
/// second costs one line when it first appears and one count per report interval, not a line
/// per request: callers are keyed by (credential, uid, gid, executable, unit), so a shell loop
/// starting a new `curl` each time is still one caller.
///
/// Per request: one lock and a dictionary lookup by (credential, pid, uid, gid); `/proc/PID`
/// is read only for a process not seen since the last report.
package final class TokenAudit: Sendable {
    struct Process: Hashable {
        var credential: String
        var pid: Int32
        var uid: UInt32
        var gid: UInt32
    }

    /// One caller as the operator sees it.
    package struct Caller: Hashable, Sendable {
        package var credential: String
        package var uid: UInt32
        package var gid: UInt32
        package var executable: String
        package var unit: String?
    }

    struct State {
        var processes: [Process: Caller] = [:]
        /// Tokens handed out since the last report, by caller.
        var counts: [Caller: Int] = [:]
        /// Callers ever logged (their first line is written once).
        var known: Set<Caller> = []
        var pidsSinceReport: [Caller: Set<Int32>] = [:]
        /// Handed out to callers beyond `auditMaxCallers`, by credential.
        var overflow: [String: Int] = [:]
    }

    private let state = Mutex(State())
    private let logger: Logger
    private let metrics: Metrics

    package init(logger: Logger, metrics: Metrics) {
        self.logger = logger
        self.metrics = metrics
    }

    /// Records one token of `credential` handed to a Unix-socket caller. `details`, when the
    /// access check already read them, saves a second read of `/proc`.
    func record(
        credential: String, pid: Int32, uid: UInt32, gid: UInt32, details: ProcessDetails?
    ) {
        metrics.access.recordServed(credential: credential, uid: uid)
        let process = Process(credential: credential, pid: pid, uid: uid, gid: gid)
        let caller = state.withLock { $0.processes[process] }
        let resolved =
            caller
            ?? {
                let details = details ?? CallerInspector.details(pid: pid, uid: uid)
                return Caller(
                    credential: credential, uid: uid, gid: gid,
                    executable: details?.executable ?? "?", unit: details?.unit)
            }()
        let isNew = state.withLock { state -> Bool in
            if caller == nil, state.processes.count < Limits.Host.auditMaxProcesses {
                state.processes[process] = resolved
            }
            if state.known.contains(resolved) {
                state.counts[resolved, default: 0] += 1
                state.pidsSinceReport[resolved, default: []].insert(pid)
                return false
            }
            guard state.known.count < Limits.Host.auditMaxCallers else {
                state.overflow[credential, default: 0] += 1
                return false
            }
            state.known.insert(resolved)
            return true
        }
        if isNew {
            logger.info(
                "token handed out (first to this caller)",
                metadata: Self.metadata(resolved).merging(["caller_pid": "\(pid)"]) { $1 })
        }
    }

    /// Logs one line per caller that received tokens since the last report, with the count,
    /// and forgets the pid cache (pids get reused). Called every `auditReportInterval`.
    package func report(interval: Duration) {
        let (counts, pids, overflow) = state.withLock { state in
            defer {
                state.counts = [:]
                state.pidsSinceReport = [:]
                state.overflow = [:]
                state.processes = [:]
            }
            return (state.counts, state.pidsSinceReport, state.overflow)
        }
        for (caller, count) in counts.sorted(by: { $0.key.credential < $1.key.credential }) {
            var metadata = Self.metadata(caller)
            metadata["count"] = "\(count)"
            metadata["processes"] = "\(pids[caller]?.count ?? 0)"
            metadata["interval_s"] = "\(interval.components.seconds)"
            logger.info("tokens handed out", metadata: metadata)
        }
        for (credential, count) in overflow.sorted(by: { $0.key < $1.key }) {
            logger.info(
                "tokens handed out to further callers (too many distinct callers to list)",
                metadata: ["credential": "\(credential)", "count": "\(count)"])
        }
    }

    static func metadata(_ caller: Caller) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "credential": "\(caller.credential)", "caller_uid": "\(caller.uid)",
            "caller_gid": "\(caller.gid)", "caller_exe": "\(caller.executable)",
        ]
        if let unit = caller.unit { metadata["caller_unit"] = "\(unit)" }
        return metadata
    }
}
