/*
 * core/config/op_config.c - properties file + TESSERA_* environment -> a
 * validated, immutable, refcounted op_config_t.
 *
 * Loading runs in three passes over the table of known properties
 * (core/config/op_config_props.c):
 *   1. collect (core/config/op_config_collect.c): file lines, then environment
 *      variables, into entries (one per property, labelled value or
 *      plugin property; the environment replaces a file entry, a repeated
 *      key or an unknown name is an error);
 *   2. apply: each property's setter parses its entry, or its default,
 *      into the typed field (a missing required property is an error);
 *   3. check: rules across properties, then the start-up warnings.
 * Work memory (the file text, the entries, JSON trees) lives in a
 * temporary arena freed at the end; the result lives in its own arena.
 * This file also holds what the other config files share: the error
 * helpers and the environment names.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config/op_config_int.h"

#define OP_CONFIG_ARENA_MAX (1024 * 1024)     /* the result */
#define OP_CONFIG_TMP_MAX   (4 * 1024 * 1024) /* file text + work */

/*
 * SHA-256("demo-api-token") in hex, the demo token of
 * examples/tessera.properties. Computed once with
 *   printf '%s' demo-api-token | sha256sum
 * (core/ does not link OpenSSL, so it is not computed here).
 */
static const char op_config_demo_token_hex[] =
    "9477b34a9c255f76f79d282640e9f9d02f1b32a370408fdac63538ce33a788ed";

/*
 * The 32 bytes of the DEMO keyStore.encJWK of examples/tessera.properties
 * (k = "iQu5CCf-M7DUFBf2yynYqsuxZxl9-9Ai-4peGR9NqUY"), drawn once from
 * /dev/urandom; the hex is `basenc -d --base64url | xxd -p` of k.
 */
static const char op_config_demo_enc_key_hex[] =
    "890bb90827fe33b0d41417f6cb29d8aacbb167197dfbd022fb8a5e191f4da946";

/* ---- shared helpers ------------------------------------------------------ */

bool op_config_why(op_config_ctx_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof(c->why), fmt, ap);
    va_end(ap);
    return false;
}

bool op_config_too_big(op_config_ctx_t *c)
{
    c->too_big = true;
    return op_config_why(c, "too large (over the configuration's memory cap)");
}

int op_config_show_len(const char *s, size_t len)
{
    if (len <= OP_CONFIG_SHOW_MAX)
        return (int)len;
    len = OP_CONFIG_SHOW_MAX;
    while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
        len--;
    return (int)len;
}

bool op_config_jws_alg_ok(op_jws_alg_t alg)
{
    return alg == OP_JWS_RS256 || alg == OP_JWS_PS256 || alg == OP_JWS_ES256 || alg == OP_JWS_EDDSA;
}

/*
 * Append the environment form of s[0..n) to out at *o: upper case,
 * '.' -> '_', and '_' before an upper-case letter that follows a
 * lower-case letter or a digit (a camelCase hump).
 */
static bool op_config_env_append(const char *s, size_t n, char *out, size_t *o, size_t size)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool hump = ch >= 'A' && ch <= 'Z' && i > 0 &&
                    ((s[i - 1] >= 'a' && s[i - 1] <= 'z') || (s[i - 1] >= '0' && s[i - 1] <= '9'));
        if (*o + (hump ? 2 : 1) >= size)
            return false;
        if (hump)
            out[(*o)++] = '_';
        if (ch == '.')
            ch = '_';
        else if (ch >= 'a' && ch <= 'z')
            ch = (unsigned char)(ch - 'a' + 'A');
        out[(*o)++] = (char)ch;
    }
    out[*o] = '\0';
    return true;
}

bool op_config_env_name(const char *property, char *out, size_t size)
{
    size_t o = sizeof(OP_CONFIG_ENV_PREFIX) - 1;
    if (size <= o)
        return false;
    memcpy(out, OP_CONFIG_ENV_PREFIX, o);
    out[o] = '\0';
    return op_config_env_append(property, strlen(property), out, &o, size);
}

