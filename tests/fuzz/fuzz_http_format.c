/*
 * tests/fuzz/fuzz_http_format.c - libFuzzer target for what http/ writes
 * from hostile bytes: Set-Cookie values (op_http_cookie_format), percent-
 * encoding (op_params_urlencode) and error answers with their
 * WWW-Authenticate challenge (op_http_reply_error_build); and the form
 * that the token endpoint rebuilds from the bytes of Basic credentials
 * (core/proto/op_client_auth.c).
 *
 * Input: a byte of choices (cookie flags, the error's OAuth code and
 * status), two bytes of Max-Age, then length-prefixed strings: cookie
 * name, value, Path and SameSite, then the rest as raw bytes for the
 * encoder and as the error description. The rules:
 *  - a cookie formats exactly when RFC 6265 §4.1.1 allows its name
 *    (token), value (cookie-octets, maybe quoted) and Path (CHAR but CTLs
 *    and ';', starting with '/'), SameSite is Lax, Strict or None (None
 *    only with Secure), and the __Secure- / __Host- prefixes have what
 *    RFC 6265bis §4.1.3 asks; the result is "name=value; Path=...", one
 *    "; " per attribute, no control byte, and its pair parses back;
 *  - op_params_urlencode writes only unreserved bytes and %XX, which decode
 *    back to exactly the input (NUL included);
 *  - an error answer has a 4xx/5xx status, a JSON body that parses and
 *    names the error, an error_description of RFC 6749 §5.2 bytes only,
 *    the same as the description when that is clean and fits; a 401
 *    invalid_token (only that) has the RFC 6750 §3 challenge, without
 *    control bytes, carrying the same description quoted.
 * Any broken rule aborts.
 *
 *   make build/fuzz/fuzz_http_format
 *   build/fuzz/fuzz_http_format CORPUS_COPY   (seeds: tests/fuzz/corpus/http_format)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/proto/op_client_auth.h"
#include "http/op_http_int.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 9110 §5.6.2 tchar. */
static bool fuzz_http_format_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 6265 §4.1.1 cookie-octet. */
static bool fuzz_http_format_octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
           (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static bool fuzz_http_format_all(const char *s, size_t len, bool (*ok)(unsigned char))
{
    for (size_t i = 0; i < len; i++) {
        if (!ok((unsigned char)s[i]))
            return false;
    }
    return true;
}

static bool fuzz_http_format_path_byte(unsigned char c)
{
    return c >= 0x20 && c <= 0x7e && c != ';';
}

static bool fuzz_http_format_no_ctl(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    }
    return true;
}

