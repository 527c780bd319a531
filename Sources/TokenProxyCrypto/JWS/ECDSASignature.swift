internal import COpenSSL

/// Converts ECDSA signatures between OpenSSL's DER `ECDSA-Sig-Value` (RFC 3279 §2.2.3) and the
/// JOSE form: r and s as big-endian integers, each left-padded to the curve's byte size and
/// concatenated (RFC 7518 §3.4). Sending DER where JOSE is expected is a classic JWT bug.
enum ECDSASignature {
    /// DER → JOSE `r‖s`. The corresponding C functions are `d2i_ECDSA_SIG` and `BN_bn2binpad`.
    static func jose(fromDER der: [UInt8], curve: ECCurve) throws -> [UInt8] {
        let size = curve.coordinateSize
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
        }
        guard let signature = parsed else { throw CryptoError.openSSL("parse an ECDSA signature") }
        defer { ECDSA_SIG_free(signature) }
        var r: OpaquePointer?
        var s: OpaquePointer?
        ECDSA_SIG_get0(signature, &r, &s)
        var out = [UInt8](repeating: 0, count: 2 * size)
        let written = out.withUnsafeMutableBufferPointer { buffer -> (Int32, Int32) in
            let base = buffer.baseAddress!
            return (BN_bn2binpad(r, base, Int32(size)), BN_bn2binpad(s, base + size, Int32(size)))
        }
        guard written.0 == Int32(size), written.1 == Int32(size) else {
            throw CryptoError.openSSL("convert an ECDSA signature to JOSE form")
        }
        return out
    }

    /// JOSE `r‖s` → DER, or nil when the length does not fit the curve (such a signature cannot
    /// verify). The corresponding C functions are `BN_bin2bn`, `ECDSA_SIG_set0`, `i2d_ECDSA_SIG`.
    static func der(fromJOSE jose: [UInt8], curve: ECCurve) -> [UInt8]? {
        let size = curve.coordinateSize
        guard jose.count == 2 * size else { return nil }
        guard let signature = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(signature) }
        let numbers = jose.withUnsafeBufferPointer { buffer in
            (
                BN_bin2bn(buffer.baseAddress, Int32(size), nil),
                BN_bin2bn(buffer.baseAddress! + size, Int32(size), nil)
            )
        }
        guard let r = numbers.0, let s = numbers.1 else {
            BN_free(numbers.0)
            BN_free(numbers.1)
            return nil
        }
        // ECDSA_SIG_set0 takes ownership of r and s.
        guard ECDSA_SIG_set0(signature, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            return nil
        }
        let length = i2d_ECDSA_SIG(signature, nil)
        guard length > 0 else { return nil }
        var out = [UInt8](repeating: 0, count: Int(length))
        let written = out.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d_ECDSA_SIG(signature, &cursor)
        }
        return written == length ? out : nil
    }
}
