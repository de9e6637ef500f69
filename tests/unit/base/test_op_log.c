/*
 * Unit tests: core/base/op_log.c. The design rule they check: secrets never
 * reach a log (DESIGN.md, "Errors and bad input"), and no logged field,
 * however hostile, makes a line longer than OP_LOG_LINE_MAX or forges
 * another line.
 */
#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <time.h>

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

/* ---- batching ------------------------------------------------------------ */

/* A socket that keeps the bounds of every write: one recv is one write. */
static void test_log_packets(int fds[2])
{
    OP_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds) == 0);
    op_log_init(OP_LOG_INFO, fds[1]);
}

/* The next write that reached fd (NUL-terminated), or NULL when none is
 * waiting. */
static char *test_log_packet(int fd)
{
    static char buf[OP_LOG_BUF_SIZE + 1];
    ssize_t k = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

    if (k < 0) {
        OP_CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
        return NULL;
    }
    buf[k] = '\0';
    return buf;
}

static void test_log_packets_close(int fds[2])
{
    close(fds[0]);
    close(fds[1]);
    op_log_init(OP_LOG_INFO, 2);
}

/* Outside a batch (no loop running) every line is its own write, at once;
 * op_log_flush has nothing to do there. */
static void test_log_unbatched_at_once(void)
{
    int fds[2];

    test_log_packets(fds);
    op_log_info("r-1", "one");
    char *p = test_log_packet(fds[0]);
    OP_CHECK(p != NULL);
    OP_CHECK_HAS(p, "[r-1] one\n");
    op_log_access("r-2", "GET", "/", 200, 1);
    op_log_flush();
    p = test_log_packet(fds[0]);
    OP_CHECK(p != NULL);
    OP_CHECK_HAS(p, "[r-2] http: GET / 200 0.0ms\n");
    OP_CHECK(test_log_packet(fds[0]) == NULL);
    test_log_packets_close(fds);
}

/* In a batch nothing is written until the flush, then all the lines in
 * one write, in order. */
static void test_log_batch_one_write(void)
{
    int fds[2];

    test_log_packets(fds);
    op_log_batch_begin();
    op_log_info("r-1", "first");
    op_log_access("r-2", "GET", "/jwks.json", 200, 400);
    op_log_warn("r-3", "third code=x");
    op_log_debug("r-4", "below the level");
    OP_CHECK(test_log_packet(fds[0]) == NULL);
    op_log_flush();
    char *p = test_log_packet(fds[0]);
    OP_CHECK(p != NULL);
    char *a = strstr(p, "INFO  [r-1] first\n"), *b = strstr(p, "[r-2] http: GET /jwks.json 200"),
         *c = strstr(p, "WARN  [r-3] third code=***\n");
    OP_CHECK(a == p + 25 && b > a && c > b);
    OP_CHECK(strstr(p, "r-4") == NULL);
    OP_CHECK(test_log_packet(fds[0]) == NULL);
    op_log_flush(); /* empty: no write */
    OP_CHECK(test_log_packet(fds[0]) == NULL);
    op_log_batch_end();
    test_log_packets_close(fds);
}

/* An ERROR line does not wait: it goes out at once with the lines before
 * it, in order; batch_end flushes what follows. */
static void test_log_batch_error_at_once(void)
{
    int fds[2];

    test_log_packets(fds);
    op_log_batch_begin();
    op_log_info("r-1", "a");
    op_log_info("r-2", "b");
    OP_CHECK(test_log_packet(fds[0]) == NULL);
    op_log_error("r-3", "c");
    char *p = test_log_packet(fds[0]);
    OP_CHECK(p != NULL);
    char *a = strstr(p, "[r-1] a\n"), *b = strstr(p, "[r-2] b\n"),
         *c = strstr(p, "ERROR [r-3] c\n");
    OP_CHECK(a == p + 31 && b > a && c > b && strlen(c) == 14);
    op_log_info("r-4", "d");
    OP_CHECK(test_log_packet(fds[0]) == NULL);
    op_log_batch_end();
    p = test_log_packet(fds[0]);
    OP_CHECK(p != NULL);
    OP_CHECK_HAS(p, "[r-4] d\n");
    /* the batch is over: at once again */
    op_log_info("r-5", "e");
    p = test_log_packet(fds[0]);
    OP_CHECK(p != NULL);
    OP_CHECK_HAS(p, "[r-5] e\n");
    test_log_packets_close(fds);
}

/* The number of whole lines in p (it ends in a newline). */
static int test_log_count_lines(const char *p)
{
    int n = 0;

    OP_CHECK(*p != '\0' && p[strlen(p) - 1] == '\n');
    for (; (p = strchr(p, '\n')) != NULL; p++)
        n++;
    return n;
}

/* A buffer that fills mid-pass is flushed before the line that does not
 * fit, whole lines only; to a socket in writes of at most PIPE_BUF bytes,
 * each of whole lines. Each line here is exactly OP_LOG_LINE_MAX bytes. */
