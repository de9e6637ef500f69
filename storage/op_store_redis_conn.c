/*
 * storage/op_store_redis_conn.c - the one owner of the hiredis connection
 * (hiredis 0.14.1 async + its libevent adapter).
 *
 * States: CONNECTING (TCP/unix connect, then AUTH, SELECT, PING pipelined
 * and answered within connect_timeout_ms) -> UP -> DOWN (backoff timer
 * armed) -> CONNECTING ... ; CLOSED for good. Commands are accepted only
 * while UP; otherwise they fail fast (the caller defers the error).
 *
 * Deadlines are ours (0.14.1 has none): a connect timer, and one timer
 * for the oldest command in flight (replies come in order, so the oldest
 * is the first to be late). A late command means the connection is stuck:
 * every command in flight ends with OP_ETIMEDOUT, the context is freed and
 * a new one is made after the backoff. Backoff doubles from
 * backoff_min_ms to backoff_max_ms, with jitter, and resets once UP.
 *
 * hiredis rules followed here (see reference/c-style.md 4.2): the context
 * is freed by hiredis after a failed connect and after the disconnect
 * callback, so those callbacks only detach it (ac->data = NULL, c->ac =
 * NULL); reconnects start from a timer; every accepted command has
 * exactly one callback, with a NULL reply when the context goes; a
 * context we free ourselves is detached first so its callbacks know it is
 * stale. Host names are refused: redisAsyncConnect would resolve them
 * with a blocking getaddrinfo.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libevent.h>

#include "storage/op_store_int.h"

#define OP_STORE_REDIS_ADDR_MAX 256
#define OP_STORE_REDIS_WHY_MAX  160

typedef enum {
    OP_STORE_REDIS_CONNECTING = 0,
    OP_STORE_REDIS_UP,
    OP_STORE_REDIS_DOWN,
    OP_STORE_REDIS_CLOSED
} op_store_redis_state_t;

typedef struct op_store_redis_cmd op_store_redis_cmd_t;

/* A command in flight, in send order. */
struct op_store_redis_cmd {
    op_list_t link; /* on the connection's commands in flight */
    op_store_redis_conn_t *conn;
    uint64_t deadline; /* op_loop_now_ms() */
    int fail_status;   /* given to cb if the context goes first */
    op_store_redis_conn_cb cb;
    void *arg;
};

struct op_store_redis_conn {
    op_loop_t *loop;
    op_store_stats_t *stats;
    char address[OP_STORE_REDIS_ADDR_MAX]; /* as configured, for messages */
    char host[INET6_ADDRSTRLEN];
    int port;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    bool is_unix;
    char *password;
    char db[24]; /* SELECT argument; empty for 0 */
    uint64_t timeout_ms, connect_timeout_ms;
    uint64_t backoff_min_ms, backoff_max_ms, backoff_ms;
    uint64_t rng;
    op_store_redis_state_t state;
    bool failing; /* NULL replies seen: the context is going */
    bool announced_up;
    redisAsyncContext *ac;
    op_list_t cmds; /* of op_store_redis_cmd_t, in flight, oldest first */
    op_timer_t *cmd_timer, *connect_timer, *backoff_timer;
    op_store_redis_conn_ready_cb ready; /* until the first outcome */
    void *ready_arg;
};

/* ---- address ------------------------------------------------------------- */

static int op_store_redis_conn_port(op_store_redis_conn_t *c, const char *s, op_err_t *err)
{
    int64_t port = 0;
    if (!op_str_parse_i64(s, strlen(s), 1, 65535, &port))
        return OP_ERR(err, OP_EINVAL,
                      "storage.redis.address %s: bad port "
                      "(expected ip:port, [ipv6]:port or unix:/path)",
                      c->address);
    c->port = (int)port;
    return OP_OK;
}

/*
 * Parse "ip:port", "[v6]:port" or "unix:/path" into c. Names are refused
 * so that no connect can block on DNS.
 */
