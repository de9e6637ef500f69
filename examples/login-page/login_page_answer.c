/*
 * examples/login-page/login_page_answer.c - reading the answers of the
 * authorisation session API (reference §2.1, "Server -> UI messages") and
 * deciding what the browser gets.
 *
 *   {"type":"auth", "sid", "select_account", "create_account",
 *    "login_hint", "sub_session"?: {"sub", "auth_time", ...}, ...}
 *                                                          -> sign-in page
 *   {"type":"consent", "sid", "client":{...}, "scope":{"new","consented"},
 *    "claims":{"new":{"essential","voluntary"},"consented":{...}}, ...}
 *                                                          -> consent page
 *   {"type":"response", "mode", "parameters":{"uri","form"?}, "sub_sid"?}
 *                                       -> 302, or an auto-submitting form
 *   {"type":"error", "error", "error_description"}         -> error page
 *
 * The server is trusted, but the page still refuses what it must never
 * relay: a response URI that is not absolute or whose scheme would run
 * content in the page's origin (javascript:, data:, ...).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "examples/login-page/login_page.h"

static int login_page_answer_bad(op_err_t *err, const char *what)
{
    return OP_ERR_OAUTH(err, OP_EPROTO, "server_error", 502, "unexpected answer: %s", what);
}

/* The strings of array member key of obj (non-strings skipped). */
static int login_page_answer_strs(op_arena_t *a, const op_json_t *obj, const char *key,
                                  login_page_strs_t *out)
{
    const op_json_t *arr = op_json_get(obj, key);

    out->v = NULL;
    out->n = 0;
    if (!op_json_is(arr, OP_JSON_ARRAY))
        return OP_OK;
    out->v = op_arena_calloc(a, arr->u.arr.n + 1, sizeof(char *));
    if (out->v == NULL)
        return OP_ETOOBIG;
    for (size_t i = 0; i < arr->u.arr.n; i++) {
        if (op_json_is(arr->u.arr.items[i], OP_JSON_STRING))
            out->v[out->n++] = arr->u.arr.items[i]->u.str.s;
    }
    return OP_OK;
}

/* Concatenate two lists into a new one. */
static int login_page_answer_concat(op_arena_t *a, const login_page_strs_t *x,
                                    const login_page_strs_t *y, login_page_strs_t *out)
{
    out->n = 0;
    out->v = op_arena_calloc(a, x->n + y->n + 1, sizeof(char *));
    if (out->v == NULL)
        return OP_ETOOBIG;
    for (size_t i = 0; i < x->n; i++)
        out->v[out->n++] = x->v[i];
    for (size_t i = 0; i < y->n; i++)
        out->v[out->n++] = y->v[i];
    return OP_OK;
}

static bool login_page_answer_bool(const op_json_t *obj, const char *key)
{
    bool v = false;

    return op_json_get_bool(obj, key, &v) && v;
}

/* An http(s) link of the client's metadata, else NULL. */
static const char *login_page_answer_link(const op_json_t *client, const char *key)
{
    const char *s = op_json_get_str(client, key);

    if (s == NULL || !login_page_answer_uri_ok(s) ||
        !(op_str_has_prefix(s, "https://") || op_str_has_prefix(s, "http://")))
        return NULL;
    return s;
}

static int login_page_answer_consent(op_arena_t *a, const op_json_t *json, login_page_answer_t *out)
{
    const op_json_t *client = op_json_get(json, "client");
    const op_json_t *scope = op_json_get(json, "scope");
    const op_json_t *claims = op_json_get(json, "claims");
    const op_json_t *cnew = op_json_get(claims, "new");
    const op_json_t *cold = op_json_get(claims, "consented");
    login_page_strs_t old_essential, old_voluntary;

    out->client_id = op_json_get_str(client, "client_id");
    out->client_name = op_json_get_str(client, "name");
    out->policy_uri = login_page_answer_link(client, "policy_uri");
    out->tos_uri = login_page_answer_link(client, "tos_uri");
    if (login_page_answer_strs(a, scope, "new", &out->scope_new) != OP_OK ||
        login_page_answer_strs(a, scope, "consented", &out->scope_consented) != OP_OK ||
        login_page_answer_strs(a, cnew, "essential", &out->claims_essential) != OP_OK ||
        login_page_answer_strs(a, cnew, "voluntary", &out->claims_voluntary) != OP_OK ||
        login_page_answer_strs(a, cold, "essential", &old_essential) != OP_OK ||
        login_page_answer_strs(a, cold, "voluntary", &old_voluntary) != OP_OK ||
        login_page_answer_concat(a, &old_essential, &old_voluntary, &out->claims_consented) !=
            OP_OK)
        return OP_ETOOBIG;
    return OP_OK;
}

