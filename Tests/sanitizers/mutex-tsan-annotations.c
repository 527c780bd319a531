// Teaches ThreadSanitizer the happens-before that Synchronization.Mutex gives when the lock is
// contended. Linked only into the TSan build (scripts/sanitize: -Xlinker), never shipped.
//
// Why: Mutex.withLock's fast path (one compare-exchange, acquire to lock, release to unlock)
// is inlined into our code and instrumented, so TSan sees uncontended use. A contended lock is
// taken by _MutexHandle._lockSlow (spin, then FUTEX_LOCK_PI) and handed over by _unlockSlow
// (FUTEX_UNLOCK_PI) inside libswiftSynchronization.so, which is not built with TSan: no
// acquire, no release, and every access the lock protects is reported as a race
// (Tests/sanitizers/mutex-tsan-reproducer.swift proves it without our code).
//
// How: these definitions of the three slow-path entry points take precedence over the shared
// library's (the executable is searched first); each calls the original, found with
// dlsym(RTLD_NEXT), and tells TSan what it did, on the lock word's address, the same sync object
// the inlined fast path's atomics use: __tsan_acquire after a lock is taken, __tsan_release
// before it is given away. That is what TSan's own interceptors do for pthread_mutex_lock.
//
// ABI: the methods are Swift `borrowing` methods of a non-copyable struct holding an atomic, so
// `self` is the lock word's address in the Swift self register (clang: swift_context) and the
// convention is swiftcall; `_lockSlow` takes the caller's thread id as its one argument.
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void __tsan_acquire(void *address);
void __tsan_release(void *address);

#define SWIFTCALL __attribute__((swiftcall))
#define SELF __attribute__((swift_context))

typedef SWIFTCALL void (*LockSlow)(uint32_t thread, SELF void *handle);
typedef SWIFTCALL bool (*TryLockSlow)(SELF void *handle);
typedef SWIFTCALL void (*UnlockSlow)(SELF void *handle);

#define LOCK_SLOW "$s15Synchronization12_MutexHandleV9_lockSlowyys6UInt32VF"
#define TRY_LOCK_SLOW "$s15Synchronization12_MutexHandleV12_tryLockSlowSbyF"
#define UNLOCK_SLOW "$s15Synchronization12_MutexHandleV11_unlockSlowyyF"

static void *original(const char *name) {
    void *function = dlsym(RTLD_NEXT, name);
    if (function == NULL) {
        fprintf(stderr, "mutex-tsan-annotations: %s not found in libswiftSynchronization.so; "
                        "the toolchain changed Mutex, update Tests/sanitizers/\n", name);
        abort();
    }
    return function;
}

static LockSlow nextLockSlow;
static TryLockSlow nextTryLockSlow;
static UnlockSlow nextUnlockSlow;

// Resolved once at load time, before any thread can take a Mutex.
__attribute__((constructor)) static void resolve(void) {
    nextLockSlow = (LockSlow)original(LOCK_SLOW);
    nextTryLockSlow = (TryLockSlow)original(TRY_LOCK_SLOW);
    nextUnlockSlow = (UnlockSlow)original(UNLOCK_SLOW);
}

SWIFTCALL void lockSlow(uint32_t thread, SELF void *handle) __asm__(LOCK_SLOW);
SWIFTCALL void lockSlow(uint32_t thread, SELF void *handle) {
    nextLockSlow(thread, handle);
    __tsan_acquire(handle);
}

SWIFTCALL bool tryLockSlow(SELF void *handle) __asm__(TRY_LOCK_SLOW);
SWIFTCALL bool tryLockSlow(SELF void *handle) {
    bool locked = nextTryLockSlow(handle);
    if (locked) __tsan_acquire(handle);
    return locked;
}

SWIFTCALL void unlockSlow(SELF void *handle) __asm__(UNLOCK_SLOW);
SWIFTCALL void unlockSlow(SELF void *handle) {
    __tsan_release(handle);
    nextUnlockSlow(handle);
}