static int op_store_redis_conn_parse(op_store_redis_conn_t *c, const char *addr, op_err_t *err)
{
    if (addr == NULL || addr[0] == '\0')
        return OP_ERR(err, OP_EINVAL, "storage.redis.address: not set");
    size_t len = strnlen(addr, OP_STORE_REDIS_ADDR_MAX);
    if (len >= OP_STORE_REDIS_ADDR_MAX)
        return OP_ERR(err, OP_EINVAL, "storage.redis.address: too long");
    memcpy(c->address, addr, len + 1);
    if (op_str_has_prefix(addr, "unix:")) {
        const char *path = addr + 5;
        if (path[0] != '/' || strlen(path) >= sizeof(c->path))
            return OP_ERR(err, OP_EINVAL,
                          "storage.redis.address %s: unix "
                          "socket path must be absolute and under %zu "
                          "bytes",
                          c->address, sizeof(c->path));
        memcpy(c->path, path, strlen(path) + 1);
        c->is_unix = true;
        return OP_OK;
    }
    const char *host = addr, *colon;
    size_t host_len;
    int family = AF_INET;
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (end == NULL || end[1] != ':')
            return OP_ERR(err, OP_EINVAL,
                          "storage.redis.address %s: "
                          "expected [ipv6]:port",
                          c->address);
        host = addr + 1;
        host_len = (size_t)(end - host);
        colon = end + 1;
        family = AF_INET6;
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL)
            return OP_ERR(err, OP_EINVAL,
                          "storage.redis.address %s: "
                          "expected ip:port, [ipv6]:port or unix:/path",
                          c->address);
        host_len = (size_t)(colon - addr);
    }
    unsigned char bin[sizeof(struct in6_addr)];
    if (host_len >= sizeof(c->host))
        goto out_not_ip;
    memcpy(c->host, host, host_len);
    c->host[host_len] = '\0';
    if (inet_pton(family, c->host, bin) != 1)
        goto out_not_ip;
    return op_store_redis_conn_port(c, colon + 1, err);

out_not_ip:
    return OP_ERR(err, OP_EINVAL,
                  "storage.redis.address %s: not an IP "
                  "address (host names are refused: they would be resolved "
                  "synchronously; use an IP or unix:/path)",
                  c->address);
}

/* ---- helpers -------------------------------------------------------------- */

/* hiredis's message ("Connection refused") in the style of ours. */
static void op_store_redis_conn_why(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src != NULL && src[0] != '\0' ? src : "error");
    if (dst[0] >= 'A' && dst[0] <= 'Z')
        dst[0] = (char)(dst[0] - 'A' + 'a');
}

/* Backoff with jitter: a random delay in [b/2, b] (xorshift64*). */
static uint64_t op_store_redis_conn_jitter(op_store_redis_conn_t *c, uint64_t b)
{
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    uint64_t r = c->rng * 0x2545f4914f6cdd1dull;
    return b / 2 + r % (b / 2 + 1);
}

/*
 * Free our context (if any) after marking every command in flight to end
 * with status: hiredis calls each back with a NULL reply from inside
 * redisAsyncFree (or right after the current callback, when called from
 * one). The context is detached first, so its callbacks see it as stale.
 */
static void op_store_redis_conn_drop(op_store_redis_conn_t *c, int status)
{
    redisAsyncContext *ac = c->ac;

    op_list_t *pos, *tmp;
    OP_LIST_FOREACH_SAFE (pos, tmp, &c->cmds)
        OP_LIST_ENTRY(pos, op_store_redis_cmd_t, link)->fail_status = status;
    if (ac == NULL)
        return;
    c->ac = NULL;
    ac->data = NULL;
    redisAsyncFree(ac);
}

/*
 * The connection (or an attempt) is gone: end what is in flight with
 * status, then report the first failure to open, or log and schedule the
 * next attempt. The state changes before any callback runs, so a callback
 * that sends again fails fast.
 */