static void fuzz_http_format_cookie(op_arena_t *a, const char *name, const char *value,
                                    const char *path, const char *same_site, uint8_t flags,
                                    int64_t max_age)
{
    const op_cookie_attrs_t attrs = {path[0] != '\0' || (flags & 8) ? path : NULL, max_age,
                                     flags & 1, flags & 2, flags & 4 ? same_site : NULL};
    const char *p = attrs.path != NULL ? attrs.path : "/";
    size_t vl = strlen(value);
    bool quoted = vl >= 2 && value[0] == '"' && value[vl - 1] == '"';
    bool none = attrs.same_site != NULL && strcasecmp(attrs.same_site, "None") == 0;
    bool ok = name[0] != '\0' && fuzz_http_format_all(name, strlen(name), fuzz_http_format_tchar) &&
              (quoted ? fuzz_http_format_all(value + 1, vl - 2, fuzz_http_format_octet)
                      : fuzz_http_format_all(value, vl, fuzz_http_format_octet)) &&
              p[0] == '/' && fuzz_http_format_all(p, strlen(p), fuzz_http_format_path_byte) &&
              (attrs.same_site == NULL || none || strcasecmp(attrs.same_site, "Lax") == 0 ||
               strcasecmp(attrs.same_site, "Strict") == 0) &&
              (!none || attrs.secure) && (strncmp(name, "__Secure-", 9) != 0 || attrs.secure) &&
              (strncmp(name, "__Host-", 7) != 0 || (attrs.secure && strcmp(p, "/") == 0));
    char *set = op_http_cookie_format(a, name, value, &attrs);

    if ((set != NULL) != ok)
        abort();
    if (set == NULL)
        return;
    char *head = op_arena_printf(a, "%s=%s; Path=%s", name, value, p);
    size_t semis = 1 + (max_age >= 0) + attrs.secure + attrs.http_only + (attrs.same_site != NULL);
    size_t n = 0;
    op_params_t back;
    op_err_t err;

    if (head == NULL || strncmp(set, head, strlen(head)) != 0 || !fuzz_http_format_no_ctl(set))
        abort();
    for (const char *c = set; (c = strstr(c, "; ")) != NULL; c += 2)
        n++;
    if (n != semis || strchr(set, ';') - set != (long)(strlen(name) + 1 + vl))
        abort();
    if ((attrs.secure != (strstr(set, "; Secure") != NULL)) ||
        (attrs.http_only != (strstr(set, "; HttpOnly") != NULL)))
        abort();
    if (op_http_cookie_parse(a, set, (size_t)(strchr(set, ';') - set), &back, &err) != OP_OK ||
        back.n != 1 || strcmp(back.items[0].name, name) != 0 ||
        strncmp(back.items[0].value, value + quoted, vl - 2 * quoted) != 0 ||
        back.items[0].value_len != vl - 2 * quoted)
        abort();
}

static void fuzz_http_format_urlencode(op_arena_t *a, const char *s, size_t len)
{
    char *enc = op_params_urlencode(a, s, len);
    size_t k = 0;

    if (enc == NULL)
        abort();
    for (const char *e = enc; *e != '\0'; k++) {
        unsigned char c;
        if (*e == '%') {
            int hi = fuzz_check_hex(e[1]), lo = hi >= 0 ? fuzz_check_hex(e[2]) : -1;
            if (lo < 0)
                abort();
            c = (unsigned char)(hi << 4 | lo);
            if (fuzz_check_unreserved(c))
                abort(); /* unreserved bytes stay as they are */
            e += 3;
        } else if (fuzz_check_unreserved((unsigned char)*e)) {
            c = (unsigned char)*e++;
        } else {
            abort();
        }
        if (k >= len || (unsigned char)s[k] != c)
            abort();
    }
    if (k != len)
        abort();
}

/* RFC 6749 §5.2 error_description bytes. */
static bool fuzz_http_format_desc_byte(unsigned char c)
{
    return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
}

static void fuzz_http_format_error(op_arena_t *a, const char *desc, uint8_t choice)
{
    static const char *const codes[] = {"invalid_token", "invalid_request", "insufficient_scope",
                                        NULL};
    static const int statuses[] = {401, 400, 403, 503, 200, 600, 0, -1};
    const char *code = codes[choice & 3];
    op_http_error_reply_t r;
    op_json_t *v;
    op_err_t err, e;

    op_err_clear(&e);
    OP_ERR_OAUTH(&e, (choice & 0x80) ? OP_OK : OP_EDENIED, code, statuses[(choice >> 2) & 7], "%s",
                 desc);
    op_http_reply_error_build(a, &e, &r);
    bool named = e.code != OP_OK && e.oauth_error != NULL; /* else server_error */
    int status = named && e.http_status >= 400 && e.http_status <= 599 ? e.http_status : 500;
    if (r.status != status || op_json_parse(a, r.json, r.len, NULL, &v, &err) != OP_OK ||
        !op_str_eq(op_json_get_str(v, "error"), named ? e.oauth_error : "server_error"))
        abort();
    const char *sent = op_json_get_str(v, "error_description");
    if (sent != NULL &&
        (sent[0] == '\0' || !fuzz_http_format_all(sent, strlen(sent), fuzz_http_format_desc_byte)))
        abort();
    if (named &&
        fuzz_http_format_all(e.description, strlen(e.description), fuzz_http_format_desc_byte) &&
        !op_str_eq(e.description[0] != '\0' ? e.description : NULL, sent))
        abort(); /* a clean description goes out as it is */
    if ((r.challenge != NULL) !=
        (status == 401 && named && op_str_eq(e.oauth_error, "invalid_token")))
        abort();
    if (r.challenge != NULL) {
        char *want = op_arena_printf(a, "Bearer error=\"invalid_token\"%s%s%s",
                                     sent != NULL ? ", error_description=\"" : "",
                                     sent != NULL ? sent : "", sent != NULL ? "\"" : "");
        if (want == NULL || strcmp(r.challenge, want) != 0 || !fuzz_http_format_no_ctl(r.challenge))
            abort();
    }
}

