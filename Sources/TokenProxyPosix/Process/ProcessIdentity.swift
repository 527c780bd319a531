import Glibc

/// This process's identity, for access decisions (the daemon's own user may always read its
/// tokens).
package enum ProcessIdentity {
    /// The real user id. The corresponding C function is `getuid`.
    package static var userID: UInt32 { getuid() }
    /// The process id. The corresponding C function is `getpid`.
    package static var processID: Int32 { getpid() }
}
