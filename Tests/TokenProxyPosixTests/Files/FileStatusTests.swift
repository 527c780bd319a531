import Glibc
import Testing

@testable import TokenProxyPosix

/// What `stat` reports for the key-permission rule (owner, group) and the configuration
/// watcher (following links, modification time).
@Suite(.timeLimit(.minutes(1)))
struct FileStatusTests {
    @Test func reportsOwnerAndGroup() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("key", "k", mode: 0o440)
        let status = try #require(try Posix.pathStatus(path))
        #expect(status.owner == getuid() && status.group == getgid())
        #expect(status.mode & 0o777 == 0o440)
    }

    /// A ConfigMap's file is a link through `..data`: `pathStatus` sees the file it leads to,
    /// `linkStatus` the link itself; a missing path is nil, not an error.
    @Test func pathStatusFollowsLinks() throws {
        let directory = try TemporaryDirectory()
        let target = directory.file("config.json", "{}")
        let link = directory.path + "/link.json"
        #expect(symlink(target, link) == 0)
        let followed = try #require(try Posix.pathStatus(link))
        let file = try #require(try Posix.pathStatus(target))
        let itself = try #require(try Posix.linkStatus(link))
        #expect(followed.inode == file.inode && itself.inode != file.inode)
        #expect(try Posix.pathStatus(directory.path + "/missing") == nil)
    }

    @Test func modificationTimeMovesOnWrite() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("config.json", "{}")
        var times = [
            timespec(tv_sec: 1_000_000_000, tv_nsec: 0),
            timespec(tv_sec: 1_000_000_000, tv_nsec: 0),
        ]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        let before = try #require(try Posix.pathStatus(path))
        #expect(before.modified == 1_000_000_000 * 1_000_000_000)
        directory.file("config.json", "{\"a\": 1}")
        let after = try #require(try Posix.pathStatus(path))
        #expect(after.modified > before.modified && after.inode == before.inode)
    }
}
