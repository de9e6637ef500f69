/*
 * spi/op_spi_json.c - the JSON values plugins get (host->json_*): parse,
 * build, read and serialise op_spi_json_t trees.
 *
 * An op_spi_json_t is an op_json_t node that knows its arena, so the
 * server's readers and writer (op_json_get, op_json_w_value) work on it
 * unchanged. A value made with a call token lives in the call's arena and
 * goes with it; one made without a call is a standalone document with an
 * arena of its own, freed by host->json_free. Setters and appends copy the
 * value they are given into the target's arena, so a tree never points
 * into another arena.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "spi/op_spi_int.h"

#define OP_SPI_JSON_KEY_MAX 4096 /* bytes of a key a plugin sets */

size_t op_spi_json_cap(size_t n)
{
    if (n == 0)
        return 0;
    size_t cap = 4;
    while (cap < n)
        cap *= 2;
    return cap;
}

static op_spi_json_t *op_spi_json_node(op_arena_t *a, op_json_type_t type)
{
    op_spi_json_t *node = op_arena_calloc(a, 1, sizeof(*node));
    if (node != NULL) {
        node->v.type = type;
        node->arena = a;
    }
    return node;
}

static op_spi_json_t *op_spi_json_of(const op_json_t *v)
{
    return (op_spi_json_t *)(uintptr_t)v;
}

int op_spi_json_copy(op_arena_t *a, const op_json_t *src, size_t depth, op_spi_json_t **out)
{
    *out = NULL;
    if (depth > OP_SPI_JSON_MAX_DEPTH)
        return OP_EINVAL;
    op_spi_json_t *n = op_spi_json_node(a, src->type);
    if (n == NULL)
        return OP_ETOOBIG;
    op_json_t *v = &n->v;
    switch (src->type) {
    case OP_JSON_STRING:
        v->u.str.len = src->u.str.len;
        v->u.str.s = op_arena_strndup(a, src->u.str.s, src->u.str.len);
        if (v->u.str.s == NULL)
            return OP_ETOOBIG;
        break;
    case OP_JSON_NUMBER:
        v->u.num = src->u.num;
        v->u.num.raw = op_arena_strdup(a, src->u.num.raw);
        if (v->u.num.raw == NULL)
            return OP_ETOOBIG;
        break;
    case OP_JSON_ARRAY: {
        size_t cap = op_spi_json_cap(src->u.arr.n);
        v->u.arr.items = op_arena_calloc(a, cap, sizeof(*v->u.arr.items));
        if (v->u.arr.items == NULL && cap > 0)
            return OP_ETOOBIG;
        for (size_t i = 0; i < src->u.arr.n; i++) {
            op_spi_json_t *item = NULL;
            int rc = op_spi_json_copy(a, src->u.arr.items[i], depth + 1, &item);
            if (rc != OP_OK)
                return rc;
            v->u.arr.items[i] = &item->v;
        }
        v->u.arr.n = src->u.arr.n;
        break;
    }
    case OP_JSON_OBJECT: {
        size_t cap = op_spi_json_cap(src->u.obj.n);
        v->u.obj.keys = op_arena_calloc(a, cap, sizeof(*v->u.obj.keys));
        v->u.obj.key_lens = op_arena_calloc(a, cap, sizeof(*v->u.obj.key_lens));
        v->u.obj.vals = op_arena_calloc(a, cap, sizeof(*v->u.obj.vals));
        if (cap > 0 &&
            (v->u.obj.keys == NULL || v->u.obj.key_lens == NULL || v->u.obj.vals == NULL))
            return OP_ETOOBIG;
        for (size_t i = 0; i < src->u.obj.n; i++) {
            op_spi_json_t *val = NULL;
            int rc = op_spi_json_copy(a, src->u.obj.vals[i], depth + 1, &val);
            if (rc != OP_OK)
                return rc;
            v->u.obj.keys[i] = op_arena_strndup(a, src->u.obj.keys[i], src->u.obj.key_lens[i]);
            if (v->u.obj.keys[i] == NULL)
                return OP_ETOOBIG;
            v->u.obj.key_lens[i] = src->u.obj.key_lens[i];
            v->u.obj.vals[i] = &val->v;
        }
        v->u.obj.n = src->u.obj.n;
        break;
    }
    default:
        break;
    }
    *out = n;
    return OP_OK;
}

op_spi_json_t *op_spi_json_object(op_arena_t *a)
{
    return op_spi_json_node(a, OP_JSON_OBJECT);
}

