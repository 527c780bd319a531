#!/usr/bin/env python3
"""Where a running process's resident memory is: a probe for footprint work (bench/README.md).

Prints, for PID:
1. resident KiB per mapping group from /proc/PID/smaps (the binary, each shared library, the
   heap, thread stacks and other anonymous memory), split into file-backed and anonymous;
2. for the main binary, which ELF sections its resident pages belong to: the present bit of
   /proc/PID/pagemap for every page of every mapping of the binary, each page's file offset
   matched against the section table (`readelf -S -W`). Pages that no section covers (ELF
   headers, padding) count as "(none)".

Run: footprint_maps.py PID [--top 25]. Needs to read /proc/PID/pagemap (root or the same user;
only the present bit is used, so no capability is needed).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import struct
import subprocess

PAGE = os.sysconf("SC_PAGE_SIZE")


def smaps(pid: int) -> list[dict]:
    """The mappings of /proc/PID/smaps with their name and Rss/Anonymous in KiB."""
    maps: list[dict] = []
    current: dict | None = None
    header = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+\s*(.*)$")
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = header.match(line)
            if m:
                current = {"start": int(m[1], 16), "end": int(m[2], 16), "perms": m[3],
                           "offset": int(m[4], 16), "name": m[5].strip(), "Rss": 0,
                           "Anonymous": 0}
                maps.append(current)
            elif current is not None and ":" in line:
                key, _, value = line.partition(":")
                if key in ("Rss", "Anonymous"):
                    current[key] = int(value.split()[0])
    return maps


def group(name: str, binary: str, stacks: set[str]) -> str:
    if name == binary:
        return "binary " + os.path.basename(binary)
    if name.startswith("/"):
        return os.path.basename(name)
    if name == "[heap]":
        return "[heap] (main arena)"
    if name in stacks or name.startswith("[stack"):
        return "[stack]"
    return name or "anonymous (arenas, thread stacks, mmap'd buffers)"


def sections(binary: str) -> list[tuple[int, int, str]]:
    """(file offset, size, name) of every section that occupies file bytes."""
    out = subprocess.run(["readelf", "-S", "-W", binary], capture_output=True, text=True,
                         check=True).stdout
    result = []
    row = re.compile(r"\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)")
    for line in out.splitlines():
        m = row.search(line)
        if m and m[2] != "NOBITS" and int(m[5], 16) > 0:
            result.append((int(m[4], 16), int(m[5], 16), m[1]))
    return sorted(result)


def resident_pages(pid: int, maps: list[dict], binary: str):
    """Yields (mapping, page index) for every resident page of the binary's mappings
    (bit 63 of a /proc/PID/pagemap entry: the page is present)."""
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for m in maps:
            if m["name"] != binary:
                continue
            pages = (m["end"] - m["start"]) // PAGE
            pagemap.seek(m["start"] // PAGE * 8)
            raw = pagemap.read(pages * 8)
            for i in range(pages):
                (entry,) = struct.unpack_from("<Q", raw, i * 8)
                if entry >> 63 & 1:
                    yield m, i


def binary_pages(pid: int, maps: list[dict], binary: str) -> collections.Counter:
    """Resident KiB of the binary per section (and per writable/private state)."""
    table = sections(binary)
    counts: collections.Counter = collections.Counter()
    for m, i in resident_pages(pid, maps, binary):
        offset = m["offset"] + i * PAGE
        # A page may hold the end of one section and the start of the next: count it
        # for the section holding its first byte past the page start (or the page's
        # largest share).
        best, share = "(none)", 0
        for start, size, name in table:
            lo, hi = max(start, offset), min(start + size, offset + PAGE)
            if hi - lo > share:
                best, share = name, hi - lo
            if start > offset + PAGE:
                break
        counts[f"{best} [{m['perms']}]"] += PAGE // 1024
    return counts


def module_of(symbol: str) -> str:
    """The library a symbol of the static binary comes from, by its mangled name: Swift
    symbols name their module (`$s10Foundation…`, `$ss…` the standard library), C++ ones their
    namespace (`_ZN6icu_74…`, `_ZN5swift…` the runtime); anything else is C."""
    if symbol.startswith(("$s", "_$s")):
        rest = symbol.split("$s", 1)[1]
        if rest.startswith("s"):
            return "Swift"
        digits = re.match(r"(\d+)", rest)
        if digits:
            return rest[len(digits[1]):len(digits[1]) + int(digits[1])]
        return "Swift (generic/other)"
    m = re.match(r"_ZN[KVL]*(\d+)", symbol)
    if m:
        name = symbol[m.end():m.end() + int(m[1])]
        return "ICU" if name.startswith("icu_") else f"C++ {name}"
    if symbol.startswith(("u_", "ucol_", "ucnv_", "ubrk_", "ures_", "udata_", "uloc_")):
        return "ICU"
    if symbol.startswith(("__CF", "CF", "_CF")):
        return "CoreFoundation"
    if symbol.startswith(("swift_", "_swift")):
        return "Swift runtime"
    return "C/other"


def binary_modules(pid: int, maps: list[dict], binary: str) -> collections.Counter:
    """Resident KiB of the binary per library (by the symbol nearest the middle of each page:
    code, read-only data and data alike)."""
    out = subprocess.run(["nm", "-n", "--defined-only", binary], capture_output=True,
                         text=True).stdout
    symbols: list[tuple[int, str]] = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwWrRdDbBvV":
            symbols.append((int(parts[0], 16), parts[2]))
    if not symbols:
        return collections.Counter()
    import bisect
    addresses = [a for a, _ in symbols]
    base = min(m["start"] - m["offset"] for m in maps if m["name"] == binary)
    counts: collections.Counter = collections.Counter()
    for m, i in resident_pages(pid, maps, binary):
        address = m["start"] + i * PAGE - base
        index = bisect.bisect_right(addresses, address + PAGE // 2) - 1
        counts[module_of(symbols[index][1]) if index >= 0 else "(none)"] += PAGE // 1024
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pid", type=int)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    binary = os.readlink(f"/proc/{args.pid}/exe")
    maps = smaps(args.pid)
    file_kib: collections.Counter = collections.Counter()
    anon_kib: collections.Counter = collections.Counter()
    for m in maps:
        g = group(m["name"], binary, set())
        anon_kib[g] += m["Anonymous"]
        file_kib[g] += m["Rss"] - m["Anonymous"]
    total = sum(file_kib.values()) + sum(anon_kib.values())
    print(f"pid {args.pid} ({binary}): Rss {total} KiB "
          f"(file {sum(file_kib.values())}, anon {sum(anon_kib.values())})")
    print(f"{'KiB file':>9} {'KiB anon':>9}  mapping")
    for g in sorted(set(file_kib) | set(anon_kib), key=lambda g: -(file_kib[g] + anon_kib[g])):
        if file_kib[g] + anon_kib[g]:
            print(f"{file_kib[g]:>9} {anon_kib[g]:>9}  {g}")
    print(f"\nresident pages of the binary by section (top {args.top}):")
    for name, kib in binary_pages(args.pid, maps, binary).most_common(args.top):
        print(f"{kib:>9}  {name}")
    print(f"\nresident pages of the binary by library (top {args.top}):")
    for name, kib in binary_modules(args.pid, maps, binary).most_common(args.top):
        print(f"{kib:>9}  {name}")


if __name__ == "__main__":
    main()
