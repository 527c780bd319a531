import Glibc

/// Tells when something changes in a set of directories (inotify, `inotify(7)`): a file
/// written and closed, renamed into place, created, removed, or its attributes changed. Watching
/// the directory rather than the file catches atomic replacements (rename over the file) and
/// Kubernetes Secret updates (a symbolic link swapped in the directory), which a watch on the
/// file's inode would miss. Events are not interpreted: the owner re-checks what it cares about.
package final class DirectoryWatch: @unchecked Sendable {
    // @unchecked: the descriptor is only read by the one thread that calls `waitForChange`,
    // and `add` only passes it to `inotify_add_watch`, which the kernel serializes.
    private let descriptor: FileDescriptor

    /// The corresponding C function is `inotify_init1`.
    package init() throws(PosixError) {
        let fd = try Posix.syscallNonBlocking("inotify_init1") { inotify_init1(Int32(IN_CLOEXEC)) }
        descriptor = FileDescriptor(adopting: fd)
    }

    /// Watches `directory` (adding it again is harmless).
    ///
    /// The corresponding C function is `inotify_add_watch`.
    package func add(directory: String) throws(PosixError) {
        let mask = UInt32(
            IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB | IN_MOVED_FROM)
        try Posix.syscallNonBlocking("inotify_add_watch") {
            inotify_add_watch(descriptor.rawValue, directory, mask)
        }
    }

    /// Blocks until at least one event arrives (and consumes what is queued). Returns false if
    /// reading fails, which ends the owner's loop.
    ///
    /// The corresponding C function is `read`.
    package func waitForChange() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let result = try? buffer.withUnsafeMutableBytes { bytes throws(PosixError) in
            try Posix.read(descriptor.rawValue, into: bytes)
        }
        guard case .done(let count) = result, count > 0 else { return false }
        return true
    }
}