/* The arena of a new value: the call's, or a new standalone document's
 * (root marks it). NULL for a completed call. */
static op_arena_t *op_spi_json_owner(op_spi_call_t *call)
{
    if (call != NULL)
        return call->completed ? NULL : call->arena;
    return op_arena_new(OP_SPI_DOC_ARENA_MAX);
}

/* A new empty object or array for a plugin. */
static op_spi_json_t *op_spi_json_new(op_spi_call_t *call, op_json_type_t type)
{
    op_arena_t *a = op_spi_json_owner(call);
    if (a == NULL)
        return NULL;
    op_spi_json_t *n = op_spi_json_node(a, type);
    if (n == NULL) {
        if (call == NULL)
            op_arena_free(a);
        return NULL;
    }
    n->standalone = call == NULL;
    return n;
}

op_spi_json_t *op_spi_json_object_new(op_spi_call_t *call)
{
    return op_spi_json_new(call, OP_JSON_OBJECT);
}

op_spi_json_t *op_spi_json_array_new(op_spi_call_t *call)
{
    return op_spi_json_new(call, OP_JSON_ARRAY);
}

void op_spi_json_free(op_spi_json_t *doc)
{
    if (doc != NULL && doc->standalone)
        op_arena_free(doc->arena);
}

/* host->json_parse: strict parse (op_json) into a scratch arena, then a
 * copy as op_spi_json_t nodes into the owner; the scratch goes at once. */
op_spi_json_t *op_spi_json_parse(op_spi_call_t *call, const char *buf, size_t len, char *errbuf,
                                 size_t errlen)
{
    static const op_json_limits_t lim = {OP_SPI_JSON_MAX_BYTES, OP_SPI_JSON_MAX_DEPTH,
                                         OP_SPI_JSON_MAX_MEMBERS};
    op_err_t err;
    op_err_clear(&err);
    op_spi_json_t *out = NULL;
    op_arena_t *owner = NULL;
    op_arena_t *scratch = op_arena_new(OP_SPI_DOC_ARENA_MAX);
    op_json_t *root = NULL;
    if (call != NULL && call->completed) {
        OP_ERR(&err, OP_EINVAL, "the call is already completed");
        goto out_free_scratch;
    }
    if ((owner = op_spi_json_owner(call)) == NULL) {
        OP_ERR(&err, OP_EINVAL, "the call is already completed");
        goto out_free_scratch;
    }
    if (op_json_parse(scratch, buf, len, &lim, &root, &err) != OP_OK)
        goto out_free_owner;
    if (op_spi_json_copy(owner, root, 0, &out) != OP_OK) {
        OP_ERR(&err, OP_ETOOBIG, "document too large");
        goto out_free_owner;
    }
    out->standalone = call == NULL;
    goto out_free_scratch;
out_free_owner:
    if (call == NULL)
        op_arena_free(owner);
out_free_scratch:
    op_arena_free(scratch);
    if (out == NULL && errbuf != NULL && errlen > 0)
        snprintf(errbuf, errlen, "%s", err.description);
    return out;
}

/* A key a plugin sets: NUL-terminated, bounded, UTF-8. */
static bool op_spi_json_key_ok(const char *key, size_t *len)
{
    if (key == NULL)
        return false;
    *len = strnlen(key, OP_SPI_JSON_KEY_MAX + 1);
    return *len <= OP_SPI_JSON_KEY_MAX && op_json_utf8_valid(key, *len);
}

/* Append the member key: node to obj (key not checked for duplicates). */
static int op_spi_json_add(op_spi_json_t *obj, const char *key, size_t key_len, op_spi_json_t *node)
{
    op_json_t *o = &obj->v;
    size_t n = o->u.obj.n, cap = op_spi_json_cap(n);
    const char *k = op_arena_strndup(obj->arena, key, key_len);
    if (k == NULL)
        return OP_ETOOBIG;
    if (n == cap) {
        size_t ncap = op_spi_json_cap(n + 1);
        const char **keys =
            op_arena_realloc(obj->arena, o->u.obj.keys, cap * sizeof(*keys), ncap * sizeof(*keys));
        size_t *lens = op_arena_realloc(obj->arena, o->u.obj.key_lens, cap * sizeof(*lens),
                                        ncap * sizeof(*lens));
        op_json_t **vals =
            op_arena_realloc(obj->arena, o->u.obj.vals, cap * sizeof(*vals), ncap * sizeof(*vals));
        if (keys == NULL || lens == NULL || vals == NULL)
            return OP_ETOOBIG;
        o->u.obj.keys = keys;
        o->u.obj.key_lens = lens;
        o->u.obj.vals = vals;
    }
    o->u.obj.keys[n] = k;
    o->u.obj.key_lens[n] = key_len;
    o->u.obj.vals[n] = &node->v;
    o->u.obj.n = n + 1;
    return OP_OK;
}

