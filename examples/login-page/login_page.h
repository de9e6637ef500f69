/*
 * examples/login-page/login_page.h - the example login page's own
 * interface, shared by its files and its unit test.
 *
 * The login page is a separate program: the authorisation endpoint and the
 * logout page that Tessera advertises. It follows the Connect2id login-page
 * model: it hands the raw OAuth request to the authorisation session API
 * (authz-sessions/rest/v3) and follows the answers ("auth", "consent",
 * "response", "error"). It reuses the project's runtime (loop, HTTP server
 * and client, parsers, JSON, arena, log, crypto helpers).
 *
 * Files: login_page.c (main, options, routes, shutdown), login_page_flow.c
 * (one flow per request), login_page_answer.c (reading the API's answers,
 * URI and origin checks), login_page_form.c (the page's own forms),
 * login_page_csrf.c (keys, the pre-session cookie, CSRF tokens and the
 * signed account choice), login_page_site.c (the public origin, cookie
 * names and attributes, the same-origin check of POSTs),
 * login_page_html.c (pages), login_page_users.c (users.json),
 * login_page_pwhash.c (Argon2id on a worker thread pool).
 */
#ifndef LOGIN_PAGE_H
#define LOGIN_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/op.h"
#include "http/op_http.h"

#define LOGIN_PAGE_SECRET_LEN   32   /* page secret, and each key derived from it */
#define LOGIN_PAGE_PRE_BYTES    32   /* random bytes of the pre-session cookie */
#define LOGIN_PAGE_SID_MAX      256  /* authz session id, bytes */
#define LOGIN_PAGE_USERNAME_MAX 64   /* bytes */
#define LOGIN_PAGE_PASSWORD_MAX 1024 /* bytes */

/* Cookie names; over https with the "__Host-" prefix (login_page_site.c). */
#define LOGIN_PAGE_COOKIE_SESSION "sub_sid"     /* the subject (SSO) session */
#define LOGIN_PAGE_COOKIE_PRE     "pre_session" /* what the CSRF tokens are bound to */

/* A list of borrowed strings. */
typedef struct login_page_strs {
    const char **v;
    size_t n;
} login_page_strs_t;

/* ---- users (login_page_users.c) ---------------------------------------- */

typedef struct login_page_user {
    const char *username;
    const char *hash; /* "$argon2id$..." (crypto_pwhash_str) */
    const char *name; /* display name, may be NULL */
} login_page_user_t;

typedef struct login_page_users {
    login_page_user_t *v;
    size_t n;
} login_page_users_t;

/*
 * Parse users.json ({"alice": {"password": "$argon2id$...", "name": ...},
 * ...}) into out, allocated in a. Usernames are 1..64 of [A-Za-z0-9._@-],
 * hashes must be Argon2 strings. OP_EINVAL with err on anything else.
 */
int login_page_users_parse(op_arena_t *a, const char *json, size_t len, login_page_users_t *out,
                           op_err_t *err);

/* Read and parse the file (at start, before the loop runs). */
int login_page_users_load(op_arena_t *a, const char *path, login_page_users_t *out, op_err_t *err);

/* True for a username of the users.json alphabet: 1..64 of
 * [A-Za-z0-9._@-]. */
bool login_page_users_name_ok(const char *s);

/* The user, or NULL. */
const login_page_user_t *login_page_users_find(const login_page_users_t *u, const char *username);

/* ---- password checks off the loop (login_page_pwhash.c) ----------------- */

typedef struct login_page_pwhash login_page_pwhash_t;

/*
 * A pool of `threads` workers with a queue of at most max_queue waiting
 * checks. It makes a dummy Argon2id hash (same limits as the users') so
 * that an unknown user costs as much as a known one. NULL with err.
 */
login_page_pwhash_t *login_page_pwhash_new(op_loop_t *loop, unsigned threads, size_t max_queue,
                                           op_err_t *err);

/*
 * Check password against hash (NULL: against the dummy hash, which never
 * matches) on a worker. The password is copied (and wiped after use).
 * cb runs exactly once, from the loop, never inside this call: OP_OK
 * (match), OP_EDENIED (no match), OP_EUNAVAIL (queue full),
 * OP_ECANCELED (pool freed first). result is always NULL.
 */
