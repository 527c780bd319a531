/// Reading an HTTP `Date` header: the IMF-fixdate of RFC 9110 §5.6.7,
/// `Sun, 06 Nov 1994 08:49:37 GMT`, the only form a server may generate.
///
/// Why not `DateFormatter`: with `en_US_POSIX` it opens ICU's locale and calendar data (a few
/// MiB that stay resident), and it ran on every token fetch (`ClockCheck`). This is a fixed
/// 29-byte layout; names are case-sensitive as the RFC writes them. The weekday is checked for
/// spelling, not against the date (neither did the formatter).
package enum HTTPDate {
    private static let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    /// Seconds since 1970-01-01T00:00:00Z for an IMF-fixdate (spaces and tabs around it are
    /// ignored), or nil for anything else — including out-of-range fields (a 31 June, hour 24).
    /// A leap second (`:60`) counts as the next second.
    package static func epochSeconds(imfFixdate text: Substring) -> Int? {
        let bytes = Array(
            text.utf8.drop { $0 == 0x20 || $0 == 0x09 }.reversed().drop {
                $0 == 0x20 || $0 == 0x09
            }.reversed())
        // "Sun, 06 Nov 1994 08:49:37 GMT"
        guard bytes.count == 29, bytes[3] == UInt8(ascii: ","), bytes[4] == 0x20,
            bytes[7] == 0x20, bytes[11] == 0x20, bytes[16] == 0x20, bytes[19] == UInt8(ascii: ":"),
            bytes[22] == UInt8(ascii: ":"), bytes[25] == 0x20,
            String(decoding: bytes[26..<29], as: UTF8.self) == "GMT",
            weekdays.contains(String(decoding: bytes[0..<3], as: UTF8.self)),
            let monthIndex = months.firstIndex(of: String(decoding: bytes[8..<11], as: UTF8.self)),
            let day = digits(bytes[5..<7]), let year = digits(bytes[12..<16]),
            let hour = digits(bytes[17..<19]), let minute = digits(bytes[20..<22]),
            let second = digits(bytes[23..<25])
        else { return nil }
        let month = monthIndex + 1
        guard (1...daysIn(month: month, year: year)).contains(day), hour < 24, minute < 60,
            second <= 60
        else { return nil }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        return days * 86_400 + hour * 3_600 + minute * 60 + second
    }

    private static func digits(_ bytes: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in bytes {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    private static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
