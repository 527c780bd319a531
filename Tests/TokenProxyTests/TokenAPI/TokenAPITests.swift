import Foundation
import Synchronization
import Testing
import TokenProxyCore
import TokenProxyNet

@testable import TokenProxy

/// The token API's routing and access rules, called directly (no sockets, no IdP: the store
/// has no credentials, so nothing here can reach a token).
@Suite(.timeLimit(.minutes(1)))
struct TokenAPITests {
    private func api(
        allowedUIDs: Set<UInt32> = [], allowedGIDs: Set<UInt32> = [],
        tcp: TokenAPI.TCPRequirement? = nil
    ) -> TokenAPI {
        let store = TokenStore(credentials: [], policies: [:], clients: [:], onEvent: { _ in })
        return TokenAPI(
            store: store, metrics: Metrics(),
            access: TokenAPI.AccessPolicy(
                allowsAnyPeer: allowedUIDs.isEmpty && allowedGIDs.isEmpty, allowedUIDs: allowedUIDs,
                allowedGIDs: allowedGIDs, ownUID: 4242),
            tcpRequirement: tcp)
    }

    private func send(
        _ api: TokenAPI, _ method: String, _ target: String, fields: HTTPFields = [:],
        peer: PeerIdentity = .unix(pid: 1, uid: 1000, gid: 1000)
    ) async -> HTTPServerResponse {
        await api.testResponse(
            to: HTTPServerRequest(
                head: HTTPRequestHead(method: method, target: target, fields: fields), body: [],
                peer: peer,
                listener: "unix"))
    }

    private func json(_ response: HTTPServerResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
    }

    @Test func healthzAnswersWithoutAccessControl() async {
        let response = await send(api(allowedUIDs: [1]), "GET", "/healthz")
        #expect(response.status == 200)
    }

    @Test func unknownCredentialIs404WithTheConfiguredNames() async {
        let response = await send(api(), "GET", "/v1/tokens/nope")
        #expect(response.status == 404)
        #expect(json(response)["error"] as? String == "unknown_credential")
    }

    @Test func unknownPathIs404() async {
        #expect(await send(api(), "GET", "/v2/anything").status == 404)
    }

    @Test func wrongMethodIs405WithAllow() async {
        let response = await send(api(), "DELETE", "/v1/tokens")
        #expect(response.status == 405)
        #expect(response.headers["Allow"] == "GET, HEAD")
        let health = await send(api(), "POST", "/healthz")
        #expect(health.status == 405)
    }

