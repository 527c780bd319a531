/// Loads service-user keys from ZITADEL JSON key files or PEM files.
///
/// The key file is parsed in one place and every copy of its secret bytes is wiped: the file
/// buffer, and each decoded JSON string (held in `SecretBuffer`s). OpenSSL copies the key into
/// its own memory while parsing; that is OpenSSL's to clean.
package enum KeyFileLoader {

    /// The `type` field values of ZITADEL key files.
    private static let serviceAccountType = "serviceaccount"
    private static let applicationType = "application"

    /// Reads, checks and parses the key file at `path`. Like ssh, refuses files that group or
    /// others can access — except a root-owned file that only a group of this process may read,
    /// as Kubernetes mounts Secrets with `fsGroup` (`KeyFilePermissions`) — unless
    /// `options.allowInsecurePermissions`, and anything that is not a regular file. ZITADEL JSON is recognised by its first non-space byte `{`; anything else
    /// is treated as PEM.
    package static func load(path: String, options: KeyLoadOptions) throws -> ServiceKey {
        var bytes = try readKeyFile(
            path: path, allowInsecurePermissions: options.allowInsecurePermissions)
        return try parse(&bytes, origin: path, options: options)
    }

    /// Reads and parses a bare PEM private key file, for example the client key of mutual TLS,
    /// through the same checks as service-user keys: a regular file of at most
    /// `Limits.KeyFile.maxBytes` bytes whose permissions `KeyFilePermissions` accepts (unless
    /// `allowInsecurePermissions`), read into one buffer that is wiped after parsing.
    package static func loadPEMPrivateKey(path: String, allowInsecurePermissions: Bool) throws
        -> PrivateKey
    {
        var bytes = try readKeyFile(path: path, allowInsecurePermissions: allowInsecurePermissions)
        defer { Wipe.bytes(&bytes) }
        return try bytes.withUnsafeBytes { try PrivateKey.fromPEM(buffer: $0, origin: path) }
    }

    /// Parses key file contents already read (for example a systemd credential). `origin`
    /// names them in errors. `bytes` is zeroed before this returns or throws; the caller must
    /// hold the only reference to its storage, or the wipe reaches a copy.
    package static func parse(_ bytes: inout [UInt8], origin: String, options: KeyLoadOptions)
        throws -> ServiceKey
    {
        defer { Wipe.bytes(&bytes) }
        return try bytes.withUnsafeBytes { contents in
            let first = contents.first { !KeyJSONReader.isWhitespace($0) }
            if first == UInt8(ascii: "{") {
                return try parseZitadel(contents, origin: origin, options: options)
            }
            let key = try PrivateKey.fromPEM(buffer: contents, origin: origin)
            guard let clientID = options.clientID, !clientID.isEmpty else {
                throw CryptoError.clientIDRequired(path: origin)
            }
            return ServiceKey(
                source: .pem, keyID: options.keyID, clientID: clientID, privateKey: key)
        }
    }

    /// ZITADEL key files: `{"type":"serviceaccount","keyId","key","userId"}` or
    /// `{"type":"application","keyId","key","appId","clientId"}`; other fields are ignored.
    private static func parseZitadel(
        _ contents: UnsafeRawBufferPointer, origin: String, options: KeyLoadOptions
    ) throws -> ServiceKey {
        let fields = try KeyJSONReader.read(
            contents, fields: ["type", "keyId", "key", "userId", "appId", "clientId"],
            origin: origin)
        let source: ServiceKey.Source
        let identity: String
        switch try fields.string("type") {
        case serviceAccountType:
            identity = try fields.string("userId")
            source = .zitadelServiceAccount(userID: identity)
        case applicationType:
            let appID = try fields.string("appId")
            identity = try fields.string("clientId")
            source = .zitadelApplication(appID: appID, clientID: identity)
        case let other:
            throw CryptoError.unknownKeyJSONType(origin: origin, type: printable(other))
        }
        // An explicit key id wins; otherwise the file must name its key (ZITADEL finds the
        // public key by `kid`).
        let keyID = try options.keyID ?? fields.string("keyId")
        let key = try fields.withSecret("key") {
            try PrivateKey.fromPEM(buffer: $0, origin: "key JSON field 'key' in \(origin)")
        }
        let clientID = options.clientID.flatMap { $0.isEmpty ? nil : $0 } ?? identity
        return ServiceKey(source: source, keyID: keyID, clientID: clientID, privateKey: key)
    }

    /// A short, single-line rendering of an unexpected (non-secret) value for an error.
    private static func printable(_ value: String) -> String {
        let cleaned = value.unicodeScalars.map { scalar in
            scalar.properties.generalCategory == .control ? "?" : String(scalar)
        }.joined()
        return cleaned.count > 40 ? String(cleaned.prefix(40)) + "…" : cleaned
    }
}
