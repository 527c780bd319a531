import Glibc
import Testing

@testable import TokenProxyPosix

@Suite(.timeLimit(.minutes(1)))
struct FileWriterTests {
    @Test func createsANewFileWithItsModeFromTheStart() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/throwaway.pem"
        try FileWriter.createExclusively(path, contents: Array("key".utf8), mode: 0o600)
        #expect(TemporaryDirectory.contents(path) == "key")
        let status = try #require(try Posix.linkStatus(path))
        #expect(status.mode & 0o777 == 0o600)
    }

    @Test func neverOverwritesAnExistingFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("existing", "keep me")
        let error = #expect(throws: PosixError.self) {
            try FileWriter.createExclusively(path, contents: Array("new".utf8), mode: 0o600)
        }
        #expect(error == PosixError(call: "open", errno: EEXIST))
        #expect(TemporaryDirectory.contents(path) == "keep me")
    }

    @Test func neverWritesThroughASymlink() throws {
        let directory = try TemporaryDirectory()
        let target = directory.path + "/target"
        let link = directory.path + "/link"
        try #require(symlink(target, link) == 0)
        #expect(throws: PosixError.self) {
            try FileWriter.createExclusively(link, contents: Array("x".utf8), mode: 0o600)
        }
        #expect(TemporaryDirectory.contents(target) == nil)
    }

    @Test func replacesAtomicallyAndLeavesNoTemporaryFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("config.json", "old")
        try FileWriter.replaceAtomically(path, contents: Array("new".utf8), mode: 0o600)
        #expect(TemporaryDirectory.contents(path) == "new")
        let entries = try #require(opendir(directory.path))
        defer { closedir(entries) }
        var names: [String] = []
        while let entry = readdir(entries) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        #expect(names == ["config.json"])
    }

    @Test func replacesASymlinkInsteadOfFollowingIt() throws {
        let directory = try TemporaryDirectory()
        let target = directory.file("target", "untouched")
        let link = directory.path + "/link"
        try #require(symlink(target, link) == 0)
        try FileWriter.replaceAtomically(link, contents: Array("new".utf8), mode: 0o600)
        #expect(TemporaryDirectory.contents(target) == "untouched")
        #expect(TemporaryDirectory.contents(link) == "new")
        #expect(try Posix.linkStatus(link)?.isRegularFile == true)
    }
}
