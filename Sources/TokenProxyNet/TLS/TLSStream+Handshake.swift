internal import COpenSSL
import Glibc

extension TLSStream {
    /// Performs the handshake with `serverName` (SNI and the name the certificate must match).
    ///
    /// `serverName` is a DNS name or an IP literal (IPv6 with or without brackets). A DNS name is
    /// sent as SNI and checked against the certificate's DNS names; an IP literal is not sent
    /// (RFC 6066 §3 allows only host names in SNI) and is checked against its IP addresses.
    /// The stream takes over `socket`; on failure the socket is closed.
    ///
    /// Throws `NetError.certificateVerification` when the chain or name does not verify,
    /// `NetError.timedOut` at the deadline, `NetError.tls` otherwise.
    /// The corresponding C functions are `SSL_new`, `SSL_set1_host`,
    /// `X509_VERIFY_PARAM_set1_ip_asc`, `SSL_set_tlsext_host_name` and `SSL_connect`.
    package static func connect(
        over socket: SocketStream, serverName: String, context: TLSClientContext,
        deadline: ContinuousClock.Instant
    ) throws -> TLSStream {
        OpenSSLError.clearQueue()
        guard let ssl = SSL_new(context.context) else {
            socket.close()
            throw NetError.tls(
                host: serverName, detail: "SSL_new failed: \(OpenSSLError.drainQueue())")
        }
        let stream = TLSStream(ssl: ssl, socket: socket, serverName: serverName, context: context)
        do {
            try stream.handshake(deadline: deadline)
        } catch {
            stream.markFailed()
            stream.close()
            throw error
        }
        return stream
    }

    private func handshake(deadline: ContinuousClock.Instant) throws {
        let name = SocketAddress.unbracketed(serverName)
        try withSSL { fd in
            try expectOne(name.isEmpty ? 0 : 1, "the server name is empty")
            if Self.isIPAddress(name) {
                try expectOne(
                    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name),
                    "cannot verify IP address \(name)")
            } else {
                SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
                try expectOne(SSL_set1_host(ssl, name), "cannot verify host name \(name)")
                try expectOne(
                    COpenSSL_SSL_set_tlsext_host_name(ssl, name), "cannot send SNI \(name)")
            }
            guard let bio = TLSSocketBIO.make(fd: fd) else {
                throw NetError.tls(
                    host: serverName, detail: "BIO_new failed: \(OpenSSLError.drainQueue())")
            }
            SSL_set_bio(ssl, bio, bio)

            let outcome = try callRetrying(
                fd: fd, deadline: deadline, operation: "TLS handshake with \(peer)"
            ) {
                SSL_connect(ssl)
            }
            guard case .failed(let code, let savedErrno) = outcome else { return }
            let verifyResult = SSL_get_verify_result(ssl)
            if verifyResult != X509_V_OK {
                OpenSSLError.clearQueue()
                throw NetError.certificateVerification(
                    host: serverName,
                    reason: Self.verificationReason(Int32(verifyResult), name: name))
            }
            if code == SSL_ERROR_SYSCALL, savedErrno == 0, OpenSSLError.queueIsEmpty {
                throw NetError.tls(
                    host: serverName,
                    detail: "the server closed the connection during the handshake")
            }
            throw failure(code: code, errno: savedErrno, call: "SSL_connect")
        }
    }

    private func expectOne(_ result: Int32, _ what: @autoclosure () -> String) throws {
        guard result == 1 else {
            throw NetError.tls(
                host: serverName, detail: "\(what()): \(OpenSSLError.drainQueue(or: "invalid"))")
        }
    }

    /// Whether `name` is an IPv4 or IPv6 literal. The corresponding C function is `inet_pton`.
    static func isIPAddress(_ name: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET, name, &address) == 1 || inet_pton(AF_INET6, name, &address) == 1
    }

    /// OpenSSL's text for a verification result, with what an operator can do about it.
    ///
    /// The corresponding C function is `X509_verify_cert_error_string`.
    static func verificationReason(_ result: Int32, name: String) -> String {
        let text = String(cString: X509_verify_cert_error_string(Int(result)))
        let hint: String
        switch result {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
            X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
            X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            hint = "pass --ca-file / ca_file if the server uses a private CA"
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
            hint =
                "the certificate is not issued for '\(name)'; use a host name the certificate lists"
        case X509_V_ERR_CERT_HAS_EXPIRED, X509_V_ERR_CERT_NOT_YET_VALID:
            hint = "check the server's certificate dates and this machine's clock"
        default:
            hint = "check the server's certificate chain"
        }
        return "\(text) (X509 verify error \(result)); \(hint)"
    }
}
