import TokenProxyCrypto

extension NetError {
    /// The one mapping of TokenProxyCrypto's TLS failures into transport errors; `peer`
    /// (`host:port`) names the connection for socket failures.
    package init(_ error: TLSError, peer: String) {
        switch error {
        case .configuration(let file, let detail):
            self = .tlsConfiguration(file: file, detail: detail)
        case .protocolFailure(let host, let detail):
            self = .tls(host: host, detail: detail)
        case .certificateVerification(let host, let reason):
            self = .certificateVerification(host: host, reason: reason)
        case .socket(let call, let errno):
            self = .io(peer: peer, call: call, errno: errno)
        }
    }
}
