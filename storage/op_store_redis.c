/*
 * storage/op_store_redis.c - the redis backend: one EVAL (or PING) per
 * store operation, and the mapping of replies to results.
 *
 * Record encoding: a hash per record, field "v" holding the value and one
 * field "i:" name ":" value (content "1") per index entry, so the record
 * itself says which sets it belongs to. That makes every write exact (an
 * overwrite, delete or take removes the record from precisely its old
 * sets) and makes listings exact: a member is live only while its record
 * exists *and* still carries the entry, which also covers a record that
 * expired and was written again without that index.
 *
 * Index sets get a TTL no shorter than their longest-lived member's; a
 * member without TTL makes the set persistent. A set empties (and so
 * vanishes) as its members go; members whose records expired are removed
 * by the next listing.
 *
 * Scripts are sent with EVAL on every call, not EVALSHA: one round trip
 * always, no NOSCRIPT retry after a restart or failover (which would be a
 * second round trip), and no per-connection script state. Redis caches
 * the compiled script by its SHA1, so the cost is the script's few hundred
 * bytes on the wire and one SHA1 per call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "storage/op_store_int.h"

/* Remove record k (member m of namespace prefix ns) from its index sets,
 * then delete it. Shared by put (overwrite), take and del. */
#define OP_STORE_REDIS_LUA_UNINDEX                                                                 \
    "for _, f in ipairs(redis.call('HKEYS', k)) do\n"                                              \
    "  if string.sub(f, 1, 2) == 'i:' then\n"                                                      \
    "    redis.call('SREM', ns .. 'idx:' .. string.sub(f, 3), m)\n"                                \
    "  end\n"                                                                                      \
    "end\n"                                                                                        \
    "redis.call('DEL', k)\n"

/* KEYS[1] record, KEYS[2..] its index sets; ARGV[1] "0" / "1" (NX) /
 * "2" (XX), ARGV[2] TTL ms ("0": none), ARGV[3] value, ARGV[4] prefix ns
 * ":". Returns 1, 0 (NX: exists) or -1 (XX: absent). */
static const char op_store_redis_lua_put[] =
    "local k, ns = KEYS[1], ARGV[4]\n"
    "local m = string.sub(k, #ns + 1)\n"
    "local ex = redis.call('EXISTS', k)\n"
    "if ARGV[1] == '1' and ex == 1 then return 0 end\n"
    "if ARGV[1] == '2' and ex == 0 then return -1 end\n"
    "if ex == 1 then\n" OP_STORE_REDIS_LUA_UNINDEX "end\n"
    "local h = {'v', ARGV[3]}\n"
    "for i = 2, #KEYS do\n"
    "  h[#h + 1] = 'i:' .. string.sub(KEYS[i], #ns + 5)\n"
    "  h[#h + 1] = '1'\n"
    "end\n"
    "redis.call('HSET', k, unpack(h))\n"
    "local ttl = tonumber(ARGV[2])\n"
    "if ttl > 0 then redis.call('PEXPIRE', k, ARGV[2]) end\n"
    "for i = 2, #KEYS do\n"
    "  local s = KEYS[i]\n"
    "  local had = redis.call('EXISTS', s)\n"
    "  redis.call('SADD', s, m)\n"
    "  if ttl == 0 then\n"
    "    redis.call('PERSIST', s)\n"
    "  else\n"
    "    local left = redis.call('PTTL', s)\n"
    "    if had == 0 or (left >= 0 and left < ttl) then\n"
    "      redis.call('PEXPIRE', s, ARGV[2])\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return 1\n";

/* KEYS[1] record. Returns {value, pttl} or nil. */
static const char op_store_redis_lua_get[] = "local v = redis.call('HGET', KEYS[1], 'v')\n"
                                             "if not v then return false end\n"
                                             "return {v, redis.call('PTTL', KEYS[1])}\n";

/* KEYS[1] record; ARGV[1] prefix ns ":", ARGV[2] "1" to return the value
 * (take) or "0" (del). Returns {value, pttl} / 1, or nil when absent. */
static const char op_store_redis_lua_take[] =
    "local k, ns = KEYS[1], ARGV[1]\n"
    "local v = redis.call('HGET', k, 'v')\n"
    "if not v then return false end\n"
    "local ttl = redis.call('PTTL', k)\n"
    "local m = string.sub(k, #ns + 1)\n" OP_STORE_REDIS_LUA_UNINDEX
    "if ARGV[2] == '1' then return {v, ttl} end\n"
    "return 1\n";

/* KEYS[1] set; ARGV[1] prefix ns ":", ARGV[2] limit ("0": all). Returns
 * the live members, removing those whose record is gone or no longer
 * carries the entry. */
