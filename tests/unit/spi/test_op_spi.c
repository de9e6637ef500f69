/*
 * Unit tests: spi/op_spi_loader.c, spi/op_spi_host.c, spi/op_spi_claims.c
 * - loading plugins, the host services, asking and merging claims sources.
 *
 * Plugins come from the build: the example build/asan/plugins/
 * timer_claims.so and the test plugins of tests/unit/plugins (a scriptable
 * "fake" claims source and descriptors that are wrong in one way each).
 * Every claims callback is counted, checked never to run inside
 * op_spi_claims_get, and checked again after the loop ran dry, so late
 * completions are seen to be dropped; LeakSanitizer checks that they are
 * freed. Reference: Connect2id claims source SPI (interfaces reference
 * §3.0 cardinality, §3.1 merging and "null if subject unknown").
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "core/base/op.h"
#include "keys/op_keys.h"
#include "spi/op_spi_host.h"
#include "spi/op_spi_int.h"
#include "tests/unit/op_test.h"

#define TIMER_SO  "build/asan/plugins/timer_claims.so"
#define FAKE_SO   "build/asan/tests/plugins/fake_claims.so"
#define PLUGIN(n) "build/asan/tests/plugins/" n ".so"
#define TC        "https://example.com/claims/"

static op_loop_t *loop;
static bool in_call; /* inside op_spi_claims_get or op_spi_loader_close */
static char users_path[64];

/* ---- plugin properties ------------------------------------------------ */

typedef struct prop {
    const char *key;
    const char *value;
} prop_t;

static const prop_t *props; /* the current test's, {NULL, NULL}-terminated */

static const char *lookup(void *arg, const char *key)
{
    OP_CHECK(arg == &props);
    for (const prop_t *p = props; p != NULL && p->key != NULL; p++) {
        if (strcmp(p->key, key) == 0)
            return p->value;
    }
    return NULL;
}

/* ---- set-up ------------------------------------------------------------ */

static void write_file(char *path, size_t size, const char *text)
{
    snprintf(path, size, "/tmp/op-spi-test-XXXXXX");
    int fd = mkstemp(path);
    OP_CHECK(fd >= 0);
    size_t len = strlen(text);
    OP_CHECK(write(fd, text, len) == (ssize_t)len);
    close(fd);
}

static void setup(void)
{
    loop = op_loop_new();
    OP_CHECK(loop != NULL);
    OP_CHECK(op_keys_global_init() == OP_OK);
    write_file(users_path, sizeof(users_path),
               "{\"alice\": {\"name\": \"Alice\", \"name#de\": \"Alicia\","
               " \"email\": \"alice@example.com\"},"
               " \"bob\": {\"name\": \"Bob\"}}");
}

static void teardown(void)
{
    unlink(users_path);
    op_loop_free(loop);
}

static int open_spi(op_http_client_t *http, const char *const *paths, size_t n, const char *users,
                    op_spi_t **out, op_err_t *err)
{
    op_spi_settings_t s = {paths, n, lookup, &props};
    op_err_clear(err);
    return op_spi_loader_open(loop, http, &s, users, out, err);
}

static op_spi_t *open_ok(const char *const *paths, size_t n, const char *users)
{
    op_spi_t *spi = NULL;
    op_err_t err;
    int rc = open_spi(NULL, paths, n, users, &spi, &err);
    if (rc != OP_OK)
        fprintf(stderr, "op_spi_loader_open: %s\n", err.description);
    OP_CHECK_INT(rc, OP_OK);
    OP_CHECK(spi != NULL);
    return spi;
}

/* Loading must fail with OP_EINVAL and a description containing needle. */
static void open_refused(const char *const *paths, size_t n, const char *users, const char *needle)
{
    op_spi_t *spi = (op_spi_t *)&spi;
    op_err_t err;
    int rc = open_spi(NULL, paths, n, users, &spi, &err);
    OP_CHECK_INT(rc, OP_EINVAL);
    OP_CHECK(spi == NULL);
    if (strstr(err.description, needle) == NULL)
        fprintf(stderr, "description: %s\n", err.description);
    OP_CHECK(strstr(err.description, needle) != NULL);
}

/* ---- claims lookups ------------------------------------------------------ */

typedef struct result {
    int calls;
    int status;
    char json[4096];
    char desc[OP_ERR_DESC_MAX];
    char oauth[64];
    int http_status;
    bool stop; /* stop the loop when the answer comes */
} result_t;

static void on_claims(int status, const op_json_t *claims, const op_err_t *err, void *arg)
{
    result_t *r = arg;
    OP_CHECK(!in_call); /* never synchronous */
    r->calls++;
    r->status = status;
    if (status == OP_OK) {
        OP_CHECK(claims != NULL && err == NULL);
        OP_CHECK(claims->type == OP_JSON_OBJECT);
        op_arena_t *a = op_arena_new(1 << 20);
        op_json_w_t *w = op_json_w_new(a, false);
        const char *out = NULL;
        op_json_w_value(w, claims);
        OP_CHECK(op_json_w_finish(w, &out, NULL, NULL) == OP_OK);
        snprintf(r->json, sizeof(r->json), "%s", out);
        op_arena_free(a);
    } else {
        OP_CHECK(claims == NULL && err != NULL);
        OP_CHECK_INT(err->code, status);
        snprintf(r->desc, sizeof(r->desc), "%s", err->description);
        snprintf(r->oauth, sizeof(r->oauth), "%s", err->oauth_error);
        r->http_status = err->http_status;
    }
    if (r->stop)
        op_loop_stop(loop);
}

static void get(op_spi_t *spi, const op_spi_claims_query_t *q, uint64_t deadline_ms, result_t *r)
{
    in_call = true;
    op_spi_claims_get(spi, q, deadline_ms, on_claims, r);
    in_call = false;
    OP_CHECK_INT(r->calls, 0);
}

/* Run the loop until nothing is left to do. */
static void run(void)
{
    OP_CHECK_INT(op_loop_run(loop), OP_OK);
}

