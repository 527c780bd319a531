import Foundation
import Testing
import TokenProxyCore
import TokenProxyCrypto
import TokenProxyTestSupport

@testable import TokenProxyNet

/// Upstream connections: pooling, staleness and TLS.
@Suite(.timeLimit(.minutes(1)))
struct ProxyUpstreamPoolTests {
    private static func httpsForward(port: Int, tls: TLSClientContext, host: String = "localhost")
        -> FakeProxyDelegate
    {
        FakeProxyDelegate { head in
            .forward(
                ProxyForward(
                    upstream: ProxyUpstream(
                        scheme: "https", host: host, port: port, tlsProfile: "test"),
                    tls: tls, target: head.target, hostHeader: "localhost",
                    authorization: "Bearer t", routeName: "tls-route"))
        }
    }

    @Test func forwardsToAnHTTPSUpstreamVerifiedWithARouteCA() async throws {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey)
        let tls = try TLSClientContext(
            configuration: TLSClientConfiguration(
                caFile: certificates.caCertificate, useSystemTrustStore: false))
        let proxy = try ProxyTestHarness(delegate: Self.httpsForward(port: server.port, tls: tls))
        let client = try proxy.client()
        client.request("GET", "/")
        let response = try #require(client.readResponse())
        #expect(response.status == 200 && response.text == "hello anonymous")
        // The upstream said `Connection: close`; the client connection stays open regardless.
        client.request("GET", "/again")
        #expect(client.readResponse()?.text == "hello anonymous")
        await proxy.stop()
    }

    @Test func untrustedUpstreamCertificateIs502WithTheReason() async throws {
        let certificates = try TestCertificates.generate()
        let server = try TestTLSServer.start(
            certificate: certificates.serverCertificate, key: certificates.serverKey)
        let tls = try TLSClientContext(configuration: TLSClientConfiguration())
        let delegate = Self.httpsForward(port: server.port, tls: tls)
        let proxy = try ProxyTestHarness(delegate: delegate)
        let client = try proxy.client()
        client.request("GET", "/")
        let response = try #require(client.readResponse())
        #expect(response.status == 502)
        #expect(response.text.contains("tls-route") && response.text.contains("certificate"))
        #expect(delegate.waitForEvents(1).first?.failure?.contains("certificate") == true)
        await proxy.stop()
    }

    @Test func staleIdleConnectionIsReplacedAndTheRequestSucceeds() async throws {
        // The first response closes right after being sent, like an upstream whose idle
        // timeout fired between requests; the proxy must not reuse that connection.
        let upstream = try UpstreamTestServer { request in
            request.head.target == "/first"
                ? .sendAndClose("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
                : .send("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")
        }
        let proxy = try ProxyTestHarness(delegate: FakeProxyDelegate.forwarding(to: upstream))
        let client = try proxy.client()
        client.request("GET", "/first")
        #expect(client.readResponse()?.text == "first")
        client.request("GET", "/second")
        #expect(client.readResponse()?.text == "second")
        #expect(upstream.connectionCount == 2)
        await proxy.stop()
    }

    @Test func keepsAtMostTheConfiguredIdleConnections() async throws {
        // Two requests at once need two upstream connections; one loop's pool keeps one.
        let upstream = try UpstreamTestServer { _ in
            usleep(200_000)
            return .send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        }
        let loops = EventLoopGroup(configured: 1)
        loops.start()
        defer { loops.stop() }
        var configuration = ProxyEngineConfiguration()
        configuration.maxIdleUpstreamConnections = 1
        let proxy = try ProxyTestHarness(
            delegate: FakeProxyDelegate.forwarding(to: upstream), configuration: configuration,
            loops: loops)
        let first = try proxy.client()
        let second = try proxy.client()
        first.request("GET", "/a")
        second.request("GET", "/b")
        #expect(first.readResponse()?.text == "ok")
        #expect(second.readResponse()?.text == "ok")
        #expect(upstream.connectionCount == 2)
        #expect(await proxy.engine.idleUpstreamConnections() == 1)
        first.request("GET", "/c")
        #expect(first.readResponse()?.text == "ok")
        #expect(upstream.connectionCount == 2)
        await proxy.stop()
        #expect(await proxy.engine.idleUpstreamConnections() == 0)
    }
}
