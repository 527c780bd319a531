import Foundation
import Glibc
import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// Byte relays: CONNECT tunnels and upgraded (WebSocket-style) connections.
@Suite(.timeLimit(.minutes(1)))
struct TunnelRelayTests {
    @Test func connectTunnelRelaysBytesBothWays() async throws {
        let echo = try TestListener.tcp()
        echo.acceptOne { TestPeer.echo($0) }
        let port = echo.port
        let delegate = FakeProxyDelegate { _ in .tunnel(host: "127.0.0.1", port: port) }
        let proxy = try ProxyTestHarness(delegate: delegate)
        let client = try proxy.client()
        client.send("CONNECT 127.0.0.1:\(port) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\r\nearly ")
        let established = Array("HTTP/1.1 200 Connection Established\r\n\r\n".utf8)
        let first = client.readRaw(atLeast: established.count + 6)
        #expect(first == established + Array("early ".utf8))
        client.send("ping")
        #expect(client.readRaw(atLeast: 4) == Array("ping".utf8))
        shutdown(client.fd, Int32(SHUT_WR))
        #expect(client.isClosedByServer())
        echo.waitUntilFinished()
        let event = try #require(delegate.waitForEvents(1).first)
        #expect(event.status == 200 && event.routeName == "127.0.0.1:\(port)")
        await proxy.stop()
    }

    @Test func failedTunnelConnectIs502() async throws {
        let port = try closedPort()
        let proxy = try ProxyTestHarness(
            delegate: FakeProxyDelegate { _ in .tunnel(host: "127.0.0.1", port: port) })
        let client = try proxy.client()
        client.send("CONNECT 127.0.0.1:\(port) HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try #require(client.readResponse(method: "CONNECT"))
        #expect(response.status == 502)
        await proxy.stop()
    }

    @Test func upgradeRelaysBytesAfter101() async throws {
        let upstream = try UpstreamTestServer { _ in
            .upgradeAndEcho(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            )
        }
        let proxy = try ProxyTestHarness(delegate: FakeProxyDelegate.forwarding(to: upstream))
        let client = try proxy.client()
        client.send(
            "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        let response = try #require(client.readResponse())
        #expect(response.status == 101)
        #expect(response["Upgrade"] == "websocket" && response["Connection"] == "Upgrade")
        client.send("frame-1")
        #expect(client.readRaw(atLeast: 7) == Array("frame-1".utf8))
        let request = try #require(upstream.waitForRequests(1).first)
        #expect(request.head.fields["Upgrade"] == "websocket")
        #expect(request.head.fields["Authorization"] == "Bearer injected-token")
        await proxy.stop()
    }
}
