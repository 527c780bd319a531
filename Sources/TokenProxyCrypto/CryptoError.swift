import TokenProxyCore
import TokenProxyPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Failures of key loading, signing and assertion building.
///
/// Each message says what failed, where (`origin` is a file path or a description such as
/// "key JSON field 'key' in /etc/tokenproxy/key.json") and what to do. Messages never contain
/// key bytes, key file contents, signatures or assertions.
package enum CryptoError: Error, Sendable, CustomStringConvertible {
    /// A libcrypto call failed; `errors` is the drained OpenSSL error queue.
    case openSSL(operation: String, errors: OpenSSLErrorStack)
    /// The key file could not be opened or read.
    case keyFileUnreadable(path: String, errno: Int32)
    /// The key path is a directory, FIFO, device or socket.
    case keyFileNotRegular(path: String)
    /// The key file is larger than any key file we accept.
    case keyFileTooLarge(path: String, limit: Int)
    /// The key file can be read by others, or by a group the rule in `KeyFilePermissions`
    /// does not accept (like ssh, we refuse it).
    case keyFileInsecurePermissions(
        path: String, mode: UInt32, refusal: KeyFilePermissions.Refusal)
    /// The key is encrypted with a passphrase.
    case encryptedKey(origin: String)
    /// No usable private key was found in PEM text.
    case noPrivateKey(origin: String, detail: String)
    /// No usable public key (SubjectPublicKeyInfo PEM) was found.
    case noPublicKey(origin: String, detail: String)
    /// The key is of a kind we do not sign with (DSA, Ed448, secp256k1, RSA-PSS-restricted…).
    case unsupportedKeyType(origin: String, kind: String)
    /// An RSA key outside 2048–4096 bits.
    case unsupportedRSASize(origin: String, bits: Int)
    /// The key file is not valid JSON; `detail` says what was expected at which byte offset.
    case malformedKeyJSON(origin: String, detail: String)
    /// A field of a ZITADEL key file is missing, of the wrong JSON type or empty.
    case keyJSONField(origin: String, field: String, problem: String)
    /// The `type` of a ZITADEL key file is neither "serviceaccount" nor "application".
    case unknownKeyJSONType(origin: String, type: String)
    /// A PEM key file was given without a client id, which a PEM key cannot carry.
    case clientIDRequired(path: String)
    /// The chosen algorithm cannot be produced by this key.
    case algorithmMismatch(key: KeyType, algorithm: JWSAlgorithm, allowed: [JWSAlgorithm])
    /// Extra claims tried to set a claim the signer owns.
    case reservedClaim(name: String)
    /// A claim value cannot be represented in JSON (NaN or infinity).
    case invalidClaim(name: String, problem: String)
    /// The assertion lifetime is outside 1 s … 3600 s.
    case invalidLifetime(seconds: Int64)
    /// The clock skew allowance is negative or longer than an hour.
    case invalidSkew(seconds: Int64)
    /// The assertion has no audience, or an empty one.
    case invalidAudience(problem: String)

    /// `openSSL` for `operation` with the calling thread's error queue, drained: the one way a
    /// failed libcrypto call becomes a `CryptoError`.
    static func openSSL(_ operation: String) -> CryptoError {
        .openSSL(operation: operation, errors: .drain())
    }

    package var description: String {
        switch self {
        case .openSSL(let operation, let errors):
            return "OpenSSL failed to \(operation): \(errors)"
        case .keyFileUnreadable(let path, let errno):
            return "cannot read key file \(path): \(PosixError.reason(errno))"
                + " (errno \(errno)); check the path and that the service user may read it"
        case .keyFileNotRegular(let path):
            return "key file \(path) is not a regular file; point to the key file itself"
        case .keyFileTooLarge(let path, let limit):
            return "key file \(path) is larger than \(limit) bytes; this is not a key file"
        case .keyFileInsecurePermissions(let path, let mode, let refusal):
            return Self.permissionMessage(path: path, mode: mode, refusal: refusal)
        case .encryptedKey(let origin):
            return "the private key in \(origin) is encrypted with a passphrase; tokenproxy"
                + " needs it unencrypted: openssl pkey -in KEY -out DECRYPTED"
                + " (then chmod 600 DECRYPTED and keep it where only the service can read it)"
        case .noPrivateKey(let origin, let detail):
            return "no usable private key in \(origin): expected an unencrypted PEM private key"
                + " (PKCS#8, PKCS#1 RSA or SEC1 EC) (\(detail))"
        case .noPublicKey(let origin, let detail):
            return "no usable public key in \(origin): expected PEM 'BEGIN PUBLIC KEY' (\(detail))"
        case .unsupportedKeyType(let origin, let kind):
            return "the key in \(origin) is \(kind); supported are RSA 2048–4096,"
                + " EC P-256/P-384/P-521 and Ed25519"
        case .unsupportedRSASize(let origin, let bits):
            return "the RSA key in \(origin) has \(bits) bits; supported are 2048 to 4096 bits:"
                + " create a new key (for ZITADEL: add a new key to the service user)"
        case .malformedKeyJSON(let origin, let detail):
            return "key file \(origin) is not valid JSON: \(detail)"
        case .keyJSONField(let origin, let field, let problem):
            return "key file \(origin): field '\(field)' \(problem)"
        case .unknownKeyJSONType(let origin, let type):
            return "key file \(origin): field 'type' is '\(type)'; expected 'serviceaccount'"
                + " or 'application' (a ZITADEL key file)"
        case .clientIDRequired(let path):
            return "\(path) is a PEM key: pass the client id (--client-id / client_id)"
        case .algorithmMismatch(let key, let algorithm, let allowed):
            return "algorithm \(algorithm.rawValue) cannot be used with the \(key) key; allowed: "
                + allowed.map(\.rawValue).joined(separator: ", ")
        case .reservedClaim(let name):
            return "extra claim '\(name)' is set by the signer and cannot be overridden;"
                + " remove it from the extra claims"
        case .invalidClaim(let name, let problem):
            return "claim '\(name)' \(problem)"
        case .invalidLifetime(let seconds):
            return "assertion lifetime \(seconds) s is out of range; use 1 to 3600 seconds"
        case .invalidSkew(let seconds):
            return "clock skew allowance \(seconds) s is out of range; use 0 to 3600 seconds"
        case .invalidAudience(let problem):
            return "assertion audience \(problem); set it to the token endpoint or issuer URL"
        }
    }
}