void login_page_pwhash_verify(login_page_pwhash_t *p, const char *hash, const char *password,
                              size_t password_len, op_call_cb cb, void *arg);

/* Stop the workers (after the check in progress), cancel what waits. */
void login_page_pwhash_free(login_page_pwhash_t *p);

/* ---- CSRF tokens and the account choice (login_page_csrf.c) ------------- */

/* The page's keys: one per purpose, never used for another. */
typedef struct login_page_keys {
    uint8_t form[LOGIN_PAGE_SECRET_LEN];    /* CSRF tokens of the forms */
    uint8_t account[LOGIN_PAGE_SECRET_LEN]; /* the signed account choice */
} login_page_keys_t;

/* Derive the keys from the page secret (libsodium's KDF, one context per
 * purpose). The caller wipes the secret and, at exit, the keys. */
void login_page_csrf_keys(const uint8_t secret[LOGIN_PAGE_SECRET_LEN], login_page_keys_t *out);

/* A new pre-session cookie value: LOGIN_PAGE_PRE_BYTES random bytes,
 * base64url (43 characters), in a. NULL on OOM. */
char *login_page_csrf_pre_new(op_arena_t *a);

/* True when pre has the shape of a pre-session value (made above). */
bool login_page_csrf_pre_ok(const char *pre);

/* The page's forms, each with tokens of its own. */
typedef enum {
    LOGIN_PAGE_CSRF_SIGNIN = 0, /* POST /login */
    LOGIN_PAGE_CSRF_CONSENT,    /* POST /consent */
    LOGIN_PAGE_CSRF_LOGOUT      /* POST /logout (no sid) */
} login_page_csrf_form_t;

/*
 * CSRF token of a form of the page: base64url(HMAC-SHA256(k->form,
 * "<form>\n<pre>\n<sid>")), in a: bound to the form, to the browser's
 * pre-session cookie value pre, and to authz session sid (NULL for the
 * logout form). NULL when pre or sid is not well formed, or on OOM.
 */
char *login_page_csrf_make(op_arena_t *a, const login_page_keys_t *k, login_page_csrf_form_t form,
                           const char *pre, const char *sid);

/* True when token is the CSRF token of form, pre and sid (constant-time
 * compare); false when any of them is missing or malformed. */
bool login_page_csrf_check(op_arena_t *a, const login_page_keys_t *k, login_page_csrf_form_t form,
                           const char *pre, const char *sid, const char *token);

/*
 * The "continue as" choice of a select_account page:
 * "<username>.<auth_time>.<base64url(HMAC-SHA256(k->account, "account\n"
 * sid "\n" username "\n" auth_time))>" - the page's own signed note that the
 * server named username (authenticated at auth_time, 0: unknown) as the
 * subject of the browser's session for authz session sid. NULL when
 * username is outside the users.json alphabet or auth_time < 0.
 */
char *login_page_csrf_account_make(op_arena_t *a, const login_page_keys_t *k, const char *sid,
                                   const char *username, int64_t auth_time);

/* Check a value made above for sid; on success *username (in a) and
 * *auth_time are set. */
bool login_page_csrf_account_check(op_arena_t *a, const login_page_keys_t *k, const char *sid,
                                   const char *value, const char **username, int64_t *auth_time);

/* ---- the page as a web origin (login_page_site.c) ---------------------- */

typedef struct login_page_site {
    const char *origin;         /* "https://login.example.com[:port]" (RFC 6454) */
    bool https;                 /* cookies Secure and "__Host-" named */
    const char *cookie_session; /* "__Host-sub_sid" or "sub_sid" */
    const char *cookie_pre;     /* "__Host-pre_session" or "pre_session" */
} login_page_site_t;

/*
 * The site of public_url, an http(s) URL with nothing after the host and
 * port but an optional "/": its origin as browsers serialise it
 * (lowercase, no default port), in a. OP_EINVAL with err otherwise.
 */
int login_page_site_init(op_arena_t *a, const char *public_url, login_page_site_t *out,
                         op_err_t *err);

