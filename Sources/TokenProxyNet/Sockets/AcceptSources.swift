import Dispatch

/// The accepting side of a `ConnectionShell` (the token API server's and the proxy's): one
/// Dispatch read source per listening socket on a serial queue, a pause after running out of
/// descriptors (the socket stays readable, so retrying at once would spin), and a stop that
/// returns once every listener is closed — so Unix socket files are gone when shutdown returns.
final class AcceptSources: Sendable {
    private struct State {
        var sources: [any DispatchSourceRead] = []
        /// Indices of sources suspended after EMFILE and friends.
        var paused: Set<Int> = []
        var started = false
        var stopped = false
    }

    /// How long accepting pauses when the process or system is out of descriptors or memory.
    static let pauseNanoseconds: UInt64 = 100_000_000

    let listeners: [Listener]
    let queue: DispatchQueue
    /// Left by each source's cancellation, after its listener was closed.
    private let closed = DispatchGroup()
    private let state = ThreadLock(State())

    init(listeners: [Listener], label: String) {
        self.listeners = listeners
        self.queue = DispatchQueue(label: label)
    }

    /// Starts watching every listener; `onReadable(index)` runs on `queue` when listener
    /// `index` has connections waiting. Call once.
    func start(onReadable: @escaping @Sendable (Int) -> Void) {
        state.withLock { state in
            precondition(!state.started, "accepting started twice")
            state.started = true
            guard !state.stopped else { return }
            for (index, listener) in listeners.enumerated() {
                let source = DispatchSource.makeReadSource(
                    fileDescriptor: listener.fileDescriptor, queue: queue)
                source.setEventHandler { onReadable(index) }
                closed.enter()
                // A descriptor must not be closed while Dispatch still watches it: the
                // listener is closed by the cancellation, not by `stop`.
                source.setCancelHandler { [closed] in
                    listener.close()
                    closed.leave()
                }
                state.sources.append(source)
                source.resume()
            }
        }
    }

    /// Suspends listener `index` for `pauseNanoseconds`.
    func pause(_ index: Int) {
        state.withLock { state in
            guard state.started, !state.stopped, state.paused.insert(index).inserted else { return }
            state.sources[index].suspend()
        }
        queue.asyncAfter(
            deadline: DispatchTime(
                uptimeNanoseconds: DispatchTime.now().uptimeNanoseconds + Self.pauseNanoseconds)
        ) { [self] in
            state.withLock { state in
                // `stop` resumes paused sources itself, to let their cancellation through.
                guard !state.stopped, state.paused.remove(index) != nil else { return }
                state.sources[index].resume()
            }
        }
    }

    /// Stops accepting and returns once every listener is closed. Safe to call again, and
    /// without `start()` (then the listeners are closed directly).
    func stop() async {
        let started = state.withLock { state -> Bool in
            guard !state.stopped else { return state.started }
            state.stopped = true
            for (index, source) in state.sources.enumerated() {
                source.cancel()
                // A suspended source delivers its cancellation only once resumed.
                if state.paused.contains(index) { source.resume() }
            }
            state.paused = []
            return state.started
        }
        guard started else {
            for listener in listeners { listener.close() }
            return
        }
        await withCheckedContinuation { continuation in
            closed.notify(queue: queue) { continuation.resume() }
        }
    }
}
