import Dispatch
import Foundation
import Synchronization
import Testing
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyTestSupport

@testable import TokenProxyNet

/// A delegate that answers some requests later, from another thread, as a token fetch does.
final class LaterDelegate: ProxyDelegate {
    let later: @Sendable (HTTPRequestHead) -> (ProxyDecision, Duration)?
    let now: @Sendable (HTTPRequestHead) -> ProxyDecision

    init(
        later: @escaping @Sendable (HTTPRequestHead) -> (ProxyDecision, Duration)?,
        now: @escaping @Sendable (HTTPRequestHead) -> ProxyDecision
    ) {
        self.later = later
        self.now = now
    }

    func decide(
        _ head: HTTPRequestHead, peer: PeerIdentity, listener: String, receivedAt: UInt64,
        completion: @escaping @Sendable (ProxyDecision) -> Void
    ) -> ProxyAnswer<ProxyDecision> {
        guard let (decision, delay) = later(head) else { return .now(now(head)) }
        DispatchQueue.global().asyncAfter(
            deadline: .now()
                + .milliseconds(
                    Int(delay.components.seconds * 1000)
                        + Int(delay.components.attoseconds / 1_000_000_000_000_000))
        ) { completion(decision) }
        return .later
    }

    func authorizationAfterUnauthorized(
        _ forward: ProxyForward, completion: @escaping @Sendable (String?) -> Void
    ) -> ProxyAnswer<String?> { .now(nil) }

    let completedEvents = Mutex<[ProxyEvent]>([])

    func completed(_ event: ProxyEvent) { completedEvents.withLock { $0.append(event) } }

    /// Waits (up to 5 s) for the first reported event.
    func firstEvent() -> ProxyEvent? {
        for _ in 0..<500 {
            if let event = completedEvents.withLock({ $0.first }) { return event }
            usleep(10_000)
        }
        return nil
    }
}

/// The engine on event loops: parked requests, threads, stalled TLS upstreams.
@Suite(.timeLimit(.minutes(1)))
struct ProxyEventLoopTests {
    static func forward(_ port: Int, _ head: HTTPRequestHead) -> ProxyDecision {
        .forward(
            ProxyForward(
                upstream: ProxyUpstream(scheme: "http", host: "127.0.0.1", port: port), tls: nil,
                target: head.target, hostHeader: "h", authorization: "Bearer t",
                routeName: "r"))
    }

    @Test func aParkedRequestCompletesWhenItsAnswerArrivesWithoutHoldingUpOthers() async throws {
        let upstream = try UpstreamTestServer()
        let port = upstream.port
        let delegate = LaterDelegate(
            later: { $0.target == "/slow" ? (Self.forward(port, $0), .milliseconds(400)) : nil },
            now: { Self.forward(port, $0) })
        // One loop: the parked request and the fast one share it.
        let loops = EventLoopGroup(configured: 1)
        loops.start()
        defer { loops.stop() }
        let proxy = try ProxyTestHarness(delegate: delegate, loops: loops)
        let slow = try proxy.client()
        slow.request("GET", "/slow")
        let fast = try proxy.client()
        let started = ContinuousClock.now
        fast.request("GET", "/fast")
        #expect(fast.readResponse()?.text == "ok")
        #expect(ContinuousClock.now - started < .milliseconds(300))
        #expect(slow.readResponse()?.text == "ok")
        #expect(ContinuousClock.now - started >= .milliseconds(350))
        await proxy.stop()
    }

    @Test func aParkedRequestGetsTheLateRefusal() async throws {
        let refusal = HTTPServerResponse(
            status: 503, headers: ["Retry-After": "5", "Content-Type": "text/plain"],
            body: Array("no token\n".utf8))
        let delegate = LaterDelegate(
            later: { _ in (.respond(refusal), .milliseconds(100)) }, now: { _ in .respond(refusal) }
        )
        let proxy = try ProxyTestHarness(delegate: delegate)
        let client = try proxy.client()
        client.request("GET", "/x")
        let response = try #require(client.readResponse())
        #expect(response.status == 503)
        #expect(response.head.fields["Retry-After"] == "5")
        // The connection stays usable for the next request.
        client.request("GET", "/y")
        #expect(client.readResponse()?.status == 503)
        await proxy.stop()
    }