int op_config_fail_at(op_config_ctx_t *c, int line, const char *env, const char *fmt, ...)
{
    char msg[OP_ERR_DESC_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int code = c->too_big ? OP_ETOOBIG : OP_EINVAL;
    if (env != NULL)
        return OP_ERR(c->err, code, "environment variable %s: %s", env, msg);
    if (line > 0)
        return OP_ERR(c->err, code, "%s:%d: %s", c->source, line, msg);
    return OP_ERR(c->err, code, "%s: %s", c->source, msg);
}

int op_config_bad_value(op_config_ctx_t *c, const op_config_entry_t *e, const op_config_prop_t *p,
                        const char *label, const char *v, size_t len)
{
    char shown[OP_CONFIG_SHOW_MAX + 4];
    if (p->flags & OP_CONFIG_F_SECRET)
        snprintf(shown, sizeof(shown), "***");
    else if (len > OP_CONFIG_SHOW_MAX)
        snprintf(shown, sizeof(shown), "%.*s...", op_config_show_len(v, len), v);
    else
        snprintf(shown, sizeof(shown), "%s", v);
    return op_config_fail_at(c, e != NULL ? e->line : 0, e != NULL ? e->env : NULL,
                             "%s%s%s: \"%s\": %s", p->name, label != NULL ? "." : "",
                             label != NULL ? label : "", shown, c->why);
}

/* ---- apply and check ----------------------------------------------------- */

static const op_config_entry_t *op_config_entry_of(const op_config_ctx_t *c,
                                                   const op_config_prop_t *p)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->entries[i].prop == p && c->entries[i].label == NULL)
            return &c->entries[i];
    }
    return NULL;
}

static int op_config_apply_one(op_config_ctx_t *c, const op_config_prop_t *p,
                               const op_config_entry_t *e, const char *label, const char *v,
                               size_t len)
{
    c->why[0] = '\0';
    if (len == 0 && !(p->flags & OP_CONFIG_F_EMPTY_OK)) {
        op_config_why(c, "must not be empty (remove the line to use the default)");
        return op_config_bad_value(c, e, p, label, v, len);
    }
    if (!p->set(c, p, label, v, len))
        return op_config_bad_value(c, e, p, label, v, len);
    return OP_OK;
}

/* Every entry, in file then environment order (so the first bad line
 * is the one reported), then the defaults of the properties left unset. */
static int op_config_apply(op_config_ctx_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        const op_config_entry_t *e = &c->entries[i];
        int rc = op_config_apply_one(c, e->prop, e, e->label, e->value, e->len);
        if (rc != OP_OK)
            return rc;
    }
    for (size_t i = 0; i < op_config_props_n; i++) {
        const op_config_prop_t *p = &op_config_props[i];
        if (op_config_entry_of(c, p) != NULL)
            continue;
        if (p->def != NULL) {
            int rc = op_config_apply_one(c, p, NULL, NULL, p->def, strlen(p->def));
            if (rc != OP_OK)
                return rc;
        } else if (p->flags & OP_CONFIG_F_REQUIRED) {
            char env[OP_CONFIG_ENV_MAX];
            op_config_env_name(p->name, env, sizeof(env));
            return op_config_fail_at(c, 0, NULL,
                                     "%s: required property is not set "
                                     "(set it in the file or as %s)",
                                     p->name, env);
        }
    }
    return OP_OK;
}

/*
 * Property lo_name (value lo) must not exceed hi_name (value hi);
 * INT64_MAX stands for unlimited. The message blames hi when it was set
 * explicitly, else lo (a default cannot be what is wrong).
 */
