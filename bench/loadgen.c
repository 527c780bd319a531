/*
 * loadgen: a small closed-loop HTTP/1.1 load generator for tokenproxy's benchmarks.
 *
 * N keep-alive connections (Unix socket or TCP), each sending one request, reading the whole
 * response (Content-Length framing), then sending the next. One thread, epoll. Records every
 * request's latency and prints one JSON line: requests/s, p50, p90, p95, p99, p99.9, max (microseconds),
 * errors. wrk cannot speak to Unix sockets, hence this tool; it is used for both tokenproxy and
 * the nginx reference in the same run, so its own overhead cancels out in the ratios.
 *
 * A connection the server closes (after a `Connection: close` response, or idle-closed between
 * a response and the next request) is reopened and the request sent again; the latency then
 * includes the reconnect. Reconnects are counted on stderr so stdout stays one JSON line. A
 * connection closed with a response half read, or one that cannot be reopened, is an error.
 *
 *   loadgen unix:/path/to.sock|tcp:127.0.0.1:8080 CONNECTIONS SECONDS PATH [HEADER]...
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BUFFER_SIZE 65536
#define MAX_SAMPLES 50000000

typedef struct {
    int fd;
    char buffer[BUFFER_SIZE];
    size_t used;
    uint64_t started_ns;
    size_t answered; /* responses completed on the current socket */
} connection_t;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int connect_target(const char *target) {
    int fd;
    if (strncmp(target, "unix:", 5) == 0) {
        struct sockaddr_un address = {.sun_family = AF_UNIX};
        strncpy(address.sun_path, target + 5, sizeof(address.sun_path) - 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) return -1;
    } else if (strncmp(target, "tcp:", 4) == 0) {
        char host[128];
        const char *colon = strrchr(target + 4, ':');
        if (!colon) return -1;
        size_t length = (size_t)(colon - (target + 4));
        if (length >= sizeof(host)) return -1;
        memcpy(host, target + 4, length);
        host[length] = 0;
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
        if (inet_pton(AF_INET, host, &address.sin_addr) != 1) return -1;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) return -1;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    } else {
        return -1;
    }
    return fd;
}