static void close_spi(op_spi_t *spi)
{
    in_call = true;
    op_spi_loader_close(spi);
    in_call = false;
}

/* The merged claims of r, parsed into a. */
static const op_json_t *claims_of(op_arena_t *a, const result_t *r)
{
    op_json_t *v = NULL;
    OP_CHECK_INT(r->status, OP_OK);
    OP_CHECK(op_json_parse(a, r->json, strlen(r->json), NULL, &v, NULL) == OP_OK);
    return v;
}

/* Look up names for sub and expect OP_OK; the merged object in r. */
static void lookup_ok(op_spi_t *spi, const char *sub, const char *const *names, size_t n,
                      result_t *r)
{
    op_spi_claims_query_t q = {.sub = sub, .claims = names, .n_claims = n, .req_id = "r-test"};
    get(spi, &q, 5000, r);
    run();
    OP_CHECK_INT(r->calls, 1);
    if (r->status != OP_OK)
        fprintf(stderr, "status %d: %s\n", r->status, r->desc);
    OP_CHECK_INT(r->status, OP_OK);
}

/* ---- refusals at start-up (c-style rule 18, reference §3.0) -------------- */

static void test_refuse_missing_file(void)
{
    setup();
    const char *paths[] = {"build/asan/plugins/no_such_plugin.so"};
    open_refused(paths, 1, NULL, "cannot load plugin");
    teardown();
}

static void test_refuse_path_without_slash(void)
{
    setup();
    const char *paths[] = {"timer_claims.so"};
    open_refused(paths, 1, NULL, "must name a file with a '/'");
    teardown();
}

static void test_refuse_no_entry(void)
{
    setup();
    const char *paths[] = {PLUGIN("no_entry")};
    open_refused(paths, 1, NULL, "no op_spi_entry");
    teardown();
}

static void test_refuse_wrong_abi(void)
{
    setup();
    const char *paths[] = {PLUGIN("bad_abi")};
    open_refused(paths, 1, NULL, "built for plugin ABI 999");
    teardown();
}

static void test_refuse_small_descriptor(void)
{
    setup();
    const char *paths[] = {PLUGIN("bad_size")};
    open_refused(paths, 1, NULL, "descriptor has 16 bytes");
    teardown();
}

static void test_refuse_wrong_build_sig(void)
{
    setup();
    const char *paths[] = {PLUGIN("bad_sig")};
    open_refused(paths, 1, NULL, "build signature \"op-spi/1/p4/l4/i4/le\"");
    teardown();
}

static void test_refuse_bad_name(void)
{
    setup();
    const char *paths[] = {PLUGIN("bad_name")};
    open_refused(paths, 1, NULL, "its name must be");
    teardown();
}

static void test_refuse_duplicate_name(void)
{
    setup();
    const char *paths[] = {TIMER_SO, TIMER_SO};
    open_refused(paths, 2, NULL, "the name timer-claims is taken by " TIMER_SO);
    teardown();
}

/* Reference §3.0: a claim name may be supported by one source only. */
static void test_refuse_overlapping_claims(void)
{
    setup();
    const char *fake[] = {FAKE_SO};
    const char *fake_timer[] = {FAKE_SO, TIMER_SO};
    static const prop_t exact[] = {{"plugin.fake.claims", "email"}, {NULL, NULL}};
    static const prop_t star[] = {{"plugin.fake.claims", "*"}, {NULL, NULL}};
    static const prop_t prefix[] = {{"plugin.fake.claims", "e*"}, {NULL, NULL}};
    static const prop_t inside[] = {{"plugin.fake.claims", "x," TC "points"}, {NULL, NULL}};
    static const prop_t wider[] = {{"plugin.fake.claims", "https://example.com/*"}, {NULL, NULL}};
    props = exact;
    open_refused(fake, 1, users_path, "claims sources users-file (\"email\") and fake (\"email\")");
    props = star;
    open_refused(fake, 1, users_path, "overlap: a claim name may have one source only");
    props = prefix;
    open_refused(fake, 1, users_path, "(\"e*\") overlap");
    props = inside;
    open_refused(fake_timer, 2, NULL, "(\"" TC "points\") and timer-claims");
    props = wider;
    open_refused(fake_timer, 2, NULL, "overlap");
    teardown();
}

static void test_refuse_failed_init(void)
{
    setup();
    const char *paths[] = {TIMER_SO, FAKE_SO};
    static const prop_t fail[] = {{"plugin.fake.mode", "fail-init"}, {NULL, NULL}};
    static const prop_t bad_delay[] = {{"plugin.timer-claims.delayMs", "10ms"}, {NULL, NULL}};
    props = fail;
    open_refused(paths, 2, NULL, "plugin " FAKE_SO " (fake): init failed (OP_EINVAL)");
    props = bad_delay;
    open_refused(paths, 1, NULL, "(timer-claims): init failed");
    teardown();
}

static void test_refuse_bad_supported_claims(void)
{
    setup();
    const char *paths[] = {FAKE_SO};
    static const prop_t mid_star[] = {{"plugin.fake.claims", "a*b"}, {NULL, NULL}};
    static const prop_t tagged[] = {{"plugin.fake.claims", "ok,name#de"}, {NULL, NULL}};
    static const prop_t empty[] = {{"plugin.fake.claims", ""}, {NULL, NULL}};
    props = mid_star;
    open_refused(paths, 1, NULL, "supported claim #0 is not a claim name");
    props = tagged;
    open_refused(paths, 1, NULL, "supported claim #1 is not");
    props = empty;
    open_refused(paths, 1, NULL, "supported claim #0");
    teardown();
}

static void test_open_bad_arguments(void)
{
    setup();
    op_spi_t *spi = NULL;
    op_err_t err;
    op_spi_settings_t s = {NULL, 1, NULL, NULL};
    OP_CHECK_INT(op_spi_loader_open(NULL, NULL, NULL, NULL, &spi, &err), OP_EINVAL);
    OP_CHECK_INT(op_spi_loader_open(loop, NULL, &s, NULL, &spi, &err), OP_EINVAL);
    OP_CHECK(spi == NULL);
    op_spi_loader_close(NULL);
    teardown();
}

