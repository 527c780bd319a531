import Synchronization
import TokenProxyCore
import TokenProxyCrypto

/// What the proxy engine does with one request, as decided by its delegate (routing and
/// tokens live in the TokenProxy module; the engine only moves bytes and enforces HTTP).
package enum ProxyDecision: Sendable {
    /// Send the request to an upstream with these changes.
    case forward(ProxyForward)
    /// Answer locally (403 no route, 405 CONNECT, 503 no token …) and keep the connection if
    /// the response allows it.
    case respond(HTTPServerResponse)
    /// CONNECT to an allow-listed `host:port`: reply 200 and relay bytes untouched (no token).
    case tunnel(host: String, port: Int)
}

/// Where a forwarded request goes; also the key of the upstream connection pool.
///
/// A final class of constants, not a struct: it is copied into every forward, exchange and
/// upstream connection and compared by the pool twice per request; a struct of three strings
/// cost three retains and releases per copy, and a class compares by identity first (the
/// route's one instance).
package final class ProxyUpstream: Sendable, Hashable, CustomStringConvertible {
    /// `http` or `https`.
    package let scheme: String
    /// Host name or IP literal without brackets.
    package let host: String
    package let port: Int
    /// Identifies the TLS settings (routes with different CA files or client certificates must
    /// not share pooled connections).
    package let tlsProfile: String

    package init(scheme: String, host: String, port: Int, tlsProfile: String = "") {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.tlsProfile = tlsProfile
    }

    /// Equal when every field is (two routes to the same upstream share pooled connections).
    package static func == (lhs: ProxyUpstream, rhs: ProxyUpstream) -> Bool {
        lhs === rhs
            || (lhs.port == rhs.port && lhs.host == rhs.host && lhs.scheme == rhs.scheme
                && lhs.tlsProfile == rhs.tlsProfile)
    }

    /// Hashes the host and port only (equality still compares every field): the pool looks
    /// an upstream up twice per request, and hashing the scheme and TLS profile strings too
    /// doubled that cost without telling upstreams apart any better.
    package func hash(into hasher: inout Hasher) {
        hasher.combine(host)
        hasher.combine(port)
    }

    package var description: String {
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        return "\(scheme)://\(authority)"
    }
}

/// The part of a forward that is the same for every request of a route: built once per
/// route (`ProxyForwardTemplate` in the router's compiled route) and referenced, not copied,
/// by each `ProxyForward`. Copying its seven constants into every forward cost a retain and
/// a release per field and ~380 instructions per proxied request; one reference costs one.
package final class ProxyForwardTemplate: Sendable {
    package let upstream: ProxyUpstream
    /// `upstream`, unretained, for the engine's path, which reaches it through an exchange's
    /// forward: loaded through that chain, a reference was retained and released around its
    /// use (an atomic pair per request); an `Unmanaged` is a plain value. Sound for as long
    /// as the template lives: `upstream`, a `let`, holds it.
    let upstreamReference: Unmanaged<ProxyUpstream>
    /// Required for `https` upstreams; built once per route, shared by its connections.
    package let tls: TLSClientContext?
    /// The `Host` header to send (the upstream's authority).
    package let hostHeader: String
    /// Request headers to drop before forwarding besides hop-by-hop ones (the refresh header).
    package let removeHeaders: [String]
    /// Add `X-Forwarded-For` / `X-Forwarded-Proto`.
    package let forwardedHeaders: Bool
    /// For error bodies and logs: the route's name (e.g. `api.example.com` or `/zitadel/`).
    package let routeName: String
    /// Protocols (lowercased names) the client may switch to with `Upgrade`; any other offer
    /// is removed (`ProxyHeaders.allowedUpgrades`). Empty: no upgrades.
    package let upgrades: [String]
    /// Told of each exchange of this route that succeeded, instead of the engine's delegate
    /// (`ProxyDelegate.succeeded`); nil: the delegate is. See `ProxySuccessReporter`.
    package let reporter: (any ProxySuccessReporter)?

    package init(
        upstream: ProxyUpstream, tls: TLSClientContext?, hostHeader: String,
        removeHeaders: [String] = [], forwardedHeaders: Bool = false, routeName: String,
        upgrades: [String] = ProxyRoute.defaultUpgrades,
        reporter: (any ProxySuccessReporter)? = nil
    ) {
        self.upstream = upstream
        upstreamReference = Unmanaged.passUnretained(upstream)
        self.tls = tls
        self.hostHeader = hostHeader
        self.removeHeaders = removeHeaders
        self.forwardedHeaders = forwardedHeaders
        self.routeName = routeName
        self.upgrades = upgrades
        self.reporter = reporter
    }

    /// Tells `reporter` of a success of this route (`ProxySuccessReporter.succeeded`) and
    /// returns true, or returns false when there is none (the delegate is told then). A
    /// method of the template: its own `let`s are passed borrowed, where a reporter read
    /// through an exchange's forward was retained and released around the call.
    func reportSuccess(
        method: String, status: Int, retried: Bool, durationNanoseconds: UInt64, loop: Int
    ) -> Bool {
        // A pattern and optional chaining, not `guard let`: binding copied (retained) it.
        if case .none = reporter { return false }
        reporter?.succeeded(
            route: routeName, method: method, status: status, retried: retried,
            durationNanoseconds: durationNanoseconds, loop: loop)
        return true
    }
}

