/*
 * core/config/op_config_props.c - the table of known properties and their
 * setters (pass 2 of loading, see core/config/op_config.c).
 *
 * A setter parses one value, from the file, the environment or the
 * property's default (the same checks for all three), into its field of
 * op_config_t. On a bad value it returns false and says why in c->why;
 * the caller adds where, the property name and the value. What a setter
 * keeps is copied into the config's arena.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "core/config/op_config_int.h"

#define OP_CONFIG_PATH_MAX       4095
#define OP_CONFIG_PASSWORD_MAX   512
#define OP_CONFIG_PREFIX_MAX     32
#define OP_CONFIG_ERROR_CODE_MAX 64

#define OP_CONFIG_FIELD(c, p, type) ((type *)(void *)((char *)(c)->cfg + (p)->off))

/* op_config_props_enum writes an enumeration as the bytes of an int. */
_Static_assert(sizeof(op_store_kind_t) == sizeof(int) && sizeof(op_at_encoding_t) == sizeof(int),
               "enumerations are stored as int");

/* ---- lists --------------------------------------------------------------- */

static bool op_config_props_in(char ch, const char *seps)
{
    return ch != '\0' && strchr(seps, ch) != NULL;
}

/*
 * The next item of the list v[0..len) from *i into *out: items are
 * separated by any of seps, blanks around an item are trimmed and empty
 * items skipped. false at the end of the list.
 */
static bool op_config_props_next(const char *v, size_t len, const char *seps, size_t *i,
                                 op_str_t *out)
{
    size_t k = *i;
    while (k < len && (op_config_is_blank(v[k]) || op_config_props_in(v[k], seps)))
        k++;
    size_t start = k;
    while (k < len && !op_config_props_in(v[k], seps))
        k++;
    size_t end = k;
    while (end > start && op_config_is_blank(v[end - 1]))
        end--;
    *i = k;
    *out = (op_str_t){v + start, end - start};
    return end > start;
}

/* ---- generic setters ----------------------------------------------------- */

/* A copy of v in the config's arena, at the property's string field. */
static bool op_config_props_str(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                const char *v, size_t len)
{
    OP_UNUSED(label);
    char *copy = op_arena_strndup(c->box->arena, v, len);
    if (copy == NULL)
        return op_config_too_big(c);
    *OP_CONFIG_FIELD(c, p, const char *) = copy;
    return true;
}

/* An integer in [p->min, p->max], or p->alt with OP_CONFIG_F_ALT, stored
 * with the field's width. */
static bool op_config_props_int(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                const char *v, size_t len)
{
    OP_UNUSED(label);
    int64_t n;
    bool alt = (p->flags & OP_CONFIG_F_ALT) != 0;
    if (!op_str_parse_i64(v, len, p->min, p->max, &n) &&
        !(alt && op_str_parse_i64(v, len, p->alt, p->alt, &n))) {
        char alt_text[64] = "";
        if (alt)
            snprintf(alt_text, sizeof(alt_text), "%lld (%s) or ", (long long)p->alt, p->alt_what);
        return op_config_why(c, "must be %san integer from %lld to %lld%s%s", alt_text,
                             (long long)p->min, (long long)p->max, p->unit != NULL ? " " : "",
                             p->unit != NULL ? p->unit : "");
    }
    switch (p->width) {
    case OP_CONFIG_W_INT:
        *OP_CONFIG_FIELD(c, p, int) = (int)n;
        break;
    case OP_CONFIG_W_SIZE:
        *OP_CONFIG_FIELD(c, p, size_t) = (size_t)n;
        break;
    case OP_CONFIG_W_U64:
        *OP_CONFIG_FIELD(c, p, uint64_t) = (uint64_t)n;
        break;
    }
    return true;
}

static bool op_config_props_bool(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                 const char *v, size_t len)
{
    OP_UNUSED(label);
    OP_UNUSED(len);
    if (strcmp(v, "true") == 0)
        *OP_CONFIG_FIELD(c, p, bool) = true;
    else if (strcmp(v, "false") == 0)
        *OP_CONFIG_FIELD(c, p, bool) = false;
    else
        return op_config_why(c, "must be true or false");
    return true;
}

