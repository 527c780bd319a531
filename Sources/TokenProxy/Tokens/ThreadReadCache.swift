import Synchronization
import TokenProxyCore

#if canImport(Glibc)
    import Glibc
#endif

/// Per-thread strong references to what read-mostly slots publish (the proxy's current router,
/// each credential's `ProxyToken`), so that a reader on an event loop that finds the slot
/// unchanged since its last read uses the value it kept, without a lock or a reference count.
///
/// Why: reading such a slot through its lock and taking the value out cost four atomic
/// instructions per read (lock, unlock, retain, release), and a proxied request read two
/// slots. On a core that just ran the kernel's network stack each atomic instruction waits for
/// the store buffer; at one connection they were the measured difference to nginx (see
/// bench/README.md, `callgrind_atomics.py`). A hit here is a generation load (a plain load on
/// x86-64), `pthread_getspecific` and two compares.
///
/// Why it is sound:
/// - A thread's table is reached through a `pthread` key: only that thread reads or writes it,
///   so nothing in it needs to be atomic.
/// - An entry is keyed by the slot's `owner` (process-unique, never reused like an address
///   could be) and the slot's write count at the read that filled it. Slots count a write after
///   it is complete and load the count before they read (acquire / release), so an entry whose
///   count equals the slot's current one holds a value at least as new as that write: what a
///   locked read at the same moment could also have returned.
/// - The entry holds a +1 reference, so a value in use lives even if its slot replaced it. A
///   body that reads other slots (the router reads a token slot) may fill entries; the entries
///   of the reads still running are pinned and are never replaced under them.
/// - The table, with its references, is released when the thread exits (the key's
///   destructor). Until a thread reads a slot again it keeps the value it read last: after a
///   reload, one old router (or token) per loop thread that has not proxied since.
enum ThreadReadCache {
    /// One cached value.
    struct Entry {
        /// The slot's `owner` id; 0: empty.
        var owner: UInt64 = 0
        var generation: UInt64 = 0
        /// The value, retained (+1); nil: the slot held none at that generation.
        var value: UnsafeMutableRawPointer?
        /// Reads of this entry still running on this thread: it is not replaced meanwhile.
        var pins = 0
    }

    /// A new slot's `owner` id: unique in the process.
    static func newOwner() -> UInt64 { owners.add(1, ordering: .relaxed).newValue }

    private static let owners = Atomic<UInt64>(0)

    /// The key whose value is the calling thread's table; its destructor releases the table.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { raw in
            guard let raw else { return }
            ThreadReadCache.destroy(raw.assumingMemoryBound(to: Entry.self))
        }
        precondition(result == 0, "pthread_key_create failed (\(result))")
        return key
    }()

    /// The calling thread's entries (`Limits.ReadCache.entriesPerThread`), made on first use.
    @inline(__always)
    private static func table() -> UnsafeMutablePointer<Entry> {
        if let raw = pthread_getspecific(key) { return raw.assumingMemoryBound(to: Entry.self) }
        return makeTable()
    }

    private static func makeTable() -> UnsafeMutablePointer<Entry> {
        let entries = UnsafeMutablePointer<Entry>.allocate(
            capacity: Limits.ReadCache.entriesPerThread)
        entries.initialize(repeating: Entry(), count: Limits.ReadCache.entriesPerThread)
        precondition(pthread_setspecific(key, entries) == 0, "pthread_setspecific failed")
        return entries
    }

    private static func destroy(_ entries: UnsafeMutablePointer<Entry>) {
        for index in 0..<Limits.ReadCache.entriesPerThread {
            if let value = entries[index].value {
                Unmanaged<AnyObject>.fromOpaque(value).release()
            }
        }
        entries.deinitialize(count: Limits.ReadCache.entriesPerThread)
        entries.deallocate()
    }

    /// Runs `body` with the value `owner`'s slot published at `generation`: the one this
    /// thread kept if it read that generation before, else `load()`'s (which reads the slot
    /// under its lock; kept for the next read when an entry is free to take it). `generation`
    /// must be loaded (acquiring) before `load` reads, as the slots' `generation` does.
    @inline(__always)
    static func withValue<Value: AnyObject, Result>(
        owner: UInt64, generation: UInt64, load: () -> Value?,
        _ body: (Value?) throws -> Result
    ) rethrows -> Result {
        let entries = table()
        let mask = Limits.ReadCache.entriesPerThread - 1
        // Two places an owner's entry may be in: its own and the next (when a running read
        // pinned its own).
        let first = Int(truncatingIfNeeded: owner) & mask
        let second = (first + 1) & mask
        let index: Int
        if entries[first].owner == owner && entries[first].generation == generation {
            index = first
        } else if entries[second].owner == owner && entries[second].generation == generation {
            index = second
        } else {
            return try fill(
                entries, owner: owner, generation: generation, first, second, load, body)
        }
        entries[index].pins += 1
        defer { entries[index].pins -= 1 }
        guard let raw = entries[index].value else { return try body(nil) }
        // Sound: the entry holds it (+1), and a pinned entry is not replaced.
        return try Unmanaged<Value>.fromOpaque(raw)._withUnsafeGuaranteedRef { try body($0) }
    }

    /// A miss: `load()`, keep it in an unpinned entry of the two (this owner's stale one, an
    /// empty one, else the first that is unpinned), run `body` with it.
    private static func fill<Value: AnyObject, Result>(
        _ entries: UnsafeMutablePointer<Entry>, owner: UInt64, generation: UInt64, _ first: Int,
        _ second: Int, _ load: () -> Value?, _ body: (Value?) throws -> Result
    ) rethrows -> Result {
        let loaded = load()
        // This owner's stale entry, else an empty one, else the first unpinned one.
        func rank(_ index: Int) -> Int {
            if entries[index].pins > 0 { return 0 }
            if entries[index].owner == owner { return 3 }
            return entries[index].owner == 0 ? 2 : 1
        }
        let best = rank(second) > rank(first) ? second : first
        let victim: Int? = rank(best) > 0 ? best : nil
        if let victim {
            let replaced = entries[victim].value
            entries[victim] = Entry(
                owner: owner, generation: generation,
                value: loaded.map { Unmanaged.passRetained($0).toOpaque() })
            // Released after the entry changed: its deinit may read slots too.
            if let replaced { Unmanaged<AnyObject>.fromOpaque(replaced).release() }
        }
        return try body(loaded)
    }
}
