/*
 * Unit tests: spi/op_spi_users.c - the built-in users-file claims source,
 * driven through op_spi_loader_open / op_spi_claims_get like any plugin.
 *
 * Claim names and values are those of OpenID Connect Core §5.1 (standard
 * claims) and §5.2 (language tags); the "subject unknown" answer is the
 * reference's §3.1 (a source returns null for a subject it does not
 * know). Each lookup's callback is counted and checked never to run
 * inside op_spi_claims_get: the source answers on the next loop iteration.
 */
#include <fcntl.h>

#include "core/base/op.h"
#include "spi/op_spi_host.h"
#include "spi/op_spi_int.h"
#include "tests/unit/op_test.h"

static op_loop_t *loop;
static bool in_call;
static char path[64];

static const char *const test_users =
    "{\"alice\": {\"name\": \"Alice Adams\", \"name#de\": \"Adams, Alice\","
    " \"email\": \"alice@example.com\", \"email_verified\": true,"
    " \"address\": {\"locality\": \"London\", \"country\": \"GB\"},"
    " \"phone_number\": \"+44 20 7946 0958\", \"updated_at\": 1767225600},"
    " \"bob\": {\"name\": \"Bob Brown\", \"locale\": \"de-DE\"}}";

static void write_file(const char *text, size_t len)
{
    snprintf(path, sizeof(path), "/tmp/op-users-test-XXXXXX");
    int fd = mkstemp(path);
    OP_CHECK(fd >= 0);
    OP_CHECK(write(fd, text, len) == (ssize_t)len);
    close(fd);
}

static op_spi_t *open_users(const char *file)
{
    loop = op_loop_new();
    OP_CHECK(loop != NULL);
    op_spi_t *spi = NULL;
    op_err_t err;
    int rc = op_spi_loader_open(loop, NULL, NULL, file, &spi, &err);
    if (rc != OP_OK)
        fprintf(stderr, "op_spi_loader_open: %s\n", err.description);
    OP_CHECK_INT(rc, OP_OK);
    return spi;
}

static void finish(op_spi_t *spi)
{
    op_spi_loader_close(spi);
    op_loop_free(loop);
    if (path[0] != '\0')
        unlink(path);
}

typedef struct answer {
    int calls;
    int status;
    char json[4096];
} answer_t;

static void on_claims(int status, const op_json_t *claims, const op_err_t *err, void *arg)
{
    answer_t *a = arg;
    OP_CHECK(!in_call);
    a->calls++;
    a->status = status;
    OP_CHECK((status == OP_OK) == (claims != NULL && err == NULL));
    if (claims == NULL)
        return;
    op_arena_t *ar = op_arena_new(1 << 20);
    op_json_w_t *w = op_json_w_new(ar, false);
    const char *out = NULL;
    op_json_w_value(w, claims);
    OP_CHECK(op_json_w_finish(w, &out, NULL, NULL) == OP_OK);
    snprintf(a->json, sizeof(a->json), "%s", out);
    op_arena_free(ar);
}

/* Look up names (and locales) of sub; the loop runs until the answer. */
static answer_t lookup(op_spi_t *spi, const char *sub, const char *const *names, size_t n,
                       const char *const *locales, size_t nl)
{
    answer_t a = {0};
    op_spi_claims_query_t q = {
        .sub = sub,
        .claims = names,
        .n_claims = n,
        .claims_locales = locales,
        .n_claims_locales = nl,
        .transport = "userinfo",
    };
    in_call = true;
    op_spi_claims_get(spi, &q, 5000, on_claims, &a);
    in_call = false;
    OP_CHECK_INT(a.calls, 0); /* answered on the next loop iteration */
    OP_CHECK_INT(op_loop_run(loop), OP_OK);
    OP_CHECK_INT(a.calls, 1);
    return a;
}

/* OpenID Connect Core §5.1: the claims asked, with their JSON types (a
 * boolean email_verified, an address object, a number updated_at). */
static void test_exact_claims(void)
{
    write_file(test_users, strlen(test_users));
    op_spi_t *spi = open_users(path);
    const char *names[] = {"name",    "email",        "email_verified",
                           "address", "phone_number", "updated_at"};
    answer_t a = lookup(spi, "alice", names, OP_NELEMS(names), NULL, 0);
    OP_CHECK_INT(a.status, OP_OK);
    OP_CHECK_STR(a.json, "{\"name\":\"Alice Adams\",\"email\":\"alice@example.com\","
                         "\"email_verified\":true,\"address\":{\"locality\":\"London\","
                         "\"country\":\"GB\"},\"phone_number\":\"+44 20 7946 0958\","
                         "\"updated_at\":1767225600}");
    finish(spi);
}

