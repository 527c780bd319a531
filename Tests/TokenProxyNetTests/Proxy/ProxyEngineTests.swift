import Foundation
import Glibc
import Synchronization
import Testing
import TokenProxyCore

@testable import TokenProxyNet

/// End-to-end forwarding through a real engine to a scripted upstream, over loopback TCP.
@Suite(.timeLimit(.minutes(1)))
struct ProxyEngineTests {
    @Test func forwardsAbsoluteFormWithExactlyOneInjectedAuthorization() async throws {
        let upstream = try UpstreamTestServer()
        let delegate = FakeProxyDelegate.forwarding(to: upstream)
        let proxy = try ProxyTestHarness(delegate: delegate)
        let client = try proxy.client()
        client.send(
            "GET http://api.example.com/v1/users?x=1 HTTP/1.1\r\nHost: api.example.com\r\n"
                + "Authorization: Basic c2VjcmV0\r\nauthorization: Bearer client-own\r\n"
                + "Proxy-Authorization: Basic cHJveHk=\r\nProxy-Connection: keep-alive\r\n"
                + "X-Tokenproxy-Refresh: 1\r\nAccept: */*\r\n\r\n")
        let response = try #require(client.readResponse())
        #expect(response.status == 200)
        #expect(response.text == "ok")
        #expect(response["Via"] == "1.1 tokenproxy")
        let request = try #require(upstream.waitForRequests(1).first)
        #expect(request.head.target == "/v1/users?x=1")
        #expect(request.head.fields.values("Authorization") == ["Bearer injected-token"])
        #expect(request.head.fields.values("Host") == ["api.example.com"])
        #expect(request.head.fields["Accept"] == "*/*")
        for absent in ["Proxy-Authorization", "Proxy-Connection", "X-Tokenproxy-Refresh"] {
            #expect(!request.head.fields.contains(absent))
        }
        let raw = upstream.rawText
        #expect(
            !raw.contains("c2VjcmV0") && !raw.contains("cHJveHk=") && !raw.contains("client-own"))
        let event = try #require(delegate.waitForEvents(1).first)
        #expect(event.routeName == "test-route" && event.status == 200 && event.failure == nil)
        await proxy.stop()
    }

    @Test func forwardsOriginFormAsAReverseProxy() async throws {
        let upstream = try UpstreamTestServer()
        let proxy = try ProxyTestHarness(delegate: FakeProxyDelegate.forwarding(to: upstream))
        let client = try proxy.client()
        client.request("GET", "/zitadel/oauth/v2/keys?a=b")
        #expect(client.readResponse()?.status == 200)
        let request = try #require(upstream.waitForRequests(1).first)
        #expect(request.head.target == "/zitadel/oauth/v2/keys?a=b")
        #expect(request.head.fields["Host"] == "api.example.com")
        await proxy.stop()
    }

    /// A forward whose template names a reporter has its success reported there, not to the
    /// delegate (the daemon's delegate would take its slot's lock again); failures still go
    /// to the delegate.
    @Test func reportsASuccessToTheTemplatesReporter() async throws {
        let upstream = try UpstreamTestServer()
        let reporter = RecordingReporter()
        let template = Self.template(to: upstream, routeName: "reported", reporter: reporter)
        let unreachable = ProxyForwardTemplate(
            upstream: ProxyUpstream(scheme: "http", host: "127.0.0.1", port: 1), tls: nil,
            hostHeader: "x", routeName: "unreachable", reporter: reporter)
        let delegate = FakeProxyDelegate { head in
            .forward(
                ProxyForward(
                    template: head.target == "/down" ? unreachable : template,
                    target: head.target, authorization: "Bearer t"))
        }
        let proxy = try ProxyTestHarness(delegate: delegate)
        let client = try proxy.client()
        client.request("GET", "/up")
        #expect(client.readResponse()?.status == 200)
        client.request("GET", "/down")
        #expect(client.readResponse()?.status == 502)
        let failure = try #require(delegate.waitForEvents(1).first)
        #expect(failure.routeName == "unreachable" && failure.failure != nil)
        let successes = reporter.successes
        #expect(successes.count == 1)
        #expect(successes.first?.route == "reported" && successes.first?.status == 200)
        #expect(successes.first?.method == "GET")
        #expect(delegate.events.count == 1)
        await proxy.stop()
    }

    /// A route's template toward the test upstream whose successes go to `reporter`.
    static func template(
        to upstream: UpstreamTestServer, routeName: String, reporter: any ProxySuccessReporter
    ) -> ProxyForwardTemplate {
        ProxyForwardTemplate(
            upstream: ProxyUpstream(scheme: "http", host: "127.0.0.1", port: upstream.port),
            tls: nil, hostHeader: "api.example.com", routeName: routeName, reporter: reporter)
    }

    /// The response reaches the client before the exchange is reported (and the rest of its
    /// bookkeeping runs): the reporter here waits until the client has read the response. In
    /// the other order the client would wait for the reporter, which gives up after 5 s.
    @Test func answersTheClientBeforeReportingTheExchange() async throws {
        let upstream = try UpstreamTestServer()
        let reporter = GateReporter()
        let template = Self.template(to: upstream, routeName: "gated", reporter: reporter)
        let delegate = FakeProxyDelegate { head in
            .forward(
                ProxyForward(template: template, target: head.target, authorization: "Bearer t"))
        }
        let proxy = try ProxyTestHarness(delegate: delegate)
        let client = try proxy.client()
        client.request("GET", "/first")
        #expect(client.readResponse()?.status == 200)
        reporter.open()
        for _ in 0..<1000 where reporter.outcome == nil {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(reporter.outcome == true)
        await proxy.stop()
    }

    /// The target check is skipped only for the very target the parser accepted.
    @Test func checksTheForwardsTargetUnlessItIsTheParsedOne() {
        func forward(_ target: String) -> ProxyForward {
            ProxyForward(
                upstream: ProxyUpstream(scheme: "http", host: "127.0.0.1", port: 1), tls: nil,
                target: target, hostHeader: "h", authorization: nil, routeName: "r")
        }
        let via = "1.1 tokenproxy"
        #expect(ProxyConnection.problem(with: forward("/a"), via: via, parsedTarget: "/a") == nil)
        #expect(ProxyConnection.problem(with: forward("/b"), via: via, parsedTarget: "/a") == nil)
        for bad in ["/a b", "", "/\u{7F}"] {
            #expect(
                ProxyConnection.problem(with: forward(bad), via: via, parsedTarget: "/a")
                    == "invalid request target")
            #expect(
                ProxyConnection.problem(with: forward(bad), via: via) == "invalid request target")
        }
    }

    /// A loop remembers the route template and the token that passed the check: the same
    /// template and token pass unchecked, another template, another token or a bad value do
    /// not, and a forward without a token has nothing to check.
    @Test func passedValuesAreRememberedPerTemplateAndToken() {
        let loop = EventLoop(name: "test")
        let context = ProxyLoopContext(loop: loop, configuration: ProxyEngineConfiguration())
        let template = ProxyForwardTemplate(
            upstream: ProxyUpstream(scheme: "http", host: "127.0.0.1", port: 1), tls: nil,
            hostHeader: "h", routeName: "r")
        func forward(_ authorization: String?, _ template: ProxyForwardTemplate) -> ProxyForward {
            ProxyForward(template: template, target: "/", authorization: authorization)
        }
        #expect(context.passedBefore(forward("Bearer a", template)) == (false, false))
        #expect(context.passedBefore(forward(nil, template)).authorization)
        context.validAuthorization = "Bearer a"
        context.validTemplate = template
        #expect(context.passedBefore(forward("Bearer a", template)) == (true, true))
        #expect(context.passedBefore(forward("Bearer b", template)) == (false, true))
        let other = ProxyForwardTemplate(
            upstream: template.upstream, tls: nil, hostHeader: "h\u{1}", routeName: "r")
        #expect(context.passedBefore(forward("Bearer a", other)) == (true, false))
        // What was not remembered is checked: a bad `Host` of another template is found.
        let passed = context.passedBefore(forward("Bearer a", other))
        #expect(
            ProxyConnection.problem(
                with: forward("Bearer a", other), via: "1.1 tokenproxy",
                authorizationPassed: passed.authorization, hostHeaderPassed: passed.hostHeader)
                == "invalid header field 'Host'")
    }

    @Test func connectionFieldCannotStripTheInjectedAuthorization() async throws {
        let upstream = try UpstreamTestServer()
        let proxy = try ProxyTestHarness(delegate: FakeProxyDelegate.forwarding(to: upstream))
        let client = try proxy.client()
        client.request(
            "POST", "/x", extra: "Connection: Authorization, X-Foo, Content-Length\r\nX-Foo: 1\r\n",
            body: "hello")
        #expect(client.readResponse()?.status == 200)
        let request = try #require(upstream.waitForRequests(1).first)
        #expect(!request.head.fields.contains("X-Foo"))
        #expect(request.head.fields.values("Authorization") == ["Bearer injected-token"])
        #expect(request.head.fields["Content-Length"] == "5")
        #expect(request.text == "hello")
        await proxy.stop()
    }

    @Test func addsViaAndForwardedFields() async throws {
        let upstream = try UpstreamTestServer()
        let proxy = try ProxyTestHarness(
            delegate: FakeProxyDelegate.forwarding(to: upstream, forwardedHeaders: true))
        let client = try proxy.client()
        client.request("GET", "/", extra: "Via: 1.0 corporate\r\nX-Forwarded-For: 10.1.2.3\r\n")
        #expect(client.readResponse()?.status == 200)
        let request = try #require(upstream.waitForRequests(1).first)
        #expect(request.head.fields.values("Via") == ["1.0 corporate, 1.1 tokenproxy"])
        #expect(request.head.fields.values("X-Forwarded-For") == ["10.1.2.3, 127.0.0.1"])
        #expect(request.head.fields.values("X-Forwarded-Proto") == ["http"])
        await proxy.stop()
    }

    @Test func keepsTheClientsOwnAuthorizationWhenTheRouteSaysSo() async throws {
        let upstream = try UpstreamTestServer()
        let proxy = try ProxyTestHarness(
            delegate: FakeProxyDelegate.forwarding(to: upstream, authorization: nil))
        let client = try proxy.client()
        client.request("GET", "/", extra: "Authorization: Bearer mine\r\n")
        #expect(client.readResponse()?.status == 200)
        #expect(
            upstream.waitForRequests(1).first?.head.fields.values("Authorization") == [
                "Bearer mine"
            ])
        await proxy.stop()
    }

    @Test func reusesOneUpstreamConnectionForManyRequests() async throws {
        let upstream = try UpstreamTestServer()
        // Pools are per loop: with one loop both clients share it.
        let loops = EventLoopGroup(configured: 1)
        loops.start()
        defer { loops.stop() }
        let proxy = try ProxyTestHarness(
            delegate: FakeProxyDelegate.forwarding(to: upstream), loops: loops)
        let first = try proxy.client()
        for index in 0..<3 {
            first.request("GET", "/first/\(index)")
            #expect(first.readResponse()?.text == "ok")
        }
        let second = try proxy.client()
        for index in 0..<2 {
            second.request("GET", "/second/\(index)")
            #expect(second.readResponse()?.text == "ok")
        }
        #expect(upstream.waitForRequests(5).count == 5)
        #expect(upstream.connectionCount == 1)
        await proxy.stop()
    }

    @Test func answersPipelinedRequestsInOrder() async throws {
        let upstream = try UpstreamTestServer { request in
            let body = request.head.target
            return .send("HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        }
        let proxy = try ProxyTestHarness(delegate: FakeProxyDelegate.forwarding(to: upstream))
        let client = try proxy.client()
        client.send(
            "GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
                + "GET /c HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(client.readResponse()?.text == "/a")
        #expect(client.readResponse()?.text == "/b")
        #expect(client.readResponse()?.text == "/c")
        #expect(upstream.waitForRequests(3).map(\.text) == ["", "xyz", ""])
        await proxy.stop()
    }

    @Test func replaysOnceWithAFreshTokenAfterUnauthorized() async throws {
        let upstream = try UpstreamTestServer { request in
            request.head.fields["Authorization"] == "Bearer fresh-token"
                ? .send("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nwelcome")
                : .send("HTTP/1.1 401 Unauthorized\r\nContent-Length: 7\r\n\r\nexpired")
        }
        let delegate = FakeProxyDelegate.forwarding(to: upstream, refreshed: "Bearer fresh-token")
        let proxy = try ProxyTestHarness(delegate: delegate)
        let client = try proxy.client()
        client.request("POST", "/orders", body: "{\"n\":1}")
        let response = try #require(client.readResponse())
        #expect(response.status == 200 && response.text == "welcome")
        let requests = upstream.waitForRequests(2)
        #expect(requests.map(\.text) == ["{\"n\":1}", "{\"n\":1}"])
        #expect(
            requests.map { $0.head.fields.values("Authorization") } == [
                ["Bearer injected-token"], ["Bearer fresh-token"],
            ])
        #expect(delegate.unauthorizedCallCount == 1)
        #expect(delegate.waitForEvents(1).first?.retriedAfterUnauthorized == true)
        #expect(upstream.connectionCount == 1)
        await proxy.stop()
    }

    @Test func passesUnauthorizedThroughWhenNoFreshTokenComes() async throws {
        let upstream = try UpstreamTestServer { _ in
            .send("HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope")
        }
        let delegate = FakeProxyDelegate.forwarding(to: upstream, refreshed: nil)
        let proxy = try ProxyTestHarness(delegate: delegate)
        let client = try proxy.client()
        client.request("GET", "/")
        let response = try #require(client.readResponse())
        #expect(response.status == 401 && response.text == "nope")
        #expect(delegate.unauthorizedCallCount == 1)
        #expect(upstream.waitForRequests(1).count == 1)
        await proxy.stop()
    }

    @Test func passesUnauthorizedThroughForAStreamedBody() async throws {
        let upstream = try UpstreamTestServer { _ in
            .send("HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope")
        }
        let delegate = FakeProxyDelegate.forwarding(to: upstream, refreshed: "Bearer fresh")
        let proxy = try ProxyTestHarness(delegate: delegate)
        let client = try proxy.client()
        let body = String(repeating: "b", count: 200_000)
        client.request("PUT", "/upload", body: body)
        let response = try #require(client.readResponse())
        #expect(response.status == 401)
        #expect(delegate.unauthorizedCallCount == 0)
        #expect(upstream.waitForRequests(1).first?.bodyCount == 200_000)
        await proxy.stop()
    }

    @Test func unreachableUpstreamIs502NamingTheRoute() async throws {
        let port = try closedPort()
        let delegate = FakeProxyDelegate { head in
            .forward(
                ProxyForward(
                    upstream: ProxyUpstream(scheme: "http", host: "127.0.0.1", port: port),
                    tls: nil,
                    target: head.target, hostHeader: "down.example",
                    authorization: "Bearer secret-token",
                    routeName: "down-route"))
        }
        let proxy = try ProxyTestHarness(delegate: delegate)
        let client = try proxy.client()
        client.request("GET", "/")
        let response = try #require(client.readResponse())
        #expect(response.status == 502)
        #expect(response.text.contains("down-route"))
        #expect(!response.text.contains("secret-token"))
        #expect(response["Content-Type"]?.hasPrefix("text/plain") == true)
        let event = try #require(delegate.waitForEvents(1).first)
        #expect(event.status == 502 && event.failure != nil && event.routeName == "down-route")
        await proxy.stop()
    }

    @Test func silentUpstreamIs504() async throws {
        let upstream = try UpstreamTestServer { _ in .hang }
        let delegate = FakeProxyDelegate.forwarding(to: upstream)
        let proxy = try ProxyTestHarness(
            delegate: delegate,
            configuration: ProxyEngineConfiguration(responseTimeout: .milliseconds(300)))
        let client = try proxy.client()
        client.request("GET", "/slow")
        let response = try #require(client.readResponse())
        #expect(response.status == 504)
        #expect(response.text.contains("test-route"))
        #expect(delegate.waitForEvents(1).first?.failure != nil)
        await proxy.stop()
    }

    @Test func refusesConnectionsBeyondTheLimitWith503() async throws {
        let upstream = try UpstreamTestServer()
        let proxy = try ProxyTestHarness(
            delegate: FakeProxyDelegate.forwarding(to: upstream),
            configuration: ProxyEngineConfiguration(maxConnections: 1))
        let first = try proxy.client()
        first.request("GET", "/")
        #expect(first.readResponse()?.status == 200)
        let second = try proxy.client()
        #expect(second.readResponse()?.status == 503)
        #expect(second.isClosedByServer())
        await proxy.stop()
    }

    @Test func shutdownClosesIdleConnections() async throws {
        let upstream = try UpstreamTestServer()
        let proxy = try ProxyTestHarness(delegate: FakeProxyDelegate.forwarding(to: upstream))
        let client = try proxy.client()
        client.request("GET", "/")
        #expect(client.readResponse()?.status == 200)
        await proxy.stop()
        #expect(client.isClosedByServer())
        #expect(proxy.engine.connectionCount == 0)
    }
}

/// A loopback port nobody listens on (bound, then closed).
func closedPort() throws -> Int {
    let listener = try Listener.tcp(host: "127.0.0.1", port: 0)
    defer { listener.close() }
    return listener.port!
}

/// Records the successes the engine reports to a template's reporter.
final class RecordingReporter: ProxySuccessReporter {
    struct Success {
        var route: String
        var method: String
        var status: Int
    }

    private let recorded = Mutex<[Success]>([])

    var successes: [Success] { recorded.withLock { $0 } }

    func succeeded(
        route: String, method: String, status: Int, retried: Bool, durationNanoseconds: UInt64,
        loop: Int
    ) {
        recorded.withLock { $0.append(Success(route: route, method: method, status: status)) }
    }
}

/// A reporter that, on a success, waits (up to 5 s, on the engine's loop) until the test opens
/// it, and records whether it was opened in time.
final class GateReporter: ProxySuccessReporter {
    private let gate = DispatchSemaphore(value: 0)
    private let waited = Mutex<Bool?>(nil)

    /// nil until a success was reported; then whether the gate opened within 5 s.
    var outcome: Bool? { waited.withLock { $0 } }

    func open() { gate.signal() }

    func succeeded(
        route: String, method: String, status: Int, retried: Bool, durationNanoseconds: UInt64,
        loop: Int
    ) {
        let opened = gate.wait(timeout: .now() + 5) == .success
        waited.withLock { $0 = opened }
    }
}