static void op_store_redis_conn_lost(op_store_redis_conn_t *c, int status, const char *why)
{
    if (c->state != OP_STORE_REDIS_CLOSED)
        c->state = OP_STORE_REDIS_DOWN;
    op_timer_stop(c->connect_timer);
    op_timer_stop(c->cmd_timer);
    op_store_redis_conn_drop(c, status);
    if (c->state == OP_STORE_REDIS_CLOSED)
        return;
    if (c->ready != NULL) {
        op_store_redis_conn_ready_cb ready = c->ready;
        op_err_t err;
        op_err_clear(&err);
        OP_ERR(&err, status, "storage.redis.address %s: %s", c->address, why);
        c->ready = NULL;
        ready(status, &err, c->ready_arg);
        return;
    }
    if (c->announced_up) {
        c->announced_up = false;
        op_log_warn(NULL, "storage: redis %s down: %s", c->address, why);
    } else {
        op_log_debug(NULL, "storage: redis %s: reconnect failed: %s", c->address, why);
    }
    op_timer_start(c->backoff_timer, op_store_redis_conn_jitter(c, c->backoff_ms));
    c->backoff_ms = c->backoff_ms * 2 < c->backoff_max_ms ? c->backoff_ms * 2 : c->backoff_max_ms;
}

/* The handshake's PING was answered: up. */
static void op_store_redis_conn_ready(op_store_redis_conn_t *c)
{
    op_timer_stop(c->connect_timer);
    c->state = OP_STORE_REDIS_UP;
    c->failing = false;
    c->announced_up = true;
    c->backoff_ms = c->backoff_min_ms;
    if (c->ready != NULL) {
        op_store_redis_conn_ready_cb ready = c->ready;
        c->ready = NULL;
        op_log_info(NULL, "storage: redis %s up", c->address);
        ready(OP_OK, NULL, c->ready_arg);
        return;
    }
    c->stats->reconnects++;
    op_log_info(NULL, "storage: redis %s up again", c->address);
}

/* ---- hiredis callbacks ------------------------------------------------------ */

/* Replies to AUTH, SELECT and PING (privdata: the command's name). A NULL
 * reply or a stale context is left to the connect/disconnect callbacks
 * or to whoever dropped the context. */
static void op_store_redis_conn_on_handshake(redisAsyncContext *ac, void *r, void *privdata)
{
    op_store_redis_conn_t *c = ac->data;
    const redisReply *reply = r;
    const char *step = privdata;
    char why[OP_STORE_REDIS_WHY_MAX];

    if (c == NULL || reply == NULL)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof(why), "%s refused: %.*s", step,
                 (int)(reply->len < 120 ? reply->len : 120), reply->str);
        op_store_redis_conn_lost(c, strcmp(step, "AUTH") == 0 ? OP_EDENIED : OP_EPROTO, why);
        return;
    }
    if (strcmp(step, "PING") != 0)
        return;
    if (reply->type != REDIS_REPLY_STATUS || strcmp(reply->str, "PONG") != 0) {
        op_store_redis_conn_lost(c, OP_EPROTO, "unexpected reply to PING");
        return;
    }
    op_store_redis_conn_ready(c);
}

/* connect(2) finished. On failure hiredis frees the context right after
 * this returns: detach only. */
static void op_store_redis_conn_on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)(uintptr_t)cac;
    op_store_redis_conn_t *c = ac->data;
    char why[OP_STORE_REDIS_WHY_MAX];

    if (c == NULL || status == REDIS_OK)
        return;
    op_store_redis_conn_why(why, sizeof(why), ac->errstr);
    ac->data = NULL;
    c->ac = NULL;
    op_store_redis_conn_lost(c, OP_EUNAVAIL, why);
}

/* The connection ended (server gone, I/O or protocol error); hiredis
 * already called back every command with NULL and frees the context right
 * after this returns: detach only. */
static void op_store_redis_conn_on_disconnect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)(uintptr_t)cac;
    op_store_redis_conn_t *c = ac->data;
    char why[OP_STORE_REDIS_WHY_MAX];

    if (c == NULL)
        return;
    op_store_redis_conn_why(why, sizeof(why),
                            status == REDIS_OK ? "connection closed" : ac->errstr);
    ac->data = NULL;
    c->ac = NULL;
    op_store_redis_conn_lost(c, OP_EUNAVAIL, why);
}

/* A command's reply (or NULL when the context goes). */
static void op_store_redis_conn_on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    op_store_redis_cmd_t *cmd = privdata;
    op_store_redis_conn_t *c = cmd->conn;

    op_list_remove(&cmd->link);
    if (op_list_empty(&c->cmds))
        op_timer_stop(c->cmd_timer);
    if (r == NULL && c->ac == ac)
        c->failing = true; /* hiredis is tearing the context down */
    cmd->cb(r != NULL ? OP_OK : cmd->fail_status, r, cmd->arg);
    free(cmd);
}

