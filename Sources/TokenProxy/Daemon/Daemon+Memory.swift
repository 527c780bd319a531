import Dispatch
import Logging
import Synchronization
import TokenProxyCore
import TokenProxyPosix

extension Daemon {
    /// Returns memory the daemon no longer needs to the kernel, from a Dispatch timer: first
    /// `Limits.Host.firstMemoryTrimDelay` after READY, then every `memoryCheckInterval`.
    ///
    /// - Freed heap, every `memoryTrimInterval` (`malloc_trim`): glibc keeps what a burst of
    ///   connections freed (their read buffers, allocated on the event-loop threads' arenas)
    ///   resident for good: measured, 1,000 idle token API connections opened and closed again
    ///   left RSS 17 MB above idle until `malloc_trim(0)` gave it all back. When nothing is
    ///   free, a trim only walks the arenas' free lists.
    /// - The page-table entries of the executable's and libraries' read-only file mappings,
    ///   at the first check and the first after each reload (`releaseFileMappings`): start-up
    ///   code is not needed again, and large page-cache folios make it expensive to keep. And
    ///   again when the daemon went quiet after serving had faulted megabytes back in
    ///   (`IdleMemoryRelease` decides, from `getrusage` and `RssFile`).
    func startMemoryTrimmer() -> DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(
            queue: DispatchQueue(label: "tokenproxy.memory"))
        let interval = Limits.Host.memoryCheckInterval
        timer.schedule(
            deadline: .now() + Self.dispatchInterval(Limits.Host.firstMemoryTrimDelay),
            repeating: Self.dispatchInterval(interval),
            leeway: Self.dispatchInterval(interval / 4))
        let state = MemoryTrimState()
        timer.setEventHandler { [self] in
            let startUp = fileMappingsToRelease.withLock { pending in
                defer { pending = false }
                return pending
            }
            let actions = state.policy.withLock { policy in
                policy.check(
                    now: .now, cpuTime: (try? Posix.processCPUTime()) ?? .zero,
                    residentFileKiB: Self.residentFileKiB())
            }
            guard startUp || actions.releaseFileMappings || actions.trimHeap else { return }
            if startUp || actions.releaseFileMappings {
                releaseFileMappings(after: startUp ? "start-up" : "serving")
                let left = Self.residentFileKiB()
                let cpuTime = (try? Posix.processCPUTime()) ?? .zero
                state.policy.withLock { policy in
                    policy.released(residentFileKiB: left, at: .now, cpuTime: cpuTime)
                }
            }
            // After the smaps buffer is freed, so its pages go back too.
            if startUp || actions.trimHeap { Posix.releaseFreeMemory() }
        }
        timer.resume()
        return timer
    }

    /// This process's `RssFile` in KiB (`/proc/self/status`).
    private static func residentFileKiB() -> Int? {
        Posix.readKernelBytes("/proc/self/status", limit: Limits.Host.procFileBytes)
            .flatMap(IdleMemoryRelease.residentFileKiB(status:))
    }

    /// Drops the resident pages of every read-only file mapping that holds no private copy
    /// (`ResidentFileMapping.releasable`): measured on Linux 6.18 with ext4, where a fault maps
    /// a whole large folio, this took the binary's resident pages from about 19 MiB to what
    /// serving touches again. The pages stay in the page cache; only what runs afterwards
    /// faults back in (a minor fault, no I/O). Logged at debug with the KiB released and `phase`
    /// (`start-up`: after READY or a reload; `serving`: once quiet after requests).
    func releaseFileMappings(after phase: String) {
        guard
            let smaps = Posix.readKernelBytes(
                "/proc/self/smaps", limit: Limits.Host.procSmapsBytes)
        else { return }
        var released = 0
        for mapping in ResidentFileMapping.releasable(smaps: smaps) {
            do {
                try Posix.dropFileMappedPages(start: mapping.start, end: mapping.end)
                released += mapping.residentKiB
            } catch {
                logger.debug("could not release a file mapping: \(error)")
            }
        }
        logger.debug(
            "released file-mapped pages", metadata: ["kib": "\(released)", "after": "\(phase)"])
    }

    private static func dispatchInterval(_ duration: Duration) -> DispatchTimeInterval {
        .milliseconds(Int(duration.components.seconds * 1000))
    }
}

/// The trimmer's decision state, owned by its timer's serial queue (the `Mutex` only makes
/// that visible to the compiler).
private final class MemoryTrimState: Sendable {
    let policy = Mutex(IdleMemoryRelease())
}
