/*
 * tests/unit/op_test_redis.h - a real redis-server for the storage tests,
 * and the store test fixture shared by test_op_store.c and
 * test_op_store_redis.c.
 *
 * op_test_redis_start() runs redis-server on a free loopback port and a
 * unix socket in a fresh temp dir (--save "" --appendonly no: nothing
 * outlives it), and returns once it answers PING. The server is the test
 * process's child with PR_SET_PDEATHSIG, so a crashed case leaves nothing
 * running; an atexit hook kills it and removes the dir on every exit,
 * including a failed OP_CHECK. kill / pause / resume / restart drive
 * outages; op_test_redis_cmd() sends one command synchronously, for
 * checks behind the store's back.
 *
 * The fixture (op_test_store_*) opens a store on a fresh loop, tracks
 * every operation it starts (batches too), and checks at the end that
 * each callback ran exactly once and never before its start call
 * returned.
 */
#ifndef OP_TEST_REDIS_H
#define OP_TEST_REDIS_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/op.h"
#include "storage/op_store.h"
#include "tests/unit/op_test.h"

/* ---- redis-server ---------------------------------------------------- */

typedef struct op_test_redis {
    pid_t pid; /* 0 when not running */
    int port;
    const char *password; /* NULL: none */
    char dir[64];
    char sock[128];
    char addr[64];       /* "127.0.0.1:port" */
    char unix_addr[160]; /* "unix:/tmp/.../redis.sock" */
} op_test_redis_t;

static op_test_redis_t *op_test_redis_current;

