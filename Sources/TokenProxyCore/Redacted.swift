/// A value that must never be printed: keys, tokens, assertions and client secrets travel
/// wrapped in `Redacted` so that string interpolation, `print`, `dump` and log metadata show
/// `<redacted>` instead of the secret. Unwrap with `value` only where the secret is used.
package struct Redacted<Value: Sendable>: Sendable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    /// The secret itself. Reading it is a deliberate act; grep for `.value` to audit.
    package let value: Value

    package init(_ value: Value) { self.value = value }

    package var description: String { "<redacted>" }
    package var debugDescription: String { "<redacted>" }
    package var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

extension Redacted: Equatable where Value: Equatable {}
