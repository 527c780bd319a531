/// When the memory trimmer (`Daemon+Memory.swift`) hands memory back: freed heap on a fixed
/// cadence, and the resident pages of read-only file mappings again once the daemon went quiet
/// after serving.
///
/// Why again: dropping start-up's pages after READY takes the daemon to its idle footprint,
/// but the first requests after it fault the serving code back in, and on kernels that map a
/// whole large page-cache folio per fault (ext4 on Linux 6.18) a few functions bring megabytes
/// of the binary, libcrypto and libc with them. Measured: 7.4 MiB idle, 12.8 MiB after 100
/// token requests, all of the growth file pages (anonymous memory did not move). Once the
/// process has used no CPU for a check interval, those pages are only costing RSS; dropping
/// them again is cheap (the smaps scan is a few million instructions) and what the next
/// request needs faults back in from the page cache (minor faults, no I/O).
///
/// A daemon that keeps serving never looks quiet, so its hot code is never dropped under load;
/// one that serves a trickle is dropped at most once per `idleReleaseSpacing`; an idle one
/// never again (only growth that follows a busy check counts).
package struct IdleMemoryRelease: Sendable {
    /// What one check asks the trimmer to do.
    package struct Actions: Sendable, Equatable {
        /// `malloc_trim`: due every `Limits.Host.memoryTrimInterval`.
        package var trimHeap = false
        /// Drop the releasable file mappings' pages (`ResidentFileMapping`).
        package var releaseFileMappings = false

        package init(trimHeap: Bool = false, releaseFileMappings: Bool = false) {
            self.trimHeap = trimHeap
            self.releaseFileMappings = releaseFileMappings
        }
    }

    /// Resident file KiB right after the last release; nil before the first one (start-up's
    /// release, which the trimmer does unconditionally).
    private var baselineKiB: Int?
    private var lastRelease: ContinuousClock.Instant?
    private var lastTrim: ContinuousClock.Instant?
    private var lastCPUTime: Duration?
    /// Whether a check saw the process busy since the last release.
    private var servedSinceRelease = false

    package init() {}

    /// Records a release, the resident file KiB it left (nil: unknown, the baseline stays)
    /// and the CPU time after it: the release's own CPU is not serving, so the next check
    /// measures quiet from here.
    package mutating func released(
        residentFileKiB: Int?, at now: ContinuousClock.Instant, cpuTime: Duration
    ) {
        if let residentFileKiB { baselineKiB = residentFileKiB }
        lastRelease = now
        lastCPUTime = cpuTime
        servedSinceRelease = false
    }

    /// One periodic check: `cpuTime` is the process's user + system CPU time so far,
    /// `residentFileKiB` its `RssFile`, or nil when it could not be read.
    package mutating func check(
        now: ContinuousClock.Instant, cpuTime: Duration, residentFileKiB: Int?
    ) -> Actions {
        var actions = Actions()
        if lastTrim.map({ now - $0 >= Limits.Host.memoryTrimInterval }) ?? true {
            actions.trimHeap = true
            lastTrim = now
        }
        defer { lastCPUTime = cpuTime }
        guard let lastCPUTime, let baselineKiB, let residentFileKiB else { return actions }
        guard cpuTime - lastCPUTime <= Limits.Host.idleCPUPerCheck else {
            servedSinceRelease = true
            return actions
        }
        // Quiet, and nothing served since the last release: what grew is the daemon's own
        // timers (this check, `STATUS=`, the watchdog) faulting their code back in; it would
        // only grow back after a release, so it becomes part of the baseline.
        guard servedSinceRelease else {
            self.baselineKiB = max(baselineKiB, residentFileKiB)
            return actions
        }
        guard residentFileKiB - baselineKiB >= Limits.Host.idleReleaseGrowthKiB,
            lastRelease.map({ now - $0 >= Limits.Host.idleReleaseSpacing }) ?? true
        else { return actions }
        actions.releaseFileMappings = true
        return actions
    }

    /// The `RssFile:` value of `/proc/self/status` in KiB, or nil when it has none.
    package static func residentFileKiB(status: [UInt8]) -> Int? {
        let label = Array("RssFile:".utf8)
        var index = 0
        while index + label.count <= status.count {
            let atLineStart = index == 0 || status[index - 1] == UInt8(ascii: "\n")
            if atLineStart, status[index..<index + label.count].elementsEqual(label) {
                var position = index + label.count
                while position < status.count,
                    status[position] == UInt8(ascii: " ") || status[position] == UInt8(ascii: "\t")
                {
                    position += 1
                }
                var value = 0
                var digits = 0
                while position < status.count, digits < 18,
                    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(status[position])
                {
                    value = value * 10 + Int(status[position] - UInt8(ascii: "0"))
                    position += 1
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            index += 1
        }
        return nil
    }
}
