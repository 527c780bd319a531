import Foundation

/// A throwaway HTTP/1.1 server (Python's http.server) on 127.0.0.1 and a free port, for
/// end-to-end client tests against a real socket. It closes connections idle for
/// `idleTimeout` seconds, to exercise stale keep-alive connections.
final class HTTPTestServer: Sendable {
    let port: Int
    private let process: Process

    static let script = #"""
        import http.server, json, sys
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = float(sys.argv[1])
            def log_message(self, *args): pass
            def reply(self, body):
                if self.path == "/chunked":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for part in (body[:5], body[5:]):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def answer(self):
                length = int(self.headers.get("Content-Length", "0"))
                received = self.rfile.read(length).decode()
                self.reply(json.dumps({
                    "method": self.command, "path": self.path, "host": self.headers.get("Host"),
                    "port": self.client_address[1], "body": received}).encode())
            do_GET = answer
            do_POST = answer
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#

    init(idleTimeout: Double = 30) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, String(idleTimeout)]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let more = output.fileHandleForReading.availableData
            if more.isEmpty { break }
            line += more
        }
        guard
            let port = Int(
                String(decoding: line, as: UTF8.self).trimmingCharacters(
                    in: .whitespacesAndNewlines))
        else {
            process.terminate()
            throw CocoaError(.fileReadCorruptFile)
        }
        self.port = port
        self.process = process
    }

    func url(_ path: String) -> URL { URL(string: "http://127.0.0.1:\(port)\(path)")! }

    /// Kills the server with SIGKILL: the test process may run with SIGTERM blocked or ignored
    /// (signal handling for the daemon), and children inherit that, so `terminate()` could leave
    /// it running and `waitUntilExit()` hanging.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
