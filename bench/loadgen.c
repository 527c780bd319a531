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
 *   loadgen [-g GAP_MS] -i SLICE_MS TARGET_B TARGET_A CONNECTIONS SECONDS PATH [HEADER]...
 *   loadgen -r RATE TARGET CONNECTIONS SECONDS PATH [HEADER]...
 *
 * With -i, two servers are loaded in turns of SLICE_MS (A first), each with its own CONNECTIONS
 * kept open throughout, until each has had SECONDS of load; one JSON line per target (A's,
 * then B's), its time and rate counting only its own turns. Why: on a VM the machine's speed
 * changes in phases of a quarter of a second to a second (bench/README.md), so two servers
 * measured one after the other for seconds each meet different phases, and at one connection
 * that moves their ratio by ±10 %; taking turns every few tens of milliseconds puts both
 * through the same phases. A turn ends by awaiting the requests in flight, so the other server
 * is idle while one is loaded, as in sequential runs, and the next turn starts GAP_MS later
 * (default 1; 0: at once). Why the gap: a server may still run for a while after its last
 * response (tokenproxy's loops poll up to 100 us before they sleep), and the kernel places the
 * next server's woken thread by which CPUs are busy at that moment, so without it one server's
 * habits set the other's placement: at one connection unpinned nginx made 26,000 requests/s
 * in its turns when tokenproxy slept at once and 30,000 when it polled (bench/README.md,
 * "Turns"). After the gap both servers sleep when a turn starts.
 *
 * With -r, one server is loaded at RATE requests a second over its CONNECTIONS instead of as
 * fast as it answers: the k-th request is sent k / RATE seconds after the start, on a
 * connection with none outstanding (late, never skipped, when all are busy). For a server's
 * CPU time at a steady load below its capacity, where how it sleeps between requests shows;
 * latency then counts from the send.
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
#include <sys/prctl.h>
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
    int open;        /* still in use (not failed) */
    int waiting;     /* a request outstanding (-r only) */
} connection_t;

/* One server under load: its connections (kept open from slice to slice), its own epoll set,
 * and what was measured on it. */
typedef struct {
    const char *address;
    connection_t *pool;
    int epoll;
    int connections, open; /* connections opened, not failed */
    uint32_t *samples;
    size_t count, errors, reconnects;
    uint64_t busy_ns; /* time this target was being loaded, summed over its slices */
} target_t;

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

/* Replaces the connection's socket with a new one (nothing sent yet). */
static int reopen_idle(int epoll, connection_t *c, const char *target) {
    epoll_ctl(epoll, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->used = 0;
    c->answered = 0;
    c->fd = connect_target(target);
    if (c->fd < 0) return -1;
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = c};
    return epoll_ctl(epoll, EPOLL_CTL_ADD, c->fd, &event);
}

/* Sends the next request on `c`, timed from now; a connection that cannot is failed. */
static int send_request(target_t *t, connection_t *c, const char *request, int length) {
    c->started_ns = now_ns();
    if (write(c->fd, request, (size_t)length) == length) return 1;
    t->errors++; close(c->fd); c->open = 0; t->open--;
    return 0;
}

/* Reads what arrived on `c` (which has a request outstanding). Returns 1 when its response is
 * complete (latency recorded; the connection can take the next request), 0 when more is to come
 * or the request went again on a reopened socket, -1 when the connection failed. */
static int on_readable(target_t *t, connection_t *c, uint64_t now, const char *request, int length) {
    ssize_t got = read(c->fd, c->buffer + c->used, BUFFER_SIZE - c->used);
    if (got <= 0) {
        /* Closed between a response and our request (idle close): reopen and resend. */
        if (c->used == 0 && c->answered > 0 && reopen_idle(t->epoll, c, t->address) == 0
            && write(c->fd, request, (size_t)length) == length) {
            t->reconnects++;
            return 0;
        }
        t->errors++; close(c->fd); c->open = 0; t->open--;
        return -1;
    }
    c->used += (size_t)got;
    long done = complete_response(c->buffer, c->used);
    if (done == 0) return 0;
    if (done < 0 || strncmp(c->buffer, "HTTP/1.1 200", 12) != 0) t->errors++;
    const char *end = memmem(c->buffer, c->used, "\r\n\r\n", 4);
    int closing = done < 0 || (end && asks_to_close(c->buffer, (size_t)(end - c->buffer) + 4));
    if (done > 0) {
        memmove(c->buffer, c->buffer + done, c->used - (size_t)done);
        c->used -= (size_t)done;
    } else {
        c->used = 0;
    }
    c->answered++;
    if (t->count < MAX_SAMPLES) t->samples[t->count++] = (uint32_t)((now - c->started_ns) / 1000);
    if (closing) {
        /* A new socket now, so the next slice (or request) finds one open. */
        if (reopen_idle(t->epoll, c, t->address) != 0) { t->errors++; c->open = 0; t->open--; return -1; }
        t->reconnects++;
    }
    return 1;
}

/* Handles `ready` epoll events of `t`: reads each connection's response, and where one is
 * complete sends the next request at once if it is not yet `send_before` (closed loop; 0: never,
 * paced). Returns the change in requests outstanding. */
static int on_events(target_t *t, struct epoll_event *events, int ready, const char *request, int length,
                     uint64_t send_before) {
    uint64_t now = now_ns();
    int change = 0;
    for (int e = 0; e < ready; e++) {
        connection_t *c = events[e].data.ptr;
        if (!c->open) continue;
        int answered = on_readable(t, c, now, request, length);
        if (answered == 0) continue;
        change--;
        c->waiting = 0;
        if (answered > 0 && now < send_before) change += send_request(t, c, request, length);
    }
    return change;
}

/* Loads `t` for `duration_ns`, closed loop: each open connection has one request outstanding
 * and sends the next when its response is complete. At the deadline no new request is sent and
 * the outstanding ones are awaited, so the target is idle when the slice returns; the slice's
 * time, that drain included, counts as the target's. */
static void run_slice(target_t *t, uint64_t duration_ns, const char *request, int length) {
    uint64_t start = now_ns(), deadline = start + duration_ns;
    int outstanding = 0;
    for (int i = 0; i < t->connections; i++)
        if (t->pool[i].open) outstanding += send_request(t, &t->pool[i], request, length);
    struct epoll_event events[256];
    while (outstanding > 0) {
        int ready = epoll_wait(t->epoll, events, 256, 1000);
        if (ready < 0 && errno != EINTR) break;
        outstanding += on_events(t, events, ready, request, length, deadline);
    }
    t->busy_ns += now_ns() - start;
}

/* Loads `t` for `duration_ns` at `rate` requests a second (-r): the k-th request is due
 * k / rate seconds after the start and goes out then on a connection without one outstanding
 * (if every connection is busy, on the first to finish: late, not skipped). Latency counts
 * from the send. Then the outstanding requests are awaited, as in `run_slice`. What it is for:
 * a server's CPU time at a steady load below its capacity (bench/README.md, "Paced load"). */
static void run_paced(target_t *t, uint64_t duration_ns, const char *request, int length, double rate) {
    uint64_t start = now_ns(), deadline = start + duration_ns, due = start;
    double interval = 1e9 / rate;
    uint64_t sent = 0;
    int outstanding = 0;
    /* Wake for the next due request within a microsecond, not the default 50 us timer slack. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    struct epoll_event events[256];
    for (;;) {
        uint64_t now = now_ns();
        while (due <= now && due < deadline) {
            connection_t *idle = NULL;
            for (int i = 0; i < t->connections && !idle; i++)
                if (t->pool[i].open && !t->pool[i].waiting) idle = &t->pool[i];
            if (!idle) break;
            if (send_request(t, idle, request, length)) { idle->waiting = 1; outstanding++; }
            sent++;
            due = start + (uint64_t)((double)sent * interval);
        }
        if (t->open == 0 || (outstanding == 0 && due >= deadline)) break;
        /* Sleep until the next request is due (or a response comes): with every connection
         * busy, or the schedule over, only a response can. */
        int idle_left = outstanding < t->open;
        struct timespec timeout = {1, 0};
        if (idle_left && due < deadline) {
            uint64_t wait = due > now ? due - now : 0;
            timeout.tv_sec = (time_t)(wait / 1000000000u);
            timeout.tv_nsec = (long)(wait % 1000000000u);
        }
        int ready = epoll_pwait2(t->epoll, events, 256, &timeout, NULL);
        if (ready < 0 && errno != EINTR) break;
        outstanding += on_events(t, events, ready, request, length, 0);
    }
    t->busy_ns += now_ns() - start;
}