/* ---- lookups ------------------------------------------------------------- */

/* Reference §3.1: the answers of all sources are merged. */
static void test_merged_users_and_timer(void)
{
    setup();
    const char *paths[] = {TIMER_SO};
    op_spi_t *spi = open_ok(paths, 1, users_path);
    const char *names[] = {"name", TC "loyalty_tier", "email", TC "points", "nobody_has_this"};
    result_t r = {0};
    lookup_ok(spi, "alice", names, 5, &r);
    op_arena_t *a = op_arena_new(1 << 20);
    const op_json_t *c = claims_of(a, &r);
    OP_CHECK_INT(c->u.obj.n, 4);
    OP_CHECK_STR(op_json_get_str(c, "name"), "Alice");
    OP_CHECK_STR(op_json_get_str(c, "email"), "alice@example.com");
    OP_CHECK_STR(op_json_get_str(c, TC "loyalty_tier"), "gold");
    int64_t points = 0;
    OP_CHECK(op_json_get_int(c, TC "points", &points));
    OP_CHECK_INT(points, 1200);
    op_arena_free(a);
    run();
    OP_CHECK_INT(r.calls, 1);
    close_spi(spi);
    teardown();
}

/* The demo configuration: examples/users.json next to the timer plugin. */
static void test_demo_configuration(void)
{
    setup();
    const char *paths[] = {TIMER_SO};
    op_spi_t *spi = open_ok(paths, 1, "examples/users.json");
    const char *names[] = {"email", TC "loyalty_tier"};
    result_t r = {0};
    lookup_ok(spi, "bob", names, 2, &r);
    op_arena_t *a = op_arena_new(1 << 20);
    const op_json_t *c = claims_of(a, &r);
    OP_CHECK_STR(op_json_get_str(c, "email"), "bob@example.com");
    OP_CHECK_STR(op_json_get_str(c, TC "loyalty_tier"), "silver");
    op_arena_free(a);
    close_spi(spi);
    teardown();
}

static void test_star_goes_to_every_source(void)
{
    setup();
    const char *paths[] = {TIMER_SO};
    op_spi_t *spi = open_ok(paths, 1, users_path);
    const char *names[] = {"*"};
    result_t r = {0};
    lookup_ok(spi, "alice", names, 1, &r);
    op_arena_t *a = op_arena_new(1 << 20);
    const op_json_t *c = claims_of(a, &r);
    OP_CHECK_INT(c->u.obj.n, 5);
    OP_CHECK_STR(op_json_get_str(c, "name#de"), "Alicia");
    OP_CHECK_STR(op_json_get_str(c, TC "loyalty_tier"), "gold");
    op_arena_free(a);
    close_spi(spi);
    teardown();
}

/* Reference §3.1: a source returns null for an unknown subject; unknown
 * to all -> OP_ENOTFOUND; known to one -> its claims. */
static void test_unknown_subject(void)
{
    setup();
    const char *paths[] = {TIMER_SO};
    op_spi_t *spi = open_ok(paths, 1, users_path);
    const char *names[] = {"name", TC "points"};
    op_spi_claims_query_t q = {.sub = "carol", .claims = names, .n_claims = 2};
    result_t r = {0}, known = {0};
    get(spi, &q, 5000, &r);
    run();
    OP_CHECK_INT(r.calls, 1);
    OP_CHECK_INT(r.status, OP_ENOTFOUND);
    OP_CHECK_STR(r.desc, "subject unknown to the claims sources");
    close_spi(spi);

    const char *fake[] = {FAKE_SO};
    static const prop_t notfound[] = {{"plugin.fake.mode", "notfound"}, {NULL, NULL}};
    props = notfound;
    spi = open_ok(fake, 1, users_path);
    const char *both[] = {"name", "fake_claim"};
    lookup_ok(spi, "bob", both, 2, &known);
    OP_CHECK_STR(known.json, "{\"name\":\"Bob\"}");
    close_spi(spi);
    teardown();
}

static void test_no_source_for_the_names(void)
{
    setup();
    op_spi_t *spi = open_ok(NULL, 0, NULL);
    const char *names[] = {"email"};
    result_t r = {0};
    lookup_ok(spi, "alice", names, 1, &r);
    OP_CHECK_STR(r.json, "{}");
    close_spi(spi);
    teardown();
}

/* The deadline answers OP_ETIMEDOUT (-> 503 temporarily_unavailable) once;
 * the plugin's late completion is dropped and freed. */
static void test_deadline(void)
{
    setup();
    static const prop_t slow[] = {{"plugin.timer-claims.delayMs", "200"}, {NULL, NULL}};
    props = slow;
    const char *paths[] = {TIMER_SO};
    op_spi_t *spi = open_ok(paths, 1, NULL);
    const char *names[] = {TC "loyalty_tier"};
    op_spi_claims_query_t q = {.sub = "alice", .claims = names, .n_claims = 1};
    result_t r = {0};
    get(spi, &q, 20, &r);
    run(); /* until the timer plugin completed, late */
    OP_CHECK_INT(r.calls, 1);
    OP_CHECK_INT(r.status, OP_ETIMEDOUT);
    OP_CHECK_STR(r.oauth, "temporarily_unavailable");
    OP_CHECK_INT(r.http_status, 503);
    OP_CHECK_STR(r.desc, "claims source timer-claims did not answer within 20 ms");
    OP_CHECK(op_list_empty(&spi->runs)); /* the run is gone */
    close_spi(spi);
    teardown();
}

/* Completing a call twice stops the server (documented in op_spi.h). */
static void test_completion_twice_aborts(void)
{
    setup();
    fflush(NULL);
    pid_t pid = fork();
    OP_CHECK(pid >= 0);
    if (pid == 0) {
        static const prop_t twice[] = {{"plugin.fake.mode", "twice"}, {NULL, NULL}};
        props = twice;
        const char *paths[] = {FAKE_SO};
        op_spi_t *spi = open_ok(paths, 1, NULL);
        const char *names[] = {"fake_claim"};
        op_spi_claims_query_t q = {.sub = "alice", .claims = names, .n_claims = 1};
        result_t r = {0};
        get(spi, &q, 5000, &r);
        run();
        exit(0); /* not reached */
    }
    int st = 0;
    OP_CHECK(waitpid(pid, &st, 0) == pid);
    OP_CHECK(WIFSIGNALED(st));
    OP_CHECK_INT(WTERMSIG(st), SIGABRT);
    teardown();
}

