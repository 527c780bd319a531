/// Why ``TokenService`` could not hand out a token. Messages are for operators and API clients
/// and never contain a token, key or assertion.
package enum TokenServiceError: Error, Equatable, CustomStringConvertible {
    /// No credential of that name is configured.
    case unknownCredential(name: String, known: [String])
    /// No usable token: the last fetch failed and the next attempt is `retryAfter` away.
    case unavailable(
        name: String, category: TokenFetchFailureCategory, message: String, retryAfter: Duration)
    /// The service has been shut down.
    case shutDown

    package var description: String {
        switch self {
        case .unknownCredential(let name, let known):
            let list =
                known.isEmpty
                ? "none are configured" : "configured: \(known.joined(separator: ", "))"
            return
                "unknown credential '\(name)' (\(list)); check the name against the configuration"
        case .unavailable(let name, let category, let message, let retryAfter):
            let seconds =
                max(0, retryAfter.components.seconds)
                + (retryAfter.components.attoseconds > 0 ? 1 : 0)
            return
                "no token for credential '\(name)' (\(category.rawValue)): \(message); next attempt in \(seconds) s"
        case .shutDown:
            return "the token service is shutting down; retry against the restarted daemon"
        }
    }
}
