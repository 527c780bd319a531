import Synchronization

/// Lets `close()` arrive from any thread while another thread is inside a read or write.
///
/// Closing a descriptor that another thread is still polling would let the kernel hand its
/// number to the next `open`, and the poller would then read someone else's file. So a close
/// that finds an operation in flight only *requests* closing (the owner wakes the operation,
/// e.g. with `shutdown(2)`), and whoever leaves last releases the resource, exactly once.
final class OperationGate: Sendable {
    /// What `requestClose()` asks the caller to do.
    enum CloseAction {
        /// Nothing is in flight: release the resource now.
        case releaseNow
        /// An operation is in flight: wake it; `leave()` will say when to release.
        case wakeInFlight
        /// `close()` was already called.
        case alreadyClosed
    }

    private struct State {
        var closeRequested = false
        var inFlight = 0
    }

    private let state = Mutex(State())

    /// Whether `requestClose()` has been called.
    var isClosed: Bool { state.withLock { $0.closeRequested } }

    /// Runs `body` as an in-flight operation. Throws `closedError` if the gate is closed.
    /// `release` runs after `body` when a close arrived meanwhile and this was the last operation.
    func run<Result>(
        closedError: @autoclosure () -> NetError, release: () -> Void, _ body: () throws -> Result
    ) throws -> Result {
        let entered = state.withLock { state in
            guard !state.closeRequested else { return false }
            state.inFlight += 1
            return true
        }
        guard entered else { throw closedError() }
        defer {
            let mustRelease = state.withLock { state in
                state.inFlight -= 1
                return state.closeRequested && state.inFlight == 0
            }
            if mustRelease { release() }
        }
        return try body()
    }

    /// Marks the gate closed; no new operation can enter afterwards.
    func requestClose() -> CloseAction {
        state.withLock { state in
            if state.closeRequested { return .alreadyClosed }
            state.closeRequested = true
            return state.inFlight == 0 ? .releaseNow : .wakeInFlight
        }
    }
}