    @Test func unixPeersOutsideTheAllowListAreRefused() async {
        let api = api(allowedUIDs: [1001], allowedGIDs: [2000])
        let stranger = await send(
            api, "GET", "/v1/tokens", peer: .unix(pid: 5, uid: 1000, gid: 1000))
        #expect(stranger.status == 403)
        #expect((json(stranger)["error_description"] as? String)?.contains("uid 1000") == true)
        #expect(
            await send(api, "GET", "/v1/tokens", peer: .unix(pid: 5, uid: 1001, gid: 1)).status
                == 200)
        #expect(
            await send(api, "GET", "/v1/tokens", peer: .unix(pid: 5, uid: 7, gid: 2000)).status
                == 200)
        #expect(
            await send(api, "GET", "/v1/tokens", peer: .unix(pid: 5, uid: 0, gid: 0)).status == 200)
        #expect(
            await send(api, "GET", "/v1/tokens", peer: .unix(pid: 5, uid: 4242, gid: 9)).status
                == 200)
    }

    @Test func introspectionHasTheSameAccessCheckAsTokens() async {
        let api = api(allowedUIDs: [1001])
        let stranger = await send(
            api, "POST", "/v1/introspect/nope", peer: .unix(pid: 5, uid: 1000, gid: 1000))
        #expect(stranger.status == 403)
        let allowed = await send(
            api, "POST", "/v1/introspect/nope", peer: .unix(pid: 5, uid: 1001, gid: 1))
        #expect(allowed.status == 404)
        #expect(json(allowed)["error"] as? String == "unknown_credential")
        let forwarded = await send(
            self.api(tcp: TokenAPI.TCPRequirement(header: "Metadata-Flavor", value: "tokenproxy")),
            "POST", "/v1/introspect/nope",
            fields: ["Metadata-Flavor": "tokenproxy", "X-Forwarded-For": "10.0.0.1"],
            peer: .tcp(address: "127.0.0.1", port: 5))
        #expect(forwarded.status == 403)
    }

    @Test func tcpCallersNeedTheHeaderAndMustNotBeForwarded() async {
        let api = api(tcp: TokenAPI.TCPRequirement(header: "Metadata-Flavor", value: "tokenproxy"))
        let peer = PeerIdentity.tcp(address: "127.0.0.1", port: 50000)
        #expect(await send(api, "GET", "/v1/tokens", peer: peer).status == 403)
        #expect(
            await send(api, "GET", "/v1/tokens", fields: ["Metadata-Flavor": "wrong"], peer: peer)
                .status == 403)
        let forwarded = await send(
            api, "GET", "/v1/tokens",
            fields: ["Metadata-Flavor": "tokenproxy", "X-Forwarded-For": "10.0.0.1"],
            peer: peer)
        #expect(forwarded.status == 403)
        #expect((json(forwarded)["error_description"] as? String)?.contains("forwarded") == true)
        #expect(
            await send(
                api, "GET", "/v1/tokens", fields: ["Metadata-Flavor": "tokenproxy"], peer: peer
            ).status
                == 200)
    }

    @Test func listIsJSONWithoutTokens() async {
        let response = await send(api(), "GET", "/v1/tokens")
        #expect(response.status == 200)
        #expect(response.headers["Cache-Control"] == "no-store")
        #expect(json(response)["credentials"] as? [Any] != nil)
    }

    @Test func readyWithNoCredentialsAndMetricsRender() async {
        #expect(await send(api(), "GET", "/readyz").status == 200)
        let metrics = await send(api(), "GET", "/metrics")
        #expect(metrics.status == 200)
        #expect(
            String(decoding: metrics.body, as: UTF8.self).contains(
                "# TYPE tokenproxy_api_requests_total counter"))
    }

    @Test func prefersTextOnlyWhenAskedFirst() {
        #expect(TokenAPI.prefersText("text/plain"))
        #expect(TokenAPI.prefersText("text/plain, application/json"))
        #expect(!TokenAPI.prefersText("application/json, text/plain"))
        #expect(!TokenAPI.prefersText(nil))
        #expect(!TokenAPI.prefersText("*/*"))
    }

    @Test func prefersTextReadsTheFirstAcceptFieldIgnoringCase() {
        #expect(TokenAPI.prefersText("TEXT/Plain"))
        #expect(!TokenAPI.prefersText("Application/JSON;q=1, text/plain"))
        #expect(!TokenAPI.prefersText("text/plai"))
        #expect(TokenAPI.prefersText(["accept": "Text/Plain"] as HTTPFields))
        #expect(!TokenAPI.prefersText(["Accept": "*/*", "X": "text/plain"] as HTTPFields))
        #expect(!TokenAPI.prefersText(["Accept": "*/*", "accept": "text/plain"] as HTTPFields))
        #expect(!TokenAPI.prefersText([:] as HTTPFields))
    }

    @Test func prefersTextSkipsTheScanOnlyWhenEveryFieldIsAKnownName() {
        // Only known names (one line each): no `Accept` can be there.
        #expect(!TokenAPI.prefersText(["Host": "x", "Content-Length": "0"] as HTTPFields))
        #expect(TokenAPI.prefersText(["Host": "x", "Accept": "text/plain"] as HTTPFields))
        // A known name twice is as many lines as known names plus one: still looked up.
        var fields: HTTPFields = ["Host": "a", "Accept": "text/plain"]
        fields.append("Host", "b")
        #expect(TokenAPI.prefersText(fields))
        var repeated: HTTPFields = ["Host": "a"]
        repeated.append("Host", "b")
        #expect(!TokenAPI.prefersText(repeated))
    }

    @Test func queryValuesAreFound() {
        #expect(TokenAPI.queryValue("a=1&min_valid=30", "min_valid") == "30")
        #expect(TokenAPI.queryValue("min_valid", "min_valid") == "")
        #expect(TokenAPI.queryValue("x=1", "min_valid") == nil)
    }
}