static int open_target(target_t *t, const char *address, int connections) {
    t->address = address;
    t->connections = t->open = connections;
    t->pool = calloc((size_t)connections, sizeof(connection_t));
    t->samples = malloc(sizeof(uint32_t) * MAX_SAMPLES);
    t->epoll = epoll_create1(EPOLL_CLOEXEC);
    if (!t->pool || !t->samples || t->epoll < 0) return 70;
    for (int i = 0; i < connections; i++) {
        connection_t *c = &t->pool[i];
        c->fd = connect_target(address);
        if (c->fd < 0) { perror("connect"); return 69; }
        c->open = 1;
        struct epoll_event event = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(t->epoll, EPOLL_CTL_ADD, c->fd, &event);
    }
    return 0;
}

/* Prints the target's JSON line (see the header) and returns its error count. */
static size_t report(target_t *t, int connections) {
    size_t count = t->count;
    uint32_t *samples = t->samples;
    double elapsed = (double)t->busy_ns / 1e9;
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
           connections, count, t->errors, elapsed, elapsed > 0 ? (double)count / elapsed : 0.0, PCT(0.5), PCT(0.9),
           PCT(0.95), PCT(0.99), PCT(0.999), count ? samples[count - 1] : 0, count ? total_us / (double)count : 0.0,
           stalls, stall_us / 1000);
    if (t->reconnects) fprintf(stderr, "loadgen: %s: %zu reconnects\n", t->address, t->reconnects);
    return t->errors;
}

