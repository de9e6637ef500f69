/*
 * examples/login-page/login_page.c - the login-page command: options,
 * start-up, routes, shutdown.
 *
 *   login-page [--listen 127.0.0.1:8081] [--server http://127.0.0.1:8080]
 *              [--users examples/login-page/users.json]
 *              [--api-token-env LOGIN_PAGE_API_TOKEN] [--secret-env NAME]
 *              [--public-url URL] [--hash-threads N] [--log-level info]
 *   login-page --hash-password     (reads a password on stdin, prints its
 *                                   Argon2id hash for users.json)
 *
 * One single-threaded event loop (the project's op_loop) serves every
 * request; only the Argon2id password checks run on worker threads.
 * SIGTERM / SIGINT stop accepting, let requests in progress finish (at
 * most LOGIN_PAGE_GRACE_MS), then exit 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "examples/login-page/login_page.h"
#include "keys/op_keys.h"

#define LOGIN_PAGE_GRACE_MS           10000
#define LOGIN_PAGE_DRAIN_POLL_MS      20
#define LOGIN_PAGE_API_TIMEOUT_MS     10000
#define LOGIN_PAGE_REQUEST_TIMEOUT_MS 20000
#define LOGIN_PAGE_HASH_QUEUE         64
#define LOGIN_PAGE_TOKEN_MAX          512

typedef struct login_page_opts {
    const char *listen;
    const char *server;
    const char *users;
    const char *token_env;
    const char *secret_env;
    const char *public_url; /* NULL: http://<listen address> */
    unsigned hash_threads;
    op_log_level_t log_level;
    /* parsed */
    char address[64];
    int port;
} login_page_opts_t;

static void login_page_usage(FILE *out)
{
    fprintf(out,
            "usage: login-page [--listen ADDR:PORT] [--server URL] [--users FILE]\n"
            "                  [--api-token-env NAME] [--secret-env NAME] [--public-url URL]\n"
            "                  [--hash-threads N] [--log-level LEVEL]\n"
            "  --listen         where to listen (IP literal), default 127.0.0.1:8081\n"
            "  --server         the Tessera server, default http://127.0.0.1:8080\n"
            "  --users          users file, default examples/login-page/users.json\n"
            "  --api-token-env  variable holding the API token, default LOGIN_PAGE_API_TOKEN\n"
            "  --secret-env     variable holding the page secret (64 hex digits; default:\n"
            "                   random per process)\n"
            "  --public-url     the page's origin as browsers see it, e.g.\n"
            "                   https://login.example.com (behind a TLS proxy); https makes\n"
            "                   the cookies Secure and __Host- named. Default: http://ADDR:PORT\n"
            "  --hash-threads   password-check threads, 1..64, default 2\n"
            "  --log-level      debug, info, warn or error\n"
            "login-page --hash-password < FILE: print the Argon2id hash of the password\n"
            "  on the first line of stdin, for users.json\n");
}

/* "127.0.0.1:8081" or "[::1]:8081" into address and port. */
static bool login_page_parse_listen(login_page_opts_t *o)
{
    const char *s = o->listen, *colon;
    size_t alen;
    int64_t port;

    if (s[0] == '[') {
        const char *end = strchr(s, ']');

        if (end == NULL || end[1] != ':')
            return false;
        s++;
        alen = (size_t)(end - s);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return false;
        alen = (size_t)(colon - s);
    }
    if (alen == 0 || alen >= sizeof(o->address) ||
        !op_str_parse_i64(colon + 1, strlen(colon + 1), 0, 65535, &port))
        return false;
    memcpy(o->address, s, alen);
    o->address[alen] = '\0';
    o->port = (int)port;
    return true;
}

/* --hash-password: the hash of the first line of stdin, for users.json
 * (crypto_pwhash_str, interactive limits). Returns the exit code. */
