import FoundationEssentials
import TokenProxyCore
import TokenProxyCrypto

/// The one-shot commands (`assertion`, `fetch`): load a key from a file, sign, exchange, print.
/// The executable target only parses arguments and calls these.
package enum OneShot {
    /// Key file and identity overrides as given on the command line.
    package struct KeyArguments: Sendable {
        package var path: String
        package var clientID: String?
        package var keyID: String?
        package var allowInsecurePermissions: Bool

        package init(
            path: String, clientID: String?, keyID: String?, allowInsecurePermissions: Bool
        ) {
            self.path = path
            self.clientID = clientID
            self.keyID = keyID
            self.allowInsecurePermissions = allowInsecurePermissions
        }
    }

    /// A failure with the message to print and the exit status to use.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package var message: String
        package var status: ExitStatus
        package var description: String { message }

        package init(message: String, status: ExitStatus) {
            self.message = message
            self.status = status
        }
    }

    /// Loads a key, mapping crypto errors to exit statuses.
    static func loadKey(_ arguments: KeyArguments) throws(Failure) -> ServiceKey {
        do {
            return try KeyFileLoader.load(
                path: arguments.path,
                options: KeyLoadOptions(
                    clientID: arguments.clientID, keyID: arguments.keyID,
                    allowInsecurePermissions: arguments.allowInsecurePermissions))
        } catch {
            let status: ExitStatus
            switch error as? CryptoError {
            case .keyFileUnreadable?, .keyFileNotRegular?: status = .noInput
            case .keyFileInsecurePermissions?: status = .configuration
            case .clientIDRequired?: status = .usage
            default: status = .dataError
            }
            throw Failure(message: "\(error)", status: status)
        }
    }

    /// An absolute URL given as `option` (`--issuer`), or a usage error naming the option.
    static func absoluteURL(_ text: String, option: String) throws(Failure) -> URL {
        guard let url = URL(string: text), url.scheme != nil, url.host != nil else {
            throw Failure(
                message: "\(option) '\(text)' is not an absolute URL (https://idp.example.org)",
                status: .usage)
        }
        return url
    }

    /// The IdP client for a one-shot command (`--ca-file` and the proxy environment).
    static func client(caFile: String?, environment: [String: String]) throws(Failure)
        -> OAuthTokenClient
    {
        do {
            return try OAuthTokenClient(caFile: caFile, environment: environment)
        } catch {
            throw Failure(message: "\(error)", status: .configuration)
        }
    }

    /// Parses an algorithm name as users write it (`RS256`, `es384`, `EdDSA`).
    static func algorithm(_ text: String?) throws(Failure) -> JWSAlgorithm? {
        guard let text else { return nil }
        guard
            let match = JWSAlgorithm.allCases.first(where: {
                $0.rawValue.lowercased() == text.lowercased()
            })
        else {
            let names = JWSAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
            throw Failure(
                message: "unknown algorithm '\(text)': use one of \(names)", status: .usage)
        }
        return match
    }

    /// `tokenproxy assertion`: a signed assertion for the given audience.
    package static func assertion(
        key arguments: KeyArguments, audience: [String], lifetime: Int, algorithm: String?,
        skew: Int = 10, now: Date = Date()
    ) throws(Failure) -> String {
        let key = try loadKey(arguments)
        let algorithm = try self.algorithm(algorithm)
        do {
            let signer = try AssertionSigner(key: key, algorithm: algorithm)
            return try signer.makeAssertion(
                audience: audience, lifetime: .seconds(lifetime), skew: .seconds(skew), now: now
            ).value
        } catch {
            throw Failure(message: "\(arguments.path): \(error)", status: .usage)
        }
    }
}
