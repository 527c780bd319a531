import Testing

@testable import TokenProxyNet

/// `HTTPClientTransport.open`: the one TCP-then-TLS path of the IdP client and the proxy.
@Suite(.timeLimit(.minutes(1)))
struct HTTPClientTransportTests {
    /// A transport over one scripted stream whose TLS step fails when `failTLS` and records the
    /// order of the steps.
    static func transport(_ stream: HTTPTestStream, failTLS: Bool, steps: ThreadLock<[String]>)
        -> HTTPClientTransport
    {
        HTTPClientTransport(
            connect: { host, port, _ in
                steps.withLock { $0.append("connect \(host) \(port)") }
                return stream
            },
            startTLS: { stream, serverName, _ in
                steps.withLock { $0.append("tls \(serverName)") }
                if failTLS { throw NetError.tls(host: serverName, detail: "handshake failed") }
                return stream
            })
    }

    @Test func connectsPreparesThenStartsTLS() throws {
        let stream = HTTPTestStream()
        let steps = ThreadLock<[String]>([])
        let transport = Self.transport(stream, failTLS: false, steps: steps)
        _ = try transport.open(
            host: "proxy", port: 3128, tlsServerName: "idp.example", deadline: .now + .seconds(1)
        ) { _ in steps.withLock { $0.append("prepare") } }
        #expect(steps.withLock { $0 } == ["connect proxy 3128", "prepare", "tls idp.example"])
        #expect(!stream.isClosed)
    }

    @Test func plainConnectionsSkipTLS() throws {
        let steps = ThreadLock<[String]>([])
        let transport = Self.transport(HTTPTestStream(), failTLS: true, steps: steps)
        _ = try transport.open(
            host: "127.0.0.1", port: 80, tlsServerName: nil, deadline: .now + .seconds(1))
        #expect(steps.withLock { $0 } == ["connect 127.0.0.1 80"])
    }

    @Test func closesTheTCPStreamWhenALaterStepFails() {
        let stream = HTTPTestStream()
        let transport = Self.transport(stream, failTLS: true, steps: ThreadLock([]))
        #expect(throws: NetError.self) {
            try transport.open(
                host: "idp.example", port: 443, tlsServerName: "idp.example",
                deadline: .now + .seconds(1))
        }
        #expect(stream.isClosed)
    }

    @Test func systemTransportWithoutAContextRefusesTLS() {
        let transport = HTTPClientTransport.system(tls: nil)
        let listener = try? TestListener.tcp()
        guard let listener else {
            Issue.record("no test listener")
            return
        }
        listener.acceptOne { _ in }
        #expect(throws: NetError.self) {
            try transport.open(
                host: "127.0.0.1", port: listener.port, tlsServerName: "localhost",
                deadline: .now + .seconds(5))
        }
        listener.waitUntilFinished()
    }
}