/* One of p->words, stored as its index in the (enumeration) field. */
static bool op_config_props_enum(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                 const char *v, size_t len)
{
    OP_UNUSED(label);
    OP_UNUSED(len);
    char allowed[OP_CONFIG_WHY_MAX / 2] = "";
    size_t o = 0;
    for (size_t i = 0; p->words[i] != NULL; i++) {
        if (strcmp(v, p->words[i]) == 0) {
            int value = (int)i;
            memcpy(OP_CONFIG_FIELD(c, p, int), &value, sizeof(value));
            return true;
        }
        const char *sep = i == 0 ? "" : p->words[i + 1] == NULL ? " or " : ", ";
        int k = snprintf(allowed + o, sizeof(allowed) - o, "%s%s", sep, p->words[i]);
        o = k < 0 || (size_t)k >= sizeof(allowed) - o ? sizeof(allowed) - 1 : o + (size_t)k;
    }
    return op_config_why(c, "must be %s", allowed);
}

static bool op_config_props_path(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                 const char *v, size_t len)
{
    if (len > OP_CONFIG_PATH_MAX)
        return op_config_why(c, "too long (at most %d bytes)", OP_CONFIG_PATH_MAX);
    return op_config_props_str(c, p, label, v, len);
}

static bool op_config_props_ip(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                               const char *v, size_t len)
{
    unsigned char a[16];
    if (!op_config_url_ip_parse(v, len, AF_INET, a) && !op_config_url_ip_parse(v, len, AF_INET6, a))
        return op_config_why(c, "must be an IP address (e.g. 127.0.0.1, 0.0.0.0 or ::1)");
    return op_config_props_str(c, p, label, v, len);
}

/* ---- URLs ---------------------------------------------------------------- */

/* An absolute http(s) URL: https, or http with a loopback host; no user
 * info, no fragment. */
static bool op_config_props_http_url(op_config_ctx_t *c, const char *v, size_t len,
                                     op_config_url_t *u)
{
    if (!op_config_url_parse(v, len, u) || !u->has_authority)
        return op_config_why(c, "must be an absolute https URL");
    bool https = op_config_url_scheme_is(u, "https");
    if (!https && !op_config_url_scheme_is(u, "http"))
        return op_config_why(c, "must be an https URL");
    if (!https && !op_config_url_is_loopback(u, true))
        return op_config_why(c, "must use https (http only for a loopback host: "
                                "127.0.0.0/8, ::1, localhost)");
    if (u->has_userinfo)
        return op_config_why(c, "must not contain user info (user@host)");
    if (u->has_fragment)
        return op_config_why(c, "must not have a fragment");
    return true;
}

static bool op_config_props_issuer(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                   const char *v, size_t len)
{
    op_config_url_t u;
    if (!op_config_props_http_url(c, v, len, &u))
        return false;
    if (u.has_query)
        return op_config_why(c, "must not have a query");
    if (u.path.len > 0 && u.path.ptr[u.path.len - 1] == '/')
        return op_config_why(c, "must not end with '/'");
    return op_config_props_str(c, p, label, v, len);
}

static bool op_config_props_endpoint(op_config_ctx_t *c, const op_config_prop_t *p,
                                     const char *label, const char *v, size_t len)
{
    op_config_url_t u;
    return op_config_props_http_url(c, v, len, &u) && op_config_props_str(c, p, label, v, len);
}

/*
 * "*", or origins (scheme://host[:port], http or https, no path)
 * separated by blanks; stored joined by one space.
 */
static bool op_config_props_cors(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                 const char *v, size_t len)
{
    OP_UNUSED(p);
    OP_UNUSED(label);
    if (len > OP_CONFIG_URL_MAX * 4)
        return op_config_why(c, "too long (at most %d bytes)", OP_CONFIG_URL_MAX * 4);
    char *out = op_arena_alloc(c->box->arena, len + 1);
    if (out == NULL)
        return op_config_too_big(c);
    size_t o = 0, i = 0, count = 0;
    bool star = false;
    op_str_t tok;
    while (op_config_props_next(v, len, " \t", &i, &tok)) {
        op_config_url_t u;
        count++;
        if (op_str_is(tok, "*")) {
            star = true;
        } else if (!op_config_url_parse(tok.ptr, tok.len, &u) || !u.has_authority ||
                   !(op_config_url_scheme_is(&u, "https") || op_config_url_scheme_is(&u, "http")) ||
                   u.has_userinfo || u.path.len > 0 || u.has_query || u.has_fragment) {
            int show = op_config_show_len(tok.ptr, tok.len);
            return op_config_why(c, "\"%.*s\" is not an origin (http(s)://host[:port], no path)",
                                 show, tok.ptr);
        }
        if (o > 0)
            out[o++] = ' ';
        memcpy(out + o, tok.ptr, tok.len);
        o += tok.len;
    }
    if (count == 0)
        return op_config_why(c, "must be \"*\" or origins separated by spaces");
    if (star && count > 1)
        return op_config_why(c, "\"*\" cannot be combined with origins");
    out[o] = '\0';
    c->cfg->http_cors_origins = out;
    return true;
}