/* A plugin completing inside get() still reaches the caller from the loop. */
static void test_sync_completion_is_deferred(void)
{
    setup();
    static const prop_t sync[] = {{"plugin.fake.mode", "sync"}, {NULL, NULL}};
    props = sync;
    const char *paths[] = {FAKE_SO};
    op_spi_t *spi = open_ok(paths, 1, NULL);
    const char *names[] = {"fake_claim"};
    result_t r = {0};
    lookup_ok(spi, "alice", names, 1, &r);
    OP_CHECK_STR(r.json, "{\"fake_claim\":\"fake:fake_claim\"}");
    close_spi(spi);
    teardown();
}

/* Open fake with props, look up fake_claim, expect status. */
static void fake_lookup(const prop_t *p, result_t *r)
{
    props = p;
    const char *paths[] = {FAKE_SO};
    op_spi_t *spi = open_ok(paths, 1, NULL);
    const char *names[] = {"fake_claim"};
    op_spi_claims_query_t q = {.sub = "alice", .claims = names, .n_claims = 1};
    get(spi, &q, 5000, r);
    run();
    OP_CHECK_INT(r->calls, 1);
    close_spi(spi);
}

/* Reference §3.0: a plugin's OAuth error (RFC 6749 §5.2 code, status)
 * becomes the caller's; unknown codes and bad statuses become
 * server_error / 500; RFC 6749 §5.2 description charset enforced. */
static void test_oauth_error(void)
{
    setup();
    static const prop_t known[] = {{"plugin.fake.mode", "error"},
                                   {"plugin.fake.error", "invalid_token"},
                                   {"plugin.fake.desc", "token revoked"},
                                   {"plugin.fake.status", "401"},
                                   {NULL, NULL}};
    static const prop_t unknown[] = {{"plugin.fake.mode", "error"},
                                     {"plugin.fake.error", "made_up"},
                                     {"plugin.fake.desc", "a \"quote\""},
                                     {"plugin.fake.status", "999"},
                                     {NULL, NULL}};
    static const prop_t unavail[] = {{"plugin.fake.mode", "error"},
                                     {"plugin.fake.error", "temporarily_unavailable"},
                                     {"plugin.fake.status", "503"},
                                     {NULL, NULL}};
    result_t a = {0}, b = {0}, c = {0};
    fake_lookup(known, &a);
    OP_CHECK_INT(a.status, OP_ERROR);
    OP_CHECK_STR(a.oauth, "invalid_token");
    OP_CHECK_INT(a.http_status, 401);
    OP_CHECK_STR(a.desc, "token revoked");
    fake_lookup(unknown, &b);
    OP_CHECK_INT(b.status, OP_ERROR);
    OP_CHECK_STR(b.oauth, "server_error");
    OP_CHECK_INT(b.http_status, 500);
    OP_CHECK_STR(b.desc, "claims source error");
    fake_lookup(unavail, &c);
    OP_CHECK_INT(c.status, OP_EUNAVAIL);
    OP_CHECK_STR(c.oauth, "temporarily_unavailable");
    OP_CHECK_INT(c.http_status, 503);
    teardown();
}

static void test_failed_sources(void)
{
    setup();
    static const prop_t unavail[] = {{"plugin.fake.mode", "unavail"}, {NULL, NULL}};
    static const prop_t nonobject[] = {{"plugin.fake.mode", "nonobject"}, {NULL, NULL}};
    result_t a = {0}, b = {0};
    fake_lookup(unavail, &a);
    OP_CHECK_INT(a.status, OP_EUNAVAIL);
    OP_CHECK_INT(a.http_status, 503);
    OP_CHECK_STR(a.desc, "claims source fake is unavailable");
    fake_lookup(nonobject, &b);
    OP_CHECK_INT(b.status, OP_ERROR);
    OP_CHECK_STR(b.oauth, "server_error");
    OP_CHECK_STR(b.desc, "claims source fake failed");
    teardown();
}

/* A plugin that ran out of memory (OP_SPI_ENOMEM) or completes with a
 * status the ABI does not define has failed: server_error, 500, never a
 * status the server would take for one of its own. */
static void test_undefined_status(void)
{
    setup();
    static const prop_t nomem[] = {
        {"plugin.fake.mode", "status"}, {"plugin.fake.code", "-2"}, {NULL, NULL}};
    static const prop_t odd[] = {
        {"plugin.fake.mode", "status"}, {"plugin.fake.code", "42"}, {NULL, NULL}};
    static const prop_t again[] = {
        {"plugin.fake.mode", "status"}, {"plugin.fake.code", "1"}, {NULL, NULL}};
    const prop_t *const cases[] = {nomem, odd, again};
    for (size_t i = 0; i < OP_NELEMS(cases); i++) {
        result_t r = {0};
        fake_lookup(cases[i], &r);
        OP_CHECK_INT(r.status, OP_ERROR);
        OP_CHECK_INT(r.http_status, 500);
        OP_CHECK_STR(r.oauth, "server_error");
    }
    teardown();
}

/* The first error settles the lookup; the other source's answer is
 * dropped. */
static void test_first_error_wins(void)
{
    setup();
    static const prop_t error[] = {{"plugin.fake.mode", "error"},
                                   {"plugin.fake.error", "access_denied"},
                                   {"plugin.fake.status", "403"},
                                   {NULL, NULL}};
    props = error;
    const char *paths[] = {FAKE_SO};
    op_spi_t *spi = open_ok(paths, 1, users_path);
    const char *names[] = {"name", "fake_claim"};
    op_spi_claims_query_t q = {.sub = "alice", .claims = names, .n_claims = 2};
    result_t r = {0};
    get(spi, &q, 5000, &r);
    run();
    OP_CHECK_INT(r.calls, 1);
    OP_CHECK_INT(r.status, OP_ERROR);
    OP_CHECK_STR(r.oauth, "access_denied");
    OP_CHECK_INT(r.http_status, 403);
    close_spi(spi);
    teardown();
}

