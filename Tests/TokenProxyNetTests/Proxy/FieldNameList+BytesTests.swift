import Testing

@testable import TokenProxyNet

/// The byte lookups the header rewriting uses on `HTTPFields.forEachField`'s name buffers:
/// they must answer exactly as the `String` ones do (same masks, same ASCII folding).
@Suite(.timeLimit(.minutes(1)))
struct FieldNameListBytesTests {
    /// Calls `body` with the UTF-8 bytes of `text`.
    private func withBytes<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var text = text
        return text.withUTF8 { body($0) }
    }

    @Test func containsMatchesNameBytesInAnyCase() {
        let list = FieldNameList(["connection", "te", "X-Custom-Field"])
        for name in ["Connection", "CONNECTION", "TE", "x-custom-field"] {
            #expect(withBytes(name) { list.contains($0) }, "\(name)")
        }
        for name in [
            "connectiom", "Content-Type", "t", "", "a[", String(repeating: "x", count: 70),
        ] {
            #expect(!withBytes(name) { list.contains($0) }, "\(name)")
        }
        #expect(!withBytes("connection") { FieldNameList().contains($0) })
    }

    @Test func isNamedAndEqualFoldOnlyASCIILetters() {
        #expect(withBytes("Transfer-Encoding") { FieldNameList.isNamed($0, "transfer-encoding") })
        #expect(!withBytes("Transfer-Encodinx") { FieldNameList.isNamed($0, "transfer-encoding") })
        #expect(!withBytes("Via ") { FieldNameList.isNamed($0, "via") })
        #expect(withBytes("x-FORWARDED-for") { FieldNameList.equal("X-Forwarded-For", $0) })
        #expect(!withBytes("a{") { FieldNameList.equal("a[", $0) })
        #expect(!withBytes("vias") { FieldNameList.equal("via", $0) })
    }

    /// The bytes lookup reads the names' folded copy: inserts and removals keep it in step,
    /// and names of one length are told apart by their bytes (`a{` is not `a[`: only letters
    /// fold).
    @Test func insertAndRemoveKeepTheByteLookupInStep() {
        var list = FieldNameList(["Keep-Alive", "te", "Upgrade"])
        withBytes("X-Token") { list.insert($0) }
        list.insert("a[")
        for name in ["x-token", "KEEP-ALIVE", "TE", "upgrade", "A["] {
            #expect(withBytes(name) { list.contains($0) }, "\(name)")
        }
        #expect(!withBytes("a{") { list.contains($0) })
        list.remove("keep-alive")
        list.remove("TE")
        for name in ["keep-alive", "te"] {
            #expect(!withBytes(name) { list.contains($0) }, "\(name)")
        }
        for name in ["X-TOKEN", "Upgrade", "a["] {
            #expect(withBytes(name) { list.contains($0) }, "\(name)")
        }
    }

    @Test func insertedTokenBytesAreFoundAsStrings() {
        var list = FieldNameList()
        withBytes("X-Secret") { list.insert($0) }
        #expect(list.contains("x-secret"))
        #expect(!list.contains("x-secrets"))
    }
}
