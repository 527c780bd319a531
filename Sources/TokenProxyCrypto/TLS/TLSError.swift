#if canImport(Glibc)
    import Glibc
#endif

/// Failures of TLS contexts and sessions. TokenProxyNet turns them into `NetError`s naming the
/// peer (`NetError.init(_:peer:)`); messages name files and hosts, never key material.
package enum TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A TLS configuration file (CA bundle, client certificate or key) could not be used.
    case configuration(file: String, detail: String)
    /// The handshake or a TLS record failed; `detail` is usually the drained OpenSSL error
    /// queue (`OpenSSLErrorStack`).
    case protocolFailure(host: String, detail: String)
    /// The server's certificate did not verify (chain, expiry or host name).
    case certificateVerification(host: String, reason: String)
    /// The socket under the session failed in `call` (`SSL_read`, `SSL_write`, `SSL_connect`)
    /// with `errno`; OpenSSL had nothing to add.
    case socket(call: String, errno: Int32)

    package var description: String {
        switch self {
        case .configuration(let file, let detail):
            return "cannot use TLS file '\(file)': \(detail)"
        case .protocolFailure(let host, let detail):
            return "TLS with \(host) failed: \(detail)"
        case .certificateVerification(let host, let reason):
            return "certificate of \(host) did not verify: \(reason)"
        case .socket(let call, let errno):
            return "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))"
        }
    }
}
