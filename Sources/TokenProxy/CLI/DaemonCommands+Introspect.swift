import FoundationEssentials
import TokenProxyCore

extension DaemonCommands {
    /// `tokenproxy introspect NAME TOKEN`: the daemon's (cached) answer from
    /// `POST /v1/introspect/NAME`. The token travels in the body, never in the target.
    package static func introspect(name: String, token: Redacted<String>, socket: String)
        throws(OneShot.Failure) -> OneShot.IntrospectOutcome
    {
        let body = JSONText.object([("token", JSONText.string(token.value))])
        let response: DaemonClient.Response
        do {
            response = try DaemonClient.request(
                socket: socket, method: "POST", target: "/v1/introspect/\(name)",
                body: Array(body.utf8), contentType: "application/json")
        } catch {
            throw OneShot.Failure(message: error.description, status: .unavailable)
        }
        let object = JSONObjectMembers(response.body)
        guard response.status == 200 else {
            let description = object?.string("error_description") ?? "HTTP \(response.status)"
            let status: ExitStatus =
                switch response.status {
                case 400, 404: .usage
                case 403: .permissionDenied
                case 503: .temporaryFailure
                default: .unavailable
                }
            throw OneShot.Failure(message: "credential '\(name)': \(description)", status: status)
        }
        guard let active = object?.bool("active") else {
            throw OneShot.Failure(
                message: "the daemon's answer is not an introspection response",
                status: .unavailable)
        }
        return OneShot.IntrospectOutcome(
            json: String(decoding: response.body, as: UTF8.self), active: active)
    }
}
