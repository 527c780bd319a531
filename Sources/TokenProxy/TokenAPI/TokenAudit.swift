import Logging
import Synchronization
import TokenProxyCore

/// The audit trail of tokens handed out: who (pid, uid, gid, executable, unit) got which
/// credential's token — never the token. Aggregated so that a caller polling 10,000 times a
/// second costs one line when it first appears and one count per report interval, not a line
/// per request: callers are keyed by (credential, uid, gid, executable, unit), so a shell loop
/// starting a new `curl` each time is still one caller.
///
/// Per request: one lock and one dictionary lookup by (credential, pid, uid, gid) — none for
/// the same process and credential as the request before; `/proc/PID`
/// is read (outside the lock) only for a process not seen since the last report. The same
/// counts feed `tokenproxy_tokens_served_total{credential,uid}`.
package final class TokenAudit: Sendable {
    /// A process as `SO_PEERCRED` names it; integers only, so the per-request lookup hashes
    /// no string (the credential is compared, not hashed, in the short list it maps to).
    struct Process: Hashable {
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

    struct Entry {
        var caller: Caller
        var sinceReport = 0
        var total = 0
        var processesSinceReport = 0
    }

    struct Served: Hashable {
        var credential: String
        var uid: UInt32
    }

    struct State {
        /// Processes seen since the last report → (credential, index in `entries`).
        var processes: [Process: [(credential: String, position: Int)]] = [:]
        var processCount = 0
        var entries: [Entry] = []
        var index: [Caller: Int] = [:]
        /// Handed out to callers beyond `auditMaxCallers`: since the last report, and in all.
        var overflow: [String: Int] = [:]
        var overflowTotal: [Served: Int] = [:]
        /// The (process, credential) counted last and its entry: a keep-alive caller asking
        /// again is counted without hashing (cleared with `processes`).
        var last: (process: Process, credential: String, position: Int)?
    }

    private let state = Mutex(State())
    private let logger: Logger

    package init(logger: Logger) {
        self.logger = logger
    }

    /// Records one token of `credential` handed to a Unix-socket caller. `details`, when the
    /// access check already read them, saves a second read of `/proc`.
    func record(
        credential: String, pid: Int32, uid: UInt32, gid: UInt32, details: ProcessDetails?
    ) {
        let process = Process(pid: pid, uid: uid, gid: gid)
        let known = state.withLock { state -> Bool in
            let position: Int
            if let last = state.last, last.process == process, last.credential == credential {
                position = last.position
            } else {
                guard let seen = state.processes[process],
                    let found = seen.first(where: { $0.credential == credential })?.position
                else { return false }
                position = found
                state.last = (process, credential, position)
            }
            state.entries[position].sinceReport += 1
            state.entries[position].total += 1
            return true
        }
        if known { return }
        let details = details ?? CallerInspector.details(pid: pid, uid: uid)
        let caller = Caller(
            credential: credential, uid: uid, gid: gid,
            executable: details?.executable ?? "?", unit: details?.unit)
        let isNew = state.withLock { state -> Bool in
            var isNew = false
            var position = state.index[caller]
            if position == nil, state.entries.count < Limits.Host.auditMaxCallers {
                position = state.entries.count
                state.entries.append(Entry(caller: caller))
                state.index[caller] = position
                isNew = true
            }
            guard let position else {
                state.overflow[credential, default: 0] += 1
                state.overflowTotal[Served(credential: credential, uid: uid), default: 0] += 1
                return false
            }
            if state.processCount < Limits.Host.auditMaxProcesses {
                state.processes[process, default: []].append((credential, position))
                state.processCount += 1
                state.entries[position].processesSinceReport += 1
            }
            state.entries[position].sinceReport += 1
            state.entries[position].total += 1
            return isNew
        }
        if isNew {
            var metadata = Self.metadata(caller)
            metadata["caller_pid"] = "\(pid)"
            logger.info("token handed out (first to this caller)", metadata: metadata)
        }
    }

    /// Logs one line per caller that received tokens since the last report, with the count
    /// (the first token, also logged on its own, included),
    /// and forgets the pid cache (pids get reused). Called every `auditReportInterval`.
    package func report(interval: Duration) {
        let (entries, overflow) = state.withLock { state in
            let report = (state.entries.filter { $0.sinceReport > 0 }, state.overflow)
            for position in state.entries.indices {
                state.entries[position].sinceReport = 0
                state.entries[position].processesSinceReport = 0
            }
            state.overflow = [:]
            state.processes = [:]
            state.last = nil
            state.processCount = 0
            return report
        }
        for entry in entries {
            var metadata = Self.metadata(entry.caller)
            metadata["count"] = "\(entry.sinceReport)"
            metadata["processes"] = "\(entry.processesSinceReport)"
            metadata["interval_s"] = "\(interval.components.seconds)"
            logger.info("tokens handed out", metadata: metadata)
        }
        for (credential, count) in overflow.sorted(by: { $0.key < $1.key }) {
            logger.info(
                "tokens handed out to further callers (too many distinct callers to list)",
                metadata: ["credential": "\(credential)", "count": "\(count)"])
        }
    }

    /// Tokens handed out since start, by credential and caller uid (for `/metrics`).
    func served() -> [(credential: String, uid: UInt32, count: Int)] {
        let totals = state.withLock { state -> [Served: Int] in
            var totals = state.overflowTotal
            for entry in state.entries {
                let key = Served(credential: entry.caller.credential, uid: entry.caller.uid)
                totals[key, default: 0] += entry.total
            }
            return totals
        }
        return totals.map { ($0.key.credential, $0.key.uid, $0.value) }
            .sorted { ($0.credential, $0.uid) < ($1.credential, $1.uid) }
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
