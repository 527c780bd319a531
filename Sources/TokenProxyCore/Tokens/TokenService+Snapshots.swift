/// Publishing the lifecycle's token into the snapshot table, on the actor, so that the table
/// always shows the token the lifecycle would serve (or none). The lifecycle's token changes in
/// exactly two ways: a fetch it accepted replaces it (``publishAccepted(_:for:)``), or it is
/// dropped because it expired (``unpublishIfDropped(_:)``, called after every other event).
extension TokenService {
    /// Publishes the token the lifecycle of `name` has just accepted and returns its snapshot.
    /// Call it before telling anyone about the token (events, waiters).
    func publishAccepted(_ held: HeldToken<Token>, for name: String) -> TokenSnapshot<Token> {
        let snapshot = makeSnapshot(held)
        if !isShutDown { snapshots.publish(snapshot, for: name) }
        return snapshot
    }

    /// Clears the entry of `name` when its lifecycle no longer holds a token.
    func unpublishIfDropped(_ name: String) {
        guard let credential = credentials[name], credential.lifecycle.heldToken == nil,
            snapshots.current(name) != nil
        else { return }
        snapshots.publish(nil, for: name)
    }

    /// The published snapshot of `held`, the token the lifecycle of `name` serves.
    func snapshot(of held: HeldToken<Token>, _ name: String) -> TokenSnapshot<Token> {
        // Always the published one; a fresh one only if an event skipped publishing (a bug,
        // but the caller still gets the right token).
        snapshots.current(name) ?? makeSnapshot(held)
    }

    /// A snapshot whose wall-clock expiry is the monotonic expiry seen from the wall clock now.
    private func makeSnapshot(_ held: HeldToken<Token>) -> TokenSnapshot<Token> {
        let (seconds, attoseconds) = (held.expiresAt - clock.now).components
        let remaining = Double(seconds) + Double(attoseconds) / 1e18
        let expiresAtUnix = Int64((clock.unixTime + remaining).rounded(.down))
        return TokenSnapshot(held: held, expiresAtUnix: expiresAtUnix)
    }
}
