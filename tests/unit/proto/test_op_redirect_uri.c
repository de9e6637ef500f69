/*
 * tests/unit/proto/test_op_redirect_uri.c - the redirect_uri of an authorisation
 * request must be one of the client's, by exact string comparison
 * (RFC 6749 §3.1.2.3, OIDC Core §3.1.2.1), checked by op_authz_req_parse
 * before anything else and never answered by a redirect (RFC 6749
 * §4.1.2.1). The rows are the near misses an attacker sends: another
 * case, port, path, query, fragment, encoding, user info or host.
 */
#include "core/proto/op_authz_req.h"
#include "tests/unit/op_test.h"

static const char CLIENTS[] =
    "[{\"client_id\":\"web\",\"client_secret\":\"s3cret\",\"redirect_uris\":"
    "[\"https://rp.example/cb\",\"https://rp.example/cb2?tenant=a\"]}]";

static op_arena_t *arena;
static op_client_t *clients;
static size_t n_clients;

static const op_client_t *find_client(void *arg, const char *client_id)
{
    OP_UNUSED(arg);
    for (size_t i = 0; i < n_clients; i++) {
        if (strcmp(clients[i].client_id, client_id) == 0)
            return &clients[i];
    }
    return NULL;
}

/* Parse a code request of client "web" for redirect_uri (raw, encoded
 * here); the request and error land in *req and *error. */
static int parse(const char *redirect_uri, op_authz_req_t *req, op_authz_error_t *error)
{
    const op_authz_clients_t lookup = {find_client, NULL};
    char *ruri = op_params_urlencode(arena, redirect_uri, strlen(redirect_uri));
    char *q = op_arena_printf(arena,
                              "response_type=code&client_id=web&scope=openid&state=s1&"
                              "redirect_uri=%s",
                              ruri);

    OP_CHECK(ruri != NULL && q != NULL);
    return op_authz_req_parse(arena, q, strlen(q), &lookup, NULL, req, error);
}

static void setup(void)
{
    op_err_t err;

    arena = op_arena_new(8u << 20);
    OP_CHECK(arena != NULL);
    OP_CHECK_INT(
        op_client_parse_all(arena, CLIENTS, strlen(CLIENTS), "test", &clients, &n_clients, &err),
        OP_OK);
}

/* The registered URIs, byte for byte, pass. */
static void test_registered(void)
{
    static const char *const ok[] = {"https://rp.example/cb", "https://rp.example/cb2?tenant=a"};
    op_authz_req_t req;
    op_authz_error_t error;

    setup();
    for (size_t i = 0; i < OP_NELEMS(ok); i++) {
        OP_CHECK_INT(parse(ok[i], &req, &error), OP_OK);
        OP_CHECK_STR(req.redirect_uri, ok[i]);
    }
    op_arena_free(arena);
}

/* Every near miss: invalid_request, not redirectable, nothing echoed. */
static void test_near_misses(void)
{
    static const char *const bad[] = {
        "https://rp.example/cb/",
        "https://rp.example/Cb",
        "https://RP.example/cb",
        "HTTPS://rp.example/cb",
        "https://rp.example:443/cb",
        "https://rp.example./cb",
        "http://rp.example/cb",
        "https://rp.example/cb?",
        "https://rp.example/cb?x=1",
        "https://rp.example/cb#",
        "https://rp.example/cb#x",
        "https://rp.example/%63b",
        "https://rp.example/cb%2F",
        "https://rp.example/./cb",
        "https://rp.example/x/../cb",
        "https://rp.example//cb",
        "https://rp.example/c",
        "https://rp.example/cbx",
        "https://rp.example/cb ",
        " https://rp.example/cb",
        "https://rp.example/cb2",
        "https://rp.example/cb2?tenant=A",
        "https://rp.example/cb2?tenant=a&x=1",
        "https://rp.example/cb2?x=1&tenant=a",
        "https://rp.example/cb2?tenant=%61",
        "https://user@rp.example/cb",
        "https://rp.example.evil.example/cb",
        "https://evil.example/https://rp.example/cb",
        "https://evil.example/?https://rp.example/cb",
        "//rp.example/cb",
        "rp.example/cb",
    };
    op_authz_req_t req;
    op_authz_error_t error;

    setup();
    for (size_t i = 0; i < OP_NELEMS(bad); i++) {
        int rc = parse(bad[i], &req, &error);
        if (rc != OP_EINVAL || !op_str_eq(error.err.oauth_error, "invalid_request") ||
            error.redirectable) {
            fprintf(stderr, "redirect_uri \"%s\": rc %d, %s, redirectable %d\n", bad[i], rc,
                    error.err.oauth_error ? error.err.oauth_error : "-", error.redirectable);
            exit(1);
        }
        OP_CHECK(strstr(error.err.description, "evil") == NULL);
    }
    op_arena_free(arena);
}

static const op_test_case_t cases[] = {
    {"registered", test_registered},
    {"near_misses", test_near_misses},
};

OP_TEST_MAIN(cases)
