/*
 * examples/login-page/login_page_flow.c - one flow per page request.
 *
 *   GET  /login    start: POST {"query", "sub_sid"?} to authz-sessions/rest/v3
 *   POST /login    CSRF, then the password on a worker thread (or, for
 *                  prompt=select_account, the session's own account), then
 *                  PUT {sid} {"sub","acr","amr"}
 *   POST /consent  CSRF, then PUT {sid} {"scope","claims","long_lived"}
 *                  (Allow) or DELETE {sid} (Deny)
 *   GET  /logout   a page asking to confirm
 *   POST /logout   CSRF, then forget the session cookie
 *
 * CSRF, for every POST: the request must come from one of the page's own
 * pages (login_page_site_check: Fetch Metadata, Origin, Referer), and the
 * form's token must be the one of the browser's pre-session cookie
 * (login_page_csrf.c), which a page with a form sets when the browser has
 * none. Either alone refuses a forged sign-in (login CSRF).
 *
 * and then follow the server's answer (login_page_answer.c): a sign-in or
 * consent page, a redirect or form_post to the client, or an error page.
 * The flow is an op_flow_t state machine (start -> [hashed] -> call ->
 * answer -> reply) in the flow dialect (docs/architecture.md): only the
 * steps set the state, the helpers below prepare the call or the reply
 * and return what they prepared (LP_CALL, LP_HASHING, LP_PAGE), the
 * completions record their result and resume, and the last state replies
 * exactly once. The API token is sent only to the server, never to the
 * browser or the log.
 */
#include <string.h>

#include "examples/login-page/login_page.h"
#include "keys/op_keys.h"

#define LOGIN_PAGE_FLOW_ARENA        (2u << 20)
#define LOGIN_PAGE_FLOW_MAX_ANSWER   (256 * 1024)
#define LOGIN_PAGE_FLOW_MAX_COOKIES  4
#define LOGIN_PAGE_FLOW_HTML         "text/html; charset=utf-8"
#define LOGIN_PAGE_FLOW_REDIRECT_CSP "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"

enum { LP_S_START, LP_S_HASHED, LP_S_CALL, LP_S_ANSWER, LP_S_REPLY, LP_S_MAX };
static const char *const login_page_flow_states[LP_S_MAX] = {"start", "hashed", "call", "answer",
                                                             "reply"};

/* What a helper prepared: the API call (c->method, c->url, c->body), the
 * password check in flight, or the reply (c->status and c->page or
 * c->location). The step that called it moves to the matching state. */
#define LP_CALL    OP_OK
#define LP_HASHING OP_AGAIN
#define LP_PAGE    OP_DONE

typedef enum {
    LP_ROUTE_LOGIN_GET,
    LP_ROUTE_LOGIN_POST,
    LP_ROUTE_CONSENT_POST,
    LP_ROUTE_LOGOUT_GET,
    LP_ROUTE_LOGOUT_POST
} login_page_flow_route_t;

typedef struct login_page_flow {
    login_page_t *lp;
    op_http_req_t *req;
    login_page_flow_route_t route;
    const char *ro; /* the client's redirect origin, for form-action */
    /* the API call */
    op_http_method_t method;
    const char *url;
    const char *log_url; /* url without the sid (a secret): for the log */
    const char *body;
    size_t body_len;
    bool sent_sub_sid;
    const char *pre; /* the browser's pre-session cookie value */
    /* sign-in */
    login_page_form_login_t login;
    const login_page_user_t *user;
    const char *signed_in; /* the subject of the authentication PUT */
    int64_t auth_time;     /* its auth_time, 0: now (the server's clock) */
    int pw_status;
    /* the API's answer */
    int fetch_status;
    op_err_t fetch_err; /* the transport's error, when it gave one */
    int http_status;
    const char *resp;
    size_t resp_len;
    /* the reply */
    int status;
    login_page_html_page_t page;
    const char *location;
    const char *cookies[LOGIN_PAGE_FLOW_MAX_COOKIES]; /* Set-Cookie values */
    size_t ncookies;
} login_page_flow_t;

