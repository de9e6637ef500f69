/*
 * examples/login-page/login_page_form.c - the page's own forms, read from
 * strictly parsed parameters (http/op_http.h), and the start request's
 * query string.
 *
 * Every field is hostile: the sid goes into a URL path, so it is held to
 * a URL-safe alphabet; lengths are bounded; an unknown action is refused.
 * Checkbox lists use one name per box ("scope_0", "scope_1", ...) because
 * the strict parser refuses a repeated name.
 */
#include <string.h>

#include "examples/login-page/login_page.h"

#define LOGIN_PAGE_FORM_MAX_ITEMS 64

static int login_page_form_bad(op_err_t *err, const char *what)
{
    return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400, "%s", what);
}

bool login_page_form_sid_ok(const char *sid)
{
    size_t n = sid != NULL ? strlen(sid) : 0;

    if (n == 0 || n > LOGIN_PAGE_SID_MAX)
        return false;
    return strspn(sid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") == n;
}

/* sid, csrf and ro: the fields every form of the page has. */
static int login_page_form_common(const op_params_t *p, const char **sid, const char **csrf,
                                  const char **ro, op_err_t *err)
{
    *sid = op_params_get(p, "sid");
    *csrf = op_params_get(p, "csrf");
    *ro = op_params_get(p, "ro");
    if (*csrf == NULL || **csrf == '\0')
        return login_page_form_bad(err, "the form has no CSRF token");
    if (!login_page_form_sid_ok(*sid))
        return login_page_form_bad(err, "the form has no valid session id");
    if (*ro != NULL && **ro == '\0')
        *ro = NULL;
    return OP_OK;
}

int login_page_form_login(const op_params_t *p, login_page_form_login_t *out, op_err_t *err)
{
    const char *action;
    const op_param_t *pw;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = login_page_form_common(p, &out->sid, &out->csrf, &out->ro, err);
    if (rc != OP_OK)
        return rc;
    action = op_params_get(p, "action");
    if (action != NULL && strcmp(action, "continue") == 0) {
        out->use_account = true;
        out->account = op_params_get(p, "account");
        if (out->account == NULL || out->account[0] == '\0')
            return login_page_form_bad(err, "no account chosen");
        return OP_OK;
    }
    if (action != NULL && strcmp(action, "signin") != 0)
        return login_page_form_bad(err, "unknown action");
    out->username = op_params_get(p, "username");
    pw = op_params_find(p, "password");
    if (out->username == NULL || out->username[0] == '\0' || pw == NULL || pw->value_len == 0)
        return login_page_form_bad(err, "enter a username and a password");
    if (strlen(out->username) > LOGIN_PAGE_USERNAME_MAX || pw->value_len > LOGIN_PAGE_PASSWORD_MAX)
        return login_page_form_bad(err, "username or password too long");
    out->password = pw->value;
    out->password_len = pw->value_len;
    return OP_OK;
}

/* Append value to list (capacity LOGIN_PAGE_FORM_MAX_ITEMS). */
static int login_page_form_push(login_page_strs_t *list, const char *value, op_err_t *err)
{
    if (list->n >= LOGIN_PAGE_FORM_MAX_ITEMS)
        return login_page_form_bad(err, "too many items");
    if (value[0] != '\0')
        list->v[list->n++] = value;
    return OP_OK;
}

int login_page_form_consent(op_arena_t *a, const op_params_t *p, login_page_form_consent_t *out,
                            op_err_t *err)
{
    const char *action;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = login_page_form_common(p, &out->sid, &out->csrf, &out->ro, err);
    if (rc != OP_OK)
        return rc;
    action = op_params_get(p, "action");
    if (action == NULL || (strcmp(action, "allow") != 0 && strcmp(action, "deny") != 0))
        return login_page_form_bad(err, "choose Allow or Deny");
    out->allow = strcmp(action, "allow") == 0;
    out->long_lived = op_params_find(p, "long_lived") != NULL;
    out->scope.v = op_arena_calloc(a, LOGIN_PAGE_FORM_MAX_ITEMS, sizeof(char *));
    out->claims.v = op_arena_calloc(a, LOGIN_PAGE_FORM_MAX_ITEMS, sizeof(char *));
    if (out->scope.v == NULL || out->claims.v == NULL)
        return OP_ERR(err, OP_ETOOBIG, "form too large");
    for (size_t i = 0; i < p->n; i++) {
        const op_param_t *it = &p->items[i];

        if (op_str_has_prefix(it->name, "scope_"))
            rc = login_page_form_push(&out->scope, it->value, err);
        else if (op_str_has_prefix(it->name, "claim_"))
            rc = login_page_form_push(&out->claims, it->value, err);
        if (rc != OP_OK)
            return rc;
    }
    return OP_OK;
}

/* Encoded pieces first, then one copy: linear in the size of the query. */
char *login_page_form_query(op_arena_t *a, const op_params_t *q)
{
    char **enc = op_arena_calloc(a, 2 * q->n + 1, sizeof(char *));
    size_t total = 0, off = 0;
    char *s;

    if (enc == NULL)
        return NULL;
    for (size_t i = 0; i < q->n; i++) {
        enc[2 * i] = op_params_urlencode(a, q->items[i].name, q->items[i].name_len);
        enc[2 * i + 1] = op_params_urlencode(a, q->items[i].value, q->items[i].value_len);
        if (enc[2 * i] == NULL || enc[2 * i + 1] == NULL)
            return NULL;
        total += strlen(enc[2 * i]) + strlen(enc[2 * i + 1]) + 2; /* '=' and '&' */
    }
    s = op_arena_alloc(a, total + 1);
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < q->n; i++) {
        size_t nl = strlen(enc[2 * i]), vl = strlen(enc[2 * i + 1]);

        if (i > 0)
            s[off++] = '&';
        memcpy(s + off, enc[2 * i], nl);
        off += nl;
        s[off++] = '=';
        memcpy(s + off, enc[2 * i + 1], vl);
        off += vl;
    }
    s[off] = '\0';
    return s;
}
