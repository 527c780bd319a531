import TokenProxyCore
import TokenProxyNet

extension TokenAPI {
    /// The per-credential access check: may `peer` have `credential`'s token? Every route that
    /// uses a credential on a caller's behalf (token, refresh, introspection) calls this one
    /// function, after the socket-wide `refusal(for:)`.
    ///
    /// Returns the 403 to send, or nil to go on, plus the caller's `/proc` details when they
    /// had to be read (the audit reuses them). Root and the daemon's own uid always pass: they
    /// can read the keys anyway. A TCP caller carries no identity, so a credential with an
    /// `allow` list is refused to it. The answer names the credential and nothing else.
    func credentialCheck(_ credential: String, peer: PeerIdentity) -> (
        HTTPServerResponse?, ProcessDetails?
    ) {
        guard !rules.isEmpty, let rule = rules[credential] else { return (nil, nil) }
        let (allowed, details) = Self.callerMayUse(rule, peer: peer, ownUID: access.ownUID)
        guard !allowed else { return (nil, details) }
        metrics.access.recordRefused(credential: credential)
        return (
            Self.error(
                403, "access_denied", "this caller may not use credential '\(credential)'"),
            details
        )
    }

    /// The decision behind `credentialCheck`, shared with the proxy (a route that injects a
    /// credential's token uses it on the caller's behalf, so the same rule applies there).
    /// `/proc/PID` is read only when the kernel's uid and primary gid do not decide.
    static func callerMayUse(_ rule: AccessRule, peer: PeerIdentity, ownUID: UInt32) -> (
        allowed: Bool, details: ProcessDetails?
    ) {
        guard case .unix(let pid, let uid, let gid) = peer else { return (false, nil) }
        if uid == 0 || uid == ownUID || rule.allows(uid: uid, gid: gid, details: nil) {
            return (true, nil)
        }
        guard rule.needsProcessDetails else { return (false, nil) }
        let details = CallerInspector.details(pid: pid, uid: uid)
        return (rule.allows(uid: uid, gid: gid, details: details), details)
    }

    /// Records one token of `credential` handed to `peer` (Unix-socket callers only).
    func audited(_ credential: String, peer: PeerIdentity, details: ProcessDetails?) {
        guard let audit, case .unix(let pid, let uid, let gid) = peer else { return }
        audit.record(credential: credential, pid: pid, uid: uid, gid: gid, details: details)
    }

    /// `reply`, recording in the audit trail each token it hands to a Unix-socket caller
    /// (status 200; never the token itself).
    func auditing(
        _ credential: String, peer: PeerIdentity, details: ProcessDetails?,
        _ reply: @escaping @Sendable (HTTPServerResponse) -> Void
    ) -> @Sendable (HTTPServerResponse) -> Void {
        guard let audit, case .unix(let pid, let uid, let gid) = peer else { return reply }
        return { response in
            if response.status == 200 {
                audit.record(credential: credential, pid: pid, uid: uid, gid: gid, details: details)
            }
            reply(response)
        }
    }
}