/* Only what was asked; a claim the user lacks is left out (OpenID Connect
 * Core §5.3.2: "If a Claim is not returned, that Claim Name SHOULD be
 * omitted"). */
static void test_subset_and_missing(void)
{
    write_file(test_users, strlen(test_users));
    op_spi_t *spi = open_users(path);
    const char *names[] = {"email", "locale"};
    answer_t a = lookup(spi, "alice", names, 2, NULL, 0);
    OP_CHECK_STR(a.json, "{\"email\":\"alice@example.com\"}");
    answer_t b = lookup(spi, "bob", names, 2, NULL, 0);
    OP_CHECK_STR(b.json, "{\"locale\":\"de-DE\"}");
    finish(spi);
}

/* Reference §3.1: an unknown subject has no claims: OP_ENOTFOUND. */
static void test_unknown_subject(void)
{
    write_file(test_users, strlen(test_users));
    op_spi_t *spi = open_users(path);
    const char *names[] = {"name"};
    answer_t a = lookup(spi, "carol", names, 1, NULL, 0);
    OP_CHECK_INT(a.status, OP_ENOTFOUND);
    finish(spi);
}

/* OpenID Connect Core §5.2: a tagged name returns the tagged member; a
 * plain name returns the plain member, whatever claims_locales says (the
 * documented simple rule); a tag the user lacks returns nothing. */
static void test_locale_tags(void)
{
    write_file(test_users, strlen(test_users));
    op_spi_t *spi = open_users(path);
    const char *tagged[] = {"name#de"};
    const char *plain[] = {"name"};
    const char *missing[] = {"name#fr"};
    const char *de[] = {"de"};
    answer_t a = lookup(spi, "alice", tagged, 1, NULL, 0);
    OP_CHECK_STR(a.json, "{\"name#de\":\"Adams, Alice\"}");
    answer_t b = lookup(spi, "alice", plain, 1, de, 1);
    OP_CHECK_STR(b.json, "{\"name\":\"Alice Adams\"}");
    answer_t c = lookup(spi, "alice", missing, 1, NULL, 0);
    OP_CHECK_INT(c.status, OP_OK);
    OP_CHECK_STR(c.json, "{}");
    finish(spi);
}

/* "*": every claim of the user, in file order. */
static void test_star(void)
{
    write_file(test_users, strlen(test_users));
    op_spi_t *spi = open_users(path);
    const char *names[] = {"*"};
    answer_t a = lookup(spi, "bob", names, 1, NULL, 0);
    OP_CHECK_STR(a.json, "{\"name\":\"Bob Brown\",\"locale\":\"de-DE\"}");
    answer_t b = lookup(spi, "alice", names, 1, NULL, 0);
    OP_CHECK(strstr(b.json, "\"name#de\":\"Adams, Alice\"") != NULL);
    OP_CHECK(strstr(b.json, "\"updated_at\":1767225600}") != NULL);
    finish(spi);
}

/* The source supports the untagged names of the file, each once. */
static void test_supported_names(void)
{
    write_file(test_users, strlen(test_users));
    op_spi_t *spi = open_users(path);
    OP_CHECK_INT(spi->n_plugins, 1);
    const op_spi_config_t *p = spi->plugins[0];
    OP_CHECK_STR(p->name, "users-file");
    const char *want[] = {"name",         "email",      "email_verified", "address",
                          "phone_number", "updated_at", "locale"};
    OP_CHECK_INT(p->n_patterns, OP_NELEMS(want));
    for (size_t i = 0; i < OP_NELEMS(want); i++)
        OP_CHECK_STR(p->patterns[i], want[i]);
    finish(spi);
}