/* ---- secrets ------------------------------------------------------------- */

/* Append a token digest (64 hex digits) to list t. */
static bool op_config_props_add_token(op_config_ctx_t *c, op_config_tokens_t *t, const char *label,
                                      const char *v, size_t len)
{
    op_arena_t *a = c->box->arena;
    if (t->hashes == NULL) {
        t->hashes = op_arena_calloc(a, 1 + OP_CONFIG_MAX_LABELS, sizeof(*t->hashes));
        t->labels = op_arena_calloc(a, 1 + OP_CONFIG_MAX_LABELS, sizeof(*t->labels));
        if (t->hashes == NULL || t->labels == NULL)
            return op_config_too_big(c);
    }
    if (len != 2 * OP_CONFIG_TOKEN_HASH_BYTES ||
        !op_hex_decode(v, len, t->hashes[t->n], OP_CONFIG_TOKEN_HASH_BYTES))
        return op_config_why(c, "must be 64 hex digits: the SHA-256 of the token");
    if (label != NULL && (t->labels[t->n] = op_arena_strdup(a, label)) == NULL)
        return op_config_too_big(c);
    t->n++;
    return true;
}

static bool op_config_props_api_token(op_config_ctx_t *c, const op_config_prop_t *p,
                                      const char *label, const char *v, size_t len)
{
    OP_UNUSED(p);
    return op_config_props_add_token(c, &c->api, label, v, len);
}

static bool op_config_props_monitor_token(op_config_ctx_t *c, const op_config_prop_t *p,
                                          const char *label, const char *v, size_t len)
{
    OP_UNUSED(p);
    return op_config_props_add_token(c, &c->monitor, label, v, len);
}

static bool op_config_props_password(op_config_ctx_t *c, const op_config_prop_t *p,
                                     const char *label, const char *v, size_t len)
{
    OP_UNUSED(p);
    OP_UNUSED(label);
    if (len > OP_CONFIG_PASSWORD_MAX)
        return op_config_why(c, "too long (at most %d bytes)", OP_CONFIG_PASSWORD_MAX);
    c->box->redis_password = op_arena_strndup(c->box->arena, v, len);
    if (c->box->redis_password == NULL)
        return op_config_too_big(c);
    c->cfg->storage_redis_password = c->box->redis_password;
    return true;
}

/* An oct JWK holding 32 bytes: {"kty":"oct","k":"<base64url>"}, into
 * out; other members are ignored. The message never shows the key. */
static bool op_config_props_oct32(op_config_ctx_t *c, const char *v, size_t len,
                                  uint8_t out[OP_CONFIG_ENC_KEY_BYTES])
{
    static const op_json_limits_t lim = {4096, 2, 32};
    op_json_t *jwk = NULL;
    op_err_t jerr;
    op_err_clear(&jerr);
    if (op_json_parse(c->tmp, v, len, &lim, &jwk, &jerr) != OP_OK ||
        !op_json_is(jwk, OP_JSON_OBJECT))
        return op_config_why(c, "must be a JSON oct JWK: "
                                "{\"kty\":\"oct\",\"k\":\"<base64url of 32 bytes>\"}");
    if (!op_str_eq(op_json_get_str(jwk, "kty"), "oct"))
        return op_config_why(c, "\"kty\" must be \"oct\"");
    const char *k = op_json_get_str(jwk, "k");
    uint8_t key[OP_CONFIG_ENC_KEY_BYTES + 16];
    size_t n = 0;
    bool ok = k != NULL && strlen(k) <= 44 && op_b64url_decode(k, strlen(k), key, &n) &&
              n == OP_CONFIG_ENC_KEY_BYTES;
    if (ok)
        memcpy(out, key, OP_CONFIG_ENC_KEY_BYTES);
    explicit_bzero(key, sizeof(key));
    if (!ok)
        return op_config_why(c, "\"k\" must be the base64url (no padding) of 32 bytes");
    return true;
}

static bool op_config_props_enc_jwk(op_config_ctx_t *c, const op_config_prop_t *p,
                                    const char *label, const char *v, size_t len)
{
    OP_UNUSED(p);
    OP_UNUSED(label);
    return op_config_props_oct32(c, v, len, c->cfg->keys_enc_key);
}

/* op.subject.pairwiseKey: its own key, so that pairwise subjects share
 * no secret with the key store (one key, one purpose). */
