import FoundationEssentials

/// One entry of `credentials`: a service-user key and how to turn it into access tokens.
package struct CredentialConfiguration: Sendable, Equatable {

    /// The key of `credentials`, matching `[A-Za-z0-9._-]{1,64}`; it appears in `/v1/tokens/{name}`.
    package var name: String
    package var keySource: KeySource
    /// The IdP's issuer URL, used for discovery and as the default assertion audience.
    package var issuer: URL
    /// `nil` when the file leaves it out: the loader picks it from the key type.
    package var grant: GrantType?
    package var scopes: [String]
    /// The OAuth client id; a ZITADEL JSON key carries its own, a PEM key needs this.
    package var clientID: String?
    /// The JWS `kid`; a ZITADEL JSON key carries its own.
    package var keyID: String?
    /// The assertion's `aud` as written; `nil` means the issuer (see `assertionAudience`).
    package var audience: [String]?
    /// `nil` means: find it through OpenID discovery at the issuer.
    package var tokenEndpoint: URL?
    /// RFC 8707 `resource` parameters, each an absolute URI.
    package var resources: [String]
    /// More form parameters for the token request, such as `audience` for some IdPs.
    package var extraParameters: [String: String]
    /// `nil` means the key's natural algorithm (RS256 for RSA, ES256/384/512 by curve, EdDSA).
    package var algorithm: SigningAlgorithm?
    /// How long a signed assertion stays valid (`exp - iat`), whole seconds.
    package var assertionLifetime: Duration
    /// How far `iat`/`nbf` are backdated so an IdP whose clock runs behind accepts them.
    package var clockSkew: Duration
    /// A PEM bundle of extra CAs trusted for this IdP, besides the system bundle.
    package var caFile: String?
    /// Accept a key file readable by group or others (the loader refuses it otherwise).
    package var allowInsecureKeyPermissions: Bool
    package var refresh: RefreshConfiguration
    /// How `POST /v1/introspect/{name}` uses this credential.
    package var introspection: IntrospectionConfiguration
    /// False for a credential that only introspects (an API application key with no grant):
    /// the daemon then fetches no tokens with it, `/v1/tokens/{name}` does not know it, and
    /// readiness does not wait for it.
    package var fetchTokens: Bool
    /// Files the token is written to on every refresh.
    package var sinks: [SinkConfiguration] = []
    /// A second key during a rotation (the new one): tried first, the IdP's refusal falls back
    /// to `keySource` and is reported.
    package var nextKey: KeyReference?
    /// Who may have this credential's token (`allow`); `nil`: whoever may use the socket.
    package var allow: AllowConfiguration?

    package init(
        name: String, keySource: KeySource, issuer: URL, grant: GrantType? = nil,
        scopes: [String] = [],
        clientID: String? = nil, keyID: String? = nil, audience: [String]? = nil,
        tokenEndpoint: URL? = nil,
        resources: [String] = [], extraParameters: [String: String] = [:],
        algorithm: SigningAlgorithm? = nil,
        assertionLifetime: Duration = Limits.Assertion.defaultLifetime,
        clockSkew: Duration = Limits.Assertion.defaultClockSkew,
        caFile: String? = nil, allowInsecureKeyPermissions: Bool = false,
        refresh: RefreshConfiguration = .init(),
        introspection: IntrospectionConfiguration = .init(), fetchTokens: Bool = true,
        allow: AllowConfiguration? = nil
    ) {
        self.name = name
        self.keySource = keySource
        self.issuer = issuer
        self.grant = grant
        self.scopes = scopes
        self.clientID = clientID
        self.keyID = keyID
        self.audience = audience
        self.tokenEndpoint = tokenEndpoint
        self.resources = resources
        self.extraParameters = extraParameters
        self.algorithm = algorithm
        self.assertionLifetime = assertionLifetime
        self.clockSkew = clockSkew
        self.caFile = caFile
        self.allowInsecureKeyPermissions = allowInsecureKeyPermissions
        self.refresh = refresh
        self.introspection = introspection
        self.fetchTokens = fetchTokens
        self.allow = allow
    }

    /// The `aud` claim to sign: the configured audience, else the issuer.
    package var assertionAudience: [String] { audience ?? [issuer.absoluteString] }
}

/// Where a credential's private key comes from. Written in `key_file` as an absolute path, or
/// as `credential:NAME` for a systemd credential (`LoadCredential=NAME:…`), which the daemon
/// reads from `$CREDENTIALS_DIRECTORY/NAME`. Relative paths are refused: they would depend on
/// the daemon's working directory.
package enum KeySource: Sendable, Equatable, CustomStringConvertible {
    case file(path: String)
    case systemdCredential(name: String)

    package static let credentialPrefix = "credential:"

    /// The file to read: the path itself, or the credential inside `credentialsDirectory`
    /// (`nil` when systemd did not set `$CREDENTIALS_DIRECTORY`, i.e. the unit lacks `LoadCredential=`).
    package func path(credentialsDirectory: String?) -> String? {
        switch self {
        case .file(let path): path
        case .systemdCredential(let name): credentialsDirectory.map { $0 + "/" + name }
        }
    }

    package var description: String {
        switch self {
        case .file(let path): path
        case .systemdCredential(let name): KeySource.credentialPrefix + name
        }
    }
}

/// A key file and, for a PEM key, its key id.
package struct KeyReference: Sendable, Equatable {
    package var source: KeySource
    package var keyID: String?

    package init(source: KeySource, keyID: String? = nil) {
        self.source = source
        self.keyID = keyID
    }
}

/// How the key is used at the token endpoint (RFC 7523).
package enum GrantType: String, Sendable, CaseIterable {
    /// §2.1: the signed assertion is the grant (`urn:ietf:params:oauth:grant-type:jwt-bearer`);
    /// what ZITADEL service users use.
    case jwtBearer = "jwt-bearer"
    /// §2.2: `client_credentials` with the assertion as client authentication (`private_key_jwt`).
    case clientCredentials = "client-credentials"
}

/// The configuration's name for the signing algorithms (one enum for config and crypto).
package typealias SigningAlgorithm = JWSAlgorithm

/// What the configuration validator cannot see: the format of the key file. The loader reads
/// the key, then asks `CredentialConfiguration.problems(keyFormat:compatibleAlgorithms:)`.
package enum CredentialKeyFormat: Sendable, Equatable {
    /// A ZITADEL JSON key file, which names its own key id and user or client id.
    case zitadelJSON
    /// A bare PEM private key, which names nothing.
    case pem
}

extension CredentialConfiguration {
    /// Checks that need the key: a PEM key has no client id inside, so `client_id` is required;
    /// an explicit `algorithm` must suit the key (`compatibleAlgorithms`, when the caller knows).
    /// Paths and messages match the parser's, so the loader can add these to one report.
    package func problems(
        keyFormat: CredentialKeyFormat, compatibleAlgorithms: [SigningAlgorithm]? = nil
    )
        -> [ConfigurationProblem]
    {
        let path = ConfigPath.root.appending("credentials").appending(name)
        var problems: [ConfigurationProblem] = []
        if keyFormat == .pem, clientID == nil {
            problems.append(
                .init(
                    path.appending("client_id"),
                    "required for a PEM key (it does not name its client)"))
        }
        if let algorithm, let compatibleAlgorithms, !compatibleAlgorithms.contains(algorithm) {
            let names = compatibleAlgorithms.map(\.rawValue).joined(separator: ", ")
            problems.append(
                .init(
                    path.appending("algorithm"),
                    "\(algorithm.rawValue) does not suit this key; use one of \(names)")
            )
        }
        return problems
    }
}
