/*
 * tests/bench/load.c - the load driver of `make bench-compare`: WORKERS
 * concurrent workers on one libevent loop, each with its own keep-alive
 * connection, loop over one workload against Tessera or oidc-provider
 * (tests/bench/compare/server.js) for SECONDS (or until OPS operations):
 *
 *   discovery  GET /.well-known/openid-configuration
 *   jwks       GET the JWK set (Tessera /jwks.json, the peer /jwks)
 *   flow       one complete authorisation-code flow with PKCE S256
 *              (RFC 7636 §4.1-4.2): Tessera through the authorisation
 *              session API (POST the request, PUT the user, PUT the
 *              consent: the requests of tests/bench/flow.js), the peer through
 *              its interaction routes (GET /auth, POST /interaction/:uid,
 *              the resumed GET /auth/:uid, with the user agent's cookies);
 *              then the token request and UserInfo (Tessera /userinfo,
 *              the peer /me)
 *   refresh    one refresh_token grant (RFC 6749 §6); each worker first
 *              gets its token from a flow of its own (not counted) and
 *              keeps the rotated one each answer gives
 *   client_credentials  named, and skipped with a note: Tessera does not
 *              implement the grant yet
 *
 * Each worker is a state machine (bench_load_state_t, tests/bench/load.h):
 * bench_load_flow_send sends the request of its state, and
 * bench_load_flow_read reads the answer and names the next state
 * (tests/bench/load_flow.c); this file runs the operations and measures. The measured window opens
 * when the warm-up is over and every refresh worker has its token; operations that end inside it
 * are counted, then the workers finish the ones in flight. Printed, as one line of key=value pairs:
 *
 *   workload= server= concurrency= seconds= ops= ops_per_s= p50_ms=
 *   p99_ms= errors= driver_cpu_us_per_op= [server_cpu_us_per_op=]
 *
 * latencies per operation (a flow: all its requests), errors over the
 * whole run (warm-up included), this process's CPU time (getrusage) per
 * operation, and with -p PID the server's (/proc/PID/stat, all its
 * threads) over the same window. A skipped workload prints
 * "workload=NAME server=SERVER skipped=\"why\"". The first failure is
 * described on stderr; after BENCH_LOAD_MAX_ERRORS failures the run stops
 * with exit status 1.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include "core/base/op.h"
#include "keys/op_keys.h"
#include "tests/bench/load.h"

#define BENCH_LOAD_MAX_WORKERS 1024
#define BENCH_LOAD_MAX_ERRORS  100           /* the run stops there */
#define BENCH_LOAD_ARENA_MAX   (256 * 1024)  /* one operation's requests and answers */
#define BENCH_LOAD_BODY_MAX    (1024 * 1024) /* an answer's body */
#define BENCH_LOAD_HEADERS_MAX (64 * 1024)   /* an answer's header block */
#define BENCH_LOAD_TIMEOUT_S   30            /* one request */
#define BENCH_LOAD_NS          1000000000ULL

static const char *const bench_load_state_names[BENCH_LOAD_STATE_MAX] = {
    "idle",  "get",    "session", "authn",    "consent", "auth",
    "login", "resume", "code",    "userinfo", "refresh"};

static const bench_load_workload_t bench_load_workloads[] = {
    {"discovery", BENCH_LOAD_DISCOVERY},
    {"jwks", BENCH_LOAD_JWKS},
    {"flow", BENCH_LOAD_FLOW},
    {"refresh", BENCH_LOAD_REFRESHES},
};

/* Workloads named but not run yet, and why. Once Tessera has the grant,
 * client_credentials moves to the table above, with a state that posts it. */
static const struct {
    const char *name;
    const char *why;
} bench_load_skipped[] = {
    {"client_credentials", "Tessera does not implement the client_credentials grant yet"},
};

static const bench_load_server_t bench_load_servers[] = {
    {"tessera", "/jwks.json", "/userinfo", BENCH_LOAD_SESSION},
    {"oidc-provider", "/jwks", "/me", BENCH_LOAD_AUTH},
};

static void bench_load_send(bench_load_worker_t *w);
static void bench_load_op_begin(bench_load_worker_t *w);

static uint64_t bench_load_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * BENCH_LOAD_NS + (uint64_t)ts.tv_nsec;
}