/// Where the engine reports a forwarded exchange that succeeded when the forward's template
/// names one: the object that counts and logs it for the delegate that built the template.
///
/// Why not always the delegate: a delegate that can be replaced while the engine runs (the
/// daemon's `ProxyRouterSlot`, swapped on reload) must read its current router under a lock
/// for each call, and `succeeded` is a call per request besides `decide` (~80 instructions
/// of ~17,000). The template came from the router that decided the request, so its reporter
/// is that router's: the exchange is reported where it was decided, without the lock. It is
/// called on the engine's loops and must not block, like the delegate.
package protocol ProxySuccessReporter: AnyObject, Sendable {
    /// As `ProxyDelegate.succeeded`.
    func succeeded(
        route: String, method: String, status: Int, retried: Bool, durationNanoseconds: UInt64,
        loop: Int)
}

/// How to forward one request.
///
/// A class, not a struct: a forward goes from the delegate through the decision, the current
/// request and the exchange to the header writer, and copying a struct of a dozen strings and
/// arrays at each hand-over cost a retain and a release per field (a tenth of a proxied
/// request). One owner at a time: the delegate fills it in (on a loop or in its completion)
/// and hands it over with its decision; from then on only the engine's loop reads it, and
/// changes `authorization` and `tokenGeneration` for a replay after a 401. That hand-over is
/// what makes the `@unchecked Sendable` sound. What is the same for every request of a route
/// is in its `template`, shared.
package final class ProxyForward: @unchecked Sendable {
    // The `var`s are not checked for exclusivity at run time: one thread at a time has the
    // forward (the hand-over above), no access overlaps another, and the engine reads them
    // for every request (each check was a runtime call).
    /// The route's constants (upstream, TLS, `Host`, removed headers, name, upgrades).
    package let template: ProxyForwardTemplate
    /// `template`, unretained, for the engine's path (an exchange's end reports through it):
    /// a plain value, where a reference read through the exchange was retained and released
    /// around the call. Sound for as long as the forward lives: `template`, a `let`, holds it.
    let templateReference: Unmanaged<ProxyForwardTemplate>
    /// The origin-form target to send (`/v1/users?x=1`), after prefix stripping.
    package let target: String
    /// The full `Authorization` value to inject (`Bearer …`); exactly one is sent. nil: send
    /// the client's own (a route that keeps client credentials, and the client sent one).
    @exclusivity(unchecked) package var authorization: String?
    /// Opaque value the delegate gets back with a 401, to tell whether the rejected token is
    /// still the current one (so that a burst of 401s causes one refresh).
    @exclusivity(unchecked) package var tokenGeneration: String
    /// Fields to add for the upstream (a guard's identity headers), after the client's
    /// fields; the client's own copies must be in `removeHeaders`.
    @exclusivity(unchecked) package var addHeaders: [(name: String, value: String)] = []
    /// This request's own `removeHeaders` once changed (a guard adds its identity headers);
    /// nil: the template's, not copied.
    @exclusivity(unchecked) private var ownRemoveHeaders: [String]?

    package var upstream: ProxyUpstream { template.upstream }
    package var tls: TLSClientContext? { template.tls }
    package var hostHeader: String { template.hostHeader }
    package var forwardedHeaders: Bool { template.forwardedHeaders }
    package var routeName: String { template.routeName }
    package var upgrades: [String] { template.upgrades }
    /// Request headers to drop before forwarding besides hop-by-hop ones (the refresh header,
    /// a guard's identity headers): the template's unless this request changed them.
    package var removeHeaders: [String] {
        get { ownRemoveHeaders ?? template.removeHeaders }
        set { ownRemoveHeaders = newValue }
    }

    /// Whether `removeHeaders` names any field (asked once per head, before `removesField`).
    var removesAnyField: Bool {
        switch ownRemoveHeaders {
        case .some(let own): !own.isEmpty
        case .none: !template.removeHeaders.isEmpty
        }
    }

    /// Whether `removeHeaders` names the field `name` (ASCII case-insensitive). Compared where
    /// the names are stored: the `removeHeaders` getter returns a copy of the array, an atomic
    /// retain and release per request (the template's is a `let`, read in place).
    func removesField(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        switch ownRemoveHeaders {
        case .some(let own): own.contains { FieldNameList.equal($0, name) }
        case .none: template.removeHeaders.contains { FieldNameList.equal($0, name) }
        }
    }

    /// `authorization`'s UTF-8 bytes where its own storage holds them, or nil (no value, or
    /// one short enough to be a small string: then copy `authorization`, which for a small
    /// string is no retain). For the header writer: the copy of the `String` it made was an
    /// atomic retain and release of the token's storage per request (the writes between the
    /// read and the last use kept the compiler from borrowing it).
    ///
    /// Unsafe: valid only while `authorization` is neither changed nor released, that is,
    /// while the caller holds the forward and does not set it. Why the pointer outlives the
    /// closure: a string longer than a small string's 15 bytes is not small, so its contiguous
    /// UTF-8 is in its storage object (or, for a literal, the binary), not in a temporary copy;
    /// a string without contiguous UTF-8 (none on Linux) gives nil.
    var authorizationStorageBytes: UnsafeBufferPointer<UInt8>? {
        guard let count = authorization?.utf8.count, count >= MemoryLayout<String>.size else {
            return nil
        }
        return authorization?.utf8.withContiguousStorageIfAvailable { $0 }
    }

    /// A forward of `template`'s route (the engine's path: one reference to the route's
    /// constants, three per-request values).
    package init(
        template: ProxyForwardTemplate, target: String, authorization: String?,
        tokenGeneration: String = ""
    ) {
        self.template = template
        templateReference = Unmanaged.passUnretained(template)
        self.target = target
        self.authorization = authorization
        self.tokenGeneration = tokenGeneration
    }

    /// A forward with a template of its own (tests and tools).
    package convenience init(
        upstream: ProxyUpstream, tls: TLSClientContext?, target: String, hostHeader: String,
        authorization: String?, removeHeaders: [String] = [], forwardedHeaders: Bool = false,
        routeName: String, tokenGeneration: String = "",
        upgrades: [String] = ProxyRoute.defaultUpgrades
    ) {
        self.init(
            template: ProxyForwardTemplate(
                upstream: upstream, tls: tls, hostHeader: hostHeader,
                removeHeaders: removeHeaders, forwardedHeaders: forwardedHeaders,
                routeName: routeName, upgrades: upgrades),
            target: target, authorization: authorization, tokenGeneration: tokenGeneration)
    }
}

