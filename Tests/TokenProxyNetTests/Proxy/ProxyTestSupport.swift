import Foundation
import Glibc
import Synchronization
import TokenProxyCore

@testable import TokenProxyNet

/// A delegate whose decisions come from a closure and which records what the engine told it.
final class FakeProxyDelegate: ProxyDelegate {
    struct Recorded {
        var heads: [HTTPRequestHead] = []
        var events: [ProxyEvent] = []
        var unauthorizedCalls: [ProxyForward] = []
    }

    let decider: @Sendable (HTTPRequestHead) -> ProxyDecision
    let refreshedAuthorization: String?
    let recorded = Mutex(Recorded())

    init(
        refreshedAuthorization: String? = nil,
        decider: @escaping @Sendable (HTTPRequestHead) -> ProxyDecision
    ) {
        self.refreshedAuthorization = refreshedAuthorization
        self.decider = decider
    }

    func decide(
        _ head: HTTPRequestHead, peer: PeerIdentity, listener: String, receivedAt: UInt64,
        completion: @escaping @Sendable (ProxyDecision) -> Void
    ) -> ProxyAnswer<ProxyDecision> {
        recorded.withLock { $0.heads.append(head) }
        return .now(decider(head))
    }

    func authorizationAfterUnauthorized(
        _ forward: ProxyForward, completion: @escaping @Sendable (String?) -> Void
    ) -> ProxyAnswer<String?> {
        recorded.withLock { $0.unauthorizedCalls.append(forward) }
        return .now(refreshedAuthorization)
    }

    func completed(_ event: ProxyEvent) {
        recorded.withLock { $0.events.append(event) }
    }

    var events: [ProxyEvent] { recorded.withLock { $0.events } }
    var unauthorizedCallCount: Int { recorded.withLock { $0.unauthorizedCalls.count } }
    var decideCount: Int { recorded.withLock { $0.heads.count } }

    /// Waits (up to 10 s) until `count` events were reported; events arrive after the
    /// response was written, so a test that read the response may be a moment early.
    func waitForEvents(_ count: Int) -> [ProxyEvent] {
        for _ in 0..<1000 {
            let events = self.events
            if events.count >= count { return events }
            usleep(10_000)
        }
        return events
    }

    /// Forwards everything to `upstream` with an injected token, as a route would: the
    /// absolute-form target is reduced to its path.
    static func forwarding(
        to upstream: UpstreamTestServer, authorization: String? = "Bearer injected-token",
        forwardedHeaders: Bool = false, refreshed: String? = nil
    ) -> FakeProxyDelegate {
        let port = upstream.port
        return FakeProxyDelegate(refreshedAuthorization: refreshed) { head in
            .forward(
                ProxyForward(
                    upstream: ProxyUpstream(scheme: "http", host: "127.0.0.1", port: port),
                    tls: nil, target: originForm(head.target), hostHeader: "api.example.com",
                    authorization: authorization, removeHeaders: ["X-Tokenproxy-Refresh"],
                    forwardedHeaders: forwardedHeaders, routeName: "test-route",
                    tokenGeneration: "1"))
        }
    }

    /// `/path?query` of an absolute-form target; origin-form targets unchanged.
    static func originForm(_ target: String) -> String {
        guard target.hasPrefix("http://") else { return target }
        let rest = target.dropFirst("http://".count)
        guard let slash = rest.firstIndex(of: "/") else { return "/" }
        return String(rest[slash...])
    }
}

/// What the test upstream does after reading a whole request.
enum UpstreamReply: Sendable {
    /// Writes these bytes and waits for the next request.
    case send(String)
    /// Writes these bytes and closes.
    case sendAndClose(String)
    /// Writes a response with a body of `count` bytes of `x`, streamed in 64 KiB writes.
    case large(count: Int)
    /// Never answers (until the proxy closes the connection).
    case hang
    /// Writes these bytes (a 101), then echoes everything it receives.
    case upgradeAndEcho(String)
}

/// One request as the test upstream received it.
struct UpstreamRequest: Sendable {
    var head: HTTPRequestHead
    /// The body, de-chunked (only its first MiB is kept).
    var body: [UInt8] = []
    var bodyCount = 0
    /// Which accepted connection (0, 1, …) carried it.
    var connection: Int
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A scripted HTTP/1.1 origin server on 127.0.0.1 and a free port: it records the exact bytes
/// and the parsed requests it receives and answers each with `script`. Each connection runs
/// on a thread of its own.
final class UpstreamTestServer: Sendable {
    struct Recorded {
        var raw: [UInt8] = []
        var totalBytes = 0
        var connections = 0
        var requests: [UpstreamRequest] = []
    }

    let port: Int
    private let fd: Int32
    private let script: @Sendable (UpstreamRequest) -> UpstreamReply
    private let recorded = Mutex(Recorded())
    private let stopped = Atomic<Bool>(false)

