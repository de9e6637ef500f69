/*
 * examples/login-page/login_page_site.c - the page as a web origin: its
 * public origin, the names and attributes of its cookies, and the check
 * that a POST comes from one of its own pages.
 *
 * The origin comes from configuration (--public-url), never from the
 * request's Host. Over https the cookies carry the "__Host-" prefix
 * (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain), so neither a sibling
 * subdomain nor a network attacker on plain http can plant one; over
 * plain http (the demo, the tests) the same cookies go without the prefix
 * and without Secure, which browsers would refuse there.
 *
 * The request check is one layer of the login CSRF defence (OWASP CSRF
 * Prevention Cheat Sheet, "Login CSRF"); the other is the form token
 * bound to the pre-session cookie (login_page_csrf.c), which still holds
 * when a browser sends none of the headers looked at here.
 */
#include <ctype.h>
#include <string.h>

#include "examples/login-page/login_page.h"

/* The default port of the origin's scheme, as ":80" / ":443". */
static const char *login_page_site_default_port(bool https)
{
    return https ? ":443" : ":80";
}

/*
 * origin = the scheme, host and port of public_url, lowercased, without
 * the scheme's default port (RFC 6454 §6.1: what browsers send in
 * Origin). Nothing may follow but one "/".
 */
int login_page_site_init(op_arena_t *a, const char *public_url, login_page_site_t *out,
                         op_err_t *err)
{
    char *origin = login_page_answer_origin(a, public_url);
    const char *dport;
    size_t n;

    memset(out, 0, sizeof(*out));
    if (origin == NULL ||
        !(op_str_has_prefix(origin, "http://") || op_str_has_prefix(origin, "https://")))
        return OP_ERR(err, OP_EINVAL, "expected an http(s) URL of an origin, got \"%s\"",
                      public_url != NULL ? public_url : "");
    n = strlen(origin);
    if (public_url[n] != '\0' && strcmp(public_url + n, "/") != 0)
        return OP_ERR(err, OP_EINVAL, "expected an origin with no path, query or fragment");
    for (size_t i = 0; i < n; i++)
        origin[i] = (char)tolower((unsigned char)origin[i]);
    out->https = op_str_has_prefix(origin, "https://");
    dport = login_page_site_default_port(out->https);
    if (n > strlen(dport) && strcmp(origin + n - strlen(dport), dport) == 0)
        origin[n - strlen(dport)] = '\0';
    out->origin = origin;
    out->cookie_session =
        out->https ? "__Host-" LOGIN_PAGE_COOKIE_SESSION : LOGIN_PAGE_COOKIE_SESSION;
    out->cookie_pre = out->https ? "__Host-" LOGIN_PAGE_COOKIE_PRE : LOGIN_PAGE_COOKIE_PRE;
    return OP_OK;
}

/* HttpOnly, SameSite=Lax, Path=/, no Domain, a browser-session cookie;
 * Secure over https. op_http_cookie_format refuses a "__Host-" cookie
 * without Secure and Path=/. */
char *login_page_site_cookie(op_arena_t *a, const login_page_site_t *site, const char *name,
                             const char *value)
{
    op_cookie_attrs_t attrs = {
        .path = "/",
        .max_age = value != NULL ? -1 : 0,
        .secure = site->https,
        .http_only = true,
        .same_site = "Lax",
    };

    return op_http_cookie_format(a, name, value != NULL ? value : "", &attrs);
}

/*
 * In order: Fetch Metadata (W3C Fetch Metadata Request Headers §2.1)
 * when present must say same-origin; an Origin (RFC 6454 §7, Fetch
 * §3.1) when present must be ours - "null" included, which a browser
 * sends for sandboxed or privacy-sensitive contexts; with neither, a
 * Referer must be one of our URLs. A request with none of the three
 * passes on to the token check.
 */
const char *login_page_site_check(op_arena_t *a, const login_page_site_t *site,
                                  const char *fetch_site, const char *origin, const char *referer)
{
    const char *ref_origin;

    if (fetch_site != NULL && strcmp(fetch_site, "same-origin") != 0)
        return "Sec-Fetch-Site is not same-origin";
    if (origin != NULL)
        return strcmp(origin, site->origin) == 0 ? NULL : "Origin is not the page's own";
    if (fetch_site != NULL || referer == NULL)
        return NULL;
    ref_origin = login_page_answer_origin(a, referer);
    if (ref_origin == NULL || strcmp(ref_origin, site->origin) != 0)
        return "Referer is not one of the page's own";
    return NULL;
}
