import Testing
import TokenProxyCore
import TokenProxyPosix

/// The start-up page release (`Daemon.releaseFileMappings`) against this very process: the
/// mappings it picks from the real `/proc/self/smaps`, and that dropping them loses nothing.
@Suite(.timeLimit(.minutes(1)))
struct DaemonMemoryTests {
    private func smaps() throws -> Substring {
        try #require(Posix.readKernelText("/proc/self/smaps", limit: Limits.Host.procSmapsBytes))[
            ...]
    }

    private func residentFileKiB() throws -> Int {
        let status = try #require(Posix.readKernelText("/proc/self/status"))
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssFile:") })
        return try #require(Int(line.split(separator: " ")[1]))
    }

    @Test func picksTheExecutablesCodeButNotItsRelocatedData() throws {
        let executable = try #require(Posix.readLink("/proc/self/exe"))
        let text = try smaps()
        let releasable = ResidentFileMapping.releasable(smaps: text)
        #expect(releasable.contains { $0.path == executable })
        // Every writable or copied-on-write mapping of the executable stays out.
        for line in text.split(separator: "\n") where line.hasSuffix(executable) {
            let fields = line.split(separator: " ")
            guard fields[1].contains("w") else { continue }
            let start = UInt(fields[0].split(separator: "-")[0], radix: 16)
            #expect(!releasable.contains { $0.start == start })
        }
    }

    /// Drops every releasable mapping, then runs code and reads data from them again: what
    /// faults back in is the file's own bytes, so the process carries on unchanged.
    @Test func droppingThePagesLosesNothing() throws {
        let before = try residentFileKiB()
        let sample = "{\"a\": [1, 2.5, \"x\"]}"
        let parsed = try ConfigJSON.parse(Array(sample.utf8))
        for mapping in ResidentFileMapping.releasable(smaps: try smaps()) {
            try Posix.dropFileMappedPages(start: mapping.start, end: mapping.end)
        }
        #expect(try residentFileKiB() < before)
        #expect(try ConfigJSON.parse(Array(sample.utf8)) == parsed)
        #expect(String(describing: parsed).contains("2.5"))
    }
}
