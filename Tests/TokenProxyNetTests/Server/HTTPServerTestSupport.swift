import Foundation
import Glibc
import Synchronization
import TokenProxyCore

@testable import TokenProxyNet

/// A running server on a Unix socket (and optionally TCP port 0) in its own temp directory.
final class TestServer: Sendable {
    let server: HTTPServer
    let directory: String
    let socketPath: String

    init(
        handler: some HTTPServerHandler = EchoHandler(),
        configuration: HTTPServerConfiguration = HTTPServerConfiguration(), tcp: Bool = false
    ) throws {
        directory = try makeTemporaryDirectory()
        socketPath = directory + "/server.sock"
        var listeners = [try Listener.unix(path: socketPath, mode: 0o600)]
        if tcp { listeners.append(try Listener.tcp(host: "127.0.0.1", port: 0)) }
        server = HTTPServer(listeners: listeners, handler: handler, configuration: configuration)
        server.start()
    }

    func connect() throws -> TestClient { try TestClient(unixPath: socketPath) }

    func stop() async {
        await server.shutdown(gracePeriod: .seconds(5))
        rmdir(directory)
    }
}

/// Answers at once with `method target body-length` and echoes the body; `/close` asks to
/// close, `/status/N` answers status N.
struct EchoHandler: HTTPServerHandler {
    func handle(
        _ request: HTTPServerRequest, respond: @escaping @Sendable (HTTPServerResponse) -> Void
    ) {
        var status = 200
        if request.head.target.hasPrefix("/status/") {
            status = Int(request.head.target.dropFirst(8)) ?? 500
        }
        var body = Array(
            "\(request.head.method) \(request.head.target) \(request.body.count)\n".utf8)
        body += request.body
        respond(
            HTTPServerResponse(
                status: status,
                headers: [
                    "Content-Type": "text/plain", "X-Peer": request.peer.description,
                    "X-Listener": request.listener,
                ],
                body: body, closeConnection: request.head.target == "/close"))
    }
}

/// Answers from another thread after `delay`, or when released (`/wait`).
final class DelayedHandler: HTTPServerHandler {
    let delay: Duration
    let gate = DispatchSemaphore(value: 0)
    let started = DispatchSemaphore(value: 0)

    init(delay: Duration = .milliseconds(20)) { self.delay = delay }

    func handle(
        _ request: HTTPServerRequest, respond: @escaping @Sendable (HTTPServerResponse) -> Void
    ) {
        let waits = request.head.target == "/wait"
        let delay = delay
        // Only the gated request counts as "started": tests wait for it specifically.
        if waits { started.signal() }
        let gate = gate
        Thread.detachNewThread {
            if waits {
                gate.wait()
            } else {
                let (seconds, attoseconds) = delay.components
                Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
            }
            respond(
                HTTPServerResponse(status: 200, body: Array("late \(request.head.target)".utf8)))
        }
    }
}

/// A parsed response as a client saw it.
struct TestResponse {
    var head: HTTPResponseHead
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    var status: Int { head.status }
    subscript(_ name: String) -> String? { head.fields[name] }
}

/// A blocking client socket with a receive timeout, so a broken server fails a test instead
/// of hanging it.
final class TestClient: @unchecked Sendable {  // used by one thread at a time
    let fd: Int32
    private var parser = HTTPParser(mode: .response)
    private var buffer = [UInt8](repeating: 0, count: 65536)

    init(unixPath: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(unixPath.utf8)) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw TestListenerError.failed("connect", errno) }
        setTimeout()
    }

    init(tcpPort: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(tcpPort).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw TestListenerError.failed("connect", errno) }
        setTimeout()
    }

    deinit { _ = Glibc.close(fd) }

    private func setTimeout() {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) { TestPeer.write(fd, Array(text.utf8)) }

    /// Sends a minimal request (`extra` is raw header lines ending in CRLF).
    func request(_ method: String = "GET", _ target: String, extra: String = "", body: String = "")
    {
        let length = body.isEmpty ? "" : "Content-Length: \(body.utf8.count)\r\n"
        send("\(method) \(target) HTTP/1.1\r\nHost: localhost\r\n\(length)\(extra)\r\n\(body)")
    }

    /// Reads one response to a request with `method` (nil: the request whose interim response
    /// was read last); returns nil if the server closed first.
    func readResponse(method: String? = "GET") -> TestResponse? {
        if let method { parser.expectResponse(toMethod: method) }
        var head: HTTPResponseHead?
        var body: [UInt8] = []
        while true {
            do {
                while let event = try parser.next() {
                    switch event {
                    case .responseHead(let h): head = h
                    case .informationalResponse(let h): head = h
                    case .body(let slice): body += slice
                    case .end: return head.map { TestResponse(head: $0, body: body) }
                    case .requestHead: return nil
                    }
                    if let h = head, h.isInformational {
                        return TestResponse(head: h, body: [])
                    }
                }
            } catch {
                return nil
            }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 {
                parser.feedEndOfStream()
                if (try? parser.next()) == nil { return nil }
                continue
            }
            parser.feed(buffer[0..<count])
        }
    }

    /// Whether the server closed the connection (reads end of stream within the timeout, after
    /// discarding anything still unread).
    func isClosedByServer() -> Bool {
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }
}

/// Runs a blocking call (a socket read) on a thread of its own, so that an async test does not
/// hold one of the few cooperative threads while a task it started needs one to make progress.
func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}
