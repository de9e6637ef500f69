/*
 * Unit tests: core/base/op_log.c. The design rule they check: secrets never
 * reach a log (DESIGN.md, "Errors and bad input"), and no logged field,
 * however hostile, makes a line longer than OP_LOG_LINE_MAX or forges
 * another line.
 */
#include "core/base/op.h"
#include "tests/unit/op_test.h"

/* op_log_redact into a heap buffer of exactly cap bytes, so that ASan sees
 * any write past it; the result is checked against want. */
static void test_log_redact_is(const char *in, size_t cap, bool cut, const char *want)
{
    char *out = malloc(cap > 0 ? cap : 1);

    OP_CHECK(out != NULL);
    size_t n = op_log_redact(out, cap, in, cut);
    if (cap == 0) {
        OP_CHECK_INT(n, 0);
    } else {
        OP_CHECK(n < cap);
        OP_CHECK_INT(strlen(out), n);
        OP_CHECK_STR(out, want);
    }
    free(out);
}

/* Everything op_log wrote to the pipe (NUL-terminated); the write end
 * must be closed. */
static char *test_log_read(int fd)
{
    static char buf[4 * OP_LOG_LINE_MAX];
    size_t n = 0;
    ssize_t k;

    while (n < sizeof(buf) - 1 && (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = '\0';
    close(fd);
    return buf;
}

/* One line of at most OP_LOG_LINE_MAX bytes, newline included. */
static void test_log_check_one_line(const char *out)
{
    size_t len = strlen(out);

    OP_CHECK(len > 0 && len <= OP_LOG_LINE_MAX);
    OP_CHECK(out[len - 1] == '\n' && strchr(out, '\n') == out + len - 1);
}

static void test_log_redaction(void)
{
    test_log_redact_is("POST client_secret=s3cret&code=abc&grant_type=x", 128, false,
                       "POST client_secret=***&code=***&grant_type=x");
    test_log_redact_is("Authorization: Bearer eyJhbGc.x.y done", 128, false,
                       "Authorization: Bearer *** done");
    test_log_redact_is("{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}", 128, false,
                       "{\"kty\":\"oct\",\"k\":\"***\"}");
    test_log_redact_is("nothing secret here", 128, false, "nothing secret here");
    /* markers match in any case; empty and masked values stay as they are */
    test_log_redact_is("BEARER abc PassWord=x code=&code=***", 128, false,
                       "BEARER *** PassWord=*** code=&code=***");
    /* control bytes would forge lines */
    test_log_redact_is("a\nb\rc\x7f"
                       "d",
                       128, false, "a?b?c?d");
}

/* A byte is secret when it lies in any marker's value, also when markers
 * overlap or one hides inside another's value. */
static void test_log_redaction_overlapping(void)
{
    test_log_redact_is("\"code\":\"k\":\"x\"}", 64, false, "\"code\":\"***\":\"***\"}");
    test_log_redact_is("password=xcode=y&z", 64, false, "password=***&z");
    test_log_redact_is("\"password\":\"a b&code=c\",n", 64, false, "\"password\":\"***\",n");
    test_log_redact_is("x_access_token=abc;", 64, false, "x_access_token=***;");
    /* a JSON value ends at its first unescaped quote */
    test_log_redact_is("{\"password\":\"a\\\"b\\\\\",\"x\":1}", 64, false,
                       "{\"password\":\"***\",\"x\":1}");
}

/* The copy never passes cap: at every capacity the text is cut with the
 * marker (or as much of it as fits) and never shows a secret byte. A
 * "***" that does not fit whole is not written; the marker then goes over
 * the tail. */
static void test_log_redaction_bounded(void)
{
    const char *in = "GET /cb?code=a&state=xyz&access_token=b HTTP/1.1";
    const char *full = "GET /cb?code=***&state=xyz&access_token=*** HTTP/1.1";
    const size_t masks[] = {13, 40}; /* where the two "***" start in full */
    const size_t cut = strlen(OP_LOG_CUT);

    test_log_redact_is(in, 0, false, "");
    test_log_redact_is(in, strlen(full) + 1, false, full);
    for (size_t cap = 1; cap <= strlen(full); cap++) {
        size_t avail = cap - 1, fitted = avail, n = cut < avail ? cut : avail;
        char want[128];

        for (size_t i = 0; i < OP_NELEMS(masks); i++) {
            if (fitted > masks[i] && fitted < masks[i] + 3)
                fitted = masks[i];
        }
        if (fitted > avail - n)
            fitted = avail - n;
        snprintf(want, sizeof(want), "%.*s%.*s", (int)fitted, full, (int)n, OP_LOG_CUT);
        test_log_redact_is(in, cap, false, want);
    }
    /* cut: the caller already lost the end; the marker says so */
    test_log_redact_is("code=a", 64, true, "code=***" OP_LOG_CUT);
    test_log_redact_is("code=a", 6, true, "...[c");
}

static void test_log_line(void)
{
    int fds[2];

    OP_CHECK(pipe(fds) == 0);
    op_log_init(OP_LOG_INFO, fds[1]);
    op_log_debug("r-1", "hidden %d", 1);
    op_log_info("r-2", "password=hunter2 line\nforged");
    close(fds[1]);
    const char *out = test_log_read(fds[0]);
    test_log_check_one_line(out);
    OP_CHECK(strstr(out, "hidden") == NULL);
    OP_CHECK_HAS(out, "[r-2] password=*** line?forged\n");
    OP_CHECK(strstr(out, "hunter2") == NULL);
    op_log_level_t l;
    OP_CHECK(op_log_level_parse("warn", &l) && l == OP_LOG_WARN);
    OP_CHECK(!op_log_level_parse("loud", &l));
}

/* The request path is logged on every request: "GET /code=a&xxcode=a&xx..."
 * of about 2.7 KB, where every 1-byte value grows to "***", must give one
 * line of at most OP_LOG_LINE_MAX bytes, cut with the marker, with no
 * value in clear. */
static void test_log_long_path_of_short_secrets(void)
{
    char path[2800];
    size_t n = 0;
    int fds[2];

    path[n++] = '/';
    while (n + 9 < sizeof(path)) {
        memcpy(path + n, "code=a&xx", 9);
        n += 9;
    }
    path[n] = '\0';
    OP_CHECK(pipe(fds) == 0);
    op_log_init(OP_LOG_INFO, fds[1]);
    op_log_info("r-1", "http: GET %s 200 0.1ms", path);
    close(fds[1]);
    const char *out = test_log_read(fds[0]);
    test_log_check_one_line(out);
    OP_CHECK(strlen(out) == OP_LOG_LINE_MAX);
    OP_CHECK(strstr(out, "code=a") == NULL);
    OP_CHECK_HAS(out, "[r-1] http: GET /code=***&xxcode=***&xx");
    OP_CHECK_HAS(out, OP_LOG_CUT "\n");
}

/* A long secret value, a long request id: still one bounded line, and the
 * secret's bytes are gone even though the raw line was cut inside it. */
static void test_log_long_fields(void)
{
    char tok[5000], rid[3000];
    int fds[2];

    memset(tok, 'A', sizeof(tok) - 1);
    tok[sizeof(tok) - 1] = '\0';
    memset(rid, 'r', sizeof(rid) - 1);
    rid[sizeof(rid) - 1] = '\0';
    OP_CHECK(pipe(fds) == 0);
    op_log_init(OP_LOG_INFO, fds[1]);
    op_log_warn("r-3", "api: Authorization: Bearer %s from %s", tok, "127.0.0.1");
    op_log_warn(rid, "api: %s", "x");
    close(fds[1]);
    char *out = test_log_read(fds[0]);
    char *second = strchr(out, '\n');
    OP_CHECK(second != NULL);
    *second++ = '\0';
    OP_CHECK(strstr(out, "AAA") == NULL);
    OP_CHECK_HAS(out, "[r-3] api: Authorization: Bearer ***" OP_LOG_CUT);
    OP_CHECK(strlen(out) < OP_LOG_LINE_MAX);
    test_log_check_one_line(second);
    OP_CHECK(strlen(second) == OP_LOG_LINE_MAX);
    OP_CHECK_HAS(second, "rrrr" OP_LOG_CUT "\n");
}

/* The access line: every field in place, control bytes of the request id
 * and path as '?', one line; nothing is masked (its fields hold no secret
 * by construction), so text that only looks like a marker stays. */
static void test_log_access_line(void)
{
    int fds[2];

    OP_CHECK(pipe(fds) == 0);
    op_log_init(OP_LOG_INFO, fds[1]);
    op_log_access("r-4\n", "GET", "/a\r\nb/~0123abcd/data", 404, 12345);
    close(fds[1]);
    const char *out = test_log_read(fds[0]);
    test_log_check_one_line(out);
    OP_CHECK_HAS(out, "Z INFO  [r-4?] http: GET /a??b/~0123abcd/data 404 12.3ms\n");
    OP_CHECK(out[4] == '-' && out[10] == 'T' && out[23] == 'Z');
    /* below the level: nothing */
    OP_CHECK(pipe(fds) == 0);
    op_log_init(OP_LOG_WARN, fds[1]);
    op_log_access("r-5", "GET", "/", 200, 0);
    close(fds[1]);
    OP_CHECK_STR(test_log_read(fds[0]), "");
}

/* A path longer than a line: cut to OP_LOG_LINE_MAX with the marker; a
 * long request id too. */
static void test_log_access_bounded(void)
{
    char path[3000];
    int fds[2];

    memset(path, 'p', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    for (int i = 0; i < 2; i++) {
        OP_CHECK(pipe(fds) == 0);
        op_log_init(OP_LOG_INFO, fds[1]);
        op_log_access(i == 0 ? "r-6" : path + 1, "PUT", i == 0 ? path : "/x", 200, 1);
        close(fds[1]);
        const char *out = test_log_read(fds[0]);
        test_log_check_one_line(out);
        OP_CHECK(strlen(out) == OP_LOG_LINE_MAX);
        OP_CHECK_HAS(out, "pppp" OP_LOG_CUT "\n");
        OP_CHECK(strstr(out, " 200 ") == NULL);
    }
}

static const op_test_case_t cases[] = {
    {"log_redaction", test_log_redaction},
    {"log_redaction_overlapping", test_log_redaction_overlapping},
    {"log_redaction_bounded", test_log_redaction_bounded},
    {"log_line", test_log_line},
    {"log_long_path_of_short_secrets", test_log_long_path_of_short_secrets},
    {"log_long_fields", test_log_long_fields},
    {"log_access_line", test_log_access_line},
    {"log_access_bounded", test_log_access_bounded},
};
OP_TEST_MAIN(cases)
