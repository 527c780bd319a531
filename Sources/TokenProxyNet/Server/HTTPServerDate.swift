import Glibc

/// The `Date` field value (IMF-fixdate, RFC 9110 §5.6.7), formatted at most once per second.
///
/// Every response carries a Date (RFC 9110 §6.6.1), and formatting one per request would cost
/// more than answering a cached token, so each connection keeps one of these and reuses the
/// bytes until the second changes. It reads the coarse real-time clock, which costs no syscall.
struct HTTPServerDate {
    private var second = Int.min
    private var cached: [UInt8] = []
    /// `HTTPServerResponseEncoder.headTail` for a keep-alive answer without a `Connection`
    /// field (the common case), for `tailSecond`.
    private var cachedTail: [UInt8] = []
    private var tailSecond = Int.min

    /// `Sun, 06 Nov 1994 08:49:37 GMT` for the current second.
    mutating func current() -> [UInt8] {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &now)
        let seconds = Int(now.tv_sec)
        if seconds != second {
            second = seconds
            cached = Self.imfFixdate(epochSeconds: seconds)
        }
        return cached
    }

    /// The end of a response head for now: `Date`, `Connection` per `close` and `keepAlive`,
    /// and the empty line. The common variant is built once per second.
    mutating func headTail(close: Bool, keepAlive: Bool) -> [UInt8] {
        let date = current()
        guard !close && !keepAlive else {
            return HTTPServerResponseEncoder.headTail(
                close: close, keepAlive: keepAlive, date: date)
        }
        refreshTail()
        return cachedTail
    }

    /// `headTail(close:keepAlive:)` lent to `body` instead of returned: the common variant's
    /// cached bytes are read in place (no array retained per response).
    mutating func withHeadTail<Result>(
        close: Bool, keepAlive: Bool, _ body: (UnsafeRawBufferPointer) -> Result
    ) -> Result {
        guard !close && !keepAlive else {
            return headTail(close: close, keepAlive: keepAlive).withUnsafeBytes(body)
        }
        refreshTail()
        return cachedTail.withUnsafeBytes(body)
    }

    /// Makes `cachedTail` the common tail of the current second.
    private mutating func refreshTail() {
        let date = current()
        guard tailSecond != second else { return }
        tailSecond = second
        cachedTail = HTTPServerResponseEncoder.headTail(close: false, keepAlive: false, date: date)
    }

    private static let weekdays: [StaticString] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months: [StaticString] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    /// Formats `epochSeconds` (UTC) as an IMF-fixdate. The corresponding C function is `gmtime_r`.
    static func imfFixdate(epochSeconds: Int) -> [UInt8] {
        var time = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(29)
        append(weekdays[Int(parts.tm_wday)], to: &bytes)
        bytes.append(contentsOf: [UInt8(ascii: ","), 0x20])
        appendDigits(Int(parts.tm_mday), count: 2, to: &bytes)
        bytes.append(0x20)
        append(months[Int(parts.tm_mon)], to: &bytes)
        bytes.append(0x20)
        appendDigits(Int(parts.tm_year) + 1900, count: 4, to: &bytes)
        bytes.append(0x20)
        appendDigits(Int(parts.tm_hour), count: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(Int(parts.tm_min), count: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(Int(parts.tm_sec), count: 2, to: &bytes)
        bytes.append(contentsOf: [0x20, UInt8(ascii: "G"), UInt8(ascii: "M"), UInt8(ascii: "T")])
        return bytes
    }

    private static func append(_ text: StaticString, to bytes: inout [UInt8]) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends `value` as exactly `count` decimal digits, zero-padded.
    static func appendDigits(_ value: Int, count: Int, to bytes: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }
}
