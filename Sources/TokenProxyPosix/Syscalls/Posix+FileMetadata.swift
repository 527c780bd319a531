import Glibc

/// Setting who owns an open file, and finding users by name.
extension Posix {
    /// Sets the permission bits of the open file `fd` (not narrowed by the umask, unlike the
    /// mode given to `open`). The corresponding C function is `fchmod`.
    package static func changeMode(_ fd: Int32, to mode: UInt32) throws(PosixError) {
        try syscallNonBlocking("fchmod") { fchmod(fd, mode_t(mode)) }
    }

    /// Gives the open file `fd` to `owner` and/or `group` (nil leaves that one unchanged).
    /// Only root may give a file away; any user may pick one of its own groups.
    ///
    /// The corresponding C function is `fchown`.
    package static func changeOwner(_ fd: Int32, owner: uid_t?, group: gid_t?)
        throws(PosixError)
    {
        try syscallNonBlocking("fchown") { fchown(fd, owner ?? uid_t.max, group ?? gid_t.max) }
    }

    /// The uid of the user named `name`, or nil if there is no such user. Throws the errno of
    /// a failed lookup (`EIO`, …).
    ///
    /// The corresponding C function is `getpwnam_r`.
    package static func userID(named name: String) throws(PosixError) -> uid_t? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 1024)
        while true {
            let status = buffer.withUnsafeMutableBufferPointer { storage in
                getpwnam_r(name, &entry, storage.baseAddress!, storage.count, &result)
            }
            if status == ERANGE && buffer.count < 1 << 20 {
                buffer = [CChar](repeating: 0, count: buffer.count * 4)
                continue
            }
            if status == 0 { return result?.pointee.pw_uid }
            guard status == ENOENT || status == ESRCH else {
                throw PosixError(call: "getpwnam_r", errno: status)
            }
            return nil
        }
    }
}