static bool op_config_props_pairwise_key(op_config_ctx_t *c, const op_config_prop_t *p,
                                         const char *label, const char *v, size_t len)
{
    OP_UNUSED(p);
    OP_UNUSED(label);
    c->cfg->pairwise_key_set = op_config_props_oct32(c, v, len, c->cfg->pairwise_key);
    return c->cfg->pairwise_key_set;
}

/* ---- storage ------------------------------------------------------------- */

/* "ip:port", "[ipv6]:port" or "unix:/absolute/path": never a host name,
 * which hiredis would resolve with a blocking getaddrinfo. */
static bool op_config_props_redis_address(op_config_ctx_t *c, const op_config_prop_t *p,
                                          const char *label, const char *v, size_t len)
{
    if (op_str_has_prefix(v, "unix:")) {
        size_t max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;
        if (len == 5 || v[5] != '/')
            return op_config_why(c, "the socket path must be absolute: unix:/path/redis.sock");
        if (len - 5 > max)
            return op_config_why(c, "the socket path is too long (at most %zu bytes)", max);
        return op_config_props_str(c, p, label, v, len);
    }
    const char *port;
    if (v[0] == '[') {
        const char *close = memchr(v, ']', len);
        unsigned char a6[16];
        if (close == NULL || close[1] != ':')
            return op_config_why(c, "must be ip:port, [ipv6]:port or unix:/path");
        if (!op_config_url_ip_parse(v + 1, (size_t)(close - v - 1), AF_INET6, a6))
            return op_config_why(c, "[...] must hold an IPv6 address");
        port = close + 2;
    } else {
        const char *colon = memrchr(v, ':', len);
        size_t hl = colon != NULL ? (size_t)(colon - v) : len;
        unsigned char a4[4];
        if (colon != NULL && memchr(v, ':', hl) != NULL)
            return op_config_why(c, "an IPv6 address must be in brackets: [::1]:6379");
        if (!op_config_url_ip_parse(v, hl, AF_INET, a4))
            return op_config_why(c, "must be an IP address or unix:/path "
                                    "(host names would block the event loop)");
        if (colon == NULL)
            return op_config_why(c, "the port is missing: ip:port");
        port = colon + 1;
    }
    int64_t n;
    if (!op_str_parse_i64(port, len - (size_t)(port - v), 1, 65535, &n))
        return op_config_why(c, "the port must be an integer from 1 to 65535");
    return op_config_props_str(c, p, label, v, len);
}

static bool op_config_props_prefix(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                   const char *v, size_t len)
{
    bool ok = len <= OP_CONFIG_PREFIX_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char ch = (unsigned char)v[i];
        ok = op_config_is_alnum(ch) || ch == ':' || ch == '_' || ch == '-';
    }
    if (!ok)
        return op_config_why(c, "must be at most %d of A-Z a-z 0-9 : _ -", OP_CONFIG_PREFIX_MAX);
    return op_config_props_str(c, p, label, v, len);
}

/* ---- tokens and the authorisation session -------------------------------- */

static bool op_config_props_rsa_bits(op_config_ctx_t *c, const op_config_prop_t *p,
                                     const char *label, const char *v, size_t len)
{
    if (strcmp(v, "2048") != 0 && strcmp(v, "3072") != 0 && strcmp(v, "4096") != 0)
        return op_config_why(c, "must be 2048, 3072 or 4096");
    return op_config_props_int(c, p, label, v, len);
}

/* Comma and/or blank separated list of RS256, PS256, ES256, EdDSA. */
static bool op_config_props_jws_algs(op_config_ctx_t *c, const op_config_prop_t *p,
                                     const char *label, const char *v, size_t len)
{
    OP_UNUSED(p);
    OP_UNUSED(label);
    op_config_t *cfg = c->cfg;
    size_t i = 0;
    op_str_t tok;
    cfg->n_id_token_algs = 0;
    while (op_config_props_next(v, len, ", \t", &i, &tok)) {
        int show = op_config_show_len(tok.ptr, tok.len);
        op_jws_alg_t alg = op_keys_jws_alg_parse(tok.ptr, tok.len);
        if (!op_config_jws_alg_ok(alg))
            return op_config_why(c,
                                 "unsupported algorithm \"%.*s\" (use RS256, PS256, ES256, EdDSA)",
                                 show, tok.ptr);
        for (size_t j = 0; j < cfg->n_id_token_algs; j++) {
            if (cfg->id_token_algs[j] == alg)
                return op_config_why(c, "\"%.*s\" is listed twice", show, tok.ptr);
        }
        cfg->id_token_algs[cfg->n_id_token_algs++] = alg;
    }
    if (cfg->n_id_token_algs == 0)
        return op_config_why(c, "must list at least one of RS256, PS256, ES256, EdDSA");
    /* OIDC Discovery §3: id_token_signing_alg_values_supported, which
     * lists these, "MUST" include RS256. */
    for (size_t j = 0; j < cfg->n_id_token_algs; j++) {
        if (cfg->id_token_algs[j] == OP_JWS_RS256)
            return true;
    }
    return op_config_why(c, "must include RS256 (OpenID Connect Discovery §3)");
}

