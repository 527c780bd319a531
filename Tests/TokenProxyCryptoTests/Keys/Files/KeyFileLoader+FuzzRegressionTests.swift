import Testing

@testable import TokenProxyCrypto

/// Inputs the `key-file` fuzz target (Fuzz/, scripts/fuzz) found, kept so the bug stays fixed.
/// Each must fail cleanly and quickly; a hang here trips the suite's time limit.
@Suite(.timeLimit(.minutes(1)))
struct KeyFileLoaderFuzzRegressionTests {
    /// `{"` … `\` with the backslash as the very last byte of the file: the string scanner
    /// left its `switch` instead of the loop and spun forever on that byte, so a truncated key
    /// file hung `serve` at start-up or on reload.
    @Test(arguments: [
        [0x7B, 0x22, 0xE5, 0x7B, 0x54, 0x5C, 0x22, 0x5C] as [UInt8],
        Array(#"{"type":"serviceaccount","key":"\"#.utf8),
    ])
    func backslashAtTheEndOfTheFileIsAnUnterminatedString(input: [UInt8]) throws {
        var bytes = input
        let error = try #require(
            TestSupport.error {
                try KeyFileLoader.parse(&bytes, origin: "fuzz.json", options: KeyLoadOptions())
            })
        #expect(error.description.contains("unterminated string"))
        #expect(error.description.contains("fuzz.json"))
    }
}