static int op_config_check_order(op_config_ctx_t *c, const char *lo_name, int64_t lo,
                                 const char *hi_name, int64_t hi)
{
    if (lo <= hi)
        return OP_OK;
    const op_config_prop_t *phi = op_config_props_named(hi_name);
    const op_config_prop_t *plo = op_config_props_named(lo_name);
    const op_config_entry_t *e = op_config_entry_of(c, phi);
    if (e != NULL) {
        if (lo == INT64_MAX)
            op_config_why(c, "must be -1 (unlimited) as %s is", lo_name);
        else
            op_config_why(c, "must be >= %s (%lld)", lo_name, (long long)lo);
        return op_config_bad_value(c, e, phi, NULL, e->value, e->len);
    }
    e = op_config_entry_of(c, plo);
    op_config_why(c, "must be <= %s (%lld)", hi_name, (long long)hi);
    return op_config_bad_value(c, e, plo, NULL, e != NULL ? e->value : plo->def,
                               e != NULL ? e->len : strlen(plo->def));
}

/* A session timeout in minutes for op_config_check_order: -1 is unlimited. */
static int64_t op_config_minutes(int v)
{
    return v == -1 ? INT64_MAX : v;
}

/* Rules across properties. */
static int op_config_check(op_config_ctx_t *c)
{
    const op_config_t *cfg = c->cfg;
    int rc;
    if (cfg->storage_kind == OP_STORE_REDIS && cfg->storage_redis_address == NULL) {
        const op_config_entry_t *e = op_config_entry_of(c, op_config_props_named("storage.type"));
        return op_config_fail_at(c, e->line, e->env,
                                 "storage.redis.address: required when "
                                 "storage.type is redis (or set TESSERA_STORAGE_REDIS_ADDRESS)");
    }
    if ((rc = op_config_check_order(c, "storage.backoffMin", (int64_t)cfg->storage_backoff_min_ms,
                                    "storage.backoffMax", (int64_t)cfg->storage_backoff_max_ms)) !=
        OP_OK)
        return rc;
    /* One key, one purpose: the pairwise key is not the key store's. */
    if (cfg->pairwise_key_set &&
        op_keys_crypto_ct_equal(cfg->pairwise_key, sizeof(cfg->pairwise_key), cfg->keys_enc_key,
                                sizeof(cfg->keys_enc_key))) {
        const op_config_entry_t *e =
            op_config_entry_of(c, op_config_props_named("op.subject.pairwiseKey"));
        return op_config_fail_at(c, e->line, e->env,
                                 "op.subject.pairwiseKey: must not be the key of keyStore.encJWK "
                                 "(one key, one purpose)");
    }
    /* Reference §2.6: max_life >= auth_life >= max_idle. */
    if ((rc = op_config_check_order(
             c, "sessionStore.authLifetime", op_config_minutes(cfg->session_auth_life_min),
             "sessionStore.maxLifetime", op_config_minutes(cfg->session_max_life_min))) != OP_OK)
        return rc;
    return op_config_check_order(
        c, "sessionStore.maxIdleTime", op_config_minutes(cfg->session_max_idle_min),
        "sessionStore.authLifetime", op_config_minutes(cfg->session_auth_life_min));
}

/* ---- warnings ------------------------------------------------------------ */

/* One warning per demo token in t. */
static bool op_config_warn_tokens(op_config_ctx_t *c, const op_config_tokens_t *t, const char *name,
                                  const char *what, const char **w, size_t *n)
{
    uint8_t demo[OP_CONFIG_TOKEN_HASH_BYTES];
    op_hex_decode(op_config_demo_token_hex, sizeof(op_config_demo_token_hex) - 1, demo,
                  sizeof(demo));
    for (size_t i = 0; i < t->n; i++) {
        if (memcmp(t->hashes[i], demo, sizeof(demo)) != 0)
            continue;
        const char *l = t->labels[i];
        w[*n] = op_arena_printf(c->box->arena,
                                "DEMO API TOKEN CONFIGURED for %s%s%s: "
                                "anyone can call the %s; never use this configuration "
                                "in production",
                                name, l ? "." : "", l ? l : "", what);
        if (w[(*n)++] == NULL)
            return false;
    }
    return true;
}