/// Something worth a log line or a metric, reported by the engine after each exchange.
package struct ProxyEvent: Sendable {
    package var routeName: String
    package var method: String
    package var status: Int
    /// Why the engine answered itself (`upstream unreachable: …`), nil when the upstream did.
    package var failure: String?
    package var retriedAfterUnauthorized: Bool
    /// From the request head to the end of the response, in nanoseconds: the engine measures
    /// it on the monotonic clock as integers, and the metrics count it as one (a `Duration`
    /// taken apart into seconds and attoseconds for every request cost ~400 instructions).
    package var durationNanoseconds: UInt64
    /// The index of the event loop that carried the exchange in its group (0 outside an
    /// engine): per-loop state such as the metrics' shards is picked by it, so that loops do
    /// not share a lock per request.
    package var loop: Int

    /// From the request head to the end of the response.
    package var duration: Duration {
        .nanoseconds(Int64(clamping: durationNanoseconds))
    }

    package init(
        routeName: String, method: String, status: Int, failure: String?,
        retriedAfterUnauthorized: Bool, durationNanoseconds: UInt64, loop: Int = 0
    ) {
        self.routeName = routeName
        self.method = method
        self.status = status
        self.failure = failure
        self.retriedAfterUnauthorized = retriedAfterUnauthorized
        self.durationNanoseconds = durationNanoseconds
        self.loop = loop
    }

    package init(
        routeName: String, method: String, status: Int, failure: String?,
        retriedAfterUnauthorized: Bool, duration: Duration
    ) {
        let (seconds, attoseconds) = duration.components
        let nanoseconds =
            seconds < 0
            ? 0
            : UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000).partialValue
                &+ UInt64(max(0, attoseconds) / 1_000_000_000)
        self.init(
            routeName: routeName, method: method, status: status, failure: failure,
            retriedAfterUnauthorized: retriedAfterUnauthorized, durationNanoseconds: nanoseconds)
    }

    /// The event of an exchange that succeeded (`failure` nil), from the parts
    /// `ProxyDelegate.succeeded` is told.
    package static func success(
        route: String, method: String, status: Int, retried: Bool, durationNanoseconds: UInt64,
        loop: Int
    ) -> ProxyEvent {
        ProxyEvent(
            routeName: route, method: method, status: status, failure: nil,
            retriedAfterUnauthorized: retried, durationNanoseconds: durationNanoseconds,
            loop: loop)
    }
}