/* ---- timers ------------------------------------------------------------------ */

static void op_store_redis_conn_on_connect_timeout(void *arg)
{
    op_store_redis_conn_t *c = arg;
    char why[OP_STORE_REDIS_WHY_MAX];

    snprintf(why, sizeof(why), "no answer within %llu ms (connect timeout)",
             (unsigned long long)c->connect_timeout_ms);
    op_store_redis_conn_lost(c, OP_ETIMEDOUT, why);
}

/* The oldest command's deadline: re-arm if it has been answered since,
 * else the connection is stuck. */
static void op_store_redis_conn_on_cmd_timeout(void *arg)
{
    op_store_redis_conn_t *c = arg;
    char why[OP_STORE_REDIS_WHY_MAX];
    uint64_t now = op_loop_now_ms();

    op_list_t *oldest = op_list_first(&c->cmds);
    if (oldest == NULL)
        return;
    uint64_t deadline = OP_LIST_ENTRY(oldest, op_store_redis_cmd_t, link)->deadline;
    if (deadline > now) {
        op_timer_start(c->cmd_timer, deadline - now);
        return;
    }
    snprintf(why, sizeof(why), "no reply within %llu ms (command timeout)",
             (unsigned long long)c->timeout_ms);
    op_store_redis_conn_lost(c, OP_ETIMEDOUT, why);
}

/* Send a handshake command; false if hiredis refused it. */
static bool op_store_redis_conn_hello(redisAsyncContext *ac, const char *name, const char *param)
{
    const char *argv[2] = {name, param};
    size_t lens[2] = {strlen(name), param != NULL ? strlen(param) : 0};

    return redisAsyncCommandArgv(ac, op_store_redis_conn_on_handshake, (void *)(uintptr_t)name,
                                 param != NULL ? 2 : 1, argv, lens) == REDIS_OK;
}

/*
 * One connection attempt: a new context, attached to the loop, with
 * AUTH / SELECT / PING queued behind the connect. Failures found at once
 * go through op_store_redis_conn_lost like any other.
 */
static void op_store_redis_conn_attempt(op_store_redis_conn_t *c)
{
    char why[OP_STORE_REDIS_WHY_MAX];
    redisAsyncContext *ac =
        c->is_unix ? redisAsyncConnectUnix(c->path) : redisAsyncConnect(c->host, c->port);

    c->state = OP_STORE_REDIS_CONNECTING;
    c->failing = false;
    if (ac == NULL) {
        /* hiredis 0.14 has no allocator hook: its malloc failed, which
         * is a failed connection like any other (core/base/op_mem.h) */
        op_store_redis_conn_lost(c, OP_EUNAVAIL, "hiredis could not allocate a connection");
        return;
    }
    if (ac->err != 0) {
        op_store_redis_conn_why(why, sizeof(why), ac->errstr);
        redisAsyncFree(ac); /* not attached yet: no callbacks */
        op_store_redis_conn_lost(c, OP_EUNAVAIL, why);
        return;
    }
    ac->data = c;
    c->ac = ac;
    if (redisLibeventAttach(ac, op_loop_base(c->loop)) != REDIS_OK ||
        redisAsyncSetConnectCallback(ac, op_store_redis_conn_on_connect) != REDIS_OK ||
        redisAsyncSetDisconnectCallback(ac, op_store_redis_conn_on_disconnect) != REDIS_OK ||
        (c->password != NULL && !op_store_redis_conn_hello(ac, "AUTH", c->password)) ||
        (c->db[0] != '\0' && !op_store_redis_conn_hello(ac, "SELECT", c->db)) ||
        !op_store_redis_conn_hello(ac, "PING", NULL)) {
        op_store_redis_conn_lost(c, OP_ERROR, "cannot set up the connection");
        return;
    }
    op_timer_start(c->connect_timer, c->connect_timeout_ms);
}

static void op_store_redis_conn_on_backoff(void *arg)
{
    op_store_redis_conn_attempt(arg);
}

