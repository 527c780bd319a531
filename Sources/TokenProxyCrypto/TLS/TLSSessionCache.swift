internal import COpenSSL
import Synchronization

/// The TLS sessions of one `TLSClientContext`, one per server (`host:port`), for resuming
/// instead of a full handshake when a connection to that server is opened again (after the
/// server closed a keep-alive connection, say after its `keepalive_requests`), as nginx does
/// with `proxy_ssl_session_reuse`.
///
/// A resumed session skips the certificate check: the chain and the name were verified when
/// it was established, and OpenSSL carries that result over (`SSL_get_verify_result`). So a
/// session is only offered to the server it was made with, under the name it was verified
/// for (the key), and only by sessions of the same context (the same trust anchors and
/// client certificate); a reload builds a new context, and with it an empty cache. A TLS 1.3
/// session is handed out once (RFC 8446 §C.4: a ticket reused across connections lets them
/// be linked); the server's next ticket replaces it. A TLS 1.2 session stays until replaced.
/// A failed handshake forgets the server's session.
///
/// `@unchecked Sendable`: the `SSL_SESSION` pointers are only touched under `sessions`' lock
/// (OpenSSL's reference counts are atomic).
final class TLSSessionCache: @unchecked Sendable {
    /// An owned `SSL_SESSION *` (one reference). `@unchecked Sendable`: it moves between
    /// threads only through the lock, and OpenSSL's reference counts are atomic.
    private struct Owned: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    /// The sessions, by `host:port`.
    private let sessions = Mutex<[String: Owned]>([:])

    deinit {
        sessions.withLock { sessions in
            for session in sessions.values { SSL_SESSION_free(session.pointer) }
            sessions.removeAll()
        }
    }

    /// How many servers have a session now.
    var count: Int { sessions.withLock { $0.count } }

    /// Offers `key`'s session, if any, to the not yet connected `ssl`. Under the lock, since
    /// another loop may replace (and free) the session meanwhile.
    /// The corresponding C functions are `SSL_set_session` and `SSL_SESSION_free`.
    func offer(_ key: String, to ssl: OpaquePointer) {
        sessions.withLock { sessions in
            guard let session = sessions[key]?.pointer else { return }
            // SSL_set_session takes a reference of its own.
            _ = SSL_set_session(ssl, session)
            if SSL_SESSION_get_protocol_version(session) == TLS1_3_VERSION {
                sessions[key] = nil
                SSL_SESSION_free(session)
            }
        }
    }

    /// Keeps `session` (taking over the caller's reference) as `key`'s, replacing the one
    /// before. The corresponding C functions are `SSL_SESSION_is_resumable` and
    /// `SSL_SESSION_free`.
    func store(_ key: String, _ session: OpaquePointer) {
        guard SSL_SESSION_is_resumable(session) == 1 else {
            SSL_SESSION_free(session)
            return
        }
        let replaced = sessions.withLock { sessions in
            sessions.updateValue(Owned(pointer: session), forKey: key)
        }
        if let replaced { SSL_SESSION_free(replaced.pointer) }
    }

    /// Forgets `key`'s session (its handshake failed).
    func remove(_ key: String) {
        let removed = sessions.withLock { $0.removeValue(forKey: key) }
        if let removed { SSL_SESSION_free(removed.pointer) }
    }
}

extension TLSSessionCache {
    /// What a session's `SSL` carries (ex data index 0) for the new-session callback: where to
    /// store a session, and under which key. Owned by the session's `Backing`, which outlives
    /// every OpenSSL call that may run the callback.
    final class Slot {
        let cache: TLSSessionCache
        let key: String

        init(cache: TLSSessionCache, key: String) {
            self.cache = cache
            self.key = key
        }
    }

    /// The `SSL_CTX`'s new-session callback: a session the server just granted (after the
    /// handshake for TLS 1.2; a TLS 1.3 ticket, whenever it arrives) goes into the cache of the
    /// connection's slot. Returns 1: the cache took OpenSSL's reference. A connection without a
    /// slot keeps nothing (0: OpenSSL drops it).
    /// The corresponding C function is `SSL_get_ex_data`.
    static let newSessionCallback: @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32 = {
        ssl, session in
        guard let ssl, let session, let raw = SSL_get_ex_data(ssl, 0) else { return 0 }
        let slot = Unmanaged<Slot>.fromOpaque(raw).takeUnretainedValue()
        slot.cache.store(slot.key, session)
        return 1
    }
}