/* Bad files stop the start, and the log line says why. */
static void test_bad_files(void)
{
    static const struct {
        const char *text;
        const char *why;
    } bad[] = {
        {"{", "JSON"},
        {"[]", "a JSON object keyed by subject"},
        {"{\"alice\": \"x\"}", "each user must be"},
        {"{\"\": {}}", "each user must be"},
        {"{\"alice\": {\"a*\": 1}}", "has a '*'"},
        {"{\"alice\": {\"#de\": 1}}", "starts with '#'"},
        {"{\"alice\": {\"a\": 1, \"a\": 2}}", "duplicate"},
        {"{\"alice\": {\"a\": \"\xff\"}}", "invalid bytes in UTF8"},
        {"{\"alice\": {\"a\\u0001b\": 1}}", "is not a claim name"}, /* refused by the host */
    };
    char log_path[64];
    snprintf(log_path, sizeof(log_path), "/tmp/op-users-log-XXXXXX");
    int log_fd = mkstemp(log_path);
    OP_CHECK(log_fd >= 0);
    op_log_init(OP_LOG_INFO, log_fd);
    loop = op_loop_new();
    for (size_t i = 0; i <= OP_NELEMS(bad) + 3; i++) {
        static char big_or_many[1024 * 1024 + 64];
        const char *file = path;
        const char *why = NULL;
        if (i < OP_NELEMS(bad)) {
            write_file(bad[i].text, strlen(bad[i].text));
            why = bad[i].why;
        } else if (i == OP_NELEMS(bad)) {
            memset(big_or_many, ' ', sizeof(big_or_many));
            big_or_many[0] = '{';
            big_or_many[sizeof(big_or_many) - 1] = '}';
            write_file(big_or_many, sizeof(big_or_many));
            why = "over 1 MiB";
        } else if (i == OP_NELEMS(bad) + 1) {
            size_t used = (size_t)snprintf(big_or_many, sizeof(big_or_many), "{\"u\": {");
            for (int k = 0; k < 257; k++)
                used += (size_t)snprintf(big_or_many + used, sizeof(big_or_many) - used,
                                         "%s\"c%d\": 1", k > 0 ? ", " : "", k);
            snprintf(big_or_many + used, sizeof(big_or_many) - used, "}}");
            write_file(big_or_many, strlen(big_or_many));
            why = "more than 256 different claim names";
        } else if (i == OP_NELEMS(bad) + 2) {
            size_t used = (size_t)snprintf(big_or_many, sizeof(big_or_many), "{\"u\": {");
            for (int k = 0; k < 1025; k++)
                used += (size_t)snprintf(big_or_many + used, sizeof(big_or_many) - used,
                                         "%s\"name#x%d\": 1", k > 0 ? ", " : "", k);
            snprintf(big_or_many + used, sizeof(big_or_many) - used, "}}");
            write_file(big_or_many, strlen(big_or_many));
            why = "more than 1024 claims";
        } else {
            file = "/tmp/op-users-test-does-not-exist";
            path[0] = '\0';
            why = "cannot open it";
        }
        op_spi_t *spi = NULL;
        op_err_t err;
        OP_CHECK_INT(op_spi_loader_open(loop, NULL, NULL, file, &spi, &err), OP_EINVAL);
        OP_CHECK(spi == NULL);
        OP_CHECK(strstr(err.description, "users-file") != NULL);
        if (path[0] != '\0')
            unlink(path);
        char logged[8192] = "";
        ssize_t n = pread(log_fd, logged, sizeof(logged) - 1, 0);
        OP_CHECK(n > 0);
        logged[n] = '\0';
        if (strstr(logged, why) == NULL)
            fprintf(stderr, "case %zu: log: %s\n", i, logged);
        OP_CHECK(strstr(logged, why) != NULL);
        OP_CHECK(ftruncate(log_fd, 0) == 0 && lseek(log_fd, 0, SEEK_SET) == 0);
    }
    op_loop_free(loop);
    close(log_fd);
    unlink(log_path);
}

/* The demo file: alice with rich standard claims (OpenID Connect Core
 * §5.1, address §5.1.1), bob, and no password anywhere. */
static void test_demo_file(void)
{
    path[0] = '\0';
    op_spi_t *spi = open_users("examples/users.json");
    const char *names[] = {"*"};
    answer_t a = lookup(spi, "alice", names, 1, NULL, 0);
    op_arena_t *ar = op_arena_new(1 << 20);
    op_json_t *c = NULL;
    OP_CHECK(op_json_parse(ar, a.json, strlen(a.json), NULL, &c, NULL) == OP_OK);
    bool verified = false;
    int64_t updated = 0;
    OP_CHECK(op_json_get_bool(c, "email_verified", &verified) && verified);
    OP_CHECK(op_json_get_int(c, "updated_at", &updated) && updated > 0);
    OP_CHECK(op_json_get_str(c, "name#de") != NULL);
    OP_CHECK(op_json_get_str(c, "phone_number") != NULL);
    OP_CHECK(op_json_get_str(c, "locale") != NULL);
    OP_CHECK(op_json_get_str(op_json_get(c, "address"), "country") != NULL);
    answer_t b = lookup(spi, "bob", names, 1, NULL, 0);
    OP_CHECK_INT(b.status, OP_OK);
    OP_CHECK(strstr(a.json, "password") == NULL && strstr(b.json, "password") == NULL);
    op_arena_free(ar);
    finish(spi);
}

static const op_test_case_t cases[] = {
    {"exact_claims", test_exact_claims},
    {"subset_and_missing", test_subset_and_missing},
    {"unknown_subject", test_unknown_subject},
    {"locale_tags", test_locale_tags},
    {"star", test_star},
    {"supported_names", test_supported_names},
    {"bad_files", test_bad_files},
    {"demo_file", test_demo_file},
};

OP_TEST_MAIN(cases)
