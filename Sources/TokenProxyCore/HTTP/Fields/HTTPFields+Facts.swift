/// What a field list says about the connection and the message's framing, kept up to date by
/// every `append` (so by the parser, which appends each line once, and by `set`/`remove`,
/// which rebuild by appending): which of a few names are present and which `Connection` and
/// `Expect` tokens they carry.
///
/// The questions asked of every message — keep-alive (RFC 9112 §9.3), `Expect: 100-continue`
/// (RFC 9110 §10.1.1), an `Upgrade` offer (RFC 9110 §7.8), `Transfer-Encoding` present — were
/// each a scan of the whole list by name, several per proxied request; the names are at hand
/// when a field is appended, so noting them then costs a length compare for most fields, and
/// each question afterwards is a bit test. A lookup of a noted name that is absent (the usual
/// answer for all but `Host` and `Content-Length`) returns without a scan.
///
/// Stored in the storage's header next to the count (one word), so `HTTPFields` stays one
/// reference to copy.
extension HTTPFields {
    /// The names whose presence the facts record. Compared ASCII case-insensitively
    /// (RFC 9110 §5.1).
    package enum KnownName: UInt8, Sendable, CaseIterable {
        case host
        case contentLength
        case transferEncoding
        case connection
        case expect
        case upgrade

        /// The known name `name` spells in any case, or nil. Most names differ in length
        /// from all of them: one compare.
        @inline(__always)
        package init?(_ name: UnsafeBufferPointer<UInt8>) {
            switch name.count {
            case 4 where HTTPFields.equalsLowercased(name, "host"): self = .host
            case 6 where HTTPFields.equalsLowercased(name, "expect"): self = .expect
            case 7 where HTTPFields.equalsLowercased(name, "upgrade"): self = .upgrade
            case 10 where HTTPFields.equalsLowercased(name, "connection"): self = .connection
            case 14 where HTTPFields.equalsLowercased(name, "content-length"):
                self = .contentLength
            case 17 where HTTPFields.equalsLowercased(name, "transfer-encoding"):
                self = .transferEncoding
            default: return nil
            }
        }

        /// The fact "a field of this name is present".
        package var presence: Facts { Facts(rawValue: 1 << UInt32(rawValue)) }
    }

    /// Presence of the known names and the list tokens noted in them; a bit set.
    package struct Facts: OptionSet, Sendable {
        package let rawValue: UInt32
        package init(rawValue: UInt32) { self.rawValue = rawValue }

        package static let host = KnownName.host.presence
        package static let contentLength = KnownName.contentLength.presence
        package static let transferEncoding = KnownName.transferEncoding.presence
        package static let connection = KnownName.connection.presence
        package static let expect = KnownName.expect.presence
        package static let upgrade = KnownName.upgrade.presence
        /// A `Connection` element `close` (any case, any line, any list position).
        package static let connectionClose = Facts(rawValue: 1 << 16)
        /// A `Connection` element `keep-alive`.
        package static let connectionKeepAlive = Facts(rawValue: 1 << 17)
        /// A `Connection` element `upgrade`.
        package static let connectionUpgrade = Facts(rawValue: 1 << 18)
        /// An `Expect` element `100-continue`.
        package static let expectContinue = Facts(rawValue: 1 << 19)

        /// The facts one field `known: value` adds.
        @inline(__always)
        static func noting(_ known: KnownName?, value: UnsafeBufferPointer<UInt8>) -> Facts {
            guard let known else { return [] }
            var facts = known.presence
            switch known {
            case .connection:
                forEachListElement(value) { element in
                    switch element.count {
                    case 5 where equalsLowercased(element, "close"): facts.insert(.connectionClose)
                    case 7 where equalsLowercased(element, "upgrade"):
                        facts.insert(.connectionUpgrade)
                    case 10 where equalsLowercased(element, "keep-alive"):
                        facts.insert(.connectionKeepAlive)
                    default: break
                    }
                }
            case .expect:
                forEachListElement(value) { element in
                    if element.count == 12 && equalsLowercased(element, "100-continue") {
                        facts.insert(.expectContinue)
                    }
                }
            default: break
            }
            return facts
        }

        /// The fact answering "does list field `known` contain `token`", when one is recorded.
        static func token(_ token: UnsafeBufferPointer<UInt8>, in known: KnownName) -> Facts? {
            switch known {
            case .connection:
                switch token.count {
                case 5 where equalsLowercased(token, "close"): return .connectionClose
                case 7 where equalsLowercased(token, "upgrade"): return .connectionUpgrade
                case 10 where equalsLowercased(token, "keep-alive"): return .connectionKeepAlive
                default: return nil
                }
            case .expect:
                return token.count == 12 && equalsLowercased(token, "100-continue")
                    ? .expectContinue : nil
            default: return nil
            }
        }
    }

    /// What these fields say (see the extension's comment); empty fields say nothing.
    package var facts: Facts {
        storage.isEmpty
            ? [] : storage.withUnsafeBytes { Facts(rawValue: Self.load($0, at: Self.factsOffset)) }
    }

    /// Whether a field called `known` is present: a bit test, no scan.
    @inline(__always)
    package func contains(_ known: KnownName) -> Bool {
        facts.contains(known.presence)
    }

    /// Whether `name` equals `lowercased` ignoring ASCII case; `lowercased` has the same
    /// length (the caller checked it) and is all lower case.
    @inline(__always)
    package static func equalsLowercased(
        _ name: UnsafeBufferPointer<UInt8>, _ lowercased: StaticString
    ) -> Bool {
        lowercased.withUTF8Buffer { expected in
            for offset in 0..<expected.count where asciiLower(name[offset]) != expected[offset] {
                return false
            }
            return true
        }
    }
}
