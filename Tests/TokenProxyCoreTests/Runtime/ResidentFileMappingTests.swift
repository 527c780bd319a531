import Testing

@testable import TokenProxyCore

@Suite(.timeLimit(.minutes(1)))
struct ResidentFileMappingTests {
    /// One smaps entry: the header and the fields `releasable` reads, padded like the kernel's.
    private func entry(
        _ range: String, _ permissions: String, path: String = "/usr/bin/tokenproxy",
        rss: Int = 64, anonymous: Int = 0, flags: String = "rd ex mr mw me"
    ) -> String {
        """
        \(range) \(permissions) 00000000 fe:00 5369034                    \(path)
        Size:               2048 kB
        Rss:                \(rss) kB
        Private_Clean:      \(rss - anonymous) kB
        Anonymous:          \(anonymous) kB
        THPeligible:           0
        VmFlags: \(flags) 

        """
    }

    @Test func takesPrivateReadOnlyFileMappingsWithoutPrivateCopies() {
        let text =
            entry("55e7b576f000-55e7b6e83000", "r-xp", rss: 15168)
            + entry("7f0000001000-7f0000002000", "r--p", path: "/usr/lib/libcrypto.so.3", rss: 4)
        #expect(
            ResidentFileMapping.releasable(smaps: text[...]) == [
                ResidentFileMapping(
                    start: 0x55e7_b576_f000, end: 0x55e7_b6e8_3000, path: "/usr/bin/tokenproxy",
                    residentKiB: 15168),
                ResidentFileMapping(
                    start: 0x7f00_0000_1000, end: 0x7f00_0000_2000,
                    path: "/usr/lib/libcrypto.so.3", residentKiB: 4),
            ])
    }

    /// The relocated RELRO segment is read-only but holds private copies: dropping it would
    /// put the file's unrelocated pointers back, so it must never be taken.
    @Test func leavesMappingsWithCopiedPagesAlone() {
        let relro = entry("55e7b6e84000-55e7b6f24000", "r--p", rss: 640, anonymous: 640)
        let partly = entry("55e7b6f24000-55e7b6f34000", "r--p", rss: 64, anonymous: 4)
        #expect(ResidentFileMapping.releasable(smaps: (relro + partly)[...]).isEmpty)
    }

    @Test func leavesWritableSharedAnonymousAndLockedMappingsAlone() {
        let text =
            entry("1000-2000", "rw-p")
            + entry("2000-3000", "r--s")
            + entry("3000-4000", "r--p", path: "")
            + entry("4000-5000", "r--p", path: "[vdso]")
            + entry("5000-6000", "r-xp", flags: "rd ex mr mw me lo")
            + entry("6000-7000", "---p", rss: 0)
            + entry("7000-8000", "r-xp", rss: 0)
        #expect(ResidentFileMapping.releasable(smaps: text[...]).isEmpty)
    }

    /// Text cut off before a mapping's fields (a short read) or fields that do not parse never
    /// make a mapping eligible.
    @Test func needsEveryFieldItDecidesOn() {
        let header = "1000-2000 r-xp 00000000 fe:00 1 /usr/bin/tokenproxy\n"
        #expect(ResidentFileMapping.releasable(smaps: header[...]).isEmpty)
        let noAnonymous = header + "Rss: 4 kB\nVmFlags: rd ex\n"
        #expect(ResidentFileMapping.releasable(smaps: noAnonymous[...]).isEmpty)
        let garbled = header + "Rss: 4 kB\nAnonymous: x kB\nVmFlags: rd ex\n"
        #expect(ResidentFileMapping.releasable(smaps: garbled[...]).isEmpty)
        #expect(ResidentFileMapping.releasable(smaps: "garbage\n-\n"[...]).isEmpty)
    }

    @Test func keepsPathsWithSpaces() {
        let text = entry("1000-2000", "r-xp", path: "/opt/my tools/tokenproxy (deleted)")
        #expect(
            ResidentFileMapping.releasable(smaps: text[...]).map(\.path) == [
                "/opt/my tools/tokenproxy (deleted)"
            ])
    }
}
