import TokenProxyPosix

/// Why `DevKeys.generate` could not write a throwaway environment.
package enum DevKeysError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file exists already; dev keys never overwrite anything.
    case fileExists(path: String)
    /// Creating or writing the file failed with `errno`.
    case writeFailed(path: String, operation: String, errno: Int32)
    /// Key generation or export failed (OpenSSL); `detail` is the crypto error's message.
    case keyGeneration(detail: String)

    package var description: String {
        switch self {
        case .fileExists(let path):
            return "\(path) already exists; dev keys never overwrite files: remove it or use "
                + "another directory"
        case .writeFailed(let path, let operation, let code):
            return "cannot \(operation) \(path): \(PosixError.reason(code)) (errno "
                + "\(code)); check that the directory exists and is writable"
        case .keyGeneration(let detail):
            return "cannot generate a throwaway dev key: \(detail)"
        }
    }
}
