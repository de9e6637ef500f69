/*
 * core/base/op_params.c - the strict application/x-www-form-urlencoded
 * and query-string parser, percent-encoding, and the helpers the cookie
 * parser and the request code share (decoding, duplicate detection,
 * tokens).
 *
 * OAuth parameters are case-sensitive and must not repeat (RFC 6749
 * §3.1), so this works on the raw bytes instead of evhttp's query helpers,
 * which decode values but not names, stop at an embedded NUL and return
 * the first of two duplicates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/op.h"
#include "core/base/op_params.h"

const op_params_limits_t op_params_default_limits = {64, 128, 16384};

/* Up to this many items, duplicates are found pairwise. */
#define OP_PARAMS_PAIRWISE_MAX 16
/* Longest parameter name echoed in an error description. */
#define OP_PARAMS_LABEL_MAX 40

int op_params_decode(op_arena_t *a, const char *s, size_t len, bool plus_space, char **out,
                     size_t *out_len)
{
    char *d = op_arena_alloc(a, len + 1);
    size_t j = 0;

    if (d == NULL)
        return OP_ETOOBIG;
    for (size_t i = 0; i < len; i++) {
        uint8_t b;

        if (s[i] == '%') {
            if (len - i < 3 || !op_hex_decode(s + i + 1, 2, &b, 1))
                return OP_EINVAL;
            d[j++] = (char)b;
            i += 2;
        } else if (s[i] == '+' && plus_space) {
            d[j++] = ' ';
        } else {
            d[j++] = s[i];
        }
    }
    d[j] = '\0';
    *out = d;
    *out_len = j;
    return OP_OK;
}

/* tchar of RFC 9110 §5.6.2: ALPHA, DIGIT and 15 marks (alphanumerics,
 * most of any token, are decided without the search). */
static bool op_params_tchar(unsigned char c)
{
    static const char marks[] = "!#$%&'*+-.^_`|~";

    if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
        return true;
    return memchr(marks, c, sizeof(marks) - 1) != NULL;
}

size_t op_params_token_span(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len && op_params_tchar((unsigned char)s[i]))
        i++;
    return i;
}

bool op_params_is_token(const char *s, size_t len)
{
    return len > 0 && op_params_token_span(s, len) == len;
}

static bool op_params_same_name(const op_param_t *x, const op_param_t *y)
{
    return x->name_len == y->name_len && memcmp(x->name, y->name, x->name_len) == 0;
}

/* qsort order: by name bytes, then by position, so that among equal names
 * the first one in the input sorts first. */
static int op_params_cmp(const void *pa, const void *pb)
{
    const op_param_t *x = *(const op_param_t *const *)pa;
    const op_param_t *y = *(const op_param_t *const *)pb;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);

    if (c != 0)
        return c;
    if (x->name_len != y->name_len)
        return x->name_len < y->name_len ? -1 : 1;
    return x < y ? -1 : (x > y ? 1 : 0);
}

int op_params_mark_dups(op_arena_t *a, const op_param_t *items, size_t n, bool *dup, size_t *ndup)
{
    *ndup = 0;
    if (n <= OP_PARAMS_PAIRWISE_MAX) {
        for (size_t i = 1; i < n; i++) {
            for (size_t j = 0; j < i && !dup[i]; j++)
                dup[i] = op_params_same_name(&items[i], &items[j]);
            *ndup += dup[i];
        }
        return OP_OK;
    }
    const op_param_t **idx = op_arena_calloc(a, n, sizeof(*idx));
    if (idx == NULL)
        return OP_ETOOBIG;
    for (size_t i = 0; i < n; i++)
        idx[i] = &items[i];
    qsort(idx, n, sizeof(*idx), op_params_cmp);
    for (size_t k = 1; k < n; k++) {
        if (op_params_same_name(idx[k], idx[k - 1])) {
            dup[idx[k] - items] = true;
            (*ndup)++;
        }
    }
    return OP_OK;
}

/*
 * How an error description names parameter number k (1-based): the name
 * itself when it is short printable ASCII without quotes or backslashes
 * (RFC 6749 §5.2 restricts error_description to those), else "#k".
 */
static const char *op_params_label(const char *name, size_t len, size_t k, char *buf, size_t bufsz)
{
    bool plain = name != NULL && len <= OP_PARAMS_LABEL_MAX;

    for (size_t i = 0; plain && i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        plain = c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' && c != '\'';
    }
    if (plain)
        snprintf(buf, bufsz, "'%.*s'", (int)len, name);
    else
        snprintf(buf, bufsz, "#%zu", k);
    return buf;
}

/* Decode one name or value and check it: well-formed, no NUL, UTF-8, not
 * longer than max once decoded. An error names the parameter (number k,
 * its name when known) the way op_params_label says; the label is made
 * only then, so a good parameter costs no formatting. */
