/*
 * tests/fuzz/fuzz_authz_resp.c - libFuzzer target for the authorisation
 * response builder (core/proto/op_authz_resp.c): the redirect URI with its
 * query or fragment, the form_post fields, the error response and its
 * JSON form (op_authz_resp_write), from hostile state, error,
 * error_description and parameters, against each kind of registered
 * redirect URI.
 *
 * Input: a byte of choices (bits 0-1 the response mode, bit 5 state or
 * not, bit 6 an error response), a byte choosing the redirect URI, one
 * for the number of parameters, then length-prefixed strings: state,
 * error, error_description, and up to four parameter names and values. The rules
 * (RFC 6749 §3.1.2, §4.1.2, §4.1.2.1; Form Post Response Mode §2; RFC 9207):
 *  - a success response is refused exactly when a parameter has no name,
 *    is named state or iss, or is repeated; an error response exactly
 *    when the error code is empty or has a byte RFC 6749 does not allow;
 *    a refusal is OP_EINVAL with a description;
 *  - query and fragment: the URI is the registered one, then '?', '&' or
 *    nothing (query; as the registered query ends) or '#', then the
 *    parameters, state and iss, in order, each byte unreserved or %XX,
 *    so they decode back to exactly what was given;
 *  - form_post: the action is the registered URI, the fields exactly the
 *    parameters, state and iss;
 *  - error_description keeps its length and every byte RFC 6749 allows,
 *    and has no other byte;
 *  - the JSON form finishes and parses back when every value is valid
 *    UTF-8, and names the same URI.
 * Any broken rule aborts.
 *
 *   make build/fuzz/fuzz_authz_resp
 *   build/fuzz/fuzz_authz_resp CORPUS_COPY   (seeds: tests/fuzz/corpus/authz_resp)
 */
#include <stdlib.h>
#include <string.h>

#include "core/proto/op_authz_resp.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_AUTHZ_RESP_ISSUER     "https://op.example"
#define FUZZ_AUTHZ_RESP_MAX_PARAMS 4

/* Redirect URIs as clients register them; the last one is refused. */
static const char *const fuzz_authz_resp_bases[] = {
    "https://app.example/cb",      "https://app.example/cb?x=1",     "https://app.example/cb?",
    "https://app.example/cb?x=1&", "http://127.0.0.1:9999/callback", "com.example.app:/oauth2/cb",
    "https://app.example/cb#frag",
};

/* A byte RFC 6749 §4.1.2.1 allows in error and error_description. */
static bool fuzz_authz_resp_text_byte(unsigned char c)
{
    return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
}

/* Decode s[0..len) where every byte must be unreserved or %XX (upper
 * case hex); NULL when one is not. */
static char *fuzz_authz_resp_decode(op_arena_t *a, const char *s, size_t len)
{
    char *out = op_arena_alloc(a, len + 1), *o = out;

    if (out == NULL)
        abort();
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi = i + 2 < len ? fuzz_check_hex(s[i + 1]) : -1;
            int lo = i + 2 < len ? fuzz_check_hex(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return NULL;
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        } else if (fuzz_check_unreserved((unsigned char)s[i])) {
            *o++ = s[i];
        } else {
            return NULL;
        }
    }
    *o = '\0';
    return out;
}

/* The fields every response carries: params, then state, then iss. */
typedef struct fuzz_authz_resp_fields {
    op_authz_param_t f[FUZZ_AUTHZ_RESP_MAX_PARAMS + 3];
    size_t n;
} fuzz_authz_resp_fields_t;

/* The query or fragment part q must be exactly the fields, in order. */
static void fuzz_authz_resp_check_pairs(op_arena_t *a, const char *q,
                                        const fuzz_authz_resp_fields_t *want)
{
    size_t k = 0;

    for (const char *p = q; k < want->n; k++) {
        const char *amp = strchr(p, '&'), *end = amp != NULL ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq == NULL)
            abort();
        char *name = fuzz_authz_resp_decode(a, p, (size_t)(eq - p));
        char *value = fuzz_authz_resp_decode(a, eq + 1, (size_t)(end - eq - 1));
        if (name == NULL || value == NULL || strcmp(name, want->f[k].name) != 0 ||
            strcmp(value, want->f[k].value) != 0)
            abort();
        if (amp == NULL ? k + 1 != want->n : k + 1 == want->n)
            abort();
        p = amp != NULL ? amp + 1 : end;
    }
}

static void fuzz_authz_resp_check_uri(op_arena_t *a, const op_authz_resp_t *r, const char *base,
                                      const fuzz_authz_resp_fields_t *want)
{
    size_t bl = strlen(base);
    const char *sep = "#";

    if (r->mode == OP_AUTHZ_MODE_FORM_POST) {
        if (strcmp(r->uri, base) != 0 || r->n_form != want->n)
            abort();
        for (size_t i = 0; i < want->n; i++) {
            if (strcmp(r->form[i].name, want->f[i].name) != 0 ||
                strcmp(r->form[i].value, want->f[i].value) != 0)
                abort();
        }
        return;
    }
    if (r->form != NULL || strncmp(r->uri, base, bl) != 0)
        abort();
    if (r->mode == OP_AUTHZ_MODE_QUERY)
        sep = strchr(base, '?') == NULL                    ? "?"
              : base[bl - 1] == '?' || base[bl - 1] == '&' ? ""
                                                           : "&";
    if (strncmp(r->uri + bl, sep, strlen(sep)) != 0)
        abort();
    fuzz_authz_resp_check_pairs(a, r->uri + bl + strlen(sep), want);
}