/* One algorithm the server signs with (RFC 9068 §2.1: RS256 by default). */
static bool op_config_props_jws_alg(op_config_ctx_t *c, const op_config_prop_t *p,
                                    const char *label, const char *v, size_t len)
{
    OP_UNUSED(label);
    op_jws_alg_t alg = op_keys_jws_alg_parse(v, len);
    if (!op_config_jws_alg_ok(alg))
        return op_config_why(c, "must be RS256, PS256, ES256 or EdDSA");
    *OP_CONFIG_FIELD(c, p, op_jws_alg_t) = alg;
    return true;
}

/* Check one item of a list; false with c->why set. */
typedef bool (*op_config_props_item_fn)(op_config_ctx_t *c, op_str_t item, int show);

/*
 * A list of distinct items separated by seps, each checked by item_ok,
 * into a NULL-terminated array in the config's arena (*out, *n): at most
 * max items, called what in the message when there are more.
 */
static bool op_config_props_list(op_config_ctx_t *c, const char *v, size_t len, const char *seps,
                                 size_t max, const char *what, op_config_props_item_fn item_ok,
                                 const char *const **out, size_t *n)
{
    const char **items = op_arena_calloc(c->box->arena, max + 1, sizeof(*items));
    if (items == NULL)
        return op_config_too_big(c);
    size_t count = 0, i = 0;
    op_str_t tok;
    while (op_config_props_next(v, len, seps, &i, &tok)) {
        int show = op_config_show_len(tok.ptr, tok.len);
        if (!item_ok(c, tok, show))
            return false;
        for (size_t k = 0; k < count; k++) {
            if (op_str_is(tok, items[k]))
                return op_config_why(c, "\"%.*s\" is listed twice", show, tok.ptr);
        }
        if (count == max)
            return op_config_why(c, "too many %s (at most %zu)", what, max);
        if ((items[count++] = op_arena_strndup(c->box->arena, tok.ptr, tok.len)) == NULL)
            return op_config_too_big(c);
    }
    *out = items;
    *n = count;
    return true;
}

/* An error code: [A-Za-z0-9_]{1,64}, stricter than RFC 6749 §5.2
 * (%x20-21 / %x23-5B / %x5D-7E), so it is safe as it is in a URL, a JSON
 * string and a log line. */
static bool op_config_props_error_code(op_config_ctx_t *c, op_str_t code, int show)
{
    bool ok = code.len <= OP_CONFIG_ERROR_CODE_MAX;
    for (size_t k = 0; ok && k < code.len; k++)
        ok = op_config_is_alnum((unsigned char)code.ptr[k]) || code.ptr[k] == '_';
    if (!ok)
        return op_config_why(c, "\"%.*s\" is not an error code (1 to %d of A-Z a-z 0-9 _)", show,
                             code.ptr, OP_CONFIG_ERROR_CODE_MAX);
    return true;
}

/* Comma and/or blank separated error codes a DELETE of an authorisation
 * session may give besides the standard ones (reference §2.1 "Custom
 * errors"). */
static bool op_config_props_error_codes(op_config_ctx_t *c, const op_config_prop_t *p,
                                        const char *label, const char *v, size_t len)
{
    OP_UNUSED(p);
    OP_UNUSED(label);
    return op_config_props_list(c, v, len, ", \t", OP_CONFIG_MAX_CUSTOM_ERRORS, "error codes",
                                op_config_props_error_code, &c->cfg->authz_custom_errors,
                                &c->cfg->n_authz_custom_errors);
}

/* ---- plugins ------------------------------------------------------------- */

/* A plugin path names a file (it has a '/': a bare name would make dlopen
 * search the library path) that ends in ".so". Whether it loads is the
 * loader's business. */