/* ---- replies --------------------------------------------------------- */

/* Name of the API call's method, for the log. */
static const char *login_page_flow_method(op_http_method_t m)
{
    return m == OP_HTTP_PUT ? "PUT" : m == OP_HTTP_DELETE ? "DELETE" : "POST";
}

/* Prepare a message page (status, title, text, detail): LP_PAGE. */
static int login_page_flow_message(op_flow_t *f, int status, const char *title, const char *text,
                                   const char *detail)
{
    login_page_flow_t *c = f->ctx;

    c->status = status;
    if (login_page_html_message(f->arena, title, text, detail, &c->page) != OP_OK)
        c->page.html = NULL;
    return LP_PAGE;
}

/* Set cookie name to value (NULL: clear it), with the site's attributes
 * (login_page_site_cookie). False when it cannot be set. */
static bool login_page_flow_cookie(op_flow_t *f, const char *name, const char *value)
{
    login_page_flow_t *c = f->ctx;
    char *cookie = login_page_site_cookie(f->arena, &c->lp->site, name, value);

    if (cookie == NULL || c->ncookies == LOGIN_PAGE_FLOW_MAX_COOKIES) {
        op_log_warn(f->req_id, "login page: cookie %s not set: value not allowed in a cookie",
                    name);
        return false;
    }
    c->cookies[c->ncookies++] = cookie;
    return true;
}

/* Set the subject session cookie to value (NULL: clear it). */
static void login_page_flow_session_cookie(op_flow_t *f, const char *value)
{
    login_page_flow_t *c = f->ctx;

    login_page_flow_cookie(f, c->lp->site.cookie_session, value);
}

/*
 * The pre-session value the tokens of a page's forms are bound to: the
 * browser's cookie when it has a well-formed one, else a new random one
 * that this reply sets. NULL on OOM. A POST has set c->pre already (to
 * its cookie, or to NULL when it had none: its check fails then, and its
 * reply is no form).
 */
static const char *login_page_flow_pre(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;
    const char *pre;

    if (c->pre != NULL)
        return c->pre;
    pre = op_http_req_cookie(c->req, c->lp->site.cookie_pre);
    if (login_page_csrf_pre_ok(pre)) {
        c->pre = pre;
        return pre;
    }
    pre = login_page_csrf_pre_new(f->arena);
    if (pre == NULL || !login_page_flow_cookie(f, c->lp->site.cookie_pre, pre))
        return NULL;
    c->pre = pre;
    return pre;
}

/* The one reply: headers, cookies, then the page or the redirect. */
static void login_page_flow_reply(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;
    static const char too_big[] = "Request too large\n";

    op_http_reply_header(c->req, "X-Frame-Options", "DENY");
    /* No Referer to other sites; a real Origin (not "null") on the
     * page's own form posts, which login_page_site_check requires. */
    op_http_reply_header(c->req, "Referrer-Policy", "same-origin");
    for (size_t i = 0; i < c->ncookies; i++)
        op_http_reply_header(c->req, "Set-Cookie", c->cookies[i]);
    if (c->location != NULL) {
        op_http_reply_header(c->req, "Content-Security-Policy", LOGIN_PAGE_FLOW_REDIRECT_CSP);
        op_http_reply_redirect(c->req, c->location);
        return;
    }
    if (c->page.html == NULL) {
        op_http_reply(c->req, 413, "text/plain; charset=utf-8", too_big, sizeof(too_big) - 1,
                      OP_REPLY_NO_STORE);
        return;
    }
    op_http_reply_header(c->req, "Content-Security-Policy", c->page.csp);
    op_http_reply(c->req, c->status, LOGIN_PAGE_FLOW_HTML, c->page.html, c->page.len,
                  OP_REPLY_NO_STORE);
}

/* ---- the sign-in page ------------------------------------------------- */

