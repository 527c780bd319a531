import Glibc

/// What `fstat`/`lstat` said about a file: its type, permission bits, owner, size and identity.
package struct FileStatus: Sendable, Equatable {
    /// The file type and permission bits (`st_mode`).
    package var mode: UInt32
    /// The owner's user id.
    package var owner: UInt32
    /// The file's group id (on a Kubernetes Secret volume with `fsGroup`, that group).
    package var group: UInt32
    /// The size in bytes.
    package var size: Int
    /// Device and inode: which file this is, to recognise it again later.
    package var device: UInt64
    package var inode: UInt64
    /// The last modification (`st_mtim`) in nanoseconds since the epoch.
    package var modified: Int64

    init(_ info: stat) {
        mode = UInt32(info.st_mode)
        owner = UInt32(info.st_uid)
        group = UInt32(info.st_gid)
        size = Int(info.st_size)
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }

    /// A status from its parts, for tests of decisions made on a status.
    package init(
        mode: UInt32, owner: UInt32, group: UInt32, size: Int = 0, device: UInt64 = 0,
        inode: UInt64 = 0, modified: Int64 = 0
    ) {
        self.mode = mode
        self.owner = owner
        self.group = group
        self.size = size
        self.device = device
        self.inode = inode
        self.modified = modified
    }

    /// A regular file (not a directory, FIFO, device or socket).
    package var isRegularFile: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFREG) }
    /// A directory.
    package var isDirectory: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }
    /// A symbolic link (only `lstat` reports one).
    package var isSymbolicLink: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFLNK) }
    /// A socket.
    package var isSocket: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFSOCK) }
    /// Whether group or others have any permission bit (`mode & 0o077`), as ssh checks keys.
    package var isAccessibleByOthers: Bool { mode & 0o077 != 0 }
}
