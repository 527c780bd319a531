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

    /// The mappings of `smaps` (the text of `/proc/self/smaps`) whose resident pages may be
    /// dropped (see the type's comment), in address order. A mapping with nothing resident is
    /// left out; malformed text yields fewer mappings, never an unsafe one: a mapping counts
    /// only when its `Rss`, `Anonymous` and `VmFlags` lines were all seen.
    package static func releasable(smaps text: Substring) -> [ResidentFileMapping] {
        var result: [ResidentFileMapping] = []
        var current: Candidate?
        func finish() {
            if let candidate = current, let mapping = candidate.mapping { result.append(mapping) }
            current = nil
        }
        for line in text.split(separator: "\n") {
            if let header = Candidate(header: line) {
                finish()
                current = header
                continue
            }
            guard current != nil, let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon]
            let value = line[line.index(after: colon)...]
            switch key {
            case "Rss": current?.rss = Int(value.split(separator: " ").first ?? "")
            case "Anonymous": current?.anonymous = Int(value.split(separator: " ").first ?? "")
            case "VmFlags": current?.locked = value.split(separator: " ").contains("lo")
            default: break
            }
        }
        finish()
        return result
    }

    /// One smaps entry while its field lines are read.
    private struct Candidate {
        var start: UInt
        var end: UInt
        var path: String
        var eligiblePermissions: Bool
        var rss: Int?
        var anonymous: Int?
        var locked: Bool?

        /// `START-END PERMS OFFSET DEV INODE [PATH]`, or nil for a field line.
        init?(header line: Substring) {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count >= 5, let dash = fields[0].firstIndex(of: "-"),
                let start = UInt(fields[0][..<dash], radix: 16),
                let end = UInt(fields[0][fields[0].index(after: dash)...], radix: 16),
                start < end, fields[1].utf8.count == 4
            else { return nil }
            let permissions = Array(fields[1].utf8)
            self.start = start
            self.end = end
            path = fields.count > 5 ? String(fields[5].drop(while: { $0 == " " })) : ""
            eligiblePermissions =
                permissions[0] == UInt8(ascii: "r") && permissions[1] == UInt8(ascii: "-")
                && permissions[3] == UInt8(ascii: "p") && path.hasPrefix("/")
        }

        var mapping: ResidentFileMapping? {
            guard eligiblePermissions, let rss, rss > 0, anonymous == 0, locked == false else {
                return nil
            }
            return ResidentFileMapping(start: start, end: end, path: path, residentKiB: rss)
        }
    }
}
