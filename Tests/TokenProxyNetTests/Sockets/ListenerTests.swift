import Foundation
import Glibc
import Testing

@testable import TokenProxyNet

@Suite(.timeLimit(.minutes(1)))
struct ListenerTests {
    static func mode(_ path: String) -> (mode: UInt32, gid: UInt32, isSocket: Bool)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (UInt32(info.st_mode & 0o7777), info.st_gid, info.st_mode & S_IFMT == S_IFSOCK)
    }

    /// A socket file nobody listens on any more, as a crashed process leaves it.
    static func makeStaleSocket(at path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        _ = listen(fd, 1)
        _ = Glibc.close(fd)
        guard bound == 0 else { throw TestListenerError.failed("bind", errno) }
    }

    @Test func createsTheSocketFileWithTheRequestedMode() throws {
        let directory = try makeTemporaryDirectory()
        defer { rmdir(directory) }
        let path = directory + "/api.sock"
        let listener = try Listener.unix(path: path, mode: 0o640)
        let info = try #require(Self.mode(path))
        #expect(info.isSocket)
        #expect(info.mode == 0o640)
        #expect(listener.name == "unix")
        #expect(listener.path == path)
        listener.close()
        #expect(Self.mode(path) == nil)
    }

    @Test func givesTheSocketToANamedGroup() throws {
        let directory = try makeTemporaryDirectory()
        defer { rmdir(directory) }
        let entry = try #require(getgrgid(getgid()))
        let name = String(cString: entry.pointee.gr_name)
        let listener = try Listener.unix(path: directory + "/g.sock", group: name)
        #expect(Self.mode(directory + "/g.sock")?.gid == getgid())
        listener.close()
    }

    @Test func namesAnUnknownGroup() throws {
        let directory = try makeTemporaryDirectory()
        defer { rmdir(directory) }
        let path = directory + "/g.sock"
        #expect(throws: ListenerError.unknownGroup(group: "no-such-group-tp", path: path)) {
            try Listener.unix(path: path, group: "no-such-group-tp")
        }
        #expect(Self.mode(path) == nil)
    }

    @Test func replacesAStaleSocketFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { rmdir(directory) }
        let path = directory + "/stale.sock"
        try Self.makeStaleSocket(at: path)
        let listener = try Listener.unix(path: path)
        #expect(Self.mode(path)?.isSocket == true)
        listener.close()
    }

    @Test func refusesASocketSomeoneListensOn() throws {
        let directory = try makeTemporaryDirectory()
        defer { rmdir(directory) }
        let path = directory + "/live.sock"
        let live = try Listener.unix(path: path)
        #expect(throws: ListenerError.socketInUse(path: path)) { try Listener.unix(path: path) }
        #expect(Self.mode(path)?.isSocket == true)
        live.close()
    }

    @Test func refusesToUnlinkARegularFile() throws {
        let directory = try makeTemporaryDirectory()
        let path = directory + "/config.json"
        defer {
            unlink(path)
            rmdir(directory)
        }
        #expect(FileManager.default.createFile(atPath: path, contents: Data("{}".utf8)))
        let error = #expect(throws: ListenerError.self) { try Listener.unix(path: path) }
        #expect(error == .notASocket(path: path))
        #expect(error?.description.contains("is not a socket") == true)
        #expect(FileManager.default.contents(atPath: path) == Data("{}".utf8))
    }

    @Test func refusesAPathTooLongForSunPath() {
        let path = "/tmp/" + String(repeating: "x", count: 120)
        #expect(throws: ListenerError.invalidSocketPath(path: path)) {
            try Listener.unix(path: path)
        }
    }

    @Test func doesNotUnlinkASocketFileAnotherListenerReplaced() throws {
        let directory = try makeTemporaryDirectory()
        defer { rmdir(directory) }
        let path = directory + "/api.sock"
        let old = try Listener.unix(path: path)
        unlink(path)
        let new = try Listener.unix(path: path)
        old.close()
        #expect(Self.mode(path)?.isSocket == true)
        new.close()
        #expect(Self.mode(path) == nil)
    }

    @Test func bindsTCPPortZeroAndReportsThePort() throws {
        let listener = try Listener.tcp(host: "127.0.0.1", port: 0)
        let port = try #require(listener.port)
        #expect(port > 0)
        #expect(listener.family == AF_INET)
        listener.close()
        #expect(throws: ListenerError.invalidPort(port: 70000)) {
            try Listener.tcp(host: "127.0.0.1", port: 70000)
        }
    }

    @Test func adoptsAnInheritedListeningSocket() throws {
        let original = try Listener.tcp(host: "127.0.0.1", port: 0)
        let fd = dup(original.fileDescriptor)
        let inherited = try Listener.inherited(fileDescriptor: fd, name: "api")
        #expect(inherited.name == "api")
        #expect(inherited.port == original.port)
        #expect(inherited.path == nil)
        inherited.close()
        original.close()
    }

    @Test func refusesAnInheritedSocketThatIsNotListening() throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { _ = Glibc.close(fd) }
        let error = #expect(throws: ListenerError.self) {
            try Listener.inherited(fileDescriptor: fd, name: "api")
        }
        #expect(error == .notListening(name: "api", fileDescriptor: fd, reason: "not listening"))
    }
}