/* Only members asked for reach the caller; a language-tagged variant of a
 * plain name asked is one of them (OpenID Connect Core §5.2). */
static void test_unrequested_members_dropped(void)
{
    setup();
    static const prop_t extra[] = {{"plugin.fake.mode", "extra"}, {NULL, NULL}};
    props = extra;
    const char *paths[] = {FAKE_SO};
    op_spi_t *spi = open_ok(paths, 1, NULL);
    const char *names[] = {"fake_claim"};
    result_t r = {0};
    lookup_ok(spi, "alice", names, 1, &r);
    OP_CHECK_STR(r.json, "{\"fake_claim\":\"fake:fake_claim\",\"fake_claim#de\":\"fake:de\"}");
    close_spi(spi);
    teardown();
}

/* What a source receives: its own names only, and the query's context. */
static void test_request_plumbing(void)
{
    setup();
    static const prop_t inspect[] = {{"plugin.fake.mode", "inspect"}, {NULL, NULL}};
    props = inspect;
    const char *paths[] = {FAKE_SO};
    op_spi_t *spi = open_ok(paths, 1, users_path);
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_t *data = NULL;
    const char *text = "{\"k1\": \"v1\", \"k2\": 7}";
    OP_CHECK(op_json_parse(a, text, strlen(text), NULL, &data, NULL) == OP_OK);
    const char *names[] = {"fake_claim", "name", "fake_claim#de", "fake_claim"};
    const char *locales[] = {"de", "en"};
    const char *scope[] = {"openid", "profile"};
    op_spi_claims_query_t q = {
        .sub = "alice",
        .claims = names,
        .n_claims = 4,
        .claims_locales = locales,
        .n_claims_locales = 2,
        .client_id = "client-1",
        .transport = "userinfo",
        .scope = scope,
        .n_scope = 2,
        .claims_data = data,
        .req_id = "r-plumbing",
    };
    result_t r = {0};
    get(spi, &q, 5000, &r);
    run();
    const op_json_t *c = claims_of(a, &r);
    OP_CHECK_STR(op_json_get_str(c, "fake_claim"),
                 "sub=alice;claims=fake_claim,fake_claim#de;locales=de,en;scope=openid,profile;"
                 "data=k1:v1,k2:7;client=client-1;transport=userinfo");
    OP_CHECK_STR(op_json_get_str(c, "name"), "Alice");
    op_arena_free(a);
    close_spi(spi);
    teardown();
}

static void test_bad_queries(void)
{
    setup();
    op_spi_t *spi = open_ok(NULL, 0, users_path);
    op_arena_t *a = op_arena_new(1 << 20);
    op_json_t *array = NULL;
    OP_CHECK(op_json_parse(a, "[1]", 3, NULL, &array, NULL) == OP_OK);
    const char *ok[] = {"name"};
    const char *empty[] = {""};
    const char *tag_only[] = {"#de"};
    const char *bad_utf8[] = {"\xff"};
    const char *many[OP_SPI_CLAIMS_MAX_NAMES + 1];
    for (size_t i = 0; i < OP_NELEMS(many); i++)
        many[i] = "name";
    op_spi_claims_query_t qs[] = {
        {.sub = NULL, .claims = ok, .n_claims = 1},
        {.sub = "", .claims = ok, .n_claims = 1},
        {.sub = "al\x01ice", .claims = ok, .n_claims = 1},
        {.sub = "alice", .claims = NULL, .n_claims = 1},
        {.sub = "alice", .claims = many, .n_claims = OP_NELEMS(many)},
        {.sub = "alice", .claims = empty, .n_claims = 1},
        {.sub = "alice", .claims = tag_only, .n_claims = 1},
        {.sub = "alice", .claims = bad_utf8, .n_claims = 1},
        {.sub = "alice", .claims = ok, .n_claims = 1, .transport = "carrier pigeon"},
        {.sub = "alice", .claims = ok, .n_claims = 1, .client_id = "\xc3"},
        {.sub = "alice", .claims = ok, .n_claims = 1, .claims_data = array},
        {.sub = "alice",
         .claims = ok,
         .n_claims = 1,
         .claims_locales = NULL,
         .n_claims_locales = 2},
    };
    result_t r[OP_NELEMS(qs) + 1];
    memset(r, 0, sizeof(r));
    for (size_t i = 0; i < OP_NELEMS(qs); i++)
        get(spi, &qs[i], 5000, &r[i]);
    in_call = true;
    op_spi_claims_get(spi, NULL, 5000, on_claims, &r[OP_NELEMS(qs)]);
    in_call = false;
    run();
    for (size_t i = 0; i <= OP_NELEMS(qs); i++) {
        OP_CHECK_INT(r[i].calls, 1);
        OP_CHECK_INT(r[i].status, OP_EINVAL);
        OP_CHECK_STR(r[i].oauth, "invalid_request");
    }
    /* no module or no callback: logged, nothing to call back */
    op_spi_claims_get(NULL, &qs[0], 0, on_claims, &r[0]);
    op_spi_claims_get(spi, &qs[0], 0, NULL, NULL);
    run();
    OP_CHECK_INT(r[0].calls, 1);
    op_arena_free(a);
    close_spi(spi);
    teardown();
}

/* op_spi_loader_close with a call the plugin never completes: the caller gets
 * OP_ECANCELED once, the host reclaims the token. */