static int compare(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* True when the response head (ending at `head` bytes) asks to close the connection. */
static int asks_to_close(const char *buffer, size_t head) {
    return memmem(buffer, head, "\r\nConnection: close", 19) != NULL
        || memmem(buffer, head, "\r\nconnection: close", 19) != NULL;
}

/* Returns the length of a complete response at the start of the buffer, 0 if incomplete,
 * -1 if it cannot be framed (no Content-Length). */
static long complete_response(const char *buffer, size_t used) {
    const char *end = memmem(buffer, used, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head = (size_t)(end - buffer) + 4;
    const char *cl = memmem(buffer, head, "\r\nContent-Length:", 17);
    if (!cl) cl = memmem(buffer, head, "\r\ncontent-length:", 17);
    if (!cl) return -1;
    long body = strtol(cl + 17, NULL, 10);
    if (used < head + (size_t)body) return 0;
    return (long)(head + (size_t)body);
}

/* Replaces the connection's socket with a new one and sends the request again. */
static int reopen(int epoll, connection_t *c, const char *target, const char *request, int length) {
    epoll_ctl(epoll, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->used = 0;
    c->answered = 0;
    c->fd = connect_target(target);
    if (c->fd < 0) return -1;
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(epoll, EPOLL_CTL_ADD, c->fd, &event) != 0) return -1;
    return write(c->fd, request, (size_t)length) == length ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s unix:PATH|tcp:HOST:PORT CONNECTIONS SECONDS PATH [HEADER]...\n", argv[0]);
        return 64;
    }
    const char *target = argv[1];
    int connections = atoi(argv[2]);
    double seconds = atof(argv[3]);
    char request[4096];
    int length = snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: localhost\r\n", argv[4]);
    for (int i = 5; i < argc; i++) length += snprintf(request + length, sizeof(request) - (size_t)length, "%s\r\n", argv[i]);
    length += snprintf(request + length, sizeof(request) - (size_t)length, "\r\n");

    uint32_t *samples = malloc(sizeof(uint32_t) * MAX_SAMPLES);
    connection_t *pool = calloc((size_t)connections, sizeof(connection_t));
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    if (!samples || !pool || epoll < 0) return 70;
    uint64_t start = now_ns();
    uint64_t deadline = start + (uint64_t)(seconds * 1e9);
    for (int i = 0; i < connections; i++) {
        pool[i].fd = connect_target(target);
        if (pool[i].fd < 0) { perror("connect"); return 69; }
        struct epoll_event event = {.events = EPOLLIN, .data.ptr = &pool[i]};
        epoll_ctl(epoll, EPOLL_CTL_ADD, pool[i].fd, &event);
        pool[i].started_ns = now_ns();
        if (write(pool[i].fd, request, (size_t)length) != length) { perror("write"); return 69; }
    }
    size_t count = 0, errors = 0, reconnects = 0;
    int open = connections;
    struct epoll_event events[256];
    while (open > 0) {
        int ready = epoll_wait(epoll, events, 256, 1000);
        if (ready < 0 && errno != EINTR) break;
        uint64_t now = now_ns();
        for (int e = 0; e < ready; e++) {
            connection_t *c = events[e].data.ptr;
            ssize_t got = read(c->fd, c->buffer + c->used, BUFFER_SIZE - c->used);
            if (got <= 0) {
                /* Closed between a response and our next request: reopen and resend. */
                if (c->used == 0 && c->answered > 0 && now < deadline
                    && reopen(epoll, c, target, request, length) == 0) {
                    reconnects++;
                    continue;
                }
                errors++; close(c->fd); open--; continue;
            }
            c->used += (size_t)got;
            long done = complete_response(c->buffer, c->used);
            if (done == 0) continue;
            if (done < 0 || strncmp(c->buffer, "HTTP/1.1 200", 12) != 0) errors++;
            const char *end = memmem(c->buffer, c->used, "\r\n\r\n", 4);
            int closing = done < 0 || (end && asks_to_close(c->buffer, (size_t)(end - c->buffer) + 4));
            if (done > 0) {
                memmove(c->buffer, c->buffer + done, c->used - (size_t)done);
                c->used -= (size_t)done;
            } else {
                c->used = 0;
            }
            c->answered++;
            if (count < MAX_SAMPLES) samples[count++] = (uint32_t)((now - c->started_ns) / 1000);
            if (now >= deadline) { close(c->fd); open--; continue; }
            c->started_ns = now_ns();
            if (closing) {
                if (reopen(epoll, c, target, request, length) != 0) { errors++; close(c->fd); open--; }
                else reconnects++;
                continue;
            }
            if (write(c->fd, request, (size_t)length) != length) { errors++; close(c->fd); open--; }
        }
    }
    double elapsed = (double)(now_ns() - start) / 1e9;
    /* Stalls apart: at one connection rps is 1 / the mean latency, and a few requests held for
       milliseconds (the VM, a descheduled thread) move the mean as much as the per-request
       path does. `stalls` counts the requests of 1 ms or more, `stall_ms` their summed time. */
    size_t stalls = 0;
    double total_us = 0, stall_us = 0;
    for (size_t i = 0; i < count; i++) {
        total_us += samples[i];
        if (samples[i] >= 1000) { stalls++; stall_us += samples[i]; }
    }
    qsort(samples, count, sizeof(uint32_t), compare);
#define PCT(p) (count ? samples[(size_t)((double)(count - 1) * (p))] : 0)
    printf("{\"connections\": %d, \"requests\": %zu, \"errors\": %zu, \"seconds\": %.3f, \"rps\": %.1f, "
           "\"p50_us\": %u, \"p90_us\": %u, \"p95_us\": %u, \"p99_us\": %u, \"p999_us\": %u, \"max_us\": %u, "
           "\"mean_us\": %.1f, \"stalls\": %zu, \"stall_ms\": %.1f}\n",
           connections, count, errors, elapsed, (double)count / elapsed, PCT(0.5), PCT(0.9), PCT(0.95), PCT(0.99), PCT(0.999),
           count ? samples[count - 1] : 0, count ? total_us / (double)count : 0.0, stalls, stall_us / 1000);
    if (reconnects) fprintf(stderr, "loadgen: %zu reconnects\n", reconnects);
    return errors ? 1 : 0;
}
