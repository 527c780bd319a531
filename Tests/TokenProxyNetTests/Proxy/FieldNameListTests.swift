import Testing

@testable import TokenProxyNet

/// `FieldNameList` answers from its length and initial masks first: these check that the
/// masks never hide a name that is there (any case, any length) and do not keep one removed.
@Suite(.timeLimit(.minutes(1)))
struct FieldNameListTests {
    @Test func findsNamesInAnyASCIICase() {
        let list = FieldNameList(["connection", "te", "X-Custom-Field", "upgrade"])
        for name in ["Connection", "CONNECTION", "te", "TE", "x-custom-field", "Upgrade"] {
            #expect(list.contains(name), "\(name)")
        }
    }

    @Test func rejectsAbsentNamesIncludingSameLengthAndSameInitial() {
        let list = FieldNameList(["connection", "content-length"])
        // Same length as "connection", same initial, different bytes.
        #expect(!list.contains("connectiom"))
        #expect(!list.contains("Content-Type"))
        #expect(!list.contains("Date"))
        #expect(!list.contains(""))
        #expect(!FieldNameList().contains("connection"))
    }

    @Test func namesLongerThanTheMaskStillMatch() {
        let long = String(repeating: "x", count: 70)
        let list = FieldNameList([long])
        #expect(list.contains(long.uppercased()))
        #expect(!list.contains(String(repeating: "x", count: 71)))
    }

    @Test func insertAndRemoveKeepTheMasksInStep() {
        var list = FieldNameList()
        list.insert("Keep-Alive")
        list.insert(Substring("trailer"))
        #expect(list.contains("keep-alive"))
        #expect(list.contains("TRAILER"))
        list.remove("KEEP-ALIVE")
        #expect(!list.contains("keep-alive"))
        #expect(list.contains("trailer"))
    }

    @Test func equalComparesCaseInsensitivelyAndByLength() {
        #expect(FieldNameList.equal("Content-Length", "content-length"))
        #expect(!FieldNameList.equal("Content-Length", "content-lengths"))
        #expect(!FieldNameList.equal("via", "vie"))
        // Only ASCII letters fold: "[" (0x5B) is not "{" (0x7B).
        #expect(!FieldNameList.equal("a[", "a{"))
    }
}

extension FieldNameListTests {
    @Test func isNamedMatchesALowercaseLiteralInAnyCase() {
        #expect(FieldNameList.isNamed("Content-Length", "content-length"))
        #expect(FieldNameList.isNamed("VIA", "via"))
        #expect(!FieldNameList.isNamed("Content-Lengths", "content-length"))
        #expect(!FieldNameList.isNamed("Content-Lengtx", "content-length"))
        #expect(!FieldNameList.isNamed("", "via"))
        // A long (not small) string takes the same path.
        let long = "X-" + String(repeating: "A", count: 40)
        #expect(FieldNameList.isNamed(long, "x-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
    }
}
