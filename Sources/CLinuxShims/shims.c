#include <pthread.h>
#include <sys/prctl.h>
#include "CLinuxShims.h"

#include <sys/socket.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sched.h>

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

int CLinuxShims_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    return accept4(fd, addr, len, flags);
}

int CLinuxShims_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred cred;
    socklen_t size = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0) {
        return -1;
    }
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}

int CLinuxShims_sock_nonblock_cloexec(void) { return SOCK_NONBLOCK | SOCK_CLOEXEC; }

int CLinuxShims_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int CLinuxShims_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = token;
    return epoll_ctl(epfd, op, fd, &event);
}

int CLinuxShims_epoll_wait(int epfd, uint32_t *events, uint64_t *tokens, int max, int timeout) {
    struct epoll_event buffer[256];
    if (max > 256) {
        max = 256;
    }
    // No signal mask: the kernel ignores the size argument then (8 = the kernel's sigset_t).
    int count = (int)syscall(SYS_epoll_pwait, epfd, buffer, max, timeout, NULL, 8);
    for (int i = 0; i < count; i++) {
        events[i] = buffer[i].events;
        tokens[i] = buffer[i].data.u64;
    }
    return count;
}

ssize_t CLinuxShims_recv(int fd, void *buffer, size_t length, int flags) {
    return syscall(SYS_recvfrom, fd, buffer, length, flags, NULL, NULL);
}

ssize_t CLinuxShims_send(int fd, const void *buffer, size_t length, int flags) {
    return syscall(SYS_sendto, fd, buffer, length, flags, NULL, 0);
}

ssize_t CLinuxShims_sendmsg(int fd, const struct msghdr *message, int flags) {
    return syscall(SYS_sendmsg, fd, message, flags);
}

int CLinuxShims_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int CLinuxShims_allowed_cpu_count(void) {
    // A fixed set covers 1,024 CPUs; larger machines need a dynamically sized mask.
    size_t count = 1024;
    for (int attempt = 0; attempt < 6; attempt++) {
        cpu_set_t *set = CPU_ALLOC(count);
        if (set == NULL) {
            return -1;
        }
        size_t size = CPU_ALLOC_SIZE(count);
        CPU_ZERO_S(size, set);
        if (sched_getaffinity(0, size, set) == 0) {
            int result = CPU_COUNT_S(size, set);
            CPU_FREE(set);
            return result;
        }
        int saved = errno;
        CPU_FREE(set);
        if (saved != EINVAL) {
            errno = saved;
            return -1;
        }
        count *= 4;
    }
    errno = EINVAL;
    return -1;
}

int CLinuxShims_malloc_trim(void) { return malloc_trim(0); }

int CLinuxShims_set_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}

static volatile int CLinuxShims_signal_write_fd = -1;

static void CLinuxShims_signal_to_pipe(int number) {
    int saved = errno;
    unsigned char byte = (unsigned char)number;
    if (CLinuxShims_signal_write_fd >= 0) {
        ssize_t ignored = write(CLinuxShims_signal_write_fd, &byte, 1);
        (void)ignored;
    }
    errno = saved;
}

int CLinuxShims_forward_signals(int write_fd, const int *signals, int count) {
    CLinuxShims_signal_write_fd = write_fd;
    for (int index = 0; index < count; index++) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = CLinuxShims_signal_to_pipe;
        action.sa_flags = SA_RESTART;
        sigemptyset(&action.sa_mask);
        if (sigaction(signals[index], &action, NULL) != 0) {
            return -1;
        }
    }
    return 0;
}

int CLinuxShims_set_dumpable(int dumpable) {
    return prctl(PR_SET_DUMPABLE, (unsigned long)dumpable, 0UL, 0UL, 0UL);
}

int CLinuxShims_get_dumpable(void) {
    return prctl(PR_GET_DUMPABLE, 0UL, 0UL, 0UL, 0UL);
}

int CLinuxShims_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int CLinuxShims_spawn_close_from(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}
