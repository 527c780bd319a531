#ifndef CLINUXSHIMS_H
#define CLINUXSHIMS_H

#include <sys/types.h>
#include <sys/socket.h>

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC, which Glibc only declares under _GNU_SOURCE.
int CLinuxShims_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

/// The peer's credentials of a connected Unix socket (SO_PEERCRED, struct ucred is _GNU_SOURCE).
/// Returns 0 on success, -1 with errno set on failure.
int CLinuxShims_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

/// The value of SOCK_NONBLOCK | SOCK_CLOEXEC for socket(2) and accept4(2).
int CLinuxShims_sock_nonblock_cloexec(void);

#endif