    @Test(arguments: [Int32(SHUT_WR), Int32(SHUT_RDWR)])
    func aClientThatHangsUpWhileParkedIsReleasedAtOnce(how: Int32) async throws {
        let upstream = try UpstreamTestServer()
        let port = upstream.port
        // The answer would come after 30 s (a slow token fetch); the client gives up first.
        let delegate = LaterDelegate(
            later: { (Self.forward(port, $0), .seconds(30)) }, now: { Self.forward(port, $0) })
        let proxy = try ProxyTestHarness(delegate: delegate)
        let client = try proxy.client()
        client.request("GET", "/parked")
        // Accepted (the loop may be slow to get there on a loaded machine).
        for _ in 0..<500 where proxy.engine.connectionCount == 0 { usleep(10_000) }
        usleep(50_000)
        #expect(proxy.engine.connectionCount == 1)
        let started = ContinuousClock.now
        shutdown(client.fd, how)
        let event = try #require(delegate.firstEvent())
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(event.status == 0)
        #expect(event.failure?.contains("client went away") == true)
        #expect(event.method == "GET")
        for _ in 0..<200 where proxy.engine.connectionCount > 0 { usleep(10_000) }
        #expect(proxy.engine.connectionCount == 0)
        #expect(upstream.connectionCount == 0)
        await proxy.stop()
    }

    @Test func aTLSUpstreamThatStallsMidHandshakeTimesOut() async throws {
        // Listening but never accepting: TCP completes in the backlog, the ClientHello is
        // never answered.
        let silent = try Listener.tcp(host: "127.0.0.1", port: 0, name: "silent")
        defer { silent.close() }
        let certificates = try TestCertificates.generate()
        let tls = try TLSClientContext(
            configuration: TLSClientConfiguration(
                caFile: certificates.caCertificate, useSystemTrustStore: false))
        let port = silent.port!
        let delegate = FakeProxyDelegate { head in
            .forward(
                ProxyForward(
                    upstream: ProxyUpstream(
                        scheme: "https", host: "127.0.0.1", port: port, tlsProfile: "t"),
                    tls: tls, target: head.target, hostHeader: "h", authorization: "Bearer t",
                    routeName: "stalled-route"))
        }
        let proxy = try ProxyTestHarness(
            delegate: delegate,
            configuration: ProxyEngineConfiguration(connectTimeout: .milliseconds(300)))
        let client = try proxy.client()
        let started = ContinuousClock.now
        client.request("GET", "/")
        let response = try #require(client.readResponse())
        #expect(response.status == 504)
        #expect(response.text.contains("stalled-route"))
        #expect(ContinuousClock.now - started < .seconds(5))
        await proxy.stop()
    }

    @Test func manyIdleClientsAddNoThreads() async throws {
        let upstream = try UpstreamTestServer()
        let proxy = try ProxyTestHarness(delegate: FakeProxyDelegate.forwarding(to: upstream))
        let warm = try proxy.client()
        warm.request("GET", "/")
        #expect(warm.readResponse()?.status == 200)
        let before = Self.threadCount()
        var clients: [TestClient] = []
        for _ in 0..<200 { clients.append(try proxy.client()) }
        // Half of them start a request head and stall (slowloris), half stay silent.
        for client in clients.prefix(100) { client.send("GET / HTTP/1.1\r\nHost: x\r\n") }
        usleep(200_000)
        #expect(proxy.engine.connectionCount >= 200)
        let during = Self.threadCount()
        #expect(during - before < 10, "threads \(before) → \(during) for 200 connections")
        // A well-behaved client is served meanwhile.
        warm.request("GET", "/again")
        #expect(warm.readResponse()?.status == 200)
        await proxy.stop()
    }

    /// `Threads:` of /proc/self/status.
    static func threadCount() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") } ?? ""
        return Int(line.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) ?? 0
    }
}