/* A loopback port nobody listens on right now. */
static inline int op_test_redis_free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    OP_CHECK(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    OP_CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    OP_CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Connected blocking socket to the server's TCP port with 2 s I/O
 * timeouts, or -1. */
static inline int op_test_redis_connect(const op_test_redis_t *r)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct timeval tv = {2, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    sa.sin_port = htons((uint16_t)r->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Write one command as a RESP array. */
static inline bool op_test_redis_send(int fd, int argc, const char **argv)
{
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "*%d\r\n", argc);
    for (int i = 0; i < argc && n > 0 && (size_t)n < sizeof(buf); i++)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    if (n <= 0 || (size_t)n >= sizeof(buf))
        return false;
    return write(fd, buf, (size_t)n) == n;
}

/* Read one reply: a simple line (+ - :) as is, a bulk string as its
 * content, nil as "(nil)". out is NUL-terminated. Arrays are not
 * supported (the tests do not need them). */
static inline bool op_test_redis_read(int fd, char *out, size_t size)
{
    size_t n = 0;
    while (n + 1 < size) {
        if (read(fd, out + n, 1) != 1)
            return false;
        if (n > 0 && out[n - 1] == '\r' && out[n] == '\n') {
            out[n - 1] = '\0';
            break;
        }
        n++;
    }
    if (out[0] != '$')
        return true;
    long len = strtol(out + 1, NULL, 10);
    if (len < 0) {
        snprintf(out, size, "(nil)");
        return true;
    }
    if ((size_t)len + 2 >= size)
        return false;
    size_t got = 0;
    while (got < (size_t)len + 2) {
        ssize_t k = read(fd, out + got, (size_t)len + 2 - got);
        if (k <= 0)
            return false;
        got += (size_t)k;
    }
    out[len] = '\0';
    return true;
}

/*
 * Run one command on database db (AUTH first when the server has a
 * password) and put its reply in out. Returns false when the server does
 * not answer.
 */
static inline bool op_test_redis_cmd(const op_test_redis_t *r, int db, char *out, size_t size,
                                     int argc, const char **argv)
{
    char dbs[16];
    int fd = op_test_redis_connect(r);
    bool ok = fd >= 0;
    if (ok && r->password != NULL) {
        const char *auth[] = {"AUTH", r->password};
        ok = op_test_redis_send(fd, 2, auth) && op_test_redis_read(fd, out, size);
    }
    if (ok && db != 0) {
        snprintf(dbs, sizeof(dbs), "%d", db);
        const char *sel[] = {"SELECT", dbs};
        ok = op_test_redis_send(fd, 2, sel) && op_test_redis_read(fd, out, size);
    }
    ok = ok && op_test_redis_send(fd, argc, argv) && op_test_redis_read(fd, out, size);
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Stop the server with sig and reap it. */
static inline void op_test_redis_kill(op_test_redis_t *r, int sig)
{
    if (r->pid <= 0)
        return;
    kill(r->pid, SIGCONT); /* a paused server must see SIGTERM */
    kill(r->pid, sig);
    while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    r->pid = 0;
}

static inline void op_test_redis_pause(op_test_redis_t *r)
{
    OP_CHECK(kill(r->pid, SIGSTOP) == 0);
}

static inline void op_test_redis_resume(op_test_redis_t *r)
{
    OP_CHECK(kill(r->pid, SIGCONT) == 0);
}

/* Kill the server and remove its dir (atexit, and by hand). */
static inline void op_test_redis_cleanup(void)
{
    op_test_redis_t *r = op_test_redis_current;
    char path[192];
    if (r == NULL)
        return;
    op_test_redis_kill(r, SIGKILL);
    snprintf(path, sizeof(path), "%s/redis.log", r->dir);
    unlink(path);
    unlink(r->sock);
    rmdir(r->dir);
    op_test_redis_current = NULL;
}

/* Exec redis-server in a child that dies with us. */
static inline void op_test_redis_spawn(op_test_redis_t *r)
{
    char port[16], log[192];
    snprintf(port, sizeof(port), "%d", r->port);
    snprintf(log, sizeof(log), "%s/redis.log", r->dir);
    fflush(NULL);
    r->pid = fork();
    OP_CHECK(r->pid >= 0);
    if (r->pid > 0)
        return;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const char *argv[24] = {"redis-server",
                            "--port",
                            port,
                            "--bind",
                            "127.0.0.1",
                            "--save",
                            "",
                            "--appendonly",
                            "no",
                            "--dir",
                            r->dir,
                            "--unixsocket",
                            r->sock,
                            "--unixsocketperm",
                            "700",
                            "--logfile",
                            log,
                            "--daemonize",
                            "no"};
    int argc = 19;
    if (r->password != NULL) {
        argv[argc++] = "--requirepass";
        argv[argc++] = r->password;
    }
    argv[argc] = NULL;
    execvp("redis-server", (char *const *)(uintptr_t)argv);
    _exit(127);
}

/* Wait (at most 5 s) until the server answers PING; false if it exited
 * first (its port was taken). */
static inline bool op_test_redis_wait_ready(op_test_redis_t *r)
{
    for (int i = 0; i < 500; i++) {
        char out[128];
        const char *ping[] = {"PING"};
        int fd = op_test_redis_connect(r);
        if (fd >= 0) {
            bool ok = op_test_redis_send(fd, 1, ping) && op_test_redis_read(fd, out, sizeof(out));
            close(fd);
            if (ok && (out[0] == '+' || out[0] == '-'))
                return true;
        }
        if (waitpid(r->pid, NULL, WNOHANG) != 0) {
            r->pid = 0;
            return false;
        }
        usleep(10 * 1000);
    }
    OP_CHECK(!"redis-server did not answer PING within 5 s");
    return false;
}

/*
 * (Re)start the server. The first start makes the temp dir and picks a
 * free port (another one if that was taken meanwhile); a restart keeps
 * both.
 */
static inline void op_test_redis_start(op_test_redis_t *r)
{
    bool first = r->dir[0] == '\0';
    if (first) {
        snprintf(r->dir, sizeof(r->dir), "/tmp/op-test-redis-XXXXXX");
        OP_CHECK(mkdtemp(r->dir) != NULL);
        snprintf(r->sock, sizeof(r->sock), "%s/redis.sock", r->dir);
        snprintf(r->unix_addr, sizeof(r->unix_addr), "unix:%s", r->sock);
        op_test_redis_current = r;
        atexit(op_test_redis_cleanup);
        signal(SIGPIPE, SIG_IGN); /* writes to a killed server */
    }
    for (int attempt = 0; attempt < 5; attempt++) {
        if (first) {
            r->port = op_test_redis_free_port();
            snprintf(r->addr, sizeof(r->addr), "127.0.0.1:%d", r->port);
        }
        op_test_redis_spawn(r);
        if (op_test_redis_wait_ready(r))
            return;
        OP_CHECK(first); /* a restart must get its port back */
    }
    OP_CHECK(!"redis-server did not start");
}

/* ---- store fixture ----------------------------------------------------- */

#define OP_TEST_STORE_MAX_OPS  10000
#define OP_TEST_STORE_GUARD_MS 10000

typedef struct op_test_store op_test_store_t;

/* One op of a batch: what the batch callback saw for it (copied). */
typedef struct op_test_res {
    int status;
    char *value;
    size_t value_len;
    int64_t ttl_ms;
} op_test_res_t;

/* One operation's record: what its callback saw (copied). */
typedef struct op_test_op {
    op_test_store_t *fx;
    bool returned; /* the start call has returned */
    int calls;
    int status;
    char *value;
    size_t value_len;
    int64_t ttl_ms;
    char **keys;
    size_t *key_lens;
    size_t nkeys;
    /* batch: n as the callback got it, and each op's outcome */
    size_t nres;
    op_test_res_t res[OP_STORE_BATCH_MAX];
} op_test_op_t;

struct op_test_store {
    op_loop_t *loop;
    op_store_t *store;
    op_store_kind_t kind;
    op_test_redis_t redis;
    op_store_config_t cfg;
    op_timer_t *guard; /* fails a wait that never ends */
    int waiting;       /* callbacks the current wait expects */
    op_test_op_t *ops[OP_TEST_STORE_MAX_OPS];
    size_t nops;
    int open_calls, close_calls;
    bool open_returned, close_returned;
    int open_status;
    op_err_t open_err;
};

static inline void op_test_store_on_guard(void *arg)
{
    OP_UNUSED(arg);
    OP_CHECK(!"a wait on the loop did not end");
}

/* Run the loop until every expected callback has run. */
static inline void op_test_store_wait(op_test_store_t *fx)
{
    op_timer_start(fx->guard, OP_TEST_STORE_GUARD_MS);
    while (fx->waiting > 0)
        OP_CHECK(op_loop_run(fx->loop) == OP_OK);
    op_timer_stop(fx->guard);
}

static inline void op_test_store_done(op_test_store_t *fx)
{
    OP_CHECK(fx->waiting > 0);
    if (--fx->waiting == 0)
        op_loop_stop(fx->loop);
}

static inline void op_test_store_on_wake(void *arg)
{
    op_test_store_done(arg);
}

/* Let the loop run for ms (waiting on the loop, not sleeping). */
static inline void op_test_store_sleep(op_test_store_t *fx, uint64_t ms)
{
    op_timer_t *t = op_timer_new(fx->loop, op_test_store_on_wake, fx);
    OP_CHECK(t != NULL);
    fx->waiting++;
    op_timer_start(t, ms);
    op_test_store_wait(fx);
    op_timer_free(t);
}

/* Run the loop until pred(fx) holds, looking every 10 ms (at most 5 s). */
static inline void op_test_store_until(op_test_store_t *fx, bool (*pred)(op_test_store_t *fx))
{
    for (int i = 0; i < 500 && !pred(fx); i++)
        op_test_store_sleep(fx, 10);
    OP_CHECK(pred(fx));
}

static inline void op_test_store_on_open(int status, op_store_t *store, const op_err_t *err,
                                         void *arg)
{
    op_test_store_t *fx = arg;
    OP_CHECK(fx->open_returned);
    fx->open_calls++;
    OP_CHECK_INT(fx->open_calls, 1);
    fx->open_status = status;
    fx->store = store;
    OP_CHECK((status == OP_OK) == (store != NULL));
    if (status != OP_OK) {
        OP_CHECK(err != NULL);
        fx->open_err = *err;
    }
    op_test_store_done(fx);
}

/* Open a store with fx->cfg; returns the status (fx->store on OP_OK). */
static inline int op_test_store_open(op_test_store_t *fx)
{
    fx->open_calls = 0;
    fx->open_returned = false;
    fx->waiting++;
    op_store_open(fx->loop, &fx->cfg, op_test_store_on_open, fx);
    fx->open_returned = true;
    op_test_store_wait(fx);
    OP_CHECK_INT(fx->open_calls, 1);
    return fx->open_status;
}

/* A fresh loop, a redis-server for OP_STORE_REDIS (with password, if
 * not NULL), and a default config (not opened yet). */
static inline void op_test_store_init(op_test_store_t *fx, op_store_kind_t kind,
                                      const char *password)
{
    memset(fx, 0, sizeof(*fx));
    op_log_init(OP_LOG_WARN, 2); /* outages and errors only */
    fx->kind = kind;
    fx->loop = op_loop_new();
    OP_CHECK(fx->loop != NULL);
    fx->guard = op_timer_new(fx->loop, op_test_store_on_guard, fx);
    OP_CHECK(fx->guard != NULL);
    fx->cfg.kind = kind;
    fx->cfg.prefix = "t:";
    fx->cfg.timeout_ms = 2000;
    fx->cfg.connect_timeout_ms = 1000;
    fx->cfg.backoff_min_ms = 20;
    fx->cfg.backoff_max_ms = 200;
    if (kind == OP_STORE_REDIS) {
        fx->redis.password = password;
        fx->cfg.redis_password = password;
        op_test_redis_start(&fx->redis);
        fx->cfg.redis_address = fx->redis.addr;
    }
}

/* init + open, which must succeed. */
static inline void op_test_store_setup(op_test_store_t *fx, op_store_kind_t kind)
{
    op_test_store_init(fx, kind, NULL);
    OP_CHECK_INT(op_test_store_open(fx), OP_OK);
    OP_CHECK_STR(op_store_kind_name(fx->store), kind == OP_STORE_MEMORY ? "memory" : "redis");
}

static inline void op_test_store_on_close(void *arg)
{
    op_test_store_t *fx = arg;
    OP_CHECK(fx->close_returned);
    fx->close_calls++;
    OP_CHECK_INT(fx->close_calls, 1);
    fx->store = NULL;
    op_test_store_done(fx);
}

/* Start closing (the callback is awaited by the next wait). */
static inline void op_test_store_close_async(op_test_store_t *fx)
{
    fx->waiting++;
    op_store_close(fx->store, op_test_store_on_close, fx);
    fx->close_returned = true;
}

/*
 * Close the store (if open) and check that every operation's callback ran
 * exactly once; free everything, stop the server.
 */
static inline void op_test_store_teardown(op_test_store_t *fx)
{
    if (fx->store != NULL) {
        op_test_store_close_async(fx);
        op_test_store_wait(fx);
        OP_CHECK_INT(fx->close_calls, 1);
    }
    OP_CHECK_INT(fx->waiting, 0);
    for (size_t i = 0; i < fx->nops; i++) {
        op_test_op_t *o = fx->ops[i];
        OP_CHECK_INT(o->calls, 1);
        for (size_t k = 0; k < o->nkeys; k++)
            free(o->keys[k]);
        free(o->keys);
        free(o->key_lens);
        free(o->value);
        for (size_t k = 0; k < o->nres; k++)
            free(o->res[k].value);
        free(o);
    }
    op_timer_free(fx->guard);
    op_loop_free(fx->loop);
    op_test_redis_cleanup();
}

static inline void *op_test_memdup(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    OP_CHECK(d != NULL);
    if (n > 0)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

/* The operation callback: never synchronous, exactly once; copies what
 * the borrowed result holds. */
static inline void op_test_store_on_op(int status, const op_store_res_t *res, void *arg)
{
    op_test_op_t *o = arg;
    OP_CHECK(o->returned);
    OP_CHECK(res != NULL);
    o->calls++;
    OP_CHECK_INT(o->calls, 1);
    o->status = status;
    o->ttl_ms = res->ttl_ms;
    if (res->value != NULL) {
        o->value = op_test_memdup(res->value, res->value_len);
        o->value_len = res->value_len;
    }
    if (res->nkeys > 0) {
        o->keys = calloc(res->nkeys, sizeof(*o->keys));
        o->key_lens = calloc(res->nkeys, sizeof(*o->key_lens));
        OP_CHECK(o->keys != NULL && o->key_lens != NULL);
        for (size_t i = 0; i < res->nkeys; i++) {
            o->keys[i] = op_test_memdup(res->keys[i].ptr, res->keys[i].len);
            o->key_lens[i] = res->keys[i].len;
        }
    }
    o->nkeys = res->nkeys;
    op_test_store_done(o->fx);
}

/* The batch callback: never synchronous, exactly once, never more than
 * OP_STORE_BATCH_MAX results; copies each op's borrowed result. */
static inline void op_test_store_on_batch(int status, const op_store_batch_res_t *results, size_t n,
                                          void *arg)
{
    op_test_op_t *o = arg;
    OP_CHECK(o->returned);
    OP_CHECK(results != NULL);
    OP_CHECK(n <= OP_STORE_BATCH_MAX);
    o->calls++;
    OP_CHECK_INT(o->calls, 1);
    o->status = status;
    o->nres = n;
    for (size_t i = 0; i < n; i++) {
        op_test_res_t *r = &o->res[i];
        r->status = results[i].status;
        r->ttl_ms = results[i].res.ttl_ms;
        OP_CHECK_INT(results[i].res.nkeys, 0);
        if (results[i].res.value != NULL) {
            r->value = op_test_memdup(results[i].res.value, results[i].res.value_len);
            r->value_len = results[i].res.value_len;
        }
    }
    op_test_store_done(o->fx);
}

/* A new tracked operation, expected by the next wait. */
static inline op_test_op_t *op_test_op_new(op_test_store_t *fx)
{
    OP_CHECK(fx->nops < OP_TEST_STORE_MAX_OPS);
    op_test_op_t *o = calloc(1, sizeof(*o));
    OP_CHECK(o != NULL);
    o->fx = fx;
    fx->ops[fx->nops++] = o;
    fx->waiting++;
    return o;
}

/* ---- starting operations (async: they return before the callback) ---- */

static inline op_test_op_t *op_test_put_rec(op_test_store_t *fx, const op_store_rec_t *rec,
                                            unsigned flags)
{
    op_test_op_t *o = op_test_op_new(fx);
    op_store_put(fx->store, rec, flags, op_test_store_on_op, o);
    o->returned = true;
    return o;
}

/* put of C strings, with at most one index (name NULL: none). */
static inline op_test_op_t *op_test_put_async(op_test_store_t *fx, const char *ns, const char *key,
                                              const char *value, uint64_t ttl_ms, const char *iname,
                                              const char *ivalue, unsigned flags)
{
    op_store_index_t ix = {iname, ivalue, ivalue ? strlen(ivalue) : 0};
    op_store_rec_t rec = {ns,     key, strlen(key),          value, strlen(value),
                          ttl_ms, &ix, iname != NULL ? 1 : 0};
    return op_test_put_rec(fx, &rec, flags);
}

typedef void (*op_test_keyed_fn)(op_store_t *, const char *, const char *, size_t, op_store_cb,
                                 void *);

static inline op_test_op_t *op_test_keyed_async(op_test_store_t *fx, op_test_keyed_fn fn,
                                                const char *ns, const char *key, size_t len)
{
    op_test_op_t *o = op_test_op_new(fx);
    fn(fx->store, ns, key, len, op_test_store_on_op, o);
    o->returned = true;
    return o;
}

static inline op_test_op_t *op_test_index_async(op_test_store_t *fx, const char *ns,
                                                const char *name, const char *value,
                                                size_t value_len, size_t limit)
{
    op_test_op_t *o = op_test_op_new(fx);
    op_store_index(fx->store, ns, name, value, value_len, limit, op_test_store_on_op, o);
    o->returned = true;
    return o;
}

static inline op_test_op_t *op_test_ping_async(op_test_store_t *fx)
{
    op_test_op_t *o = op_test_op_new(fx);
    op_store_ping(fx->store, op_test_store_on_op, o);
    o->returned = true;
    return o;
}

static inline op_test_op_t *op_test_batch_async(op_test_store_t *fx, const op_store_batch_op_t *ops,
                                                size_t n)
{
    op_test_op_t *o = op_test_op_new(fx);
    op_store_batch(fx->store, ops, n, op_test_store_on_batch, o);
    o->returned = true;
    return o;
}

/* Batch ops of C strings: a put with at most one index entry (ix NULL:
 * none), and a get / take / del. */
static inline op_store_batch_op_t op_test_bput(const char *ns, const char *key, const char *value,
                                               uint64_t ttl_ms, const op_store_index_t *ix,
                                               unsigned flags)
{
    op_store_batch_op_t op = {OP_STORE_BATCH_PUT,
                              {ns, key, strlen(key), value, strlen(value), ttl_ms, ix, ix ? 1 : 0},
                              flags};
    return op;
}

static inline op_store_batch_op_t op_test_bkey(op_store_batch_kind_t kind, const char *ns,
                                               const char *key)
{
    op_store_batch_op_t op = {kind, {ns, key, strlen(key), NULL, 0, 0, NULL, 0}, 0};
    return op;
}

/* ---- the same, waited for ------------------------------------------------ */

static inline int op_test_put(op_test_store_t *fx, const char *ns, const char *key,
                              const char *value, uint64_t ttl_ms, const char *iname,
                              const char *ivalue, unsigned flags)
{
    op_test_op_t *o = op_test_put_async(fx, ns, key, value, ttl_ms, iname, ivalue, flags);
    op_test_store_wait(fx);
    return o->status;
}

static inline op_test_op_t *op_test_get(op_test_store_t *fx, const char *ns, const char *key)
{
    op_test_op_t *o = op_test_keyed_async(fx, op_store_get, ns, key, strlen(key));
    op_test_store_wait(fx);
    return o;
}

static inline int op_test_get_status(op_test_store_t *fx, const char *ns, const char *key)
{
    return op_test_get(fx, ns, key)->status;
}

static inline int op_test_keyed(op_test_store_t *fx, op_test_keyed_fn fn, const char *ns,
                                const char *key)
{
    op_test_op_t *o = op_test_keyed_async(fx, fn, ns, key, strlen(key));
    op_test_store_wait(fx);
    return o->status;
}

static inline op_test_op_t *op_test_index(op_test_store_t *fx, const char *ns, const char *name,
                                          const char *value, size_t limit)
{
    op_test_op_t *o = op_test_index_async(fx, ns, name, value, strlen(value), limit);
    op_test_store_wait(fx);
    OP_CHECK_INT(o->status, OP_OK);
    return o;
}

static inline op_test_op_t *op_test_batch(op_test_store_t *fx, const op_store_batch_op_t *ops,
                                          size_t n)
{
    op_test_op_t *o = op_test_batch_async(fx, ops, n);
    op_test_store_wait(fx);
    return o;
}

/* Does the listing hold exactly the keys of `want` (a NULL-terminated list
 * of C strings), in any order? */
static inline bool op_test_keys_are(const op_test_op_t *o, const char *const *want)
{
    size_t n = 0;
    for (; want[n] != NULL; n++) {
        bool found = false;
        for (size_t i = 0; i < o->nkeys && !found; i++)
            found = o->key_lens[i] == strlen(want[n]) &&
                    memcmp(o->keys[i], want[n], o->key_lens[i]) == 0;
        if (!found)
            return false;
    }
    return n == o->nkeys;
}

#define OP_TEST_KEYS(o, ...)                                                                       \
    OP_CHECK(op_test_keys_are((o), (const char *const[]){__VA_ARGS__, NULL}))
#define OP_TEST_NO_KEYS(o) OP_CHECK_INT((o)->nkeys, 0)

/* Op i of batch o reported status st and value val (NULL: no value). */
#define OP_TEST_RES(o, i, st, val)                                                                 \
    do {                                                                                           \
        const char *op_want_ = (val);                                                              \
        OP_CHECK_INT((o)->res[i].status, st);                                                      \
        if (op_want_ != NULL)                                                                      \
            OP_CHECK_STR((o)->res[i].value, op_want_);                                             \
        else                                                                                       \
            OP_CHECK((o)->res[i].value == NULL);                                                   \
    } while (0)

#endif