/* error_description as sent: same length, allowed bytes kept, nothing
 * else outside the set. */
static void fuzz_authz_resp_check_description(const char *sent, const char *given)
{
    if (strlen(sent) != strlen(given))
        abort();
    for (size_t i = 0; sent[i] != '\0'; i++) {
        if (!fuzz_authz_resp_text_byte((unsigned char)sent[i]))
            abort();
        if (fuzz_authz_resp_text_byte((unsigned char)given[i]) && sent[i] != given[i])
            abort();
    }
}

/* The JSON form: it must finish when every value is valid UTF-8 (the
 * URI of query and fragment is ASCII by construction), and name the URI. */
static void fuzz_authz_resp_check_json(op_arena_t *a, const op_authz_resp_t *r)
{
    bool utf8 = true;
    op_json_w_t *w = op_json_w_new(a, false);
    const op_json_t *v, *params;
    const char *out;
    size_t len;
    op_err_t err;

    if (w == NULL)
        abort();
    for (size_t i = 0; i < r->n_form; i++)
        utf8 &= op_json_utf8_valid(r->form[i].name, strlen(r->form[i].name)) &&
                op_json_utf8_valid(r->form[i].value, strlen(r->form[i].value));
    op_json_w_obj_open(w);
    op_authz_resp_write(r, w);
    op_json_w_obj_close(w);
    if (op_json_w_finish(w, &out, &len, &err) != OP_OK) {
        if (utf8)
            abort();
        return;
    }
    op_json_t *tree;
    if (op_json_parse(a, out, len, NULL, &tree, &err) != OP_OK)
        abort();
    v = tree;
    params = op_json_get(v, "parameters");
    if (!op_str_eq(op_json_get_str(params, "uri"), r->uri) ||
        !op_str_eq(op_json_get_str(v, "mode"), op_authz_req_mode_name(r->mode)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    op_authz_param_t params[FUZZ_AUTHZ_RESP_MAX_PARAMS];
    fuzz_authz_resp_fields_t want = {.n = 0};
    op_authz_resp_t r;
    op_authz_req_t req;
    op_err_t err;
    bool refused = false;
    size_t n = 0;
    int rc;

    if (size < 3)
        return 0;
    op_arena_t *a = op_arena_new(16u << 20);
    if (a == NULL)
        return 0;
    uint8_t choice = *p++;
    const char *base = fuzz_authz_resp_bases[*p++ % OP_NELEMS(fuzz_authz_resp_bases)];
    size_t nparams = *p++ % (FUZZ_AUTHZ_RESP_MAX_PARAMS + 1);
    memset(&req, 0, sizeof(req));
    req.redirect_uri = base;
    req.response_mode = (op_authz_mode_t)((choice & 3) % 3);
    char *state = fuzz_check_string(a, &p, end);
    char *error = fuzz_check_string(a, &p, end);
    char *desc = fuzz_check_string(a, &p, end);
    req.state = choice & 0x20 ? state : NULL;
    bool error_response = choice & 0x40;

    if (error_response) {
        want.f[want.n++] = (op_authz_param_t){"error", error};
        if (desc[0] != '\0')
            want.f[want.n++] = (op_authz_param_t){"error_description", desc};
        refused = error[0] == '\0';
        for (const char *c = error; *c != '\0'; c++)
            refused |= !fuzz_authz_resp_text_byte((unsigned char)*c);
    } else {
        for (; n < nparams; n++) {
            params[n].name = fuzz_check_string(a, &p, end);
            params[n].value = fuzz_check_string(a, &p, end);
            refused |= params[n].name[0] == '\0' || strcmp(params[n].name, "state") == 0 ||
                       strcmp(params[n].name, "iss") == 0;
            for (size_t j = 0; j < n; j++)
                refused |= strcmp(params[j].name, params[n].name) == 0;
            want.f[want.n++] = params[n];
        }
    }
    if (req.state != NULL)
        want.f[want.n++] = (op_authz_param_t){"state", req.state};
    want.f[want.n++] = (op_authz_param_t){"iss", FUZZ_AUTHZ_RESP_ISSUER};
    refused |= strchr(base, '#') != NULL;

    op_err_clear(&err);
    rc = error_response
             ? op_authz_resp_error(a, &req, FUZZ_AUTHZ_RESP_ISSUER, error, desc, &r, &err)
             : op_authz_resp_build(a, &req, FUZZ_AUTHZ_RESP_ISSUER, params, n, &r, &err);
    if (refused) {
        if (rc != OP_EINVAL || err.code != rc || err.description[0] == '\0')
            abort();
        goto cleanup_arena;
    }
    if (rc != OP_OK || r.mode != req.response_mode)
        abort();
    if (error_response && desc[0] != '\0') {
        /* the sent description is checked here, the rest against it */
        const char *sent = NULL;
        if (r.mode == OP_AUTHZ_MODE_FORM_POST) {
            sent = r.form[1].value;
        } else {
            const char *d = strstr(r.uri + strlen(base), "error_description=");
            const char *e = d != NULL ? strchr(d, '&') : NULL;
            if (d == NULL || e == NULL)
                abort();
            d += strlen("error_description=");
            sent = fuzz_authz_resp_decode(a, d, (size_t)(e - d));
        }
        if (sent == NULL)
            abort();
        fuzz_authz_resp_check_description(sent, desc);
        want.f[1].value = sent;
    }
    fuzz_authz_resp_check_uri(a, &r, base, &want);
    fuzz_authz_resp_check_json(a, &r);
cleanup_arena:
    op_arena_free(a);
    return 0;
}
