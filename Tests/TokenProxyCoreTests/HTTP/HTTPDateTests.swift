import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct HTTPDateTests {
    @Test(arguments: [
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0),
        ("Wed, 31 Dec 1969 23:59:59 GMT", -1),
        ("Tue, 29 Feb 2000 12:00:00 GMT", 951_825_600),
        ("Thu, 03 Dec 2026 21:30:00 GMT", 1_796_333_400),
        ("Sat, 31 Dec 2016 23:59:60 GMT", 1_483_228_800),
        ("  Sun, 06 Nov 1994 08:49:37 GMT\t", 784_111_777),
    ])
    func readsIMFFixdates(_ text: String, _ seconds: Int) {
        #expect(HTTPDate.epochSeconds(imfFixdate: text[...]) == seconds)
    }

    /// The obsolete forms (RFC 850, asctime), other zones, wrong case, impossible dates and
    /// anything cut short are refused: the caller then says nothing about the clock.
    @Test(arguments: [
        "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
        "Sun, 06 Nov 1994 08:49:37 UTC", "sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 +0000", "Sun, 31 Jun 1994 08:49:37 GMT",
        "Mon, 29 Feb 1900 00:00:00 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:3x GMT", "", "yesterday",
        "Sun, 06 Nov 1994 08:49:37 GMT and more",
    ])
    func refusesEverythingElse(_ text: String) {
        #expect(HTTPDate.epochSeconds(imfFixdate: text[...]) == nil)
    }
}