static const char op_store_redis_lua_index[] = "local s, ns = KEYS[1], ARGV[1]\n"
                                               "local f = 'i:' .. string.sub(s, #ns + 5)\n"
                                               "local limit = tonumber(ARGV[2])\n"
                                               "local out = {}\n"
                                               "for _, m in ipairs(redis.call('SMEMBERS', s)) do\n"
                                               "  if limit > 0 and #out >= limit then break end\n"
                                               "  if redis.call('HEXISTS', ns .. m, f) == 1 then\n"
                                               "    out[#out + 1] = m\n"
                                               "  else\n"
                                               "    redis.call('SREM', s, m)\n"
                                               "  end\n"
                                               "end\n"
                                               "return out\n";

/* EVAL script numkeys KEYS[1] + sets + up to four ARGV. */
#define OP_STORE_REDIS_MAX_ARGS (3 + 1 + OP_STORE_MAX_INDEXES + 4)

typedef struct op_store_redis {
    op_store_t *store;
    op_store_redis_conn_t *conn;
} op_store_redis_t;

/* An argument vector under construction. */
typedef struct op_store_redis_argv {
    int argc;
    const char *argv[OP_STORE_REDIS_MAX_ARGS];
    size_t lens[OP_STORE_REDIS_MAX_ARGS];
} op_store_redis_argv_t;

static void op_store_redis_arg(op_store_redis_argv_t *a, const char *p, size_t len)
{
    a->argv[a->argc] = p;
    a->lens[a->argc] = len;
    a->argc++;
}

static void op_store_redis_arg_str(op_store_redis_argv_t *a, const char *s)
{
    op_store_redis_arg(a, s, strlen(s));
}

/* ---- replies ---------------------------------------------------------------- */

/* An error reply: "try later" errors are OP_EUNAVAIL, the rest OP_ERROR.
 * Redis error texts carry no record data; they are logged, bounded. */
static int op_store_redis_error(const op_store_op_t *op, const redisReply *r)
{
    static const char *const later[] = {"LOADING", "BUSY",     "MASTERDOWN", "TRYAGAIN",
                                        "OOM",     "READONLY", "CLUSTERDOWN"};
    for (size_t i = 0; i < OP_NELEMS(later); i++) {
        size_t n = strlen(later[i]);
        if (r->len >= n && memcmp(r->str, later[i], n) == 0 && (r->len == n || r->str[n] == ' '))
            return OP_EUNAVAIL;
    }
    op_log_warn(NULL, "storage: redis error on %s: %.*s", op_store_op_name(op->kind),
                (int)(r->len < 200 ? r->len : 200), r->str);
    return OP_ERROR;
}

static int op_store_redis_unexpected(const op_store_op_t *op, const redisReply *r)
{
    op_log_warn(NULL, "storage: redis: unexpected reply (type %d) to %s", r->type,
                op_store_op_name(op->kind));
    return OP_EPROTO;
}

/* {value, pttl} of get and take. */
static int op_store_redis_value(const op_store_op_t *op, const redisReply *r, op_store_res_t *res)
{
    if (r->type == REDIS_REPLY_NIL)
        return OP_ENOTFOUND;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_INTEGER)
        return op_store_redis_unexpected(op, r);
    res->value = r->element[0]->str;
    res->value_len = r->element[0]->len;
    res->ttl_ms = r->element[1]->integer >= 0 ? r->element[1]->integer : -1;
    return OP_OK;
}

/* Map a reply to the operation's outcome and complete it. Index keys
 * point into the reply, which lives until this returns. */
static void op_store_redis_on_reply(int status, struct redisReply *r, void *arg)
{
    op_store_op_t *op = arg;
    op_store_res_t res = {.ttl_ms = -1};
    op_str_t *keys = NULL;

    if (status != OP_OK) {
        op_store_complete(op, status, NULL);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        op_store_complete(op, op_store_redis_error(op, r), NULL);
        return;
    }
    switch (op->kind) {
    case OP_STORE_OP_PUT:
        if (r->type != REDIS_REPLY_INTEGER || r->integer < -1 || r->integer > 1)
            status = op_store_redis_unexpected(op, r);
        else
            status = r->integer == 1 ? OP_OK : r->integer == 0 ? OP_EEXIST : OP_ENOTFOUND;
        break;
    case OP_STORE_OP_GET:
    case OP_STORE_OP_TAKE:
        status = op_store_redis_value(op, r, &res);
        break;
    case OP_STORE_OP_DEL:
        if (r->type == REDIS_REPLY_NIL)
            status = OP_ENOTFOUND;
        else if (r->type != REDIS_REPLY_INTEGER || r->integer != 1)
            status = op_store_redis_unexpected(op, r);
        break;
    case OP_STORE_OP_INDEX:
        if (r->type != REDIS_REPLY_ARRAY) {
            status = op_store_redis_unexpected(op, r);
            break;
        }
        if (r->elements > 0) {
            keys = malloc(r->elements * sizeof(*keys));
            if (keys == NULL) {
                status = OP_ENOMEM;
                break;
            }
        }
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_STRING) {
                status = op_store_redis_unexpected(op, e);
                break;
            }
            keys[i] = (op_str_t){e->str, e->len};
        }
        res.keys = keys;
        res.nkeys = r->elements;
        break;
    default: /* ping */
        if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0)
            status = op_store_redis_unexpected(op, r);
        break;
    }
    op_store_complete(op, status, status == OP_OK ? &res : NULL);
    free(keys);
}

