/// A TLS server on 127.0.0.1 (python3's `ssl` module) for tests. It answers every request with
/// `HTTP/1.1 200 OK` and the body `hello <client certificate CN or "anonymous">`, then closes.
///
/// The server picks its own port (no race for a free one) and exits by itself after 60 s idle;
/// `stop()` (or deinit) kills it by pid.
package final class TestTLSServer: Sendable {
    /// How the server ends each connection.
    package enum Ending: String, Sendable {
        /// Sends close_notify.
        case closeNotify = "close_notify"
        /// Closes TCP without close_notify.
        case abrupt
    }

    /// The port the server listens on.
    package var port: Int { server.port }
    private let server: PythonScriptServer

    private init(server: PythonScriptServer) {
        self.server = server
    }

    /// Starts the server with `certificate`/`key`; with `clientCA`, clients must present a
    /// certificate issued by it (mutual TLS).
    package static func start(
        certificate: String, key: String, clientCA: String? = nil, ending: Ending = .closeNotify
    ) throws -> TestTLSServer {
        let server = try PythonScriptServer(
            script: script, arguments: [certificate, key, clientCA ?? "-", ending.rawValue],
            name: "TLS server")
        return TestTLSServer(server: server)
    }

    /// Kills the server by pid and reaps it.
    package func stop() {
        server.stop()
    }

    private static let script = """
        import socket, ssl, sys
        certificate, key, client_ca, ending = sys.argv[1:5]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        if client_ca != '-':
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(client_ca)
        listener = socket.socket()
        listener.bind(('127.0.0.1', 0))
        listener.listen(8)
        listener.settimeout(60)
        print(listener.getsockname()[1], flush=True)
        while True:
            try:
                connection, _ = listener.accept()
            except socket.timeout:
                break
            connection.settimeout(10)
            try:
                tls = context.wrap_socket(connection, server_side=True)
                request = b''
                while b'\\r\\n\\r\\n' not in request:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                peer = tls.getpeercert()
                body = ('hello ' + (peer['subject'][0][0][1] if peer else 'anonymous')).encode()
                head = 'HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n' % len(body)
                tls.sendall(head.encode() + body)
                if ending == 'close_notify':
                    tls.unwrap()
                tls.close()
            except Exception as error:
                print('error', error, file=sys.stderr, flush=True)
                connection.close()
        """
}
