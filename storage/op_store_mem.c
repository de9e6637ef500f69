/*
 * storage/op_store_mem.c - the memory backend: one process, same
 * semantics as redis.
 *
 * Records live in a chained hash table keyed by their full key (prefix ns
 * ":" key) with SipHash-1-3 under a random key, so hostile keys cannot
 * pile up in one chain. Each index set (prefix ns ":idx:" name ":" value)
 * is an entry of a second table holding a dense array of its member
 * records; a record remembers its position in each of its (at most
 * OP_STORE_MAX_INDEXES) sets, so joining and leaving a set are O(1) and a
 * listing walks only live members. Memberships are removed eagerly when a
 * record is replaced, deleted, taken or found expired, so a set never
 * names a record that lacks the entry.
 *
 * Expiry: every access checks the deadline; a sweep timer, armed only
 * while some record has a TTL, walks a bounded number of hash slots per
 * tick to reclaim expired records nobody reads.
 *
 * Every operation runs from the front end's queue (never inside the call
 * that started it); put and check copy their values at call time. A batch
 * runs all its items in one pass, so no other operation sees it half done;
 * a failed check ends the pass. Records its items remove are freed only
 * after its callback, since a get earlier in the same batch may still
 * borrow their values.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "storage/op_store_int.h"

#define OP_STORE_MEM_MIN_SLOTS   64
#define OP_STORE_MEM_SWEEP_MS    100
#define OP_STORE_MEM_SWEEP_SLOTS 1024 /* hash slots looked at per tick */

/* A hash table entry; embedded first in records and sets. */
typedef struct op_store_mem_node {
    op_list_t link; /* on its slot's chain; then on a batch's dead list */
    uint64_t hash;
    const char *key;
    size_t key_len;
} op_store_mem_node_t;

typedef struct op_store_mem_tab {
    op_list_t *slots; /* chains of op_store_mem_node_t */
    size_t mask;      /* slots - 1, a power of two */
    size_t n;
} op_store_mem_tab_t;

typedef struct op_store_mem_set op_store_mem_set_t;

typedef struct op_store_mem_rec {
    op_store_mem_node_t node; /* key: prefix ns ":" key, in data[] */
    size_t ns_len;            /* the caller's key starts here */
    uint64_t expires_at;      /* op_loop_now_ms() deadline, 0: never */
    const char *value;        /* in data[], after the key */
    size_t value_len;
    size_t nsets;
    op_store_mem_set_t *sets[OP_STORE_MAX_INDEXES];
    size_t pos[OP_STORE_MAX_INDEXES]; /* index in sets[i]->members */
    char data[];
} op_store_mem_rec_t;

struct op_store_mem_set {
    op_store_mem_node_t node; /* key: prefix ns ":idx:" name ":" value */
    op_store_mem_rec_t **members;
    size_t n, cap;
    int pins; /* held by a running operation: not freed when empty */
    char data[];
};

typedef struct op_store_mem {
    op_store_mem_tab_t recs;
    op_store_mem_tab_t sets;
    uint8_t hash_key[16];
    op_timer_t *sweep;
    size_t sweep_cursor;
    size_t nttl; /* records with a TTL */
} op_store_mem_t;

/* ---- hashing ------------------------------------------------------------ */

/* The little-endian word at p: one load on a little-endian host. */
static uint64_t op_store_mem_le64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static uint64_t op_store_mem_rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

