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
 * One script runs every record operation: a Lua function per kind (put,
 * get, take - del is a take that does not return the value - and check)
 * and a loop that runs a list of items in order, and stops at a check
 * that fails. A batch is that list; a single put,
 * get, take or del is a list of one, so both share one implementation and
 * one reply format. The script runs atomically, but redis does not roll
 * it back: an error raised in the middle (only a key of a foreign type
 * can cause one) leaves the items before it applied, and the whole
 * operation fails. Index listings have a small script of their own.
 *
 * Scripts are sent with EVAL on every call, not EVALSHA: one round trip
 * always, no NOSCRIPT retry after a restart or failover (which would be a
 * second round trip), and no per-connection script state. Redis caches
 * the compiled script by its SHA1, so the cost is the script's 2.2 KB on
 * the wire and one SHA1 per call.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "storage/op_store_int.h"

/*
 * The record script. KEYS: per item its record key, and for a put then
 * its index set keys. ARGV: per item, in the same order,
 *   get "g" nl | take "t" nl | del "d" nl | put "p" nl nsets flag ttl value
 *   | check "c" nl flag cmp value
 * where nl is the length of the record key's prefix ns ":" part, flag
 * "0", "1" (NX) or "2" (XX), ttl in ms ("0": none), cmp "1" when the
 * check compares the value ("0": value is ""). Returns one element per
 * item: put 1, 0 (NX: exists) or -1 (XX: absent); get and take {value,
 * pttl}; del 1; get, take and del nil when absent; check 1 - or 0, and
 * then nothing more: the items after a failed check do not run.
 */
static const char op_store_redis_lua_rec[] =
    /* Remove record k from its index sets, then delete it. */
    "local function unindex(k, nl)\n"
    "  local ns, m = string.sub(k, 1, nl), string.sub(k, nl + 1)\n"
    "  for _, f in ipairs(redis.call('HKEYS', k)) do\n"
    "    if string.sub(f, 1, 2) == 'i:' then\n"
    "      redis.call('SREM', ns .. 'idx:' .. string.sub(f, 3), m)\n"
    "    end\n"
    "  end\n"
    "  redis.call('DEL', k)\n"
    "end\n"
    /* Write k with its sets KEYS[s1..sn]. */
    "local function put(k, nl, s1, sn, flag, ttl, v)\n"
    "  local ex = redis.call('EXISTS', k)\n"
    "  if flag == '1' and ex == 1 then return 0 end\n"
    "  if flag == '2' and ex == 0 then return -1 end\n"
    "  if ex == 1 then unindex(k, nl) end\n"
    "  local h, m, ms = {'v', v}, string.sub(k, nl + 1), tonumber(ttl)\n"
    "  for i = s1, sn do\n"
    "    h[#h + 1] = 'i:' .. string.sub(KEYS[i], nl + 5)\n"
    "    h[#h + 1] = '1'\n"
    "  end\n"
    "  redis.call('HSET', k, unpack(h))\n"
    "  if ms > 0 then redis.call('PEXPIRE', k, ttl) end\n"
    "  for i = s1, sn do\n"
    "    local s = KEYS[i]\n"
    "    local had = redis.call('EXISTS', s)\n"
    "    redis.call('SADD', s, m)\n"
    "    if ms == 0 then\n"
    "      redis.call('PERSIST', s)\n"
    "    else\n"
    "      local left = redis.call('PTTL', s)\n"
    "      if had == 0 or (left >= 0 and left < ms) then\n"
    "        redis.call('PEXPIRE', s, ttl)\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  return 1\n"
    "end\n"
    "local function get(k)\n"
    "  local v = redis.call('HGET', k, 'v')\n"
    "  if not v then return false end\n"
    "  return {v, redis.call('PTTL', k)}\n"
    "end\n"
    /* take (value: true) or del. */
    "local function take(k, nl, value)\n"
    "  local r = get(k)\n"
    "  if not r then return false end\n"
    "  unindex(k, nl)\n"
    "  if value then return r end\n"
    "  return 1\n"
    "end\n"
    /* NX: absent; XX: present, holding v when cmp is "1". */
    "local function check(k, flag, cmp, v)\n"
    "  if flag == '1' then return redis.call('EXISTS', k) == 0 end\n"
    "  local cur = redis.call('HGET', k, 'v')\n"
    "  return cur ~= false and (cmp == '0' or cur == v)\n"
    "end\n"
    "local out, ki, ai = {}, 1, 1\n"
    "while ai <= #ARGV do\n"
    "  local op, k, nl = ARGV[ai], KEYS[ki], tonumber(ARGV[ai + 1])\n"
    "  if op == 'p' then\n"
    "    local n = tonumber(ARGV[ai + 2])\n"
    "    out[#out + 1] = put(k, nl, ki + 1, ki + n, ARGV[ai + 3], ARGV[ai + 4], ARGV[ai + 5])\n"
    "    ki, ai = ki + 1 + n, ai + 6\n"
    "  elseif op == 'c' then\n"
    "    if not check(k, ARGV[ai + 2], ARGV[ai + 3], ARGV[ai + 4]) then\n"
    "      out[#out + 1] = 0\n"
    "      return out\n"
    "    end\n"
    "    out[#out + 1] = 1\n"
    "    ki, ai = ki + 1, ai + 5\n"
    "  else\n"
    "    if op == 'g' then out[#out + 1] = get(k) else out[#out + 1] = take(k, nl, op == 't') end\n"
    "    ki, ai = ki + 1, ai + 2\n"
    "  end\n"
    "end\n"
    "return out\n";

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