/* Attach node under key in obj, replacing a member of that name (keys
 * stay unique, as op_json requires). */
static int op_spi_json_attach(op_spi_json_t *obj, const char *key, size_t key_len,
                              op_spi_json_t *node)
{
    op_json_t *o = &obj->v;
    for (size_t i = 0; i < o->u.obj.n; i++) {
        if (o->u.obj.key_lens[i] == key_len && memcmp(o->u.obj.keys[i], key, key_len) == 0) {
            o->u.obj.vals[i] = &node->v;
            return OP_OK;
        }
    }
    return op_spi_json_add(obj, key, key_len, node);
}

int op_spi_json_put(op_spi_json_t *obj, const char *key, size_t key_len, const op_json_t *value)
{
    op_spi_json_t *copy = NULL;
    int rc = op_spi_json_copy(obj->arena, value, 0, &copy);
    return rc != OP_OK ? rc : op_spi_json_add(obj, key, key_len, copy);
}

/* Common part of the object setters: check obj and key, attach node. */
static int op_spi_json_set_node(op_spi_json_t *obj, const char *key, op_spi_json_t *node)
{
    size_t key_len = 0;
    if (node == NULL)
        return OP_SPI_ETOOBIG;
    if (!op_spi_json_key_ok(key, &key_len))
        return OP_SPI_EINVAL;
    return op_spi_json_attach(obj, key, key_len, node);
}

static bool op_spi_json_is(const op_spi_json_t *v, op_json_type_t type)
{
    return v != NULL && v->v.type == type;
}

int op_spi_json_set(op_spi_json_t *obj, const char *key, const op_spi_json_t *value)
{
    size_t key_len = 0;
    if (!op_spi_json_is(obj, OP_JSON_OBJECT) || value == NULL || !op_spi_json_key_ok(key, &key_len))
        return OP_SPI_EINVAL;
    op_spi_json_t *copy = NULL;
    int rc = op_spi_json_copy(obj->arena, &value->v, 0, &copy);
    return rc != OP_OK ? rc : op_spi_json_attach(obj, key, key_len, copy);
}

/* A string node in a (NULL when s is not valid UTF-8 or over the cap). */
static op_spi_json_t *op_spi_json_string(op_arena_t *a, const char *s, int *rc)
{
    size_t len = s != NULL ? strlen(s) : 0;
    *rc = OP_SPI_EINVAL;
    if (s == NULL || !op_json_utf8_valid(s, len))
        return NULL;
    *rc = OP_SPI_ETOOBIG;
    op_spi_json_t *n = op_spi_json_node(a, OP_JSON_STRING);
    if (n == NULL || (n->v.u.str.s = op_arena_strndup(a, s, len)) == NULL)
        return NULL;
    n->v.u.str.len = len;
    *rc = OP_SPI_OK;
    return n;
}

int op_spi_json_set_str(op_spi_json_t *obj, const char *key, const char *s)
{
    int rc;
    if (!op_spi_json_is(obj, OP_JSON_OBJECT))
        return OP_SPI_EINVAL;
    op_spi_json_t *n = op_spi_json_string(obj->arena, s, &rc);
    return n == NULL ? rc : op_spi_json_set_node(obj, key, n);
}

int op_spi_json_set_int(op_spi_json_t *obj, const char *key, int64_t v)
{
    if (!op_spi_json_is(obj, OP_JSON_OBJECT))
        return OP_SPI_EINVAL;
    op_spi_json_t *n = op_spi_json_node(obj->arena, OP_JSON_NUMBER);
    if (n != NULL) {
        n->v.u.num.raw = op_arena_printf(obj->arena, "%" PRId64, v);
        n->v.u.num.is_int = true;
        n->v.u.num.i = v;
        n->v.u.num.d = (double)v;
    }
    return op_spi_json_set_node(obj, key, n != NULL && n->v.u.num.raw != NULL ? n : NULL);
}

