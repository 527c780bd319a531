import FoundationEssentials
import TokenProxyCore

/// A JWT access token (RFC 9068 / RFC 7519) checked against an issuer's keys: the compact
/// JWS (RFC 7515 §7.1) taken apart, its algorithm held to the allow-list, its signature
/// verified. Claims are only returned after the signature verified; checking them (`iss`,
/// `aud`, `exp`, `nbf`) is Core's `JWTClaimsCheck`.
package enum CompactJWS {
    /// Why a token is not a validly signed JWT. None of these quote the token.
    package enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// Not three base64url parts with JSON header and payload: treat as opaque.
        case notAJWT
        /// `alg` is `none`, an HMAC algorithm, or unknown (RFC 8725 §3.1: an allow-list).
        case algorithmRefused(String)
        /// `crit` is present: no extension is understood, so the token must be refused.
        case criticalHeader
        /// No key of the issuer has this `kid` (after a refetch when one was allowed).
        case unknownKey(String?)
        case badSignature

        package var description: String {
            switch self {
            case .notAJWT: "not a JWT"
            case .algorithmRefused(let alg): "algorithm '\(alg)' is not allowed"
            case .criticalHeader: "the JWS header has 'crit'"
            case .unknownKey(let kid): "no issuer key with kid '\(kid ?? "(none)")'"
            case .badSignature: "the signature does not verify"
            }
        }
    }

    /// The parts of a token before verification.
    package struct Parsed: Sendable {
        package var algorithm: JWSAlgorithm
        package var keyID: String?
        /// The payload JSON (unverified until ``verify(_:keys:)`` returns it).
        fileprivate var payload: [UInt8]
        fileprivate var signingInput: [UInt8]
        fileprivate var signature: [UInt8]
    }

    /// Whether `token` has a JWT's shape (three dot-separated parts); opaque tokens do not.
    package static func looksLikeJWT(_ token: String) -> Bool {
        token.utf8.lazy.filter { $0 == UInt8(ascii: ".") }.count == 2
    }

    /// Splits and decodes `token`, refusing `none`, HMAC and unknown algorithms by name.
    package static func parse(_ token: String) throws(Failure) -> Parsed {
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(bytes: Array(parts[0])),
            let payload = Base64URL.decode(bytes: Array(parts[1])),
            let signature = Base64URL.decode(bytes: Array(parts[2])),
            let header = JSONObjectMembers(headerBytes), JSONObjectMembers(payload) != nil
        else { throw .notAJWT }
        guard let name = header.string("alg") else { throw .algorithmRefused("(missing)") }
        // Only asymmetric algorithms exist in JWSAlgorithm: `none` and `HS*` fall out here.
        guard let algorithm = JWSAlgorithm(rawValue: name) else { throw .algorithmRefused(name) }
        guard header["crit"] == nil else { throw .criticalHeader }
        return Parsed(
            algorithm: algorithm, keyID: header.string("kid"), payload: payload,
            signingInput: Array(parts[0]) + [UInt8(ascii: ".")] + Array(parts[1]),
            signature: signature)
    }

    /// The payload of `parsed` if a key of `keys` (matching `kid` when the token names one,
    /// allowed the token's algorithm) verifies its signature.
    package static func verify(_ parsed: Parsed, keys: [JSONWebKey]) throws(Failure) -> [UInt8] {
        let candidates = keys.filter { key in
            (parsed.keyID == nil || key.keyID == parsed.keyID)
                && (key.algorithm == nil || key.algorithm == parsed.algorithm)
        }
        guard !candidates.isEmpty else { throw .unknownKey(parsed.keyID) }
        for candidate in candidates {
            // A key of the wrong type for the algorithm throws: that is a refusal, not a match.
            if (try? candidate.key.verify(
                signature: parsed.signature, message: parsed.signingInput,
                algorithm: parsed.algorithm)) == true
            {
                return parsed.payload
            }
        }
        throw .badSignature
    }
}
