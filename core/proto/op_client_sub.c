/*
 * core/proto/op_client_sub.c - the subject identifier a client sees (OIDC Core
 * §8): public, or pairwise per sector identifier (§8.1).
 */
#include <string.h>

#include "core/proto/op_client.h"

/* Domain separation: this HMAC input is for pairwise subjects only. */
#define OP_CLIENT_SUB_LABEL "tessera pairwise sub v1"

/* Append the 4-byte big-endian length of s[0..n), then s, to buf at *at.
 * false when it does not fit. */
static bool op_client_sub_put(uint8_t *buf, size_t cap, size_t *at, const char *s, size_t n)
{
    if (n > UINT32_MAX || cap - *at < 4 || cap - *at - 4 < n)
        return false;
    for (int k = 3; k >= 0; k--)
        buf[(*at)++] = (uint8_t)(n >> (8 * k));
    memcpy(buf + *at, s, n);
    *at += n;
    return true;
}

/*
 * See core/proto/op_client.h. The input is length-prefixed, so no two (sector,
 * subject) pairs share it; the key is op.subject.pairwiseKey, a secret of
 * its own (the "salt" of §8.1), so that nobody without it can compute or
 * link the identifiers.
 */
const char *op_client_sub(const op_client_t *c, const op_config_t *cfg, const char *sub,
                          op_arena_t *a)
{
    if (c->subject_type != OP_CLIENT_SUB_PAIRWISE)
        return sub;
    if (!cfg->pairwise_key_set || c->sector_id == NULL || sub == NULL)
        return NULL;
    size_t ns = strlen(c->sector_id), nu = strlen(sub);
    size_t cap = sizeof(OP_CLIENT_SUB_LABEL) - 1 + 12 + ns + nu, at = 0;
    uint8_t *msg = op_arena_alloc(a, cap);
    uint8_t mac[32];
    if (msg == NULL)
        return NULL;
    if (!op_client_sub_put(msg, cap, &at, OP_CLIENT_SUB_LABEL, sizeof(OP_CLIENT_SUB_LABEL) - 1) ||
        !op_client_sub_put(msg, cap, &at, c->sector_id, ns) ||
        !op_client_sub_put(msg, cap, &at, sub, nu))
        return NULL;
    op_keys_crypto_hmac_sha256(cfg->pairwise_key, sizeof(cfg->pairwise_key), msg, at, mac);
    return op_b64url_encode_arena(a, mac, sizeof(mac));
}
