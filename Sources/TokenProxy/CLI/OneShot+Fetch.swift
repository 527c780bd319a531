import FoundationEssentials
import TokenProxyCore
import TokenProxyCrypto

extension OneShot {
    /// How `fetch` prints the token.
    package enum OutputFormat: String, Sendable, CaseIterable {
        /// The token response as JSON (`access_token`, `token_type`, `expires_in`, `scope`).
        case json
        /// The bare token and a newline, for `$(…)`.
        case raw
        /// `Authorization: Bearer …`, for `curl -H "$(…)"`.
        case header
    }

    /// Everything `fetch` takes besides the key.
    package struct FetchArguments: Sendable {
        package var issuer: String
        package var grant: GrantType?
        package var scopes: [String]
        package var audience: [String]
        package var tokenEndpoint: String?
        package var resources: [String]
        package var parameters: [String]
        package var caFile: String?
        package var algorithm: String?
        package var lifetime: Int

        package init(
            issuer: String, grant: GrantType?, scopes: [String], audience: [String],
            tokenEndpoint: String?, resources: [String], parameters: [String], caFile: String?,
            algorithm: String?, lifetime: Int
        ) {
            self.issuer = issuer
            self.grant = grant
            self.scopes = scopes
            self.audience = audience
            self.tokenEndpoint = tokenEndpoint
            self.resources = resources
            self.parameters = parameters
            self.caFile = caFile
            self.algorithm = algorithm
            self.lifetime = lifetime
        }
    }

    /// `tokenproxy fetch`: one exchange. Returns the formatted output and any warnings.
    package static func fetch(
        key keyArguments: KeyArguments, arguments: FetchArguments, format: OutputFormat,
        environment: [String: String]
    ) async throws(Failure) -> (output: String, warnings: [String]) {
        let key = try loadKey(keyArguments)
        let algorithm = try self.algorithm(arguments.algorithm)
        let issuer = try absoluteURL(arguments.issuer, option: "--issuer")
        var tokenEndpoint: URL?
        if let text = arguments.tokenEndpoint {
            tokenEndpoint = try absoluteURL(text, option: "--token-endpoint")
        }
        var extra: [(String, String)] = []
        for parameter in arguments.parameters {
            guard let equals = parameter.firstIndex(of: "="), equals != parameter.startIndex else {
                throw Failure(
                    message: "--param '\(parameter)' must have the form name=value", status: .usage)
            }
            extra.append(
                (String(parameter[..<equals]), String(parameter[parameter.index(after: equals)...]))
            )
        }
        let name = URL(fileURLWithPath: keyArguments.path).lastPathComponent
        let credential = Credential(
            name: name, keyOrigin: keyArguments.path, key: key, issuer: issuer,
            tokenEndpoint: tokenEndpoint,
            grant: arguments.grant ?? Credential.defaultGrant(for: key),
            scopes: arguments.scopes,
            assertionAudience: arguments.audience.isEmpty ? nil : arguments.audience,
            resources: arguments.resources, extraParameters: extra, algorithm: algorithm,
            assertionLifetime: .seconds(arguments.lifetime))

        let client = try client(caFile: arguments.caFile, environment: environment)
        let result: OAuthTokenClient.Result
        do {
            result = try await client.fetchToken(for: credential)
        } catch {
            throw Failure(message: "\(error)", status: ExitStatus.forFailure(error))
        }
        return (render(result.response, format: format), result.warnings)
    }

    /// Formats a token for printing.
    package static func render(_ token: TokenResponse, format: OutputFormat) -> String {
        switch format {
        case .raw:
            return token.accessToken.value
        case .header:
            return "Authorization: Bearer \(token.accessToken.value)"
        case .json:
            return JSONText.sortedKeys(token.jsonObject)
        }
    }
}
