import Foundation
import Testing

@testable import TokenProxyCrypto

/// Helpers shared by the tests: PEM assembly from raw key components, temp dirs, bytes.
enum TestSupport {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// A DER INTEGER for an unsigned big-endian magnitude (X.690 §8.3).
    static func derInteger(_ magnitude: [UInt8]) -> [UInt8] {
        var content = Array(magnitude.drop { $0 == 0 })
        if content.isEmpty || content[0] & 0x80 != 0 { content.insert(0, at: 0) }
        return [0x02] + derLength(content.count) + content
    }

    static func derSequence(_ parts: [[UInt8]]) -> [UInt8] {
        let content = parts.flatMap { $0 }
        return [0x30] + derLength(content.count) + content
    }

    static func derLength(_ length: Int) -> [UInt8] {
        if length < 0x80 { return [UInt8(length)] }
        if length < 0x100 { return [0x81, UInt8(length)] }
        return [0x82, UInt8(length >> 8), UInt8(length & 0xFF)]
    }

    /// PEM armour with 64-character lines (RFC 7468).
    static func pem(_ label: String, _ der: [UInt8]) -> String {
        let body = Data(der).base64EncodedString()
        var lines: [String] = []
        var rest = Substring(body)
        while !rest.isEmpty {
            lines.append(String(rest.prefix(64)))
            rest = rest.dropFirst(64)
        }
        return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n")
            + "\n-----END \(label)-----\n"
    }

    /// PKCS#1 RSAPrivateKey PEM from base64url JWK members (RFC 8017 Appendix A.1.2).
    static func rsaPKCS1PEM(jwk: [String: String]) -> String {
        let order = ["n", "e", "d", "p", "q", "dp", "dq", "qi"]
        let integers = order.map { derInteger(Base64URL.decode(jwk[$0]!)!) }
        return pem("RSA PRIVATE KEY", derSequence([derInteger([0])] + integers))
    }

    /// PKCS#8 PEM for a raw Ed25519 private key (RFC 8410 §7).
    static func ed25519PKCS8PEM(seed: [UInt8]) -> String {
        let prefix: [UInt8] = [
            0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ]
        return pem("PRIVATE KEY", prefix + seed)
    }

    /// A fresh private directory, removed by `cleanup`.
    static func makeTempDir() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/tokenproxy-crypto-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> String? in
            mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
        }
        guard let made else { throw POSIXError(.EIO) }
        return made
    }

    static func cleanup(_ dir: String) {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Writes `contents` to `dir/name` with `mode` and returns the path.
    static func writeFile(_ dir: String, _ name: String, _ contents: String, mode: Int) throws
        -> String
    {
        let path = dir + "/" + name
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    /// A ZITADEL key file body; `key` is JSON-escaped like ZITADEL does ("\n").
    static func zitadelJSON(_ fields: [(String, String)]) -> String {
        let members = fields.map { name, value -> String in
            var quoted = ""
            JSONValue.writeString(value, to: &quoted)
            return "\"\(name)\":\(quoted)"
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// The error a throwing call produced, for message checks.
    static func error<T>(_ body: () throws -> T) -> CryptoError? {
        do {
            _ = try body()
            return nil
        } catch let error as CryptoError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }
}