/* Prepare the sign-in page for authz session sid: LP_PAGE. */
static int login_page_flow_signin(op_flow_t *f, const char *sid, const login_page_answer_t *ans,
                                  const char *username, const char *error)
{
    login_page_flow_t *c = f->ctx;
    login_page_html_signin_t p = {
        .sid = sid,
        .csrf = login_page_csrf_make(f->arena, &c->lp->keys, LOGIN_PAGE_CSRF_SIGNIN,
                                     login_page_flow_pre(f), sid),
        .ro = c->ro,
        .username = username,
        .select_account = ans != NULL && ans->select_account,
        .create_account = ans != NULL && ans->create_account,
        .error = error,
    };

    /* prompt=select_account with a session: offer to continue with its
     * subject, as named by the server, without a password. */
    if (p.select_account && ans->session_sub != NULL) {
        const login_page_user_t *u = login_page_users_find(&c->lp->users, ans->session_sub);

        p.account = ans->session_sub;
        p.account_name = u != NULL ? u->name : NULL;
        p.account_token = login_page_csrf_account_make(f->arena, &c->lp->keys, sid,
                                                       ans->session_sub, ans->session_auth_time);
    }
    c->status = 200;
    if (p.csrf == NULL || login_page_html_signin(f->arena, &p, &c->page) != OP_OK)
        c->page.html = NULL;
    return LP_PAGE;
}

/* ---- the API call ---------------------------------------------------- */

/* Prepare the call: method, URL (sid NULL: the start URL), JSON body
 * from w (NULL: none). LP_CALL, or LP_PAGE (503) on OOM. */
static int login_page_flow_call(op_flow_t *f, op_http_method_t method, const char *sid,
                                op_json_w_t *w)
{
    login_page_flow_t *c = f->ctx;

    c->method = method;
    c->url = sid != NULL ? op_arena_printf(f->arena, "%s/%s", c->lp->api_url, sid) : c->lp->api_url;
    c->log_url =
        sid != NULL ? op_arena_printf(f->arena, "%s/{sid}", c->lp->api_url) : c->lp->api_url;
    if (c->url == NULL || c->log_url == NULL ||
        (w != NULL && op_json_w_finish(w, &c->body, &c->body_len, NULL) != OP_OK))
        return login_page_flow_message(f, 503, "Service unavailable", "Out of memory.", NULL);
    return LP_CALL;
}

/* The call's completion: keep the answer (a copy in the flow's arena) or
 * the transport's error for LP_S_ANSWER, and resume. */
static void login_page_flow_on_fetch(int status, const op_http_response_t *resp,
                                     const op_err_t *err, void *arg)
{
    op_flow_t *f = arg;
    login_page_flow_t *c = f->ctx;

    c->fetch_status = status;
    if (err != NULL)
        c->fetch_err = *err;
    if (status == OP_OK) {
        c->http_status = resp->status;
        c->resp = op_arena_memdup(f->arena, resp->body, resp->body_len + 1);
        c->resp_len = resp->body_len;
        if (c->resp == NULL)
            c->fetch_status = OP_ETOOBIG;
    }
    op_flow_resume(f);
}

/* LP_S_CALL: start the call and wait in LP_S_ANSWER; a 503 page when
 * shutting down. */
static int login_page_flow_fetch(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;
    const op_http_header_t headers[] = {
        {"Authorization", c->lp->api_auth},
        {"Accept", "application/json"},
    };
    op_http_fetch_t fetch = {
        .method = c->method,
        .url = c->url,
        .headers = headers,
        .nheaders = OP_NELEMS(headers),
        .body = c->body,
        .body_len = c->body_len,
        .content_type = c->body != NULL ? "application/json" : NULL,
        .max_response = LOGIN_PAGE_FLOW_MAX_ANSWER,
    };

    if (c->lp->client == NULL) {
        login_page_flow_message(f, 503, "Service unavailable", "The page is shutting down.", NULL);
        op_flow_set_state(f, LP_S_REPLY);
        return OP_OK;
    }
    op_flow_set_state(f, LP_S_ANSWER);
    op_flow_hold(f);
    op_http_client_fetch(c->lp->client, &fetch, login_page_flow_on_fetch, f);
    return OP_AGAIN;
}