int op_spi_json_set_bool(op_spi_json_t *obj, const char *key, bool v)
{
    if (!op_spi_json_is(obj, OP_JSON_OBJECT))
        return OP_SPI_EINVAL;
    return op_spi_json_set_node(obj, key,
                                op_spi_json_node(obj->arena, v ? OP_JSON_TRUE : OP_JSON_FALSE));
}

int op_spi_json_set_null(op_spi_json_t *obj, const char *key)
{
    if (!op_spi_json_is(obj, OP_JSON_OBJECT))
        return OP_SPI_EINVAL;
    return op_spi_json_set_node(obj, key, op_spi_json_node(obj->arena, OP_JSON_NULL));
}

/* Append node to arr. */
static int op_spi_json_push(op_spi_json_t *arr, op_spi_json_t *node)
{
    op_json_t *a = &arr->v;
    size_t n = a->u.arr.n, cap = op_spi_json_cap(n);
    if (n == cap) {
        size_t ncap = op_spi_json_cap(n + 1);
        op_json_t **items = op_arena_realloc(arr->arena, a->u.arr.items, cap * sizeof(*items),
                                             ncap * sizeof(*items));
        if (items == NULL)
            return OP_SPI_ETOOBIG;
        a->u.arr.items = items;
    }
    a->u.arr.items[n] = &node->v;
    a->u.arr.n = n + 1;
    return OP_SPI_OK;
}

int op_spi_json_append(op_spi_json_t *arr, const op_spi_json_t *value)
{
    if (!op_spi_json_is(arr, OP_JSON_ARRAY) || value == NULL)
        return OP_SPI_EINVAL;
    op_spi_json_t *copy = NULL;
    int rc = op_spi_json_copy(arr->arena, &value->v, 0, &copy);
    return rc != OP_OK ? rc : op_spi_json_push(arr, copy);
}

int op_spi_json_append_str(op_spi_json_t *arr, const char *s)
{
    int rc;
    if (!op_spi_json_is(arr, OP_JSON_ARRAY))
        return OP_SPI_EINVAL;
    op_spi_json_t *n = op_spi_json_string(arr->arena, s, &rc);
    return n == NULL ? rc : op_spi_json_push(arr, n);
}

op_spi_json_type_t op_spi_json_type(const op_spi_json_t *v)
{
    return v != NULL ? (op_spi_json_type_t)v->v.type : OP_SPI_JSON_NULL;
}

const op_spi_json_t *op_spi_json_get(const op_spi_json_t *obj, const char *key)
{
    const op_json_t *m = obj != NULL ? op_json_get(&obj->v, key) : NULL;
    return m != NULL ? op_spi_json_of(m) : NULL;
}

const char *op_spi_json_str(const op_spi_json_t *v, size_t *len)
{
    if (!op_spi_json_is(v, OP_JSON_STRING))
        return NULL;
    if (len != NULL)
        *len = v->v.u.str.len;
    return v->v.u.str.s;
}

bool op_spi_json_int(const op_spi_json_t *v, int64_t *out)
{
    if (!op_spi_json_is(v, OP_JSON_NUMBER) || !v->v.u.num.is_int || out == NULL)
        return false;
    *out = v->v.u.num.i;
    return true;
}

size_t op_spi_json_len(const op_spi_json_t *v)
{
    if (op_spi_json_is(v, OP_JSON_ARRAY))
        return v->v.u.arr.n;
    if (op_spi_json_is(v, OP_JSON_OBJECT))
        return v->v.u.obj.n;
    return 0;
}

const op_spi_json_t *op_spi_json_at(const op_spi_json_t *v, size_t i, const char **key)
{
    if (key != NULL)
        *key = NULL;
    if (op_spi_json_is(v, OP_JSON_ARRAY) && i < v->v.u.arr.n)
        return op_spi_json_of(v->v.u.arr.items[i]);
    if (op_spi_json_is(v, OP_JSON_OBJECT) && i < v->v.u.obj.n) {
        if (key != NULL)
            *key = v->v.u.obj.keys[i];
        return op_spi_json_of(v->v.u.obj.vals[i]);
    }
    return NULL;
}

const char *op_spi_json_serialize(op_spi_call_t *call, const op_spi_json_t *v, size_t *len)
{
    if (call == NULL || call->completed || v == NULL)
        return NULL;
    op_json_w_t *w = op_json_w_new(call->arena, false);
    const char *out = NULL;
    if (w == NULL)
        return NULL;
    op_json_w_value(w, &v->v);
    return op_json_w_finish(w, &out, len, NULL) == OP_OK ? out : NULL;
}
