/*
 * core/op_config.c - properties file + TESSERA_* environment -> a
 * validated, immutable, refcounted op_config_t.
 *
 * Loading runs in three passes over a table of known properties:
 *   1. collect: file lines, then environment variables, into entries
 *      (one per property or labelled value; the environment replaces a
 *      file entry, a repeated key or an unknown name is an error);
 *   2. apply: each property's setter parses its entry, or its default,
 *      into the typed field (a missing required property is an error);
 *   3. check: rules across properties, then the start-up warnings.
 * Work memory (the file text, the entries, JSON trees) lives in a
 * temporary arena freed at the end; the result lives in its own arena.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/op_config.h"

#define OP_CONFIG_ARENA_MAX    (1024 * 1024)     /* the result */
#define OP_CONFIG_TMP_MAX      (4 * 1024 * 1024) /* file text + work */
#define OP_CONFIG_NAME_MAX     128               /* longest key considered */
#define OP_CONFIG_ENV_MAX      192               /* longest variable name */
#define OP_CONFIG_WHY_MAX      160
#define OP_CONFIG_LABEL_MAX    32
#define OP_CONFIG_URL_MAX      2048
#define OP_CONFIG_PATH_MAX     4095
#define OP_CONFIG_PASSWORD_MAX 512
#define OP_CONFIG_PREFIX_MAX   32
#define OP_CONFIG_MAX_ENTRIES  128

static const char op_config_env_prefix[] = "TESSERA_";

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

/* The refcounted object behind an op_config_t (pub first, so the two
 * pointers are the same). */
typedef struct op_config_box {
    op_config_t pub;
    int refs;
    op_arena_t *arena;
    char *redis_password; /* = pub.storage_redis_password, wiped at free */
    const char **warnings;
} op_config_box_t;

/* A collected value: from the file (line > 0) or the environment. */
typedef struct op_config_entry {
    const struct op_config_prop *prop;
    const char *label; /* labelled value, else NULL */
    const char *value; /* NUL-terminated */
    size_t len;
    int line;        /* file line; 0 when from the environment */
    const char *env; /* the variable name, NULL when from the file */
} op_config_entry_t;

/* One list of token digests being built. */
typedef struct op_config_tokens {
    uint8_t (*hashes)[OP_CONFIG_TOKEN_HASH_BYTES];
    const char **labels;
    size_t n;
} op_config_tokens_t;

typedef struct op_config_ctx {
    op_config_box_t *box;
    op_config_t *cfg;
    op_arena_t *tmp;
    const char *source;
    op_config_entry_t entries[OP_CONFIG_MAX_ENTRIES];
    size_t n;
    op_config_tokens_t api;
    op_config_tokens_t monitor;
    char why[OP_CONFIG_WHY_MAX];
    bool oom; /* a setter ran out of memory */
    op_err_t *err;
} op_config_ctx_t;

typedef struct op_config_prop op_config_prop_t;

/* Parse v[0..len) (NUL-terminated) into cfg. false with c->why set. */
typedef bool (*op_config_set_fn)(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                 const char *v, size_t len);

enum {
    OP_CONFIG_F_REQUIRED = 0x1, /* no default: must be set */
    OP_CONFIG_F_SECRET = 0x2,   /* value shown as "***" */
    OP_CONFIG_F_LABELS = 0x4,   /* may repeat as <name>.<label> */
    OP_CONFIG_F_EMPTY_OK = 0x8  /* "" is a valid value */
};

typedef enum { OP_CONFIG_W_INT = 0, OP_CONFIG_W_SIZE, OP_CONFIG_W_U64 } op_config_width_t;

struct op_config_prop {
    const char *name;
    const char *def; /* default, as text; NULL: none */
    unsigned flags;
    op_config_set_fn set;
    size_t off;       /* destination field in op_config_t */
    int64_t min, max; /* integers: accepted range */
    op_config_width_t width;
    const char *unit; /* integers: shown in messages */
};

/* ---- small helpers ------------------------------------------------------- */

/* Record why a value is bad; returns false for `return op_config_why()`. */
static bool op_config_why(op_config_ctx_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool op_config_why(op_config_ctx_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof(c->why), fmt, ap);
    va_end(ap);
    return false;
}

/* A setter's allocation failed. */
static bool op_config_oom(op_config_ctx_t *c)
{
    c->oom = true;
    return op_config_why(c, "out of memory");
}

static bool op_config_is_alnum(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static bool op_config_is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Copy a NUL-terminated IP literal s[0..n) out and parse it with
 * inet_pton (never a name lookup). */
static bool op_config_ip_parse(const char *s, size_t n, int af, void *out)
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(af, buf, out) == 1;
}

static bool op_config_is_ip(const char *s, size_t n)
{
    unsigned char a[16];
    return op_config_ip_parse(s, n, AF_INET, a) || op_config_ip_parse(s, n, AF_INET6, a);
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

/* Labels of repeatable properties: [A-Za-z0-9_-]{1,32}. */
static bool op_config_label_ok(const char *s, size_t n)
{
    if (n == 0 || n > OP_CONFIG_LABEL_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!op_config_is_alnum(ch) && ch != '_' && ch != '-')
            return false;
    }
    return true;
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
    size_t o = sizeof(op_config_env_prefix) - 1;
    if (size <= o)
        return false;
    memcpy(out, op_config_env_prefix, o);
    out[o] = '\0';
    return op_config_env_append(property, strlen(property), out, &o, size);
}

