internal import CSystemd
import FoundationEssentials
import Glibc

/// Talks to the service manager through `$NOTIFY_SOCKET` (sd_notify(3)): readiness, reload and
/// stop notifications, status lines and watchdog pings. Without systemd (no `NOTIFY_SOCKET`)
/// every call is a cheap no-op, so callers never need to check.
package struct SystemdNotifier: Sendable {
    package init() {}

    /// True when a service manager is listening for notifications.
    package var isEnabled: Bool {
        ProcessInfo.processInfo.environment["NOTIFY_SOCKET"] != nil
    }

    /// Start-up finished: `Type=notify` units become active now. `status` is shown by
    /// `systemctl status`.
    package func ready(status: String? = nil) {
        send(["READY=1"] + (status.map { ["STATUS=\($0)"] } ?? []))
    }

    /// A reload (SIGHUP) has begun. `Type=notify-reload` needs `MONOTONIC_USEC` with it.
    package func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let usec = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        send(["RELOADING=1", "MONOTONIC_USEC=\(usec)"])
    }

    /// Shutdown has begun.
    package func stopping() { send(["STOPPING=1"]) }

    /// Free-form status for `systemctl status`.
    package func status(_ text: String) { send(["STATUS=\(text)"]) }

    /// Tells the watchdog we are alive; see `watchdogInterval`.
    package func watchdogPing() { send(["WATCHDOG=1"]) }

    /// The interval the unit's `WatchdogSec=` asks us to ping within, if enabled for this
    /// process. Ping at half of it. The corresponding C function is `sd_watchdog_enabled`.
    package var watchdogInterval: Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec))
    }

    private func send(_ assignments: [String]) {
        guard isEnabled else { return }
        // The corresponding C function is `sd_notify`; failures are not actionable here.
        _ = sd_notify(0, assignments.joined(separator: "\n"))
    }
}
