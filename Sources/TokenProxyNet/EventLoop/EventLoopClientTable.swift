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
/// Loop thread only (a value inside the loop).
struct EventLoopClientTable {
    /// The epoll data of the loop's wake-up eventfd.
    static let wake: UInt64 = 0
    /// The epoll data given to a descriptor whose token is not registered: its events are
    /// dropped, as they were before a client registered.
    static let unregistered: UInt64 = 0xffff_ffff

    private struct Slot {
        var client: (any EventLoopClient)?
        var generation: UInt32 = 1
    }

    private var slots: [Slot] = []
    /// Slots whose client left, reused first (so the table stays as large as the most clients
    /// the loop had at once).
    private var free: [Int] = []
    private var slotOfToken: [UInt64: Int] = [:]

    /// How many clients are registered.
    var count: Int { slotOfToken.count }

    /// Adds `client` under `token`, or replaces the client registered under it.
    mutating func insert(_ client: any EventLoopClient, token: UInt64) {
        if let index = slotOfToken[token] {
            slots[index].client = client
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
        slots[index].client = client
        slotOfToken[token] = index
    }

    /// Forgets the client under `token` (if any); events already taken for it are dropped.
    mutating func remove(token: UInt64) {
        guard let index = slotOfToken.removeValue(forKey: token) else { return }
        slots[index].client = nil
        // Never 0: generation 0 marks the wake-up and unregistered descriptors.
        slots[index].generation = slots[index].generation == .max ? 1 : slots[index].generation + 1
        free.append(index)
    }

    /// What epoll should hand back with the events of `token`'s descriptor.
    func epollData(for token: UInt64) -> UInt64 {
        guard let index = slotOfToken[token] else { return Self.unregistered }
        return UInt64(slots[index].generation) << 32 | UInt64(index)
    }

    /// The client an event with `data` is for, nil when it left (or never was).
    func client(for data: UInt64) -> (any EventLoopClient)? {
        let index = Int(truncatingIfNeeded: data & 0xffff_ffff)
        guard index < slots.count else { return nil }
        let slot = slots[index]
        guard slot.generation == UInt32(truncatingIfNeeded: data >> 32) else { return nil }
        return slot.client
    }

    /// Every registered client (a copy: clients may leave while the caller walks it).
    var clients: [any EventLoopClient] { slots.compactMap(\.client) }

    /// Forgets every client.
    mutating func removeAll() {
        self = EventLoopClientTable()
    }
}
