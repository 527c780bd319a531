import Testing
import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct HTTPFieldsTests {
    @Test func looksUpNamesCaseInsensitively() {
        let fields: HTTPFields = ["Content-Type": "application/json", "X-A": "1"]
        #expect(fields["content-type"] == "application/json")
        #expect(fields["CONTENT-TYPE"] == "application/json")
        #expect(fields.contains("x-a"))
        #expect(fields["missing"] == nil)
    }

    @Test func keepsDuplicatesInOrder() {
        var fields = HTTPFields()
        fields.append("Set-Cookie", "a=1")
        fields.append("Other", "x")
        fields.append("set-cookie", "b=2")
        #expect(fields["Set-Cookie"] == "a=1")
        #expect(fields.values("SET-COOKIE") == ["a=1", "b=2"])
        #expect(fields.map(\.name) == ["Set-Cookie", "Other", "set-cookie"])
    }

    @Test func setReplacesAllValuesAtFirstPosition() {
        var fields: HTTPFields = ["A": "1", "B": "2", "a": "3"]
        fields.set("a", "new")
        #expect(fields.map(\.name) == ["A", "B"])
        #expect(fields["A"] == "new")
        fields.set("C", "c")
        #expect(fields.map(\.name) == ["A", "B", "C"])
    }

    @Test func removeDropsEveryValue() {
        var fields: HTTPFields = ["A": "1", "B": "2", "a": "3"]
        fields.remove("A")
        #expect(fields.count == 1)
        #expect(!fields.contains("a"))
    }

    @Test func splitsListValues() {
        let fields: HTTPFields = ["Connection": "keep-alive, , Upgrade", "connection": "Close"]
        #expect(fields.listElements("Connection") == ["keep-alive", "Upgrade", "Close"])
        #expect(fields.listContains("connection", token: "close"))
    }

    @Test(arguments: ["Host", "X-Custom_1", "a!#$%&'*+-.^_`|~z", "0"])
    func acceptsTokenNames(name: String) {
        #expect(HTTPFields.isValidName(name))
    }

    @Test(arguments: ["", "Bad Name", "Bad:Name", "Bad\r\nName", "(x)", "na\u{0}me", "é", "a/b"])
    func rejectsInvalidNames(name: String) {
        #expect(!HTTPFields.isValidName(name))
    }

    @Test(arguments: [
        "", "plain", "with space inside", "tab\tinside", "obs-text \u{E9}", "\"quoted\"",
    ])
    func acceptsValidValues(value: String) {
        #expect(HTTPFields.isValidValue(value))
    }

    @Test(arguments: [
        "a\rb", "a\nb", "a\u{0}b", "bell\u{7}", "del\u{7F}", " leading", "trailing\t",
    ])
    func rejectsInvalidValues(value: String) {
        #expect(!HTTPFields.isValidValue(value))
    }

    @Test func findsFirstInvalidField() {
        let fields: HTTPFields = ["Good": "ok", "Bad": "x\r\nInjected: 1", "Also Bad": "y"]
        #expect(fields.firstInvalidField()?.name == "Bad")
        #expect(HTTPFields([("A", "b")]).firstInvalidField() == nil)
    }
}
