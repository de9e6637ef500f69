/*
 * core/proto/op_client_redirect.c - does a request's redirect_uri name one of a
 * client's registered redirect URIs (RFC 6749 §3.1.2.3, OIDC Core
 * §3.1.2.1, RFC 8252 §7.3)? Pure: nothing is allocated.
 */
#include <string.h>

#include "core/proto/op_client.h"

/*
 * The two parts of an http loopback IP literal URI around its port:
 * s[0..*head) is "http://" and the host (with the brackets of an IPv6
 * literal), s[*tail..len) the path and query. false for any other URI
 * (https, a name such as localhost, user info, a fragment).
 */
static bool op_client_redirect_loopback(const char *s, size_t len, size_t *head, size_t *tail)
{
    op_config_url_t u;
    if (!op_config_url_parse(s, len, &u) || !op_config_url_scheme_is(&u, "http") ||
        !u.has_authority || u.has_userinfo || u.has_fragment || !u.host_is_ip ||
        !op_config_url_is_loopback(&u, false))
        return false;
    *head = (size_t)(u.host.ptr - s) + u.host.len + (s[u.host.ptr - s - 1] == '[');
    *tail = (size_t)(u.path.ptr - s);
    return true;
}

/* uri[0..len) and the registered r, equal but for the port. */
static bool op_client_redirect_any_port(const char *r, const char *uri, size_t len)
{
    size_t rh, rt, uh, ut, rlen = strlen(r);
    if (!op_client_redirect_loopback(r, rlen, &rh, &rt) ||
        !op_client_redirect_loopback(uri, len, &uh, &ut))
        return false;
    return rh == uh && memcmp(r, uri, rh) == 0 && rlen - rt == len - ut &&
           memcmp(r + rt, uri + ut, len - ut) == 0;
}

bool op_client_redirect_match(const op_client_t *c, const char *uri, size_t len)
{
    if (memchr(uri, '\0', len) != NULL)
        return false;
    for (size_t i = 0; i < c->redirect_uris.n; i++) {
        const char *r = c->redirect_uris.items[i];
        if (strlen(r) == len && memcmp(r, uri, len) == 0)
            return true;
        if (c->application_type == OP_CLIENT_APP_NATIVE && op_client_redirect_any_port(r, uri, len))
            return true;
    }
    return false;
}
