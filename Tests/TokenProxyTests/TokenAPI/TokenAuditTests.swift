import Logging
import Synchronization
import Testing
import TokenProxyCore

@testable import TokenProxy

/// The audit trail aggregates: one line when a caller first gets a credential's token, then a
/// count per report — however fast it polls, and from however many processes.
@Suite(.timeLimit(.minutes(1)))
struct TokenAuditTests {
    final class Lines: Sendable {
        let entries = Mutex<[(String, Logger.Metadata)]>([])
    }

    struct Capture: LogHandler {
        let lines: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            lines.entries.withLock { $0.append(("\(event.message)", event.metadata ?? [:])) }
        }
    }

    private func audit() -> (TokenAudit, Lines, Metrics) {
        let lines = Lines()
        let logger = Logger(label: "test") { _ in Capture(lines: lines) }
        return (TokenAudit(logger: logger), lines, Metrics())
    }

    private let details = ProcessDetails(
        supplementaryGroups: [], uids: [1001], unit: "billing.service",
        executable: "/usr/bin/curl", startTime: 1)

    @Test func pollingCallerIsOneLineThenACount() {
        let (audit, lines, metrics) = audit()
        for _ in 0..<10_000 {
            audit.record(credential: "billing", pid: 77, uid: 1001, gid: 1001, details: details)
        }
        let first = lines.entries.withLock { $0 }
        #expect(first.count == 1)
        #expect(first.first?.1["caller_unit"] == "billing.service")
        #expect(first.first?.1["caller_exe"] == "/usr/bin/curl")
        #expect(first.first?.1["caller_pid"] == "77")
        audit.report(interval: .seconds(60))
        let all = lines.entries.withLock { $0 }
        #expect(all.count == 2)
        #expect(all.last?.1["count"] == "10000")
        #expect(all.last?.1["processes"] == "1")
        #expect(
            metrics.render(statuses: [], served: audit.served()).contains(
                #"tokenproxy_tokens_served_total{credential="billing",uid="1001"} 10000"#))
        audit.report(interval: .seconds(60))
        #expect(lines.entries.withLock { $0.count } == 2, "a quiet interval logs nothing")
        // The next report counts only what came since the last one; the total goes on.
        for _ in 0..<5 {
            audit.record(credential: "billing", pid: 77, uid: 1001, gid: 1001, details: details)
        }
        audit.report(interval: .seconds(60))
        let later = lines.entries.withLock { $0 }
        #expect(later.count == 3)
        #expect(later.last?.1["count"] == "5")
        #expect(
            metrics.render(statuses: [], served: audit.served()).contains(
                #"tokenproxy_tokens_served_total{credential="billing",uid="1001"} 10005"#))
    }

    @Test func newProcessesOfTheSameProgramAreTheSameCaller() {
        let (audit, lines, _) = audit()
        for pid in Int32(100)..<Int32(200) {
            audit.record(credential: "billing", pid: pid, uid: 1001, gid: 1001, details: details)
        }
        #expect(lines.entries.withLock { $0.count } == 1)
        audit.report(interval: .seconds(60))
        #expect(lines.entries.withLock { $0.last?.1["processes"] } == "100")
    }

    @Test func anotherCredentialOrUserIsAnotherCaller() {
        let (audit, lines, _) = audit()
        audit.record(credential: "billing", pid: 1, uid: 1001, gid: 1001, details: details)
        audit.record(credential: "other", pid: 1, uid: 1001, gid: 1001, details: details)
        audit.record(credential: "billing", pid: 2, uid: 1002, gid: 1001, details: details)
        #expect(lines.entries.withLock { $0.count } == 3)
    }
}