static bool op_config_props_plugin_path(op_config_ctx_t *c, op_str_t path, int show)
{
    if (path.len > OP_CONFIG_PATH_MAX || path.len < 4 || memchr(path.ptr, '/', path.len) == NULL ||
        memcmp(path.ptr + path.len - 3, ".so", 3) != 0)
        return op_config_why(c, "\"%.*s\" must be the path of a .so file, with a '/' (e.g. ./x.so)",
                             show, path.ptr);
    return true;
}

/* Comma separated paths of plugin shared objects, loaded in this order. */
static bool op_config_props_plugins(op_config_ctx_t *c, const op_config_prop_t *p,
                                    const char *label, const char *v, size_t len)
{
    OP_UNUSED(p);
    OP_UNUSED(label);
    return op_config_props_list(c, v, len, ",", OP_CONFIG_MAX_PLUGINS, "plugins",
                                op_config_props_plugin_path, &c->cfg->spi_plugins,
                                &c->cfg->n_spi_plugins);
}

/* plugin.<plugin name>.<key> = any value: appended as ("<plugin
 * name>.<key>", value); the collector has checked the name and the count. */
static bool op_config_props_plugin(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                   const char *v, size_t len)
{
    OP_UNUSED(p);
    op_arena_t *a = c->box->arena;
    if (label == NULL)
        return op_config_why(c, "must be set as plugin.<plugin name>.<key>");
    if (c->n_plugin == OP_CONFIG_MAX_PLUGIN_PROPS)
        return op_config_why(c, "too many plugin properties (at most %d)",
                             OP_CONFIG_MAX_PLUGIN_PROPS);
    if (c->plugin_names == NULL) {
        c->plugin_names = op_arena_calloc(a, OP_CONFIG_MAX_PLUGIN_PROPS + 1, sizeof(char *));
        c->plugin_values = op_arena_calloc(a, OP_CONFIG_MAX_PLUGIN_PROPS + 1, sizeof(char *));
        if (c->plugin_names == NULL || c->plugin_values == NULL)
            return op_config_too_big(c);
    }
    c->plugin_names[c->n_plugin] = op_arena_strdup(a, label);
    c->plugin_values[c->n_plugin] = op_arena_strndup(a, v, len);
    if (c->plugin_names[c->n_plugin] == NULL || c->plugin_values[c->n_plugin] == NULL)
        return op_config_too_big(c);
    c->n_plugin++;
    return true;
}

/* ---- log ----------------------------------------------------------------- */

static bool op_config_props_log_level(op_config_ctx_t *c, const op_config_prop_t *p,
                                      const char *label, const char *v, size_t len)
{
    OP_UNUSED(p);
    OP_UNUSED(label);
    OP_UNUSED(len);
    if (!op_log_level_parse(v, &c->cfg->log_level))
        return op_config_why(c, "must be debug, info, warn or error");
    return true;
}

/* ---- the properties ------------------------------------------------------ */

#define OP_CONFIG_OFF(f) offsetof(op_config_t, f)
/* An integer property stored in field. */
#define OP_CONFIG_INT(name_, def_, field, min_, max_, width_, unit_)                               \
    {                                                                                              \
        .name = name_, .def = def_, .set = op_config_props_int, .off = OP_CONFIG_OFF(field),       \
        .min = min_, .max = max_, .width = width_, .unit = unit_                                   \
    }
/* The same, also accepting alt_ (meaning what_) outside [min_, max_]. */
#define OP_CONFIG_INT_OR(name_, def_, field, alt_, what_, min_, max_, unit_)                       \
    {                                                                                              \
        .name = name_, .def = def_, .flags = OP_CONFIG_F_ALT, .set = op_config_props_int,          \
        .off = OP_CONFIG_OFF(field), .min = min_, .max = max_, .alt = alt_, .alt_what = what_,     \
        .width = OP_CONFIG_W_INT, .unit = unit_                                                    \
    }
/* A property whose setter writes field. */
#define OP_CONFIG_SET(name_, def_, flags_, set_, field)                                            \
    {                                                                                              \
        .name = name_, .def = def_, .flags = flags_, .set = set_, .off = OP_CONFIG_OFF(field)      \
    }
#define OP_CONFIG_BOOL(name_, def_, field)                                                         \
    OP_CONFIG_SET(name_, def_, 0, op_config_props_bool, field)
/* One of the words_ (NULL-terminated), stored as its index in field. */
#define OP_CONFIG_ENUM(name_, def_, field, words_)                                                 \
    {                                                                                              \
        .name = name_, .def = def_, .set = op_config_props_enum, .off = OP_CONFIG_OFF(field),      \
        .words = words_                                                                            \
    }