/* One SipRound on the state v[4]. */
static inline void op_store_mem_sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = op_store_mem_rotl(v[1], 13) ^ v[0];
    v[0] = op_store_mem_rotl(v[0], 32);
    v[2] += v[3];
    v[3] = op_store_mem_rotl(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = op_store_mem_rotl(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = op_store_mem_rotl(v[1], 17) ^ v[2];
    v[2] = op_store_mem_rotl(v[2], 32);
}

/* SipHash-1-3 of data under the store's random key. */
static uint64_t op_store_mem_hash(const op_store_mem_t *m, const char *data, size_t len)
{
    const uint8_t *p = (const uint8_t *)data;
    uint64_t k0 = op_store_mem_le64(m->hash_key);
    uint64_t k1 = op_store_mem_le64(m->hash_key + 8);
    uint64_t v[4] = {0x736f6d6570736575ull ^ k0, 0x646f72616e646f6dull ^ k1,
                     0x6c7967656e657261ull ^ k0, 0x7465646279746573ull ^ k1};
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t w = op_store_mem_le64(p + i);
        v[3] ^= w;
        op_store_mem_sipround(v);
        v[0] ^= w;
    }
    uint64_t last = (uint64_t)len << 56;
    for (size_t j = 0; i + j < len; j++)
        last |= (uint64_t)p[i + j] << (8 * j);
    v[3] ^= last;
    op_store_mem_sipround(v);
    v[0] ^= last;
    v[2] ^= 0xff;
    for (int r = 0; r < 3; r++)
        op_store_mem_sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ---- hash table ----------------------------------------------------------- */

/* nslots empty chains. */
static op_list_t *op_store_mem_tab_slots(size_t nslots)
{
    op_list_t *slots = op_calloc(nslots, sizeof(*slots));
    for (size_t i = 0; i < nslots; i++)
        op_list_init(&slots[i]);
    return slots;
}

static void op_store_mem_tab_init(op_store_mem_tab_t *t)
{
    t->slots = op_store_mem_tab_slots(OP_STORE_MEM_MIN_SLOTS);
    t->mask = OP_STORE_MEM_MIN_SLOTS - 1;
    t->n = 0;
}

/* Move every entry to a table of nslots slots. */
static void op_store_mem_tab_resize(op_store_mem_tab_t *t, size_t nslots)
{
    op_list_t *slots = op_store_mem_tab_slots(nslots);
    for (size_t i = 0; i <= t->mask; i++) {
        op_list_t *pos, *tmp;
        OP_LIST_FOREACH_SAFE (pos, tmp, &t->slots[i]) {
            op_store_mem_node_t *e = OP_LIST_ENTRY(pos, op_store_mem_node_t, link);
            op_list_insert_head(&slots[(size_t)e->hash & (nslots - 1)], pos);
        }
    }
    free(t->slots);
    t->slots = slots;
    t->mask = nslots - 1;
}

/* Halve the table while it is under 1/8 full (never during a walk). */
static void op_store_mem_tab_shrink(op_store_mem_tab_t *t)
{
    size_t nslots = t->mask + 1;
    if (nslots > OP_STORE_MEM_MIN_SLOTS && t->n < nslots / 8)
        op_store_mem_tab_resize(t, nslots / 2);
}

static op_store_mem_node_t *op_store_mem_tab_find(const op_store_mem_tab_t *t, uint64_t hash,
                                                  const char *key, size_t len)
{
    op_list_t *slot = &t->slots[(size_t)hash & t->mask];
    op_list_t *pos;
    OP_LIST_FOREACH (pos, slot) {
        op_store_mem_node_t *e = OP_LIST_ENTRY(pos, op_store_mem_node_t, link);
        if (e->hash == hash && e->key_len == len && memcmp(e->key, key, len) == 0)
            return e;
    }
    return NULL;
}

static void op_store_mem_tab_insert(op_store_mem_tab_t *t, op_store_mem_node_t *e)
{
    if (t->n >= t->mask + 1 && t->mask < SIZE_MAX / 2)
        op_store_mem_tab_resize(t, (t->mask + 1) * 2);
    op_list_insert_head(&t->slots[(size_t)e->hash & t->mask], &e->link);
    t->n++;
}

static void op_store_mem_tab_remove(op_store_mem_tab_t *t, op_store_mem_node_t *e)
{
    op_list_remove(&e->link);
    t->n--;
}

/* ---- index sets ------------------------------------------------------------ */

/* The set with key k, created empty when absent. */
static op_store_mem_set_t *op_store_mem_set_get(op_store_mem_t *m, op_str_t k)
{
    uint64_t h = op_store_mem_hash(m, k.ptr, k.len);
    op_store_mem_node_t *e = op_store_mem_tab_find(&m->sets, h, k.ptr, k.len);
    if (e != NULL)
        return (op_store_mem_set_t *)e;
    op_store_mem_set_t *set = op_calloc(1, sizeof(*set) + k.len);
    memcpy(set->data, k.ptr, k.len);
    set->node.hash = h;
    set->node.key = set->data;
    set->node.key_len = k.len;
    op_store_mem_tab_insert(&m->sets, &set->node);
    return set;
}

/* Free set if it is empty and no running operation holds it. */
static void op_store_mem_set_gc(op_store_mem_t *m, op_store_mem_set_t *set)
{
    if (set->n > 0 || set->pins > 0)
        return;
    op_store_mem_tab_remove(&m->sets, &set->node);
    free(set->members);
    free(set);
}

static void op_store_mem_set_unpin(op_store_mem_t *m, op_store_mem_set_t *set)
{
    set->pins--;
    op_store_mem_set_gc(m, set);
}

/* Room for one more member. */
static void op_store_mem_set_reserve(op_store_mem_set_t *set)
{
    if (set->n < set->cap)
        return;
    size_t cap = set->cap > 0 ? set->cap * 2 : 4;
    set->members = op_realloc(set->members, cap * sizeof(*set->members));
    set->cap = cap;
}

/* Remove the member at pos: the last member moves into its place and its
 * back-pointer is updated. */
static void op_store_mem_set_remove(op_store_mem_set_t *set, size_t pos)
{
    op_store_mem_rec_t *moved = set->members[--set->n];
    if (pos == set->n)
        return;
    set->members[pos] = moved;
    for (size_t i = 0; i < moved->nsets; i++) {
        if (moved->sets[i] == set)
            moved->pos[i] = pos;
    }
}

/* ---- records ------------------------------------------------------------- */

/* Take rec out of the table and out of its sets (freeing sets left empty
 * and unpinned). The caller frees rec. */
static void op_store_mem_unlink(op_store_mem_t *m, op_store_mem_rec_t *rec)
{
    op_store_mem_tab_remove(&m->recs, &rec->node);
    for (size_t i = 0; i < rec->nsets; i++) {
        op_store_mem_set_remove(rec->sets[i], rec->pos[i]);
        op_store_mem_set_gc(m, rec->sets[i]);
    }
    rec->nsets = 0;
    if (rec->expires_at != 0)
        m->nttl--;
}

static bool op_store_mem_expired(const op_store_mem_rec_t *rec, uint64_t now)
{
    return rec->expires_at != 0 && rec->expires_at <= now;
}

/* The live record under key, or NULL; an expired one is reclaimed. */
static op_store_mem_rec_t *op_store_mem_lookup(op_store_mem_t *m, op_str_t key, uint64_t now)
{
    uint64_t h = op_store_mem_hash(m, key.ptr, key.len);
    op_store_mem_node_t *e = op_store_mem_tab_find(&m->recs, h, key.ptr, key.len);
    if (e == NULL)
        return NULL;
    op_store_mem_rec_t *rec = (op_store_mem_rec_t *)e;
    if (!op_store_mem_expired(rec, now))
        return rec;
    op_store_mem_unlink(m, rec);
    free(rec);
    return NULL;
}

static int64_t op_store_mem_ttl(const op_store_mem_rec_t *rec, uint64_t now)
{
    return rec->expires_at == 0 ? -1 : (int64_t)(rec->expires_at - now);
}

/* The sweep: reclaim expired records in the next slots of the table. */
static void op_store_mem_on_sweep(void *arg)
{
    op_store_mem_t *m = arg;
    uint64_t now = op_loop_now_ms();
    size_t nslots = m->recs.mask + 1;
    size_t budget = nslots < OP_STORE_MEM_SWEEP_SLOTS ? nslots : OP_STORE_MEM_SWEEP_SLOTS;

    for (size_t k = 0; k < budget; k++) {
        size_t i = (m->sweep_cursor + k) & m->recs.mask;
        op_list_t *pos, *tmp;
        OP_LIST_FOREACH_SAFE (pos, tmp, &m->recs.slots[i]) {
            op_store_mem_rec_t *rec = OP_LIST_ENTRY(pos, op_store_mem_rec_t, node.link);
            if (op_store_mem_expired(rec, now)) {
                op_store_mem_unlink(m, rec);
                free(rec);
            }
        }
    }
    m->sweep_cursor = (m->sweep_cursor + budget) & m->recs.mask;
    op_store_mem_tab_shrink(&m->recs);
    op_store_mem_tab_shrink(&m->sets);
    if (m->nttl > 0)
        op_timer_start(m->sweep, OP_STORE_MEM_SWEEP_MS);
}

/* ---- operations ------------------------------------------------------------ */

/* Keep an unlinked record until the operation's callback has returned: a
 * result of the same batch may still borrow its value. */
static void op_store_mem_bury(op_list_t *dead, op_store_mem_rec_t *rec)
{
    op_list_insert_tail(dead, &rec->node.link);
}

/*
 * put: the new record was copied at submit (it->priv). The sets are
 * found or created, pinned (unlinking the old record must not free a set
 * the new one joins) and given room first; then the old record goes (onto
 * *dead) and the new one takes its place.
 */
static int op_store_mem_put(op_store_mem_t *m, op_store_item_t *it, uint64_t now, op_list_t *dead)
{
    op_store_mem_rec_t *rec = it->priv;
    op_store_mem_set_t *sets[OP_STORE_MAX_INDEXES];
    size_t npinned = 0;
    int status = OP_OK;

    it->priv = NULL;
    op_store_mem_rec_t *old = op_store_mem_lookup(m, it->key, now);
    if ((it->flags & OP_STORE_NX) && old != NULL) {
        status = OP_EEXIST;
        goto out_free_rec;
    }
    if ((it->flags & OP_STORE_XX) && old == NULL) {
        status = OP_ENOTFOUND;
        goto out_free_rec;
    }
    for (; npinned < it->nsets; npinned++) {
        sets[npinned] = op_store_mem_set_get(m, it->sets[npinned]);
        sets[npinned]->pins++;
        op_store_mem_set_reserve(sets[npinned]);
    }
    if (old != NULL) {
        op_store_mem_unlink(m, old);
        op_store_mem_bury(dead, old);
    }
    for (size_t i = 0; i < it->nsets; i++) {
        rec->sets[i] = sets[i];
        rec->pos[i] = sets[i]->n;
        sets[i]->members[sets[i]->n++] = rec;
    }
    rec->nsets = it->nsets;
    op_store_mem_tab_insert(&m->recs, &rec->node);
    if (it->ttl_ms > 0) {
        rec->expires_at = now + it->ttl_ms;
        m->nttl++;
        if (!op_timer_pending(m->sweep))
            op_timer_start(m->sweep, OP_STORE_MEM_SWEEP_MS);
    }
    rec = NULL;
    while (npinned > 0)
        op_store_mem_set_unpin(m, sets[--npinned]);
out_free_rec:
    free(rec);
    return status;
}

/* get, take, del: one lookup into *res; take and del unlink the record
 * onto *dead, so a borrowed value outlives the callback. */
static int op_store_mem_keyed(op_store_mem_t *m, const op_store_item_t *it, uint64_t now,
                              op_store_res_t *res, op_list_t *dead)
{
    op_store_mem_rec_t *rec = op_store_mem_lookup(m, it->key, now);
    if (rec == NULL)
        return OP_ENOTFOUND;
    if (it->kind != OP_STORE_OP_DEL) {
        res->value = rec->value;
        res->value_len = rec->value_len;
        res->ttl_ms = op_store_mem_ttl(rec, now);
    }
    if (it->kind != OP_STORE_OP_GET) {
        op_store_mem_unlink(m, rec);
        op_store_mem_bury(dead, rec);
    }
    return OP_OK;
}

/* A check's value to compare, copied at submit (it->priv). */
typedef struct op_store_mem_cmp {
    size_t len;
    char data[];
} op_store_mem_cmp_t;

/* check: does the condition of it hold now (storage/op_store.h)? */
static bool op_store_mem_check(op_store_mem_t *m, const op_store_item_t *it, uint64_t now)
{
    const op_store_mem_rec_t *rec = op_store_mem_lookup(m, it->key, now);
    const op_store_mem_cmp_t *cmp = it->priv;

    if (it->flags & OP_STORE_NX)
        return rec == NULL;
    return rec != NULL && (cmp == NULL || (rec->value_len == cmp->len &&
                                           memcmp(rec->value, cmp->data, cmp->len) == 0));
}

/* index: list the live members (at most it->limit) into *res, reclaiming
 * expired ones on the way; *keys is the caller's to free after the
 * callback (the keys themselves point into live records). The set is
 * pinned so it survives being emptied. */
static int op_store_mem_index(op_store_mem_t *m, const op_store_item_t *it, uint64_t now,
                              op_store_res_t *res, op_str_t **keys)
{
    uint64_t h = op_store_mem_hash(m, it->key.ptr, it->key.len);
    op_store_mem_node_t *e = op_store_mem_tab_find(&m->sets, h, it->key.ptr, it->key.len);
    if (e == NULL)
        return OP_OK;
    op_store_mem_set_t *set = (op_store_mem_set_t *)e;
    size_t max = it->limit > 0 && it->limit < set->n ? it->limit : set->n;
    *keys = op_malloc((max > 0 ? max : 1) * sizeof(**keys));
    set->pins++;
    size_t n = 0, i = 0;
    while (i < set->n && n < max) {
        op_store_mem_rec_t *rec = set->members[i];
        if (op_store_mem_expired(rec, now)) {
            op_store_mem_unlink(m, rec); /* set->members[i] is new now */
            free(rec);
            continue;
        }
        (*keys)[n++] = (op_str_t){rec->node.key + rec->ns_len, rec->node.key_len - rec->ns_len};
        i++;
    }
    res->keys = *keys;
    res->nkeys = n;
    op_store_mem_set_unpin(m, set);
    return OP_OK;
}

/*
 * Run an operation from the front end's queue: its items in order, in
 * one go (nothing else runs in between), until a check fails (it and the
 * items after it report OP_ECONFLICT), then the callback, then free what
 * the callback may have borrowed.
 */
static void op_store_mem_run(op_store_op_t *op)
{
    op_store_mem_t *m = op->store->be;
    uint64_t now = op_loop_now_ms();
    op_store_batch_res_t results[OP_STORE_BATCH_MAX];
    op_list_t dead = OP_LIST_INIT(dead);
    op_str_t *keys = NULL;
    bool stopped = false;

    for (size_t i = 0; i < op->nitems; i++) {
        op_store_item_t *it = &op->items[i];
        op_store_res_t *res = &results[i].res;
        *res = (op_store_res_t){.ttl_ms = -1};
        if (!stopped && it->kind == OP_STORE_OP_CHECK)
            stopped = !op_store_mem_check(m, it, now);
        if (stopped) {
            results[i].status = OP_ECONFLICT;
            free(it->priv); /* a skipped put's record, a check's value */
            it->priv = NULL;
            continue;
        }
        switch (it->kind) {
        case OP_STORE_OP_PUT:
            results[i].status = op_store_mem_put(m, it, now, &dead);
            break;
        case OP_STORE_OP_GET:
        case OP_STORE_OP_TAKE:
        case OP_STORE_OP_DEL:
            results[i].status = op_store_mem_keyed(m, it, now, res, &dead);
            break;
        case OP_STORE_OP_INDEX:
            results[i].status = op_store_mem_index(m, it, now, res, &keys);
            break;
        case OP_STORE_OP_CHECK:
            results[i].status = OP_OK;
            free(it->priv);
            it->priv = NULL;
            break;
        default:
            results[i].status = OP_OK; /* ping */
            break;
        }
    }
    op_store_complete(op, OP_OK, results);
    free(keys);
    op_list_t *pos, *tmp;
    OP_LIST_FOREACH_SAFE (pos, tmp, &dead)
        free(OP_LIST_ENTRY(pos, op_store_mem_rec_t, node.link));
    op_store_mem_tab_shrink(&m->recs);
    op_store_mem_tab_shrink(&m->sets);
}

/* The record a put item will insert, copied from the caller's buffers
 * (borrowed for the call only). */
static op_store_mem_rec_t *op_store_mem_rec_new(const op_store_mem_t *m, const op_store_item_t *it)
{
    op_store_mem_rec_t *rec = op_calloc(1, sizeof(*rec) + it->key.len + it->value.len);
    memcpy(rec->data, it->key.ptr, it->key.len);
    if (it->value.len > 0)
        memcpy(rec->data + it->key.len, it->value.ptr, it->value.len);
    rec->node.key = rec->data;
    rec->node.key_len = it->key.len;
    rec->node.hash = op_store_mem_hash(m, it->key.ptr, it->key.len);
    rec->ns_len = it->ns_len;
    rec->value = rec->data + it->key.len;
    rec->value_len = it->value.len;
    return rec;
}

/* A check's value to compare (it->value), copied. */
static op_store_mem_cmp_t *op_store_mem_cmp_new(const op_store_item_t *it)
{
    op_store_mem_cmp_t *cmp = op_malloc(sizeof(*cmp) + it->value.len);
    cmp->len = it->value.len;
    if (it->value.len > 0)
        memcpy(cmp->data, it->value.ptr, it->value.len);
    return cmp;
}

/* Take an operation: its puts copy their records now, its checks the
 * values they compare; everything runs from the queue. */
static void op_store_mem_submit(void *be, op_store_op_t *op)
{
    op_store_mem_t *m = be;

    for (size_t i = 0; i < op->nitems; i++) {
        op_store_item_t *it = &op->items[i];
        if (it->kind == OP_STORE_OP_PUT)
            it->priv = op_store_mem_rec_new(m, it);
        else if (it->kind == OP_STORE_OP_CHECK && it->value.ptr != NULL)
            it->priv = op_store_mem_cmp_new(it);
    }
    op_store_defer(op, OP_OK, op_store_mem_run);
}

static bool op_store_mem_up(const void *be)
{
    OP_UNUSED(be);
    return true;
}

/* Nothing waits on anything but the queue, which always runs: nothing to
 * cancel. */
static void op_store_mem_cancel_all(void *be)
{
    OP_UNUSED(be);
}

static void op_store_mem_free(void *be)
{
    op_store_mem_t *m = be;

    for (size_t i = 0; i <= m->recs.mask; i++) {
        op_list_t *pos, *tmp;
        OP_LIST_FOREACH_SAFE (pos, tmp, &m->recs.slots[i])
            free(OP_LIST_ENTRY(pos, op_store_mem_rec_t, node.link));
    }
    for (size_t i = 0; i <= m->sets.mask; i++) {
        op_list_t *pos, *tmp;
        OP_LIST_FOREACH_SAFE (pos, tmp, &m->sets.slots[i]) {
            op_store_mem_set_t *set = OP_LIST_ENTRY(pos, op_store_mem_set_t, node.link);
            free(set->members);
            free(set);
        }
    }
    free(m->recs.slots);
    free(m->sets.slots);
    op_timer_free(m->sweep);
    free(m);
}

/* A random hash key; without getrandom, a weaker mix of clock, pid and
 * addresses (still unknown to a remote client). */
static void op_store_mem_seed(op_store_mem_t *m)
{
    if (getrandom(m->hash_key, sizeof(m->hash_key), GRND_NONBLOCK) == (ssize_t)sizeof(m->hash_key))
        return;
    uint64_t a = op_loop_now_ms() ^ ((uint64_t)getpid() << 32);
    uint64_t b = (uint64_t)(uintptr_t)m ^ (uint64_t)op_loop_epoch();
    memcpy(m->hash_key, &a, 8);
    memcpy(m->hash_key + 8, &b, 8);
}

static int op_store_mem_open(op_store_t *s, const op_store_config_t *cfg, op_err_t *err)
{
    OP_UNUSED(cfg);
    OP_UNUSED(err);
    op_store_mem_t *m = op_calloc(1, sizeof(*m));
    op_store_mem_tab_init(&m->recs);
    op_store_mem_tab_init(&m->sets);
    m->sweep = op_timer_new(s->loop, op_store_mem_on_sweep, m);
    op_store_mem_seed(m);
    s->be = m;
    return OP_OK;
}

const op_store_backend_t op_store_mem_backend = {
    .name = "memory",
    .open = op_store_mem_open,
    .submit = op_store_mem_submit,
    .up = op_store_mem_up,
    .cancel_all = op_store_mem_cancel_all,
    .free = op_store_mem_free,
};
