/*
 * Unit tests: examples/login-page (all but main): keys, the pre-session
 * cookie, CSRF tokens and the signed account choice, the site (origin,
 * cookie attributes, same-origin check of POSTs), HTML escaping and pages, the page's own
 * forms, reading the authorisation session API's answers, origins for
 * the CSP, users.json, and the password-check worker pool.
 */
#include <sodium.h>

#include "examples/login-page/login_page.h"
#include "keys/op_keys.h"
#include "tests/unit/op_test.h"

static const uint8_t test_secret[LOGIN_PAGE_SECRET_LEN] = {
    1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static op_arena_t *test_arena(void)
{
    op_arena_t *a = op_arena_new(8u << 20);

    OP_CHECK(a != NULL);
    return a;
}

static op_params_t test_params(op_arena_t *a, const char *s)
{
    op_params_t p;

    OP_CHECK_INT(op_params_parse(a, s, strlen(s), NULL, &p, NULL), OP_OK);
    return p;
}

static const op_json_t *test_json(op_arena_t *a, const char *s)
{
    op_json_t *j = NULL;

    OP_CHECK_INT(op_json_parse(a, s, strlen(s), NULL, &j, NULL), OP_OK);
    return j;
}

/* ---- CSRF ---------------------------------------------------------------- */

static const char test_pre[] = "pre0123456789abcdefghijklmnopqrstuvwxyzABCD"; /* 43 */
static const char test_pre_other[] = "attacker_s_own_pre_session_cookie_value_xyz";

static login_page_keys_t test_keys(void)
{
    login_page_keys_t k;

    login_page_csrf_keys(test_secret, &k);
    return k;
}

/* One key per purpose: the form key and the account key are libsodium
 * KDF subkeys of the page secret under contexts of their own, different
 * from each other and from the secret. */
static void test_csrf_keys(void)
{
    login_page_keys_t k = test_keys();
    uint8_t want[32];

    crypto_kdf_derive_from_key(want, sizeof(want), 1, "lpform01", test_secret);
    OP_CHECK(memcmp(k.form, want, 32) == 0);
    crypto_kdf_derive_from_key(want, sizeof(want), 1, "lpacct01", test_secret);
    OP_CHECK(memcmp(k.account, want, 32) == 0);
    OP_CHECK(memcmp(k.form, k.account, 32) != 0);
    OP_CHECK(memcmp(k.form, test_secret, 32) != 0);
    OP_CHECK(memcmp(k.account, test_secret, 32) != 0);
}

/* The pre-session value: 32 random bytes, base64url (RFC 4648 §5). */
static void test_csrf_pre(void)
{
    op_arena_t *a = test_arena();
    char *v = login_page_csrf_pre_new(a);
    char *w = login_page_csrf_pre_new(a);

    OP_CHECK(v != NULL && w != NULL && strlen(v) == 43 && strcmp(v, w) != 0);
    OP_CHECK(login_page_csrf_pre_ok(v));
    OP_CHECK(login_page_csrf_pre_ok(test_pre));
    OP_CHECK(!login_page_csrf_pre_ok(NULL));
    OP_CHECK(!login_page_csrf_pre_ok(""));
    OP_CHECK(!login_page_csrf_pre_ok("short"));
    OP_CHECK(!login_page_csrf_pre_ok("pre0123456789abcdefghijklmnopqrstuvwxyzABC=")); /* '=' */
    OP_CHECK(!login_page_csrf_pre_ok("pre0123456789abcdefghijklmnopqrstuvwxyzABCDE"));
    op_arena_free(a);
}

/*
 * Login CSRF (OWASP CSRF Prevention Cheat Sheet, "Login CSRF", "Signed
 * Double-Submit Cookie"): the token is base64url(HMAC-SHA256(form key,
 * "<form>\n<pre>\n<sid>")), bound to the browser's pre-session cookie. A
 * token the attacker got for their own cookie is refused with the
 * victim's; so is one for another sid, another form, or no cookie.
 */
static void test_csrf_token_bound_to_cookie(void)
{
    op_arena_t *a = test_arena();
    login_page_keys_t k = test_keys(), other = k;
    const char *msg = op_arena_printf(a, "signin\n%s\nsid-1", test_pre);
    uint8_t mac[32];
    char want[44];
    char *t = login_page_csrf_make(a, &k, LOGIN_PAGE_CSRF_SIGNIN, test_pre, "sid-1");
    char *attacker = login_page_csrf_make(a, &k, LOGIN_PAGE_CSRF_SIGNIN, test_pre_other, "sid-1");

    OP_CHECK(t != NULL && strlen(t) == 43 && attacker != NULL);
    crypto_auth_hmacsha256(mac, (const unsigned char *)msg, strlen(msg), k.form);
    op_b64url_encode(mac, sizeof(mac), want);
    OP_CHECK_STR(t, want);
    OP_CHECK(login_page_csrf_check(a, &k, LOGIN_PAGE_CSRF_SIGNIN, test_pre, "sid-1", t));
    /* the attacker's token (their sid, their cookie) in the victim's browser */
    OP_CHECK(!login_page_csrf_check(a, &k, LOGIN_PAGE_CSRF_SIGNIN, test_pre, "sid-1", attacker));
    OP_CHECK(!login_page_csrf_check(a, &k, LOGIN_PAGE_CSRF_SIGNIN, test_pre_other, "sid-1", t));
    /* no pre-session cookie, or a malformed one */
    OP_CHECK(!login_page_csrf_check(a, &k, LOGIN_PAGE_CSRF_SIGNIN, NULL, "sid-1", t));
    OP_CHECK(!login_page_csrf_check(a, &k, LOGIN_PAGE_CSRF_SIGNIN, "", "sid-1", t));
    OP_CHECK(login_page_csrf_make(a, &k, LOGIN_PAGE_CSRF_SIGNIN, "x\ny", "sid-1") == NULL);
    /* another sid, form or key */
    OP_CHECK(!login_page_csrf_check(a, &k, LOGIN_PAGE_CSRF_SIGNIN, test_pre, "sid-2", t));
    OP_CHECK(!login_page_csrf_check(a, &k, LOGIN_PAGE_CSRF_CONSENT, test_pre, "sid-1", t));
    other.form[0] ^= 1;
    OP_CHECK(!login_page_csrf_check(a, &other, LOGIN_PAGE_CSRF_SIGNIN, test_pre, "sid-1", t));
    /* malformed tokens and sids */
    OP_CHECK(!login_page_csrf_check(a, &k, LOGIN_PAGE_CSRF_SIGNIN, test_pre, "sid-1", ""));
    OP_CHECK(!login_page_csrf_check(a, &k, LOGIN_PAGE_CSRF_SIGNIN, test_pre, "sid-1", NULL));
    OP_CHECK(!login_page_csrf_check(a, &k, LOGIN_PAGE_CSRF_SIGNIN, test_pre, NULL, t));
    OP_CHECK(login_page_csrf_make(a, &k, LOGIN_PAGE_CSRF_SIGNIN, test_pre, "a\nb") == NULL);
    t[0] = t[0] == 'A' ? 'B' : 'A';
    OP_CHECK(!login_page_csrf_check(a, &k, LOGIN_PAGE_CSRF_SIGNIN, test_pre, "sid-1", t));
    t[0] = want[0];
    t[42] = '\0';
    OP_CHECK(!login_page_csrf_check(a, &k, LOGIN_PAGE_CSRF_SIGNIN, test_pre, "sid-1", t));
    /* the logout form has no sid */
    t = login_page_csrf_make(a, &k, LOGIN_PAGE_CSRF_LOGOUT, test_pre, NULL);
    OP_CHECK(t != NULL);
    OP_CHECK(login_page_csrf_check(a, &k, LOGIN_PAGE_CSRF_LOGOUT, test_pre, NULL, t));
    OP_CHECK(!login_page_csrf_check(a, &k, LOGIN_PAGE_CSRF_LOGOUT, test_pre_other, NULL, t));
    op_arena_free(a);
}

/* The "continue as" choice: signed with the account key, bound to the
 * authz session, the username and the auth_time; usernames may contain
 * dots. A value signed with the form key does not pass. */
static void test_csrf_account(void)
{
    op_arena_t *a = test_arena();
    login_page_keys_t k = test_keys(), swapped = k, zero;
    const char *name = NULL;
    int64_t t = 0;
    char *v = login_page_csrf_account_make(a, &k, "sid-1", "a.b@x", 1800000000);
    char *forged;

    OP_CHECK(v != NULL);
    OP_CHECK(login_page_csrf_account_check(a, &k, "sid-1", v, &name, &t));
    OP_CHECK_STR(name, "a.b@x");
    OP_CHECK_INT(t, 1800000000);
    /* another authz session, key, name or time */
    OP_CHECK(!login_page_csrf_account_check(a, &k, "sid-2", v, &name, &t));
    memset(&zero, 0, sizeof(zero));
    OP_CHECK(!login_page_csrf_account_check(a, &zero, "sid-1", v, &name, &t));
    memcpy(swapped.account, k.form, sizeof(k.form));
    forged = login_page_csrf_account_make(a, &swapped, "sid-1", "a.b@x", 1800000000);
    OP_CHECK(!login_page_csrf_account_check(a, &k, "sid-1", forged, &name, &t));
    forged = op_arena_printf(a, "bob%s", strchr(v, '.') + 4);
    OP_CHECK(!login_page_csrf_account_check(a, &k, "sid-1", forged, &name, &t));
    forged = op_arena_strdup(a, v);
    forged[strlen("a.b@x.")] = '2';
    OP_CHECK(!login_page_csrf_account_check(a, &k, "sid-1", forged, &name, &t));
    /* auth_time unknown (0) */
    v = login_page_csrf_account_make(a, &k, "sid-1", "alice", 0);
    OP_CHECK(login_page_csrf_account_check(a, &k, "sid-1", v, &name, &t));
    OP_CHECK(t == 0 && strcmp(name, "alice") == 0);
    /* malformed */
    static const char *const bad[] = {"",     ".",        "..",         "alice",      "alice.1",
                                      ".1.x", "alice..x", "alice.-1.x", "alice.1x.y", "al ice.1.x"};
    for (size_t i = 0; i < OP_NELEMS(bad); i++)
        OP_CHECK(!login_page_csrf_account_check(a, &k, "sid-1", bad[i], &name, &t));
    OP_CHECK(!login_page_csrf_account_check(a, &k, "sid-1", NULL, &name, &t));
    OP_CHECK(!login_page_csrf_account_check(a, &k, "a/b", v, &name, &t));
    OP_CHECK(login_page_csrf_account_make(a, &k, "sid-1", "no spaces", 1) == NULL);
    OP_CHECK(login_page_csrf_account_make(a, &k, "sid-1", "", 1) == NULL);
    OP_CHECK(login_page_csrf_account_make(a, &k, "sid-1", "alice", -1) == NULL);
    op_arena_free(a);
}

/* ---- the site: origin, cookies, request check ------------------------------ */

static login_page_site_t test_site(op_arena_t *a, const char *url)
{
    login_page_site_t s;

    OP_CHECK_INT(login_page_site_init(a, url, &s, NULL), OP_OK);
    return s;
}

/* The public origin, serialised as browsers send it in Origin (RFC 6454
 * §6.1: lowercase, no default port); over https the cookie names carry
 * the "__Host-" prefix (RFC 6265bis §4.1.3.2). */
static void test_site_origin(void)
{
    op_arena_t *a = test_arena();
    login_page_site_t s = test_site(a, "HTTPS://Login.Example.COM:443/");
    static const char *const bad[] = {
        "",
        "login.example.com",
        "https://login.example.com/login",
        "https://x?q",
        "https://x#f",
        "https://u@x",
        "ftp://x",
        "javascript:alert(1)",
        "https://",
        "https://x:",
        "https://x y",
    };

    OP_CHECK_STR(s.origin, "https://login.example.com");
    OP_CHECK(s.https);
    OP_CHECK_STR(s.cookie_session, "__Host-sub_sid");
    OP_CHECK_STR(s.cookie_pre, "__Host-pre_session");
    s = test_site(a, "https://login.example.com:8443");
    OP_CHECK_STR(s.origin, "https://login.example.com:8443");
    s = test_site(a, "http://127.0.0.1:8081");
    OP_CHECK_STR(s.origin, "http://127.0.0.1:8081");
    OP_CHECK(!s.https);
    OP_CHECK_STR(s.cookie_session, "sub_sid");
    OP_CHECK_STR(s.cookie_pre, "pre_session");
    s = test_site(a, "http://[::1]:80");
    OP_CHECK_STR(s.origin, "http://[::1]");
    for (size_t i = 0; i < OP_NELEMS(bad); i++)
        OP_CHECK(login_page_site_init(a, bad[i], &s, NULL) == OP_EINVAL);
    OP_CHECK(login_page_site_init(a, NULL, &s, NULL) == OP_EINVAL);
    op_arena_free(a);
}

/* Cookie attributes: HttpOnly, SameSite=Lax, Path=/, no Domain, a
 * browser-session cookie; over https Secure and "__Host-" (RFC 6265bis
 * §4.1.3.2, §5.6.7 SameSite); over http neither (browsers refuse both
 * there). */
static void test_site_cookie(void)
{
    op_arena_t *a = test_arena();
    login_page_site_t https = test_site(a, "https://login.example.com");
    login_page_site_t http = test_site(a, "http://127.0.0.1:8081");

    OP_CHECK_STR(login_page_site_cookie(a, &https, https.cookie_pre, "V1"),
                 "__Host-pre_session=V1; Path=/; Secure; HttpOnly; SameSite=Lax");
    OP_CHECK_STR(login_page_site_cookie(a, &https, https.cookie_session, "S1"),
                 "__Host-sub_sid=S1; Path=/; Secure; HttpOnly; SameSite=Lax");
    OP_CHECK_STR(login_page_site_cookie(a, &https, https.cookie_session, NULL),
                 "__Host-sub_sid=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax");
    OP_CHECK_STR(login_page_site_cookie(a, &http, http.cookie_pre, "V1"),
                 "pre_session=V1; Path=/; HttpOnly; SameSite=Lax");
    OP_CHECK_STR(login_page_site_cookie(a, &http, http.cookie_session, NULL),
                 "sub_sid=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    /* a "__Host-" name without Secure is never formatted */
    OP_CHECK(login_page_site_cookie(a, &http, https.cookie_pre, "V1") == NULL);
    OP_CHECK(login_page_site_cookie(a, &https, https.cookie_pre, "a;b") == NULL);
    op_arena_free(a);
}

/*
 * Which POSTs come from the page's own pages (W3C Fetch Metadata Request
 * Headers §2.1 Sec-Fetch-Site; RFC 6454 §7 Origin; OWASP CSRF Prevention
 * Cheat Sheet, "Verifying Origin With Standard Headers"): a cross-origin
 * Origin is refused also when Fetch Metadata is absent, "null" too; with
 * neither, the Referer decides; with none of them, the token decides.
 */
static void test_site_check(void)
{
    op_arena_t *a = test_arena();
    login_page_site_t s = test_site(a, "https://login.example.com");
    static const struct {
        const char *fetch_site, *origin, *referer;
        bool ok;
    } cases[] = {
        {"same-origin", "https://login.example.com", NULL, true},
        {"same-origin", NULL, NULL, true},
        {"cross-site", NULL, NULL, false},
        {"same-site", "https://evil.example.com", NULL, false},
        {"none", NULL, NULL, false},
        {"same-origin", "https://evil.example", NULL, false},
        /* no Fetch Metadata: Origin */
        {NULL, "https://login.example.com", NULL, true},
        {NULL, "https://evil.example", "https://login.example.com/login", false},
        {NULL, "null", NULL, false},
        {NULL, "http://login.example.com", NULL, false},
        {NULL, "https://login.example.com:8443", NULL, false},
        {NULL, "https://login.example.com.evil.example", NULL, false},
        {NULL, "", NULL, false},
        /* neither: Referer */
        {NULL, NULL, "https://login.example.com/login?client_id=x", true},
        {NULL, NULL, "https://login.example.com", true},
        {NULL, NULL, "https://evil.example/login", false},
        {NULL, NULL, "https://login.example.com.evil.example/", false},
        {NULL, NULL, "https://login.example.com@evil.example/", false},
        {NULL, NULL, "http://login.example.com/login", false},
        {NULL, NULL, "not a url", false},
        {NULL, NULL, "", false},
        /* none: the token bound to the pre-session cookie decides */
        {NULL, NULL, NULL, true},
    };

    for (size_t i = 0; i < OP_NELEMS(cases); i++) {
        const char *why =
            login_page_site_check(a, &s, cases[i].fetch_site, cases[i].origin, cases[i].referer);

        if ((why == NULL) != cases[i].ok)
            fprintf(stderr, "case %zu: %s\n", i, why != NULL ? why : "passed");
        OP_CHECK((why == NULL) == cases[i].ok);
    }
    op_arena_free(a);
}

/* ---- HTML ---------------------------------------------------------------- */

/* The five characters that matter in text and quoted attributes. */
static void test_html_escape(void)
{
    op_arena_t *a = test_arena();

    OP_CHECK_STR(login_page_html_escape(a, "<script>alert('x')</script> & \"q\""),
                 "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
    OP_CHECK_STR(login_page_html_escape(a, "plain text, é"), "plain text, é");
    OP_CHECK_STR(login_page_html_escape(a, ""), "");
    OP_CHECK_STR(login_page_html_escape(a, "&amp;"), "&amp;amp;");
    op_arena_free(a);
}

/* The SHA-256 of the first <tag>...</tag> body, as a CSP hash source
 * (CSP Level 3 §2.3.1: base64 of the digest). */
static char *test_csp_hash(op_arena_t *a, const char *html, const char *tag)
{
    const char *open = strstr(html, op_arena_printf(a, "<%s>", tag));
    const char *close = strstr(html, op_arena_printf(a, "</%s>", tag));
    uint8_t d[32];
    char b64[64];

    OP_CHECK(open != NULL && close != NULL);
    open += strlen(tag) + 2;
    op_keys_crypto_sha256(open, (size_t)(close - open), d);
    sodium_bin2base64(b64, sizeof(b64), d, sizeof(d), sodium_base64_VARIANT_ORIGINAL);
    return op_arena_printf(a, "'sha256-%s'", b64);
}

/* Accessible sign-in page: lang, main, labels, autocomplete (HTML
 * §4.10.18.7), hidden sid + CSRF, a hostile login_hint escaped, a CSP
 * that allows our inline style by hash and forms to the client origin. */
static void test_html_signin(void)
{
    op_arena_t *a = test_arena();
    login_page_html_page_t pg;
    login_page_html_signin_t p = {
        .sid = "S1",
        .csrf = "C1",
        .ro = "http://127.0.0.1:9999",
        .username = "\"><script>x()</script>",
    };

    OP_CHECK_INT(login_page_html_signin(a, &p, &pg), OP_OK);
    OP_CHECK(strlen(pg.html) == pg.len);
    OP_CHECK(strstr(pg.html, "<html lang=\"en\">") != NULL);
    OP_CHECK(strstr(pg.html, "<main>") != NULL);
    OP_CHECK(strstr(pg.html, "<label for=\"username\">") != NULL);
    OP_CHECK(strstr(pg.html, "<label for=\"password\">") != NULL);
    OP_CHECK(strstr(pg.html, "autocomplete=\"username\"") != NULL);
    OP_CHECK(strstr(pg.html, "autocomplete=\"current-password\"") != NULL);
    OP_CHECK(strstr(pg.html, "name=\"sid\" value=\"S1\"") != NULL);
    OP_CHECK(strstr(pg.html, "name=\"csrf\" value=\"C1\"") != NULL);
    OP_CHECK(strstr(pg.html, "name=\"ro\" value=\"http://127.0.0.1:9999\"") != NULL);
    OP_CHECK(strstr(pg.html, "<script>") == NULL);
    OP_CHECK(strstr(pg.html, "value=\"&quot;&gt;&lt;script&gt;x()&lt;/script&gt;\"") != NULL);
    OP_CHECK(strstr(pg.html, "Choose an account") == NULL);
    OP_CHECK(strstr(pg.csp, "default-src 'none'") != NULL);
    OP_CHECK(strstr(pg.csp, "form-action 'self' http://127.0.0.1:9999;") != NULL);
    OP_CHECK(strstr(pg.csp, "frame-ancestors 'none'") != NULL);
    OP_CHECK(strstr(pg.csp, "script-src") == NULL);
    OP_CHECK(strstr(pg.csp, test_csp_hash(a, pg.html, "style")) != NULL);

    /* an error, a remembered account (select_account), a create note */
    p.error = "The username or password is incorrect.";
    p.select_account = true;
    p.create_account = true;
    p.account = "alice";
    p.account_name = "Alice <Adams>";
    p.account_token = "alice.0.MAC";
    p.ro = NULL;
    OP_CHECK_INT(login_page_html_signin(a, &p, &pg), OP_OK);
    OP_CHECK(strstr(pg.html, "role=\"alert\">The username or password is incorrect.") != NULL);
    OP_CHECK(strstr(pg.html, "Continue as Alice &lt;Adams&gt; (alice)") != NULL);
    OP_CHECK(strstr(pg.html, "name=\"action\" value=\"continue\"") != NULL);
    OP_CHECK(strstr(pg.html, "name=\"account\" value=\"alice.0.MAC\"") != NULL);
    OP_CHECK(strstr(pg.html, "Use another account") != NULL);
    OP_CHECK(strstr(pg.html, "cannot create accounts") != NULL);
    OP_CHECK(strstr(pg.csp, "form-action 'self';") != NULL);
    op_arena_free(a);
}

/* Consent page: one checkbox per scope value and claim (reference §2.1
 * consent prompt), values escaped, remember box, Allow and Deny. */
static void test_html_consent(void)
{
    op_arena_t *a = test_arena();
    login_page_html_page_t pg;
    login_page_answer_t ans;
    const op_json_t *j = test_json(
        a, "{\"type\":\"consent\",\"sid\":\"S2\",\"client\":{\"client_id\":\"demo-client\","
           "\"name\":\"Demo <App>\",\"policy_uri\":\"https://rp.example/p\","
           "\"tos_uri\":\"javascript:alert(1)\"},"
           "\"scope\":{\"new\":[\"openid\",\"email\"],\"consented\":[\"x\\\"y\"]},"
           "\"claims\":{\"new\":{\"essential\":[\"email\"],\"voluntary\":[\"email_verified\"]},"
           "\"consented\":{\"essential\":[],\"voluntary\":[\"name\"]}}}");

    OP_CHECK_INT(login_page_answer_parse(a, j, &ans, NULL), OP_OK);
    OP_CHECK_INT(login_page_html_consent(a, &ans, "C2", "http://127.0.0.1:9999", &pg), OP_OK);
    OP_CHECK(strstr(pg.html, "<strong>Demo &lt;App&gt;</strong> (client <code>demo-client"
                             "</code>)") != NULL);
    OP_CHECK(strstr(pg.html, "href=\"https://rp.example/p\"") != NULL);
    OP_CHECK(strstr(pg.html, "javascript:") == NULL); /* unsafe tos_uri dropped */
    OP_CHECK(strstr(pg.html, "name=\"scope_0\" value=\"openid\" checked") != NULL);
    OP_CHECK(strstr(pg.html, "name=\"scope_1\" value=\"email\" checked") != NULL);
    OP_CHECK(strstr(pg.html, "name=\"scope_2\" value=\"x&quot;y\" checked") != NULL);
    OP_CHECK(strstr(pg.html, "name=\"claim_0\" value=\"email\" checked") != NULL);
    OP_CHECK(strstr(pg.html, "name=\"claim_1\" value=\"email_verified\" checked") != NULL);
    OP_CHECK(strstr(pg.html, "name=\"claim_2\" value=\"name\" checked") != NULL);
    OP_CHECK(strstr(pg.html, "<label for=\"claim_0\"><code>email</code> <span class=\"note\">"
                             "(required by the application)") != NULL);
    OP_CHECK(strstr(pg.html, "name=\"long_lived\"") != NULL);
    OP_CHECK(strstr(pg.html, "<label for=\"long_lived\">Remember this decision") != NULL);
    OP_CHECK(strstr(pg.html, "value=\"allow\">Allow") != NULL);
    OP_CHECK(strstr(pg.html, "value=\"deny\" class=\"secondary\">Deny") != NULL);
    OP_CHECK(strstr(pg.html, "name=\"csrf\" value=\"C2\"") != NULL);
    OP_CHECK(strstr(pg.html, "action=\"/consent\"") != NULL);
    op_arena_free(a);
}

/* form_post relay (OAuth 2.0 Form Post Response Mode §2): hidden inputs
 * escaped, an auto-submit script allowed by its hash, a noscript button,
 * and form-action open to the client's origin only. */
static void test_html_form_post(void)
{
    op_arena_t *a = test_arena();
    login_page_html_page_t pg;
    const op_json_t *form =
        test_json(a, "{\"code\":\"c<1>\",\"state\":\"s\\\"2\",\"iss\":\"http://op\"}");

    OP_CHECK_INT(login_page_html_form_post(a, "https://rp.example/cb?x=1&y=2", "https://rp.example",
                                           form, &pg),
                 OP_OK);
    OP_CHECK(strstr(pg.html, "action=\"https://rp.example/cb?x=1&amp;y=2\"") != NULL);
    OP_CHECK(strstr(pg.html, "name=\"code\" value=\"c&lt;1&gt;\"") != NULL);
    OP_CHECK(strstr(pg.html, "name=\"state\" value=\"s&quot;2\"") != NULL);
    OP_CHECK(strstr(pg.html, "<noscript>") != NULL);
    OP_CHECK(strstr(pg.csp, "form-action 'self' https://rp.example;") != NULL);
    OP_CHECK(strstr(pg.csp, op_arena_printf(a, "script-src %s;",
                                            test_csp_hash(a, pg.html, "script"))) != NULL);
    OP_CHECK(strstr(pg.csp, test_csp_hash(a, pg.html, "style")) != NULL);
    op_arena_free(a);
}

/* Message pages escape their text. */
static void test_html_message(void)
{
    op_arena_t *a = test_arena();
    login_page_html_page_t pg;

    OP_CHECK_INT(login_page_html_message(a, "Sign-in error", "text", "invalid_request: <b>", &pg),
                 OP_OK);
    OP_CHECK(strstr(pg.html, "<h1>Sign-in error</h1>") != NULL);
    OP_CHECK(strstr(pg.html, "invalid_request: &lt;b&gt;") != NULL);
    op_arena_free(a);
}

/* The logout page asks to confirm (OIDC RP-Initiated Logout 1.0 §2) with
 * a form that posts its CSRF token; nothing is signed out by a GET. */
static void test_html_logout(void)
{
    op_arena_t *a = test_arena();
    login_page_html_page_t pg;

    OP_CHECK_INT(login_page_html_logout(a, "C\"3", &pg), OP_OK);
    OP_CHECK(strstr(pg.html, "<form method=\"post\" action=\"/logout\">") != NULL);
    OP_CHECK(strstr(pg.html, "name=\"csrf\" value=\"C&quot;3\"") != NULL);
    OP_CHECK(strstr(pg.csp, "form-action 'self';") != NULL);
    op_arena_free(a);
}

/* ---- forms ----------------------------------------------------------- */

static void test_form_login(void)
{
    op_arena_t *a = test_arena();
    login_page_form_login_t f;
    op_params_t p;
    op_err_t err;

    p = test_params(a, "sid=S1&csrf=C1&username=alice&password=a%26b+c&action=signin");
    OP_CHECK_INT(login_page_form_login(&p, &f, &err), OP_OK);
    OP_CHECK_STR(f.sid, "S1");
    OP_CHECK_STR(f.csrf, "C1");
    OP_CHECK_STR(f.username, "alice");
    OP_CHECK_STR(f.password, "a&b c");
    OP_CHECK_INT(f.password_len, 5);
    OP_CHECK(!f.use_account && f.ro == NULL);

    p = test_params(a, "sid=S1&csrf=C1&action=continue&account=alice.0.M&ro=http%3A%2F%2Fh");
    OP_CHECK_INT(login_page_form_login(&p, &f, &err), OP_OK);
    OP_CHECK(f.use_account);
    OP_CHECK_STR(f.account, "alice.0.M");
    OP_CHECK_STR(f.ro, "http://h");

    static const char *const bad[] = {
        "sid=S1&username=alice&password=x",                /* no CSRF token */
        "sid=S1&csrf=&username=alice&password=x",          /* empty CSRF token */
        "csrf=C&username=alice&password=x",                /* no sid */
        "sid=..%2Fx&csrf=C&username=alice&password=x",     /* sid not URL-safe */
        "sid=a+b&csrf=C&username=alice&password=x",        /* space */
        "sid=S&csrf=C&username=alice",                     /* no password */
        "sid=S&csrf=C&password=x",                         /* no username */
        "sid=S&csrf=C&username=alice&password=",           /* empty password */
        "sid=S&csrf=C&username=alice&password=x&action=x", /* unknown action */
        "sid=S&csrf=C&action=continue",                    /* no account */
    };
    for (size_t i = 0; i < OP_NELEMS(bad); i++) {
        p = test_params(a, bad[i]);
        op_err_clear(&err);
        OP_CHECK_INT(login_page_form_login(&p, &f, &err), OP_EINVAL);
        OP_CHECK_INT(err.http_status, 400);
    }
    /* length limits */
    char *longname = op_arena_alloc(a, 200);
    memset(longname, 'a', 199);
    longname[199] = '\0';
    p = test_params(a, op_arena_printf(a, "sid=S&csrf=C&username=%s&password=x", longname));
    OP_CHECK_INT(login_page_form_login(&p, &f, &err), OP_EINVAL);
    char *longsid = op_arena_alloc(a, LOGIN_PAGE_SID_MAX + 2);
    memset(longsid, 's', LOGIN_PAGE_SID_MAX + 1);
    longsid[LOGIN_PAGE_SID_MAX + 1] = '\0';
    OP_CHECK(!login_page_form_sid_ok(longsid));
    longsid[LOGIN_PAGE_SID_MAX] = '\0';
    OP_CHECK(login_page_form_sid_ok(longsid));
    OP_CHECK(login_page_form_sid_ok("aZ09-._~"));
    OP_CHECK(!login_page_form_sid_ok(""));
    OP_CHECK(!login_page_form_sid_ok(NULL));
    OP_CHECK(!login_page_form_sid_ok("a/b"));
    op_arena_free(a);
}

static void test_form_consent(void)
{
    op_arena_t *a = test_arena();
    login_page_form_consent_t f;
    op_params_t p;
    op_err_t err;

    p = test_params(a, "sid=S&csrf=C&scope_0=openid&scope_2=email&claim_0=email&"
                       "claim_5=name&long_lived=true&action=allow&other=x&scope_3=");
    OP_CHECK_INT(login_page_form_consent(a, &p, &f, &err), OP_OK);
    OP_CHECK(f.allow && f.long_lived);
    OP_CHECK_INT(f.scope.n, 2);
    OP_CHECK_STR(f.scope.v[0], "openid");
    OP_CHECK_STR(f.scope.v[1], "email");
    OP_CHECK_INT(f.claims.n, 2);
    OP_CHECK_STR(f.claims.v[1], "name");

    p = test_params(a, "sid=S&csrf=C&action=deny");
    OP_CHECK_INT(login_page_form_consent(a, &p, &f, &err), OP_OK);
    OP_CHECK(!f.allow && !f.long_lived && f.scope.n == 0);

    p = test_params(a, "sid=S&csrf=C&scope_0=openid");
    OP_CHECK_INT(login_page_form_consent(a, &p, &f, &err), OP_EINVAL); /* no action */
    p = test_params(a, "sid=S&csrf=C&action=maybe");
    OP_CHECK_INT(login_page_form_consent(a, &p, &f, &err), OP_EINVAL);
    p = test_params(a, "sid=S&action=allow");
    OP_CHECK_INT(login_page_form_consent(a, &p, &f, &err), OP_EINVAL);
    op_arena_free(a);
}

/* The start request's query is the same parameters again (the server
 * re-parses it strictly, RFC 6749 §3.1). */
static void test_form_query(void)
{
    op_arena_t *a = test_arena();
    const char *in = "response_type=code&client_id=demo-client&redirect_uri=http%3A%2F%2F"
                     "127.0.0.1%3A9999%2Fcallback&scope=openid+profile&state=a%26b%3Dc&x=";
    op_params_t p = test_params(a, in), q;
    char *s = login_page_form_query(a, &p);

    OP_CHECK(s != NULL);
    q = test_params(a, s);
    OP_CHECK_INT(q.n, p.n);
    for (size_t i = 0; i < p.n; i++) {
        OP_CHECK_STR(q.items[i].name, p.items[i].name);
        OP_CHECK_STR(q.items[i].value, p.items[i].value);
    }
    p.n = 0;
    OP_CHECK_STR(login_page_form_query(a, &p), "");
    op_arena_free(a);
}

/* ---- answers ----------------------------------------------------------- */

/* Each answer type of reference §2.1 leads to its page. */
static void test_answer_kinds(void)
{
    op_arena_t *a = test_arena();
    login_page_answer_t ans;

    OP_CHECK_INT(login_page_answer_parse(a,
                                         test_json(a, "{\"type\":\"auth\",\"sid\":\"S\","
                                                      "\"select_account\":true,\"login_hint\":"
                                                      "\"alice\",\"display\":\"page\"}"),
                                         &ans, NULL),
                 OP_OK);
    OP_CHECK_INT(ans.kind, LOGIN_PAGE_ANSWER_AUTH);
    OP_CHECK_STR(ans.sid, "S");
    OP_CHECK(ans.select_account && !ans.create_account && !ans.has_sub_session);
    OP_CHECK(ans.session_sub == NULL && ans.session_auth_time == 0);
    OP_CHECK_STR(ans.login_hint, "alice");

    OP_CHECK_INT(login_page_answer_parse(
                     a,
                     test_json(a, "{\"type\":\"auth\",\"sid\":\"S\",\"create_account\":true,"
                                  "\"select_account\":\"yes\",\"sub_session\":{\"sub\":\"a\","
                                  "\"auth_time\":1700000000}}"),
                     &ans, NULL),
                 OP_OK);
    OP_CHECK(ans.create_account && !ans.select_account && ans.has_sub_session);
    OP_CHECK_STR(ans.session_sub, "a");
    OP_CHECK_INT(ans.session_auth_time, 1700000000);

    OP_CHECK_INT(login_page_answer_parse(a, test_json(a, "{\"type\":\"consent\",\"sid\":\"S\"}"),
                                         &ans, NULL),
                 OP_OK);
    OP_CHECK_INT(ans.kind, LOGIN_PAGE_ANSWER_CONSENT);
    OP_CHECK(ans.scope_new.n == 0 && ans.claims_consented.n == 0 && ans.client_id == NULL);

    OP_CHECK_INT(login_page_answer_parse(
                     a,
                     test_json(a, "{\"type\":\"response\",\"mode\":\"query\",\"parameters\":"
                                  "{\"uri\":\"http://127.0.0.1:9999/cb?code=x&state=y\"},"
                                  "\"sub_sid\":\"SS\"}"),
                     &ans, NULL),
                 OP_OK);
    OP_CHECK_INT(ans.kind, LOGIN_PAGE_ANSWER_REDIRECT);
    OP_CHECK_STR(ans.uri, "http://127.0.0.1:9999/cb?code=x&state=y");
    OP_CHECK_STR(ans.sub_sid, "SS");

    OP_CHECK_INT(login_page_answer_parse(
                     a,
                     test_json(a, "{\"type\":\"response\",\"mode\":\"fragment\",\"parameters\":"
                                  "{\"uri\":\"com.example.app:/cb#code=x\"}}"),
                     &ans, NULL),
                 OP_OK);
    OP_CHECK_INT(ans.kind, LOGIN_PAGE_ANSWER_REDIRECT);
    OP_CHECK(ans.sub_sid == NULL);

    OP_CHECK_INT(login_page_answer_parse(
                     a,
                     test_json(a, "{\"type\":\"response\",\"mode\":\"form_post\",\"parameters\":"
                                  "{\"uri\":\"https://rp/cb\",\"form\":{\"code\":\"x\"}}}"),
                     &ans, NULL),
                 OP_OK);
    OP_CHECK_INT(ans.kind, LOGIN_PAGE_ANSWER_FORM_POST);
    OP_CHECK_INT(ans.form->u.obj.n, 1);

    OP_CHECK_INT(
        login_page_answer_parse(a,
                                test_json(a, "{\"type\":\"error\",\"error\":\"invalid_request\","
                                             "\"error_description\":\"bad <redirect_uri>\"}"),
                                &ans, NULL),
        OP_OK);
    OP_CHECK_INT(ans.kind, LOGIN_PAGE_ANSWER_ERROR);
    OP_CHECK_STR(ans.error, "invalid_request");
    OP_CHECK_STR(ans.error_description, "bad <redirect_uri>");
    op_arena_free(a);
}

/* What the page refuses to act on: never a redirect or form to an unsafe
 * URI, never a sid it cannot put in a URL path. */
static void test_answer_refused(void)
{
    static const char *const bad[] = {
        "[]",
        "{}",
        "{\"type\":\"bogus\"}",
        "{\"type\":\"auth\"}",
        "{\"type\":\"auth\",\"sid\":\"a/b\"}",
        "{\"type\":\"consent\",\"sid\":5}",
        "{\"type\":\"response\",\"parameters\":{\"uri\":\"https://rp/cb\"}}",
        "{\"type\":\"response\",\"mode\":\"jwt\",\"parameters\":{\"uri\":\"https://rp/cb\"}}",
        "{\"type\":\"response\",\"mode\":\"query\"}",
        "{\"type\":\"response\",\"mode\":\"query\",\"parameters\":{\"uri\":\"javascript:x()\"}}",
        "{\"type\":\"response\",\"mode\":\"query\",\"parameters\":{\"uri\":\"JavaScript:x\"}}",
        "{\"type\":\"response\",\"mode\":\"query\",\"parameters\":{\"uri\":\"data:text/html,x\"}}",
        "{\"type\":\"response\",\"mode\":\"query\",\"parameters\":{\"uri\":\"/relative\"}}",
        "{\"type\":\"response\",\"mode\":\"query\",\"parameters\":{\"uri\":\"https://a b\"}}",
        "{\"type\":\"response\",\"mode\":\"form_post\",\"parameters\":{\"uri\":\"https://rp\"}}",
        "{\"type\":\"response\",\"mode\":\"form_post\",\"parameters\":{\"uri\":\"https://rp\","
        "\"form\":{\"code\":1}}}",
        "{\"type\":\"response\",\"mode\":\"query\",\"parameters\":{\"uri\":\"https://rp\"},"
        "\"sub_sid\":7}",
    };
    op_arena_t *a = test_arena();
    login_page_answer_t ans;
    op_err_t err;

    for (size_t i = 0; i < OP_NELEMS(bad); i++) {
        op_err_clear(&err);
        if (login_page_answer_parse(a, test_json(a, bad[i]), &ans, &err) != OP_EPROTO) {
            fprintf(stderr, "accepted: %s\n", bad[i]);
            OP_CHECK(0);
        }
        OP_CHECK_INT(err.http_status, 502);
    }
    op_arena_free(a);
}

/* The CSP source of a redirect URI (CSP Level 3 §2.3.1 host-source and
 * scheme-source); anything a policy cannot carry safely gives NULL. */
static void test_answer_origin(void)
{
    op_arena_t *a = test_arena();

    OP_CHECK_STR(login_page_answer_origin(a, "http://127.0.0.1:9999/callback"),
                 "http://127.0.0.1:9999");
    OP_CHECK_STR(login_page_answer_origin(a, "HTTPS://RP.example/cb?x=1#f"), "https://RP.example");
    OP_CHECK_STR(login_page_answer_origin(a, "https://rp.example"), "https://rp.example");
    OP_CHECK_STR(login_page_answer_origin(a, "https://[::1]:8443/x"), "https://[::1]:8443");
    OP_CHECK_STR(login_page_answer_origin(a, "com.Example.app:/cb"), "com.example.app:");
    static const char *const bad[] = {
        "https://user@rp.example/cb",
        "https://rp.example;script-src:*/",
        "https://rp.example:/",
        "https://rp.example:8a/",
        "https:rp.example",
        "https://",
        "javascript:alert(1)",
        "data:x",
        "/cb",
        "",
        "https://[::1/x",
        "https://rp.example\t/x",
    };
    for (size_t i = 0; i < OP_NELEMS(bad); i++) {
        if (login_page_answer_origin(a, bad[i]) != NULL) {
            fprintf(stderr, "origin of: %s\n", bad[i]);
            OP_CHECK(0);
        }
    }
    OP_CHECK(login_page_answer_origin(a, NULL) == NULL);
    op_arena_free(a);
}

/* ---- users ------------------------------------------------------------- */

static void test_users(void)
{
    op_arena_t *a = test_arena();
    login_page_users_t u;
    op_err_t err;
    const char *ok = "{\"alice\":{\"password\":\"$argon2id$v=19$x\",\"name\":\"Alice\"},"
                     "\"b.o-b@x\":{\"password\":\"$argon2id$y\"}}";

    OP_CHECK_INT(login_page_users_parse(a, ok, strlen(ok), &u, &err), OP_OK);
    OP_CHECK_INT(u.n, 2);
    OP_CHECK_STR(login_page_users_find(&u, "alice")->name, "Alice");
    OP_CHECK(login_page_users_find(&u, "b.o-b@x")->name == NULL);
    OP_CHECK(login_page_users_find(&u, "Alice") == NULL);
    OP_CHECK(login_page_users_find(&u, NULL) == NULL);
    static const char *const bad[] = {
        "[]",
        "{\"a b\":{\"password\":\"$argon2id$x\"}}",
        "{\"\":{\"password\":\"$argon2id$x\"}}",
        "{\"alice\":{\"password\":\"alice-pass\"}}",
        "{\"alice\":{\"password\":\"$argon2i$x\"}}",
        "{\"alice\":{}}",
        "{\"alice\":\"$argon2id$x\"}",
        "{\"alice\":{\"password\":\"$argon2id$x\",\"name\":1}}",
        "{\"alice\":{\"password\":\"$argon2id$x\"},\"alice\":{\"password\":\"$argon2id$y\"}}",
    };
    for (size_t i = 0; i < OP_NELEMS(bad); i++) {
        op_err_clear(&err);
        OP_CHECK(login_page_users_parse(a, bad[i], strlen(bad[i]), &u, &err) != OP_OK);
        OP_CHECK(err.description[0] != '\0');
    }
    /* the shipped demo file loads */
    OP_CHECK_INT(login_page_users_load(a, "examples/login-page/users.json", &u, &err), OP_OK);
    OP_CHECK(login_page_users_find(&u, "alice") != NULL && login_page_users_find(&u, "bob"));
    OP_CHECK(login_page_users_load(a, "/nonexistent/users.json", &u, &err) != OP_OK);
    op_arena_free(a);
}

/* ---- the password-check pool ---------------------------------------------- */

typedef struct test_pw {
    op_loop_t *loop;
    bool in_call; /* inside login_page_pwhash_verify */
    int calls;
    int expect;
    int status[8];
} test_pw_t;

static void test_pw_cb(int status, void *result, void *arg)
{
    test_pw_t *t = arg;

    OP_CHECK(!t->in_call); /* never inside the starting call */
    OP_CHECK(result == NULL);
    OP_CHECK(t->calls < 8);
    t->status[t->calls++] = status;
    if (t->calls == t->expect)
        op_loop_stop(t->loop);
}

static void test_pw_submit(test_pw_t *t, login_page_pwhash_t *p, const char *hash, const char *pw)
{
    t->in_call = true;
    login_page_pwhash_verify(p, hash, pw, strlen(pw), test_pw_cb, t);
    t->in_call = false;
}

/* A cheap hash for the test (the limits travel in the string). */
static void test_pw_hash(char out[crypto_pwhash_STRBYTES], const char *pw)
{
    OP_CHECK(crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_MIN,
                               crypto_pwhash_MEMLIMIT_MIN) == 0);
}

/* Right, wrong and unknown-user checks each call back exactly once, from
 * the loop, with OP_OK / OP_EDENIED / OP_EDENIED. */
static void test_pwhash_verify(void)
{
    test_pw_t t = {.expect = 3};
    char hash[crypto_pwhash_STRBYTES];
    login_page_pwhash_t *p;
    op_err_t err;

    OP_CHECK(op_keys_global_init() == OP_OK);
    t.loop = op_loop_new();
    OP_CHECK(t.loop != NULL);
    p = login_page_pwhash_new(t.loop, 1, 8, &err);
    OP_CHECK(p != NULL);
    test_pw_hash(hash, "alice-pass");
    test_pw_submit(&t, p, hash, "alice-pass");
    test_pw_submit(&t, p, hash, "wrong");
    test_pw_submit(&t, p, NULL, "alice-pass"); /* unknown user: the dummy */
    OP_CHECK_INT(t.calls, 0);
    OP_CHECK_INT(op_loop_run(t.loop), OP_OK);
    OP_CHECK_INT(t.calls, 3);
    OP_CHECK_INT(t.status[0], OP_OK); /* one worker: in order */
    OP_CHECK_INT(t.status[1], OP_EDENIED);
    OP_CHECK_INT(t.status[2], OP_EDENIED);
    login_page_pwhash_free(p);
    op_loop_free(t.loop);
}

/* A full queue answers OP_EUNAVAIL at once (still through the loop);
 * freeing the pool cancels what waits; every check calls back once. */
static void test_pwhash_bounded(void)
{
    test_pw_t t = {.expect = 4};
    char hash[crypto_pwhash_STRBYTES];
    login_page_pwhash_t *p;
    op_err_t err;
    int unavail = 0, done = 0;

    OP_CHECK(op_keys_global_init() == OP_OK);
    t.loop = op_loop_new();
    OP_CHECK(t.loop != NULL);
    OP_CHECK(login_page_pwhash_new(t.loop, 0, 1, &err) == NULL);
    OP_CHECK(login_page_pwhash_new(t.loop, 1, 0, &err) == NULL);
    p = login_page_pwhash_new(t.loop, 1, 1, &err);
    OP_CHECK(p != NULL);
    test_pw_hash(hash, "pw");
    /* One worker and one queue slot: of four checks at most two are taken. */
    for (int i = 0; i < 4; i++)
        test_pw_submit(&t, p, hash, "pw");
    login_page_pwhash_free(p); /* finishes the running check, cancels the waiting one */
    OP_CHECK_INT(t.calls, 0);
    OP_CHECK_INT(op_loop_run(t.loop), OP_OK);
    OP_CHECK_INT(t.calls, 4);
    for (int i = 0; i < 4; i++) {
        unavail += t.status[i] == OP_EUNAVAIL;
        done += t.status[i] == OP_OK || t.status[i] == OP_ECANCELED;
    }
    OP_CHECK(unavail >= 2);
    OP_CHECK_INT(unavail + done, 4);
    op_loop_free(t.loop);
}

static const op_test_case_t cases[] = {
    {"csrf_keys", test_csrf_keys},
    {"csrf_pre", test_csrf_pre},
    {"csrf_token_bound_to_cookie", test_csrf_token_bound_to_cookie},
    {"csrf_account", test_csrf_account},
    {"site_origin", test_site_origin},
    {"site_cookie", test_site_cookie},
    {"site_check", test_site_check},
    {"html_escape", test_html_escape},
    {"html_signin", test_html_signin},
    {"html_consent", test_html_consent},
    {"html_form_post", test_html_form_post},
    {"html_message", test_html_message},
    {"html_logout", test_html_logout},
    {"form_login", test_form_login},
    {"form_consent", test_form_consent},
    {"form_query", test_form_query},
    {"answer_kinds", test_answer_kinds},
    {"answer_refused", test_answer_refused},
    {"answer_origin", test_answer_origin},
    {"users", test_users},
    {"pwhash_verify", test_pwhash_verify},
    {"pwhash_bounded", test_pwhash_bounded},
};

OP_TEST_MAIN(cases)
