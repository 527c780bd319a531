import Glibc

/// A system call failed: which call, and its errno.
///
/// The message reads like `open failed: Permission denied (errno 13)`, with a hint where the
/// errno has an obvious remedy. Callers with more context (a path, a peer) wrap it in their own
/// error enum; the call name and errno travel along unchanged.
package struct PosixError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The C function that failed, as named in messages (`open`, `recv`, `setsockopt`, …).
    package let call: String
    /// The errno it set.
    package let errno: Int32

    package init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// The C library's text for `errno` (`strerror`).
    package var reason: String { Self.reason(errno) }

    package var description: String {
        "\(call) failed: \(reason) (errno \(errno))\(hint.map { "; \($0)" } ?? "")"
    }

    /// What an operator can do about the errno, when there is something obvious.
    package var hint: String? {
        switch errno {
        case EACCES, EPERM: "check permissions and the user tokenproxy runs as"
        case EMFILE, ENFILE: "out of file descriptors: raise LimitNOFILE="
        case ENOSPC, EDQUOT: "the file system is full"
        default: nil
        }
    }

    /// The C library's text for `errno`. The corresponding C function is `strerror`.
    package static func reason(_ errno: Int32) -> String {
        String(cString: strerror(errno))
    }
}