/*
 * Set-Cookie value of cookie name = value (NULL: delete it): HttpOnly,
 * SameSite=Lax, Path=/, no Domain, no Max-Age (a browser-session
 * cookie); Secure over https. NULL when the value has bytes a cookie
 * may not carry, or on OOM.
 */
char *login_page_site_cookie(op_arena_t *a, const login_page_site_t *site, const char *name,
                             const char *value);

/*
 * Whether a POST with these request headers (each NULL when absent) may
 * come from one of the page's own pages: NULL when it may, else a fixed
 * text saying why not (for the log). Refused: Sec-Fetch-Site other than
 * "same-origin"; an Origin other than the page's (also "null"); without
 * both, a Referer that is not one of the page's URLs.
 */
const char *login_page_site_check(op_arena_t *a, const login_page_site_t *site,
                                  const char *fetch_site, const char *origin, const char *referer);

/* ---- answers of the authorisation session API (login_page_answer.c) ----- */

typedef enum {
    LOGIN_PAGE_ANSWER_AUTH = 0,  /* show the sign-in page */
    LOGIN_PAGE_ANSWER_CONSENT,   /* show the consent page */
    LOGIN_PAGE_ANSWER_REDIRECT,  /* response, query or fragment: 302 */
    LOGIN_PAGE_ANSWER_FORM_POST, /* response, form_post: auto-submit */
    LOGIN_PAGE_ANSWER_ERROR      /* non-redirectable error: error page */
} login_page_answer_kind_t;

/* One answer, its strings borrowed from the parsed JSON. */
typedef struct login_page_answer {
    login_page_answer_kind_t kind;
    const char *sid; /* auth, consent */
    /* auth */
    bool select_account;
    bool create_account;
    bool has_sub_session;      /* the server knows the browser's subject session */
    const char *session_sub;   /* its subject, NULL when not a string */
    int64_t session_auth_time; /* its auth_time, 0 when absent */
    const char *login_hint;
    /* consent */
    const char *client_id;
    const char *client_name;
    const char *policy_uri; /* http(s) only, else NULL */
    const char *tos_uri;
    login_page_strs_t scope_new;
    login_page_strs_t scope_consented;
    login_page_strs_t claims_essential; /* new, essential */
    login_page_strs_t claims_voluntary; /* new, voluntary */
    login_page_strs_t claims_consented; /* essential + voluntary */
    /* response */
    const char *mode;
    const char *uri;       /* redirect target or form action */
    const op_json_t *form; /* form_post: object of string values */
    const char *sub_sid;   /* a new subject session: set the cookie */
    /* error */
    const char *error;
    const char *error_description;
} login_page_answer_t;

/*
 * Read an answer (HTTP 200 JSON) into out. Required members with the
 * wrong type, an unknown "type" or "mode", a response URI that is not a
 * safe absolute URI, or form values that are not strings: OP_EPROTO with
 * err. Optional members of the wrong type are ignored.
 */
int login_page_answer_parse(op_arena_t *a, const op_json_t *json, login_page_answer_t *out,
                            op_err_t *err);

/*
 * True when uri is absolute (scheme ":" ...), has no control bytes or
 * spaces, and its scheme is not one that runs or embeds content
 * (javascript, data, vbscript, file, blob, about, filesystem).
 */
bool login_page_answer_uri_ok(const char *uri);

/*
 * The CSP source expression for where uri goes: "scheme://host[:port]"
 * for http(s), "scheme:" for other (native app) schemes. NULL when uri is
 * not safe (see above), has user info, or has characters a CSP source
 * may not carry.
 */
char *login_page_answer_origin(op_arena_t *a, const char *uri);

/* ---- the page's own forms (login_page_form.c) -------------------------- */

typedef struct login_page_form_login {
    const char *sid;
    const char *csrf;
    const char *ro;       /* client redirect origin, for the CSP; may be NULL */
    bool use_account;     /* action=continue: the session's account */
    const char *account;  /* its signed choice (login_page_csrf_account_make) */
    const char *username; /* action=signin */
    const char *password;
    size_t password_len;
} login_page_form_login_t;

typedef struct login_page_form_consent {
    const char *sid;
    const char *csrf;
    const char *ro;
    bool allow; /* action=allow (else deny) */
    bool long_lived;
    login_page_strs_t scope;  /* checked "scope_<n>" values */
    login_page_strs_t claims; /* checked "claim_<n>" values */
} login_page_form_consent_t;