static int login_page_hash_password(void)
{
    char pw[LOGIN_PAGE_PASSWORD_MAX + 2];
    char out[crypto_pwhash_STRBYTES];
    size_t n;
    int rc = 1;

    if (fgets(pw, sizeof(pw), stdin) == NULL) {
        fprintf(stderr, "login-page: no password on stdin\n");
        return 1;
    }
    n = strcspn(pw, "\r\n");
    if (n == 0 || n > LOGIN_PAGE_PASSWORD_MAX) {
        fprintf(stderr, "login-page: the password must be 1 to %d bytes\n",
                LOGIN_PAGE_PASSWORD_MAX);
        goto out_wipe;
    }
    if (crypto_pwhash_str(out, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        fprintf(stderr, "login-page: out of memory hashing the password\n");
        goto out_wipe;
    }
    printf("%s\n", out);
    rc = 0;
out_wipe:
    sodium_memzero(pw, sizeof(pw));
    return rc;
}

/* Read the options; false after printing why. */
static bool login_page_options(int argc, char **argv, login_page_opts_t *o)
{
    *o = (login_page_opts_t){
        .listen = "127.0.0.1:8081",
        .server = "http://127.0.0.1:8080",
        .users = "examples/login-page/users.json",
        .token_env = "LOGIN_PAGE_API_TOKEN",
        .hash_threads = 2,
        .log_level = OP_LOG_INFO,
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            login_page_usage(stdout);
            exit(0);
        }
        if (v == NULL) {
            login_page_usage(stderr);
            return false;
        }
        i++;
        if (strcmp(a, "--listen") == 0) {
            o->listen = v;
        } else if (strcmp(a, "--server") == 0) {
            o->server = v;
        } else if (strcmp(a, "--users") == 0) {
            o->users = v;
        } else if (strcmp(a, "--api-token-env") == 0) {
            o->token_env = v;
        } else if (strcmp(a, "--secret-env") == 0) {
            o->secret_env = v;
        } else if (strcmp(a, "--public-url") == 0) {
            o->public_url = v;
        } else if (strcmp(a, "--hash-threads") == 0 && op_str_parse_i64(v, strlen(v), 1, 64, &n)) {
            o->hash_threads = (unsigned)n;
        } else if (strcmp(a, "--log-level") == 0 && op_log_level_parse(v, &o->log_level)) {
            continue;
        } else {
            fprintf(stderr, "login-page: bad option or value: %s %s\n", a, v);
            login_page_usage(stderr);
            return false;
        }
    }
    if (!login_page_parse_listen(o)) {
        fprintf(stderr, "login-page: --listen: expected ADDR:PORT or [ADDR]:PORT, got \"%s\"\n",
                o->listen);
        return false;
    }
    if (!op_str_has_prefix(o->server, "http://") && !op_str_has_prefix(o->server, "https://")) {
        fprintf(stderr, "login-page: --server: expected an http(s) URL, got \"%s\"\n", o->server);
        return false;
    }
    return true;
}

/* The API token from the environment: RFC 6750 b64token, bounded. */
static const char *login_page_token(op_arena_t *a, const char *env)
{
    const char *t = getenv(env);
    size_t n = t != NULL ? strlen(t) : 0;

    if (n == 0 || n > LOGIN_PAGE_TOKEN_MAX ||
        strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=") != n) {
        fprintf(stderr,
                "login-page: set %s to the API token of the authorisation session API "
                "(1 to %d token characters)\n",
                env, LOGIN_PAGE_TOKEN_MAX);
        return NULL;
    }
    return op_arena_printf(a, "Bearer %s", t);
}

/* The page's keys, from the page secret: from the environment (64 hex
 * digits), else random. The secret itself is wiped at once. */
static bool login_page_keys(const char *env, login_page_keys_t *out)
{
    uint8_t secret[LOGIN_PAGE_SECRET_LEN];
    const char *s;

    if (env == NULL) {
        op_keys_crypto_rand_bytes(secret, sizeof(secret));
    } else {
        s = getenv(env);
        if (s == NULL || !op_hex_decode(s, strlen(s), secret, sizeof(secret))) {
            fprintf(stderr, "login-page: set %s to %d hex digits\n", env,
                    2 * LOGIN_PAGE_SECRET_LEN);
            return false;
        }
    }
    login_page_csrf_keys(secret, out);
    sodium_memzero(secret, sizeof(secret));
    return true;
}

/* The page's site: --public-url, else the address it listens on. */
static bool login_page_site(op_arena_t *a, login_page_t *lp, const login_page_opts_t *o)
{
    bool v6 = strchr(o->address, ':') != NULL;
    const char *url = o->public_url != NULL
                          ? o->public_url
                          : op_arena_printf(a, "http://%s%s%s:%d", v6 ? "[" : "", o->address,
                                            v6 ? "]" : "", op_http_port(lp->http));
    op_err_t err;

    op_err_clear(&err);
    if (url == NULL || login_page_site_init(a, url, &lp->site, &err) != OP_OK) {
        op_log_error(NULL, "login page: --public-url: %s",
                     url != NULL ? err.description : "too long");
        return false;
    }
    return true;
}

/*
 * Shutdown, polled: wait for the flows in progress (up to the grace
 * period), then close the API client and the password pool, which cancel
 * whatever still waits on them; stop once the last flow has ended.
 */
static void login_page_drain(void *arg)
{
    login_page_t *lp = arg;

    if (lp->flows > 0 && lp->client != NULL && op_loop_now_ms() < lp->drain_deadline_ms) {
        op_timer_start(lp->drain_timer, LOGIN_PAGE_DRAIN_POLL_MS);
        return;
    }
    if (lp->client != NULL) {
        if (lp->flows > 0)
            op_log_warn(NULL, "login page: %zu requests cancelled at shutdown", lp->flows);
        op_http_client_free(lp->client);
        lp->client = NULL;
        login_page_pwhash_free(lp->pwhash);
        lp->pwhash = NULL;
    }
    if (lp->flows > 0) {
        op_timer_start(lp->drain_timer, LOGIN_PAGE_DRAIN_POLL_MS);
        return;
    }
    op_loop_stop(lp->loop);
}