/// A delegate's answer: at hand (`now`, the fast path: a cached token, a local refusal), or
/// coming later through the completion the call was given, exactly once, from any thread.
package enum ProxyAnswer<Value: Sendable>: Sendable {
    case now(Value)
    /// The completion will be called once (a token fetch, an introspection call, any other
    /// asynchronous work); until then the request is parked and its loop serves others.
    case later
}

/// Routing and tokens for the proxy engine. Its methods are called on an event loop's thread
/// and must not block it: answer `.now` when the answer is at hand, else return `.later`, do
/// the work elsewhere (a task) and call `completion` once. The engine parks the request and
/// resumes it on its loop; it never waits on a thread.
///
/// Class-bound: the engine calls its delegate twice per request through an existential, and
/// a class existential is one reference (a retain to copy) where any other was a boxed
/// value copied and destroyed per call (~90 instructions).
package protocol ProxyDelegate: AnyObject, Sendable {
    /// Decides what to do with a parsed request head (absolute-form or origin-form target)
    /// that arrived at `receivedAt`: `ContinuousTime` nanoseconds (the clock of
    /// `ContinuousClock`), read by the engine anyway, so a delegate comparing times (a cached
    /// token's expiry) need not read the clock again.
    func decide(
        _ head: HTTPRequestHead, peer: PeerIdentity, listener: String, receivedAt: UInt64,
        completion: @escaping @Sendable (ProxyDecision) -> Void
    ) -> ProxyAnswer<ProxyDecision>
    /// The upstream answered 401 to `forward`. Answers a fresh `Authorization` value to replay
    /// the request once (after refreshing the token if `forward.tokenGeneration` is still the
    /// current one), or nil to pass the 401 to the client.
    func authorizationAfterUnauthorized(
        _ forward: ProxyForward, completion: @escaping @Sendable (String?) -> Void
    ) -> ProxyAnswer<String?>
    /// Called once per request after its response was sent (or the connection failed).
    func completed(_ event: ProxyEvent)
    /// `completed` for an exchange that succeeded (`failure` nil), told in parts: the engine's
    /// common path (unless the forward's template has a `reporter`: then that is told). Handing a built `ProxyEvent` through the existential call cost a copy of
    /// it and two destructions (~240 instructions per request); parts are only borrowed. The
    /// default builds the event and calls `completed`.
    func succeeded(
        route: String, method: String, status: Int, retried: Bool, durationNanoseconds: UInt64,
        loop: Int)
}

extension ProxyDelegate {
    package func succeeded(
        route: String, method: String, status: Int, retried: Bool, durationNanoseconds: UInt64,
        loop: Int
    ) {
        completed(
            .success(
                route: route, method: method, status: status, retried: retried,
                durationNanoseconds: durationNanoseconds, loop: loop))
    }

    /// `decide` received now (tests and tools; the engine passes its own reading).
    package func decide(
        _ head: HTTPRequestHead, peer: PeerIdentity, listener: String,
        completion: @escaping @Sendable (ProxyDecision) -> Void
    ) -> ProxyAnswer<ProxyDecision> {
        decide(
            head, peer: peer, listener: listener, receivedAt: ContinuousTime.now(),
            completion: completion)
    }

    /// `decide`, awaited (for tests and tools; the engine uses the completion form).
    package func decide(_ head: HTTPRequestHead, peer: PeerIdentity, listener: String) async
        -> ProxyDecision
    {
        let handOver = AwaitedHandOver<ProxyDecision>()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let answer = decide(head, peer: peer, listener: listener) {
                handOver.put($0)
                continuation.resume()
            }
            if case .now(let decision) = answer {
                handOver.put(decision)
                continuation.resume()
            }
        }
        return handOver.take()
    }

    /// `authorizationAfterUnauthorized`, awaited (for tests and tools).
    package func authorizationAfterUnauthorized(_ forward: ProxyForward) async -> String? {
        let handOver = AwaitedHandOver<String?>()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let answer = authorizationAfterUnauthorized(forward) {
                handOver.put($0)
                continuation.resume()
            }
            if case .now(let value) = answer {
                handOver.put(value)
                continuation.resume()
            }
        }
        return handOver.take()
    }
}

/// Carries an answer from the thread that completes a delegate call to the task awaiting it,
/// under a lock. Why not the continuation's own value: a `ProxyForward` is a class that the
/// completing thread has just written to, and a continuation resumed before its task
/// suspends gives ThreadSanitizer no acquire/release pair to see that hand-over by (the
/// engine's own path hands decisions over through its loop's locked inbox).
final class AwaitedHandOver<Value: Sendable>: Sendable {
    private let slot = Mutex<Value?>(nil)

    func put(_ value: Value) {
        slot.withLock { $0 = value }
    }

    func take() -> Value {
        guard let value = slot.withLock({ $0.take() }) else {
            preconditionFailure("AwaitedHandOver.take before put")
        }
        return value
    }
}