/* ---- following the answer --------------------------------------------- */

/* Prepare the page the server's answer asks for: LP_PAGE. */
static int login_page_flow_follow(op_flow_t *f, const login_page_answer_t *ans)
{
    login_page_flow_t *c = f->ctx;

    switch (ans->kind) {
    case LOGIN_PAGE_ANSWER_AUTH:
        /* We sent a session the server no longer has: forget it. */
        if (c->sent_sub_sid && !ans->has_sub_session)
            login_page_flow_session_cookie(f, NULL);
        return login_page_flow_signin(
            f, ans->sid, ans, ans->login_hint != NULL ? ans->login_hint : c->login.username, NULL);
    case LOGIN_PAGE_ANSWER_CONSENT:
        c->status = 200;
        if (login_page_html_consent(f->arena, ans,
                                    login_page_csrf_make(f->arena, &c->lp->keys,
                                                         LOGIN_PAGE_CSRF_CONSENT,
                                                         login_page_flow_pre(f), ans->sid),
                                    c->ro, &c->page) != OP_OK)
            c->page.html = NULL;
        return LP_PAGE;
    case LOGIN_PAGE_ANSWER_REDIRECT:
    case LOGIN_PAGE_ANSWER_FORM_POST:
        if (ans->sub_sid != NULL)
            login_page_flow_session_cookie(f, ans->sub_sid);
        if (ans->kind == LOGIN_PAGE_ANSWER_REDIRECT) {
            c->location = ans->uri;
        } else {
            c->status = 200;
            if (login_page_html_form_post(f->arena, ans->uri,
                                          login_page_answer_origin(f->arena, ans->uri), ans->form,
                                          &c->page) != OP_OK)
                c->page.html = NULL;
        }
        return LP_PAGE;
    case LOGIN_PAGE_ANSWER_ERROR:
        break;
    }
    return login_page_flow_message(
        f, 400, "Sign-in error",
        "The application's request cannot be processed. Go back to the "
        "application and try again.",
        op_arena_printf(f->arena, "%s%s%s", ans->error, ans->error_description != NULL ? ": " : "",
                        ans->error_description != NULL ? ans->error_description : ""));
}

/* The server's error body's description, when there is one. */
static const char *login_page_flow_api_error(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;
    op_json_t *json = NULL;

    if (op_json_parse(f->arena, c->resp, c->resp_len, NULL, &json, NULL) != OP_OK)
        return NULL;
    return op_json_get_str(json, "error_description");
}

/* The page for what came back from the API (transport errors, statuses,
 * the answer): LP_PAGE. */
static int login_page_flow_answer_page(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;
    const op_json_limits_t lim = {LOGIN_PAGE_FLOW_MAX_ANSWER, 16, 4096};
    login_page_answer_t ans;
    op_json_t *json = NULL;
    op_err_t err;

    op_err_clear(&err);
    if (c->fetch_status == OP_ETIMEDOUT)
        return login_page_flow_message(
            f, 503, "Service unavailable",
            "The sign-in service did not answer in time. Try again later.", NULL);
    if (c->fetch_status != OP_OK)
        return login_page_flow_message(f, 502, "Service unavailable",
                                       "The sign-in service cannot be reached. Try again later.",
                                       NULL);
    if (c->http_status == 404 && c->method != OP_HTTP_POST)
        return login_page_flow_message(f, 400, "Sign-in expired",
                                       "This sign-in took too long and has expired. Go back to the "
                                       "application and start again.",
                                       NULL);
    if (c->http_status == 400)
        return login_page_flow_message(f, 400, "Sign-in error",
                                       "The sign-in service refused the request.",
                                       login_page_flow_api_error(f));
    if (c->http_status == 401 || c->http_status == 403)
        op_log_error(f->req_id, "login page: the server refused the API token (status %d)",
                     c->http_status);
    if (c->http_status == 503)
        return login_page_flow_message(f, 503, "Service unavailable",
                                       "The sign-in service is busy. Try again later.", NULL);
    if (c->http_status != 200) {
        op_log_warn(f->req_id, "login page: %s %s answered %d", login_page_flow_method(c->method),
                    c->log_url, c->http_status);
        return login_page_flow_message(f, 502, "Service unavailable",
                                       "The sign-in service is not available. Try again later.",
                                       NULL);
    }
    if (op_json_parse(f->arena, c->resp, c->resp_len, &lim, &json, &err) != OP_OK ||
        login_page_answer_parse(f->arena, json, &ans, &err) != OP_OK) {
        op_log_warn(f->req_id, "login page: bad answer from the server: %s", err.description);
        return login_page_flow_message(f, 502, "Service unavailable",
                                       "The sign-in service gave an answer this page does not "
                                       "understand.",
                                       NULL);
    }
    return login_page_flow_follow(f, &ans);
}

