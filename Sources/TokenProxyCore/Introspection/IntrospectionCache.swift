/// A bounded least-recently-used map from a token's keyed digest to its introspection answer,
/// each entry with its own deadline. Pure (no clock, no lock): the caller passes the time and
/// owns the synchronization.
///
/// Bounded twice: in entries and in bytes of answer JSON, so neither many small answers nor a
/// few huge ones grow it without end. The least recently used entries go first. The key is
/// never the token itself (see `Introspector`): a dump of the cache shows no bearer token.
package struct IntrospectionCache<Key: Hashable & Sendable>: Sendable {
    package typealias Instant = ContinuousClock.Instant

    private struct Entry: Sendable {
        var key: Key
        var answer: IntrospectionAnswer
        var deadline: Instant
        var previous: Int?
        var next: Int?
    }

    private var slots: [Entry?] = []
    private var free: [Int] = []
    private var index: [Key: Int] = [:]
    /// Most recently used.
    private var head: Int?
    /// Least recently used: evicted first.
    private var tail: Int?
    package private(set) var bytes = 0
    package let maxEntries: Int
    package let maxBytes: Int

    package init(
        maxEntries: Int = Limits.Introspection.maxCacheEntries,
        maxBytes: Int = Limits.Introspection.maxCacheBytes
    ) {
        precondition(maxEntries > 0 && maxBytes > 0, "IntrospectionCache: empty bounds")
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    package var count: Int { index.count }

    /// The answer stored for `key` if its deadline is still ahead of `now` (and marks it used);
    /// an expired entry is removed.
    package mutating func answer(for key: Key, now: Instant) -> IntrospectionAnswer? {
        guard let position = index[key], let entry = slots[position] else { return nil }
        guard now < entry.deadline else {
            remove(at: position)
            return nil
        }
        moveToFront(position)
        return entry.answer
    }

    /// Stores `answer` until `deadline`, evicting least recently used entries as needed. An
    /// answer bigger than a tenth of `maxBytes` is not stored.
    package mutating func store(
        _ answer: IntrospectionAnswer, for key: Key, until deadline: Instant
    ) {
        if let position = index[key] { remove(at: position) }
        let size = answer.json.count
        guard size <= maxBytes / 10 else { return }
        while let last = tail, index.count >= maxEntries || bytes + size > maxBytes {
            remove(at: last)
        }
        let entry = Entry(key: key, answer: answer, deadline: deadline, previous: nil, next: head)
        let position: Int
        if let reused = free.popLast() {
            position = reused
            slots[position] = entry
        } else {
            position = slots.count
            slots.append(entry)
        }
        if let first = head { slots[first]?.previous = position }
        head = position
        if tail == nil { tail = position }
        index[key] = position
        bytes += size
    }

    /// Forgets `key` (after an answer turned out wrong, or in tests).
    package mutating func remove(_ key: Key) {
        if let position = index[key] { remove(at: position) }
    }

    private mutating func moveToFront(_ position: Int) {
        guard head != position else { return }
        detach(position)
        slots[position]?.previous = nil
        slots[position]?.next = head
        if let first = head { slots[first]?.previous = position }
        head = position
        if tail == nil { tail = position }
    }

    private mutating func detach(_ position: Int) {
        guard let entry = slots[position] else { return }
        if let previous = entry.previous {
            slots[previous]?.next = entry.next
        } else {
            head = entry.next
        }
        if let next = entry.next {
            slots[next]?.previous = entry.previous
        } else {
            tail = entry.previous
        }
    }

    private mutating func remove(at position: Int) {
        guard let entry = slots[position] else { return }
        detach(position)
        slots[position] = nil
        free.append(position)
        index[entry.key] = nil
        bytes -= entry.answer.json.count
    }
}
