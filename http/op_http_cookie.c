/*
 * http/op_http_cookie.c - Cookie header parsing and Set-Cookie values.
 *
 * The parser follows the server-side grammar of RFC 6265 §4.1.1
 * (cookie-pair *( ";" SP cookie-pair )), and is lenient only where
 * browsers are: any number of spaces (also none) after a ';', and
 * optional whitespace around the whole header. Everything else (a pair
 * without '=', a name that is not a token, bytes outside cookie-octet, a
 * stray or trailing ';') makes the whole header invalid.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/op_http_int.h"

/* cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E. */
static bool op_http_cookie_octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
           (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

/* Length of the cookie-octet run at s[0..len). */
static size_t op_http_cookie_octets(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len && op_http_cookie_octet((unsigned char)s[i]))
        i++;
    return i;
}

/* True when s is a cookie-value: *cookie-octet or DQUOTE *cookie-octet
 * DQUOTE. */
static bool op_http_cookie_value_ok(const char *s, size_t len)
{
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"')
        return op_http_cookie_octets(s + 1, len - 2) == len - 2;
    return op_http_cookie_octets(s, len) == len;
}

static int op_http_cookie_bad(op_err_t *err, size_t k, const char *why)
{
    return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400, "Cookie header: pair #%zu: %s", k,
                        why);
}

/*
 * See http/op_http.h. Names and values are NUL-terminated copies in a;
 * a quoted value is returned without its quotes. Of repeated names the
 * first is kept (found in O(n log n), see op_params_mark_dups).
 */
int op_http_cookie_parse(op_arena_t *a, const char *header, size_t len, op_params_t *out,
                         op_err_t *err)
{
    size_t i = 0, n = 0, cap = 1, ndup = 0;
    op_param_t *items;
    bool *dup;

    out->items = NULL;
    out->n = 0;
    if (header == NULL && len > 0)
        return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400, "missing Cookie header");
    while (len > 0 && (header[len - 1] == ' ' || header[len - 1] == '\t'))
        len--;
    while (i < len && (header[i] == ' ' || header[i] == '\t'))
        i++;
    if (i == len)
        return OP_OK;
    for (size_t k = i; k < len; k++)
        cap += header[k] == ';';
    items = op_arena_calloc(a, cap, sizeof(*items));
    dup = op_arena_calloc(a, cap, sizeof(*dup));
    if (items == NULL || dup == NULL)
        return OP_ERR(err, OP_ETOOBIG, "cookies too large for the request's arena");

    for (;;) {
        const char *name = header + i;
        const char *semi = memchr(name, ';', len - i);
        size_t plen = semi != NULL ? (size_t)(semi - name) : len - i;
        const char *eq = memchr(name, '=', plen);
        op_param_t *it = &items[n++];

        if (eq == NULL)
            return op_http_cookie_bad(err, n, "no '='");
        it->name_len = (size_t)(eq - name);
        it->value_len = plen - it->name_len - 1;
        if (!op_params_is_token(name, it->name_len))
            return op_http_cookie_bad(err, n, "bad name");
        if (!op_http_cookie_value_ok(eq + 1, it->value_len))
            return op_http_cookie_bad(err, n, "bad value");
        if (it->value_len >= 2 && eq[1] == '"') {
            it->value = op_arena_strndup(a, eq + 2, it->value_len - 2);
            it->value_len -= 2;
        } else {
            it->value = op_arena_strndup(a, eq + 1, it->value_len);
        }
        it->name = op_arena_strndup(a, name, it->name_len);
        if (it->name == NULL || it->value == NULL)
            return OP_ERR(err, OP_ETOOBIG, "cookies too large for the request's arena");
        if (semi == NULL)
            break;
        i = (size_t)(semi - header) + 1;
        while (i < len && header[i] == ' ')
            i++;
        if (i == len)
            return op_http_cookie_bad(err, n, "trailing ';'");
    }

    if (op_params_mark_dups(a, items, n, dup, &ndup) != OP_OK)
        return OP_ERR(err, OP_ETOOBIG, "cookies too large for the request's arena");
    if (ndup > 0) {
        size_t kept = 0;

        for (size_t k = 0; k < n; k++) {
            if (!dup[k])
                items[kept++] = items[k];
        }
        n = kept;
    }
    out->items = items;
    out->n = n;
    return OP_OK;
}

/* Path attribute value: av-octets (any CHAR but CTLs and ';'). */
static bool op_http_cookie_path_ok(const char *s)
{
    if (s[0] != '/')
        return false;
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || *s == ';')
            return false;
    }
    return true;
}

/* Canonical SameSite value for s (case-insensitive), NULL if unknown. */
static const char *op_http_cookie_same_site(const char *s)
{
    static const char *const names[] = {"Lax", "Strict", "None"};

    for (size_t i = 0; i < OP_NELEMS(names); i++) {
        if (strcasecmp(s, names[i]) == 0)
            return names[i];
    }
    return NULL;
}

/*
 * See http/op_http.h. attrs may be NULL (Path=/, session cookie, no
 * flags). Beyond bad name or value bytes, NULL also answers attributes a
 * browser would reject: a Path that is not "/..." or has ';' or CTLs, an
 * unknown SameSite, SameSite=None without Secure, and the RFC 6265bis
 * prefixes ("__Secure-" needs Secure; "__Host-" needs Secure and Path=/).
 * A negative max_age makes a session cookie.
 */
char *op_http_cookie_format(op_arena_t *a, const char *name, const char *value,
                            const op_cookie_attrs_t *attrs)
{
    static const op_cookie_attrs_t defaults = {"/", -1, false, false, NULL};
    const char *path, *same_site = NULL;
    char max_age[32] = "";

    if (attrs == NULL)
        attrs = &defaults;
    path = attrs->path != NULL ? attrs->path : "/";
    if (name == NULL || value == NULL || !op_params_is_token(name, strlen(name)) ||
        !op_http_cookie_value_ok(value, strlen(value)) || !op_http_cookie_path_ok(path))
        return NULL;
    if (attrs->same_site != NULL) {
        same_site = op_http_cookie_same_site(attrs->same_site);
        if (same_site == NULL || (strcmp(same_site, "None") == 0 && !attrs->secure))
            return NULL;
    }
    if (op_str_has_prefix(name, "__Secure-") && !attrs->secure)
        return NULL;
    if (op_str_has_prefix(name, "__Host-") && (!attrs->secure || strcmp(path, "/") != 0))
        return NULL;
    if (attrs->max_age >= 0)
        snprintf(max_age, sizeof(max_age), "; Max-Age=%" PRId64, attrs->max_age);
    return op_arena_printf(a, "%s=%s; Path=%s%s%s%s%s%s", name, value, path, max_age,
                           attrs->secure ? "; Secure" : "", attrs->http_only ? "; HttpOnly" : "",
                           same_site != NULL ? "; SameSite=" : "",
                           same_site != NULL ? same_site : "");
}