/* This process's CPU time (user + system), seconds. */
static double bench_load_self_cpu(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/*
 * The CPU time (utime + stime, fields 14 and 15 of /proc/PID/stat: every
 * thread of the process) of the server, in seconds. The command name
 * (field 2) may hold spaces and parentheses, so the fields are counted
 * from its last ')'. OP_OK, or OP_ERROR when the process is gone.
 */
static int bench_load_server_cpu(const bench_load_run_t *run, double *out)
{
    char path[64], buf[1024];
    unsigned long long ticks = 0;
    size_t n;
    FILE *f;
    char *p;

    *out = 0;
    if (run->server_pid == 0)
        return OP_OK;
    snprintf(path, sizeof(path), "/proc/%d/stat", run->server_pid);
    f = fopen(path, "r");
    if (f == NULL)
        return OP_ERROR;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL)
        return OP_ERROR;
    p++;
    for (int field = 3; field <= 15; field++) {
        while (*p == ' ')
            p++;
        if (field == 3) {
            p++; /* the state, one letter */
            continue;
        }
        errno = 0;
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || errno != 0)
            return OP_ERROR;
        if (field >= 14)
            ticks += v;
        p = end;
    }
    *out = (double)ticks / (double)sysconf(_SC_CLK_TCK);
    return OP_OK;
}

/* ---- the measured window -------------------------------------------- */

static struct timeval bench_load_timeval(double seconds)
{
    double whole = (double)(long)seconds;

    return (struct timeval){(time_t)whole, (suseconds_t)((seconds - whole) * 1e6)};
}

/* One edge of the window: the time, and both CPU times. */
static void bench_load_sample(bench_load_run_t *run, uint64_t *t, double *cpu, double *srv)
{
    *t = bench_load_now();
    *cpu = bench_load_self_cpu();
    if (bench_load_server_cpu(run, srv) != OP_OK) {
        fprintf(stderr, "bench_load: cannot read the CPU time of pid %d\n", run->server_pid);
        run->status = 1;
    }
}

/* Opens the window once the warm-up is over and every refresh worker has
 * its token; with SECONDS, arms its end. */
static void bench_load_window_open(bench_load_run_t *run)
{
    bool seeded = run->workload->kind != BENCH_LOAD_REFRESHES || run->nseeded == run->nworkers;
    struct timeval tv = bench_load_timeval(run->seconds);

    if (run->phase != BENCH_LOAD_WARMUP || !run->warm || !seeded)
        return;
    run->phase = BENCH_LOAD_MEASURE;
    bench_load_sample(run, &run->t0, &run->cpu0, &run->srv0);
    if (run->seconds > 0)
        evtimer_add(run->end_timer, &tv);
}

/* Closes the window (an empty one when it never opened); the workers then
 * finish the operations in flight and go idle. */
static void bench_load_window_close(bench_load_run_t *run)
{
    if (run->phase == BENCH_LOAD_DRAIN)
        return;
    if (run->phase == BENCH_LOAD_WARMUP)
        bench_load_sample(run, &run->t0, &run->cpu0, &run->srv0);
    run->phase = BENCH_LOAD_DRAIN;
    bench_load_sample(run, &run->t1, &run->cpu1, &run->srv1);
    if (run->nidle == run->nworkers)
        event_base_loopexit(run->base, NULL);
}

static void bench_load_on_warm(evutil_socket_t fd, short what, void *arg)
{
    bench_load_run_t *run = arg;

    OP_UNUSED(fd);
    OP_UNUSED(what);
    run->warm = true;
    bench_load_window_open(run);
}

static void bench_load_on_end(evutil_socket_t fd, short what, void *arg)
{
    OP_UNUSED(fd);
    OP_UNUSED(what);
    bench_load_window_close(arg);
}

/* Keep one latency (the latencies grow with the run, bounded by its
 * length). */
static void bench_load_record(bench_load_run_t *run, uint64_t ns)
{
    if (run->nlat == run->cap) {
        size_t cap = run->cap ? run->cap * 2 : 4096;
        run->lat = op_realloc(run->lat, cap * sizeof(*run->lat));
        run->cap = cap;
    }
    run->lat[run->nlat++] = ns;
}

/* ---- one operation -------------------------------------------------- */

static void bench_load_on_next(evutil_socket_t fd, short what, void *arg)
{
    OP_UNUSED(fd);
    OP_UNUSED(what);
    bench_load_op_begin(arg);
}

/*
 * The operation ended (ok, or failed with err): count it, free its arena,
 * and begin the next one - right away after a success, from the next loop
 * iteration after a failure (a failed connection is still unwinding) - or
 * go idle once the window has closed.
 */