static int op_params_field(op_arena_t *a, const char *raw, size_t len, size_t max, const char *what,
                           const char *name, size_t name_len, size_t k, const char **out,
                           size_t *out_len, op_err_t *err)
{
    char label[OP_PARAMS_LABEL_MAX + 8];
    const char *why;
    char *d;
    int rc;

    if (len / 3 > max)
        goto out_too_long; /* decodes to at least len / 3 bytes */
    rc = op_params_decode(a, raw, len, true, &d, out_len);
    if (rc == OP_ETOOBIG)
        return OP_ERR_OAUTH(err, OP_ETOOBIG, "invalid_request", 400, "parameters too large");
    if (rc != OP_OK) {
        why = "malformed percent-encoding";
        goto out_bad;
    }
    if (memchr(d, '\0', *out_len) != NULL) {
        why = "NUL byte";
        goto out_bad;
    }
    if (!op_json_utf8_valid(d, *out_len)) {
        why = "invalid UTF-8";
        goto out_bad;
    }
    if (*out_len > max)
        goto out_too_long;
    *out = d;
    return OP_OK;
out_bad:
    op_params_label(name, name_len, k, label, sizeof(label));
    return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400, "parameter %s: %s in the %s", label,
                        why, what);
out_too_long:
    op_params_label(name, name_len, k, label, sizeof(label));
    return OP_ERR_OAUTH(err, OP_ETOOBIG, "invalid_request", 400,
                        "parameter %s: %s longer than %zu bytes", label, what, max);
}

/* Number of non-empty '&'-separated pieces of s[0..len). */
static size_t op_params_count(const char *s, size_t len)
{
    size_t n = 0;
    const char *end = s + len;

    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *stop = amp != NULL ? amp : end;

        n += stop > s;
        s = stop + 1;
    }
    return n;
}

/*
 * See http/op_http.h. A limit of 0 in lim means the default for that
 * limit. Every error is invalid_request / 400 (OP_EINVAL, or OP_ETOOBIG
 * over a limit): a form with too many parameters is a bad request, not an
 * oversized body. On failure *out is empty.
 */
int op_params_parse(op_arena_t *a, const char *s, size_t len, const op_params_limits_t *lim,
                    op_params_t *out, op_err_t *err)
{
    const op_params_limits_t *d = &op_params_default_limits;
    size_t max_params = lim != NULL && lim->max_params ? lim->max_params : d->max_params;
    size_t max_name = lim != NULL && lim->max_name_len ? lim->max_name_len : d->max_name_len;
    size_t max_value = lim != NULL && lim->max_value_len ? lim->max_value_len : d->max_value_len;
    char label[OP_PARAMS_LABEL_MAX + 8];
    op_param_t *items;
    bool *dup;
    size_t n = 0, ndup;
    int rc;

    out->items = NULL;
    out->n = 0;
    if (s == NULL && len > 0)
        return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400, "missing parameters");
    if (len == 0)
        return OP_OK;
    size_t count = op_params_count(s, len);
    if (count > max_params)
        return OP_ERR_OAUTH(err, OP_ETOOBIG, "invalid_request", 400,
                            "too many parameters (at most %zu)", max_params);
    if (count == 0)
        return OP_OK;
    items = op_arena_calloc(a, count, sizeof(*items));
    dup = op_arena_calloc(a, count, sizeof(*dup));
    if (items == NULL || dup == NULL)
        return OP_ERR_OAUTH(err, OP_ETOOBIG, "invalid_request", 400, "parameters too large");

    for (const char *p = s, *end = s + len; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *nend = eq != NULL ? eq : stop;
        const char *v = eq != NULL ? eq + 1 : stop;
        op_param_t *it = &items[n];

        if (stop == p) {
            p = stop + 1; /* "a=1&&b=2": empty pieces are skipped */
            continue;
        }
        n++;
        if (nend == p)
            return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400,
                                "parameter #%zu: empty name", n);
        rc = op_params_field(a, p, (size_t)(nend - p), max_name, "name", NULL, 0, n, &it->name,
                             &it->name_len, err);
        if (rc != OP_OK)
            return rc;
        rc = op_params_field(a, v, (size_t)(stop - v), max_value, "value", it->name, it->name_len,
                             n, &it->value, &it->value_len, err);
        if (rc != OP_OK)
            return rc;
        p = stop + 1;
    }

    if (op_params_mark_dups(a, items, n, dup, &ndup) != OP_OK)
        return OP_ERR_OAUTH(err, OP_ETOOBIG, "invalid_request", 400, "parameters too large");
    for (size_t i = 0; ndup > 0 && i < n; i++) {
        if (dup[i]) {
            op_params_label(items[i].name, items[i].name_len, i + 1, label, sizeof(label));
            return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400, "parameter %s repeated",
                                label);
        }
    }
    out->items = items;
    out->n = n;
    return OP_OK;
}

const op_param_t *op_params_find(const op_params_t *p, const char *name)
{
    if (p == NULL || name == NULL)
        return NULL;
    size_t len = strlen(name);
    for (size_t i = 0; i < p->n; i++) {
        if (p->items[i].name_len == len && memcmp(p->items[i].name, name, len) == 0)
            return &p->items[i];
    }
    return NULL;
}

const char *op_params_get(const op_params_t *p, const char *name)
{
    const op_param_t *it = op_params_find(p, name);
    return it != NULL ? it->value : NULL;
}

static bool op_params_unreserved(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/*
 * Percent-encode s[0..len) into a in one exact-size allocation: RFC 3986
 * unreserved bytes are kept, every other byte (space included) becomes
 * %XX, which both form and query decoders read back. NULL over the arena's
 * cap.
 */
char *op_params_urlencode(op_arena_t *a, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    char *out, *o;

    if (s == NULL && len > 0)
        return NULL;
    for (size_t i = 0; i < len; i++)
        n += op_params_unreserved((unsigned char)s[i]) ? 1 : 3;
    out = o = op_arena_alloc(a, n + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (op_params_unreserved(c)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}
