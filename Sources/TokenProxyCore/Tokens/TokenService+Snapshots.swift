/// Publishing the lifecycle's token into the snapshot table. Runs on the actor after every
/// lifecycle event, so the table always shows the token the lifecycle would serve (or none).
extension TokenService {
    /// Publishes the token the lifecycle of `name` holds now, or clears the entry when it holds
    /// none. Keeps the published snapshot when it is of the same token, so `expires_at` stays
    /// put and readers are not disturbed by events that did not change the token.
    func publish(_ name: String) {
        guard !isShutDown, let credential = credentials[name] else { return }
        let current = snapshots.current(name)
        guard let held = credential.lifecycle.heldToken else {
            if current != nil { snapshots.publish(nil, for: name) }
            return
        }
        if let current, current.describes(held) { return }
        snapshots.publish(makeSnapshot(held), for: name)
    }

    /// The published snapshot of `held`; a new one if the table shows another token (which
    /// would mean an event was not followed by ``publish(_:)``).
    func snapshot(of held: HeldToken<Token>, _ name: String) -> TokenSnapshot<Token> {
        if let current = snapshots.current(name), current.describes(held) { return current }
        return makeSnapshot(held)
    }

    /// A snapshot whose wall-clock expiry is the monotonic expiry seen from the wall clock now.
    private func makeSnapshot(_ held: HeldToken<Token>) -> TokenSnapshot<Token> {
        let (seconds, attoseconds) = (held.expiresAt - clock.now).components
        let remaining = Double(seconds) + Double(attoseconds) / 1e18
        let expiresAtUnix = Int64((clock.unixTime + remaining).rounded(.down))
        return TokenSnapshot(held: held, expiresAtUnix: expiresAtUnix)
    }
}