static void test_close_reclaims_pending(void)
{
    setup();
    static const prop_t never[] = {{"plugin.fake.mode", "never"}, {NULL, NULL}};
    props = never;
    const char *paths[] = {FAKE_SO};
    op_spi_t *spi = open_ok(paths, 1, NULL);
    const char *names[] = {"fake_claim"};
    op_spi_claims_query_t q = {.sub = "alice", .claims = names, .n_claims = 1};
    result_t r = {0};
    get(spi, &q, 0, &r);
    run();
    OP_CHECK_INT(r.calls, 0);
    close_spi(spi);
    OP_CHECK_INT(r.calls, 0);
    run();
    OP_CHECK_INT(r.calls, 1);
    OP_CHECK_INT(r.status, OP_ECANCELED);
    teardown();
}

/* Closing while the timer plugin and the users source are both waiting:
 * the timer plugin's fini completes its call, the users source's
 * deferred answer is dropped with it. */
static void test_close_while_waiting(void)
{
    setup();
    static const prop_t slow[] = {{"plugin.timer-claims.delayMs", "5000"}, {NULL, NULL}};
    props = slow;
    const char *paths[] = {TIMER_SO};
    op_spi_t *spi = open_ok(paths, 1, users_path);
    const char *names[] = {"name", TC "points"};
    op_spi_claims_query_t q = {.sub = "alice", .claims = names, .n_claims = 2};
    result_t r = {0};
    get(spi, &q, 10000, &r);
    close_spi(spi);
    run();
    OP_CHECK_INT(r.calls, 1);
    OP_CHECK_INT(r.status, OP_ECANCELED);
    teardown();
}

static void test_random_bytes(void)
{
    setup();
    static const prop_t random[] = {{"plugin.fake.mode", "random"}, {NULL, NULL}};
    props = random;
    const char *paths[] = {FAKE_SO};
    op_spi_t *spi = open_ok(paths, 1, NULL);
    const char *names[] = {"fake_claim"};
    result_t a = {0}, b = {0};
    lookup_ok(spi, "alice", names, 1, &a);
    lookup_ok(spi, "alice", names, 1, &b);
    OP_CHECK_INT(strlen(a.json), strlen("{\"fake_claim\":\"\"}") + 32);
    OP_CHECK(strcmp(a.json, b.json) != 0);
    close_spi(spi);
    teardown();
}

/* ---- host->http_fetch, through an in-process evhttp server ------------- */

static struct {
    int requests;
    bool hold; /* keep the request unanswered and stop the loop */
    char body[512];
    char content_type[64];
    char accept[64];
} seen;