/* The lookup of op_client_auth_check: records the client_id asked for;
 * no client is known. */
static const op_client_t *fuzz_http_format_lookup(const void *arg, const char *client_id)
{
    *(const char **)arg = client_id;
    return NULL;
}

/* One part of the credentials, form-decoded; NULL when it does not
 * decode to valid UTF-8 without NUL. */
static const char *fuzz_http_format_form_part(op_arena_t *a, const char *s, size_t len)
{
    char *out;
    size_t n;

    if (op_params_decode(a, s, len, true, &out, &n) != OP_OK || !op_json_utf8_valid(out, n))
        return NULL;
    return out;
}

static void fuzz_http_format_basic(op_arena_t *a, const char *raw, size_t len)
{
    char *b64 = op_arena_alloc(a, sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL));
    const op_params_t form = {NULL, 0};
    const op_client_t *c = NULL;
    const char *asked = NULL, *id = NULL;
    op_err_t err;

    if (b64 == NULL)
        abort();
    sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL),
                      (const unsigned char *)raw, len, sodium_base64_VARIANT_ORIGINAL);
    char *hdr = op_arena_printf(a, "Basic %s", b64);
    const char *colon = memchr(raw, ':', len);
    if (hdr == NULL)
        abort();
    if (len > 0 && strlen(b64) <= 2048 && colon != NULL && memchr(raw, '\0', len) == NULL &&
        memchr(raw, '&', len) == NULL &&
        fuzz_http_format_form_part(a, colon + 1, len - (size_t)(colon + 1 - raw)) != NULL)
        id = fuzz_http_format_form_part(a, raw, (size_t)(colon - raw));
    if (id != NULL && (id[0] == '\0' || strlen(id) > OP_CLIENT_ID_MAX))
        id = NULL;
    op_err_clear(&err);
    if (op_client_auth_check(a, hdr, &form, fuzz_http_format_lookup, &asked, &c, &err) !=
            OP_EDENIED ||
        c != NULL || !op_str_eq(err.oauth_error, "invalid_client") || err.http_status != 401 ||
        !op_str_eq(asked, id))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;

    if (size < 3)
        return 0;
    op_arena_t *a = op_arena_new(16u << 20);
    if (a == NULL)
        return 0;
    uint8_t choice = *p++;
    int64_t max_age = (int16_t)(p[0] | p[1] << 8);
    p += 2;
    char *name = fuzz_check_string(a, &p, end);
    char *value = fuzz_check_string(a, &p, end);
    char *path = fuzz_check_string(a, &p, end);
    char *same_site = fuzz_check_string(a, &p, end);
    char *rest = op_arena_strndup(a, (const char *)p, (size_t)(end - p));
    if (rest == NULL)
        abort();

    fuzz_http_format_cookie(a, name, value, path, same_site, choice, max_age);
    fuzz_http_format_urlencode(a, rest, (size_t)(end - p));
    fuzz_http_format_error(a, rest, choice);
    fuzz_http_format_basic(a, rest, (size_t)(end - p));
    op_arena_free(a);
    return 0;
}
