extension TokenEndpointRejection {
    /// What to check, by error code (RFC 6749 §5.2, RFC 7523 §3.1) or, without one, by status.
    var hint: String? {
        switch error {
        case "invalid_grant":
            return
                "The server did not accept the assertion: check that the key is registered and "
                + "not expired or revoked, that the assertion audience matches what the server "
                + "expects (--audience / audience), and that this host's clock is right"
        case "invalid_client":
            return
                "The server did not accept the client: check the client id, that this public key "
                + "is registered for it, and the assertion audience (often the token endpoint URL)"
        case "unauthorized_client":
            return
                "This client may not use this grant: try the other one (--grant / grant) or enable it at the IdP"
        case "unsupported_grant_type":
            return "The server does not support this grant: try the other one (--grant / grant)"
        case "invalid_scope":
            return "Check the requested scopes (--scope / scopes)"
        case "server_error", "temporarily_unavailable":
            return "The server is failing; tokenproxy retries with backoff"
        case .some:
            return nil
        case nil:
            return hintByStatus
        }
    }

    private var hintByStatus: String? {
        switch status {
        case 401, 403:
            return checklist
        case 404, 405:
            return "Check the token endpoint URL (--token-endpoint / token_endpoint)"
        case 300...399:
            return
                "The server redirects token requests: use the final URL as the token endpoint "
                + "(--token-endpoint / token_endpoint)"
        case 408, 429:
            return "The server asks to slow down; tokenproxy retries with backoff"
        case 500...599:
            return "The server is failing; tokenproxy retries with backoff"
        case 400...499:
            return
                "The server refused the request without saying why: check the grant "
                + "(--grant / grant), the scopes (--scope / scopes) and the token endpoint URL"
        default:
            return nil
        }
    }

    /// A 401/403 without an OAuth error code: the server did not say what it disliked, so list
    /// what commonly causes it, starting with what we can see in the request we sent.
    var checklist: String {
        var items: [String] = []
        if let request {
            if request.scopes.isEmpty {
                items.append(
                    "no scope was requested: this server may require a scope (--scope / scopes)")
            }
            if request.audience == [request.issuer] || request.audience == [request.issuer + "/"] {
                items.append(
                    "the assertion audience is the issuer: some servers require the token "
                        + "endpoint URL as audience (--audience \(request.tokenEndpoint) / audience)"
                )
            }
            let keyID = request.keyID.map { "key id '\($0)'" } ?? "no key id (kid)"
            items.append(
                "the public key is registered at the IdP for client '\(request.clientID)' "
                    + "and is neither expired nor deleted; the assertion carries \(keyID)")
        } else {
            items.append("the public key is registered at the IdP and neither expired nor deleted")
            items.append("the key id (kid) matches the registered key")
        }
        items.append("this host's clock is right (iat/exp are checked)")
        return "The server refused the request without an OAuth error code. Check: "
            + items.joined(separator: "; ")
    }
}