static void server_handle(struct evhttp_request *req, void *arg)
{
    OP_UNUSED(arg);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    OP_CHECK(n < sizeof(seen.body));
    evbuffer_copyout(in, seen.body, n);
    seen.body[n] = '\0';
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    const char *acc = evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");
    snprintf(seen.content_type, sizeof(seen.content_type), "%s", ct != NULL ? ct : "");
    snprintf(seen.accept, sizeof(seen.accept), "%s", acc != NULL ? acc : "");
    seen.requests++;
    if (seen.hold) {
        op_loop_stop(loop); /* evhttp_free frees the request */
        return;
    }
    struct evbuffer *out = evbuffer_new();
    evbuffer_add_printf(out, "{\"fake_claim\": \"from-web\", \"other\": \"dropped\"}");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

static void test_fetch(void)
{
    setup();
    struct evhttp *server = evhttp_new(op_loop_base(loop));
    OP_CHECK(server != NULL);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(server, "127.0.0.1", 0);
    OP_CHECK(bs != NULL);
    evhttp_set_gencb(server, server_handle, NULL);
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    OP_CHECK(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &len) == 0);
    char url[64], refused[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/claims", ntohs(sin.sin_port));
    snprintf(refused, sizeof(refused), "http://127.0.0.1:1/claims");

    op_http_client_config_t hc = {.connect_timeout_ms = 2000, .timeout_ms = 5000};
    op_err_t err;
    op_http_client_t *client = op_http_client_new(loop, &hc, &err);
    OP_CHECK(client != NULL);
    prop_t fetch[] = {{"plugin.fake.mode", "fetch"}, {"plugin.fake.url", url}, {NULL, NULL}};
    props = fetch;
    const char *paths[] = {FAKE_SO};
    op_spi_t *spi = NULL;
    OP_CHECK_INT(open_spi(client, paths, 1, NULL, &spi, &err), OP_OK);
    const char *names[] = {"fake_claim"};
    op_spi_claims_query_t q = {.sub = "alice", .claims = names, .n_claims = 1};
    result_t r = {.stop = true};
    get(spi, &q, 5000, &r);
    run();
    OP_CHECK_INT(r.calls, 1);
    OP_CHECK_INT(r.status, OP_OK);
    OP_CHECK_STR(r.json, "{\"fake_claim\":\"from-web\"}");
    OP_CHECK_INT(seen.requests, 1);
    OP_CHECK_STR(seen.body, "{\"sub\":\"alice\",\"claims\":[\"fake_claim\"]}");
    OP_CHECK_STR(seen.content_type, "application/json");
    OP_CHECK_STR(seen.accept, "application/json");
    close_spi(spi);

    /* connection refused: the plugin passes OP_SPI_EUNAVAIL on -> 503 */
    fetch[1].value = refused;
    OP_CHECK_INT(open_spi(client, paths, 1, NULL, &spi, &err), OP_OK);
    result_t down = {.stop = true};
    get(spi, &q, 5000, &down);
    run();
    OP_CHECK_INT(down.calls, 1);
    OP_CHECK_INT(down.status, OP_EUNAVAIL);
    OP_CHECK_INT(down.http_status, 503);
    close_spi(spi);

    /* a fetch still in flight when the plugin goes: its answer (here the
     * client's OP_ECANCELED) is dropped, the fetch record freed */
    fetch[1].value = url;
    OP_CHECK_INT(open_spi(client, paths, 1, NULL, &spi, &err), OP_OK);
    result_t gone = {0};
    seen.hold = true;
    get(spi, &q, 5000, &gone);
    run(); /* until the server holds the request */
    OP_CHECK_INT(seen.requests, 2);
    OP_CHECK_INT(gone.calls, 0);
    close_spi(spi);
    op_http_client_free(client);
    evhttp_free(server);
    run();
    OP_CHECK_INT(gone.calls, 1);
    OP_CHECK_INT(gone.status, OP_ECANCELED);

    /* no HTTP client at all */
    OP_CHECK_INT(open_spi(NULL, paths, 1, NULL, &spi, &err), OP_OK);
    result_t none = {0};
    get(spi, &q, 5000, &none);
    run();
    OP_CHECK_INT(none.calls, 1);
    OP_CHECK_INT(none.status, OP_EUNAVAIL);
    close_spi(spi);
    teardown();
}

/* ---- host services called directly -------------------------------------- */

static const op_spi_host_t *h = &op_spi_host_table;

/* A loaded plugin's handle for direct calls of the host services. */
static op_spi_t *open_handle(const op_spi_config_t **cfg)
{
    static const prop_t never[] = {
        {"plugin.fake.mode", "never"}, {"plugin.fake.x-y_z.1", "value"}, {NULL, NULL}};
    props = never;
    const char *paths[] = {FAKE_SO};
    op_spi_t *spi = open_ok(paths, 1, NULL);
    *cfg = spi->plugins[0];
    return spi;
}

static void test_host_config_get(void)
{
    setup();
    const op_spi_config_t *cfg = NULL;
    op_spi_t *spi = open_handle(&cfg);
    OP_CHECK_INT(h->abi_version, OP_SPI_ABI_VERSION);
    OP_CHECK_INT(h->struct_size, sizeof(op_spi_host_t));
    OP_CHECK(OP_SPI_HOST_HAS(h, json_serialize));
    OP_CHECK_STR(h->config_get(cfg, "mode"), "never");
    OP_CHECK_STR(h->config_get(cfg, "x-y_z.1"), "value");
    OP_CHECK(h->config_get(cfg, "unset") == NULL);
    OP_CHECK(h->config_get(cfg, "") == NULL);
    OP_CHECK(h->config_get(cfg, "a key") == NULL);
    OP_CHECK(h->config_get(cfg, NULL) == NULL);
    OP_CHECK(h->config_get(NULL, "mode") == NULL);
    char long_key[200];
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    OP_CHECK(h->config_get(cfg, long_key) == NULL);
    h->log(cfg, OP_SPI_LOG_INFO, NULL, "a log line from test %d", 1);
    h->log(cfg, 99, NULL, "clamped level");
    close_spi(spi);
    teardown();
}

static int fired[4];
static op_spi_timer_t *self_freeing;

static void count_fire(void *arg)
{
    fired[(intptr_t)arg]++;
}

static void free_self(void *arg)
{
    fired[(intptr_t)arg]++;
    h->timer_free(self_freeing);
    h->timer_start(self_freeing, 0); /* ignored: freed */
}

static void test_host_timers(void)
{
    setup();
    const op_spi_config_t *cfg = NULL;
    op_spi_t *spi = open_handle(&cfg);
    op_spi_timer_t *t = h->timer_new(cfg, count_fire, (void *)0);
    op_spi_timer_t *stopped = h->timer_new(cfg, count_fire, (void *)1);
    self_freeing = h->timer_new(cfg, free_self, (void *)2);
    op_spi_timer_t *left = h->timer_new(cfg, count_fire, (void *)3);
    OP_CHECK(t != NULL && stopped != NULL && self_freeing != NULL && left != NULL);
    OP_CHECK(h->timer_new(NULL, count_fire, NULL) == NULL);
    OP_CHECK(h->timer_new(cfg, NULL, NULL) == NULL);
    h->timer_start(t, 1000);
    h->timer_start(t, 1); /* re-arm */
    h->timer_start(stopped, 1);
    h->timer_stop(stopped);
    h->timer_start(self_freeing, 1);
    OP_CHECK_INT(h->defer(cfg, count_fire, (void *)1), OP_SPI_OK);
    OP_CHECK_INT(h->defer(cfg, NULL, NULL), OP_SPI_EINVAL);
    OP_CHECK_INT(fired[1], 0); /* never inside defer */
    run();
    OP_CHECK_INT(fired[0], 1);
    OP_CHECK_INT(fired[1], 1);
    OP_CHECK_INT(fired[2], 1);
    h->timer_free(t);
    h->timer_free(stopped);
    h->timer_free(NULL);
    h->timer_start(left, 60000); /* left behind: freed by op_spi_loader_close */
    OP_CHECK_INT(h->defer(cfg, count_fire, (void *)3), OP_SPI_OK); /* dropped at close */
    close_spi(spi);
    run();
    OP_CHECK_INT(fired[3], 0);
    teardown();
}

static void test_host_json(void)
{
    setup();
    char errbuf[128] = "";
    const char *text = "{\"a\": 1, \"b\": [true, null, \"x\"], \"c\": {\"d\": -5}, \"e\": 1.5}";
    op_spi_json_t *doc = h->json_parse(NULL, text, strlen(text), errbuf, sizeof(errbuf));
    OP_CHECK(doc != NULL);
    OP_CHECK_INT(h->json_type(doc), OP_SPI_JSON_OBJECT);
    OP_CHECK_INT(h->json_len(doc), 4);
    int64_t i = 0;
    OP_CHECK(h->json_int(h->json_get(doc, "a"), &i) && i == 1);
    OP_CHECK(!h->json_int(h->json_get(doc, "e"), &i));
    OP_CHECK(h->json_int(h->json_get(h->json_get(doc, "c"), "d"), &i) && i == -5);
    const op_spi_json_t *b = h->json_get(doc, "b");
    OP_CHECK_INT(h->json_len(b), 3);
    OP_CHECK_INT(h->json_type(h->json_at(b, 0, NULL)), OP_SPI_JSON_TRUE);
    OP_CHECK_INT(h->json_type(h->json_at(b, 1, NULL)), OP_SPI_JSON_NULL);
    OP_CHECK_STR(h->json_str(h->json_at(b, 2, NULL), NULL), "x");
    OP_CHECK(h->json_at(b, 3, NULL) == NULL);
    const char *key = NULL;
    OP_CHECK(h->json_at(doc, 2, &key) != NULL);
    OP_CHECK_STR(key, "c");
    OP_CHECK(h->json_get(doc, "zz") == NULL && h->json_get(b, "a") == NULL);
    OP_CHECK(h->json_str(b, NULL) == NULL && h->json_len(h->json_get(doc, "a")) == 0);
    OP_CHECK_INT(h->json_type(NULL), OP_SPI_JSON_NULL);
    h->json_free((op_spi_json_t *)(uintptr_t)b); /* not a root: no-op */

    /* build, copying values from the parsed document, then free it */
    op_spi_json_t *obj = h->json_object_new(NULL);
    op_spi_json_t *arr = h->json_array_new(NULL);
    OP_CHECK(obj != NULL && arr != NULL);
    OP_CHECK_INT(h->json_set(obj, "copy", h->json_get(doc, "c")), OP_SPI_OK);
    OP_CHECK_INT(h->json_set_str(obj, "s", "first"), OP_SPI_OK);
    OP_CHECK_INT(h->json_set_str(obj, "s", "second"), OP_SPI_OK); /* replaces */
    OP_CHECK_INT(h->json_set_int(obj, "i", INT64_MIN), OP_SPI_OK);
    OP_CHECK_INT(h->json_set_bool(obj, "t", true), OP_SPI_OK);
    OP_CHECK_INT(h->json_set_null(obj, "n"), OP_SPI_OK);
    h->json_free(doc);
    for (int k = 0; k < 100; k++)
        OP_CHECK_INT(h->json_append_str(arr, "item"), OP_SPI_OK);
    OP_CHECK_INT(h->json_append(arr, obj), OP_SPI_OK);
    OP_CHECK_INT(h->json_len(arr), 101);
    OP_CHECK_INT(h->json_len(obj), 5);
    OP_CHECK_STR(h->json_str(h->json_get(obj, "s"), NULL), "second");
    OP_CHECK(h->json_int(h->json_get(obj, "i"), &i) && i == INT64_MIN);
    OP_CHECK(h->json_int(h->json_get(h->json_get(obj, "copy"), "d"), &i) && i == -5);
    OP_CHECK_INT(h->json_type(h->json_get(h->json_at(arr, 100, NULL), "t")), OP_SPI_JSON_TRUE);

    /* refusals */
    OP_CHECK_INT(h->json_set_str(obj, "bad", "\xff"), OP_SPI_EINVAL);
    OP_CHECK_INT(h->json_set_str(obj, "\xff", "ok"), OP_SPI_EINVAL);
    OP_CHECK_INT(h->json_set_str(obj, NULL, "ok"), OP_SPI_EINVAL);
    OP_CHECK_INT(h->json_set_str(arr, "k", "v"), OP_SPI_EINVAL);
    OP_CHECK_INT(h->json_append_str(obj, "v"), OP_SPI_EINVAL);
    OP_CHECK_INT(h->json_set(obj, "k", NULL), OP_SPI_EINVAL);
    OP_CHECK_INT(h->json_set_int(NULL, "k", 1), OP_SPI_EINVAL);
    op_spi_json_t *deep = h->json_object_new(NULL);
    int rc = OP_SPI_OK;
    for (int k = 0; k < OP_SPI_JSON_MAX_DEPTH + 2 && rc == OP_SPI_OK; k++) {
        op_spi_json_t *outer = h->json_object_new(NULL);
        rc = h->json_set(outer, "in", deep);
        h->json_free(deep);
        deep = outer;
    }
    OP_CHECK_INT(rc, OP_SPI_EINVAL); /* too deep */
    h->json_free(deep);
    OP_CHECK(h->json_parse(NULL, "{\"a\":1,\"a\":2}", 13, errbuf, sizeof(errbuf)) == NULL);
    OP_CHECK(strstr(errbuf, "duplicate") != NULL);
    OP_CHECK(h->json_parse(NULL, "[1,", 3, NULL, 0) == NULL);
    h->json_free(obj);
    h->json_free(arr);
    h->json_free(NULL);
    teardown();
}

static const op_test_case_t cases[] = {
    {"refuse_missing_file", test_refuse_missing_file},
    {"refuse_path_without_slash", test_refuse_path_without_slash},
    {"refuse_no_entry", test_refuse_no_entry},
    {"refuse_wrong_abi", test_refuse_wrong_abi},
    {"refuse_small_descriptor", test_refuse_small_descriptor},
    {"refuse_wrong_build_sig", test_refuse_wrong_build_sig},
    {"refuse_bad_name", test_refuse_bad_name},
    {"refuse_duplicate_name", test_refuse_duplicate_name},
    {"refuse_overlapping_claims", test_refuse_overlapping_claims},
    {"refuse_failed_init", test_refuse_failed_init},
    {"refuse_bad_supported_claims", test_refuse_bad_supported_claims},
    {"open_bad_arguments", test_open_bad_arguments},
    {"merged_users_and_timer", test_merged_users_and_timer},
    {"demo_configuration", test_demo_configuration},
    {"star_goes_to_every_source", test_star_goes_to_every_source},
    {"unknown_subject", test_unknown_subject},
    {"no_source_for_the_names", test_no_source_for_the_names},
    {"deadline", test_deadline},
    {"completion_twice_aborts", test_completion_twice_aborts},
    {"sync_completion_is_deferred", test_sync_completion_is_deferred},
    {"oauth_error", test_oauth_error},
    {"failed_sources", test_failed_sources},
    {"undefined_status", test_undefined_status},
    {"first_error_wins", test_first_error_wins},
    {"unrequested_members_dropped", test_unrequested_members_dropped},
    {"request_plumbing", test_request_plumbing},
    {"bad_queries", test_bad_queries},
    {"close_reclaims_pending", test_close_reclaims_pending},
    {"close_while_waiting", test_close_while_waiting},
    {"random_bytes", test_random_bytes},
    {"fetch", test_fetch},
    {"host_config_get", test_host_config_get},
    {"host_timers", test_host_timers},
    {"host_json", test_host_json},
};

OP_TEST_MAIN(cases)
