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

    /// Entries exactly as Linux 6.18 writes them (`cat /proc/self/smaps` on the build host,
    /// every field line, the trailing space after `VmFlags`), read as bytes.
    @Test func readsTheKernelsFullFormat() {
        func kernelEntry(_ header: String, rss: Int, anonymous: Int, flags: String) -> String {
            let fields = [
                ("Size", rss), ("KernelPageSize", 4), ("MMUPageSize", 4), ("Rss", rss),
                ("Pss", rss), ("Pss_Dirty", 0), ("Shared_Clean", 0), ("Shared_Dirty", 0),
                ("Private_Clean", rss - anonymous), ("Private_Dirty", anonymous),
                ("Referenced", rss), ("Anonymous", anonymous), ("KSM", 0), ("LazyFree", 0),
                ("AnonHugePages", 0), ("ShmemPmdMapped", 0), ("FilePmdMapped", 0),
                ("Shared_Hugetlb", 0), ("Private_Hugetlb", 0), ("Swap", 0), ("SwapPss", 0),
                ("Locked", 0),
            ]
            let lines = fields.map { name, kib in
                let label = name + ":"
                let number = String(kib)
                return label
                    + String(repeating: " ", count: max(1, 26 - label.count - number.count))
                    + number + " kB"
            }
            return
                ([header] + lines + [
                    "THPeligible:           0", "ProtectionKey:         0", "VmFlags: \(flags) ",
                ])
                .joined(separator: "\n") + "\n"
        }
        let text =
            kernelEntry(
                "55baac917000-55baac919000 r--p 00000000 fe:00 253911                     /usr/bin/cat",
                rss: 8, anonymous: 0, flags: "rd mr mw me")
            + kernelEntry(
                "55baac919000-55baac91e000 r-xp 00002000 fe:00 253911                     /usr/bin/cat",
                rss: 20, anonymous: 0, flags: "rd ex mr mw me")
            + kernelEntry(
                "55baac921000-55baac922000 r--p 00009000 fe:00 253911                     /usr/bin/cat",
                rss: 4, anonymous: 4, flags: "rd mr mw me ac")
            + kernelEntry(
                "55baac922000-55baac923000 rw-p 0000a000 fe:00 253911                     /usr/bin/cat",
                rss: 4, anonymous: 4, flags: "rd wr mr mw me ac")
            + kernelEntry(
                "55bab4b0e000-55bab4b2f000 rw-p 00000000 00:00 0                          [heap]",
                rss: 8, anonymous: 8, flags: "rd wr mr mw me ac")
            + kernelEntry(
                "7f2a1c628000-7f2a1c7b0000 r-xp 00028000 fe:00 262350                     /usr/lib/x86_64-linux-gnu/libc.so.6",
                rss: 1056, anonymous: 0, flags: "rd ex mr mw me")
        #expect(
            ResidentFileMapping.releasable(smaps: Array(text.utf8)) == [
                ResidentFileMapping(
                    start: 0x55ba_ac91_7000, end: 0x55ba_ac91_9000, path: "/usr/bin/cat",
                    residentKiB: 8),
                ResidentFileMapping(
                    start: 0x55ba_ac91_9000, end: 0x55ba_ac91_e000, path: "/usr/bin/cat",
                    residentKiB: 20),
                ResidentFileMapping(
                    start: 0x7f2a_1c62_8000, end: 0x7f2a_1c7b_0000,
                    path: "/usr/lib/x86_64-linux-gnu/libc.so.6", residentKiB: 1056),
            ])
        // The same without the final newline (a read cut at the end of a line).
        #expect(ResidentFileMapping.releasable(smaps: Array(text.utf8.dropLast())).count == 3)
    }

    /// Numbers that do not fit, signs, upper-case hex and a `lo` inside another flag.
    @Test func readsNumbersAndFlagsStrictly() {
        let huge =
            "1000-2000 r-xp 00000000 fe:00 1 /bin/x\nRss: 99999999999999999999 kB\nAnonymous: 0 kB\nVmFlags: rd\n"
        #expect(ResidentFileMapping.releasable(smaps: huge[...]).isEmpty)
        let signed =
            "1000-2000 r-xp 00000000 fe:00 1 /bin/x\nRss: -4 kB\nAnonymous: 0 kB\nVmFlags: rd\n"
        #expect(ResidentFileMapping.releasable(smaps: signed[...]).isEmpty)
        let wideAddress =
            "10000000000000000-10000000000000001 r-xp 0 fe:00 1 /bin/x\nRss: 4 kB\nAnonymous: 0 kB\nVmFlags: rd\n"
        #expect(ResidentFileMapping.releasable(smaps: wideAddress[...]).isEmpty)
        let upper =
            "ABC000-ABD000 r-xp 0 fe:00 1 /bin/x\nRss: 4 kB\nAnonymous: 0 kB\nVmFlags: rd  slo lox\n"
        #expect(
            ResidentFileMapping.releasable(smaps: upper[...]) == [
                ResidentFileMapping(start: 0xABC000, end: 0xABD000, path: "/bin/x", residentKiB: 4)
            ])
        let backwards = "2000-1000 r-xp 0 fe:00 1 /bin/x\nRss: 4 kB\nAnonymous: 0 kB\nVmFlags: rd\n"
        #expect(ResidentFileMapping.releasable(smaps: backwards[...]).isEmpty)
    }
}
