import TokenProxyCore

/// The mutable part of a `DevIssuer`, owned by its `Mutex`: the issuer URL once known, the
/// `jti`s already used, the tokens issued, and the request counts.
///
/// Both stores are bounded. Expired entries are dropped whenever a store reaches its limit
/// (and every `Limits.DevIssuer.sweepEveryInsertions` insertions, so memory follows the live set). A full replay store
/// refuses new assertions rather than forget an unexpired `jti`; a full token store forgets the
/// token closest to expiry, which only makes that token inactive early.
struct DevIssuerState: Sendable {
    /// What the issuer knows about a token it issued.
    struct IssuedToken: Sendable, Equatable {
        var clientID: String
        var scope: [String]
        var issuedAt: Int64
        var expiresAt: Int64
    }

    /// The outcome of recording a `jti`.
    enum JTIResult: Equatable {
        case fresh
        case reused
        case storeFull
    }

    /// The issuer URL without a trailing slash; nil until set.
    var issuer: String?
    /// `iss` + NUL + `jti` → the second after which the assertion could no longer be accepted.
    private(set) var usedJTIs: [String: Int64] = [:]
    /// Access token → its record.
    private(set) var issuedTokens: [String: IssuedToken] = [:]
    var stats = DevIssuerStats()
    private var insertionsSinceSweep = 0

    let maximumJTIs: Int
    let maximumTokens: Int

    init(issuer: String?, maximumJTIs: Int, maximumTokens: Int) {
        self.issuer = issuer
        self.maximumJTIs = maximumJTIs
        self.maximumTokens = maximumTokens
    }

    /// Records `jti` of `clientID` until `rememberUntil`, unless it was seen before.
    mutating func useJTI(_ jti: String, clientID: String, rememberUntil: Int64, now: Int64)
        -> JTIResult
    {
        sweepIfDue(now: now)
        let key = clientID + "\u{0}" + jti
        if let until = usedJTIs[key], until >= now { return .reused }
        if usedJTIs.count >= maximumJTIs {
            usedJTIs = usedJTIs.filter { $0.value >= now }
            if usedJTIs.count >= maximumJTIs { return .storeFull }
        }
        usedJTIs[key] = rememberUntil
        return .fresh
    }

    /// Remembers an issued token, making room when the store is full.
    mutating func remember(token: String, _ record: IssuedToken, now: Int64) {
        sweepIfDue(now: now)
        if issuedTokens.count >= maximumTokens {
            issuedTokens = issuedTokens.filter { $0.value.expiresAt > now }
            if issuedTokens.count >= maximumTokens,
                let soonest = issuedTokens.min(by: { $0.value.expiresAt < $1.value.expiresAt })
            {
                issuedTokens[soonest.key] = nil
            }
        }
        issuedTokens[token] = record
    }

    /// The record of `token` if it was issued here and has not expired.
    func activeToken(_ token: String, now: Int64) -> IssuedToken? {
        guard let record = issuedTokens[token], record.expiresAt > now else { return nil }
        return record
    }

    /// Drops expired entries of both stores every `Limits.DevIssuer.sweepEveryInsertions` insertions.
    private mutating func sweepIfDue(now: Int64) {
        insertionsSinceSweep += 1
        guard insertionsSinceSweep >= Limits.DevIssuer.sweepEveryInsertions else { return }
        insertionsSinceSweep = 0
        usedJTIs = usedJTIs.filter { $0.value >= now }
        issuedTokens = issuedTokens.filter { $0.value.expiresAt > now }
    }
}