/* LP_S_ANSWER: read the call's result (a transport error is logged here,
 * without the sid), prepare the page, and reply. */
static int login_page_flow_answer(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;

    if (c->fetch_status != OP_OK)
        op_log_warn(f->req_id, "login page: %s %s: %s", login_page_flow_method(c->method),
                    c->log_url,
                    c->fetch_err.description[0] != '\0' ? c->fetch_err.description
                                                        : op_err_status_name(c->fetch_status));
    login_page_flow_answer_page(f);
    op_flow_set_state(f, LP_S_REPLY);
    return OP_OK;
}

/* ---- the routes' first step ------------------------------------------- */

/* GET /login: hand the request to the server (LP_CALL). */
static int login_page_flow_start_login(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;
    const op_params_t *q = op_http_req_query(c->req);
    const char *sub_sid = op_http_req_cookie(c->req, c->lp->site.cookie_session);
    const char *query = login_page_form_query(f->arena, q);
    op_json_w_t *w = op_json_w_new(f->arena, false);

    c->ro = login_page_answer_origin(f->arena, op_params_get(q, "redirect_uri"));
    if (query == NULL || w == NULL)
        return login_page_flow_message(f, 503, "Service unavailable", "Out of memory.", NULL);
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "query", query);
    if (sub_sid != NULL && sub_sid[0] != '\0') {
        op_json_w_kstr(w, "sub_sid", sub_sid);
        c->sent_sub_sid = true;
    }
    op_json_w_obj_close(w);
    return login_page_flow_call(f, OP_HTTP_POST, NULL, w);
}

/*
 * The checks every POST of the page passes before its token is looked
 * at: sent by one of the page's own pages (login_page_site_check), a form
 * parsed strictly. Sets c->pre to the browser's pre-session value, NULL
 * when it has none (the token check then fails). NULL (and the refusal's
 * page prepared) when the POST is refused.
 */
static const op_params_t *login_page_flow_post_form(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;
    const char *why = login_page_site_check(
        f->arena, &c->lp->site, op_http_req_header(c->req, "Sec-Fetch-Site"),
        op_http_req_header(c->req, "Origin"), op_http_req_header(c->req, "Referer"));
    const char *pre = op_http_req_cookie(c->req, c->lp->site.cookie_pre);
    const op_params_t *p = NULL;
    op_err_t err;

    op_err_clear(&err);
    if (why != NULL) {
        op_log_info(f->req_id, "login page: form refused: %s", why);
        login_page_flow_message(f, 403, "Refused",
                                "This form was sent from another site and is refused.", NULL);
        return NULL;
    }
    c->pre = login_page_csrf_pre_ok(pre) ? pre : NULL;
    if (op_http_req_form(c->req, &p, &err) != OP_OK) {
        login_page_flow_message(f, 400, "Bad request", "The form could not be read.",
                                err.description);
        return NULL;
    }
    return p;
}

/* The client origin a form carried back: kept only if it is one. */
static const char *login_page_flow_ro(op_flow_t *f, const char *ro)
{
    const char *o = login_page_answer_origin(f->arena, ro);

    return o != NULL && strcmp(o, ro) == 0 ? ro : NULL;
}