/* Two labels are the same when their environment forms are: the
 * environment could not tell them apart. */
static bool op_config_label_same(const char *a, const char *b)
{
    char ea[2 * OP_CONFIG_LABEL_MAX + 1], eb[2 * OP_CONFIG_LABEL_MAX + 1];
    size_t oa = 0, ob = 0;
    if (a == NULL || b == NULL)
        return a == b;
    return op_config_env_append(a, strlen(a), ea, &oa, sizeof(ea)) &&
           op_config_env_append(b, strlen(b), eb, &ob, sizeof(eb)) && strcmp(ea, eb) == 0;
}

/* ---- URLs ---------------------------------------------------------------- */

/* RFC 3986 characters allowed in path, query, fragment and userinfo:
 * unreserved, sub-delims, ':', '@', '/', '?' and '%' (checked apart). */
static bool op_config_url_char_ok(unsigned char ch)
{
    return op_config_is_alnum(ch) || strchr("-._~!$&'()*+,;=:@/?%", ch) != NULL;
}

static bool op_config_url_hexdig(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static bool op_config_url_chars_ok(op_str_t s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (ch == '\0' || !op_config_url_char_ok(ch))
            return false;
        if (ch == '%') {
            if (i + 2 >= s.len || !op_config_url_hexdig((unsigned char)s.ptr[i + 1]) ||
                !op_config_url_hexdig((unsigned char)s.ptr[i + 2]))
                return false;
            i += 2;
        }
    }
    return true;
}

/* authority = [ userinfo "@" ] host [ ":" port ], host a name, a dotted
 * IPv4 or a bracketed IPv6 literal. */
static bool op_config_url_authority(const char *s, size_t n, op_config_url_t *u)
{
    const char *at = memrchr(s, '@', n);
    if (at != NULL) {
        op_str_t ui = {s, (size_t)(at - s)};
        if (!op_config_url_chars_ok(ui) || memchr(ui.ptr, '@', ui.len))
            return false;
        u->has_userinfo = true;
        n -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    if (n == 0)
        return false;
    size_t hend;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL)
            return false;
        u->host = (op_str_t){s + 1, (size_t)(close - s - 1)};
        unsigned char a6[16];
        if (!op_config_ip_parse(u->host.ptr, u->host.len, AF_INET6, a6))
            return false;
        u->host_is_ip = true;
        hend = (size_t)(close - s) + 1;
    } else {
        const char *colon = memchr(s, ':', n);
        hend = colon != NULL ? (size_t)(colon - s) : n;
        u->host = (op_str_t){s, hend};
        if (hend == 0)
            return false;
        bool numeric = true;
        for (size_t i = 0; i < hend; i++) {
            unsigned char ch = (unsigned char)s[i];
            if (!op_config_is_alnum(ch) && ch != '-' && ch != '.')
                return false;
            if (!(ch >= '0' && ch <= '9') && ch != '.')
                numeric = false;
        }
        if (numeric) {
            unsigned char a4[4];
            if (!op_config_ip_parse(s, hend, AF_INET, a4))
                return false;
            u->host_is_ip = true;
        }
    }
    if (hend < n) {
        int64_t port;
        if (s[hend] != ':' || !op_parse_i64(s + hend + 1, n - hend - 1, 1, 65535, &port))
            return false;
        u->port = (int)port;
    }
    return true;
}

