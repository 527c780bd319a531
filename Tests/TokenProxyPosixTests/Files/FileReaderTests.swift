import Glibc
import Testing

@testable import TokenProxyPosix

@Suite(.timeLimit(.minutes(1)))
struct FileReaderTests {
    struct Refused: Error {}

    @Test func readsAWholeFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("config.json", "{\"a\": 1}\n")
        let bytes = try FileReader.read(path: path, limit: 100)
        #expect(String(decoding: bytes, as: UTF8.self) == "{\"a\": 1}\n")
    }

    @Test func readsAFileOfExactlyTheLimit() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("key", String(repeating: "k", count: 64))
        #expect(try FileReader.read(path: path, limit: 64).count == 64)
    }

    @Test func refusesAFileOverTheLimit() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("big", String(repeating: "x", count: 65))
        let error = #expect(throws: FileReadError.self) {
            try FileReader.read(path: path, limit: 64)
        }
        #expect(error == .tooLarge(size: 65, limit: 64))
    }

    @Test func refusesDirectoriesAndDevices() throws {
        let directory = try TemporaryDirectory()
        for path in [directory.path, "/dev/null"] {
            let error = #expect(throws: FileReadError.self) {
                try FileReader.read(path: path, limit: 64)
            }
            guard case .notRegularFile(let status) = error else {
                Issue.record(
                    "expected notRegularFile for \(path), got \(String(describing: error))")
                continue
            }
            #expect(status.isDirectory == (path == directory.path))
        }
    }

    @Test func reportsAMissingFileWithTheOpenCall() throws {
        let directory = try TemporaryDirectory()
        let error = #expect(throws: FileReadError.self) {
            try FileReader.read(path: directory.path + "/missing", limit: 64)
        }
        #expect(error == .system(PosixError(call: "open", errno: ENOENT)))
    }

    @Test func followsSymlinksUnlessTold() throws {
        let directory = try TemporaryDirectory()
        let target = directory.file("target", "secret")
        let link = directory.path + "/link"
        try #require(symlink(target, link) == 0)
        #expect(try FileReader.read(path: link, limit: 64) == Array("secret".utf8))
        let error = #expect(throws: FileReadError.self) {
            try FileReader.read(path: link, limit: 64, followSymlinks: false)
        }
        #expect(error == .system(PosixError(call: "open", errno: ELOOP)))
    }

    @Test func letsTheCallerCheckModeAndOwnerBeforeReading() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("key", "secret", mode: 0o644)
        var seen: FileStatus?
        #expect(throws: Refused.self) {
            try FileReader.read(path: path, limit: 64) { status in
                seen = status
                if status.isAccessibleByOthers { throw Refused() }
            }
        }
        #expect(seen.map { $0.mode & 0o777 } == 0o644)
        #expect(seen?.owner == getuid())
        #expect(seen?.size == 6)
    }
}
