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

    /// The byte scanner picks exactly what a plain `Substring`-splitting reading of the same
    /// rules picks (the implementation it replaced), on this process's real smaps, with and
    /// without the executable's pages resident.
    @Test func picksWhatASplittingReaderPicks() throws {
        let bytes = try #require(
            Posix.readKernelBytes("/proc/self/smaps", limit: Limits.Host.procSmapsBytes))
        let text = String(decoding: bytes, as: UTF8.self)
        let picked = ResidentFileMapping.releasable(smaps: bytes)
        #expect(!picked.isEmpty)
        #expect(picked == Self.splittingReader(text))
        #expect(ResidentFileMapping.releasable(smaps: text[...]) == picked)
    }

    /// The rules of `ResidentFileMapping.releasable`, read the slow, obvious way.
    private static func splittingReader(_ text: String) -> [ResidentFileMapping] {
        var result: [ResidentFileMapping] = []
        var header: [Substring] = []
        var fields: [Substring: Substring] = [:]
        func finish() {
            defer { fields = [:] }
            guard header.count >= 5, let rss = fields["Rss"].flatMap({ Int($0) }),
                let anonymous = fields["Anonymous"].flatMap({ Int($0) }),
                let flags = fields["VmFlags"]
            else { return }
            let bounds = header[0].split(separator: "-")
            let permissions = Array(header[1])
            let path = header.count > 5 ? String(header[5...].joined(separator: " ")) : ""
            guard permissions[0] == "r", permissions[1] == "-", permissions[3] == "p",
                path.hasPrefix("/"), rss > 0, anonymous == 0,
                !flags.split(separator: " ").contains("lo"),
                let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16)
            else { return }
            result.append(ResidentFileMapping(start: start, end: end, path: path, residentKiB: rss))
        }
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            if let first = words.first, first.contains("-"), !first.hasSuffix(":") {
                finish()
                header = words
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...]
            fields[line[..<colon]] =
                line[..<colon] == "VmFlags" ? value : value.split(separator: " ").first
        }
        finish()
        return result
    }
}
