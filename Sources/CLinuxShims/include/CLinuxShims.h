#ifndef CLINUXSHIMS_H
#define CLINUXSHIMS_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdint.h>
#include <spawn.h>

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC, which Glibc only declares under _GNU_SOURCE.
int CLinuxShims_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

/// The peer's credentials of a connected Unix socket (SO_PEERCRED, struct ucred is _GNU_SOURCE).
/// Returns 0 on success, -1 with errno set on failure.
int CLinuxShims_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

/// The value of SOCK_NONBLOCK | SOCK_CLOEXEC for socket(2) and accept4(2).
int CLinuxShims_sock_nonblock_cloexec(void);

/// Event bits for the epoll shims below (Glibc imports them as an enum type).
static const uint32_t CLinuxShims_EPOLLIN = 0x001;
static const uint32_t CLinuxShims_EPOLLOUT = 0x004;
static const uint32_t CLinuxShims_EPOLLERR = 0x008;
static const uint32_t CLinuxShims_EPOLLHUP = 0x010;
static const uint32_t CLinuxShims_EPOLLRDHUP = 0x2000;
static const uint32_t CLinuxShims_EPOLLEXCLUSIVE = 1u << 28;
static const uint32_t CLinuxShims_EPOLLET = 1u << 31;
/// epoll_ctl(2) operations.
static const int CLinuxShims_EPOLL_CTL_ADD = 1;
static const int CLinuxShims_EPOLL_CTL_DEL = 2;
static const int CLinuxShims_EPOLL_CTL_MOD = 3;
/// getrusage(2) for the calling thread only (RUSAGE_THREAD is _GNU_SOURCE).
static const int CLinuxShims_RUSAGE_THREAD = 1;

/// epoll_create1(EPOLL_CLOEXEC).
int CLinuxShims_epoll_create(void);

/// epoll_ctl(2) with the event spelled out (`struct epoll_event` is packed on x86-64, which
/// Swift cannot lay out); `token` is returned with each event.
int CLinuxShims_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token);

/// epoll_wait(2) for at most `max` (<= 256) events, split into `events` and `tokens`. Made
/// as epoll_pwait(2) with no signal mask through syscall(2), for the reason given at
/// CLinuxShims_recv (epoll_wait is a cancellation point too).
int CLinuxShims_epoll_wait(int epfd, uint32_t *events, uint64_t *tokens, int max, int timeout);

/// recv(2), send(2) and sendmsg(2) made straight through syscall(2), not glibc's wrappers.
///
/// Why: these calls are POSIX cancellation points, and in a process with threads glibc's
/// wrappers switch asynchronous cancellation on and off around each one — two atomic (locked)
/// instructions per call, on every request. tokenproxy never cancels a thread, so the raw call
/// does the same I/O without them (measured: 6 of the token API's 49 atomic instructions per
/// request, 12 of the proxy's 116; bench/callgrind_atomics.py). -1 with errno set on failure,
/// as the wrappers.
ssize_t CLinuxShims_recv(int fd, void *buffer, size_t length, int flags);
ssize_t CLinuxShims_send(int fd, const void *buffer, size_t length, int flags);
ssize_t CLinuxShims_sendmsg(int fd, const struct msghdr *message, int flags);

/// eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC).
int CLinuxShims_eventfd(void);

/// The number of CPUs in this thread's affinity mask (sched_getaffinity(2) and CPU_COUNT, both
/// _GNU_SOURCE). Returns the count, or -1 with errno set on failure.
int CLinuxShims_allowed_cpu_count(void);
/// malloc_trim(0): returns free heap memory to the kernel (<malloc.h> is not in Swift's Glibc
/// module). Returns 1 if memory was released.
int CLinuxShims_malloc_trim(void);
/// pthread_setname_np(pthread_self(), name) (_GNU_SOURCE): names the calling thread, at most 15
/// bytes. Returns 0 on success, an errno value on failure.
int CLinuxShims_set_thread_name(const char *name);

/// prctl(PR_SET_DUMPABLE, dumpable): prctl(2) is variadic, which Swift cannot call.
/// Returns 0 on success, -1 with errno set on failure.
int CLinuxShims_set_dumpable(int dumpable);
/// prctl(PR_GET_DUMPABLE): 1 when dumpable, 0 when not, -1 with errno set on failure.
int CLinuxShims_get_dumpable(void);

/// pipe2(fds, O_CLOEXEC) (_GNU_SOURCE). Returns 0 on success, -1 with errno set on failure.
int CLinuxShims_pipe_cloexec(int fds[2]);
/// posix_spawn_file_actions_addclosefrom_np(actions, from) (_GNU_SOURCE, glibc 2.34): the child
/// closes every descriptor >= `from`. Returns 0 or an errno value.
int CLinuxShims_spawn_close_from(posix_spawn_file_actions_t *actions, int from);

#endif

/// Installs (sigaction, SA_RESTART) a handler for each of `signals` that writes the signal
/// number as one byte to `write_fd` (non-blocking; a full pipe drops the byte) and nothing
/// else: write(2) is async-signal-safe and errno is preserved, so the handler is safe in any
/// thread at any moment. Returns 0, or -1 with errno set by the failing sigaction.
int CLinuxShims_forward_signals(int write_fd, const int *signals, int count);
