import Foundation
import Testing

@testable import TokenProxy

@Suite(.timeLimit(.minutes(1)))
struct ClockCheckTests {
    private let serverDate = "Sun, 06 Nov 1994 08:49:37 GMT"
    private var serverTime: Date { Date(timeIntervalSince1970: 784_111_777) }

    @Test func parsesIMFFixdate() {
        #expect(ClockCheck.parseHTTPDate(serverDate) == serverTime)
        #expect(ClockCheck.parseHTTPDate("yesterday") == nil)
    }

    @Test func staysQuietWithinTheAllowance() {
        let local = serverTime.addingTimeInterval(10.5)
        #expect(
            ClockCheck.note(dateHeader: serverDate, localTime: local, allowance: .seconds(10))
                == nil)
    }

    @Test func saysWhichWayTheClockIsOff() throws {
        let ahead = try #require(
            ClockCheck.note(
                dateHeader: serverDate, localTime: serverTime.addingTimeInterval(600),
                allowance: .seconds(10)))
        #expect(ahead.contains("600 s ahead of the server"))
        let behind = try #require(
            ClockCheck.note(
                dateHeader: serverDate, localTime: serverTime.addingTimeInterval(-90),
                allowance: .seconds(10)))
        #expect(behind.contains("90 s behind the server"))
    }

    @Test func ignoresMissingOrBadHeaders() {
        #expect(ClockCheck.note(dateHeader: nil, localTime: Date(), allowance: .seconds(10)) == nil)
        #expect(
            ClockCheck.note(dateHeader: "garbage", localTime: Date(), allowance: .seconds(10))
                == nil)
    }
}
