import TokenProxyCore

/// What the proxy keeps per event loop: the loop's upstream pool, the buffer its connections
/// read into, and the counter that names its upstream connections' epoll tokens. Loop thread
/// only (built on the starting thread, handed over once through `ProxyEngine`'s immutable
/// table), which makes the `@unchecked Sendable` sound.
final class ProxyLoopContext: @unchecked Sendable {
    let loop: EventLoop
    /// The loop's index in its group (`ProxyEvent.loop`).
    let index: Int
    let pool: UpstreamPool
    /// Every read on this loop's proxy sockets lands here and is copied out (into a parser or
    /// an output queue) before the next read: one buffer per loop, none per connection.
    let readBuffer: UnsafeMutableRawBufferPointer
    // The mutable state below is not checked for exclusivity at run time: only the loop's
    // thread touches it (see the type's comment), and no access overlaps another (the checks, on in every
    // other build of this code, pass the whole suite). Each check was a runtime call, and a
    // proxied request made about a hundred of them (callgrind).
    @exclusivity(unchecked) private var upstreamSerial: UInt64 = 0
    /// The last injected `Authorization` value that passed `ProxyConnection.problem`, so
    /// that a token is validated once per loop rather than once per request.
    @exclusivity(unchecked) var validAuthorization: String?
    /// Likewise the last route template whose `Host` value passed (a template's is constant,
    /// so its identity says it: no string compared), and whether `via` did (it is the
    /// engine's, the same for every request).
    @exclusivity(unchecked) var validTemplate: ProxyForwardTemplate?
    @exclusivity(unchecked) var viaChecked = false

    /// Whether `forward`'s `Authorization` (none counts as passed) and `Host` values passed
    /// `ProxyConnection.problem` last time, compared here, where the passed ones are stored
    /// (handed to the check as arguments, they were copied: a retain and a release each).
    func passedBefore(_ forward: ProxyForward) -> (authorization: Bool, hostHeader: Bool) {
        let authorization = forward.authorization.map { $0 == validAuthorization } ?? true
        return (authorization, forward.template === validTemplate)
    }

    /// The engine's timeouts in nanoseconds, converted once: `Duration`'s 128-bit
    /// components cost ~190 instructions per conversion, and a request sets three deadlines.
    let timeouts: Timeouts

    /// Timeouts in nanoseconds, from `ProxyEngineConfiguration`.
    struct Timeouts {
        let headerRead: UInt64
        let idle: UInt64
        let connect: UInt64
        let response: UInt64
    }

    init(loop: EventLoop, index: Int = 0, configuration: ProxyEngineConfiguration) {
        self.loop = loop
        self.index = index
        self.timeouts = Timeouts(
            headerRead: configuration.headerReadTimeout.clampedNanoseconds,
            idle: configuration.idleTimeout.clampedNanoseconds,
            connect: configuration.connectTimeout.clampedNanoseconds,
            response: configuration.responseTimeout.clampedNanoseconds)
        self.pool = UpstreamPool(
            maxIdlePerKey: configuration.maxIdleUpstreamConnections,
            idleTimeout: configuration.idleTimeout)
        self.readBuffer = .allocate(byteCount: configuration.relayBufferBytes, alignment: 16)
    }

    deinit {
        readBuffer.deallocate()
    }

    /// A fresh epoll token for an upstream connection on this loop.
    func nextUpstreamToken() -> UInt64 {
        upstreamSerial &+= 1
        return EventLoopToken.upstream(upstreamSerial)
    }
}