/* ---- operations ------------------------------------------------------------ */

static void op_store_redis_eval(op_store_redis_argv_t *a, const char *script, size_t script_len,
                                char *numkeys, size_t numkeys_size, size_t n)
{
    snprintf(numkeys, numkeys_size, "%zu", n);
    op_store_redis_arg_str(a, "EVAL");
    op_store_redis_arg(a, script, script_len);
    op_store_redis_arg_str(a, numkeys);
}

/*
 * Build the one command of an operation and send it. A refusal (not
 * connected, no memory) ends the operation from the loop, fast.
 */
static void op_store_redis_submit(void *be, op_store_op_t *op)
{
    op_store_redis_t *r = be;
    op_store_redis_argv_t a = {0};
    char numkeys[8], num[24];
    op_str_t ns = {op->key.ptr, op->ns_len};

    switch (op->kind) {
    case OP_STORE_OP_PUT:
        op_store_redis_eval(&a, op_store_redis_lua_put, sizeof(op_store_redis_lua_put) - 1, numkeys,
                            sizeof(numkeys), 1 + op->nsets);
        op_store_redis_arg(&a, op->key.ptr, op->key.len);
        for (size_t i = 0; i < op->nsets; i++)
            op_store_redis_arg(&a, op->sets[i].ptr, op->sets[i].len);
        op_store_redis_arg_str(&a, (op->flags & OP_STORE_NX)   ? "1"
                                   : (op->flags & OP_STORE_XX) ? "2"
                                                               : "0");
        snprintf(num, sizeof(num), "%llu", (unsigned long long)op->ttl_ms);
        op_store_redis_arg_str(&a, num);
        op_store_redis_arg(&a, op->value.ptr != NULL ? op->value.ptr : "", op->value.len);
        op_store_redis_arg(&a, ns.ptr, ns.len);
        break;
    case OP_STORE_OP_GET:
        op_store_redis_eval(&a, op_store_redis_lua_get, sizeof(op_store_redis_lua_get) - 1, numkeys,
                            sizeof(numkeys), 1);
        op_store_redis_arg(&a, op->key.ptr, op->key.len);
        break;
    case OP_STORE_OP_TAKE:
    case OP_STORE_OP_DEL:
        op_store_redis_eval(&a, op_store_redis_lua_take, sizeof(op_store_redis_lua_take) - 1,
                            numkeys, sizeof(numkeys), 1);
        op_store_redis_arg(&a, op->key.ptr, op->key.len);
        op_store_redis_arg(&a, ns.ptr, ns.len);
        op_store_redis_arg_str(&a, op->kind == OP_STORE_OP_TAKE ? "1" : "0");
        break;
    case OP_STORE_OP_INDEX:
        op_store_redis_eval(&a, op_store_redis_lua_index, sizeof(op_store_redis_lua_index) - 1,
                            numkeys, sizeof(numkeys), 1);
        op_store_redis_arg(&a, op->key.ptr, op->key.len);
        op_store_redis_arg(&a, ns.ptr, ns.len);
        snprintf(num, sizeof(num), "%zu", op->limit);
        op_store_redis_arg_str(&a, num);
        break;
    default:
        op_store_redis_arg_str(&a, "PING");
        break;
    }
    int rc = op_store_redis_conn_send(r->conn, a.argc, a.argv, a.lens, op_store_redis_on_reply, op);
    if (rc != OP_OK) {
        op_store_defer(op, rc, NULL);
        return;
    }
    r->store->stats.round_trips++;
}

/* ---- backend ------------------------------------------------------------- */

static void op_store_redis_on_ready(int status, const op_err_t *err, void *arg)
{
    op_store_opened(arg, status, err);
}

static int op_store_redis_open(op_store_t *s, const op_store_config_t *cfg, op_err_t *err)
{
    op_store_redis_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return OP_ERR(err, OP_ENOMEM, "storage: out of memory");
    r->store = s;
    int rc = op_store_redis_conn_new(s->loop, cfg, &s->stats, &r->conn, err);
    if (rc != OP_OK) {
        free(r);
        return rc;
    }
    s->be = r;
    op_store_redis_conn_start(r->conn, op_store_redis_on_ready, s);
    return OP_AGAIN;
}

static bool op_store_redis_up(const void *be)
{
    const op_store_redis_t *r = be;
    return op_store_redis_conn_up(r->conn);
}

static void op_store_redis_cancel_all(void *be)
{
    op_store_redis_t *r = be;
    op_store_redis_conn_cancel_all(r->conn);
}

static void op_store_redis_free(void *be)
{
    op_store_redis_t *r = be;
    op_store_redis_conn_free(r->conn);
    free(r);
}

const op_store_backend_t op_store_redis_backend = {
    .name = "redis",
    .open = op_store_redis_open,
    .submit = op_store_redis_submit,
    .up = op_store_redis_up,
    .cancel_all = op_store_redis_cancel_all,
    .free = op_store_redis_free,
};
