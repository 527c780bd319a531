/// Every numeric limit and tunable default of tokenproxy, in one place, so that a reviewer sees
/// what a peer can make us buffer, wait for or repeat, and an operator sees where a config
/// default comes from. Values a configuration file can override are marked "(config: key)".
/// Code refers to these constants; no numeric limit lives anywhere else.
package enum Limits {
    /// HTTP/1.1 parsing (`HTTPLimits` defaults; RFC 9112). Each is checked as bytes arrive.
    package enum HTTP {
        /// Start line plus field section: 16 KiB, a little above common servers' per-line limit
        /// (nginx: 8 KiB) and far above what our own clients send. Over it: 431.
        package static let maxHeadBytes = 16 * 1024
        /// Field lines in one head or trailer section, as nginx/Apache defaults. Over it: 431.
        package static let maxFieldCount = 100
        /// Request-target length: RFC 9112 §3 asks for at least 8000 octets. Over it: 414.
        package static let maxRequestTargetBytes = 8 * 1024
        /// A chunk-size line with extensions, which nobody legitimately makes long. Over: 400.
        package static let maxChunkSizeLineBytes = 1024
        /// Trailer fields after a chunked body. Over it: 431.
        package static let maxTrailerBytes = 8 * 1024
        /// A message body the parser lets through: token requests and IdP answers are a few
        /// KiB. Over it: 413.
        package static let maxBodyBytes = 1 << 20
        /// A parser's emptied buffer keeps its capacity up to this size (an ordinary request
        /// head); a larger one is freed, so idle keep-alive connections stay small.
        package static let retainedBufferBytes = 1024
        /// A parser reuses the last head's field storage for the next head up to this size
        /// (the fields of an ordinary head); a larger one is left to be freed, so an idle
        /// keep-alive connection holds no more than this for its last head.
        package static let retainedFieldBytes = 2048
        /// Bytes beyond `maxRequestTargetBytes` a request line may take (method, version,
        /// spaces) before the line alone is refused.
        package static let requestLineSlack = 64
        /// Fields a parsed head reserves room for at its first field line (more just grow the
        /// list): a browser sends about a dozen, our clients four or five.
        package static let reservedFieldCount = 16
        /// Bytes of names and values a parsed head reserves at its first field line, at most
        /// (fewer when fewer are buffered): an ordinary head fits, so it never reallocates.
        package static let reservedFieldBytes = 1024
    }

    /// The configuration file and its JSON.
    package enum Config {
        /// A configuration file larger than this is refused before parsing.
        package static let maxFileBytes = 1 << 20
        /// JSON nesting deeper than this is refused (the real schema is four levels deep).
        package static let maxJSONDepth = 64
        /// Edit distance up to which an unknown key gets a "did you mean" suggestion.
        package static let maxSuggestionDistance = 2
        /// `allowed_uids`/`allowed_gids` entries: any id but `(uid_t)-1`, which means "none".
        package static let maxUserOrGroupID = Double(UInt32.max - 1)
        /// `sun_path` holds 108 bytes including the terminating NUL (unix(7)).
        package static let maxSocketPathBytes = 107
        /// `api.event_loops`: more loops than this is a typo, not a machine.
        package static let maxEventLoops = 1024
        /// How often `serve --watch-config` looks at the configuration file. The kubelet
        /// updates a ConfigMap volume within about a minute; a few seconds more is nothing.
        package static let watchInterval: Duration = .seconds(5)
    }

    /// Private key files.
    package enum KeyFile {
        /// A key file larger than this is refused unread (a 4096-bit RSA key JSON is ~3.3 KiB).
        package static let maxBytes = 64 * 1024
        /// JSON nesting in a key file (a ZITADEL key JSON is one level deep).
        package static let maxJSONDepth = 32
        /// RSA modulus sizes accepted: below 2048 is broken (NIST SP 800-131A), above 4096
        /// makes every signature slow for nothing.
        package static let rsaBits: ClosedRange<Int> = 2048...4096
    }

    /// Client assertions (RFC 7523).
    package enum Assertion {
        /// Five minutes: long enough for a slow IdP, short enough that a leaked assertion is
        /// worth little (config: `assertion_lifetime`).
        package static let defaultLifetime: Duration = .seconds(300)
        /// RFC 7523 servers commonly refuse assertions valid for longer than an hour
        /// (ZITADEL's cap).
        package static let maxLifetime: Duration = .seconds(3600)
        /// `iat` backdated by ten seconds, as in the ZITADEL guides' `iat = now - 10`
        /// (config: `clock_skew`).
        package static let defaultClockSkew: Duration = .seconds(10)
    }

    /// Token refresh and retry defaults (config: each credential's `refresh` keys, named in
    /// each entry). ``RefreshPolicy`` explains how they combine.
    package enum Refresh {
        /// Refresh after this share of a token's lifetime (config: `fraction`).
        package static let fraction = 0.5
        /// …or this long before expiry, if that comes first (config: `before_expiry`).
        package static let beforeExpiry: Duration = .seconds(300)
        /// Never refresh later than this before expiry (config: `min_before_expiry`).
        package static let minimumBeforeExpiry: Duration = .seconds(60)
        /// Keep a token at least this long (or its `fraction`, if shorter), so a lifetime just
        /// above `beforeExpiry` does not turn into a refresh loop. Not configurable.
        package static let minimumInterval: Duration = .seconds(60)
        /// Relative spread of the refresh moment, so many daemons do not refresh in step
        /// (config: `jitter`).
        package static let jitter = 0.1
        /// Upper bound of the first retry delay after a failure (config: `backoff_initial`).
        package static let backoffInitial: Duration = .seconds(1)
        /// Upper bound of every retry delay (config: `backoff_max`).
        package static let backoffMaximum: Duration = .seconds(300)
        /// The one lifetime assumed for a token whose response has no `expires_in` (RFC 6749
        /// §5.1 makes it optional). Short on purpose: assuming too long would serve tokens the
        /// IdP already considers expired (config: `default_lifetime`).
        package static let defaultLifetime: Duration = .seconds(300)
    }

    /// The token API.
    package enum TokenAPI {
        /// A token with less than this left is not handed out (the caller gets 503 and
        /// `Retry-After`) and does not count as valid for `/readyz`, `/v1/tokens`, `/metrics`.
        package static let minimumUsefulValidity: Duration = .seconds(1)
        /// The largest `min_valid` a caller may ask for, in seconds (a day).
        package static let maxMinValidSeconds = 86_400
        /// How long a token request parked on a fetch waits before it is answered 503 with
        /// `Retry-After` (the fetch goes on). Without it a caller waited as long as a stalled
        /// IdP held the fetch, up to `IdP.totalTimeout`: found by `bench/soak`.
        package static let maxTokenWait: Duration = .seconds(10)
    }

    /// Token introspection (RFC 7662) for local APIs: `POST /v1/introspect/{credential}`
    /// and its cache (config: `credentials.*.introspection`).
    package enum Introspection {
        /// Active answers are kept until the token's `exp`, but never longer than this
        /// (config: `cache_ttl`; 0 asks the IdP every time). RFC 7662 §4: a cached answer
        /// misses a revocation for at most this long.
        package static let defaultCacheTTL: Duration = .seconds(60)
        /// The largest `cache_ttl` accepted: an hour of missed revocations is already a lot.
        package static let maxCacheTTL: Duration = .seconds(3600)
        /// Inactive answers are kept this long (config: `inactive_ttl`), so a client
        /// retrying with a dead token does not make every retry an IdP request.
        package static let defaultInactiveTTL: Duration = .seconds(5)
        /// The largest `inactive_ttl` accepted.
        package static let maxInactiveTTL: Duration = .seconds(300)
        /// Answers held by the cache, least recently used dropped first.
        package static let maxCacheEntries = 10_000
        /// Bytes of answers (their JSON) held by the cache at most.
        package static let maxCacheBytes = 8 << 20
        /// An IdP answer larger than this is not cached (it is still served).
        package static let maxCachedAnswerBytes = 16 * 1024
        /// A token longer than this is refused unsent (JWT access tokens are a few KiB).
        package static let maxTokenBytes = 16 * 1024
        /// Random key bytes for the keyed hash (HMAC-SHA-256) that names cached tokens.
        package static let digestKeyBytes = 32
        /// `Retry-After` when the IdP cannot be asked (unreachable, 5xx, timeout), seconds.
        package static let retryAfterSeconds = 2
        /// Clock difference tolerated on a JWT access token's `exp` and `nbf`.
        package static let jwtLeeway: Duration = .seconds(30)
        /// An issuer's JWKS is fetched again after this long.
        package static let jwksTTL: Duration = .seconds(3600)
        /// A token naming an unknown `kid` refetches the JWKS at most this often (key rotation
        /// is picked up; a flood of made-up `kid`s costs the IdP one request per interval).
        package static let jwksRefetchInterval: Duration = .seconds(30)
    }

    /// The token API server (`HTTPServerConfiguration` defaults): tiny requests from local
    /// programs, many keep-alive connections, no patience for slow or stuck clients.
    package enum Server {
        /// Open connections; one more is closed at once so the client fails fast.
        package static let maxConnections = 1024
        /// Request bodies: token API requests have none or tiny ones. Over it: 413.
        package static let maxRequestBodyBytes = 64 * 1024
        /// The whole request head must arrive within this (slowloris). Expiry: 408.
        package static let headerReadTimeout: Duration = .seconds(10)
        /// The whole body must arrive within this after its head. Expiry: 408.
        package static let bodyReadTimeout: Duration = .seconds(10)
        /// Keep-alive connections idle longer than this are closed silently.
        package static let idleTimeout: Duration = .seconds(60)
        /// A response must drain into a client that stopped reading within this.
        package static let writeTimeout: Duration = .seconds(10)
        /// In-flight requests get this long on SIGTERM before connections are force-closed.
        package static let drainTimeout: Duration = .seconds(5)
    }

    /// An event loop.
    package enum EventLoop {
        /// Events taken per `epoll_wait`.
        package static let eventsPerWait = 64
        /// Bytes read from a socket at once, into the loop's one read buffer (shared by every
        /// connection the loop drives, so an idle connection holds none).
        package static let readBufferBytes = 16 * 1024
        /// How long a loop stops accepting on a listener after running out of descriptors or
        /// memory (the socket stays readable, so retrying at once would spin).
        package static let acceptPauseNanoseconds: UInt64 = 100_000_000
        /// Listener indices one server may hand out over its life (each added listener takes a
        /// new one, never reused): the gap between the two servers' acceptor token bases
        /// (`EventLoopToken`).
        package static let acceptorTokenRange: UInt64 = 1 << 32
        /// How often a loop measures its own load (the time its thread ran or waited to run
        /// over the wall time since the last measure, `EventLoopLoad`): at most once per this,
        /// at a wake-up.
        package static let loadWindowNanoseconds: UInt64 = 10_000_000
        /// A loop whose thread ran or waited to run at least this share (per mille) of its
        /// last window is busy: a connection from a socket every loop shares goes to the first loop that is
        /// not (`EventLoopGroup.placement`). Half a CPU: above it, a queue of ready
        /// connections starts to form often enough to show in the latency.
        package static let busyPermille = 500
        /// `api.busy_poll_us` when the config does not set it and no cgroup CPU quota bounds
        /// the process: how long at most a loop polls before it blocks (`EventLoopPoll`).
        /// 100 µs covers the gaps between a busy loop's batches on the VMs measured
        /// (bench/README.md, "Busy polling") and also one connection's round trip (caller or
        /// upstream and back: 50–100 µs there), where each blocking wait is two wake-ups of
        /// halted vCPUs; 30 µs covered only the first, and left the one-connection rows at
        /// parity with nginx (bench/README.md, "Where it stands"). Half the guest kernel's own
        /// halt-poll limit (`cpuidle-haltpoll`'s `guest_halt_poll_ns`, 200 µs). The cost: a
        /// loop whose wake-ups come closer than this never sleeps (`EventLoopPoll`).
        package static let defaultBusyPollMicroseconds = 100
        /// `api.busy_poll_us` above this is a typo: a loop would spin a millisecond per wait.
        package static let maxBusyPollMicroseconds = 1000
        /// The first poll after a wait proved short, before it doubles.
        package static let busyPollStartNanoseconds: UInt64 = 10_000
        /// A poll halved below this stops.
        package static let busyPollFloorNanoseconds: UInt64 = 4_000
        /// A poll try (one `epoll_wait` that does not wait, one `sched_yield`) that took longer
        /// than this, with the thread's involuntary context switches grown since the last slow
        /// try, gave the CPU to another thread that ran a long stretch: the loop stops polling
        /// (`EventLoopPoll.slowTry`). A shorter one is a hand-off worth keeping — at one
        /// connection the peer (caller or upstream) on the loop's CPU runs its 20–60 µs and
        /// writes the event the poll then finds without a wake-up. Measured, proxy unpinned
        /// (bench/README.md, "Busy polling"): 30 µs cost the c=1 row (1.02× nginx against
        /// 1.10× without the check), 200 µs kept it (1.14×) and still cut the c=16 tail (p99
        /// 0.76× against 0.93×). A try alone takes 0.75 µs on the VM measured.
        package static let busyPollSharedNanoseconds: UInt64 = 200_000
        /// After a poll found its CPU shared, the loop blocks without polling for this long: a
        /// few of the scheduler's time slices, so a CPU that stays shared costs one lost slice
        /// per hold-off at most, and a loop whose CPU frees up polls again soon.
        package static let busyPollHoldoffNanoseconds: UInt64 = 10_000_000
    }

    /// The IdP client.
    package enum IdP {
        /// TCP (and TLS) connect to the IdP or its proxy.
        package static let connectTimeout: Duration = .seconds(10)
        /// A whole token request, connect to last byte.
        package static let totalTimeout: Duration = .seconds(30)
        /// Idle keep-alive connections to the IdP are closed after this.
        package static let idleConnectionTimeout: Duration = .seconds(20)
        /// Idle keep-alive connections kept per IdP host.
        package static let maxIdleConnectionsPerHost = 4
        /// Bytes read from an IdP connection at once.
        package static let readBufferBytes = 16 * 1024
        /// How long a loop stops accepting on a listener after running out of descriptors or
        /// memory (the socket stays readable, so retrying at once would spin).
        package static let acceptPauseNanoseconds: UInt64 = 100_000_000
        /// An idle pool is swept for expired connections at most this often.
        package static let poolSweepInterval: Duration = .seconds(1)
        /// How long a discovery document (OpenID Connect Discovery) is reused, in seconds.
        package static let discoveryTTLSeconds: Double = 3600
        /// Server error text quoted in our messages is cut at this many characters.
        package static let maxQuotedDetailCharacters = 300
        /// The longest `Retry-After` honoured: a longer one (or a date far ahead) waits this long.
        package static let maxRetryAfter: Duration = .seconds(3600)
    }

    /// Token files (config: each sink's keys of the same names).
    package enum Sink {
        /// Readable by the daemon's user only (config: `mode`).
        package static let defaultMode: UInt32 = 0o600
        /// The variable name of the `env` format and of `tokenproxy exec` (config: `variable`).
        package static let defaultVariable = "ACCESS_TOKEN"
        /// A post-write command is killed after this long (config: `command_timeout`).
        package static let defaultCommandTimeout: Duration = .seconds(10)
        /// The longest `command_timeout` accepted.
        package static let maxCommandTimeout: Duration = .seconds(300)
        /// How much of a failing command's output is quoted in the log.
        package static let maxQuotedOutputBytes = 500
    }

    /// `tokenproxy exec`.
    package enum Exec {
        /// How often the daemon is asked whether the token changed (`--poll-interval`).
        package static let pollInterval: Duration = .seconds(5)
        /// `--on-refresh restart`: SIGKILL this long after SIGTERM if the command is still there.
        package static let restartGrace: Duration = .seconds(10)
    }

    /// Reloads (SIGHUP, a key file changed on disk).
    package enum Reload {
        /// How long a replaced token service waits for callers parked on its fetches before
        /// it shuts down (the IdP request timeout: a fetch cannot take longer).
        package static let maximumDrain: Duration = IdP.totalTimeout
        /// How often a replaced token service checks whether its callers are gone.
        package static let idlePollInterval: Duration = .milliseconds(50)
        /// How often key files are checked with `stat` when inotify cannot watch them.
        package static let keyPollInterval: Duration = .seconds(2)
    }

    /// The proxy (config: the `proxy` section's keys of the same names).
    package enum Proxy {
        /// A token with less than this left is not injected: the request waits for the
        /// refresh (or gets 503 + `Retry-After`), as a token API caller would. Without it the
        /// proxy forwarded tokens in their last milliseconds, which died on the way to the
        /// upstream (found by `bench/soak`: a token 1 ms past its `exp` when it arrived).
        package static let minimumTokenValidity: Duration = TokenAPI.minimumUsefulValidity
        /// Request bodies up to this size are buffered so that a request can be replayed once
        /// after a 401 (config: `max_replay_body_bytes`).
        package static let maxReplayBodyBytes = 64 * 1024
        /// TCP plus TLS to an upstream (config: `connect_timeout`).
        package static let connectTimeout: Duration = .seconds(10)
        /// Waiting for the upstream's response head (config: `response_timeout`).
        package static let responseTimeout: Duration = .seconds(60)
        /// The whole request head must arrive within this, against slowloris
        /// (config: `header_read_timeout`).
        package static let headerReadTimeout: Duration = .seconds(10)
        /// Idle keep-alive connections, client side and pool (config: `idle_timeout`).
        package static let idleTimeout: Duration = .seconds(60)
        /// Client connections accepted at once (config: `max_connections`).
        package static let maxConnections = 1024
        /// `X-Tokenproxy-Refresh` forces a fresh token at most this often per route.
        package static let minimumForcedRefreshInterval: Duration = .seconds(5)
        /// Client input echoed in an error page is cut at this many characters.
        package static let maxEchoedCharacters = 200
        /// A body sent with a request the proxy answers itself is read and dropped up to this
        /// size, to keep the connection; past it the connection closes.
        package static let maxDiscardedBodyBytes = 1 << 20
        /// Bytes buffered per direction while relaying a body or a tunnel.
        package static let relayBufferBytes = 64 * 1024
        /// A name the proxy resolved is reused this long before it is looked up again (a short
        /// positive cache: `getaddrinfo` blocks, so it runs off the loops, and a busy route
        /// should not pay a thread hop per new upstream connection).
        package static let resolverCacheTTL: Duration = .seconds(5)
        /// Most names the proxy's resolver cache holds; past it the cache starts over.
        package static let resolverCacheEntries = 256
        /// Bytes queued for one side of a proxied exchange (client or upstream) above which
        /// the proxy stops reading from the other side until they drained: the backpressure
        /// bound that keeps a fast sender and a slow reader from filling memory.
        package static let pendingOutputBytes = 64 * 1024
        /// An emptied output queue keeps at most this much capacity (a small response's worth);
        /// a larger buffer is freed, so idle connections stay small.
        package static let retainedOutputBytes = 4 * 1024
        /// The proxy's metrics are counted in this many shards, one per event loop (a loop
        /// beyond it shares one, by its index modulo this): each loop takes only its own
        /// shard's lock, uncontended, and `/metrics` sums them.
        package static let counterShards = 16
        /// A pooled upstream connection idle at least this long is polled for a close before
        /// reuse (a shorter idle relies on epoll, which watches pooled connections).
        package static let staleCheckAfter: Duration = .milliseconds(100)
        /// Reads one event handles on one side of a relay before it yields to the loop's other
        /// connections (fairness under a fast sender; level-triggered epoll reports the rest).
        package static let readsPerEvent = 8
    }

    /// The per-thread cache of what read-mostly slots publish (`ThreadReadCache`).
    package enum ReadCache {
        /// Entries per thread (a power of two): a slot has its own and may use the next, so a
        /// loop thread keeps the router and every route's token without evicting one for
        /// another in a daemon with a few credentials; more slots than this still work, with
        /// a locked read where two share an entry.
        package static let entriesPerThread = 32
    }

    /// OpenSSL.
    package enum OpenSSL {
        /// Entries kept from OpenSSL's error queue; the rest are drained and dropped, so a
        /// misbehaving library cannot grow a message without end.
        package static let maxErrorEntries = 16
    }

    /// The dev issuer (`tokenproxy dev`): bounds that keep a long-running dev session small.
    package enum DevIssuer {
        /// A form body larger than this is refused.
        package static let maxFormBytes = 64 * 1024
        /// An assertion longer than this is refused before it is parsed.
        package static let maxAssertionBytes = 16 * 1024
        /// `jti` values remembered for replay detection.
        package static let maxRememberedJTIs = 100_000
        /// Issued tokens remembered for introspection.
        package static let maxRememberedTokens = 100_000
        /// Expired entries are swept every this many insertions.
        package static let sweepEveryInsertions = 1024
    }

    /// The host-side of the daemon: audit trail, systemd status, key isolation.
    package enum Host {
        /// How often the audit trail reports the count of tokens each caller received since
        /// its last report (a caller's first token is logged at once).
        package static let auditReportInterval: Duration = .seconds(60)
        /// Distinct callers (credential, uid, executable, unit) the audit keeps apart; beyond
        /// that, further callers are counted together as "other" until the next report.
        package static let auditMaxCallers = 4096
        /// Processes (pid, uid, gid) whose executable and unit the audit remembers, so a caller
        /// polling from one process reads `/proc/PID` once; cleared at every report.
        package static let auditMaxProcesses = 16_384
        /// How often `STATUS=` ("2/2 tokens valid, next refresh in 4m10s") is refreshed.
        package static let statusInterval: Duration = .seconds(5)
        /// OpenSSL's secure heap (`CRYPTO_secure_malloc_init`), which holds private keys' bignums,
        /// locked in RAM and left out of core dumps. A power of two; a 4096-bit RSA key takes
        /// about 2 KiB.
        package static let secureHeapBytes = 256 * 1024
        /// The secure heap's smallest allocation (a power of two).
        package static let secureHeapMinimumBytes = 32
        /// How long after READY the first memory trim runs (`Daemon+Memory.swift`): it also
        /// drops the page-table entries of start-up code, so it waits until the first token
        /// fetches are usually done (code they run again simply faults back in).
        package static let firstMemoryTrimDelay: Duration = .seconds(1)
        /// How often freed heap goes back to the kernel (`malloc_trim`) after the first trim.
        package static let memoryTrimInterval: Duration = .seconds(30)
        /// How often the memory trimmer checks whether the daemon went quiet after serving
        /// (`IdleMemoryRelease`): a `getrusage` and a read of `/proc/self/status`.
        package static let memoryCheckInterval: Duration = .seconds(2)
        /// CPU time the process may use between two checks and still count as quiet: the
        /// check itself and the runtime's timers use tens of microseconds; one token API
        /// request about ten.
        package static let idleCPUPerCheck: Duration = .milliseconds(1)
        /// How far resident file pages must grow above what the last release left before a
        /// quiet daemon drops them again.
        package static let idleReleaseGrowthKiB = 1024
        /// The least time between two releases, so a daemon serving a trickle of requests
        /// does not fault its hot code back in over and over.
        package static let idleReleaseSpacing: Duration = .seconds(10)
        /// `/proc/self/smaps` is about 1.3 KiB per mapping; the daemon has about 100.
        package static let procSmapsBytes = 1024 * 1024
        /// How often `serve --ready-after-tokens` checks whether every credential holds a token.
        package static let firstTokenPollInterval: Duration = .milliseconds(100)
        /// `/proc/PID/status` is a few KiB; a cgroup path line at most a few hundred bytes.
        package static let procFileBytes = 16 * 1024
    }
}
