import FoundationEssentials
import TokenProxyCore
import TokenProxyCrypto

extension OneShot {
    /// Everything `introspect --key` takes besides the key and the token.
    package struct IntrospectArguments: Sendable {
        package var issuer: String
        package var endpoint: String?
        package var audience: [String]
        package var caFile: String?
        package var algorithm: String?
        package var hint: String?

        package init(
            issuer: String, endpoint: String?, audience: [String], caFile: String?,
            algorithm: String?, hint: String?
        ) {
            self.issuer = issuer
            self.endpoint = endpoint
            self.audience = audience
            self.caFile = caFile
            self.algorithm = algorithm
            self.hint = hint
        }
    }

    /// What `introspect` prints and whether the token is active (exit 0) or not (exit 1).
    package struct IntrospectOutcome: Sendable {
        package var json: String
        package var active: Bool
    }

    /// `tokenproxy introspect --key FILE --issuer URL TOKEN`: one RFC 7662 request with the
    /// key as `private_key_jwt` client authentication, no cache.
    package static func introspect(
        key keyArguments: KeyArguments, arguments: IntrospectArguments, token: Redacted<String>,
        environment: [String: String]
    ) async throws(Failure) -> IntrospectOutcome {
        let key = try loadKey(keyArguments)
        let algorithm = try self.algorithm(arguments.algorithm)
        let issuer = try absoluteURL(arguments.issuer, option: "--issuer")
        var endpoint: URL?
        if let text = arguments.endpoint {
            endpoint = try absoluteURL(text, option: "--introspection-endpoint")
        }
        let credential = Credential(
            name: URL(fileURLWithPath: keyArguments.path).lastPathComponent,
            keyOrigin: keyArguments.path, key: key, issuer: issuer,
            grant: Credential.defaultGrant(for: key), algorithm: algorithm,
            introspection: IntrospectionConfiguration(
                audience: arguments.audience.isEmpty ? nil : arguments.audience,
                endpoint: endpoint))
        let client = try client(caFile: arguments.caFile, environment: environment)
        do throws(IntrospectionError) {
            let answer = try await client.introspect(token, hint: arguments.hint, for: credential)
            return IntrospectOutcome(
                json: String(decoding: answer.json, as: UTF8.self), active: answer.active)
        } catch {
            throw Failure(message: "\(error)", status: ExitStatus.forIntrospectionFailure(error))
        }
    }
}
