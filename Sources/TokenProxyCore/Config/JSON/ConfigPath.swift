/// Where a value sits in the configuration, rendered the way an operator would find it:
/// `credentials.gateway.scopes[2]`. Keys that are not plain identifiers (credential names may
/// contain dots) are quoted, `credentials["a.b"].grant`, so a path is never ambiguous.
package struct ConfigPath: Sendable, Hashable, CustomStringConvertible {
    package enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    package var components: [Component]

    /// The whole document.
    package static let root = ConfigPath(components: [])

    package init(components: [Component]) { self.components = components }

    package func appending(_ key: String) -> ConfigPath {
        ConfigPath(components: components + [.key(key)])
    }

    package func appending(index: Int) -> ConfigPath {
        ConfigPath(components: components + [.index(index)])
    }

    /// The last key, for messages like "duplicate key 'grant'".
    package var lastKey: String? {
        if case .key(let key) = components.last { return key }
        return nil
    }

    package var description: String {
        var result = ""
        for component in components {
            switch component {
            case .index(let index):
                result += "[\(index)]"
            case .key(let key) where ConfigPath.isPlain(key):
                result += result.isEmpty ? key : "." + key
            case .key(let key):
                let escaped = key.unicodeScalars.map {
                    $0 == "\"" || $0 == "\\" ? "\\\($0)" : "\($0)"
                }
                .joined()
                result += "[\"\(escaped)\"]"
            }
        }
        return result
    }

    /// Letters, digits, `_`, `-` and `$`, not empty: printed without quotes.
    private static func isPlain(_ key: String) -> Bool {
        !key.isEmpty
            && key.unicodeScalars.allSatisfy {
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0)
                        || "_-$".unicodeScalars.contains($0))
            }
    }
}
