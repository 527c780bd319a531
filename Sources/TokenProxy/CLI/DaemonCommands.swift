import FoundationEssentials
import TokenProxyCore

/// The commands that talk to a running daemon (`token`, `status`) or check a configuration
/// (`check`). The executable only parses arguments and prints.
package enum DaemonCommands {
    /// Output of `tokenproxy token`.
    package enum TokenFormat: String, Sendable, CaseIterable {
        case raw, json, header
        /// `ACCESS_TOKEN=token` (the variable name is configurable), for `EnvironmentFile=`,
        /// `set -a` and `eval`.
        case env
        /// A Kubernetes `client.authentication.k8s.io/v1` ExecCredential, for kubectl's exec plugin.
        case execCredential = "exec-credential"
    }

    /// `tokenproxy token NAME`.
    package static func token(
        name: String, socket: String, minValid: Int?, format: TokenFormat,
        variable: String = Limits.Sink.defaultVariable
    ) throws(OneShot.Failure) -> String {
        var target = "/v1/tokens/\(name)"
        if let minValid { target += "?min_valid=\(minValid)" }
        let response: DaemonClient.Response
        do {
            response = try DaemonClient.request(socket: socket, target: target)
        } catch {
            throw OneShot.Failure(message: error.description, status: .unavailable)
        }
        let object = JSONObjectMembers(response.body)
        guard response.status == 200 else {
            let description = object?.string("error_description") ?? "HTTP \(response.status)"
            let status: ExitStatus =
                switch response.status {
                case 404: .usage
                case 403: .permissionDenied
                case 503: exitStatus(forCategory: object?.string("category"))
                default: .unavailable
                }
            throw OneShot.Failure(message: "credential '\(name)': \(description)", status: status)
        }
        guard let object, let token = object.string("access_token"),
            let expiresAt = object.int64("expires_at")
        else {
            throw OneShot.Failure(
                message: "the daemon's answer is not a token response", status: .unavailable)
        }
        switch format {
        case .raw:
            return token
        case .header:
            return "Authorization: Bearer \(token)"
        case .env:
            return "\(variable)=\(token)"
        case .json:
            return String(decoding: response.body, as: UTF8.self)
        case .execCredential:
            // RFC 3339 §5.6 in UTC, whole seconds: `2026-12-03T17:27:01Z`.
            let timestamp = Date(timeIntervalSince1970: TimeInterval(expiresAt)).formatted(
                Date.ISO8601FormatStyle(timeZone: .gmt))
            return JSONText.object([
                ("apiVersion", JSONText.string("client.authentication.k8s.io/v1")),
                ("kind", JSONText.string("ExecCredential")),
                (
                    "status",
                    JSONText.object([
                        ("token", JSONText.string(token)),
                        ("expirationTimestamp", JSONText.string(timestamp)),
                    ])
                ),
            ])
        }
    }

    /// A 503's category as an exit status: the IdP refused the credential (77) or the request
    /// (78) — scripts should not retry those — or no token yet, try again later (75).
    static func exitStatus(forCategory category: String?) -> ExitStatus {
        switch category.flatMap(TokenFetchFailureCategory.init(rawValue:)) {
        case .credentialRejected: .permissionDenied
        case .requestRejected, .configuration: .configuration
        case .unavailable, nil: .temporaryFailure
        }
    }

    /// `tokenproxy status`: a table of credentials and freshness.
    package static func status(socket: String) throws(OneShot.Failure) -> (
        text: String, allValid: Bool
    ) {
        let response: DaemonClient.Response
        do {
            response = try DaemonClient.request(socket: socket, target: "/v1/tokens")
        } catch {
            throw OneShot.Failure(message: error.description, status: .unavailable)
        }
        guard response.status == 200,
            let object = JSONObjectMembers(response.body),
            case .array(let values)? = object["credentials"],
            case let items = values.compactMap(JSONObjectMembers.init), items.count == values.count
        else {
            throw OneShot.Failure(
                message: "the daemon answered HTTP \(response.status)", status: .unavailable)
        }
        var rows = [
            ["CREDENTIAL", "STATE", "EXPIRES IN", "NEXT REFRESH", "FAILURES", "LAST ERROR"]
        ]
        var allValid = true
        for item in items {
            let valid = item.bool("valid") ?? false
            allValid = allValid && valid
            rows.append([
                item.string("name") ?? "?",
                item.string("state") ?? "?",
                item.int64("expires_in").map { duration(Int($0)) } ?? "-",
                item.int64("next_refresh_in").map { duration(Int($0)) } ?? "-",
                item.number("consecutive_failures").map(JSONText.number) ?? "0",
                item.string("last_error").map { String($0.prefix(100)) } ?? "",
            ])
        }
        return (table(rows), allValid)
    }

    static func duration(_ seconds: Int) -> String {
        if seconds >= 3600 {
            return "\(seconds / 3600)h\(twoDigits(seconds % 3600 / 60))m"
        }
        if seconds >= 60 { return "\(seconds / 60)m\(twoDigits(seconds % 60))s" }
        return "\(seconds)s"
    }

    /// `7` → `07`, as `String(format: "%02d")` wrote it.
    private static func twoDigits(_ value: Int) -> String {
        value < 10 && value >= 0 ? "0\(value)" : "\(value)"
    }

    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1
                    ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ").trimmingSpaces()
        }.joined(separator: "\n")
    }

    /// `tokenproxy check`: validates the configuration and keys; with `online`, fetches each
    /// token once. Returns the report and whether everything passed.
    package static func check(path: String, online: Bool, environment: [String: String]) async -> (
        report: String, ok: Bool, status: ExitStatus
    ) {
        let loaded: (Configuration, [Credential])
        do {
            loaded = try Daemon.loadConfiguration(path: path, environment: environment)
        } catch {
            return (error.message, false, .configuration)
        }
        let (_, credentials) = loaded
        var lines = ["\(path): configuration OK, \(credentials.count) credential(s)"]
        guard online else { return (lines.joined(separator: "\n"), true, .success) }
        var worst = ExitStatus.success
        for credential in credentials {
            guard credential.fetchesTokens else {
                lines.append("  \(credential.name): introspection only (fetch_tokens: false)")
                continue
            }
            do {
                let client = try OAuthTokenClient(
                    caFile: credential.caFile, environment: environment)
                let result = try await client.fetchToken(for: credential)
                let lifetime =
                    result.response.expiresIn.map { "expires in \($0) s" } ?? "no expires_in"
                lines.append(
                    "  \(credential.name): OK (\(result.endpoint.absoluteString), \(lifetime))")
                for warning in result.warnings { lines.append("    warning: \(warning)") }
            } catch let error as OAuthError {
                lines.append("  \(credential.name): FAILED: \(error)")
                worst = ExitStatus.forFailure(error)
            } catch {
                lines.append("  \(credential.name): FAILED: \(error)")
                worst = .configuration
            }
        }
        return (lines.joined(separator: "\n"), worst == .success, worst)
    }
}
