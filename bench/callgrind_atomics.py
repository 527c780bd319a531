#!/usr/bin/env python3
"""Counts the atomic (bus-locking) instructions a callgrind profile executed, per request.

    python3 bench/callgrind_atomics.py CALLGRIND_OUT REQUESTS [WHAT] [BINARY]...

The profile must have been written with `--dump-instr=yes` (the bench/callgrind-*.sh scripts do):
then it holds an execution count per instruction address. Every object it names (the binary,
libc, ...) is disassembled with objdump; an instruction with a `lock` prefix, or an `xchg` with a
memory operand (implicitly locked), is atomic. An object that is gone (the scripts profile a
temporary copy of the binary) is read from a BINARY argument with the same file name. Prints the atomic instructions per request, by the
function that holds them, and for Swift's reference counting (swift_retain, swift_release, ...)
the callers by calls per request, since that is where a retain can be avoided.

Why count them: instruction counts are equal for tokenproxy and nginx on the proxy path, yet at
one connection tokenproxy's user time per request was 1.5x nginx's (perf, pinned). Built with
`-assume-single-threaded` (non-atomic reference counting: unsafe, an experiment only), the same
code needed a quarter of that user time: on a core that just ran the kernel's network stack, each
locked instruction waits for the store buffer to drain. nginx executes almost none per request.
"""
import bisect
import collections
import os
import re
import subprocess
import sys

ATOMIC = re.compile(r"\block\b|\bxchg\b[^,]*\(|\bxchg\b.*,\s*\(")
RC_FUNCTIONS = ("swift_retain", "swift_release", "swift_bridgeObjectRetain",
                "swift_bridgeObjectRelease", "swift_unknownObjectRetain",
                "swift_unknownObjectRelease", "swift_unownedRetain", "swift_unownedRelease",
                "swift_unownedRetainStrong", "swift_retain_n", "swift_release_n",
                "swift_bridgeObjectRetain_n", "swift_bridgeObjectRelease_n")


def parse_profile(path):
    """{object: {address: count}}, {(object, function): first address}, calls into RC functions."""
    counts = collections.defaultdict(collections.Counter)
    first = {}
    rc_calls = collections.Counter()
    obj = fn = cfn = None
    after_call = False
    for line in open(path, errors="replace"):
        if line.startswith("ob="):
            obj = line[3:].strip()
        elif line.startswith("fn="):
            fn, after_call = line[3:].strip(), False
        elif line.startswith("cfn="):
            cfn = line[4:].strip()
        elif line.startswith("calls="):
            after_call = True
            if cfn in RC_FUNCTIONS and fn not in RC_FUNCTIONS:
                rc_calls[(fn, cfn)] += int(line.split()[0][6:])
        elif line.startswith("0x"):
            if after_call:  # the call's inclusive cost, at the call instruction
                after_call = False
                continue
            parts = line.split()
            address, cost = int(parts[0], 16), int(parts[-1])
            counts[obj][address] += cost  # Ir at this address = executions (one instruction)
            first.setdefault((obj, fn), address)
    return counts, first, rc_calls


def disassemble(path):
    """Sorted atomic instruction addresses, and symbol name -> address, of one ELF file."""
    atomic = []
    symbols = {}
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True,
                         text=True, check=False).stdout
    for line in out.splitlines():
        if line.endswith(">:"):
            address, name = line.split(" ", 1)
            symbols[name[1:-2].split("@", 1)[0]] = int(address, 16)
        elif ATOMIC.search(line):
            head = line.split(":", 1)[0].strip()
            try:
                atomic.append(int(head, 16))
            except ValueError:
                pass
    return sorted(atomic), symbols


def main():
    path, requests = sys.argv[1], int(sys.argv[2])
    what = sys.argv[3] if len(sys.argv) > 3 else "request"
    stand_ins = {os.path.basename(path): path for path in sys.argv[4:]}
    counts, first, rc_calls = parse_profile(path)
    by_function = collections.Counter()
    total = 0
    everything = sum(sum(addresses.values()) for addresses in counts.values())
    for obj, addresses in counts.items():
        if not obj.startswith("/"):
            continue
        elf = obj if os.path.exists(obj) else stand_ins.get(os.path.basename(obj))
        if elf is None:
            if sum(addresses.values()) > everything / 1000:
                print(f"warning: {obj} is gone and no stand-in was given: not counted",
                      file=sys.stderr)
            continue
        atomic, symbols = disassemble(elf)
        if not atomic:
            continue
        # Where the object was loaded: callgrind shows run-time addresses for shared objects.
        shifts = collections.Counter(address - symbols[fn] for (o, fn), address in first.items()
                                     if o == obj and fn in symbols)
        shift = shifts.most_common(1)[0][0] if shifts else 0
        names = sorted((address, name) for name, address in symbols.items())
        starts = [address for address, _ in names]
        for address, count in addresses.items():
            file_address = address - shift
            index = bisect.bisect_left(atomic, file_address)
            if index < len(atomic) and atomic[index] == file_address and count:
                total += count
                owner = names[bisect.bisect_right(starts, file_address) - 1][1] if names else "?"
                # A stripped library (libc) names only its exported symbols: the nearest one
                # before an internal function (malloc's arena lock) is not where it is.
                exact = elf != obj or not obj.endswith(".so.6")
                place = obj.rsplit("/", 1)[-1] + ("" if exact else ", nearest exported symbol")
                by_function[f"{owner} [{place}]"] += count
    print(f"{total / requests:.1f} atomic instructions per {what} (lock-prefixed or xchg with memory)")
    for name, count in by_function.most_common(int(os.environ.get("ATOMICS_TOP", "12"))):
        print(f"{count / requests:8.1f}  {name}")
    callers = int(os.environ.get("ATOMICS_CALLERS", "25"))
    if callers:
        print(f"calls into reference counting per request, by caller (top {callers}):")
    for (caller, callee), calls in rc_calls.most_common(callers):
        print(f"{calls / requests:8.1f}  {callee:26s} from {caller}")


if __name__ == "__main__":
    main()
