/*
 * examples/login-page/login_page_csrf.c - the page's MACs: the CSRF token
 * of its forms and the signed "continue as" choice of a select_account
 * page, and the pre-session cookie the tokens are bound to.
 *
 * Each MAC has a key of its own, derived from the page secret (random per
 * process unless given) with libsodium's KDF and a context per purpose,
 * so a value made for one purpose never verifies for another. A form
 * token is bound to the browser's pre-session cookie (a random value set
 * by the page before any session exists), to the form and to the
 * authorisation session: a token an attacker obtained in their own
 * browser is worthless in the victim's, whose cookie they can neither
 * read nor set (OWASP CSRF Prevention Cheat Sheet, "Login CSRF" and
 * "Signed Double-Submit Cookie"). Nothing needs storing: a restart only
 * invalidates the forms that are open. MACs are compared in constant
 * time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "examples/login-page/login_page.h"
#include "keys/op_keys.h"

#define LOGIN_PAGE_CSRF_B64 44 /* base64url of 32 bytes + NUL */

/* One KDF context (8 bytes) per purpose; bump the digit to retire all. */
#define LOGIN_PAGE_CSRF_CTX_FORM    "lpform01"
#define LOGIN_PAGE_CSRF_CTX_ACCOUNT "lpacct01"

_Static_assert(LOGIN_PAGE_SECRET_LEN == crypto_kdf_KEYBYTES, "the page secret is a KDF key");

static const char *const login_page_csrf_forms[] = {"signin", "consent", "logout"};

void login_page_csrf_keys(const uint8_t secret[LOGIN_PAGE_SECRET_LEN], login_page_keys_t *out)
{
    crypto_kdf_derive_from_key(out->form, sizeof(out->form), 1, LOGIN_PAGE_CSRF_CTX_FORM, secret);
    crypto_kdf_derive_from_key(out->account, sizeof(out->account), 1, LOGIN_PAGE_CSRF_CTX_ACCOUNT,
                               secret);
}

/* base64url(HMAC-SHA256(key, msg[0..len))) into out. */
static void login_page_csrf_mac(const uint8_t key[LOGIN_PAGE_SECRET_LEN], const char *msg,
                                size_t len, char out[LOGIN_PAGE_CSRF_B64])
{
    uint8_t mac[32];

    op_keys_crypto_hmac_sha256(key, LOGIN_PAGE_SECRET_LEN, msg, len, mac);
    op_b64url_encode(mac, sizeof(mac), out);
}

char *login_page_csrf_pre_new(op_arena_t *a)
{
    return op_keys_crypto_rand_token(a, LOGIN_PAGE_PRE_BYTES);
}

bool login_page_csrf_pre_ok(const char *pre)
{
    size_t n = pre != NULL ? strlen(pre) : 0;

    return n == op_b64url_encoded_len(LOGIN_PAGE_PRE_BYTES) &&
           strspn(pre, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

/* The token over "<form>\n<pre>\n<sid>"; false when an input is not
 * well formed (the pre-session value and the sid have alphabets without
 * '\n', so the message splits one way only). */
static bool login_page_csrf_token(op_arena_t *a, const login_page_keys_t *k,
                                  login_page_csrf_form_t form, const char *pre, const char *sid,
                                  char out[LOGIN_PAGE_CSRF_B64])
{
    const char *msg;

    if ((unsigned)form >= OP_NELEMS(login_page_csrf_forms) || !login_page_csrf_pre_ok(pre) ||
        (form != LOGIN_PAGE_CSRF_LOGOUT && !login_page_form_sid_ok(sid)))
        return false;
    msg = op_arena_printf(a, "%s\n%s\n%s", login_page_csrf_forms[form], pre,
                          form != LOGIN_PAGE_CSRF_LOGOUT ? sid : "");
    if (msg == NULL)
        return false;
    login_page_csrf_mac(k->form, msg, strlen(msg), out);
    return true;
}

char *login_page_csrf_make(op_arena_t *a, const login_page_keys_t *k, login_page_csrf_form_t form,
                           const char *pre, const char *sid)
{
    char tok[LOGIN_PAGE_CSRF_B64];

    if (!login_page_csrf_token(a, k, form, pre, sid, tok))
        return NULL;
    return op_arena_strdup(a, tok);
}

bool login_page_csrf_check(op_arena_t *a, const login_page_keys_t *k, login_page_csrf_form_t form,
                           const char *pre, const char *sid, const char *token)
{
    char want[LOGIN_PAGE_CSRF_B64];

    if (token == NULL || !login_page_csrf_token(a, k, form, pre, sid, want))
        return false;
    return op_keys_crypto_ct_equal(want, strlen(want), token, strlen(token));
}

/* The MAC of an account choice: over "account\n<sid>\n<username>\n<time>". */
static bool login_page_csrf_account_mac(op_arena_t *a, const login_page_keys_t *k, const char *sid,
                                        const char *username, int64_t auth_time,
                                        char out[LOGIN_PAGE_CSRF_B64])
{
    const char *msg;

    if (!login_page_form_sid_ok(sid))
        return false;
    msg = op_arena_printf(a, "account\n%s\n%s\n%" PRId64, sid, username, auth_time);
    if (msg == NULL)
        return false;
    login_page_csrf_mac(k->account, msg, strlen(msg), out);
    return true;
}

char *login_page_csrf_account_make(op_arena_t *a, const login_page_keys_t *k, const char *sid,
                                   const char *username, int64_t auth_time)
{
    char mac[LOGIN_PAGE_CSRF_B64];

    if (!login_page_users_name_ok(username) || auth_time < 0 ||
        !login_page_csrf_account_mac(a, k, sid, username, auth_time, mac))
        return NULL;
    return op_arena_printf(a, "%s.%" PRId64 ".%s", username, auth_time, mac);
}

/*
 * The value is split from the right (usernames may contain '.'): the MAC
 * after the last dot, the time before it, the username before that.
 */
bool login_page_csrf_account_check(op_arena_t *a, const login_page_keys_t *k, const char *sid,
                                   const char *value, const char **username, int64_t *auth_time)
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
        !op_str_parse_i64(time_dot + 1, (size_t)(mac_dot - time_dot - 1), 0, INT64_MAX, &t))
        return false;
    name = op_arena_strndup(a, value, (size_t)(time_dot - value));
    if (name == NULL || !login_page_users_name_ok(name) ||
        !login_page_csrf_account_mac(a, k, sid, name, t, want) ||
        !op_keys_crypto_ct_equal(want, strlen(want), mac_dot + 1, strlen(mac_dot + 1)))
        return false;
    *username = name;
    *auth_time = t;
    return true;
}