/* "response": where to send the browser, and how. */
static int login_page_answer_response(const op_json_t *json, login_page_answer_t *out,
                                      op_err_t *err)
{
    static const char *const redirect_modes[] = {"query", "fragment", "query.jwt", "fragment.jwt"};
    static const char *const form_modes[] = {"form_post", "form_post.jwt"};
    const op_json_t *params = op_json_get(json, "parameters");
    const op_json_t *sub_sid = op_json_get(json, "sub_sid");
    bool known = false;

    out->mode = op_json_get_str(json, "mode");
    for (size_t i = 0; out->mode != NULL && i < OP_NELEMS(redirect_modes); i++) {
        if (strcmp(out->mode, redirect_modes[i]) == 0) {
            out->kind = LOGIN_PAGE_ANSWER_REDIRECT;
            known = true;
        }
    }
    for (size_t i = 0; out->mode != NULL && i < OP_NELEMS(form_modes); i++) {
        if (strcmp(out->mode, form_modes[i]) == 0) {
            out->kind = LOGIN_PAGE_ANSWER_FORM_POST;
            known = true;
        }
    }
    if (!known)
        return login_page_answer_bad(err, "response mode missing or unknown");
    out->uri = op_json_get_str(params, "uri");
    if (out->uri == NULL || !login_page_answer_uri_ok(out->uri))
        return login_page_answer_bad(err, "response URI missing or unsafe");
    if (out->kind == LOGIN_PAGE_ANSWER_FORM_POST) {
        out->form = op_json_get(params, "form");
        if (!op_json_is(out->form, OP_JSON_OBJECT))
            return login_page_answer_bad(err, "form_post without a form");
        for (size_t i = 0; i < out->form->u.obj.n; i++) {
            if (!op_json_is(out->form->u.obj.vals[i], OP_JSON_STRING))
                return login_page_answer_bad(err, "a form_post value is not a string");
        }
    }
    if (sub_sid != NULL) {
        if (!op_json_is(sub_sid, OP_JSON_STRING) || sub_sid->u.str.len == 0)
            return login_page_answer_bad(err, "sub_sid is not a string");
        out->sub_sid = sub_sid->u.str.s;
    }
    return OP_OK;
}

int login_page_answer_parse(op_arena_t *a, const op_json_t *json, login_page_answer_t *out,
                            op_err_t *err)
{
    const char *type = op_json_get_str(json, "type");
    const op_json_t *sub_session = op_json_get(json, "sub_session");

    memset(out, 0, sizeof(*out));
    if (type == NULL)
        return login_page_answer_bad(err, "no \"type\"");
    if (strcmp(type, "error") == 0) {
        out->kind = LOGIN_PAGE_ANSWER_ERROR;
        out->error = op_json_get_str(json, "error");
        out->error_description = op_json_get_str(json, "error_description");
        if (out->error == NULL)
            out->error = "server_error";
        return OP_OK;
    }
    if (strcmp(type, "response") == 0)
        return login_page_answer_response(json, out, err);
    if (strcmp(type, "auth") != 0 && strcmp(type, "consent") != 0)
        return login_page_answer_bad(err, "unknown \"type\"");
    out->sid = op_json_get_str(json, "sid");
    if (!login_page_form_sid_ok(out->sid))
        return login_page_answer_bad(err, "\"sid\" missing or not URL-safe");
    if (strcmp(type, "auth") == 0) {
        out->kind = LOGIN_PAGE_ANSWER_AUTH;
        out->select_account = login_page_answer_bool(json, "select_account");
        out->create_account = login_page_answer_bool(json, "create_account");
        out->login_hint = op_json_get_str(json, "login_hint");
        out->has_sub_session = op_json_is(sub_session, OP_JSON_OBJECT);
        out->session_sub = op_json_get_str(sub_session, "sub");
        if (!op_json_get_int(sub_session, "auth_time", &out->session_auth_time) ||
            out->session_auth_time < 0)
            out->session_auth_time = 0;
        return OP_OK;
    }
    out->kind = LOGIN_PAGE_ANSWER_CONSENT;
    if (login_page_answer_consent(a, json, out) != OP_OK)
        return OP_ERR(err, OP_ETOOBIG, "the server's answer is too large");
    return OP_OK;
}

/* Length of the scheme of uri (RFC 3986 §3.1), 0 when there is none. */
static size_t login_page_answer_scheme_len(const char *uri)
{
    size_t i = 0;

    if (!isalpha((unsigned char)uri[0]))
        return 0;
    while (isalnum((unsigned char)uri[i]) || uri[i] == '+' || uri[i] == '-' || uri[i] == '.')
        i++;
    return uri[i] == ':' ? i : 0;
}

bool login_page_answer_uri_ok(const char *uri)
{
    static const char *const unsafe[] = {"javascript", "data",  "vbscript",  "file",
                                         "blob",       "about", "filesystem"};
    size_t n;

    if (uri == NULL || (n = login_page_answer_scheme_len(uri)) == 0)
        return false;
    for (const unsigned char *p = (const unsigned char *)uri; *p != '\0'; p++) {
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    }
    for (size_t i = 0; i < OP_NELEMS(unsafe); i++) {
        if (strlen(unsafe[i]) == n && strncasecmp(uri, unsafe[i], n) == 0)
            return false;
    }
    return true;
}

/* host [":" port] with host a name, an IPv4 address or "[IPv6]". */
static bool login_page_answer_authority_ok(const char *s, size_t n)
{
    size_t i = 0;

    if (n > 0 && s[0] == '[') {
        while (i < n && s[i] != ']')
            i++;
        if (i == n || strspn(s + 1, "0123456789abcdefABCDEF:.") < i - 1)
            return false;
        i++;
    } else {
        while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-'))
            i++;
        if (i == 0)
            return false;
    }
    if (i == n)
        return true;
    if (s[i] != ':' || i + 1 == n)
        return false;
    for (i++; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

char *login_page_answer_origin(op_arena_t *a, const char *uri)
{
    size_t sn, an;
    const char *auth;
    char *out;

    if (!login_page_answer_uri_ok(uri))
        return NULL;
    sn = login_page_answer_scheme_len(uri);
    if ((sn == 4 && strncasecmp(uri, "http", 4) == 0) ||
        (sn == 5 && strncasecmp(uri, "https", 5) == 0)) {
        if (strncmp(uri + sn, "://", 3) != 0)
            return NULL;
        auth = uri + sn + 3;
        an = strcspn(auth, "/?#");
        if (!login_page_answer_authority_ok(auth, an))
            return NULL;
        out = op_arena_strndup(a, uri, sn + 3 + an);
    } else {
        out = op_arena_strndup(a, uri, sn + 1); /* "scheme:" */
    }
    for (size_t i = 0; out != NULL && i < sn; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
    return out;
}