/* EVAL script numkeys, then per item at most its key and sets, and six
 * ARGV (a put's). */
#define OP_STORE_REDIS_MAX_ARGS (3 + OP_STORE_BATCH_MAX * (1 + OP_STORE_MAX_INDEXES + 6))
/* numkeys, then per item at most nl, nsets and ttl. */
#define OP_STORE_REDIS_MAX_NUMS (1 + OP_STORE_BATCH_MAX * 3)

typedef struct op_store_redis {
    op_store_t *store;
    op_store_redis_conn_t *conn;
} op_store_redis_t;

/* An argument vector under construction, with room for its numbers. */
typedef struct op_store_redis_argv {
    int argc;
    const char *argv[OP_STORE_REDIS_MAX_ARGS];
    size_t lens[OP_STORE_REDIS_MAX_ARGS];
    size_t nnums;
    char nums[OP_STORE_REDIS_MAX_NUMS][24];
} op_store_redis_argv_t;

static void op_store_redis_arg(op_store_redis_argv_t *a, const char *p, size_t len)
{
    assert(a->argc < OP_STORE_REDIS_MAX_ARGS);
    a->argv[a->argc] = p;
    a->lens[a->argc] = len;
    a->argc++;
}

static void op_store_redis_arg_str(op_store_redis_argv_t *a, const char *s)
{
    op_store_redis_arg(a, s, strlen(s));
}

