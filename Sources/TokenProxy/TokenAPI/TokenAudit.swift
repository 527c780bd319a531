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
/// is read (outside the lock) only for a process not seen since the last report. A token API
/// connection keeps the ``Tally`` that `record` returned and, while ``epoch`` (one per report)
/// has not moved, counts its next requests on it with one atomic add and no lock. The same
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

    /// One caller's count, shared with the connections that count on it without the lock.
    ///
    /// One counter, not two (since the last report, and since start): each is an atomic add
    /// per token request, and an atomic instruction is what a request on one connection pays
    /// most for (bench/README.md, `callgrind_atomics.py`). The report keeps the total it saw
    /// last (`Entry.reported`) and logs the difference.
    final class Tally: Sendable {
        private let all = Atomic<Int>(0)

        /// One more token handed out.
        func count() {
            // Wrapping: `add` checks for overflow in a compare-exchange loop; one `lock xadd`
            // does here (2^63 tokens will not be handed out).
            all.wrappingAdd(1, ordering: .relaxed)
        }

        /// The count since start.
        var total: Int { all.load(ordering: .relaxed) }
    }

    struct Entry {
        var caller: Caller
        let tally = Tally()
        var processesSinceReport = 0
        /// `tally.total` at the last report (under the audit's lock, like the entry).
        var reported = 0

        /// The tokens counted since the last report; the next one counts from now.
        mutating func takeSinceReport() -> Int {
            let total = tally.total
            defer { reported = total }
            return total - reported
        }
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
    private let reports = Atomic<UInt64>(0)
    private let logger: Logger

    /// Moves at each report: a ``Tally`` taken at an older epoch belongs to a process the
    /// audit has since forgotten (pids are reused), so its holder must call `record` again.
    var epoch: UInt64 { reports.load(ordering: .acquiring) }

    package init(logger: Logger) {
        self.logger = logger
    }

    /// Records one token of `credential` handed to a Unix-socket caller. `details`, when the
    /// access check already read them, saves a second read of `/proc`. Returns the caller's
    /// tally (nil beyond `auditMaxCallers`), on which the same process's next tokens may be
    /// counted directly until ``epoch`` moves; read ``epoch`` before calling.
    @discardableResult
    func record(
        credential: String, pid: Int32, uid: UInt32, gid: UInt32, details: ProcessDetails?
    ) -> Tally? {
        let process = Process(pid: pid, uid: uid, gid: gid)
        let known = state.withLock { state -> Tally? in
            let position: Int
            if let last = state.last, last.process == process, last.credential == credential {
                position = last.position
            } else {
                guard let seen = state.processes[process],
                    let found = seen.first(where: { $0.credential == credential })?.position
                else { return nil }
                position = found
                state.last = (process, credential, position)
            }
            let tally = state.entries[position].tally
            tally.count()
            return tally
        }
        if let known { return known }
        let details = details ?? CallerInspector.details(pid: pid, uid: uid)
        let caller = Caller(
            credential: credential, uid: uid, gid: gid,
            executable: details?.executable ?? "?", unit: details?.unit)
        let (isNew, tally) = state.withLock { state -> (Bool, Tally?) in
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
                return (false, nil)
            }
            let tally = state.entries[position].tally
            tally.count()
            guard state.processCount < Limits.Host.auditMaxProcesses else {
                // Not remembered as a process: its next token must come through here again.
                return (isNew, nil)
            }
            state.processes[process, default: []].append((credential, position))
            state.processCount += 1
            state.entries[position].processesSinceReport += 1
            return (isNew, tally)
        }
        if isNew {
            var metadata = Self.metadata(caller)
            metadata["caller_pid"] = "\(pid)"
            logger.info("token handed out (first to this caller)", metadata: metadata)
        }
        return tally
    }

    /// Logs one line per caller that received tokens since the last report, with the count
    /// (the first token, also logged on its own, included),
    /// and forgets the pid cache (pids get reused). Called every `auditReportInterval`.
    package func report(interval: Duration) {
        let (entries, overflow) = state.withLock { state in
            // First the epoch: a connection that counts on a tally after this report must have
            // its process registered again, or the next report would show its tokens under
            // no process.
            reports.add(1, ordering: .releasing)
            var report: [(caller: Caller, count: Int, processes: Int)] = []
            for position in state.entries.indices {
                let count = state.entries[position].takeSinceReport()
                if count > 0 {
                    report.append(
                        (
                            state.entries[position].caller, count,
                            state.entries[position].processesSinceReport
                        ))
                }
                state.entries[position].processesSinceReport = 0
            }
            let overflow = state.overflow
            state.overflow = [:]
            state.processes = [:]
            state.last = nil
            state.processCount = 0
            return (report, overflow)
        }
        for entry in entries {
            var metadata = Self.metadata(entry.caller)
            metadata["count"] = "\(entry.count)"
            metadata["processes"] = "\(entry.processes)"
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
                totals[key, default: 0] += entry.tally.total
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