static void bench_load_op_end(bench_load_worker_t *w, bool ok, const op_err_t *err)
{
    bench_load_run_t *run = w->run;
    static const struct timeval now = {0, 0};

    if (ok && run->phase == BENCH_LOAD_MEASURE && !w->seeding) {
        bench_load_record(run, bench_load_now() - w->t0);
        if (run->max_ops > 0 && run->nlat >= run->max_ops)
            bench_load_window_close(run);
    }
    if (!ok) {
        if (run->errors++ == 0)
            fprintf(stderr, "bench_load: %s %s: %s: %s\n", run->server->name, run->workload->name,
                    bench_load_state_names[w->state], err->description);
        if (w->state == BENCH_LOAD_REFRESH)
            w->refresh_token[0] = '\0'; /* a new flow gets a new one */
        if (run->errors >= BENCH_LOAD_MAX_ERRORS) {
            run->status = 1;
            bench_load_window_close(run);
        }
    }
    if (ok && w->seeding && !w->seeded) {
        w->seeded = true;
        run->nseeded++;
        bench_load_window_open(run);
    }
    op_arena_free(w->a);
    w->a = NULL;
    w->state = BENCH_LOAD_IDLE;
    if (run->phase == BENCH_LOAD_DRAIN) {
        if (++run->nidle == run->nworkers)
            event_base_loopexit(run->base, NULL);
    } else if (ok) {
        bench_load_op_begin(w);
    } else if (event_base_once(run->base, -1, EV_TIMEOUT, bench_load_on_next, w, &now) != 0) {
        fprintf(stderr, "bench_load: cannot schedule the next operation\n");
        abort();
    }
}

/*
 * Begin the worker's next operation: its arena, its start time and its
 * first state. The refresh workload's worker without a token first runs a
 * flow of its own (seeding), which is not counted.
 */
static void bench_load_op_begin(bench_load_worker_t *w)
{
    bench_load_run_t *run = w->run;
    op_err_t err;

    op_err_clear(&err);
    w->a = op_arena_new(BENCH_LOAD_ARENA_MAX);
    w->t0 = bench_load_now();
    w->njar = 0;
    w->seeding = run->workload->kind == BENCH_LOAD_REFRESHES && w->refresh_token[0] == '\0';
    if (run->workload->kind == BENCH_LOAD_DISCOVERY || run->workload->kind == BENCH_LOAD_JWKS) {
        w->state = BENCH_LOAD_GET;
    } else if (run->workload->kind == BENCH_LOAD_REFRESHES && !w->seeding) {
        w->state = BENCH_LOAD_REFRESH;
    } else {
        w->state = run->server->front;
        w->sub = w->seeding
                     ? op_arena_printf(w->a, "bench-seed-%zu", w->id)
                     : op_arena_printf(w->a, "bench-%llu", (unsigned long long)run->next_sub++);
        if (w->sub == NULL)
            OP_ERR(&err, OP_ETOOBIG, "sub: over the arena's cap");
        if (w->sub == NULL || bench_load_flow_begin(w, &err) != OP_OK) {
            bench_load_op_end(w, false, &err);
            return;
        }
    }
    bench_load_send(w);
}

static void bench_load_send(bench_load_worker_t *w)
{
    op_err_t err;

    op_err_clear(&err);
    if (bench_load_flow_send(w, &err) != OP_OK)
        bench_load_op_end(w, false, &err);
}

/*
 * evhttp's completion of the worker's request (req NULL, or status 0,
 * when the connection failed): read it, then send the next state's
 * request or end the operation. The connection frees req after this.
 */
void bench_load_on_answer(struct evhttp_request *req, void *arg)
{
    bench_load_worker_t *w = arg;
    bench_load_state_t next = BENCH_LOAD_IDLE;
    op_err_t err;

    op_err_clear(&err);
    if (req == NULL || evhttp_request_get_response_code(req) == 0) {
        OP_ERR(&err, OP_EUNAVAIL, "connection failed");
        bench_load_op_end(w, false, &err);
        return;
    }
    if (bench_load_flow_read(w, req, &next, &err) != OP_OK) {
        bench_load_op_end(w, false, &err);
        return;
    }
    if (next == BENCH_LOAD_IDLE) {
        bench_load_op_end(w, true, &err);
        return;
    }
    w->state = next;
    bench_load_send(w);
}