    init(script: @escaping @Sendable (UpstreamRequest) -> UpstreamReply) throws {
        self.script = script
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 64) == 0
                    && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw TestListenerError.failed("bind", errno) }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Answers every request with `200 OK` and body `ok`.
    convenience init() throws {
        try self.init { _ in .send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") }
    }

    deinit { stop() }

    func stop() {
        if !stopped.exchange(true, ordering: .relaxed) { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
    }

    var requests: [UpstreamRequest] { recorded.withLock { $0.requests } }
    var connectionCount: Int { recorded.withLock { $0.connections } }
    var totalBytes: Int { recorded.withLock { $0.totalBytes } }
    var rawText: String { recorded.withLock { String(decoding: $0.raw, as: UTF8.self) } }

    /// Waits (up to 10 s) for `count` complete requests.
    func waitForRequests(_ count: Int) -> [UpstreamRequest] {
        for _ in 0..<1000 {
            let requests = self.requests
            if requests.count >= count { return requests }
            usleep(10_000)
        }
        return requests
    }

    private func acceptLoop() {
        defer { _ = Glibc.close(fd) }
        while !stopped.load(ordering: .relaxed) {
            let connection = accept(fd, nil, nil)
            guard connection >= 0 else { return }
            let index = recorded.withLock { state in
                defer { state.connections += 1 }
                return state.connections
            }
            Thread.detachNewThread { [self] in
                serve(connection, index: index)
                _ = Glibc.close(connection)
            }
        }
    }

    private func serve(_ fd: Int32, index: Int) {
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var parser = HTTPParser(mode: .request, limits: HTTPLimits(maxBodyBytes: .max))
        var buffer = [UInt8](repeating: 0, count: 65536)
        var current: UpstreamRequest?
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            recorded.withLock { state in
                state.totalBytes += count
                if state.raw.count < 1 << 20 { state.raw += buffer[0..<count] }
            }
            parser.feed(buffer[0..<count])
            do {
                while let event = try parser.next() {
                    switch event {
                    case .requestHead(let head):
                        current = UpstreamRequest(head: head, connection: index)
                    case .body(let bytes):
                        current?.bodyCount += bytes.count
                        if let body = current?.body, body.count < 1 << 20 { current?.body += bytes }
                    case .end:
                        guard let request = current else { return }
                        current = nil
                        recorded.withLock { $0.requests.append(request) }
                        guard reply(script(request), on: fd, parser: &parser) else { return }
                    case .responseHead, .informationalResponse:
                        return
                    }
                }
            } catch {
                TestPeer.write(
                    fd, Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".utf8))
                return
            }
        }
    }

    /// Sends `reply`; returns whether to keep reading requests.
    private func reply(_ reply: UpstreamReply, on fd: Int32, parser: inout HTTPParser) -> Bool {
        switch reply {
        case .send(let text):
            TestPeer.write(fd, Array(text.utf8))
            return true
        case .sendAndClose(let text):
            TestPeer.write(fd, Array(text.utf8))
            return false
        case .large(let count):
            TestPeer.write(fd, Array("HTTP/1.1 200 OK\r\nContent-Length: \(count)\r\n\r\n".utf8))
            let block = [UInt8](repeating: UInt8(ascii: "x"), count: 65536)
            var left = count
            while left > 0 {
                let piece = min(left, block.count)
                TestPeer.write(fd, Array(block[0..<piece]))
                left -= piece
            }
            return true
        case .hang:
            _ = TestPeer.readToEnd(fd)
            return false
        case .upgradeAndEcho(let text):
            TestPeer.write(fd, Array(text.utf8))
            let early = parser.takeRemainingBytes()
            if !early.isEmpty { TestPeer.write(fd, early) }
            TestPeer.echo(fd)
            return false
        }
    }
}

/// A running engine on 127.0.0.1 and a free port.
final class ProxyTestHarness: Sendable {
    let engine: ProxyEngine
    let port: Int

    init(
        delegate: some ProxyDelegate,
        configuration: ProxyEngineConfiguration = ProxyEngineConfiguration(),
        loops: EventLoopGroup? = nil
    ) throws {
        let listener = try Listener.tcp(host: "127.0.0.1", port: 0, name: "proxy")
        port = listener.port!
        engine = ProxyEngine(
            listeners: [listener], delegate: delegate, configuration: configuration, loops: loops)
        engine.start()
    }

    func client() throws -> TestClient { try TestClient(tcpPort: port) }

    func stop() async {
        await engine.shutdown(gracePeriod: .seconds(2))
    }
}

extension TestClient {
    /// Reads raw bytes until `count` arrived or the peer closed (10 s receive timeout).
    func readRaw(atLeast count: Int) -> [UInt8] {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while all.count < count {
            let received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if received <= 0 { break }
            all += buffer[0..<received]
        }
        return all
    }

    /// Reads raw bytes until the peer closes (10 s receive timeout).
    func readToEnd() -> String {
        String(decoding: TestPeer.readToEnd(fd), as: UTF8.self)
    }
}
