/// Which of the process's file mappings may hand their resident pages back to the kernel after
/// start-up, read from the text of `/proc/self/smaps`.
///
/// Why: on kernels with large page-cache folios (ext4 since Linux 6.16, and 6.18 maps a whole
/// folio on a fault), touching one page of the executable maps up to megabytes of it. Start-up
/// (argument parsing, configuration, key loading, OpenSSL and the runtime's first lookups)
/// touches code spread over the whole 80 MB binary and the shared libraries, so about 19 MiB of
/// the binary stayed resident though the serving code needs far less (measured: see
/// bench/results/footprint-2026-12-03-*.md). Dropping the page-table entries of these
/// mappings once start-up is over lets only what runs afterwards fault back in.
///
/// Only mappings whose every resident page is still the file's own are safe: private,
/// not writable, backed by a file, no anonymous (copied-on-write) page — so not the
/// relocated RELRO part of the binary or a library, which `MADV_DONTNEED` would reset to the
/// file's unrelocated bytes — and not locked in memory (`VmFlags` `lo`).
package struct ResidentFileMapping: Sendable, Equatable {
    /// The mapping's first address.
    package var start: UInt
    /// One past its last address.
    package var end: UInt
    /// The mapped file.
    package var path: String
    /// Resident KiB when smaps was read.
    package var residentKiB: Int

    package init(start: UInt, end: UInt, path: String, residentKiB: Int) {
        self.start = start
        self.end = end
        self.path = path
        self.residentKiB = residentKiB
    }

    /// The mappings of `smaps` (the bytes of `/proc/self/smaps`) whose resident pages may be
    /// dropped (see the type's comment), in address order. A mapping with nothing resident is
    /// left out; malformed text yields fewer mappings, never an unsafe one: a mapping counts
    /// only when its `Rss`, `Anonymous` and `VmFlags` lines were all seen.
    ///
    /// Reads the bytes in place (`ResidentFileMapping+Scan.swift`): splitting the ~100 KiB text
    /// into `Substring` lines and fields cost about 120 M instructions per call, and it runs
    /// after READY and after every reload.
    package static func releasable(smaps bytes: [UInt8]) -> [ResidentFileMapping] {
        bytes.withUnsafeBufferPointer { releasable(smaps: $0) }
    }

    /// The same, for smaps read as text.
    package static func releasable(smaps text: Substring) -> [ResidentFileMapping] {
        releasable(smaps: Array(text.utf8))
    }

    private static func releasable(smaps bytes: UnsafeBufferPointer<UInt8>) -> [ResidentFileMapping]
    {
        var result: [ResidentFileMapping] = []
        var current: Candidate?
        func finish() {
            if let candidate = current, let mapping = candidate.mapping {
                result.append(mapping)
            }
            current = nil
        }
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            let line = SmapsLine(bytes: bytes, start: lineStart, end: lineEnd)
            lineStart = lineEnd + 1
            if let header = Candidate(header: line) {
                finish()
                current = header
                continue
            }
            guard current != nil, let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                continue
            }
            let key = line.prefix(upTo: colon)
            let value = line.suffix(from: colon + 1)
            if key.equals("Rss") {
                current?.rss = value.firstField.decimal
            } else if key.equals("Anonymous") {
                current?.anonymous = value.firstField.decimal
            } else if key.equals("VmFlags") {
                current?.locked = value.containsField("lo")
            }
        }
        finish()
        return result
    }

    /// One smaps entry while its field lines are read.
    private struct Candidate {
        var start: UInt
        var end: UInt
        var path: SmapsLine
        var eligiblePermissions: Bool
        var rss: Int?
        var anonymous: Int?
        var locked: Bool?

        /// `START-END PERMS OFFSET DEV INODE [PATH]`, or nil for a field line.
        init?(header line: SmapsLine) {
            var rest = line
            let range = rest.nextField()
            let permissions = rest.nextField()
            guard !rest.nextField().isEmpty, !rest.nextField().isEmpty, !rest.nextField().isEmpty,
                let dash = range.firstIndex(of: UInt8(ascii: "-")),
                let start = range.prefix(upTo: dash).hexadecimal,
                let end = range.suffix(from: dash + 1).hexadecimal,
                start < end, permissions.count == 4
            else { return nil }
            self.start = start
            self.end = end
            path = rest.droppingLeadingSpaces
            eligiblePermissions =
                permissions[0] == UInt8(ascii: "r") && permissions[1] == UInt8(ascii: "-")
                && permissions[3] == UInt8(ascii: "p") && path.first == UInt8(ascii: "/")
        }

        var mapping: ResidentFileMapping? {
            guard eligiblePermissions, let rss, rss > 0, anonymous == 0, locked == false else {
                return nil
            }
            return ResidentFileMapping(start: start, end: end, path: path.string, residentKiB: rss)
        }
    }
}
