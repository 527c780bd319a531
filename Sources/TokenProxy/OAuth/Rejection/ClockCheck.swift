import FoundationEssentials
import TokenProxyCore

/// Compares the IdP's `Date` header with the local clock. Assertions carry `iat`/`exp`, so a
/// host whose clock is off by more than the allowance gets its assertions refused as expired
/// or not yet valid — and the IdP's error rarely says so. We say so.
enum ClockCheck {
    /// Parses an IMF-fixdate (RFC 9110 §5.6.7), the only form servers should send
    /// (`HTTPDate`: no ICU, unlike `DateFormatter`).
    static func parseHTTPDate(_ text: String) -> Date? {
        HTTPDate.epochSeconds(imfFixdate: text[...]).map {
            Date(timeIntervalSince1970: TimeInterval($0))
        }
    }

    /// A sentence for the operator when the clocks differ by more than `allowance`, else nil.
    /// `localTime` is when the response arrived; the header has one-second resolution, so one
    /// second of slack is added.
    static func note(dateHeader: String?, localTime: Date, allowance: Duration) -> String? {
        guard let dateHeader, let serverTime = parseHTTPDate(dateHeader) else { return nil }
        let offset = localTime.timeIntervalSince(serverTime)
        let limit = Double(allowance.components.seconds) + 1
        guard abs(offset) > limit else { return nil }
        let direction = offset > 0 ? "ahead of" : "behind"
        return
            "This host's clock is \(Int(abs(offset).rounded())) s \(direction) the server's "
            + "(Date: \(dateHeader)), more than the \(allowance.components.seconds) s allowance: "
            + "assertions may be refused as expired or not yet valid. Synchronize the clock "
            + "(chrony, systemd-timesyncd)"
    }
}
