/*
 * examples/login-page/login_page_csrf.c - the page's MACs: the CSRF token
 * of its forms and the signed "continue as" choice of a select_account
 * page.
 *
 * Both are HMAC-SHA256 under the page secret (random per process unless
 * given) and bound to the authorisation session id, so nothing needs
 * storing: a restart only invalidates the forms that are open. They are
 * compared in constant time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "examples/login-page/login_page.h"
#include "keys/op_keys.h"

#define LOGIN_PAGE_CSRF_B64 44 /* base64url of 32 bytes + NUL */

/* base64url(HMAC-SHA256(secret, msg[0..len))) into out. */
static void login_page_csrf_mac(const uint8_t secret[LOGIN_PAGE_SECRET_LEN], const char *msg,
                                size_t len, char out[LOGIN_PAGE_CSRF_B64])
{
    uint8_t mac[32];

    op_hmac_sha256(secret, LOGIN_PAGE_SECRET_LEN, msg, len, mac);
    op_b64url_encode(mac, sizeof(mac), out);
}

char *login_page_csrf_make(op_arena_t *a, const uint8_t secret[LOGIN_PAGE_SECRET_LEN],
                           const char *sid)
{
    char tok[LOGIN_PAGE_CSRF_B64];

    if (sid == NULL)
        return NULL;
    login_page_csrf_mac(secret, sid, strlen(sid), tok);
    return op_arena_strdup(a, tok);
}

bool login_page_csrf_check(const uint8_t secret[LOGIN_PAGE_SECRET_LEN], const char *sid,
                           const char *token)
{
    char want[LOGIN_PAGE_CSRF_B64];

    if (sid == NULL || token == NULL)
        return false;
    login_page_csrf_mac(secret, sid, strlen(sid), want);
    return op_ct_equal(want, strlen(want), token, strlen(token));
}

/* The MAC of an account choice: over "account\n<sid>\n<username>\n<time>". */
static bool login_page_csrf_account_mac(op_arena_t *a, const uint8_t secret[LOGIN_PAGE_SECRET_LEN],
                                        const char *sid, const char *username, int64_t auth_time,
                                        char out[LOGIN_PAGE_CSRF_B64])
{
    const char *msg;

    if (!login_page_form_sid_ok(sid))
        return false;
    msg = op_arena_printf(a, "account\n%s\n%s\n%" PRId64, sid, username, auth_time);
    if (msg == NULL)
        return false;
    login_page_csrf_mac(secret, msg, strlen(msg), out);
    return true;
}

char *login_page_csrf_account_make(op_arena_t *a, const uint8_t secret[LOGIN_PAGE_SECRET_LEN],
                                   const char *sid, const char *username, int64_t auth_time)
{
    char mac[LOGIN_PAGE_CSRF_B64];

    if (!login_page_users_name_ok(username) || auth_time < 0 ||
        !login_page_csrf_account_mac(a, secret, sid, username, auth_time, mac))
        return NULL;
    return op_arena_printf(a, "%s.%" PRId64 ".%s", username, auth_time, mac);
}

/*
 * The value is split from the right (usernames may contain '.'): the MAC
 * after the last dot, the time before it, the username before that.
 */
bool login_page_csrf_account_check(op_arena_t *a, const uint8_t secret[LOGIN_PAGE_SECRET_LEN],
                                   const char *sid, const char *value, const char **username,
                                   int64_t *auth_time)
{
    const char *mac_dot, *time_dot;
    char want[LOGIN_PAGE_CSRF_B64];
    char *name;
    int64_t t;

    if (value == NULL || (mac_dot = strrchr(value, '.')) == NULL || mac_dot == value)
        return false;
    time_dot = mac_dot - 1;
    while (time_dot > value && *time_dot != '.')
        time_dot--;
    if (*time_dot != '.' || time_dot == value ||
        !op_parse_i64(time_dot + 1, (size_t)(mac_dot - time_dot - 1), 0, INT64_MAX, &t))
        return false;
    name = op_arena_strndup(a, value, (size_t)(time_dot - value));
    if (name == NULL || !login_page_users_name_ok(name) ||
        !login_page_csrf_account_mac(a, secret, sid, name, t, want) ||
        !op_ct_equal(want, strlen(want), mac_dot + 1, strlen(mac_dot + 1)))
        return false;
    *username = name;
    *auth_time = t;
    return true;
}