/* A form whose token is refused: log why, prepare the page (LP_PAGE). */
static int login_page_flow_csrf_refused(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;

    op_log_info(f->req_id, "login page: form refused: %s",
                c->pre == NULL ? "no pre-session cookie" : "token not bound to the cookie");
    return login_page_flow_message(f, 400, "Bad request",
                                   "This form has expired or did not come from this page. Go back "
                                   "to the application and start again (this page needs "
                                   "cookies).",
                                   NULL);
}

/* The authentication result: PUT {sid} {"sub","acr","amr"[,"auth_time"]}
 * (LP_CALL). */
static int login_page_flow_put_auth(op_flow_t *f, bool with_auth_time)
{
    login_page_flow_t *c = f->ctx;
    op_json_w_t *w = op_json_w_new(f->arena, false);

    if (w == NULL)
        return login_page_flow_message(f, 503, "Service unavailable", "Out of memory.", NULL);
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "sub", c->signed_in);
    op_json_w_kstr(w, "acr", LOGIN_PAGE_ACR);
    op_json_w_key(w, "amr");
    op_json_w_arr_open(w);
    op_json_w_str(w, "pwd");
    op_json_w_arr_close(w);
    if (with_auth_time)
        op_json_w_kint(w, "auth_time", c->auth_time);
    op_json_w_obj_close(w);
    op_log_info(f->req_id, "login page: %s signed in", c->signed_in);
    return login_page_flow_call(f, OP_HTTP_PUT, c->login.sid, w);
}

/* The password check's completion: keep its status and resume. */
static void login_page_flow_on_hash(int status, void *result, void *arg)
{
    op_flow_t *f = arg;
    login_page_flow_t *c = f->ctx;

    OP_UNUSED(result);
    c->pw_status = status;
    op_flow_resume(f);
}

/* POST /login: CSRF, then the session's account (LP_CALL) or the
 * password (LP_HASHING: the check runs on a worker thread). */
static int login_page_flow_start_signin(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;
    const op_params_t *p = login_page_flow_post_form(f);
    op_err_t err;

    op_err_clear(&err);
    if (p == NULL)
        return LP_PAGE;
    if (login_page_form_login(p, &c->login, &err) != OP_OK)
        return login_page_flow_message(f, 400, "Bad request", "The sign-in form is incomplete.",
                                       err.description);
    if (!login_page_csrf_check(f->arena, &c->lp->keys, LOGIN_PAGE_CSRF_SIGNIN, c->pre, c->login.sid,
                               c->login.csrf))
        return login_page_flow_csrf_refused(f);
    c->ro = login_page_flow_ro(f, c->login.ro);
    if (c->login.use_account) {
        if (!login_page_csrf_account_check(f->arena, &c->lp->keys, c->login.sid, c->login.account,
                                           &c->signed_in, &c->auth_time))
            return login_page_flow_csrf_refused(f);
        return login_page_flow_put_auth(f, c->auth_time > 0);
    }
    c->user = login_page_users_find(&c->lp->users, c->login.username);
    if (c->lp->pwhash == NULL)
        return login_page_flow_message(f, 503, "Service unavailable", "The page is shutting down.",
                                       NULL);
    op_flow_hold(f);
    login_page_pwhash_verify(c->lp->pwhash, c->user != NULL ? c->user->hash : NULL,
                             c->login.password, c->login.password_len, login_page_flow_on_hash, f);
    return LP_HASHING;
}

/* The state for what a helper prepared (LP_CALL, LP_HASHING, LP_PAGE). */
static int login_page_flow_next(int prepared)
{
    return prepared == LP_CALL ? LP_S_CALL : prepared == LP_HASHING ? LP_S_HASHED : LP_S_REPLY;
}

/* What the password check's status asks for: the authentication PUT
 * (LP_CALL) or a page (LP_PAGE). */