static const char *const op_config_props_store_kinds[] = {"memory", "redis", NULL};
static const char *const op_config_props_at_encodings[] = {"SELF_CONTAINED", "IDENTIFIER", NULL};

/* Every property: name, default (NULL: none), flags, setter and the field
 * it writes; in the order of examples/tessera.properties. */
const op_config_prop_t op_config_props[] = {
    OP_CONFIG_SET("op.issuer", NULL, OP_CONFIG_F_REQUIRED, op_config_props_issuer, issuer),
    OP_CONFIG_SET("op.authz.endpoint", NULL, OP_CONFIG_F_REQUIRED, op_config_props_endpoint,
                  authz_endpoint),
    OP_CONFIG_SET("op.logout.endpoint", NULL, 0, op_config_props_endpoint, logout_endpoint),
    {.name = "op.authz.apiAccessTokenSHA256",
     .flags = OP_CONFIG_F_SECRET | OP_CONFIG_F_LABELS,
     .set = op_config_props_api_token},
    OP_CONFIG_INT("op.authz.sessionLifetime", "900", authz_session_lifetime_s, 60, 86400,
                  OP_CONFIG_W_INT, "seconds"),
    OP_CONFIG_INT("op.authz.codeLifetime", "300", authz_code_lifetime_s, 10, 600, OP_CONFIG_W_INT,
                  "seconds"),
    OP_CONFIG_BOOL("op.authz.allowPlainPKCE", "false", authz_allow_plain_pkce),
    OP_CONFIG_BOOL("op.authz.alwaysPromptForAuth", "false", authz_always_prompt_auth),
    OP_CONFIG_BOOL("op.authz.alwaysPromptForConsent", "false", authz_always_prompt_consent),
    {.name = "op.authz.customErrorCodes",
     .def = "",
     .flags = OP_CONFIG_F_EMPTY_OK,
     .set = op_config_props_error_codes},
    OP_CONFIG_BOOL("op.authz.includeClientInfoInAuthPrompt", "false",
                   authz_client_info_in_auth_prompt),
    {.name = "op.idToken.jwsAlgs",
     .def = "RS256, ES256, EdDSA, PS256",
     .set = op_config_props_jws_algs},
    OP_CONFIG_INT("op.idToken.defaultLifetime", "900", id_token_lifetime_s, 60, 86400,
                  OP_CONFIG_W_INT, "seconds"),
    OP_CONFIG_SET("op.reg.clientsFile", NULL, 0, op_config_props_path, clients_file),
    {.name = "op.subject.pairwiseKey",
     .flags = OP_CONFIG_F_SECRET,
     .set = op_config_props_pairwise_key},
    {.name = "monitor.apiAccessTokenSHA256",
     .flags = OP_CONFIG_F_SECRET | OP_CONFIG_F_LABELS,
     .set = op_config_props_monitor_token},
    OP_CONFIG_SET("http.address", "127.0.0.1", 0, op_config_props_ip, http_address),
    OP_CONFIG_INT("http.port", "8080", http_port, 0, 65535, OP_CONFIG_W_INT, NULL),
    OP_CONFIG_INT("http.maxBodyBytes", "262144", http_max_body, 1024, 16777216, OP_CONFIG_W_SIZE,
                  "bytes"),
    OP_CONFIG_INT("http.maxHeaderBytes", "16384", http_max_headers, 1024, 1048576, OP_CONFIG_W_SIZE,
                  "bytes"),
    OP_CONFIG_INT("http.idleTimeout", "30", http_idle_timeout_s, 1, 3600, OP_CONFIG_W_INT,
                  "seconds"),
    OP_CONFIG_INT("http.requestReadTimeout", "20000", http_read_timeout_ms, 100, 600000,
                  OP_CONFIG_W_U64, "milliseconds"),
    OP_CONFIG_INT("http.maxConnections", "768", http_max_connections, 1, 1000000, OP_CONFIG_W_SIZE,
                  "connections"),
    OP_CONFIG_INT("http.requestTimeout", "10000", http_request_timeout_ms, 100, 600000,
                  OP_CONFIG_W_U64, "milliseconds"),
    {.name = "http.corsOrigins", .def = "*", .set = op_config_props_cors},
    OP_CONFIG_INT("http.shutdownGrace", "10", http_shutdown_grace_s, 0, 600, OP_CONFIG_W_INT,
                  "seconds"),
    OP_CONFIG_ENUM("storage.type", "memory", storage_kind, op_config_props_store_kinds),
    OP_CONFIG_SET("storage.redis.address", NULL, 0, op_config_props_redis_address,
                  storage_redis_address),
    {.name = "storage.redis.password",
     .flags = OP_CONFIG_F_SECRET,
     .set = op_config_props_password},
    OP_CONFIG_INT("storage.redis.database", "0", storage_redis_database, 0, 15, OP_CONFIG_W_INT,
                  NULL),
    OP_CONFIG_SET("storage.prefix", "op:", OP_CONFIG_F_EMPTY_OK, op_config_props_prefix,
                  storage_prefix),
    OP_CONFIG_INT("storage.timeout", "2000", storage_timeout_ms, 10, 60000, OP_CONFIG_W_U64,
                  "milliseconds"),
    OP_CONFIG_INT("storage.connectTimeout", "2000", storage_connect_timeout_ms, 10, 60000,
                  OP_CONFIG_W_U64, "milliseconds"),
    OP_CONFIG_INT("storage.backoffMin", "100", storage_backoff_min_ms, 10, 60000, OP_CONFIG_W_U64,
                  "milliseconds"),
    OP_CONFIG_INT("storage.backoffMax", "5000", storage_backoff_max_ms, 10, 600000, OP_CONFIG_W_U64,
                  "milliseconds"),
    OP_CONFIG_INT_OR("sessionStore.maxLifetime", "259200", session_max_life_min, -1, "unlimited", 1,
                     525600, "minutes"),
    OP_CONFIG_INT_OR("sessionStore.authLifetime", "43200", session_auth_life_min, -1, "unlimited",
                     1, 525600, "minutes"),
    OP_CONFIG_INT_OR("sessionStore.maxIdleTime", "14400", session_max_idle_min, -1, "unlimited", 1,
                     525600, "minutes"),
    OP_CONFIG_INT("sessionStore.quotaPerSubject", "5", session_quota, 1, 25, OP_CONFIG_W_INT, NULL),
    OP_CONFIG_INT("authzStore.accessToken.defaultLifetime", "600", at_lifetime_s, 1, 86400,
                  OP_CONFIG_W_INT, "seconds"),
    OP_CONFIG_ENUM("authzStore.accessToken.defaultEncoding", "SELF_CONTAINED", at_encoding,
                   op_config_props_at_encodings),
    OP_CONFIG_SET("authzStore.accessToken.jwsAlg", "RS256", 0, op_config_props_jws_alg, at_jws_alg),
    OP_CONFIG_INT_OR("authzStore.refreshToken.defaultLifetime", "2592000", rt_lifetime_s, 0,
                     "no expiry", 60, 31536000, "seconds"),
    OP_CONFIG_INT_OR("authzStore.refreshToken.defaultMaxIdle", "0", rt_max_idle_s, 0, "none", 60,
                     31536000, "seconds"),
    OP_CONFIG_BOOL("authzStore.refreshToken.rotate", "true", rt_rotate),
    {.name = "keyStore.encJWK",
     .flags = OP_CONFIG_F_REQUIRED | OP_CONFIG_F_SECRET,
     .set = op_config_props_enc_jwk},
    OP_CONFIG_INT("keyStore.refreshInterval", "60", keys_refresh_s, 0, 86400, OP_CONFIG_W_INT,
                  "seconds"),
    {.name = "keyStore.rsaBits",
     .def = "2048",
     .set = op_config_props_rsa_bits,
     .off = OP_CONFIG_OFF(keys_rsa_bits),
     .min = 2048,
     .max = 4096,
     .width = OP_CONFIG_W_INT},
    OP_CONFIG_SET("claimsSource.usersFile", NULL, 0, op_config_props_path, claims_users_file),
    {.name = "spi.plugins",
     .def = "",
     .flags = OP_CONFIG_F_EMPTY_OK,
     .set = op_config_props_plugins},
    OP_CONFIG_INT("spi.callTimeout", "2000", spi_timeout_ms, 10, 60000, OP_CONFIG_W_U64,
                  "milliseconds"),
    /* Plugin values may be credentials: never shown. */
    {.name = "plugin",
     .flags = OP_CONFIG_F_PLUGIN | OP_CONFIG_F_SECRET | OP_CONFIG_F_EMPTY_OK,
     .set = op_config_props_plugin},
    {.name = "log.level", .def = "info", .set = op_config_props_log_level},
};

const size_t op_config_props_n = OP_NELEMS(op_config_props);

const op_config_prop_t *op_config_props_named(const char *name)
{
    for (size_t i = 0; i < op_config_props_n; i++) {
        if (strcmp(op_config_props[i].name, name) == 0)
            return &op_config_props[i];
    }
    return NULL;
}
