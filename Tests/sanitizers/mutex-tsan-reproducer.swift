// Shows, without any tokenproxy code, that ThreadSanitizer reports a race on state that a
// `Synchronization.Mutex` protects whenever two threads contend for the lock (Linux, swift.org
// toolchain 6.x). `Mutex.withLock`'s fast path (one compare-exchange) is inlined into our
// instrumented code, but a contended lock is taken and handed over by `_lockSlow`/`_unlockSlow`
// (spin, then FUTEX_LOCK_PI/FUTEX_UNLOCK_PI) inside `libswiftSynchronization.so`, which is not
// built with TSan and carries no `__tsan_acquire`/`__tsan_release` annotations: TSan never sees
// the happens-before the lock gives. The count still comes out exact, so the exclusion is real.
//
//   swiftc -sanitize=thread -Onone -g mutex-tsan-reproducer.swift -o repro
//   ./repro contended   # Mutex, two threads contending: TSan reports a race (exit 66)
//   ./repro serial      # Mutex, the same two threads one after the other: clean
//   ./repro pthread     # pthread_mutex_t, contending: clean (TSan intercepts pthread)
//   ./repro unlocked    # a real race next to the Mutex: reported
//
// Linked with mutex-tsan-annotations.c (`-Xlinker mutex-tsan-annotations.o`), `contended` is
// clean and `unlocked` is still reported. scripts/sanitize checks all of this before the suite,
// so a toolchain that fixes the defect (or changes Mutex under the annotations) is noticed.
import Glibc
import Synchronization

let mode = CommandLine.arguments.dropFirst().first ?? "contended"
let iterations = 20_000

final class Shared: @unchecked Sendable {
    let mutex = Mutex<Int>(0)
    var plain = 0
    var pthreadLock = pthread_mutex_t()
    init() { pthread_mutex_init(&pthreadLock, nil) }
}
let shared = Shared()

/// Holds the lock for a while so that the other thread spins and then blocks in the kernel.
func criticalSection(_ value: inout Int) {
    for _ in 0..<50 {
        value &+= 1
        value &-= 1
    }
    value += 1
}

func work() {
    for _ in 0..<iterations {
        switch mode {
        case "pthread":
            pthread_mutex_lock(&shared.pthreadLock)
            criticalSection(&shared.plain)
            pthread_mutex_unlock(&shared.pthreadLock)
        case "unlocked":
            // A real race next to the lock: must be reported with the annotations too.
            shared.plain += 1
            shared.mutex.withLock { criticalSection(&$0) }
        default:
            shared.mutex.withLock { criticalSection(&$0) }
        }
    }
}

func spawn() -> pthread_t {
    var thread = pthread_t()
    pthread_create(&thread, nil, { _ in work(); return nil }, nil)
    return thread
}

if mode == "serial" {
    pthread_join(spawn(), nil)
    pthread_join(spawn(), nil)
} else {
    let first = spawn()
    let second = spawn()
    pthread_join(first, nil)
    pthread_join(second, nil)
}
let total = mode == "pthread" ? shared.plain : shared.mutex.withLock { $0 }
print("\(mode): \(total) of \(2 * iterations) increments")
exit(total == 2 * iterations ? 0 : 1)