/* The start-up warnings, NULL-terminated, in the config's arena. */
static int op_config_warn(op_config_ctx_t *c)
{
    op_config_t *cfg = c->cfg;
    const char **w = op_arena_calloc(c->box->arena, c->api.n + c->monitor.n + 3, sizeof(*w));
    size_t n = 0;
    if (w == NULL ||
        !op_config_warn_tokens(c, &c->api, "op.authz.apiAccessTokenSHA256", "integration APIs", w,
                               &n) ||
        !op_config_warn_tokens(c, &c->monitor, "monitor.apiAccessTokenSHA256", "monitoring API", w,
                               &n))
        return OP_ERR(c->err, OP_ETOOBIG, "configuration too large");
    uint8_t demo[OP_CONFIG_ENC_KEY_BYTES];
    op_hex_decode(op_config_demo_enc_key_hex, sizeof(op_config_demo_enc_key_hex) - 1, demo,
                  sizeof(demo));
    if (memcmp(cfg->keys_enc_key, demo, sizeof(demo)) == 0 &&
        (w[n++] = op_arena_printf(c->box->arena,
                                  "DEMO ENCRYPTION KEY CONFIGURED for "
                                  "keyStore.encJWK (published in examples/tessera.properties):"
                                  " anyone can decrypt the stored private keys; never use "
                                  "this configuration in production")) == NULL)
        return OP_ERR(c->err, OP_ETOOBIG, "configuration too large");
    if (strncasecmp(cfg->issuer, "http:", 5) == 0 &&
        (w[n++] = op_arena_printf(c->box->arena,
                                  "op.issuer %s uses plain http: tokens and "
                                  "cookies travel unencrypted; use https outside local development",
                                  cfg->issuer)) == NULL)
        return OP_ERR(c->err, OP_ETOOBIG, "configuration too large");
    c->box->warnings = w;
    return OP_OK;
}

/* ---- load, parse, refcount ----------------------------------------------- */

/* Wipe the secrets, then free everything (the box lives in its arena). */
static void op_config_box_free(op_config_box_t *box)
{
    explicit_bzero(box->pub.keys_enc_key, sizeof(box->pub.keys_enc_key));
    explicit_bzero(box->pub.pairwise_key, sizeof(box->pub.pairwise_key));
    if (box->redis_password != NULL)
        explicit_bzero(box->redis_password, strlen(box->redis_password));
    op_arena_free(box->arena);
}

/*
 * Build a config from text, or from the file at path when path is not
 * NULL (read into the work arena). source names the input in messages.
 */
static int op_config_build(const char *source, const char *path, const char *text, size_t len,
                           char *const *envp, op_config_t **out, op_err_t *err)
{
    op_config_ctx_t c;
    memset(&c, 0, sizeof(c));
    c.err = err;
    *out = NULL;
    op_arena_t *arena = op_arena_new(OP_CONFIG_ARENA_MAX);
    c.tmp = op_arena_new(OP_CONFIG_TMP_MAX);
    c.box = op_arena_calloc(arena, 1, sizeof(*c.box));
    int rc;
    if (c.box == NULL) {
        op_arena_free(arena);
        rc = OP_ERR(err, OP_ETOOBIG, "configuration too large");
        goto out_free_tmp;
    }
    c.box->arena = arena;
    c.box->refs = 1;
    c.cfg = &c.box->pub;
    c.cfg->source = c.source = op_arena_strdup(arena, source);
    c.entries = op_arena_calloc(c.tmp, OP_CONFIG_MAX_ENTRIES, sizeof(*c.entries));
    if (c.source == NULL || c.entries == NULL) {
        rc = OP_ERR(err, OP_ETOOBIG, "configuration too large");
        goto out_free_box;
    }
    if (path != NULL) {
        char *buf = NULL;
        rc = op_config_read_file(c.tmp, path, OP_CONFIG_MAX_BYTES, &buf, &len, err);
        if (rc != OP_OK)
            goto out_free_box;
        text = buf;
    }
    if ((rc = op_config_collect_file(&c, text, len)) != OP_OK ||
        (rc = op_config_collect_env(&c, envp)) != OP_OK || (rc = op_config_apply(&c)) != OP_OK ||
        (rc = op_config_check(&c)) != OP_OK || (rc = op_config_warn(&c)) != OP_OK)
        goto out_free_box;
    c.cfg->api_tokens = (const uint8_t(*)[OP_CONFIG_TOKEN_HASH_BYTES])c.api.hashes;
    c.cfg->api_token_labels = c.api.labels;
    c.cfg->n_api_tokens = c.api.n;
    c.cfg->monitor_tokens = (const uint8_t(*)[OP_CONFIG_TOKEN_HASH_BYTES])c.monitor.hashes;
    c.cfg->monitor_token_labels = c.monitor.labels;
    c.cfg->n_monitor_tokens = c.monitor.n;
    c.cfg->plugin_prop_names = c.plugin_names;
    c.cfg->plugin_prop_values = c.plugin_values;
    c.cfg->n_plugin_props = c.n_plugin;
    *out = c.cfg;
    op_arena_free(c.tmp);
    return OP_OK;

out_free_box:
    op_config_box_free(c.box);
out_free_tmp:
    op_arena_free(c.tmp);
    return rc;
}

