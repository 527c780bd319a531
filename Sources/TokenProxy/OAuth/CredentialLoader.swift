import FoundationEssentials
import TokenProxyCore
import TokenProxyCrypto

/// Turns validated configuration entries into usable credentials by reading their keys.
/// Problems are reported like the parser's — every one at once, each with its JSON path — so
/// `tokenproxy check` shows a complete list.
package enum CredentialLoader {
    /// The problems found with one entry.
    package struct Problems: Error {
        package var list: [ConfigurationProblem]
    }

    /// Loads every credential's key. `environment` supplies `CREDENTIALS_DIRECTORY` for
    /// `key_file: "credential:NAME"` (systemd `LoadCredential=`).
    package static func load(
        _ configuration: Configuration, file: String, environment: [String: String]
    ) throws(ConfigurationError) -> [Credential] {
        var problems: [ConfigurationProblem] = []
        var credentials: [Credential] = []
        for entry in configuration.credentials {
            switch loadEntry(entry, environment: environment) {
            case .success(let credential): credentials.append(credential)
            case .failure(let entryProblems): problems += entryProblems.list
            }
        }
        guard problems.isEmpty else { throw ConfigurationError(file: file, problems: problems) }
        return credentials
    }

    /// Loads one entry's key and checks what needs the key to check.
    package static func loadEntry(
        _ entry: CredentialConfiguration, environment: [String: String]
    ) -> Result<Credential, Problems> {
        let base = "credentials.\(entry.name)"
        let keyPath = "\(base).key_file"
        guard
            let path = entry.keySource.path(
                credentialsDirectory: environment["CREDENTIALS_DIRECTORY"])
        else {
            return .failure(
                Problems(list: [
                    ConfigurationProblem(
                        path: keyPath,
                        message:
                            "\(entry.keySource) names a systemd credential but $CREDENTIALS_DIRECTORY "
                            + "is not set: add LoadCredential= to the unit, or give a file path")
                ]))
        }
        let key: ServiceKey
        switch loadKey(
            path: path, keyID: entry.keyID, entry: entry, problemPath: keyPath)
        {
        case .success(let loaded): key = loaded
        case .failure(let problems): return .failure(problems)
        }
        var nextKey: ServiceKey?
        if let next = entry.nextKey {
            let nextPath = "\(base).next_key.key_file"
            guard
                let file = next.source.path(
                    credentialsDirectory: environment["CREDENTIALS_DIRECTORY"])
            else {
                return .failure(
                    Problems(list: [
                        ConfigurationProblem(
                            path: nextPath,
                            message:
                                "\(next.source) names a systemd credential but $CREDENTIALS_DIRECTORY is not set"
                        )
                    ]))
            }
            switch loadKey(path: file, keyID: next.keyID, entry: entry, problemPath: nextPath) {
            case .success(let loaded): nextKey = loaded
            case .failure(let problems): return .failure(problems)
            }
            if nextKey?.clientID != key.clientID {
                return .failure(
                    Problems(list: [
                        ConfigurationProblem(
                            path: nextPath,
                            message:
                                "is a key of client '\(nextKey?.clientID ?? "")', key_file of '\(key.clientID)': both keys of a rotation belong to one client"
                        )
                    ]))
            }
        }
        let format: CredentialKeyFormat = key.source == .pem ? .pem : .zitadelJSON
        let compatible = JWSAlgorithm.allCases.filter { key.privateKey.supports($0) }
        let problems = entry.problems(keyFormat: format, compatibleAlgorithms: compatible)
        guard problems.isEmpty else { return .failure(Problems(list: problems)) }

        return .success(
            Credential(
                name: entry.name, keyOrigin: entry.keySource.description, key: key,
                issuer: entry.issuer, tokenEndpoint: entry.tokenEndpoint,
                grant: entry.grant ?? Credential.defaultGrant(for: key), scopes: entry.scopes,
                assertionAudience: entry.audience, resources: entry.resources,
                extraParameters: entry.extraParameters.sorted { $0.key < $1.key }.map {
                    ($0.key, $0.value)
                },
                algorithm: entry.algorithm,
                caFile: entry.caFile, assertionLifetime: entry.assertionLifetime,
                clockSkewAllowance: entry.clockSkew, introspection: entry.introspection,
                fetchesTokens: entry.fetchTokens
            ).withNextKey(nextKey, origin: entry.nextKey?.source.description))
    }

    /// Reads one key file the way every credential key is read.
    private static func loadKey(
        path: String, keyID: String?, entry: CredentialConfiguration, problemPath: String
    ) -> Result<ServiceKey, Problems> {
        do {
            return .success(
                try KeyFileLoader.load(
                    path: path,
                    options: KeyLoadOptions(
                        clientID: entry.clientID, keyID: keyID,
                        allowInsecurePermissions: entry.allowInsecureKeyPermissions)))
        } catch CryptoError.clientIDRequired {
            return .failure(Problems(list: entry.problems(keyFormat: .pem)))
        } catch {
            return .failure(
                Problems(list: [ConfigurationProblem(path: problemPath, message: "\(error)")]))
        }
    }
}