static void test_log_batch_full(void)
{
    const int fit = OP_LOG_BUF_SIZE / OP_LOG_LINE_MAX;
    char text[OP_LOG_LINE_MAX];
    int fds[2], lines = 0, writes = 0;
    char *p;

    memset(text, 'x', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    test_log_packets(fds);
    op_log_batch_begin();
    for (int i = 0; i < fit; i++)
        op_log_info("r-1", "%d %s", i, text);
    OP_CHECK(test_log_packet(fds[0]) == NULL);
    op_log_info("r-1", "%d %s", fit, text); /* does not fit: the others go */
    while ((p = test_log_packet(fds[0])) != NULL) {
        OP_CHECK(strlen(p) <= PIPE_BUF);
        OP_CHECK(strncmp(p, "20", 2) == 0); /* starts a line */
        lines += test_log_count_lines(p);
        writes++;
    }
    OP_CHECK_INT(lines, fit);
    OP_CHECK_INT(writes, fit / (PIPE_BUF / OP_LOG_LINE_MAX));
    op_log_batch_end();
    p = test_log_packet(fds[0]);
    OP_CHECK(p != NULL);
    OP_CHECK_INT(test_log_count_lines(p), 1);
    char want[32];
    snprintf(want, sizeof(want), "[r-1] %d xx", fit);
    OP_CHECK_HAS(p, want);
    test_log_packets_close(fds);
}

/* A file takes the whole buffer in one write; what it gets is every line,
 * in order. */
static void test_log_batch_file(void)
{
    char path[] = "/tmp/test_op_log_XXXXXX", buf[4096];
    int fd = mkstemp(path);

    OP_CHECK(fd >= 0);
    unlink(path);
    op_log_init(OP_LOG_INFO, fd);
    op_log_batch_begin();
    for (int i = 0; i < 40; i++)
        op_log_info("r-1", "line %02d", i);
    OP_CHECK_INT(lseek(fd, 0, SEEK_CUR), 0);
    op_log_batch_end();
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    OP_CHECK(n > 0);
    buf[n] = '\0';
    OP_CHECK_INT(test_log_count_lines(buf), 40);
    char *prev = buf;
    for (int i = 0; i < 40; i++) {
        char want[32];
        snprintf(want, sizeof(want), "line %02d\n", i);
        char *at = strstr(buf, want);
        OP_CHECK(at != NULL && at >= prev);
        prev = at;
    }
    close(fd);
    op_log_init(OP_LOG_INFO, 2);
}

/* The time text as gmtime_r gives it. */
static void test_log_time_is(long long sec, unsigned ms)
{
    char got[OP_LOG_TIME_MAX], want[OP_LOG_TIME_MAX];
    time_t t = (time_t)sec;
    struct tm tm;

    OP_CHECK(gmtime_r(&t, &tm) != NULL);
    snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    OP_CHECK_INT(op_log_time(got, sec, ms), strlen(want));
    OP_CHECK_STR(got, want);
}

/* The cached date and seconds are those of the second asked for: across
 * a second, a day and a year, and when the clock goes back. */
static void test_log_time_cache(void)
{
    char got[OP_LOG_TIME_MAX];

    OP_CHECK_INT(op_log_time(got, 1795322139, 123), 24);
    OP_CHECK_STR(got, "2026-11-22T04:35:39.123Z");
    OP_CHECK_INT(op_log_time(got, 1795322139, 999), 24);
    OP_CHECK_STR(got, "2026-11-22T04:35:39.999Z");
    OP_CHECK_INT(op_log_time(got, 1795322140, 0), 24);
    OP_CHECK_STR(got, "2026-11-22T04:35:40.000Z");
    OP_CHECK_INT(op_log_time(got, 1795322139, 5), 24); /* the clock stepped back */
    OP_CHECK_STR(got, "2026-11-22T04:35:39.005Z");
    test_log_time_is(1798761599, 999); /* 2026-12-31T23:59:59 */
    test_log_time_is(1798761600, 0);
    test_log_time_is(1798761600, 1);
    test_log_time_is(1709164800, 42); /* 2024-02-29 */
    test_log_time_is(0, 0);
    /* a line's prefix has the same shape */
    int fds[2];
    test_log_packets(fds);
    op_log_info(NULL, "x");
    char *p = test_log_packet(fds[0]);
    OP_CHECK(p != NULL && strlen(p) > 24);
    OP_CHECK(p[4] == '-' && p[10] == 'T' && p[19] == '.' && p[23] == 'Z');
    OP_CHECK_HAS(p, "Z INFO  [-] x\n");
    test_log_packets_close(fds);
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
    {"log_unbatched_at_once", test_log_unbatched_at_once},
    {"log_batch_one_write", test_log_batch_one_write},
    {"log_batch_error_at_once", test_log_batch_error_at_once},
    {"log_batch_full", test_log_batch_full},
    {"log_batch_file", test_log_batch_file},
    {"log_time_cache", test_log_time_cache},
};
OP_TEST_MAIN(cases)
