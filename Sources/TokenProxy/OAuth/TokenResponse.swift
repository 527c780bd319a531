import FoundationEssentials
import TokenProxyCore

/// A successful token endpoint response (RFC 6749 §5.1).
package struct TokenResponse: Sendable {
    /// The token itself; `Redacted` so it never reaches a log by accident.
    package var accessToken: Redacted<String>
    /// Usually `Bearer`; compared case-insensitively (RFC 6749 §7.1).
    package var tokenType: String
    /// Lifetime in seconds as the server stated it, if it did.
    package var expiresIn: Int?
    /// Granted scopes, when the server says (it must when they differ from the request).
    package var scope: String?
    /// When the response was received, by the local clock.
    package var receivedAt: Date

    /// When the token stops being valid by the local clock, if the server said.
    package var expiresAt: Date? {
        expiresIn.map { receivedAt.addingTimeInterval(TimeInterval($0)) }
    }

    /// The token as the CLI and the token API print it.
    /// (`OneShot.render` writes it with sorted keys.)
    package var jsonObject: ConfigJSON {
        var members: [ConfigJSON.Member] = [
            .init(key: "access_token", value: .string(accessToken.value)),
            .init(key: "token_type", value: .string(tokenType)),
        ]
        if let expiresIn {
            members.append(.init(key: "expires_in", value: .number(Double(expiresIn))))
        }
        if let scope { members.append(.init(key: "scope", value: .string(scope))) }
        return .object(members)
    }

    /// Why a 2xx body is not a usable token response.
    package enum ParseFailure: Error, Equatable {
        case notJSON
        case missingAccessToken
        case badExpiresIn
    }

    /// Parses a 2xx body. `expires_in` may be a number or a numeric string: both occur in the
    /// wild (some servers serialize every value as a string).
    package static func parse(_ body: [UInt8], receivedAt: Date) -> Result<
        TokenResponse, ParseFailure
    > {
        let wire: WireTokenResponse
        do {
            wire = try JSONDecoder().decode(WireTokenResponse.self, from: Data(body))
        } catch let error as WireTokenResponse.BadExpiresIn {
            _ = error
            return .failure(.badExpiresIn)
        } catch {
            return .failure(.notJSON)
        }
        guard let token = wire.access_token, !token.isEmpty else {
            return .failure(.missingAccessToken)
        }
        return .success(
            TokenResponse(
                accessToken: Redacted(token), tokenType: wire.token_type ?? "Bearer",
                expiresIn: wire.expires_in?.seconds, scope: wire.scope, receivedAt: receivedAt))
    }
}

/// The token response as it arrives; lenient about types where servers differ.
private struct WireTokenResponse: Decodable {
    struct BadExpiresIn: Error {}

    /// `expires_in` as a number (integer or not) or a numeric string.
    struct Lifetime: Decodable {
        var seconds: Int
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Int.self) {
                seconds = value
            } else if let value = try? container.decode(Double.self),
                // `Int(exactly:)`, not `Int(_:)`: a huge number (1e300 from a broken IdP)
                // traps on conversion — found by the token-response fuzz target.
                let whole = Int(exactly: value.rounded(.towardZero))
            {
                seconds = whole
            } else if let text = try? container.decode(String.self),
                let value = Int(text.trimmingSpaces())
            {
                seconds = value
            } else {
                throw BadExpiresIn()
            }
            guard seconds >= 0, seconds < 1_000_000_000 else { throw BadExpiresIn() }
        }
    }

    var access_token: String?
    var token_type: String?
    var expires_in: Lifetime?
    var scope: String?
}
