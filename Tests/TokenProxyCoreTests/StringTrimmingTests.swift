import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct StringTrimmingTests {
    @Test func trimsWhitespaceAndLineBreaks() {
        #expect(" \t\r\n tok en \n".trimmingWhitespace() == "tok en")
        #expect("\u{00A0}x\u{2003}".trimmingWhitespace() == "x")
        #expect(" \n ".trimmingWhitespace() == "")
        #expect("".trimmingWhitespace() == "")
    }

    /// Like `.whitespaces`: spaces and tabs go, line breaks stay.
    @Test func trimsSpacesButKeepsLineBreaks() {
        #expect(" \tx y\t ".trimmingSpaces() == "x y")
        #expect("\nx\n".trimmingSpaces() == "\nx\n")
        #expect(Substring("  a  ").trimmingSpaces() == "a")
    }
}
