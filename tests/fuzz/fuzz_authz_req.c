/*
 * tests/fuzz/fuzz_authz_req.c - libFuzzer target for the authorisation
 * request model (core/proto/op_authz_req.c, op_authz_claims.c, op_authz_resp.c).
 *
 * Each input is an authorisation request query, parsed against a fixed
 * set of demo clients (plain PKCE allowed for odd sizes). Whatever the
 * outcome, the rules must hold:
 *  - a success has a known client, one of its redirect URIs, a response
 *    type it registered, no query mode for tokens, and builds a response
 *    and both consent prompt objects;
 *  - a redirectable error has the client and redirect_uri, and its error
 *    response builds; any error has a code and a description.
 * Any broken rule aborts.
 *
 *   make build/fuzz/fuzz_authz_req
 *   build/fuzz/fuzz_authz_req CORPUS_COPY   (seeds: tests/fuzz/corpus/authz_req)
 */
#include <stdlib.h>
#include <string.h>

#include "core/proto/op_authz_resp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_authz_req_clients_json[] =
    "[{\"client_id\":\"demo-client\",\"client_secret\":\"demo-secret\","
    "\"application_type\":\"native\","
    "\"redirect_uris\":[\"http://127.0.0.1:9999/callback\",\"https://app.example/cb?x=1\"],"
    "\"grant_types\":[\"authorization_code\",\"implicit\",\"refresh_token\"],"
    "\"response_types\":[\"code\",\"id_token\",\"token\",\"id_token token\",\"code id_token\","
    "\"code token\",\"code id_token token\",\"none\"],"
    "\"scope\":\"openid profile email address phone offline_access\"},"
    "{\"client_id\":\"pub\",\"token_endpoint_auth_method\":\"none\","
    "\"application_type\":\"native\",\"redirect_uris\":[\"http://127.0.0.1:9999/cb\"]},"
    "{\"client_id\":\"s256\",\"client_secret\":\"s\",\"code_challenge_method\":\"S256\","
    "\"redirect_uris\":[\"https://s256.example/cb\"]}]";

static op_arena_t *fuzz_authz_req_arena;
static op_client_t *fuzz_authz_req_clients;
static size_t fuzz_authz_req_n;

static const op_client_t *fuzz_authz_req_find(void *arg, const char *client_id)
{
    (void)arg;
    for (size_t i = 0; i < fuzz_authz_req_n; i++) {
        if (strcmp(fuzz_authz_req_clients[i].client_id, client_id) == 0)
            return &fuzz_authz_req_clients[i];
    }
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    op_err_t err;

    (void)argc;
    (void)argv;
    fuzz_authz_req_arena = op_arena_new(1u << 20);
    if (fuzz_authz_req_arena == NULL ||
        op_client_parse_all(fuzz_authz_req_arena, fuzz_authz_req_clients_json,
                            strlen(fuzz_authz_req_clients_json), "fuzz", &fuzz_authz_req_clients,
                            &fuzz_authz_req_n, &err) != OP_OK)
        abort();
    return 0;
}

/* Do a and b name the same http loopback IP URI but for the port
 * (RFC 8252 §7.3)? An oracle apart from the matcher: it drops
 * ":<digits>" after "http://127.0.0.1" or "http://[::1]" and compares. */
static bool fuzz_authz_req_same_but_port(const char *a, const char *b)
{
    static const char *const hosts[] = {"http://127.0.0.1", "http://[::1]"};
    for (size_t h = 0; h < 2; h++) {
        size_t n = strlen(hosts[h]);
        if (strncmp(a, hosts[h], n) != 0 || strncmp(b, hosts[h], n) != 0)
            continue;
        a += n;
        b += n;
        if (*a == ':')
            a += 1 + strspn(a + 1, "0123456789");
        if (*b == ':')
            b += 1 + strspn(b + 1, "0123456789");
        return *a == '/' && strcmp(a, b) == 0;
    }
    return false;
}

static bool fuzz_authz_req_registered(const op_authz_req_t *r)
{
    const op_client_t *c = r->client;
    bool uri = false, rt = false;

    for (size_t i = 0; i < c->redirect_uris.n; i++)
        uri |= strcmp(c->redirect_uris.items[i], r->redirect_uri) == 0 ||
               (c->application_type == OP_CLIENT_APP_NATIVE &&
                fuzz_authz_req_same_but_port(c->redirect_uris.items[i], r->redirect_uri));
    for (size_t i = 0; i < c->n_response_types; i++)
        rt |= c->response_types[i] == r->response_type;
    return uri && rt;
}

/* The success path: response, prompts, and the writer must all finish. */
static void fuzz_authz_req_success(op_arena_t *a, const op_authz_req_t *r)
{
    static const char *const consented[] = {"openid", "email", "name#de", "address"};
    const op_authz_param_t p[] = {{"code", "c0de"}, {"scope", "openid"}};
    op_authz_resp_t resp;
    op_json_w_t *w;
    const char *out;
    op_err_t err;

    if (r->client == NULL || r->redirect_uri == NULL || !fuzz_authz_req_registered(r))
        abort();
    if (r->response_mode == OP_AUTHZ_MODE_QUERY &&
        (r->response_type & (OP_CLIENT_RT_ID_TOKEN | OP_CLIENT_RT_TOKEN)))
        abort();
    if ((r->response_type & OP_CLIENT_RT_ID_TOKEN) &&
        (r->nonce == NULL || !op_authz_req_has_scope(r, "openid")))
        abort();
    if (r->claims.n_userinfo + r->claims.n_id_token > OP_AUTHZ_CLAIMS_MAX)
        abort();
    if (op_authz_resp_build(a, r, "https://op.example", p, 2, &resp, &err) != OP_OK)
        abort();
    w = op_json_w_new(a, false);
    if (w == NULL)
        abort();
    op_json_w_obj_open(w);
    op_authz_resp_write(&resp, w);
    op_json_w_key(w, "scope");
    op_authz_req_scope_prompt(r, consented, OP_NELEMS(consented), w);
    op_json_w_key(w, "claims");
    op_authz_claims_prompt(r, consented, OP_NELEMS(consented), w);
    op_json_w_obj_close(w);
    if (op_json_w_finish(w, &out, NULL, &err) != OP_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const op_authz_clients_t lookup = {fuzz_authz_req_find, NULL};
    const op_authz_policy_t policy = {size % 2 == 1};
    op_arena_t *a = op_arena_new(16u << 20);
    op_authz_req_t r;
    op_authz_error_t e;
    op_authz_resp_t resp;
    op_err_t err;
    int rc;

    if (a == NULL)
        return 0;
    rc = op_authz_req_parse(a, (const char *)data, size, &lookup, &policy, &r, &e);
    if (rc == OP_OK) {
        fuzz_authz_req_success(a, &r);
        goto cleanup_arena;
    }
    if (e.err.code != rc || e.err.oauth_error == NULL || e.err.description[0] == '\0' ||
        (rc != OP_EINVAL && rc != OP_ETOOBIG))
        abort();
    if (e.redirectable) {
        if (r.client == NULL || r.redirect_uri == NULL)
            abort();
        if (op_authz_resp_error(a, &r, "https://op.example", e.err.oauth_error, e.err.description,
                                &resp, &err) != OP_OK)
            abort();
    }
cleanup_arena:
    op_arena_free(a);
    return 0;
}