/* A number, in decimal, kept in a's own room. */
static void op_store_redis_arg_num(op_store_redis_argv_t *a, uint64_t v)
{
    assert(a->nnums < OP_STORE_REDIS_MAX_NUMS);
    char *p = a->nums[a->nnums++];
    int n = snprintf(p, sizeof(a->nums[0]), "%llu", (unsigned long long)v);
    op_store_redis_arg(a, p, (size_t)n);
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

/*
 * One item's element of the record script's reply into *out (value
 * pointing into the reply). Returns OP_OK, or OP_EPROTO for an element
 * that is not what the item's kind answers.
 */
static int op_store_redis_item(const op_store_op_t *op, const op_store_item_t *it,
                               const redisReply *e, op_store_batch_res_t *out)
{
    out->res = (op_store_res_t){.ttl_ms = -1};
    if (e->type == REDIS_REPLY_NIL && it->kind != OP_STORE_OP_PUT) {
        out->status = OP_ENOTFOUND;
        return OP_OK;
    }
    switch (it->kind) {
    case OP_STORE_OP_PUT:
        if (e->type != REDIS_REPLY_INTEGER || e->integer < -1 || e->integer > 1)
            return op_store_redis_unexpected(op, e);
        out->status = e->integer == 1 ? OP_OK : e->integer == 0 ? OP_EEXIST : OP_ENOTFOUND;
        return OP_OK;
    case OP_STORE_OP_DEL:
        if (e->type != REDIS_REPLY_INTEGER || e->integer != 1)
            return op_store_redis_unexpected(op, e);
        out->status = OP_OK;
        return OP_OK;
    case OP_STORE_OP_CHECK:
        if (e->type != REDIS_REPLY_INTEGER || (e->integer != 0 && e->integer != 1))
            return op_store_redis_unexpected(op, e);
        out->status = e->integer == 1 ? OP_OK : OP_ECONFLICT;
        return OP_OK;
    default: /* get, take: {value, pttl} */
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_INTEGER)
            return op_store_redis_unexpected(op, e);
        out->res.value = e->element[0]->str;
        out->res.value_len = e->element[0]->len;
        out->res.ttl_ms = e->element[1]->integer >= 0 ? e->element[1]->integer : -1;
        out->status = OP_OK;
        return OP_OK;
    }
}

/* The record script's reply: one element per item, up to and including
 * a failed check; the items after it did not run (OP_ECONFLICT). */
static int op_store_redis_items(const op_store_op_t *op, const redisReply *r,
                                op_store_batch_res_t *results)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0 || r->elements > op->nitems)
        return op_store_redis_unexpected(op, r);
    for (size_t i = 0; i < r->elements; i++) {
        int status = op_store_redis_item(op, &op->items[i], r->element[i], &results[i]);
        if (status != OP_OK)
            return status;
        if (results[i].status == OP_ECONFLICT && i + 1 < r->elements)
            return op_store_redis_unexpected(op, r);
    }
    if (r->elements < op->nitems && results[r->elements - 1].status != OP_ECONFLICT)
        return op_store_redis_unexpected(op, r);
    for (size_t i = r->elements; i < op->nitems; i++)
        results[i] = (op_store_batch_res_t){.status = OP_ECONFLICT, .res = {.ttl_ms = -1}};
    return OP_OK;
}

/* The index script's reply into *out; *keys (pointing into the reply) is
 * the caller's to free. */
static int op_store_redis_index(const op_store_op_t *op, const redisReply *r,
                                op_store_batch_res_t *out, op_str_t **keys)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return op_store_redis_unexpected(op, r);
    if (r->elements > 0) {
        *keys = op_malloc(r->elements * sizeof(**keys));
    }
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_STRING)
            return op_store_redis_unexpected(op, e);
        (*keys)[i] = (op_str_t){e->str, e->len};
    }
    out->status = OP_OK;
    out->res = (op_store_res_t){.ttl_ms = -1, .keys = *keys, .nkeys = r->elements};
    return OP_OK;
}

/* Map a reply to the operation's outcome and complete it. Values and
 * index keys point into the reply, which lives until this returns. */
static void op_store_redis_on_reply(int status, struct redisReply *r, void *arg)
{
    op_store_op_t *op = arg;
    op_store_batch_res_t results[OP_STORE_BATCH_MAX];
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
    case OP_STORE_OP_INDEX:
        status = op_store_redis_index(op, r, &results[0], &keys);
        break;
    case OP_STORE_OP_PING:
        if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0)
            status = op_store_redis_unexpected(op, r);
        results[0] = (op_store_batch_res_t){.status = OP_OK, .res = {.ttl_ms = -1}};
        break;
    default:
        status = op_store_redis_items(op, r, results);
        break;
    }
    op_store_complete(op, status, results);
    free(keys);
}

/* ---- operations ------------------------------------------------------------ */

