import TokenProxyCrypto
import TokenProxyPosix

/// What every tokenproxy process sets up first and does last.
package enum ProcessRuntime {
    /// Call before anything else runs.
    package static func prepare() {
        OpenSSLRuntime.disableExitCleanup()
    }

    /// Ends a long-running command after its orderly shutdown without running global
    /// destructors (C++ and OpenSSL), which would race with Dispatch threads still finishing
    /// work the shutdown abandoned. Output is flushed first.
    package static func exitAfterShutdown(_ status: Int32) -> Never {
        Posix.exitImmediately(status)
    }
}
