import Foundation
import Logging
import Synchronization
import Testing

@testable import TokenProxy

@Suite(.timeLimit(.minutes(1)))
struct JSONLogHandlerTests {
    @Test func oneObjectPerLineWithTheMetadataAsFields() throws {
        let written = Mutex<[String]>([])
        let logger = Logger(label: "tokenproxy") { label in
            JSONLogHandler(label: label) { line in written.withLock { $0.append(line) } }
        }
        logger.warning(
            "token fetch failed",
            metadata: [
                "credential": "billing", "category": "unavailable",
                "error": "IdP said \"no\"\nsorry",
            ])
        let lines = written.withLock { $0 }
        #expect(lines.count == 1)
        let line = try #require(lines.first)
        #expect(line.hasSuffix("\n") && !line.dropLast().contains("\n"))
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["level"] == "warning")
        #expect(object["message"] == "token fetch failed")
        #expect(object["logger"] == "tokenproxy")
        #expect(object["credential"] == "billing")
        #expect(object["category"] == "unavailable")
        #expect(object["error"] == "IdP said \"no\"\nsorry")
        #expect(object["time"]?.hasSuffix("Z") == true)
    }
}