static void op_store_redis_eval(op_store_redis_argv_t *a, const char *script, size_t script_len,
                                size_t numkeys)
{
    op_store_redis_arg_str(a, "EVAL");
    op_store_redis_arg(a, script, script_len);
    op_store_redis_arg_num(a, numkeys);
}

/* The record script's code for an item. */
static const char *op_store_redis_code(op_store_op_kind_t kind)
{
    switch (kind) {
    case OP_STORE_OP_PUT:
        return "p";
    case OP_STORE_OP_GET:
        return "g";
    case OP_STORE_OP_TAKE:
        return "t";
    case OP_STORE_OP_CHECK:
        return "c";
    default:
        return "d";
    }
}

/* An NX / XX flag as the record script reads it. */
static const char *op_store_redis_flag(unsigned flags)
{
    return (flags & OP_STORE_NX) ? "1" : (flags & OP_STORE_XX) ? "2" : "0";
}

/* The record script over op's items: every key first, then the
 * arguments, item by item (see op_store_redis_lua_rec). */
static void op_store_redis_items_argv(op_store_redis_argv_t *a, const op_store_op_t *op)
{
    size_t numkeys = 0;

    for (size_t i = 0; i < op->nitems; i++)
        numkeys += 1 + op->items[i].nsets;
    op_store_redis_eval(a, op_store_redis_lua_rec, sizeof(op_store_redis_lua_rec) - 1, numkeys);
    for (size_t i = 0; i < op->nitems; i++) {
        const op_store_item_t *it = &op->items[i];
        op_store_redis_arg(a, it->key.ptr, it->key.len);
        for (size_t j = 0; j < it->nsets; j++)
            op_store_redis_arg(a, it->sets[j].ptr, it->sets[j].len);
    }
    for (size_t i = 0; i < op->nitems; i++) {
        const op_store_item_t *it = &op->items[i];
        op_store_redis_arg_str(a, op_store_redis_code(it->kind));
        op_store_redis_arg_num(a, it->ns_len);
        if (it->kind == OP_STORE_OP_CHECK) {
            op_store_redis_arg_str(a, op_store_redis_flag(it->flags));
            op_store_redis_arg_str(a, it->value.ptr != NULL ? "1" : "0");
            op_store_redis_arg(a, it->value.ptr != NULL ? it->value.ptr : "", it->value.len);
            continue;
        }
        if (it->kind != OP_STORE_OP_PUT)
            continue;
        op_store_redis_arg_num(a, it->nsets);
        op_store_redis_arg_str(a, op_store_redis_flag(it->flags));
        op_store_redis_arg_num(a, it->ttl_ms);
        op_store_redis_arg(a, it->value.ptr != NULL ? it->value.ptr : "", it->value.len);
    }
}

/*
 * Build the one command of an operation and send it. A refusal (not
 * connected, no memory) ends the operation from the loop, fast.
 */
static void op_store_redis_submit(void *be, op_store_op_t *op)
{
    op_store_redis_t *r = be;
    op_store_redis_argv_t args, *a = &args;
    const op_store_item_t *it = &op->items[0];

    a->argc = 0;
    a->nnums = 0;
    switch (op->kind) {
    case OP_STORE_OP_INDEX:
        op_store_redis_eval(a, op_store_redis_lua_index, sizeof(op_store_redis_lua_index) - 1, 1);
        op_store_redis_arg(a, it->key.ptr, it->key.len);
        op_store_redis_arg(a, it->key.ptr, it->ns_len);
        op_store_redis_arg_num(a, it->limit);
        break;
    case OP_STORE_OP_PING:
        op_store_redis_arg_str(a, "PING");
        break;
    default:
        op_store_redis_items_argv(a, op);
        break;
    }
    int rc =
        op_store_redis_conn_send(r->conn, a->argc, a->argv, a->lens, op_store_redis_on_reply, op);
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
    op_store_redis_t *r = op_calloc(1, sizeof(*r));
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