int main(int argc, char **argv) {
    /* -i SLICE_MS SECOND_TARGET: interleave two targets; -g GAP_MS: the pause between turns
     * (see the header). */
    double slice_ms = 0, gap_ms = 1, rate = 0;
    int paced = 0;
    const char *second = NULL;
    for (;;) {
        if (argc > 2 && strcmp(argv[1], "-r") == 0) {
            paced = 1;
            rate = atof(argv[2]);
            argc -= 2;
            argv += 2;
        } else if (argc > 3 && strcmp(argv[1], "-i") == 0) {
            slice_ms = atof(argv[2]);
            second = argv[3];
            argc -= 3;
            argv += 3;
        } else if (argc > 2 && strcmp(argv[1], "-g") == 0) {
            gap_ms = atof(argv[2]);
            argc -= 2;
            argv += 2;
        } else {
            break;
        }
    }
    if (argc < 5 || (second && slice_ms <= 0) || gap_ms < 0 || (paced && (rate <= 0 || second))) {
        fprintf(stderr, "usage: %s [-g GAP_MS] [-i SLICE_MS unix:PATH|tcp:HOST:PORT] unix:PATH|tcp:HOST:PORT CONNECTIONS SECONDS PATH [HEADER]...\n"
                        "       %s -r RATE unix:PATH|tcp:HOST:PORT CONNECTIONS SECONDS PATH [HEADER]...\n", argv[0], argv[0]);
        return 64;
    }
    int connections = atoi(argv[2]);
    double seconds = atof(argv[3]);
    char request[4096];
    int length = snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: localhost\r\n", argv[4]);
    for (int i = 5; i < argc; i++) length += snprintf(request + length, sizeof(request) - (size_t)length, "%s\r\n", argv[i]);
    length += snprintf(request + length, sizeof(request) - (size_t)length, "\r\n");

    target_t targets[2] = {{0}};
    int count = second ? 2 : 1, status;
    if ((status = open_target(&targets[0], argv[1], connections)) != 0) return status;
    if (second && (status = open_target(&targets[1], second, connections)) != 0) return status;
    uint64_t each_ns = (uint64_t)(seconds * 1e9);
    if (paced) {
        run_paced(&targets[0], each_ns, request, length, rate);
    } else if (!second) {
        run_slice(&targets[0], each_ns, request, length);
    } else {
        /* Alternate slices until each target has had its `seconds` of load. */
        uint64_t slice_ns = (uint64_t)(slice_ms * 1e6), gap_ns = (uint64_t)(gap_ms * 1e6);
        struct timespec gap = {(time_t)(gap_ns / 1000000000u), (long)(gap_ns % 1000000000u)};
        for (int turn = 0; targets[0].busy_ns < each_ns || targets[1].busy_ns < each_ns; turn ^= 1) {
            target_t *t = &targets[turn];
            if (t->busy_ns >= each_ns || t->open == 0) {
                if (targets[turn ^ 1].open == 0) break;
                continue;
            }
            uint64_t left = each_ns - t->busy_ns;
            run_slice(t, left < slice_ns ? left : slice_ns, request, length);
            /* Outside the slice: the gap counts as neither target's time. */
            if (gap_ns > 0) nanosleep(&gap, NULL);
        }
    }
    size_t errors = 0;
    for (int i = 0; i < count; i++) errors += report(&targets[i], connections);
    return errors ? 1 : 0;
}
