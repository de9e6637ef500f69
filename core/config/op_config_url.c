/*
 * core/config/op_config_url.c - strict checks of absolute URIs (RFC 3986) and IP
 * literals, for the URL properties and for client metadata
 * (core/proto/op_client.c). Pure functions: nothing is allocated, the parts of a
 * parsed URI point into the text.
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "core/config/op_config_int.h"

/* Copy a NUL-terminated IP literal s[0..n) out and parse it with
 * inet_pton (never a name lookup). */
bool op_config_url_ip_parse(const char *s, size_t n, int af, void *out)
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(af, buf, out) == 1;
}

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
        if (!op_config_url_ip_parse(u->host.ptr, u->host.len, AF_INET6, a6))
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
            if (!op_config_url_ip_parse(s, hend, AF_INET, a4))
                return false;
            u->host_is_ip = true;
        }
    }
    if (hend < n) {
        int64_t port;
        if (s[hend] != ':' || !op_str_parse_i64(s + hend + 1, n - hend - 1, 1, 65535, &port))
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
    if (op_config_url_ip_parse(u->host.ptr, u->host.len, AF_INET, a))
        return a[0] == 127;
    static const unsigned char v6_loopback[16] = {[15] = 1};
    return op_config_url_ip_parse(u->host.ptr, u->host.len, AF_INET6, a) &&
           memcmp(a, v6_loopback, sizeof(a)) == 0;
}
