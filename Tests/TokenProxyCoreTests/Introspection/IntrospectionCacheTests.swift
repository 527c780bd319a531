import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct IntrospectionCacheTests {
    static let start = ContinuousClock.now

    static func answer(_ subject: String, bytes: Int = 0) -> IntrospectionAnswer {
        let json = #"{"active":true,"sub":"\#(subject)"}"# + String(repeating: " ", count: bytes)
        return IntrospectionAnswer(active: true, subject: subject, json: Array(json.utf8))
    }

    @Test func servesUntilTheDeadlineAndNotAfter() {
        var cache = IntrospectionCache<String>(maxEntries: 4, maxBytes: 1 << 20)
        cache.store(Self.answer("a"), for: "a", until: Self.start + .seconds(10))
        #expect(cache.answer(for: "a", now: Self.start + .seconds(9))?.subject == "a")
        #expect(cache.answer(for: "a", now: Self.start + .seconds(10)) == nil)
        #expect(cache.count == 0)
        #expect(cache.bytes == 0)
    }

    @Test func evictsTheLeastRecentlyUsedEntry() {
        var cache = IntrospectionCache<String>(maxEntries: 3, maxBytes: 1 << 20)
        let later = Self.start + .seconds(60)
        for key in ["a", "b", "c"] { cache.store(Self.answer(key), for: key, until: later) }
        _ = cache.answer(for: "a", now: Self.start)  // a is now the most recent; b the least
        cache.store(Self.answer("d"), for: "d", until: later)
        #expect(cache.count == 3)
        #expect(cache.answer(for: "b", now: Self.start) == nil)
        for key in ["a", "c", "d"] { #expect(cache.answer(for: key, now: Self.start) != nil) }
    }

    @Test func boundedInBytes() {
        var cache = IntrospectionCache<Int>(maxEntries: 1000, maxBytes: 10_000)
        let later = Self.start + .seconds(60)
        for key in 0..<100 {
            cache.store(Self.answer("\(key)", bytes: 900), for: key, until: later)
        }
        #expect(cache.bytes <= 10_000)
        #expect(cache.count < 100)
        #expect(cache.answer(for: 99, now: Self.start) != nil)
        #expect(cache.answer(for: 0, now: Self.start) == nil)
        // An answer above a tenth of the budget is served but never stored.
        cache.store(Self.answer("big", bytes: 2000), for: -1, until: later)
        #expect(cache.answer(for: -1, now: Self.start) == nil)
    }

    @Test func replacingAKeyKeepsTheByteCountRight() {
        var cache = IntrospectionCache<String>(maxEntries: 10, maxBytes: 1 << 20)
        let later = Self.start + .seconds(60)
        cache.store(Self.answer("a", bytes: 100), for: "a", until: later)
        cache.store(Self.answer("a"), for: "a", until: later)
        #expect(cache.count == 1)
        #expect(cache.bytes == Self.answer("a").json.count)
        cache.remove("a")
        #expect(cache.count == 0 && cache.bytes == 0)
    }

    @Test func manyInsertionsReuseSlots() {
        var cache = IntrospectionCache<Int>(maxEntries: 8, maxBytes: 1 << 20)
        let later = Self.start + .seconds(60)
        for key in 0..<1000 {
            cache.store(Self.answer("\(key)"), for: key, until: later)
            #expect(cache.answer(for: key, now: Self.start) != nil)
        }
        #expect(cache.count == 8)
        for key in 992..<1000 { #expect(cache.answer(for: key, now: Self.start) != nil) }
    }
}
