import TokenProxyCrypto

/// The key-file reader: ZITADEL JSON (first byte `{`) or PEM through OpenSSL. Any input gives a
/// key or an error; the input buffer is wiped either way.
enum KeyFileTarget {
    static func run(_ bytes: [UInt8]) {
        var copy = bytes
        let options = KeyLoadOptions(clientID: "fuzz-client")
        if let key = try? KeyFileLoader.parse(&copy, origin: "fuzz", options: options) {
            _ = key.keyID
        } else {
            _ = try? KeyFileLoader.parse(&copy, origin: "fuzz", options: KeyLoadOptions())
        }
        precondition(copy.allSatisfy { $0 == 0 }, "key file bytes not wiped")
    }
}
