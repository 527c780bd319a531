import TokenProxyCore

/// Where the proxy router gets tokens: the daemon's `TokenStore`, or a fake in tests (so that
/// routing can be tested without an IdP).
package protocol ProxyTokenSource: Sendable {
    /// The published token if valid for `minValid` more, without suspending; nil: ask `token`.
    func cachedToken(_ name: String, minValid: Duration?) -> TokenStore.Snapshot?
    /// A valid token, waiting for a fetch (shared with other callers) if needed.
    func token(_ name: String, minValid: Duration?) async throws -> TokenStore.Snapshot
    /// Forces a fetch, joining one already in flight.
    func refresh(_ name: String) async throws -> TokenStore.Snapshot
    /// Where `name`'s token is published, if it is in a ``SnapshotSlot`` whose value is what
    /// ``cachedToken(_:minValid:)`` answers from: the router reads it there directly (no
    /// existential call, no name lookup). nil: the router asks `cachedToken`.
    func snapshotSlot(_ name: String) -> SnapshotSlot?
}

extension ProxyTokenSource {
    package func snapshotSlot(_ name: String) -> SnapshotSlot? { nil }
}

extension TokenStore: ProxyTokenSource {
    package func snapshotSlot(_ name: String) -> SnapshotSlot? {
        names.firstIndex(of: name).map(slot(at:))
    }
}

/// Why a blocking wait for a token ended without one.
enum ProxyTokenWaitError: Error, CustomStringConvertible {
    case timedOut(Duration)

    var description: String {
        switch self {
        case .timedOut(let limit):
            return "no token within \(limit.components.seconds) s (the IdP is slow or unreachable)"
        }
    }
}

extension ProxyRouter {
    /// Runs `operation` in a task and calls `completion` exactly once: with its result, or
    /// with `ProxyTokenWaitError.timedOut` when `timeout` passes first. Nothing blocks: the
    /// engine parked the request and resumes it on its loop when `completion` runs.
    ///
    /// Any asynchronous work before a decision (a token fetch, a check of the caller's own
    /// credentials) goes through here, so every such wait is bounded the same way.
    static func completeLater<T: Sendable>(
        timeout: Duration, _ operation: @escaping @Sendable () async throws -> T,
        completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        BoundedWait.complete(
            timeout: timeout, timedOut: ProxyTokenWaitError.timedOut(timeout), operation,
            completion: completion)
    }
}