/* ---- the run ---------------------------------------------------------- */

static int bench_load_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The q quantile of the sorted latencies, in ms: the one at index q * n. */
static double bench_load_quantile(const bench_load_run_t *run, double q)
{
    size_t i = (size_t)(q * (double)run->nlat);

    if (run->nlat == 0)
        return 0;
    return (double)run->lat[i < run->nlat ? i : run->nlat - 1] / 1e6;
}

/* The one line of figures. */
static void bench_load_report(bench_load_run_t *run)
{
    double secs = (double)(run->t1 - run->t0) / (double)BENCH_LOAD_NS;
    double n = run->nlat > 0 ? (double)run->nlat : 1;

    if (run->nlat > 0)
        qsort(run->lat, run->nlat, sizeof(*run->lat), bench_load_cmp);
    printf("workload=%s server=%s concurrency=%zu seconds=%.3f ops=%zu ops_per_s=%.1f "
           "p50_ms=%.3f p99_ms=%.3f errors=%llu driver_cpu_us_per_op=%.1f",
           run->workload->name, run->server->name, run->nworkers, secs, run->nlat,
           secs > 0 ? (double)run->nlat / secs : 0, bench_load_quantile(run, 0.5),
           bench_load_quantile(run, 0.99), (unsigned long long)run->errors,
           (run->cpu1 - run->cpu0) * 1e6 / n);
    if (run->server_pid != 0)
        printf(" server_cpu_us_per_op=%.1f", (run->srv1 - run->srv0) * 1e6 / n);
    printf("\n");
}

static void bench_load_usage(void)
{
    fprintf(stderr, "usage: bench_load [-s tessera|oidc-provider] [-c WORKERS] "
                    "[-d SECONDS | -n OPS] [-w WARMUP_SECONDS] [-p SERVER_PID] "
                    "discovery|jwks|flow|refresh|client_credentials http://ADDRESS:PORT\n");
}

/* A strict decimal option in [min, max] ("1.5" too when frac); false
 * otherwise. */
static bool bench_load_number(const char *s, double min, double max, bool frac, double *out)
{
    char *end;

    if (!frac) {
        int64_t v;
        if (!op_str_parse_i64(s, strlen(s), (int64_t)min, (int64_t)max, &v))
            return false;
        *out = (double)v;
        return true;
    }
    errno = 0;
    *out = strtod(s, &end);
    return end != s && *end == '\0' && errno == 0 && *out >= min && *out <= max;
}

/* Parse the arguments into run. OP_OK; OP_DONE for a skipped workload (its
 * line printed); OP_EINVAL with the usage printed. */
static int bench_load_args(int argc, char **argv, bench_load_run_t *run, double *warmup)
{
    const char *server = "tessera";
    double v;
    int opt;

    run->seconds = 5;
    run->nworkers = 16;
    while ((opt = getopt(argc, argv, "s:c:d:n:w:p:")) != -1) {
        bool ok = true;
        switch (opt) {
        case 's':
            server = optarg;
            break;
        case 'c':
            ok = bench_load_number(optarg, 1, BENCH_LOAD_MAX_WORKERS, false, &v);
            run->nworkers = (size_t)v;
            break;
        case 'd':
            ok = bench_load_number(optarg, 0.1, 3600, true, &run->seconds);
            break;
        case 'n':
            ok = bench_load_number(optarg, 1, 1e9, false, &v);
            run->max_ops = (uint64_t)v;
            run->seconds = 0;
            break;
        case 'w':
            ok = bench_load_number(optarg, 0, 3600, true, warmup);
            break;
        case 'p':
            ok = bench_load_number(optarg, 1, 1 << 22, false, &v);
            run->server_pid = (int)v;
            break;
        default:
            ok = false;
        }
        if (!ok) {
            bench_load_usage();
            return OP_EINVAL;
        }
    }
    for (size_t i = 0; i < OP_NELEMS(bench_load_servers); i++)
        if (strcmp(server, bench_load_servers[i].name) == 0)
            run->server = &bench_load_servers[i];
    if (run->server == NULL || argc - optind != 2) {
        bench_load_usage();
        return OP_EINVAL;
    }
    for (size_t i = 0; i < OP_NELEMS(bench_load_skipped); i++) {
        if (strcmp(argv[optind], bench_load_skipped[i].name) == 0) {
            printf("workload=%s server=%s skipped=\"%s\"\n", argv[optind], run->server->name,
                   bench_load_skipped[i].why);
            return OP_DONE;
        }
    }
    for (size_t i = 0; i < OP_NELEMS(bench_load_workloads); i++)
        if (strcmp(argv[optind], bench_load_workloads[i].name) == 0)
            run->workload = &bench_load_workloads[i];
    if (run->workload == NULL) {
        bench_load_usage();
        return OP_EINVAL;
    }
    return OP_OK;
}

