import FoundationEssentials
import TokenProxyCore
import TokenProxyNet

extension TokenAPI {
    /// The token in the shape of a cloud metadata token endpoint, or the bare token for
    /// `Accept: text/plain`. `expires_at` is Unix time in seconds, fixed per token;
    /// `expires_in` counts down. The bytes that never change were serialized when the token
    /// arrived (``IssuedToken``).
    func tokenResponse(_ snapshot: TokenStore.Snapshot, text: Bool) -> HTTPServerResponse {
        let token = snapshot.value
        if text { return token.textResponse.value }
        let remaining = snapshot.expiresAt - ContinuousClock.now
        let seconds = max(0, remaining.components.seconds)
        return token.jsonResponse(expiresIn: seconds, expiresAt: snapshot.expiresAtUnix)
    }

    /// 200 when every credential holds a valid token, else 503 naming those that do not.
    func readiness() async -> HTTPServerResponse {
        let statuses = await store.statuses()
        let missing = statuses.filter { !$0.holdsUsefulToken }.map(\.name)
        if missing.isEmpty {
            // Ready, but say what an operator must act on soon: a rotation's new key refused.
            let warnings = statuses.compactMap { status in
                store.keyRejection(status.name).map { "warning: \(status.name): \($0)\n" }
            }
            return Self.text(200, "ready\n" + warnings.joined())
        }
        return Self.text(503, "not ready: no valid token for \(missing.joined(separator: ", "))\n")
    }

    /// Names, states and freshness — never a token.
    func list() async -> HTTPServerResponse {
        let statuses = await store.statuses()
        let items = statuses.map { status -> String in
            var members: [(String, String)] = [
                ("name", JSONText.string(status.name)),
                ("state", JSONText.string(status.state.rawValue)),
                ("valid", status.holdsUsefulToken ? "true" : "false"),
                (
                    "expires_in",
                    status.expiresIn.map { String(max(0, $0.components.seconds)) } ?? "null"
                ),
                ("consecutive_failures", String(status.consecutiveFailures)),
                (
                    "next_refresh_in",
                    status.nextRefreshIn.map { String(max(0, $0.components.seconds)) } ?? "null"
                ),
            ]
            if let rejection = store.keyRejection(status.name) {
                members.append(("key_rejected", JSONText.string(rejection)))
            }
            if let error = status.lastError {
                members.append(("last_error", JSONText.string(error.message)))
                members.append(("last_error_category", JSONText.string(error.category.rawValue)))
                members.append(
                    (
                        "last_error_ago",
                        status.lastErrorAgo.map { String(max(0, $0.components.seconds)) } ?? "null"
                    ))
            }
            return JSONText.object(members)
        }
        let body = "{\"credentials\":[" + items.joined(separator: ",") + "]}"
        return HTTPServerResponse(
            status: 200,
            headers: ["Content-Type": "application/json", "Cache-Control": "no-store"],
            body: Array(body.utf8))
    }

    /// 503 with `Retry-After` while no valid token exists (or 404/500 for other failures).
    static func unavailable(_ error: any Error) -> HTTPServerResponse {
        switch error {
        case TokenServiceError.unavailable(_, let category, let message, let retryAfter):
            let seconds = max(
                1, retryAfter.components.seconds + (retryAfter.components.attoseconds > 0 ? 1 : 0))
            var response = Self.error(
                503, "token_unavailable", message,
                extra: [
                    ("category", JSONText.string(category.rawValue)),
                    ("retry_after", String(seconds)),
                ])
            response.headers.append("Retry-After", String(seconds))
            return response
        case TokenServiceError.unknownCredential:
            return Self.error(404, "unknown_credential", "\(error)")
        case TokenServiceError.shutDown:
            var response = Self.error(503, "shutting_down", "\(error)")
            response.headers.append("Retry-After", "1")
            return response
        default:
            var response = Self.error(503, "token_unavailable", "\(error)")
            response.headers.append("Retry-After", "1")
            return response
        }
    }

    static func error(
        _ status: Int, _ code: String, _ description: String, extra: [(String, String)] = []
    ) -> HTTPServerResponse {
        let body = JSONText.object(
            [("error", JSONText.string(code)), ("error_description", JSONText.string(description))]
                + extra)
        return HTTPServerResponse(
            status: status,
            headers: ["Content-Type": "application/json", "Cache-Control": "no-store"],
            body: Array(body.utf8))
    }

    static func text(_ status: Int, _ text: String) -> HTTPServerResponse {
        HTTPServerResponse(
            status: status, headers: ["Content-Type": "text/plain; charset=utf-8"],
            body: Array(text.utf8))
    }

    static func methodNotAllowed(_ allow: String) -> HTTPServerResponse {
        var response = error(405, "method_not_allowed", "use \(allow)")
        response.headers.append("Allow", allow)
        return response
    }

    /// Path and query of an origin-form target, or of an absolute-form one (RFC 9112 §3.2.2:
    /// servers must accept it; the authority is ignored, the socket already decided).
    static func split(_ target: String) -> (path: String, query: Substring) {
        var target = target
        if target.hasPrefix("http"), let scheme = target.firstRange(of: "://") {
            let rest = target[scheme.upperBound...]
            target =
                rest.firstIndex(where: { $0 == "/" || $0 == "?" }).map { String(rest[$0...]) }
                ?? "/"
            if target.hasPrefix("?") { target = "/" + target }
        }
        guard let mark = target.firstIndex(of: "?") else { return (target, "") }
        return (String(target[..<mark]), target[target.index(after: mark)...])
    }

    static func queryValue(_ query: Substring, _ name: String) -> String? {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.first == Substring(name) { return parts.count > 1 ? String(parts[1]) : "" }
        }
        return nil
    }

    /// Request text echoed in an error, restricted to printable ASCII and shortened.
    static func printable(_ text: String) -> String {
        String(
            String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }).prefix(64))
    }
}

extension CredentialStatus {
    /// Whether the token API would hand this credential's token out now.
    package var holdsUsefulToken: Bool {
        (expiresIn ?? .zero) >= TokenAPI.minimumUsefulValidity
    }
}