static void login_page_on_signal(void *arg)
{
    login_page_t *lp = arg;

    if (lp->stopping)
        return;
    lp->stopping = true;
    op_log_info(NULL, "login page: shutting down");
    op_http_stop_accepting(lp->http);
    lp->drain_deadline_ms = op_loop_now_ms() + LOGIN_PAGE_GRACE_MS;
    login_page_drain(lp);
}

/* Start the parts that live on the loop. */
static int login_page_start(login_page_t *lp, const login_page_opts_t *o, op_err_t *err)
{
    const op_http_route_t routes[] = {
        {OP_HTTP_GET, "/login", 0, login_page_flow_login_get, lp},
        {OP_HTTP_POST, "/login", 0, login_page_flow_login_post, lp},
        {OP_HTTP_POST, "/consent", 0, login_page_flow_consent_post, lp},
        {OP_HTTP_GET, "/logout", 0, login_page_flow_logout_get, lp},
        {OP_HTTP_POST, "/logout", 0, login_page_flow_logout_post, lp},
    };
    const op_http_client_config_t cc = {
        .connect_timeout_ms = 3000,
        .timeout_ms = LOGIN_PAGE_API_TIMEOUT_MS,
        .max_response = 256 * 1024,
        .user_agent = "tessera-login-page",
    };
    const op_http_config_t hc = {
        .address = o->address,
        .port = o->port,
        .fd = -1,
        .max_body = 64 * 1024,
        .max_headers = 16 * 1024,
        .idle_timeout_s = 30,
        .request_timeout_ms = LOGIN_PAGE_REQUEST_TIMEOUT_MS,
        .arena_max = 1024 * 1024,
    };

    lp->drain_timer = op_timer_new(lp->loop, login_page_drain, lp);
    if (op_loop_signal(lp->loop, SIGTERM, login_page_on_signal, lp) != OP_OK ||
        op_loop_signal(lp->loop, SIGINT, login_page_on_signal, lp) != OP_OK)
        return OP_ERR(err, OP_ERROR, "cannot set up signal handling");
    lp->pwhash = login_page_pwhash_new(lp->loop, o->hash_threads, LOGIN_PAGE_HASH_QUEUE, err);
    if (lp->pwhash == NULL)
        return OP_ERROR;
    lp->client = op_http_client_new(lp->loop, &cc, err);
    if (lp->client == NULL)
        return OP_ERROR;
    lp->http = op_http_new(lp->loop, &hc, routes, OP_NELEMS(routes), err);
    if (lp->http == NULL)
        return OP_ERROR;
    return OP_OK;
}

int main(int argc, char **argv)
{
    login_page_opts_t o;
    login_page_t lp;
    op_arena_t *a = NULL;
    op_err_t err;
    size_t server_len;
    int rc = 1;

    memset(&lp, 0, sizeof(lp));
    op_err_clear(&err);
    signal(SIGPIPE, SIG_IGN);
    if (op_keys_global_init() != OP_OK) {
        fprintf(stderr, "login-page: cannot initialise the crypto libraries\n");
        return 1;
    }
    if (argc == 2 && strcmp(argv[1], "--hash-password") == 0)
        return login_page_hash_password();
    if (!login_page_options(argc, argv, &o))
        return 2;
    op_log_init(o.log_level, 2);
    a = op_arena_new(16u << 20);
    server_len = strlen(o.server);
    while (server_len > 0 && o.server[server_len - 1] == '/')
        server_len--;
    lp.api_url = op_arena_printf(a, "%.*s/authz-sessions/rest/v3", (int)server_len, o.server);
    lp.api_auth = login_page_token(a, o.token_env);
    if (lp.api_url == NULL || lp.api_auth == NULL || !login_page_keys(o.secret_env, &lp.keys))
        goto out_free_arena;
    if (login_page_users_load(a, o.users, &lp.users, &err) != OP_OK) {
        fprintf(stderr, "login-page: %s\n", err.description);
        goto out_free_arena;
    }
    lp.loop = op_loop_new();
    if (lp.loop == NULL) {
        fprintf(stderr, "login-page: cannot create the event loop\n");
        goto out_free_arena;
    }
    if (login_page_start(&lp, &o, &err) != OP_OK) {
        op_log_error(NULL, "login page: start-up failed: %s", err.description);
        goto out_free_loop;
    }
    if (!login_page_site(a, &lp, &o))
        goto out_free_loop;
    op_log_info(NULL, "login page: ready on %s/login (port %d, server API %s, %zu users)",
                lp.site.origin, op_http_port(lp.http), lp.api_url, lp.users.n);
    rc = op_loop_run(lp.loop) == OP_OK ? 0 : 1;
out_free_loop:
    op_http_client_free(lp.client);
    login_page_pwhash_free(lp.pwhash);
    op_http_free(lp.http);
    op_timer_free(lp.drain_timer);
    op_loop_free(lp.loop);
out_free_arena:
    sodium_memzero(&lp.keys, sizeof(lp.keys));
    op_arena_free(a);
    return rc;
}