/*
 * The base URL (http://ADDRESS:PORT, a literal address: no DNS) -> the
 * Host header and one keep-alive connection per worker. 0, or 1 with a
 * message.
 */
static int bench_load_connect(bench_load_run_t *run, const char *url)
{
    struct evhttp_uri *uri = evhttp_uri_parse(url);
    const char *host = uri != NULL ? evhttp_uri_get_host(uri) : NULL;
    int port = uri != NULL ? evhttp_uri_get_port(uri) : -1;
    const char *scheme = uri != NULL ? evhttp_uri_get_scheme(uri) : NULL;

    if (host == NULL || port <= 0 || scheme == NULL || strcmp(scheme, "http") != 0 ||
        (size_t)snprintf(run->host, sizeof(run->host), "%s:%d", host, port) >= sizeof(run->host)) {
        fprintf(stderr, "bench_load: %s: expected http://ADDRESS:PORT\n", url);
        if (uri != NULL)
            evhttp_uri_free(uri);
        return 1;
    }
    for (size_t i = 0; i < run->nworkers; i++) {
        bench_load_worker_t *w = &run->workers[i];
        w->run = run;
        w->id = i;
        w->evcon = evhttp_connection_base_new(run->base, NULL, host, (ev_uint16_t)port);
        if (w->evcon == NULL) {
            fprintf(stderr, "bench_load: cannot create a connection to %s\n", url);
            evhttp_uri_free(uri);
            return 1;
        }
        evhttp_connection_set_timeout(w->evcon, BENCH_LOAD_TIMEOUT_S);
        evhttp_connection_set_max_body_size(w->evcon, BENCH_LOAD_BODY_MAX);
        evhttp_connection_set_max_headers_size(w->evcon, BENCH_LOAD_HEADERS_MAX);
    }
    evhttp_uri_free(uri);
    return 0;
}

/*
 * The event loop. evhttp turns a connection's read and write events on and
 * off several times a request; epoll's changelist folds those into one
 * epoll_ctl per descriptor and loop iteration, which halves the driver's
 * system calls.
 */
static struct event_base *bench_load_base(void)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;

    if (cfg == NULL)
        return NULL;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

int main(int argc, char **argv)
{
    static bench_load_run_t run;
    double warmup = 0;
    int rc;

    rc = bench_load_args(argc, argv, &run, &warmup);
    if (rc != OP_OK)
        return rc == OP_DONE ? 0 : 2;
    signal(SIGPIPE, SIG_IGN);
    op_log_init(OP_LOG_WARN, 2);
    run.base = bench_load_base();
    run.workers = op_calloc(run.nworkers, sizeof(*run.workers));
    if (run.base == NULL || op_keys_global_init() != OP_OK) {
        fprintf(stderr, "bench_load: cannot initialise\n");
        return 1;
    }
    rc = bench_load_connect(&run, argv[optind + 1]);
    run.warm_timer = evtimer_new(run.base, bench_load_on_warm, &run);
    run.end_timer = evtimer_new(run.base, bench_load_on_end, &run);
    if (rc == 0 && (run.warm_timer == NULL || run.end_timer == NULL)) {
        fprintf(stderr, "bench_load: cannot create the timers\n");
        rc = 1;
    }
    if (rc == 0) {
        struct timeval tv = bench_load_timeval(warmup);
        evtimer_add(run.warm_timer, &tv);
        for (size_t i = 0; i < run.nworkers; i++)
            bench_load_op_begin(&run.workers[i]);
        event_base_dispatch(run.base);
        bench_load_report(&run);
        rc = run.status;
    }
    for (size_t i = 0; i < run.nworkers; i++) {
        if (run.workers[i].evcon != NULL)
            evhttp_connection_free(run.workers[i].evcon);
        op_arena_free(run.workers[i].a);
    }
    if (run.warm_timer != NULL)
        event_free(run.warm_timer);
    if (run.end_timer != NULL)
        event_free(run.end_timer);
    free(run.workers);
    free(run.lat);
    event_base_free(run.base);
    return rc;
}
