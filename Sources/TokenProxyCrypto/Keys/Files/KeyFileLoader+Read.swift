import TokenProxyCore
import TokenProxyPosix

extension KeyFileLoader {
    /// Opens `path`, checks what it is and who may read it (`KeyFilePermissions`) on the open
    /// descriptor (no race between check and read), and reads it into one preallocated buffer that the caller wipes.
    ///
    /// Symbolic links are followed, as Kubernetes secret mounts and systemd credentials use
    /// them; the checks apply to the file they lead to. The reading itself (bounded, one
    /// buffer, wiped on failure) is `FileReader.read`'s.
    static func readKeyFile(path: String, allowInsecurePermissions: Bool) throws -> [UInt8] {
        do {
            return try FileReader.read(path: path, limit: Limits.KeyFile.maxBytes) { status in
                guard !allowInsecurePermissions,
                    let refusal = KeyFilePermissions.currentProcess.refusal(for: status)
                else { return }
                throw CryptoError.keyFileInsecurePermissions(
                    path: path, mode: status.mode, refusal: refusal)
            }
        } catch let error as FileReadError {
            switch error {
            case .system(let failure):
                throw CryptoError.keyFileUnreadable(path: path, errno: failure.errno)
            case .notRegularFile:
                throw CryptoError.keyFileNotRegular(path: path)
            case .tooLarge:
                throw CryptoError.keyFileTooLarge(path: path, limit: Limits.KeyFile.maxBytes)
            }
        }
    }
}