static int login_page_flow_password(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;

    switch (c->pw_status) {
    case OP_OK:
        c->signed_in = c->user->username;
        return login_page_flow_put_auth(f, false);
    case OP_EDENIED:
        op_log_info(f->req_id, "login page: sign-in failed");
        return login_page_flow_signin(f, c->login.sid, NULL, c->login.username,
                                      "The username or password is incorrect.");
    case OP_EUNAVAIL:
        return login_page_flow_message(f, 503, "Service busy",
                                       "Too many sign-ins at this moment. Try again in a moment.",
                                       NULL);
    default:
        return login_page_flow_message(f, 503, "Service unavailable",
                                       "The password could not be checked. Try again later.", NULL);
    }
}

/* LP_S_HASHED: after the password check, the call or the page. */
static int login_page_flow_hashed(op_flow_t *f)
{
    op_flow_set_state(f, login_page_flow_next(login_page_flow_password(f)));
    return OP_OK;
}

/* A list as a JSON array member. */
static void login_page_flow_w_strs(op_json_w_t *w, const char *key, const login_page_strs_t *l)
{
    op_json_w_key(w, key);
    op_json_w_arr_open(w);
    for (size_t i = 0; i < l->n; i++)
        op_json_w_str(w, l->v[i]);
    op_json_w_arr_close(w);
}

/* POST /consent: Allow -> PUT the consent, Deny -> DELETE the session
 * (LP_CALL). */
static int login_page_flow_start_consent(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;
    const op_params_t *p = login_page_flow_post_form(f);
    login_page_form_consent_t form;
    op_json_w_t *w;
    op_err_t err;

    op_err_clear(&err);
    if (p == NULL)
        return LP_PAGE;
    if (login_page_form_consent(f->arena, p, &form, &err) != OP_OK)
        return login_page_flow_message(f, 400, "Bad request", "The consent form is incomplete.",
                                       err.description);
    if (!login_page_csrf_check(f->arena, &c->lp->keys, LOGIN_PAGE_CSRF_CONSENT, c->pre, form.sid,
                               form.csrf))
        return login_page_flow_csrf_refused(f);
    c->ro = login_page_flow_ro(f, form.ro);
    if (!form.allow)
        return login_page_flow_call(f, OP_HTTP_DELETE, form.sid, NULL);
    w = op_json_w_new(f->arena, false);
    if (w == NULL)
        return login_page_flow_message(f, 503, "Service unavailable", "Out of memory.", NULL);
    op_json_w_obj_open(w);
    login_page_flow_w_strs(w, "scope", &form.scope);
    login_page_flow_w_strs(w, "claims", &form.claims);
    op_json_w_kbool(w, "long_lived", form.long_lived);
    op_json_w_obj_close(w);
    return login_page_flow_call(f, OP_HTTP_PUT, form.sid, w);
}

/*
 * GET /logout: ask to confirm (OIDC RP-Initiated Logout 1.0 §2: the OP
 * asks the user whether to log out), so that a link or a redirect from
 * another site cannot sign the browser out. LP_PAGE.
 */
static int login_page_flow_start_logout_get(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;
    const char *csrf = login_page_csrf_make(f->arena, &c->lp->keys, LOGIN_PAGE_CSRF_LOGOUT,
                                            login_page_flow_pre(f), NULL);

    c->status = 200;
    if (csrf == NULL || login_page_html_logout(f->arena, csrf, &c->page) != OP_OK)
        c->page.html = NULL;
    return LP_PAGE;
}

/*
 * POST /logout: forget the session cookie on this browser. Minimal on
 * purpose: the logout session API (logout-sessions/rest/v1, which ends
 * the subject session on the server and notifies the clients) comes
 * later; until then the server-side session simply expires. LP_PAGE.
 */