int op_config_load(const char *path, char *const *envp, op_config_t **out, op_err_t *err)
{
    return op_config_build(path, path, NULL, 0, envp, out, err);
}

int op_config_parse(const char *text, size_t len, char *const *envp, const char *name,
                    op_config_t **out, op_err_t *err)
{
    return op_config_build(name != NULL ? name : "<config>", NULL, text, len, envp, out, err);
}

op_config_t *op_config_retain(op_config_t *cfg)
{
    ((op_config_box_t *)cfg)->refs++;
    return cfg;
}

void op_config_release(op_config_t *cfg)
{
    if (cfg == NULL)
        return;
    op_config_box_t *box = (op_config_box_t *)cfg;
    if (--box->refs == 0)
        op_config_box_free(box);
}

const char *const *op_config_warnings(const op_config_t *cfg)
{
    return ((const op_config_box_t *)cfg)->warnings;
}

const char *op_config_plugin_prop(const op_config_t *cfg, const char *plugin, const char *key)
{
    if (cfg == NULL || plugin == NULL || key == NULL || strchr(plugin, '.') != NULL)
        return NULL;
    size_t pl = strlen(plugin);
    for (size_t i = 0; i < cfg->n_plugin_props; i++) {
        const char *name = cfg->plugin_prop_names[i];
        if (strncmp(name, plugin, pl) == 0 && name[pl] == '.' && strcmp(name + pl + 1, key) == 0)
            return cfg->plugin_prop_values[i];
    }
    return NULL;
}

/* ---- files --------------------------------------------------------------- */

int op_config_read_file(op_arena_t *a, const char *path, size_t max, char **out, size_t *len,
                        op_err_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return OP_ERR(err, OP_EINVAL, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = OP_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = OP_ERR(err, OP_EINVAL, "%s: not a regular file", path);
        goto out_close;
    }
    if ((uint64_t)st.st_size > max) {
        rc = OP_ERR(err, OP_ETOOBIG, "%s: too large (%lld bytes, at most %zu)", path,
                    (long long)st.st_size, max);
        goto out_close;
    }
    /* One byte more than the size, to see a file that grows meanwhile. */
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = op_arena_alloc(a, cap + 1);
    if (buf == NULL) {
        rc = OP_ERR(err, OP_ETOOBIG, "%s: too large", path);
        goto out_close;
    }
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = OP_ERR(err, OP_EINVAL, "%s: cannot read: %s", path, strerror(errno));
            goto out_close;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n == cap) {
        rc = OP_ERR(err, OP_EINVAL, "%s: changed while being read", path);
        goto out_close;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
out_close:
    close(fd);
    return rc;
}
