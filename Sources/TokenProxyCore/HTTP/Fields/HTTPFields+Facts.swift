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
        /// from all of them: one compare; the others compare as one to three words with the
        /// letters folded (`HTTPFields.folded`), not byte by byte.
        @inline(__always)
        package init?(_ name: UnsafeBufferPointer<UInt8>) {
            switch name.count {
            case 4 where folded32(name, 0, 0x2020_2020) == 0x7473_6F68: self = .host
            case 6
            where folded32(name, 0, 0x2020_2020) == 0x6570_7865
                && folded32(name, 2, 0x2020_2020) == 0x7463_6570:
                self = .expect
            case 7
            where folded32(name, 0, 0x2020_2020) == 0x7267_7075
                && folded32(name, 3, 0x2020_2020) == 0x6564_6172:
                self = .upgrade
            case 10
            where folded64(name, 0, 0x2020_2020_2020_2020) == 0x6974_6365_6E6E_6F63
                && folded64(name, 2, 0x2020_2020_2020_2020) == 0x6E6F_6974_6365_6E6E:
                self = .connection
            case 14
            where folded64(name, 0, 0x0020_2020_2020_2020) == 0x2D74_6E65_746E_6F63
                && folded64(name, 6, 0x2020_2020_2020_0020) == 0x6874_676E_656C_2D74:
                self = .contentLength
            case 17
            where folded64(name, 0, 0x2020_2020_2020_2020) == 0x7265_6673_6E61_7274
                && folded64(name, 8, 0x2020_2020_2020_2000) == 0x6E69_646F_636E_652D
                && folded64(name, 9, 0x2020_2020_2020_2020) == 0x676E_6964_6F63_6E65:
                self = .transferEncoding
            default: return nil
            }
        }

        /// The fact "a field of this name is present".
        @inline(__always)
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
                    if let token = token(element, in: .connection) { facts.insert(token) }
                }
            case .expect:
                forEachListElement(value) { element in
                    if let token = token(element, in: .expect) { facts.insert(token) }
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
                case 5
                where folded32(token, 0, 0x2020_2020) == 0x736F_6C63
                    && folded32(token, 1, 0x2020_2020) == 0x6573_6F6C:
                    return .connectionClose
                case 7 where KnownName(token) == .upgrade: return .connectionUpgrade
                case 10
                where folded64(token, 0, 0x2020_2000_2020_2020) == 0x696C_612D_7065_656B
                    && folded64(token, 2, 0x2020_2020_2000_2020) == 0x6576_696C_612D_7065:
                    return .connectionKeepAlive
                default: return nil
                }
            case .expect:
                return token.count == 12
                    && folded64(token, 0, 0x2020_2020_0000_0000) == 0x746E_6F63_2D30_3031
                    && folded64(token, 4, 0x2020_2020_2020_2020) == 0x6575_6E69_746E_6F63
                    ? .expectContinue : nil
            default: return nil
            }
        }
    }

    /// The known names whose first record's offset the storage header holds
    /// (`firstRecordSlot`): those `firstIndex(_:)` finds with a load.
    package enum FirstRecordName: Sendable {
        case host
        case contentLength

        var knownName: KnownName {
            switch self {
            case .host: .host
            case .contentLength: .contentLength
            }
        }
    }

    /// What these fields say (see the extension's comment); empty fields say nothing.
    package var facts: Facts {
        storage.isEmpty
            ? [] : storage.withUnsafeBytes { Facts(rawValue: Self.load($0, at: Self.factsOffset)) }
    }

    /// `facts.rawValue`, `@inlinable` for the proxy's modules, which read it per request: a
    /// call to `facts` made the caller retain and release the fields around it, and
    /// `Facts` (a `package` type) cannot be named in an `@inlinable` body.
    @inlinable
    package var factBits: UInt32 {
        storage.isEmpty ? 0 : storage.withUnsafeBytes { Self.load($0, at: Self.factsOffset) }
    }

    /// Whether a field called `known` is present: a bit test, no scan.
    @inline(__always)
    package func contains(_ known: KnownName) -> Bool {
        facts.contains(known.presence)
    }

    /// The four bytes of `bytes` at `offset` (little-endian) with the bits of `letters` set:
    /// `0x20` at each byte where the name compared against has a letter, so upper and lower
    /// case read the same there and every other byte must match exactly. The caller checked
    /// that `offset + 4 <= bytes.count`.
    @inline(__always)
    static func folded32(_ bytes: UnsafeBufferPointer<UInt8>, _ offset: Int, _ letters: UInt32)
        -> UInt32
    {
        UInt32(
            littleEndian: UnsafeRawPointer(bytes.baseAddress! + offset).loadUnaligned(
                as: UInt32.self)) | letters
    }

    /// `folded32` for eight bytes.
    @inline(__always)
    static func folded64(_ bytes: UnsafeBufferPointer<UInt8>, _ offset: Int, _ letters: UInt64)
        -> UInt64
    {
        UInt64(
            littleEndian: UnsafeRawPointer(bytes.baseAddress! + offset).loadUnaligned(
                as: UInt64.self)) | letters
    }
}
