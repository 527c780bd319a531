import FoundationEssentials
import TokenProxy
import TokenProxyCore
import TokenProxyCrypto

/// A compact JWS (RFC 7515 §7.1) taken apart, not yet trusted: the dev issuer reads `alg`,
/// `kid` and `iss` from it to find the key, verifies the signature, and only then believes
/// the other claims.
///
/// Every problem is an `invalid_grant` rejection that names the part or claim at fault and
/// never quotes the assertion.
struct DevIssuerJWS {
    /// The header's `alg`, as sent.
    var algorithm: String
    /// The header's `kid`, if any.
    var keyID: String?
    /// The claims set.
    var claims: [String: Value]
    /// `BASE64URL(header) "." BASE64URL(payload)`, the bytes the signature covers.
    var signingInput: [UInt8]
    /// The decoded signature.
    var signature: [UInt8]

    /// A JSON value as it appears in a JWS header or claims set.
    enum Value: Decodable, Equatable {
        case string(String)
        case integer(Int64)
        case number(Double)
        case bool(Bool)
        case null
        case array([Value])
        case object([String: Value])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let flag = try? container.decode(Bool.self) {
                self = .bool(flag)
            } else if let integer = try? container.decode(Int64.self) {
                self = .integer(integer)
            } else if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else if let text = try? container.decode(String.self) {
                self = .string(text)
            } else if let elements = try? container.decode([Value].self) {
                self = .array(elements)
            } else {
                self = .object(try container.decode([String: Value].self))
            }
        }
    }

    /// Splits and decodes `text`. Refuses anything but three base64url parts whose first two
    /// are JSON objects, and headers with `crit` (RFC 7515 §4.1.11: we understand no
    /// extensions, so we must not accept one).
    static func parse(_ text: String) throws(DevIssuerRejection) -> DevIssuerJWS {
        guard text.utf8.count <= Limits.DevIssuer.maxAssertionBytes else {
            throw .invalidGrant(
                "the assertion is longer than \(Limits.DevIssuer.maxAssertionBytes) bytes")
        }
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw .invalidGrant(
                "the assertion is not a compact JWS: expected three base64url parts separated by dots, found \(parts.count)"
            )
        }
        let header = try object(Array(parts[0]), part: "header")
        let claims = try object(Array(parts[1]), part: "claims set")
        // An empty signature decodes to no bytes; `verifyAssertion` refuses it after `alg`,
        // so that `alg: none` gets its own message.
        guard let signature = Base64URL.decode(bytes: Array(parts[2])) else {
            throw .invalidGrant("the assertion's signature is not unpadded base64url")
        }
        guard case .string(let algorithm)? = header["alg"] else {
            throw .invalidGrant("the JWS header has no 'alg' string")
        }
        if header["crit"] != nil {
            throw .invalidGrant("the JWS header has 'crit'; no JWS extensions are supported")
        }
        var keyID: String?
        switch header["kid"] {
        case nil: keyID = nil
        case .string(let value)?: keyID = value
        default: throw .invalidGrant("the JWS header's 'kid' is not a string")
        }
        return DevIssuerJWS(
            algorithm: algorithm, keyID: keyID, claims: claims,
            signingInput: Array(parts[0]) + [UInt8(ascii: ".")] + Array(parts[1]),
            signature: signature)
    }

    private static func object(_ part: [UInt8], part name: String)
        throws(DevIssuerRejection) -> [String: Value]
    {
        guard let json = Base64URL.decode(bytes: part) else {
            throw .invalidGrant("the assertion's \(name) is not unpadded base64url")
        }
        guard let object = try? JSONDecoder().decode([String: Value].self, from: Data(json)) else {
            throw .invalidGrant("the assertion's \(name) is not a JSON object")
        }
        return object
    }

    /// A string claim, nil when absent; a claim of another type is refused.
    func string(_ name: String) throws(DevIssuerRejection) -> String? {
        switch claims[name] {
        case nil: return nil
        case .string(let value)?: return value
        default: throw .invalidGrant("the '\(name)' claim is not a string")
        }
    }

    /// A NumericDate claim (RFC 7519 §2: seconds since the epoch, fractions allowed and
    /// dropped), nil when absent.
    func numericDate(_ name: String) throws(DevIssuerRejection) -> Int64? {
        switch claims[name] {
        case nil: return nil
        case .integer(let value)?: return value
        case .number(let value)? where value.isFinite && abs(value) < 1e15:
            return Int64(value.rounded(.down))
        default: throw .invalidGrant("the '\(name)' claim is not a number of seconds")
        }
    }

    /// `aud`: one string or an array of strings (RFC 7519 §4.1.3), nil when absent.
    func audience() throws(DevIssuerRejection) -> [String]? {
        switch claims["aud"] {
        case nil: return nil
        case .string(let value)?: return [value]
        case .array(let elements)?:
            var audience: [String] = []
            for element in elements {
                guard case .string(let value) = element else {
                    throw .invalidGrant("the 'aud' claim holds a value that is not a string")
                }
                audience.append(value)
            }
            return audience
        default: throw .invalidGrant("the 'aud' claim is neither a string nor an array of strings")
        }
    }
}
