internal import COpenSSL
import Glibc
import TokenProxyPosix

/// An OpenSSL socket BIO whose writes cannot raise `SIGPIPE`.
///
/// OpenSSL's own socket BIO writes with `write(2)`, so writing to a peer that already closed
/// would deliver `SIGPIPE` and kill the daemon unless the whole process ignores that signal.
/// This BIO reuses the stock socket BIO for everything (reads, `BIO_ctrl`, end-of-file tracking
/// that OpenSSL needs to report an EOF without close_notify) except the write, which uses
/// `send(2)` with `MSG_NOSIGNAL`, the same as the socket streams of TokenProxyNet.
enum TLSSocketBIO {
    /// The method table, built once; OpenSSL only reads it afterwards.
    nonisolated(unsafe) private static let method: OpaquePointer = makeMethod()

    /// A BIO over `fd` that does not close `fd` when freed (the caller owns it).
    ///
    /// The corresponding C functions are `BIO_new` and `BIO_set_fd`.
    static func make(fd: Int32) -> OpaquePointer? {
        guard let bio = BIO_new(method) else { return nil }
        _ = BIO_int_ctrl(bio, BIO_C_SET_FD, Int(BIO_NOCLOSE), fd)
        return bio
    }

    private static func makeMethod() -> OpaquePointer {
        let type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR
        guard let method = BIO_meth_new(type, "tokenproxy socket"), let socket = BIO_s_socket()
        else {
            fatalError("OpenSSL could not allocate a BIO method: \(OpenSSLErrorStack.drain())")
        }
        _ = BIO_meth_set_write(method, sendWithoutSignal)
        _ = BIO_meth_set_read(method, BIO_meth_get_read(socket))
        _ = BIO_meth_set_puts(method, BIO_meth_get_puts(socket))
        _ = BIO_meth_set_ctrl(method, BIO_meth_get_ctrl(socket))
        _ = BIO_meth_set_create(method, BIO_meth_get_create(socket))
        _ = BIO_meth_set_destroy(method, BIO_meth_get_destroy(socket))
        return method
    }

    /// The BIO write callback: `send(2)` with `MSG_NOSIGNAL` (through `Posix.send`), flagging
    /// "retry" on `EAGAIN` as the stock socket BIO does, so `SSL_get_error` reports
    /// `SSL_ERROR_WANT_WRITE`. Other failures return -1 with `errno` still set by the call, for
    /// `SSL_ERROR_SYSCALL`.
    private static let sendWithoutSignal:
        @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = {
            bio, data, length in
            guard let bio, let data, length > 0 else { return 0 }
            let fd = Int32(truncatingIfNeeded: BIO_ctrl(bio, BIO_C_GET_FD, 0, nil))
            errno = 0
            let result = Result { () throws(PosixError) in
                try Posix.send(fd, UnsafeRawBufferPointer(start: data, count: Int(length)))
            }
            BIO_clear_flags(
                bio,
                BIO_FLAGS_READ | BIO_FLAGS_WRITE | BIO_FLAGS_IO_SPECIAL | BIO_FLAGS_SHOULD_RETRY)
            switch result {
            case .success(.done(let sent)):
                return Int32(sent)
            case .success(.wouldBlock):
                BIO_set_flags(bio, BIO_FLAGS_WRITE | BIO_FLAGS_SHOULD_RETRY)
                return -1
            case .failure(let error):
                // SSL_ERROR_SYSCALL is reported with the errno found after the call.
                errno = error.errno
                return -1
            }
        }
}
