/*
 * core/proto/op_client_registry.c - the registered clients by client_id: an
 * immutable hash table built once at start (see core/proto/op_client.h).
 */
#include <string.h>

#include "core/proto/op_client.h"

struct op_client_registry {
    const op_client_t **slots; /* mask + 1 of them, NULL: empty */
    size_t mask;
    uint64_t seed;
};

/* FNV-1a of s[0..n) started from the registry's random seed, then mixed
 * (a 64-bit finaliser) so that the low bits, which pick the slot, depend
 * on every byte. */
static uint64_t op_client_registry_hash(uint64_t seed, const char *s, size_t n)
{
    uint64_t h = seed ^ 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3u;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    return h;
}

/* The slot of id[0..n) (NUL-terminated): the one holding it, or the empty
 * one where it belongs. The table is never full, so the probe ends. */
static size_t op_client_registry_slot(const op_client_registry_t *r, const char *id, size_t n)
{
    size_t i = (size_t)op_client_registry_hash(r->seed, id, n) & r->mask;
    while (r->slots[i] != NULL && strcmp(r->slots[i]->client_id, id) != 0)
        i = (i + 1) & r->mask;
    return i;
}

int op_client_registry_new(op_client_t *clients, size_t n, op_arena_t *a,
                           op_client_registry_t **out, op_err_t *err)
{
    *out = NULL;
    if (n > SIZE_MAX / (4 * sizeof(op_client_t *)))
        return OP_ERR(err, OP_ETOOBIG, "too many clients (%zu)", n);
    size_t cap = 8;
    while (cap < 2 * n)
        cap *= 2;
    op_client_registry_t *r = op_arena_calloc(a, 1, sizeof(*r));
    const op_client_t **slots = r != NULL ? op_arena_calloc(a, cap, sizeof(*slots)) : NULL;
    if (slots == NULL)
        return OP_ERR(err, OP_ETOOBIG, "client registry too large");
    r->slots = slots;
    r->mask = cap - 1;
    op_keys_crypto_rand_bytes(&r->seed, sizeof(r->seed));
    for (size_t i = 0; i < n; i++) {
        const char *id = clients[i].client_id;
        size_t len = id != NULL ? strnlen(id, OP_CLIENT_ID_MAX + 1) : 0;
        if (len == 0 || len > OP_CLIENT_ID_MAX)
            return OP_ERR(err, OP_EINVAL, "clients[%zu]: client_id: must be 1 to %d bytes", i,
                          OP_CLIENT_ID_MAX);
        size_t k = op_client_registry_slot(r, id, len);
        if (slots[k] != NULL)
            return OP_ERR(err, OP_EINVAL,
                          "client \"%.*s\": client_id: repeated (also clients[%zu])",
                          OP_CONFIG_SHOW_MAX, id, (size_t)(slots[k] - clients));
        slots[k] = &clients[i];
    }
    *out = r;
    return OP_OK;
}

const op_client_t *op_client_registry_find(const op_client_registry_t *r, const char *client_id)
{
    if (r == NULL || client_id == NULL)
        return NULL;
    size_t n = strnlen(client_id, OP_CLIENT_ID_MAX + 1);
    if (n > OP_CLIENT_ID_MAX)
        return NULL;
    return r->slots[op_client_registry_slot(r, client_id, n)];
}
