/// The members of a key file's top-level object that `KeyJSONReader` was asked for.
///
/// String values live in `SecretBuffer`s, wiped when this object goes away (also when a later
/// check throws). Lookups produce the errors an operator needs: which field, in which file,
/// and what is wrong with it.
final class KeyJSONFields {
    private let origin: String
    private var strings: [String: SecretBuffer] = [:]
    private var others: [String: String] = [:]

    init(origin: String) {
        self.origin = origin
    }

    /// True when the field is present, of any JSON type.
    func has(_ name: String) -> Bool {
        strings[name] != nil || others[name] != nil
    }

    func setString(_ name: String, _ value: SecretBuffer) {
        strings[name] = value
    }

    func setOther(_ name: String, kind: String) {
        others[name] = kind
    }

    /// Lends a required, non-empty string field to `body` without copying it.
    func withSecret<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try require(name).withBytes(body)
    }

    /// A required, non-empty string field that is not secret (type, ids), as a `String`.
    /// Invalid UTF-8 is refused rather than silently replaced.
    func string(_ name: String) throws -> String {
        let value = try require(name)
        // Round-tripping detects invalid UTF-8, which `String(decoding:)` would replace.
        let text = value.withBytes { String(decoding: $0, as: UTF8.self) }
        guard value.withBytes({ $0.elementsEqual(text.utf8) }) else {
            throw CryptoError.keyJSONField(
                origin: origin, field: name, problem: "is not valid UTF-8")
        }
        return text
    }

    private func require(_ name: String) throws -> SecretBuffer {
        if let kind = others[name] {
            throw CryptoError.keyJSONField(
                origin: origin, field: name, problem: "must be a JSON string, found \(kind)")
        }
        guard let value = strings[name] else {
            throw CryptoError.keyJSONField(origin: origin, field: name, problem: "is missing")
        }
        guard value.count > 0 else {
            throw CryptoError.keyJSONField(origin: origin, field: name, problem: "is empty")
        }
        return value
    }
}
