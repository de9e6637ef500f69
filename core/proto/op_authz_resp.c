/*
 * core/proto/op_authz_resp.c - the final authorisation response: the redirect
 * URI with the parameters in its query or fragment, or the form_post
 * target and fields (RFC 6749 §4.1.2, §4.2.2; Multiple Response Types
 * §2.1; Form Post Response Mode §2), always with "iss" (RFC 9207 §2) and
 * the request's "state".
 */
#include <string.h>

#include "core/proto/op_authz_resp.h"

/* A byte allowed in error and error_description (RFC 6749 §4.1.2.1):
 * %x20-21 / %x23-5B / %x5D-7E. */
static bool op_authz_resp_text_byte(unsigned char c)
{
    return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
}

/* The description made safe for the redirect: '"' and '\' become '\'',
 * any other byte outside the set '?'. NULL when a is full. */
static char *op_authz_resp_clean(op_arena_t *a, const char *s)
{
    char *d = op_arena_strdup(a, s);

    for (char *p = d; p != NULL && *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            *p = '\'';
        else if (!op_authz_resp_text_byte((unsigned char)*p))
            *p = '?';
    }
    return d;
}

/*
 * The whole redirect URI: req's redirect_uri, then '?' (or '&' after an
 * existing query, kept as registered: RFC 6749 §3.1.2) for query, '#'
 * for fragment, then name=value pairs percent-encoded and joined by '&'.
 */
static char *op_authz_resp_uri(op_arena_t *a, const char *base, op_authz_mode_t mode,
                               const op_authz_param_t *f, size_t n)
{
    size_t blen = strlen(base), len = blen + 1;
    const char *sep = "#";
    char **enc = op_arena_calloc(a, 2 * n, sizeof(*enc));
    char *out, *o;

    if (enc == NULL)
        return NULL;
    if (mode == OP_AUTHZ_MODE_QUERY) {
        const char *q = strchr(base, '?');

        sep = q == NULL ? "?" : (base[blen - 1] == '?' || base[blen - 1] == '&') ? "" : "&";
    }
    len += strlen(sep);
    for (size_t i = 0; i < n; i++) {
        enc[2 * i] = op_params_urlencode(a, f[i].name, strlen(f[i].name));
        enc[2 * i + 1] = op_params_urlencode(a, f[i].value, strlen(f[i].value));
        if (enc[2 * i] == NULL || enc[2 * i + 1] == NULL)
            return NULL;
        len += strlen(enc[2 * i]) + strlen(enc[2 * i + 1]) + 2; /* '=' and '&' */
    }
    out = o = op_arena_alloc(a, len);
    if (out == NULL)
        return NULL;
    memcpy(o, base, blen);
    o += blen;
    memcpy(o, sep, strlen(sep));
    o += strlen(sep);
    for (size_t i = 0; i < 2 * n; i++) {
        size_t l = strlen(enc[i]);

        if (i > 0)
            *o++ = i % 2 == 1 ? '=' : '&';
        memcpy(o, enc[i], l);
        o += l;
    }
    *o = '\0';
    return out;
}

/*
 * Common end of both builders: params[0..n), then state (when the
 * request had one) and iss, laid out for the request's response mode.
 */
static int op_authz_resp_make(op_arena_t *a, const op_authz_req_t *req, const char *issuer,
                              const op_authz_param_t *params, size_t n, op_authz_resp_t *out,
                              op_err_t *err)
{
    op_authz_param_t *f;
    size_t k = n;

    memset(out, 0, sizeof(*out));
    if (req == NULL || req->redirect_uri == NULL || req->redirect_uri[0] == '\0' ||
        issuer == NULL || issuer[0] == '\0')
        return OP_ERR(err, OP_EINVAL, "authorisation response without redirect_uri or issuer");
    if (strchr(req->redirect_uri, '#') != NULL)
        return OP_ERR(err, OP_EINVAL, "redirect_uri must not have a fragment");
    f = op_arena_calloc(a, n + 2, sizeof(*f));
    if (f == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the authorisation response is too large for the arena");
    if (n > 0)
        memcpy(f, params, n * sizeof(*f));
    if (req->state != NULL)
        f[k++] = (op_authz_param_t){"state", req->state};
    f[k++] = (op_authz_param_t){"iss", issuer};

    out->mode = req->response_mode;
    if (req->response_mode == OP_AUTHZ_MODE_FORM_POST) {
        out->uri = req->redirect_uri;
        out->form = f;
        out->n_form = k;
        return OP_OK;
    }
    out->uri = op_authz_resp_uri(a, req->redirect_uri, req->response_mode, f, k);
    if (out->uri == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the authorisation response is too large for the arena");
    return OP_OK;
}

/* See core/proto/op_authz_req.h. */
int op_authz_resp_build(op_arena_t *a, const op_authz_req_t *req, const char *issuer,
                        const op_authz_param_t *params, size_t n, op_authz_resp_t *out,
                        op_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = params[i].name;

        if (name == NULL || name[0] == '\0' || params[i].value == NULL)
            return OP_ERR(err, OP_EINVAL, "response parameter %zu without a name or value", i);
        if (strcmp(name, "state") == 0 || strcmp(name, "iss") == 0)
            return OP_ERR(err, OP_EINVAL, "response parameter %s is added by the server", name);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(params[j].name, name) == 0)
                return OP_ERR(err, OP_EINVAL, "response parameter %s repeated", name);
        }
    }
    return op_authz_resp_make(a, req, issuer, params, n, out, err);
}

/* See core/proto/op_authz_req.h. */
int op_authz_resp_error(op_arena_t *a, const op_authz_req_t *req, const char *issuer,
                        const char *error, const char *description, op_authz_resp_t *out,
                        op_err_t *err)
{
    op_authz_param_t p[2];
    size_t n = 0;

    if (error == NULL || error[0] == '\0')
        return OP_ERR(err, OP_EINVAL, "error response without an error code");
    for (const char *c = error; *c != '\0'; c++) {
        if (!op_authz_resp_text_byte((unsigned char)*c))
            return OP_ERR(err, OP_EINVAL, "error code with a character RFC 6749 does not allow");
    }
    p[n++] = (op_authz_param_t){"error", error};
    if (description != NULL && description[0] != '\0') {
        p[n] = (op_authz_param_t){"error_description", op_authz_resp_clean(a, description)};
        if (p[n++].value == NULL)
            return OP_ERR(err, OP_ETOOBIG, "the error response is too large for the arena");
    }
    return op_authz_resp_make(a, req, issuer, p, n, out, err);
}

/* See core/proto/op_authz_req.h. */
void op_authz_resp_write(const op_authz_resp_t *resp, op_json_w_t *w)
{
    op_json_w_kstr(w, "type", "response");
    op_json_w_kstr(w, "mode", op_authz_req_mode_name(resp->mode));
    op_json_w_key(w, "parameters");
    op_json_w_obj_open(w);
    op_json_w_kstr(w, "uri", resp->uri);
    if (resp->mode == OP_AUTHZ_MODE_FORM_POST) {
        op_json_w_key(w, "form");
        op_json_w_obj_open(w);
        for (size_t i = 0; i < resp->n_form; i++)
            op_json_w_kstr(w, resp->form[i].name, resp->form[i].value);
        op_json_w_obj_close(w);
    }
    op_json_w_obj_close(w);
}