/* ---- interface ------------------------------------------------------------------ */

int op_store_redis_conn_new(op_loop_t *loop, const op_store_config_t *cfg, op_store_stats_t *stats,
                            op_store_redis_conn_t **out, op_err_t *err)
{
    op_store_redis_conn_t *c = op_calloc(1, sizeof(*c));
    int rc;

    *out = NULL;
    c->loop = loop;
    c->stats = stats;
    op_list_init(&c->cmds);
    c->state = OP_STORE_REDIS_DOWN;
    rc = op_store_redis_conn_parse(c, cfg->redis_address, err);
    if (rc != OP_OK)
        goto out_free_conn;
    if (cfg->redis_database < 0) {
        rc = OP_ERR(err, OP_EINVAL, "storage.redis.database: %d is negative", cfg->redis_database);
        goto out_free_conn;
    }
    if (cfg->redis_database > 0)
        snprintf(c->db, sizeof(c->db), "%d", cfg->redis_database);
    if (cfg->redis_password != NULL)
        c->password = op_strdup(cfg->redis_password);
    c->timeout_ms = cfg->timeout_ms;
    c->connect_timeout_ms = cfg->connect_timeout_ms;
    c->backoff_min_ms = c->backoff_ms = cfg->backoff_min_ms;
    c->backoff_max_ms = cfg->backoff_max_ms;
    c->rng = (op_loop_now_ms() << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)c;
    if (c->rng == 0)
        c->rng = 1;
    c->cmd_timer = op_timer_new(loop, op_store_redis_conn_on_cmd_timeout, c);
    c->connect_timer = op_timer_new(loop, op_store_redis_conn_on_connect_timeout, c);
    c->backoff_timer = op_timer_new(loop, op_store_redis_conn_on_backoff, c);
    op_err_clear(err);
    *out = c;
    return OP_OK;

out_free_conn:
    op_store_redis_conn_free(c);
    return rc;
}

void op_store_redis_conn_start(op_store_redis_conn_t *c, op_store_redis_conn_ready_cb ready,
                               void *arg)
{
    c->ready = ready;
    c->ready_arg = arg;
    op_store_redis_conn_attempt(c);
}

int op_store_redis_conn_send(op_store_redis_conn_t *c, int argc, const char **argv,
                             const size_t *lens, op_store_redis_conn_cb cb, void *arg)
{
    if (c->state != OP_STORE_REDIS_UP || c->failing)
        return OP_EUNAVAIL;
    op_store_redis_cmd_t *cmd = op_calloc(1, sizeof(*cmd));
    if (redisAsyncCommandArgv(c->ac, op_store_redis_conn_on_reply, cmd, argc, argv, lens) !=
        REDIS_OK) {
        free(cmd);
        return OP_EUNAVAIL;
    }
    cmd->conn = c;
    cmd->cb = cb;
    cmd->arg = arg;
    cmd->fail_status = OP_EUNAVAIL;
    cmd->deadline = op_loop_now_ms() + c->timeout_ms;
    op_list_insert_tail(&c->cmds, &cmd->link);
    if (!op_timer_pending(c->cmd_timer))
        op_timer_start(c->cmd_timer, c->timeout_ms);
    return OP_OK;
}

bool op_store_redis_conn_up(const op_store_redis_conn_t *c)
{
    return c->state == OP_STORE_REDIS_UP && !c->failing;
}

void op_store_redis_conn_cancel_all(op_store_redis_conn_t *c)
{
    c->state = OP_STORE_REDIS_CLOSED;
    op_timer_stop(c->backoff_timer);
    op_store_redis_conn_lost(c, OP_ECANCELED, "closing");
}

void op_store_redis_conn_free(op_store_redis_conn_t *c)
{
    if (c == NULL)
        return;
    if (c->cmd_timer != NULL && c->connect_timer != NULL && c->backoff_timer != NULL)
        op_store_redis_conn_cancel_all(c);
    op_timer_free(c->cmd_timer);
    op_timer_free(c->connect_timer);
    op_timer_free(c->backoff_timer);
    if (c->password != NULL)
        explicit_bzero(c->password, strlen(c->password));
    free(c->password);
    free(c);
}
