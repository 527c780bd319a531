import Glibc

/// Opening, inspecting and changing files.
extension Posix {
    /// Opens `path` with `flags` (`O_CLOEXEC` is always added); `mode` applies when creating.
    ///
    /// The corresponding C function is `open`.
    package static func open(_ path: String, flags: Int32, mode: UInt32 = 0)
        throws(PosixError) -> FileDescriptor
    {
        let fd = try syscallNonBlocking("open") {
            Glibc.open(path, flags | O_CLOEXEC, mode_t(mode))
        }
        return FileDescriptor(adopting: fd)
    }

    /// What the open descriptor `fd` refers to. The corresponding C function is `fstat`.
    package static func status(_ fd: Int32) throws(PosixError) -> FileStatus {
        var info = stat()
        try syscallNonBlocking("fstat") { fstat(fd, &info) }
        return FileStatus(info)
    }

    /// What `path` is, without following a final symbolic link; nil if nothing is there.
    ///
    /// The corresponding C function is `lstat`.
    package static func linkStatus(_ path: String) throws(PosixError) -> FileStatus? {
        var info = stat()
        do {
            try syscallNonBlocking("lstat") { lstat(path, &info) }
        } catch  where error.errno == ENOENT {
            return nil
        }
        return FileStatus(info)
    }

    /// What `path` leads to, following symbolic links (a Kubernetes ConfigMap file is a link
    /// into a directory the kubelet swaps); nil if nothing is there.
    ///
    /// The corresponding C function is `stat`.
    package static func pathStatus(_ path: String) throws(PosixError) -> FileStatus? {
        var info = stat()
        do {
            try syscallNonBlocking("stat") { stat(path, &info) }
        } catch  where error.errno == ENOENT {
            return nil
        }
        return FileStatus(info)
    }

    /// Removes the name `path`. The corresponding C function is `unlink`.
    package static func unlink(_ path: String) throws(PosixError) {
        try syscallNonBlocking("unlink") { Glibc.unlink(path) }
    }

    /// Renames `from` to `to`, atomically replacing `to`. The corresponding C function is
    /// `rename`.
    package static func rename(_ from: String, to: String) throws(PosixError) {
        try syscallNonBlocking("rename") { Glibc.rename(from, to) }
    }

    /// Flushes `fd`'s data and metadata to the device. The corresponding C function is `fsync`.
    package static func sync(_ fd: Int32) throws(PosixError) {
        try syscallNonBlocking("fsync") { fsync(fd) }
    }

    /// Sets the permission bits of `path`. The corresponding C function is `chmod`.
    package static func changeMode(_ path: String, to mode: UInt32) throws(PosixError) {
        try syscallNonBlocking("chmod") { chmod(path, mode_t(mode)) }
    }

    /// Gives `path` to `group`, leaving its owner unchanged. The corresponding C function is
    /// `chown` with owner `(uid_t)-1`.
    package static func changeGroup(_ path: String, to group: gid_t) throws(PosixError) {
        try syscallNonBlocking("chown") { chown(path, uid_t.max, group) }
    }

    /// Throws unless this process may read `path` (`ENOENT`, `EACCES`, …).
    ///
    /// The corresponding C function is `access` with `R_OK`.
    package static func checkReadable(_ path: String) throws(PosixError) {
        try syscallNonBlocking("access") { access(path, R_OK) }
    }

    /// Whether `path` (links followed) is a file this process may execute, as a `PATH` search
    /// wants it: not a directory, `X_OK` granted.
    ///
    /// The corresponding C functions are `stat` and `access` with `X_OK`.
    package static func isExecutableFile(_ path: String) -> Bool {
        guard let status = try? pathStatus(path), !status.isDirectory else { return false }
        return access(path, X_OK) == 0
    }
}
