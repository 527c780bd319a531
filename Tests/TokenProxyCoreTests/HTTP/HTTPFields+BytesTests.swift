import Testing
import TokenProxyCore

/// The byte-level field accessors: the same fields as the String API sees, without Strings.
@Suite(.timeLimit(.minutes(1)))
struct HTTPFieldsBytesTests {
    static let fields: HTTPFields = [
        "Host": "example.com", "X-Empty": "", "set-cookie": "a=1", "Set-Cookie": "b=2",
        "X-Ünicode": "wert ü",
    ]

    static let at = Array(fields.indices)

    @Test func iteratesNamesAndValuesAsBytes() {
        var seen: [(HTTPFields.Index, String, String)] = []
        Self.fields.forEachField { index, name, value in
            seen.append(
                (
                    index, String(decoding: name, as: UTF8.self),
                    String(decoding: value, as: UTF8.self)
                ))
        }
        #expect(seen.map(\.0) == Self.at)
        #expect(Self.at.count == 5 && Self.fields.count == 5)
        #expect(seen.map(\.1) == Self.fields.map(\.name))
        #expect(seen.map(\.2) == Self.fields.map(\.value))
        #expect(Self.fields.withNameBytes(at: Self.at[2]) { Array($0) } == Array("set-cookie".utf8))
        #expect(Self.fields.withValueBytes(at: Self.at[1]) { $0.count } == 0)
        #expect(Self.fields.name(at: Self.at[4]) == "X-Ünicode")
        #expect(Self.fields.value(at: Self.at[4]) == "wert ü")
    }

    /// `unsafeStorage` walks the same fields as `forEachField`, in the fields' own storage;
    /// empty fields have none.
    @Test func theStorageInPlaceHasTheSameFields() {
        var plain: [(HTTPFields.Index, [UInt8], [UInt8])] = []
        Self.fields.forEachField { plain.append(($0, Array($1), Array($2))) }
        var inPlace: [(HTTPFields.Index, [UInt8], [UInt8])] = []
        let stored = Self.fields.unsafeStorage
        stored.forEachField { inPlace.append(($0, Array($1), Array($2))) }
        #expect(inPlace.map(\.0) == plain.map(\.0))
        #expect(inPlace.map(\.1) == plain.map(\.1))
        #expect(inPlace.map(\.2) == plain.map(\.2))
        var none = 0
        HTTPFields().unsafeStorage.forEachField { _, _, _ in none += 1 }
        #expect(none == 0)
    }

    private struct Stop: Error {}

    /// A throwing body takes the generic overload; it sees the same fields as the plain one
    /// and stops at the first throw.
    @Test func aThrowingBodySeesTheSameFieldsAndStopsAtItsThrow() {
        var plain: [String] = []
        Self.fields.forEachField { _, name, _ in plain.append(String(decoding: name, as: UTF8.self))
        }
        var seen: [String] = []
        #expect(throws: Stop.self) {
            try Self.fields.forEachField { (_, name, _) throws(Stop) in
                seen.append(String(decoding: name, as: UTF8.self))
                if seen.count == 3 { throw Stop() }
            }
        }
        #expect(seen == Array(plain.prefix(3)))
        #expect(plain == Self.fields.map(\.name))
    }

    @Test func findsNamesIgnoringCase() {
        #expect(Self.fields.firstIndex(named: "SET-COOKIE") == Self.at[2])
        #expect(Self.fields.firstIndex(named: "set-cookie", from: Self.at[3]) == Self.at[3])
        #expect(Self.fields.firstIndex(named: "set-cookie", from: Self.at[4]) == nil)
        #expect(Self.fields.firstIndex(named: "set-cookie", from: Self.fields.endIndex) == nil)
        #expect(Self.fields.firstIndex(named: "Hos") == nil)
        #expect(Self.fields.nameEquals(at: Self.at[0], "hOST"))
        #expect(!Self.fields.nameEquals(at: Self.at[0], "Hose"))
        Array("x-empty".utf8).withUnsafeBufferPointer { needle in
            #expect(
                Self.fields.withNameBytes(at: Self.at[1]) {
                    HTTPFields.equalIgnoringCase($0, needle)
                })
        }
        // Only ASCII letters fold: `^` and `~` differ by the case bit but are not letters.
        #expect(!HTTPFields.namesEqual("a^b", "a~b"))
        #expect(!HTTPFields.namesEqual("[", "{"))
        #expect(HTTPFields.namesEqual("Content-LENGTH", "content-length"))
    }

    @Test func writesWireLines() {
        var out: [UInt8] = []
        Self.fields.appendLine(at: Self.at[0], to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "Host: example.com\r\n")
        out = []
        let pair: HTTPFields = ["A": "1", "B": ""]
        pair.appendLines(to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "A: 1\r\nB: \r\n")
    }

    @Test func appendsFromBytesAndComparesWithBuiltFields() {
        var fields = HTTPFields(reservingFields: 1, bytes: 4)
        let name = Array("Content-Type".utf8)
        let value = Array("text/plain".utf8)
        name.withUnsafeBufferPointer { name in
            value.withUnsafeBufferPointer { fields.append(name: name, value: $0) }
        }
        fields.append("Via", "1.1 a")
        let built: HTTPFields = ["Content-Type": "text/plain", "Via": "1.1 a"]
        #expect(fields == built)
        #expect(fields != ["content-type": "text/plain", "Via": "1.1 a"])
        #expect(fields != ["Content-Type": "text/plain"])
        #expect(HTTPFields() == HTTPFields(reservingFields: 4, bytes: 64))
        #expect(HTTPFields().isEmpty && HTTPFields().count == 0 && HTTPFields().first == nil)
        // Unicode-equivalent spellings compare equal, as the Strings they were made of do.
        #expect(HTTPFields([("X", "\u{E9}")]) == HTTPFields([("X", "e\u{301}")]))
    }

    @Test func setAndRemoveKeepTheOtherFieldsBytes() {
        var fields = Self.fields
        fields.set("SET-COOKIE", "c=3")
        #expect(fields.map(\.name) == ["Host", "X-Empty", "set-cookie", "X-Ünicode"])
        #expect(fields.values("Set-Cookie") == ["c=3"])
        fields.remove("x-empty")
        #expect(fields.map(\.value) == ["example.com", "c=3", "wert ü"])
        fields.remove("absent")
        #expect(fields.count == 3)
        // The original is untouched (value semantics).
        #expect(Self.fields.count == 5)
    }

    @Test func listContainsOnBytes() {
        let fields: HTTPFields = ["Connection": " keep-alive ,, Upgrade", "connection": "Close"]
        #expect(fields.listContains("Connection", token: "upgrade"))
        #expect(fields.listContains("CONNECTION", token: "close"))
        #expect(!fields.listContains("Connection", token: "keep"))
        #expect(!fields.listContains("Connection", token: ""))
        #expect(!fields.listContains("Upgrade", token: "upgrade"))
    }

    @Test func findsTheFirstInvalidFieldOnBytes() {
        let fields: HTTPFields = ["Good": "ok", "Tab": "a\tb", "Bad": "x\u{7F}", "Worse": "\u{0}"]
        #expect(fields.firstInvalidField()?.name == "Bad")
        #expect(HTTPFields([("Trailing", "x ")]).firstInvalidField()?.name == "Trailing")
        #expect(HTTPFields([("Bad Name", "x")]).firstInvalidField()?.name == "Bad Name")
        #expect(HTTPFields([("", "x")]).firstInvalidField() != nil)
        #expect(
            HTTPFields([("Long", String(repeating: "v\t", count: 20) + "v")]).firstInvalidField()
                == nil)
    }
}
