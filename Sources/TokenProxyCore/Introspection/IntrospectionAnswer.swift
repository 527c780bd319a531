/// An RFC 7662 §2.2 introspection response, parsed: what the cache policy, the token API and
/// the proxy guard need, plus the JSON as the IdP sent it (served back unchanged for an active
/// token, so claims tokenproxy does not model still reach the caller).
///
/// An inactive answer carries nothing else: §2.2 says the server should not say more, and
/// tokenproxy never passes on more than `{"active":false}`.
package struct IntrospectionAnswer: Sendable, Equatable {
    package var active: Bool
    /// `scope`, split on spaces (RFC 7662 §2.2, RFC 6749 §3.3).
    package var scopes: [String]
    package var clientID: String?
    package var username: String?
    package var subject: String?
    /// `aud`: one string or an array of strings (RFC 7519 §4.1.3).
    package var audience: [String]
    package var issuer: String?
    package var tokenType: String?
    /// `exp`, `iat`, `nbf`: seconds since the epoch.
    package var expiresAt: Int64?
    package var issuedAt: Int64?
    package var notBefore: Int64?
    /// The response object's JSON text, as the IdP sent it (`{"active":false}` when inactive).
    package var json: [UInt8]

    /// The one answer for every inactive token.
    package static let inactive = IntrospectionAnswer(
        active: false, scopes: [], audience: [], json: Array(#"{"active":false}"#.utf8))

    package init(
        active: Bool, scopes: [String] = [], clientID: String? = nil, username: String? = nil,
        subject: String? = nil, audience: [String] = [], issuer: String? = nil,
        tokenType: String? = nil, expiresAt: Int64? = nil, issuedAt: Int64? = nil,
        notBefore: Int64? = nil, json: [UInt8]
    ) {
        self.active = active
        self.scopes = scopes
        self.clientID = clientID
        self.username = username
        self.subject = subject
        self.audience = audience
        self.issuer = issuer
        self.tokenType = tokenType
        self.expiresAt = expiresAt
        self.issuedAt = issuedAt
        self.notBefore = notBefore
        self.json = json
    }

    /// Why a body is not an introspection response.
    package enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case notJSONObject
        /// `active` is missing or not a boolean (it is the one required member, §2.2).
        case missingActive
        /// A member has the wrong type: the member's name.
        case badMember(String)

        package var description: String {
            switch self {
            case .notJSONObject: "the body is not a JSON object"
            case .missingActive: "the response has no boolean 'active' (RFC 7662 §2.2)"
            case .badMember(let name): "'\(name)' has the wrong type"
            }
        }
    }

    /// Parses a response body. Numbers may be JSON numbers or, as some servers send them,
    /// strings of digits.
    package static func parse(_ body: [UInt8]) -> Result<IntrospectionAnswer, ParseError> {
        guard let object = JSONObjectMembers(body) else { return .failure(.notJSONObject) }
        guard let active = object.bool("active") else { return .failure(.missingActive) }
        guard active else { return .success(.inactive) }
        var answer = IntrospectionAnswer(active: true, json: body)
        do throws(ParseError) {
            answer.scopes =
                try string(object, "scope").map { $0.split(separator: " ").map(String.init) } ?? []
            answer.clientID = try string(object, "client_id")
            answer.username = try string(object, "username")
            answer.subject = try string(object, "sub")
            answer.issuer = try string(object, "iss")
            answer.tokenType = try string(object, "token_type")
            answer.expiresAt = try seconds(object, "exp")
            answer.issuedAt = try seconds(object, "iat")
            answer.notBefore = try seconds(object, "nbf")
            switch object["aud"] {
            case nil, .null?: break
            case .string(let one)?: answer.audience = [one]
            case .array(let many)?:
                answer.audience = try many.map { element throws(ParseError) in
                    guard case .string(let text) = element else { throw .badMember("aud") }
                    return text
                }
            default: throw ParseError.badMember("aud")
            }
        } catch {
            return .failure(error)
        }
        return .success(answer)
    }

    private static func string(_ object: JSONObjectMembers, _ name: String) throws(ParseError)
        -> String?
    {
        switch object[name] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw .badMember(name)
        }
    }

    /// A time claim: a JSON number (a fraction is cut, as RFC 7519 §2's NumericDate allows
    /// one) or a string of digits; a number outside `Int64` is the wrong type.
    private static func seconds(_ object: JSONObjectMembers, _ name: String) throws(ParseError)
        -> Int64?
    {
        switch object[name] {
        case nil, .null?: return nil
        case .string(let text)?:
            guard let value = Int64(text) else { throw .badMember(name) }
            return value
        case .number(let number)?:
            guard let value = JSONObjectMembers.truncatedInt64(number) else {
                throw .badMember(name)
            }
            return value
        default: throw .badMember(name)
        }
    }
}