bool op_config_url_parse(const char *s, size_t len, op_config_url_t *u)
{
    memset(u, 0, sizeof(*u));
    u->port = -1;
    if (len == 0 || len > OP_CONFIG_URL_MAX ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    size_t i = 1;
    while (i < len &&
           (op_config_is_alnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
        i++;
    if (i == len || s[i] != ':')
        return false;
    u->scheme = (op_str_t){s, i};
    i++;
    const char *hash = memchr(s + i, '#', len - i);
    size_t end = hash != NULL ? (size_t)(hash - s) : len;
    if (hash != NULL) {
        u->has_fragment = true;
        u->fragment = (op_str_t){hash + 1, len - end - 1};
    }
    const char *q = memchr(s + i, '?', end - i);
    size_t hier_end = q != NULL ? (size_t)(q - s) : end;
    if (q != NULL) {
        u->has_query = true;
        u->query = (op_str_t){q + 1, end - hier_end - 1};
    }
    if (hier_end - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        i += 2;
        const char *slash = memchr(s + i, '/', hier_end - i);
        size_t auth_end = slash != NULL ? (size_t)(slash - s) : hier_end;
        u->has_authority = true;
        if (!op_config_url_authority(s + i, auth_end - i, u))
            return false;
        i = auth_end;
    }
    u->path = (op_str_t){s + i, hier_end - i};
    if (!u->has_authority && u->path.len == 0)
        return false;
    return op_config_url_chars_ok(u->path) && op_config_url_chars_ok(u->query) &&
           op_config_url_chars_ok(u->fragment);
}

bool op_config_url_scheme_is(const op_config_url_t *u, const char *scheme)
{
    return u->scheme.len == strlen(scheme) &&
           strncasecmp(u->scheme.ptr, scheme, u->scheme.len) == 0;
}

bool op_config_url_is_loopback(const op_config_url_t *u, bool allow_name)
{
    if (!u->host_is_ip)
        return allow_name && u->host.len == 9 && strncasecmp(u->host.ptr, "localhost", 9) == 0;
    unsigned char a[16];
    if (op_config_ip_parse(u->host.ptr, u->host.len, AF_INET, a))
        return a[0] == 127;
    static const unsigned char v6_loopback[16] = {[15] = 1};
    return op_config_ip_parse(u->host.ptr, u->host.len, AF_INET6, a) &&
           memcmp(a, v6_loopback, sizeof(a)) == 0;
}

/* ---- setters ------------------------------------------------------------- */

#define OP_CONFIG_FIELD(c, p, type) ((type *)(void *)((char *)(c)->cfg + (p)->off))

/* A copy of v in the config's arena, at the property's string field. */
static bool op_config_set_str(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                              const char *v, size_t len)
{
    OP_UNUSED(label);
    char *copy = op_arena_strndup(c->box->arena, v, len);
    if (copy == NULL)
        return op_config_oom(c);
    *OP_CONFIG_FIELD(c, p, const char *) = copy;
    return true;
}

/* An absolute http(s) URL: https, or http with a loopback host; no user
 * info, no fragment. */
static bool op_config_http_url(op_config_ctx_t *c, const char *v, size_t len, op_config_url_t *u)
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

static bool op_config_set_issuer(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                 const char *v, size_t len)
{
    op_config_url_t u;
    if (!op_config_http_url(c, v, len, &u))
        return false;
    if (u.has_query)
        return op_config_why(c, "must not have a query");
    if (u.path.len > 0 && u.path.ptr[u.path.len - 1] == '/')
        return op_config_why(c, "must not end with '/'");
    return op_config_set_str(c, p, label, v, len);
}

static bool op_config_set_endpoint(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                   const char *v, size_t len)
{
    op_config_url_t u;
    return op_config_http_url(c, v, len, &u) && op_config_set_str(c, p, label, v, len);
}

/* Append a token digest (64 hex digits) to list t. */
static bool op_config_add_token(op_config_ctx_t *c, op_config_tokens_t *t, const char *label,
                                const char *v, size_t len)
{
    op_arena_t *a = c->box->arena;
    if (t->hashes == NULL) {
        t->hashes = op_arena_calloc(a, 1 + OP_CONFIG_MAX_LABELS, sizeof(*t->hashes));
        t->labels = op_arena_calloc(a, 1 + OP_CONFIG_MAX_LABELS, sizeof(*t->labels));
        if (t->hashes == NULL || t->labels == NULL)
            return op_config_oom(c);
    }
    if (len != 2 * OP_CONFIG_TOKEN_HASH_BYTES ||
        !op_hex_decode(v, len, t->hashes[t->n], OP_CONFIG_TOKEN_HASH_BYTES))
        return op_config_why(c, "must be 64 hex digits: the SHA-256 of the token");
    if (label != NULL && (t->labels[t->n] = op_arena_strdup(a, label)) == NULL)
        return op_config_oom(c);
    t->n++;
    return true;
}

static bool op_config_set_api_token(op_config_ctx_t *c, const op_config_prop_t *p,
                                    const char *label, const char *v, size_t len)
{
    OP_UNUSED(p);
    return op_config_add_token(c, &c->api, label, v, len);
}

static bool op_config_set_monitor_token(op_config_ctx_t *c, const op_config_prop_t *p,
                                        const char *label, const char *v, size_t len)
{
    OP_UNUSED(p);
    return op_config_add_token(c, &c->monitor, label, v, len);
}

/* An integer in [p->min, p->max] stored with the field's width. */
static bool op_config_set_int(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                              const char *v, size_t len)
{
    OP_UNUSED(label);
    int64_t n;
    if (!op_parse_i64(v, len, p->min, p->max, &n))
        return op_config_why(c, "must be an integer from %lld to %lld%s%s", (long long)p->min,
                             (long long)p->max, p->unit != NULL ? " " : "",
                             p->unit != NULL ? p->unit : "");
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

static bool op_config_set_rsa_bits(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                   const char *v, size_t len)
{
    if (strcmp(v, "2048") != 0 && strcmp(v, "3072") != 0 && strcmp(v, "4096") != 0)
        return op_config_why(c, "must be 2048, 3072 or 4096");
    return op_config_set_int(c, p, label, v, len);
}

static bool op_config_set_path(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                               const char *v, size_t len)
{
    if (len > OP_CONFIG_PATH_MAX)
        return op_config_why(c, "too long (at most %d bytes)", OP_CONFIG_PATH_MAX);
    return op_config_set_str(c, p, label, v, len);
}

static bool op_config_set_ip(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                             const char *v, size_t len)
{
    if (!op_config_is_ip(v, len))
        return op_config_why(c, "must be an IP address (e.g. 127.0.0.1, 0.0.0.0 or ::1)");
    return op_config_set_str(c, p, label, v, len);
}

/*
 * "*", or origins (scheme://host[:port], http or https, no path)
 * separated by blanks; stored joined by one space.
 */
static bool op_config_set_cors(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                               const char *v, size_t len)
{
    OP_UNUSED(p);
    OP_UNUSED(label);
    if (len > OP_CONFIG_URL_MAX * 4)
        return op_config_why(c, "too long (at most %d bytes)", OP_CONFIG_URL_MAX * 4);
    char *out = op_arena_alloc(c->box->arena, len + 1);
    if (out == NULL)
        return op_config_oom(c);
    size_t o = 0, i = 0, count = 0;
    bool star = false;
    while (i < len) {
        while (i < len && op_config_is_blank(v[i]))
            i++;
        size_t start = i;
        while (i < len && !op_config_is_blank(v[i]))
            i++;
        if (i == start)
            break;
        op_str_t tok = {v + start, i - start};
        op_config_url_t u;
        count++;
        if (op_str_eq(tok, "*")) {
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

static bool op_config_set_store_type(op_config_ctx_t *c, const op_config_prop_t *p,
                                     const char *label, const char *v, size_t len)
{
    OP_UNUSED(p);
    OP_UNUSED(label);
    OP_UNUSED(len);
    if (strcmp(v, "memory") == 0)
        c->cfg->storage_kind = OP_STORE_MEMORY;
    else if (strcmp(v, "redis") == 0)
        c->cfg->storage_kind = OP_STORE_REDIS;
    else
        return op_config_why(c, "must be memory or redis");
    return true;
}

/* "ip:port", "[ipv6]:port" or "unix:/absolute/path": never a host name,
 * which hiredis would resolve with a blocking getaddrinfo. */
static bool op_config_set_redis_address(op_config_ctx_t *c, const op_config_prop_t *p,
                                        const char *label, const char *v, size_t len)
{
    if (op_str_has_prefix(v, "unix:")) {
        size_t max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;
        if (len == 5 || v[5] != '/')
            return op_config_why(c, "the socket path must be absolute: unix:/path/redis.sock");
        if (len - 5 > max)
            return op_config_why(c, "the socket path is too long (at most %zu bytes)", max);
        return op_config_set_str(c, p, label, v, len);
    }
    const char *port;
    if (v[0] == '[') {
        const char *close = memchr(v, ']', len);
        unsigned char a6[16];
        if (close == NULL || close[1] != ':')
            return op_config_why(c, "must be ip:port, [ipv6]:port or unix:/path");
        if (!op_config_ip_parse(v + 1, (size_t)(close - v - 1), AF_INET6, a6))
            return op_config_why(c, "[...] must hold an IPv6 address");
        port = close + 2;
    } else {
        const char *colon = memrchr(v, ':', len);
        size_t hl = colon != NULL ? (size_t)(colon - v) : len;
        unsigned char a4[4];
        if (colon != NULL && memchr(v, ':', hl) != NULL)
            return op_config_why(c, "an IPv6 address must be in brackets: [::1]:6379");
        if (!op_config_ip_parse(v, hl, AF_INET, a4))
            return op_config_why(c, "must be an IP address or unix:/path "
                                    "(host names would block the event loop)");
        if (colon == NULL)
            return op_config_why(c, "the port is missing: ip:port");
        port = colon + 1;
    }
    int64_t n;
    if (!op_parse_i64(port, len - (size_t)(port - v), 1, 65535, &n))
        return op_config_why(c, "the port must be an integer from 1 to 65535");
    return op_config_set_str(c, p, label, v, len);
}

static bool op_config_set_password(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                   const char *v, size_t len)
{
    OP_UNUSED(p);
    OP_UNUSED(label);
    if (len > OP_CONFIG_PASSWORD_MAX)
        return op_config_why(c, "too long (at most %d bytes)", OP_CONFIG_PASSWORD_MAX);
    c->box->redis_password = op_arena_strndup(c->box->arena, v, len);
    if (c->box->redis_password == NULL)
        return op_config_oom(c);
    c->cfg->storage_redis_password = c->box->redis_password;
    return true;
}

static bool op_config_set_prefix(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                 const char *v, size_t len)
{
    bool ok = len <= OP_CONFIG_PREFIX_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char ch = (unsigned char)v[i];
        ok = op_config_is_alnum(ch) || ch == ':' || ch == '_' || ch == '-';
    }
    if (!ok)
        return op_config_why(c, "must be at most %d of A-Z a-z 0-9 : _ -", OP_CONFIG_PREFIX_MAX);
    return op_config_set_str(c, p, label, v, len);
}

/* An oct JWK holding 32 bytes: {"kty":"oct","k":"<base64url>"}; other
 * members are ignored. The message never shows the key. */
static bool op_config_set_enc_jwk(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                  const char *v, size_t len)
{
    static const op_json_limits_t lim = {4096, 2, 32};
    OP_UNUSED(p);
    OP_UNUSED(label);
    op_json_t *jwk = NULL;
    op_err_t jerr;
    op_err_clear(&jerr);
    if (op_json_parse(c->tmp, v, len, &lim, &jwk, &jerr) != OP_OK ||
        !op_json_is(jwk, OP_JSON_OBJECT))
        return op_config_why(c, "must be a JSON oct JWK: "
                                "{\"kty\":\"oct\",\"k\":\"<base64url of 32 bytes>\"}");
    if (!op_streq(op_json_get_str(jwk, "kty"), "oct"))
        return op_config_why(c, "\"kty\" must be \"oct\"");
    const char *k = op_json_get_str(jwk, "k");
    uint8_t key[OP_CONFIG_ENC_KEY_BYTES + 16];
    size_t n = 0;
    bool ok = k != NULL && strlen(k) <= 44 && op_b64url_decode(k, strlen(k), key, &n) &&
              n == OP_CONFIG_ENC_KEY_BYTES;
    if (ok)
        memcpy(c->cfg->keys_enc_key, key, OP_CONFIG_ENC_KEY_BYTES);
    explicit_bzero(key, sizeof(key));
    if (!ok)
        return op_config_why(c, "\"k\" must be the base64url (no padding) of 32 bytes");
    return true;
}

bool op_config_jws_alg_ok(op_jws_alg_t alg)
{
    return alg == OP_JWS_RS256 || alg == OP_JWS_PS256 || alg == OP_JWS_ES256 || alg == OP_JWS_EDDSA;
}

/* Comma and/or blank separated list of RS256, PS256, ES256, EdDSA. */
static bool op_config_set_jws_algs(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                   const char *v, size_t len)
{
    OP_UNUSED(p);
    OP_UNUSED(label);
    op_config_t *cfg = c->cfg;
    size_t i = 0;
    cfg->n_id_token_algs = 0;
    while (i < len) {
        while (i < len && (op_config_is_blank(v[i]) || v[i] == ','))
            i++;
        size_t start = i;
        while (i < len && !op_config_is_blank(v[i]) && v[i] != ',')
            i++;
        if (i == start)
            break;
        int show = op_config_show_len(v + start, i - start);
        op_jws_alg_t alg = op_jws_alg_parse(v + start, i - start);
        if (!op_config_jws_alg_ok(alg))
            return op_config_why(c,
                                 "unsupported algorithm \"%.*s\" (use RS256, PS256, ES256, EdDSA)",
                                 show, v + start);
        for (size_t j = 0; j < cfg->n_id_token_algs; j++) {
            if (cfg->id_token_algs[j] == alg)
                return op_config_why(c, "\"%.*s\" is listed twice", show, v + start);
        }
        cfg->id_token_algs[cfg->n_id_token_algs++] = alg;
    }
    if (cfg->n_id_token_algs == 0)
        return op_config_why(c, "must list at least one of RS256, PS256, ES256, EdDSA");
    return true;
}

static bool op_config_set_log_level(op_config_ctx_t *c, const op_config_prop_t *p,
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
        .name = name_, .def = def_, .set = op_config_set_int, .off = OP_CONFIG_OFF(field),         \
        .min = min_, .max = max_, .width = width_, .unit = unit_                                   \
    }

/* Every property: name, default (NULL: none), flags, setter and the field
 * it writes; in the order of examples/tessera.properties. */
static const op_config_prop_t op_config_props[] = {
    {.name = "op.issuer",
     .flags = OP_CONFIG_F_REQUIRED,
     .set = op_config_set_issuer,
     .off = OP_CONFIG_OFF(issuer)},
    {.name = "op.authz.endpoint",
     .flags = OP_CONFIG_F_REQUIRED,
     .set = op_config_set_endpoint,
     .off = OP_CONFIG_OFF(authz_endpoint)},
    {.name = "op.logout.endpoint",
     .set = op_config_set_endpoint,
     .off = OP_CONFIG_OFF(logout_endpoint)},
    {.name = "op.authz.apiAccessTokenSHA256",
     .flags = OP_CONFIG_F_SECRET | OP_CONFIG_F_LABELS,
     .set = op_config_set_api_token},
    {.name = "monitor.apiAccessTokenSHA256",
     .flags = OP_CONFIG_F_SECRET | OP_CONFIG_F_LABELS,
     .set = op_config_set_monitor_token},
    {.name = "op.idToken.jwsAlgs",
     .def = "RS256, ES256, EdDSA, PS256",
     .set = op_config_set_jws_algs},
    {.name = "op.reg.clientsFile", .set = op_config_set_path, .off = OP_CONFIG_OFF(clients_file)},
    {.name = "http.address",
     .def = "127.0.0.1",
     .set = op_config_set_ip,
     .off = OP_CONFIG_OFF(http_address)},
    OP_CONFIG_INT("http.port", "8080", http_port, 0, 65535, OP_CONFIG_W_INT, NULL),
    OP_CONFIG_INT("http.maxBodyBytes", "262144", http_max_body, 1024, 16777216, OP_CONFIG_W_SIZE,
                  "bytes"),
    OP_CONFIG_INT("http.maxHeaderBytes", "16384", http_max_headers, 1024, 1048576, OP_CONFIG_W_SIZE,
                  "bytes"),
    OP_CONFIG_INT("http.idleTimeout", "30", http_idle_timeout_s, 1, 3600, OP_CONFIG_W_INT,
                  "seconds"),
    OP_CONFIG_INT("http.requestTimeout", "10000", http_request_timeout_ms, 100, 600000,
                  OP_CONFIG_W_U64, "milliseconds"),
    {.name = "http.corsOrigins", .def = "*", .set = op_config_set_cors},
    OP_CONFIG_INT("http.shutdownGrace", "10", http_shutdown_grace_s, 0, 600, OP_CONFIG_W_INT,
                  "seconds"),
    {.name = "storage.type", .def = "memory", .set = op_config_set_store_type},
    {.name = "storage.redis.address",
     .set = op_config_set_redis_address,
     .off = OP_CONFIG_OFF(storage_redis_address)},
    {.name = "storage.redis.password", .flags = OP_CONFIG_F_SECRET, .set = op_config_set_password},
    OP_CONFIG_INT("storage.redis.database", "0", storage_redis_database, 0, 15, OP_CONFIG_W_INT,
                  NULL),
    {.name = "storage.prefix",
     .def = "op:",
     .flags = OP_CONFIG_F_EMPTY_OK,
     .set = op_config_set_prefix,
     .off = OP_CONFIG_OFF(storage_prefix)},
    OP_CONFIG_INT("storage.timeout", "2000", storage_timeout_ms, 10, 60000, OP_CONFIG_W_U64,
                  "milliseconds"),
    OP_CONFIG_INT("storage.connectTimeout", "2000", storage_connect_timeout_ms, 10, 60000,
                  OP_CONFIG_W_U64, "milliseconds"),
    OP_CONFIG_INT("storage.backoffMin", "100", storage_backoff_min_ms, 10, 60000, OP_CONFIG_W_U64,
                  "milliseconds"),
    OP_CONFIG_INT("storage.backoffMax", "5000", storage_backoff_max_ms, 10, 600000, OP_CONFIG_W_U64,
                  "milliseconds"),
    {.name = "keyStore.encJWK",
     .flags = OP_CONFIG_F_REQUIRED | OP_CONFIG_F_SECRET,
     .set = op_config_set_enc_jwk},
    OP_CONFIG_INT("keyStore.refreshInterval", "60", keys_refresh_s, 0, 86400, OP_CONFIG_W_INT,
                  "seconds"),
    {.name = "keyStore.rsaBits",
     .def = "2048",
     .set = op_config_set_rsa_bits,
     .off = OP_CONFIG_OFF(keys_rsa_bits),
     .min = 2048,
     .max = 4096,
     .width = OP_CONFIG_W_INT},
    {.name = "log.level", .def = "info", .set = op_config_set_log_level},
};

static const op_config_prop_t *op_config_prop_named(const char *name)
{
    for (size_t i = 0; i < OP_NELEMS(op_config_props); i++) {
        if (strcmp(op_config_props[i].name, name) == 0)
            return &op_config_props[i];
    }
    return NULL;
}

/* ---- errors -------------------------------------------------------------- */

/* Fail with "<where>: <message>", where is "file:line", "environment
 * variable NAME" or the source. */
static int op_config_fail_at(op_config_ctx_t *c, int line, const char *env, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int op_config_fail_at(op_config_ctx_t *c, int line, const char *env, const char *fmt, ...)
{
    char msg[OP_ERR_DESC_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int code = c->oom ? OP_ENOMEM : OP_EINVAL;
    if (env != NULL)
        return OP_ERR(c->err, code, "environment variable %s: %s", env, msg);
    if (line > 0)
        return OP_ERR(c->err, code, "%s:%d: %s", c->source, line, msg);
    return OP_ERR(c->err, code, "%s: %s", c->source, msg);
}

/* "<where>: <property>: "<value>": <why>", the value masked for secrets
 * and cut when long. e is NULL for a default. */
static int op_config_bad_value(op_config_ctx_t *c, const op_config_entry_t *e,
                               const op_config_prop_t *p, const char *label, const char *v,
                               size_t len)
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

/* Levenshtein distance, ignoring ASCII case; a and b at most
 * OP_CONFIG_ENV_MAX bytes. */
static size_t op_config_distance(const char *a, size_t na, const char *b, size_t nb)
{
    size_t row[OP_CONFIG_ENV_MAX + 1];
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t cost = strncasecmp(a + i - 1, b + j - 1, 1) != 0;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

/*
 * The one known name close to key (property names, or their variables
 * when env), into out; false when none is, or when two are equally close.
 */
static bool op_config_suggest(const char *key, size_t klen, bool env, char *out, size_t size)
{
    size_t best = SIZE_MAX;
    bool tie = false;
    if (klen > OP_CONFIG_NAME_MAX)
        return false;
    for (size_t i = 0; i < OP_NELEMS(op_config_props); i++) {
        char cand[OP_CONFIG_ENV_MAX];
        if (env)
            op_config_env_name(op_config_props[i].name, cand, sizeof(cand));
        else
            snprintf(cand, sizeof(cand), "%s", op_config_props[i].name);
        size_t n = strlen(cand);
        size_t d = op_config_distance(key, klen, cand, n);
        if (d > 2 && d * 4 > n)
            continue;
        if (d < best) {
            best = d;
            tie = false;
            snprintf(out, size, "%s", cand);
        } else if (d == best) {
            tie = true;
        }
    }
    return best != SIZE_MAX && !tie;
}

/* ---- collect ------------------------------------------------------------- */

/*
 * Record a value for (p, label); an environment entry (env != NULL)
 * replaces a file entry. Copies everything into the work arena.
 */
static int op_config_put(op_config_ctx_t *c, int line, const char *env, const op_config_prop_t *p,
                         const char *label, size_t llen, const char *v, size_t vlen)
{
    char lab[OP_CONFIG_LABEL_MAX + 1];
    const char *l = NULL;
    if (label != NULL) {
        memcpy(lab, label, llen);
        lab[llen] = '\0';
        l = lab;
    }
    size_t nlabels = 0;
    for (size_t i = 0; i < c->n; i++) {
        op_config_entry_t *e = &c->entries[i];
        if (e->prop != p)
            continue;
        nlabels += e->label != NULL;
        if (!op_config_label_same(e->label, l))
            continue;
        if (env == NULL)
            return op_config_fail_at(c, line, NULL,
                                     "%s%s%s: repeated property (first set on line %d)", p->name,
                                     l ? "." : "", l ? l : "", e->line);
        if (e->env != NULL)
            return op_config_fail_at(c, 0, env, "%s%s%s: also set by %s", p->name, l ? "." : "",
                                     l ? l : "", e->env);
        e->value = op_arena_strndup(c->tmp, v, vlen);
        e->len = vlen;
        e->line = 0;
        e->env = op_arena_strdup(c->tmp, env);
        return e->value != NULL && e->env != NULL ? OP_OK
                                                  : OP_ERR(c->err, OP_ENOMEM, "out of memory");
    }
    if (l != NULL && nlabels >= OP_CONFIG_MAX_LABELS)
        return op_config_fail_at(c, line, env, "%s: too many labelled values (at most %d)", p->name,
                                 OP_CONFIG_MAX_LABELS);
    if (c->n == OP_CONFIG_MAX_ENTRIES)
        return op_config_fail_at(c, line, env, "too many properties");
    op_config_entry_t *e = &c->entries[c->n];
    e->prop = p;
    e->line = line;
    e->len = vlen;
    e->value = op_arena_strndup(c->tmp, v, vlen);
    e->label = l != NULL ? op_arena_strdup(c->tmp, l) : NULL;
    e->env = env != NULL ? op_arena_strdup(c->tmp, env) : NULL;
    if (e->value == NULL || (l != NULL && e->label == NULL) || (env != NULL && e->env == NULL))
        return OP_ERR(c->err, OP_ENOMEM, "out of memory");
    c->n++;
    return OP_OK;
}

/* The property named by a file key: exact, or <name>.<label> for the
 * repeatable ones. */
static int op_config_file_key(op_config_ctx_t *c, int line, const char *key, size_t klen,
                              const char *v, size_t vlen)
{
    for (size_t i = 0; i < OP_NELEMS(op_config_props); i++) {
        const op_config_prop_t *p = &op_config_props[i];
        size_t nl = strlen(p->name);
        if (klen < nl || memcmp(key, p->name, nl) != 0)
            continue;
        if (klen == nl)
            return op_config_put(c, line, NULL, p, NULL, 0, v, vlen);
        if (!(p->flags & OP_CONFIG_F_LABELS) || key[nl] != '.')
            continue;
        size_t llen = klen - nl - 1;
        if (!op_config_label_ok(key + nl + 1, llen))
            return op_config_fail_at(
                c, line, NULL, "%s: bad label \"%.*s\": use 1 to %d of A-Z a-z 0-9 _ -", p->name,
                op_config_show_len(key + nl + 1, llen), key + nl + 1, OP_CONFIG_LABEL_MAX);
        return op_config_put(c, line, NULL, p, key + nl + 1, llen, v, vlen);
    }
    char hint[OP_CONFIG_ENV_MAX];
    bool close = op_config_suggest(key, klen, false, hint, sizeof(hint));
    return op_config_fail_at(c, line, NULL, "unknown property %.*s%s%s%s",
                             op_config_show_len(key, klen), key, close ? "; did you mean " : "",
                             close ? hint : "", close ? "?" : "");
}

/* One line of the file, s..e without the '\n'. */
static int op_config_file_line(op_config_ctx_t *c, int line, const char *s, const char *e)
{
    if (e > s && e[-1] == '\r')
        e--;
    for (const char *q = s; q < e; q++) {
        unsigned char ch = (unsigned char)*q;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return op_config_fail_at(c, line, NULL,
                                     "control character 0x%02x (only tabs are allowed)", ch);
    }
    while (s < e && op_config_is_blank(*s))
        s++;
    if (s == e || *s == '#' || *s == '!')
        return OP_OK;
    if (memchr(s, '\\', (size_t)(e - s)) != NULL)
        return op_config_fail_at(c, line, NULL,
                                 "backslash escapes and line continuations "
                                 "are not supported: write the value as is, on one line");
    const char *key = s;
    while (s < e && !op_config_is_blank(*s) && *s != '=' && *s != ':')
        s++;
    size_t klen = (size_t)(s - key);
    if (klen == 0)
        return op_config_fail_at(c, line, NULL, "missing property name before '%c'", *s);
    while (s < e && op_config_is_blank(*s))
        s++;
    if (s < e && (*s == '=' || *s == ':'))
        s++;
    while (s < e && op_config_is_blank(*s))
        s++;
    while (e > s && op_config_is_blank(e[-1]))
        e--;
    return op_config_file_key(c, line, key, klen, s, (size_t)(e - s));
}

static int op_config_collect_file(op_config_ctx_t *c, const char *text, size_t len)
{
    if (len > OP_CONFIG_MAX_BYTES)
        return OP_ERR(c->err, OP_ETOOBIG, "%s: too large (at most %d bytes)", c->source,
                      OP_CONFIG_MAX_BYTES);
    if (len > 0 && !op_json_utf8_valid(text, len))
        return op_config_fail_at(c, 0, NULL, "not UTF-8 text (or has a NUL byte)");
    const char *end = text + len;
    int line = 0;
    for (const char *s = text; s < end;) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl != NULL ? nl : end;
        int rc = op_config_file_line(c, ++line, s, e);
        if (rc != OP_OK)
            return rc;
        s = nl != NULL ? nl + 1 : end;
    }
    return OP_OK;
}

/* The property of a TESSERA_* variable, and its label. */
static const op_config_prop_t *op_config_env_prop(const char *name, const char **label)
{
    size_t nlen = strlen(name);
    *label = NULL;
    for (size_t i = 0; i < OP_NELEMS(op_config_props); i++) {
        const op_config_prop_t *p = &op_config_props[i];
        char pn[OP_CONFIG_ENV_MAX];
        op_config_env_name(p->name, pn, sizeof(pn));
        size_t pl = strlen(pn);
        if (strcmp(name, pn) == 0)
            return p;
        if ((p->flags & OP_CONFIG_F_LABELS) && nlen > pl + 1 && memcmp(name, pn, pl) == 0 &&
            name[pl] == '_' && op_config_label_ok(name + pl + 1, nlen - pl - 1)) {
            *label = name + pl + 1;
            return p;
        }
    }
    return NULL;
}

static int op_config_collect_env(op_config_ctx_t *c, char *const *envp)
{
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        const char *kv = envp[i];
        if (!op_str_has_prefix(kv, op_config_env_prefix))
            continue;
        const char *eq = strchr(kv, '=');
        size_t nlen = eq != NULL ? (size_t)(eq - kv) : strlen(kv);
        char name[OP_CONFIG_ENV_MAX];
        snprintf(name, sizeof(name), "%.*s", (int)(nlen < sizeof(name) ? nlen : sizeof(name) - 1),
                 kv);
        if (eq == NULL)
            return op_config_fail_at(c, 0, name, "no '=' in the environment entry");
        const char *v = eq + 1;
        size_t vlen = strlen(v);
        bool ok = vlen <= OP_CONFIG_MAX_BYTES && op_json_utf8_valid(v, vlen);
        for (size_t j = 0; ok && j < vlen; j++)
            ok = !(((unsigned char)v[j] < 0x20 && v[j] != '\t') || v[j] == 0x7f);
        if (!ok)
            return op_config_fail_at(c, 0, name,
                                     "the value is too long, not UTF-8 or has control characters");
        const char *label = NULL;
        const op_config_prop_t *p = nlen < sizeof(name) ? op_config_env_prop(name, &label) : NULL;
        if (p == NULL) {
            char hint[OP_CONFIG_ENV_MAX];
            bool close = op_config_suggest(name, strlen(name), true, hint, sizeof(hint));
            return op_config_fail_at(c, 0, name, "unknown setting (no property maps to it)%s%s%s",
                                     close ? "; did you mean " : "", close ? hint : "",
                                     close ? "?" : "");
        }
        int rc = op_config_put(c, 0, name, p, label, label != NULL ? strlen(label) : 0, v, vlen);
        if (rc != OP_OK)
            return rc;
    }
    return OP_OK;
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
    for (size_t i = 0; i < OP_NELEMS(op_config_props); i++) {
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

/* Rules across properties. */
static int op_config_check(op_config_ctx_t *c)
{
    const op_config_t *cfg = c->cfg;
    if (cfg->storage_kind == OP_STORE_REDIS && cfg->storage_redis_address == NULL) {
        const op_config_entry_t *e = op_config_entry_of(c, op_config_prop_named("storage.type"));
        return op_config_fail_at(c, e->line, e->env,
                                 "storage.redis.address: required when "
                                 "storage.type is redis (or set TESSERA_STORAGE_REDIS_ADDRESS)");
    }
    if (cfg->storage_backoff_max_ms < cfg->storage_backoff_min_ms) {
        const op_config_prop_t *pmax = op_config_prop_named("storage.backoffMax");
        const op_config_prop_t *pmin = op_config_prop_named("storage.backoffMin");
        const op_config_entry_t *e = op_config_entry_of(c, pmax);
        if (e != NULL) {
            op_config_why(c, "must be >= storage.backoffMin (%llu)",
                          (unsigned long long)cfg->storage_backoff_min_ms);
            return op_config_bad_value(c, e, pmax, NULL, e->value, e->len);
        }
        e = op_config_entry_of(c, pmin);
        op_config_why(c, "must be <= storage.backoffMax (%llu)",
                      (unsigned long long)cfg->storage_backoff_max_ms);
        return op_config_bad_value(c, e, pmin, NULL, e->value, e->len);
    }
    return OP_OK;
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
        return OP_ERR(c->err, OP_ENOMEM, "out of memory");
    uint8_t demo[OP_CONFIG_ENC_KEY_BYTES];
    op_hex_decode(op_config_demo_enc_key_hex, sizeof(op_config_demo_enc_key_hex) - 1, demo,
                  sizeof(demo));
    if (memcmp(cfg->keys_enc_key, demo, sizeof(demo)) == 0 &&
        (w[n++] = op_arena_printf(c->box->arena,
                                  "DEMO ENCRYPTION KEY CONFIGURED for "
                                  "keyStore.encJWK (published in examples/tessera.properties):"
                                  " anyone can decrypt the stored private keys; never use "
                                  "this configuration in production")) == NULL)
        return OP_ERR(c->err, OP_ENOMEM, "out of memory");
    if (strncasecmp(cfg->issuer, "http:", 5) == 0 &&
        (w[n++] = op_arena_printf(c->box->arena,
                                  "op.issuer %s uses plain http: tokens and "
                                  "cookies travel unencrypted; use https outside local development",
                                  cfg->issuer)) == NULL)
        return OP_ERR(c->err, OP_ENOMEM, "out of memory");
    c->box->warnings = w;
    return OP_OK;
}

/* ---- load, parse, refcount ----------------------------------------------- */

/* Wipe the secrets, then free everything (the box lives in its arena). */
static void op_config_box_free(op_config_box_t *box)
{
    explicit_bzero(box->pub.keys_enc_key, sizeof(box->pub.keys_enc_key));
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
    c.box = arena != NULL ? op_arena_calloc(arena, 1, sizeof(*c.box)) : NULL;
    int rc;
    if (c.tmp == NULL || c.box == NULL) {
        op_arena_free(arena);
        rc = OP_ERR(err, OP_ENOMEM, "out of memory");
        goto out_free_tmp;
    }
    c.box->arena = arena;
    c.box->refs = 1;
    c.cfg = &c.box->pub;
    c.cfg->source = c.source = op_arena_strdup(arena, source);
    if (c.source == NULL) {
        rc = OP_ERR(err, OP_ENOMEM, "out of memory");
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
        rc = OP_ERR(err, OP_ENOMEM, "%s: out of memory", path);
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
