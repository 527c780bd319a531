/// The clients of one `EventLoop`, found from the 64-bit value epoll hands back with each event
/// by an array index rather than a hash lookup.
///
/// Clients register under their token (`EventLoopToken`: unique per loop, chosen by their
/// server); epoll carries not the token but `generation << 32 | slot`. Dispatching an event is
/// then an index and a compare — measured with callgrind, the dictionary keyed by token cost
/// about 120 instructions per event (SipHash and probing), paid on every request. The token is
/// looked up only when a client registers or changes its epoll interest (`epoll_ctl`), which the
/// steady state does not do.
///
/// A slot's generation changes when its client leaves, so an event already taken for a client
/// that left (or for a slot reused since, within the same `epoll_wait` batch) never reaches
/// anyone: the guarantee the token-keyed dictionary gave. Generations start at 1; the wake-up
/// eventfd's data is 0 and `unregistered` has generation 0, so neither can match a client.
/// Loop thread only (a value inside the loop). Not copyable: it owns its clients' references
/// itself (`Entry`), released by `remove`/`releaseRetired`, `removeAll` or its `deinit`.
struct EventLoopClientTable: ~Copyable {
    /// The epoll data of the loop's wake-up eventfd.
    static let wake: UInt64 = 0
    /// The epoll data given to a descriptor whose token is not registered: its events are
    /// dropped, as they were before a client registered.
    static let unregistered: UInt64 = 0xffff_ffff

    /// A registered client: the object, retained by the table while it is registered (from
    /// `insert` to `remove`, then in `retired` until the batch ends), with its dynamic type:
    /// how an event reaches it (`EventLoopClient.handleEvents(of:_:)`) without a retain and a
    /// release. Those are atomic instructions, and an event is dispatched on every request
    /// (`bench/callgrind_atomics.py`); an `any EventLoopClient` read from the table was
    /// retained for the call.
    typealias Entry = (object: Unmanaged<AnyObject>, type: any EventLoopClient.Type)

    private struct Slot {
        var entry: Entry?
        var generation: UInt32 = 1
    }

    private var slots: [Slot] = []
    /// Slots whose client left, reused first (so the table stays as large as the most clients
    /// the loop had at once).
    private var free: [Int] = []
    private var slotOfToken: [UInt64: Int] = [:]
    /// Clients that left during the current batch, still retained: a client usually leaves
    /// from inside its own `handleEvents` (it closes), which runs without a retain of its own,
    /// so the table must not release it before that call returns. `releaseRetired()` lets go
    /// of them once the batch is over.
    private var retired: [Unmanaged<AnyObject>] = []

    init() {}

    deinit {
        releaseEverything()
    }

    /// Releases every client the table holds, registered or retired (it forgets nothing).
    private func releaseEverything() {
        for slot in slots { slot.entry?.object.release() }
        for object in retired { object.release() }
    }

    /// How many clients are registered.
    var count: Int { slotOfToken.count }

    /// Adds `client` under `token`, or replaces the client registered under it.
    mutating func insert(_ client: any EventLoopClient, token: UInt64) {
        let entry: Entry = (Unmanaged<AnyObject>.passRetained(client), Swift.type(of: client))
        if let index = slotOfToken[token] {
            if let previous = slots[index].entry { retired.append(previous.object) }
            slots[index].entry = entry
            return
        }
        let index: Int
        if let reused = free.popLast() {
            index = reused
        } else {
            index = slots.count
            precondition(index < 0xffff_ffff, "more event loop clients than slots")
            slots.append(Slot())
        }
        slots[index].entry = entry
        slotOfToken[token] = index
    }

    /// Forgets the client under `token` (if any); events already taken for it are dropped.
    /// The table keeps it alive until `releaseRetired()`.
    mutating func remove(token: UInt64) {
        guard let index = slotOfToken.removeValue(forKey: token) else { return }
        if let entry = slots[index].entry { retired.append(entry.object) }
        slots[index].entry = nil
        // Never 0: generation 0 marks the wake-up and unregistered descriptors.
        slots[index].generation = slots[index].generation == .max ? 1 : slots[index].generation + 1
        free.append(index)
    }

    /// Releases the clients that left since the last call: the loop calls it between
    /// batches, when no event is being handled.
    mutating func releaseRetired() {
        guard !retired.isEmpty else { return }
        let leaving = retired
        retired.removeAll(keepingCapacity: true)
        // After the table is consistent again: a client's deinit may run here.
        for object in leaving { object.release() }
    }

    /// What epoll should hand back with the events of `token`'s descriptor.
    func epollData(for token: UInt64) -> UInt64 {
        guard let index = slotOfToken[token] else { return Self.unregistered }
        return UInt64(slots[index].generation) << 32 | UInt64(index)
    }

    /// The client an event with `data` is for, unretained, with its type; nil when it left
    /// (or never was). Valid until `releaseRetired()`, even if the client leaves meanwhile.
    @inline(__always)
    func target(for data: UInt64) -> Entry? {
        let index = Int(truncatingIfNeeded: data & 0xffff_ffff)
        guard index < slots.count else { return nil }
        let slot = slots[index]
        guard slot.generation == UInt32(truncatingIfNeeded: data >> 32) else { return nil }
        return slot.entry
    }

    /// The client an event with `data` is for, nil when it left (or never was).
    func client(for data: UInt64) -> (any EventLoopClient)? {
        guard let (object, type) = target(for: data) else { return nil }
        return type.client(of: object)
    }

    /// Every registered client (a copy: clients may leave while the caller walks it).
    var clients: [any EventLoopClient] {
        slots.compactMap { slot in slot.entry.map { $0.type.client(of: $0.object) } }
    }

    /// Forgets every client.
    mutating func removeAll() {
        releaseEverything()
        slots = []
        free = []
        slotOfToken = [:]
        retired = []
    }
}

extension EventLoopClient {
    /// `object` (a `Self`, which the table keeps alive) as the client it is.
    static func client(of object: Unmanaged<AnyObject>) -> any EventLoopClient {
        unsafeDowncast(object.takeUnretainedValue(), to: Self.self)
    }

    /// `handleEvents` of `object` (a `Self`, kept alive by the table), borrowed: no retain.
    static func handleEvents(of object: Unmanaged<AnyObject>, _ events: UInt32) {
        object._withUnsafeGuaranteedRef { unsafeDowncast($0, to: Self.self).handleEvents(events) }
    }

    /// `runPosted` of `object` (a `Self`, kept alive by the table), borrowed: no retain.
    static func runPosted(of object: Unmanaged<AnyObject>) {
        object._withUnsafeGuaranteedRef { unsafeDowncast($0, to: Self.self).runPosted() }
    }
}