/*
 * Read the sign-in form (sid, csrf, ro, action, and username + password,
 * or with action=continue the signed account choice).
 * Missing or malformed fields: OP_EINVAL with err (a 400 page). The CSRF
 * token is only checked for presence here.
 */
int login_page_form_login(const op_params_t *p, login_page_form_login_t *out, op_err_t *err);

/* Read the consent form (sid, csrf, action, long_lived, scope_<n>,
 * claim_<n>, ro); lists in a. */
int login_page_form_consent(op_arena_t *a, const op_params_t *p, login_page_form_consent_t *out,
                            op_err_t *err);

/* True for an authz session id we put in a URL path: 1..256 of
 * [A-Za-z0-9-._~]. */
bool login_page_form_sid_ok(const char *sid);

/*
 * The query string again, from the strictly parsed parameters (names and
 * values percent-encoded), for the "query" of the start request: the
 * server parses it as the same parameters. NULL on OOM.
 */
char *login_page_form_query(op_arena_t *a, const op_params_t *q);

/* ---- pages (login_page_html.c) ------------------------------------------ */

typedef struct login_page_html_signin {
    const char *sid;
    const char *csrf;
    const char *ro;            /* NULL: none */
    const char *username;      /* pre-filled (login_hint, or the last try) */
    const char *account;       /* the session's subject (select_account), NULL */
    const char *account_name;  /* its display name, NULL */
    const char *account_token; /* its signed choice */
    bool select_account;
    bool create_account;
    const char *error; /* shown above the form, NULL */
} login_page_html_signin_t;

/* A page's HTML and the Content-Security-Policy that goes with it. */
typedef struct login_page_html_page {
    const char *html;
    size_t len;
    const char *csp;
} login_page_html_page_t;

/* HTML-escape s (& < > " ') into a. NULL on OOM. */
char *login_page_html_escape(op_arena_t *a, const char *s);

/* The pages. form_origin (may be NULL) is added to the CSP's
 * form-action, for a form whose answer redirects to the client. Each
 * returns OP_OK or OP_ETOOBIG (over the arena's cap). */
int login_page_html_signin(op_arena_t *a, const login_page_html_signin_t *p,
                           login_page_html_page_t *out);
int login_page_html_consent(op_arena_t *a, const login_page_answer_t *ans, const char *csrf,
                            const char *ro, login_page_html_page_t *out);
/* The logout page: asks to confirm, posts csrf to /logout. */
int login_page_html_logout(op_arena_t *a, const char *csrf, login_page_html_page_t *out);
int login_page_html_form_post(op_arena_t *a, const char *uri, const char *origin,
                              const op_json_t *form, login_page_html_page_t *out);
/* A page with a title, a message and an optional detail line. */
int login_page_html_message(op_arena_t *a, const char *title, const char *text, const char *detail,
                            login_page_html_page_t *out);

/* ---- the program (login_page.c) and its flows (login_page_flow.c) ------- */

typedef struct login_page {
    op_loop_t *loop;
    op_http_t *http;
    op_http_client_t *client;    /* NULL once shutting down */
    login_page_pwhash_t *pwhash; /* NULL once shutting down */
    login_page_users_t users;
    const char *api_url;  /* "<server>/authz-sessions/rest/v3" */
    const char *api_auth; /* "Bearer <token>": never logged */
    login_page_keys_t keys;
    login_page_site_t site;
    size_t flows; /* requests in progress (flows alive) */
    op_timer_t *drain_timer;
    uint64_t drain_deadline_ms;
    bool stopping;
} login_page_t;

/* The "acr" of a password sign-in (single factor). */
#define LOGIN_PAGE_ACR "1"

/* Route handlers; ctx is the login_page_t. */
void login_page_flow_login_get(op_http_req_t *req, void *ctx);
void login_page_flow_login_post(op_http_req_t *req, void *ctx);
void login_page_flow_consent_post(op_http_req_t *req, void *ctx);
void login_page_flow_logout_get(op_http_req_t *req, void *ctx);
void login_page_flow_logout_post(op_http_req_t *req, void *ctx);

#endif
