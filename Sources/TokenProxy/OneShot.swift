import Foundation
import TokenProxyCore
import TokenProxyCrypto

/// The one-shot commands (`assertion`, `fetch`): load a key from a file, sign, exchange, print.
/// The executable target only parses arguments and calls these.
public enum OneShot {
    /// Key file and identity overrides as given on the command line.
    public struct KeyArguments: Sendable {
        public var path: String
        public var clientID: String?
        public var keyID: String?
        public var allowInsecurePermissions: Bool

        public init(path: String, clientID: String?, keyID: String?, allowInsecurePermissions: Bool) {
            self.path = path
            self.clientID = clientID
            self.keyID = keyID
            self.allowInsecurePermissions = allowInsecurePermissions
        }
    }

    /// A failure with the message to print and the exit status to use.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var status: ExitStatus
        public var description: String { message }
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
            let message = "\(error)"
            let status: ExitStatus =
                FileManager.default.isReadableFile(atPath: arguments.path)
                ? (message.contains("chmod") ? .configuration : .dataError) : .noInput
            throw Failure(message: message, status: status)
        }
    }

    /// Parses an algorithm name as users write it (`RS256`, `es384`, `EdDSA`).
    static func algorithm(_ text: String?) throws(Failure) -> JWSAlgorithm? {
        guard let text else { return nil }
        guard let match = JWSAlgorithm.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() })
        else {
            let names = JWSAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
            throw Failure(message: "unknown algorithm '\(text)': use one of \(names)", status: .usage)
        }
        return match
    }

    /// `tokenproxy assertion`: a signed assertion for the given audience.
    public static func assertion(
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
