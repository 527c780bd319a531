import Glibc

extension FileWriter {
    /// Why a secure write refused a path before writing anything.
    package enum SecureWriteError: Error, Equatable, CustomStringConvertible {
        /// The file's directory is missing, not a directory, or a symbolic link.
        case unexpectedDirectory(path: String, found: String)
        /// Something other than a regular file (a symbolic link, a directory, a FIFO…) sits at
        /// the path.
        case unexpectedFile(path: String, found: String)
        /// A system call failed.
        case system(PosixError)

        package var description: String {
            switch self {
            case .unexpectedDirectory(let path, let found):
                return
                    "directory \(path) is \(found): create it as a real directory (not a symbolic "
                    + "link) owned by the daemon's user"
            case .unexpectedFile(let path, let found):
                return
                    "\(path) is \(found), not a regular file: remove it, tokenproxy will not "
                    + "write through or over it"
            case .system(let error):
                return "\(error)"
            }
        }
    }

    /// What to set on a securely written file.
    package struct Ownership: Sendable, Equatable {
        /// Permission bits, set with `fchmod` (not narrowed by the umask).
        package var mode: UInt32
        /// The owner to give the file to (needs root), nil to keep the daemon's user.
        package var owner: uid_t?
        /// The group, nil to keep the daemon's group.
        package var group: gid_t?

        package init(mode: UInt32, owner: uid_t? = nil, group: gid_t? = nil) {
            self.mode = mode
            self.owner = owner
            self.group = group
        }
    }

    /// Replaces `path` with `contents` so that a reader opening it at any moment sees the old
    /// file or the new one, whole — never a part, never an empty file — and so that the new
    /// one survives a crash (as Teleport's tbot does in its `secure` mode):
    /// 1. refuses a directory that is a symbolic link or not a directory, and a path that holds
    ///    anything but a regular file (a symbolic link planted there is not followed, and is not
    ///    silently replaced either);
    /// 2. writes a temporary file in the same directory (`O_EXCL | O_NOFOLLOW`, mode 0600 at
    ///    creation), gives it `ownership` (`fchown`, then `fchmod`), fills it, `fsync`s it;
    /// 3. renames it over `path` (atomic within one file system) and `fsync`s the directory so
    ///    the rename itself is on disk.
    /// The temporary file is removed on any failure.
    ///
    /// The corresponding C functions are `lstat`, `open`, `fchown`, `fchmod`, `write`, `fsync`,
    /// `close`, `rename` and `unlink`.
    package static func replaceSecurely(
        _ path: String, contents: [UInt8], ownership: Ownership
    ) throws(SecureWriteError) {
        let directory = Self.directory(of: path)
        try checkTarget(path, directory: directory)
        do throws(PosixError) {
            while true {
                let temporary =
                    directory + "/." + Self.baseName(of: path)
                    + ".tmp-\(ProcessIdentity.processID)-\(UInt32.random(in: 0...UInt32.max))"
                let file: FileDescriptor
                do {
                    file = try Posix.open(
                        temporary, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
                } catch  where error.errno == EEXIST {
                    continue
                }
                do throws(PosixError) {
                    if ownership.owner != nil || ownership.group != nil {
                        try Posix.changeOwner(
                            file.rawValue, owner: ownership.owner, group: ownership.group)
                    }
                    try Posix.changeMode(file.rawValue, to: ownership.mode)
                    try writeAll(file.rawValue, contents)
                    try Posix.sync(file.rawValue)
                    try file.close()
                    try Posix.rename(temporary, to: path)
                } catch {
                    try? Posix.unlink(temporary)
                    throw error
                }
                try syncDirectory(directory)
                return
            }
        } catch {
            throw .system(error)
        }
    }

    /// Removes `path` if it is a regular file; leaves anything else (and nothing) alone.
    package static func removeRegularFile(_ path: String) throws(PosixError) {
        guard let status = try Posix.linkStatus(path), status.isRegularFile else { return }
        try Posix.unlink(path)
    }

    private static func checkTarget(_ path: String, directory: String)
        throws(SecureWriteError)
    {
        let parent: FileStatus?
        let existing: FileStatus?
        do throws(PosixError) {
            parent = try Posix.linkStatus(directory)
            existing = try Posix.linkStatus(path)
        } catch {
            throw .system(error)
        }
        guard let parent else {
            throw .unexpectedDirectory(path: directory, found: "missing")
        }
        guard parent.isDirectory else {
            throw .unexpectedDirectory(path: directory, found: describe(parent))
        }
        if let existing, !existing.isRegularFile {
            throw .unexpectedFile(path: path, found: describe(existing))
        }
    }

    private static func syncDirectory(_ directory: String) throws(PosixError) {
        let handle = try Posix.open(directory, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        try Posix.sync(handle.rawValue)
        try handle.close()
    }

    private static func describe(_ status: FileStatus) -> String {
        if status.isSymbolicLink { return "a symbolic link" }
        if status.isDirectory { return "a directory" }
        if status.isSocket { return "a socket" }
        return "a special file"
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
