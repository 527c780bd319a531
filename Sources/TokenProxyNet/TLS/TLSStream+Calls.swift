internal import COpenSSL
import Glibc
import TokenProxyPosix

extension TLSStream {
    /// The outcome of an `SSL_*` call once it no longer asks to be retried.
    enum CallOutcome {
        /// The call returned this positive value.
        case done(Int32)
        /// `SSL_get_error` gave `code`; `errno` as it was right after the call.
        /// The thread's OpenSSL error queue still holds the details.
        case failed(code: Int32, errno: Int32)
    }

    /// Calls `body` (an `SSL_connect`, `SSL_read` or `SSL_write`) until it succeeds or fails,
    /// polling the socket whenever OpenSSL needs it readable or writable, until `deadline`.
    ///
    /// A TLS read may need the socket writable (and a write readable), so the direction comes
    /// from `SSL_get_error`, not from the call. The corresponding C function is `SSL_get_error`.
    func callRetrying(
        fd: Int32, deadline: ContinuousClock.Instant, operation: @autoclosure () -> String,
        _ body: () -> Int32
    ) throws(NetError) -> CallOutcome {
        while true {
            OpenSSLError.clearQueue()
            errno = 0
            let result = body()
            let savedErrno = errno
            if result > 0 { return .done(result) }
            let code = SSL_get_error(ssl, result)
            switch code {
            case SSL_ERROR_WANT_READ:
                try Poll.wait(
                    fd: fd, for: Int16(POLLIN), deadline: deadline, operation: operation())
            case SSL_ERROR_WANT_WRITE:
                try Poll.wait(
                    fd: fd, for: Int16(POLLOUT), deadline: deadline, operation: operation())
            default:
                return .failed(code: code, errno: savedErrno)
            }
        }
    }

    /// The error for a failed `call`; drains the error queue and marks the connection unusable
    /// for `SSL_shutdown`.
    func failure(code: Int32, errno savedErrno: Int32, call: String) -> NetError {
        markFailed()
        let detail = OpenSSLError.drainQueue()
        if code == SSL_ERROR_SYSCALL, savedErrno != 0, detail.isEmpty {
            return .io(peer: peer, call: call, errno: savedErrno)
        }
        if code == SSL_ERROR_ZERO_RETURN {
            return .connectionClosed(peer: peer)
        }
        return .tls(
            host: serverName,
            detail: detail.isEmpty ? "\(call) failed (SSL_get_error \(code))" : detail)
    }
}