static int login_page_flow_start_logout_post(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;
    const op_params_t *p = login_page_flow_post_form(f);

    if (p == NULL)
        return LP_PAGE;
    if (!login_page_csrf_check(f->arena, &c->lp->keys, LOGIN_PAGE_CSRF_LOGOUT, c->pre, NULL,
                               op_params_get(p, "csrf")))
        return login_page_flow_csrf_refused(f);
    login_page_flow_session_cookie(f, NULL);
    return login_page_flow_message(f, 200, "Signed out", "You are signed out on this browser.",
                                   NULL);
}

/* LP_S_START: the route's first step; then the call, the password check
 * (wait in LP_S_HASHED) or the page. */
static int login_page_flow_start(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;
    int prepared;

    if (c->route == LP_ROUTE_LOGIN_GET)
        prepared = login_page_flow_start_login(f);
    else if (c->route == LP_ROUTE_LOGOUT_GET)
        prepared = login_page_flow_start_logout_get(f);
    else if (c->route == LP_ROUTE_LOGOUT_POST)
        prepared = login_page_flow_start_logout_post(f);
    else if (c->route == LP_ROUTE_CONSENT_POST)
        prepared = login_page_flow_start_consent(f);
    else
        prepared = login_page_flow_start_signin(f);
    op_flow_set_state(f, login_page_flow_next(prepared));
    return prepared == LP_HASHING ? OP_AGAIN : OP_OK;
}

/* ---- the flow --------------------------------------------------------- */

/* The flow's step: each state's step function, in the order they run. */
static int login_page_flow_step(op_flow_t *f)
{
    switch (f->state) {
    case LP_S_START:
        return login_page_flow_start(f);
    case LP_S_HASHED:
        return login_page_flow_hashed(f);
    case LP_S_CALL:
        return login_page_flow_fetch(f);
    case LP_S_ANSWER:
        return login_page_flow_answer(f);
    case LP_S_REPLY:
        login_page_flow_reply(f);
        return OP_DONE;
    }
    return OP_DONE;
}

static void login_page_flow_on_free(op_flow_t *f)
{
    login_page_flow_t *c = f->ctx;

    if (c != NULL) {
        c->lp->flows--;
        op_http_req_release(c->req);
    }
}

static const op_flow_def_t login_page_flow_def = {
    "login-page", LP_S_MAX, login_page_flow_states, login_page_flow_step, login_page_flow_on_free,
};

/* Start a flow for req; a flow that cannot be had answers 503 at once. */
static void login_page_flow_new(op_http_req_t *req, login_page_t *lp, login_page_flow_route_t route)
{
    static const char oom[] = "Service unavailable\n";
    op_flow_t *f =
        op_flow_new(lp->loop, &login_page_flow_def, LOGIN_PAGE_FLOW_ARENA, op_http_req_id(req));
    login_page_flow_t *c = f != NULL ? op_arena_calloc(f->arena, 1, sizeof(*c)) : NULL;

    if (c == NULL) {
        if (f != NULL)
            op_flow_release(f);
        op_http_reply(req, 503, "text/plain; charset=utf-8", oom, sizeof(oom) - 1,
                      OP_REPLY_NO_STORE);
        return;
    }
    c->lp = lp;
    c->req = req;
    c->route = route;
    lp->flows++;
    op_http_req_hold(req);
    f->ctx = c;
    op_flow_run(f);
}

void login_page_flow_login_get(op_http_req_t *req, void *ctx)
{
    login_page_flow_new(req, ctx, LP_ROUTE_LOGIN_GET);
}

void login_page_flow_login_post(op_http_req_t *req, void *ctx)
{
    login_page_flow_new(req, ctx, LP_ROUTE_LOGIN_POST);
}

void login_page_flow_consent_post(op_http_req_t *req, void *ctx)
{
    login_page_flow_new(req, ctx, LP_ROUTE_CONSENT_POST);
}

void login_page_flow_logout_get(op_http_req_t *req, void *ctx)
{
    login_page_flow_new(req, ctx, LP_ROUTE_LOGOUT_GET);
}

void login_page_flow_logout_post(op_http_req_t *req, void *ctx)
{
    login_page_flow_new(req, ctx, LP_ROUTE_LOGOUT_POST);
}
