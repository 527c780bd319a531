import Glibc
import Testing

@testable import TokenProxyPosix

@Suite(.timeLimit(.minutes(1)))
struct FileWriterSecureTests {
    private func entries(_ directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    @Test func writesWithTheModeAndGroupWhateverTheUmask() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/token"
        let old = umask(0o077)
        defer { umask(old) }
        try FileWriter.replaceSecurely(
            path, contents: Array("tok-1".utf8),
            ownership: .init(mode: 0o640, group: getgid()))
        #expect(TemporaryDirectory.contents(path) == "tok-1")
        let status = try #require(try Posix.linkStatus(path))
        #expect(status.mode & 0o7777 == 0o640)
        #expect(status.group == getgid())
        try FileWriter.replaceSecurely(
            path, contents: Array("tok-2".utf8), ownership: .init(mode: 0o600))
        #expect(TemporaryDirectory.contents(path) == "tok-2")
        #expect(try #require(try Posix.linkStatus(path)).mode & 0o7777 == 0o600)
        #expect(entries(directory.path) == ["token"], "no temporary file is left behind")
    }

    @Test func refusesASymlinkAtThePathAndLeavesItsTargetAlone() throws {
        let directory = try TemporaryDirectory()
        let target = directory.file("target", "precious")
        let link = directory.path + "/token"
        #expect(symlink(target, link) == 0)
        let error = #expect(throws: FileWriter.SecureWriteError.self) {
            try FileWriter.replaceSecurely(
                link, contents: Array("tok".utf8), ownership: .init(mode: 0o600))
        }
        #expect(error == .unexpectedFile(path: link, found: "a symbolic link"))
        #expect(error?.description.contains("remove it") == true)
        #expect(TemporaryDirectory.contents(target) == "precious")
    }

    @Test func refusesADirectoryAtThePath() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/token"
        #expect(mkdir(path, 0o700) == 0)
        #expect(
            throws: FileWriter.SecureWriteError.unexpectedFile(path: path, found: "a directory")
        ) {
            try FileWriter.replaceSecurely(
                path, contents: Array("tok".utf8), ownership: .init(mode: 0o600))
        }
    }

    @Test func refusesASymlinkedOrMissingDirectory() throws {
        let directory = try TemporaryDirectory()
        let real = directory.path + "/real"
        #expect(mkdir(real, 0o700) == 0)
        let linked = directory.path + "/linked"
        #expect(symlink(real, linked) == 0)
        #expect(
            throws: FileWriter.SecureWriteError.unexpectedDirectory(
                path: linked, found: "a symbolic link")
        ) {
            try FileWriter.replaceSecurely(
                linked + "/token", contents: Array("tok".utf8), ownership: .init(mode: 0o600))
        }
        #expect(entries(real).isEmpty)
        let missing = directory.path + "/missing"
        #expect(
            throws: FileWriter.SecureWriteError.unexpectedDirectory(path: missing, found: "missing")
        ) {
            try FileWriter.replaceSecurely(
                missing + "/token", contents: Array("tok".utf8), ownership: .init(mode: 0o600))
        }
    }

    @Test func removesOnlyRegularFiles() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("token", "tok")
        try FileWriter.removeRegularFile(path)
        #expect(try Posix.linkStatus(path) == nil)
        try FileWriter.removeRegularFile(path)  // nothing there: fine
        let kept = directory.path + "/dir"
        #expect(mkdir(kept, 0o700) == 0)
        try FileWriter.removeRegularFile(kept)
        #expect(try Posix.linkStatus(kept)?.isDirectory == true)
    }

    @Test func aReaderNeverSeesAPartialFile() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/token"
        let first = String(repeating: "a", count: 5000)
        let second = String(repeating: "b", count: 7000)
        try FileWriter.replaceSecurely(
            path, contents: Array(first.utf8), ownership: .init(mode: 0o600))
        let writer = Task.detached {
            for index in 0..<200 {
                try FileWriter.replaceSecurely(
                    path, contents: Array((index % 2 == 0 ? second : first).utf8),
                    ownership: .init(mode: 0o600))
            }
        }
        var reads = 0
        while !writer.isCancelled, reads < 2000 {
            let text = TemporaryDirectory.contents(path)
            #expect(text == first || text == second)
            reads += 1
        }
        try await writer.value
    }
}
