/*
 * core/base/op_log.c - levelled logging with request ids and redaction.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/base/op.h"

static op_log_level_t op_log_min = OP_LOG_INFO;
static int op_log_fd = 2;

static const char *const op_log_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

/* A write to a pipe or socket of at most PIPE_BUF bytes is not mixed with
 * another process's writes (the workers share the fd), so a flush cuts the
 * buffer into pieces of whole lines that fit; one line always does. */
_Static_assert(OP_LOG_LINE_MAX <= PIPE_BUF, "a line is one atomic write");
_Static_assert(OP_LOG_BUF_SIZE >= OP_LOG_LINE_MAX, "a line fits the buffer");

/*
 * The lines of the current loop pass, owned by the thread whose batch
 * depth is not 0 (the loop's thread; one at a time). Any other thread, or
 * the loop's thread outside op_loop_run, finds its depth 0, never touches
 * the buffer and writes each line at once, as before batching.
 */
static struct {
    char data[OP_LOG_BUF_SIZE];
    size_t len;
    size_t piece; /* the most one write(2) takes */
} op_log_buf = {.piece = PIPE_BUF};

static _Thread_local unsigned op_log_batch_depth;

void op_log_init(op_log_level_t min_level, int fd)
{
    struct stat st;

    op_log_min = min_level;
    op_log_fd = fd;
    /* files and terminals take the whole buffer in one write */
    op_log_buf.piece = fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))
                           ? sizeof(op_log_buf.data)
                           : PIPE_BUF;
}

bool op_log_level_parse(const char *name, op_log_level_t *out)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (size_t i = 0; i < OP_NELEMS(names); i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (op_log_level_t)i;
            return true;
        }
    }
    return false;
}

bool op_log_enabled(op_log_level_t level)
{
    return level >= op_log_min;
}

/* Value classes: how a value after a marker ends. */
enum {
    OP_LOG_QUERY = 1, /* "code=x", "Bearer x": at & space , ; " ' */
    OP_LOG_JSON = 2   /* "\"k\":\"x\"": at " not escaped by a backslash */
};

typedef struct op_log_marker {
    const char *text; /* lower case, matched case-insensitively */
    size_t len;
    unsigned cls; /* OP_LOG_QUERY or OP_LOG_JSON */
} op_log_marker_t;

#define OP_LOG_MARKER(s, cls)                                                                      \
    {                                                                                              \
        s, sizeof(s) - 1, cls                                                                      \
    }

/*
 * Markers after which a secret value follows, up to the end its class
 * says. Query-style ("code=..."), header-style ("Bearer ..."), and
 * JSON-style ("\"client_secret\":\"...\"") forms are covered. Each ends
 * in '=', ' ' or '"': op_log_redact looks for them only there.
 */
static const op_log_marker_t op_log_markers[] = {
    OP_LOG_MARKER("bearer ", OP_LOG_QUERY),
    OP_LOG_MARKER("basic ", OP_LOG_QUERY),
    OP_LOG_MARKER("client_secret=", OP_LOG_QUERY),
    OP_LOG_MARKER("password=", OP_LOG_QUERY),
    OP_LOG_MARKER("code=", OP_LOG_QUERY),
    OP_LOG_MARKER("access_token=", OP_LOG_QUERY),
    OP_LOG_MARKER("refresh_token=", OP_LOG_QUERY),
    OP_LOG_MARKER("id_token=", OP_LOG_QUERY),
    OP_LOG_MARKER("client_assertion=", OP_LOG_QUERY),
    OP_LOG_MARKER("code_verifier=", OP_LOG_QUERY),
    OP_LOG_MARKER("token=", OP_LOG_QUERY),
    OP_LOG_MARKER("\"client_secret\":\"", OP_LOG_JSON),
    OP_LOG_MARKER("\"password\":\"", OP_LOG_JSON),
    OP_LOG_MARKER("\"k\":\"", OP_LOG_JSON),
    OP_LOG_MARKER("\"d\":\"", OP_LOG_JSON),
    OP_LOG_MARKER("\"access_token\":\"", OP_LOG_JSON),
    OP_LOG_MARKER("\"refresh_token\":\"", OP_LOG_JSON),
    OP_LOG_MARKER("\"id_token\":\"", OP_LOG_JSON),
    OP_LOG_MARKER("\"code\":\"", OP_LOG_JSON),
    OP_LOG_MARKER("\"p\":\"", OP_LOG_JSON),
    OP_LOG_MARKER("\"q\":\"", OP_LOG_JSON),
};

/* True when byte c ends a value of class cls. */
static bool op_log_value_end(unsigned char c, unsigned cls)
{
    if (cls == OP_LOG_JSON)
        return c == '"';
    return c == '&' || c == ' ' || c == ',' || c == ';' || c == '"' || c == '\'';
}

/* The classes of the markers that end with in[end - 1] (each marker's
 * value starts right after it). */
static unsigned op_log_markers_ending(const char *in, size_t end)
{
    unsigned cls = 0;

    for (size_t m = 0; m < OP_NELEMS(op_log_markers); m++) {
        const op_log_marker_t *k = &op_log_markers[m];
        if (k->len <= end && k->text[k->len - 1] == in[end - 1] &&
            strncasecmp(in + end - k->len, k->text, k->len) == 0)
            cls |= k->cls;
    }
    return cls;
}

/* The output of op_log_redact: len < cap always; full once a piece did
 * not fit (nothing more is written then). */
typedef struct op_log_out {
    char *p;
    size_t cap, len;
    bool full;
} op_log_out_t;

static void op_log_put(op_log_out_t *o, const char *s, size_t n)
{
    if (o->full)
        return;
    if (n >= o->cap - o->len) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* End the output with OP_LOG_CUT, over its tail if need be. */
static void op_log_cut(op_log_out_t *o)
{
    size_t n = strlen(OP_LOG_CUT);

    if (n > o->cap - 1)
        n = o->cap - 1;
    if (o->len > o->cap - 1 - n)
        o->len = o->cap - 1 - n;
    memcpy(o->p + o->len, OP_LOG_CUT, n);
    o->len += n;
}

/*
 * One pass over in, writing into out and never past cap. A byte is
 * secret when it lies in the value of any marker, also of markers that
 * overlap or lie inside another value (so `"code":"k":"x"` masks both
 * values), and a JSON value runs to its first unescaped '"'; each run of
 * secret bytes is written as one "***". The scan
 * keeps, per class, whether it is inside a value: all the open values of
 * a class end at the same byte. No secret byte is ever copied, so
 * cutting the output anywhere cannot reveal one.
 */
size_t op_log_redact(char *out, size_t cap, const char *in, bool cut)
{
    op_log_out_t o = {out, cap, 0, false};
    unsigned open = 0, starting = 0;
    bool masked = false, escaped = false;

    if (cap == 0)
        return 0;
    for (size_t i = 0; in[i] != '\0' && !o.full; i++) {
        unsigned char c = (unsigned char)in[i];

        for (unsigned cls = OP_LOG_QUERY; cls <= OP_LOG_JSON; cls <<= 1) {
            if (op_log_value_end(c, cls) && !(cls == OP_LOG_JSON && escaped))
                open &= ~cls;
            else if (starting & cls)
                open |= cls;
        }
        /* in a JSON value, \" is part of the value */
        escaped = (open & OP_LOG_JSON) && c == '\\' && !escaped;
        /* every marker ends in '=', ' ' or '"' */
        starting = c == '=' || c == ' ' || c == '"' ? op_log_markers_ending(in, i + 1) : 0;
        if (open != 0) {
            if (!masked)
                op_log_put(&o, "***", 3);
            masked = true;
            continue;
        }
        masked = false;
        /* Control characters from data would forge log lines. */
        char safe = c < 0x20 || c == 0x7f ? '?' : (char)c;
        op_log_put(&o, &safe, 1);
    }
    if (o.full || cut)
        op_log_cut(&o);
    out[o.len] = '\0';
    return o.len;
}

/* Write whole lines (the newline included) with one write(2), retried
 * only on EINTR or a short write. */
static void op_log_write(const char *w, size_t len)
{
    while (len > 0) {
        ssize_t k = write(op_log_fd, w, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;
        w += k;
        len -= (size_t)k;
    }
}

/* Write the buffer out and empty it: one write, or for a pipe or socket
 * one per piece of whole lines of at most PIPE_BUF bytes. */
static void op_log_buf_flush(void)
{
    size_t off = 0;

    while (off < op_log_buf.len) {
        const char *p = op_log_buf.data + off;
        size_t n = op_log_buf.len - off;
        if (n > op_log_buf.piece) {
            /* every line is shorter than a piece: a newline is in it */
            const char *nl = memrchr(p, '\n', op_log_buf.piece);
            n = (size_t)(nl - p) + 1;
        }
        op_log_write(p, n);
        off += n;
    }
    op_log_buf.len = 0;
}

void op_log_flush(void)
{
    if (op_log_batch_depth > 0)
        op_log_buf_flush();
}

void op_log_batch_begin(void)
{
    op_log_batch_depth++;
}

void op_log_batch_end(void)
{
    assert(op_log_batch_depth > 0);
    op_log_buf_flush();
    op_log_batch_depth--;
}

/*
 * One finished line: written at once outside a batch; in a batch added to
 * the buffer (flushed first when the line does not fit, so no line is
 * ever split between two writes), and an ERROR line goes out at once with
 * everything before it, in the same write.
 */
static void op_log_emit(op_log_level_t level, const char *line, size_t len)
{
    if (op_log_batch_depth == 0) {
        op_log_write(line, len);
        return;
    }
    if (len > sizeof(op_log_buf.data) - op_log_buf.len)
        op_log_buf_flush();
    memcpy(op_log_buf.data + op_log_buf.len, line, len);
    op_log_buf.len += len;
    if (level >= OP_LOG_ERROR)
        op_log_buf_flush();
}

/* The decimal digits of v, zero-padded to at least width. */
static void op_log_put_uint(op_log_out_t *o, unsigned long long v, int width)
{
    char d[24];
    int n = 0;

    do {
        d[sizeof(d) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 || n < width);
    op_log_put(o, d + sizeof(d) - n, (size_t)n);
}

/* Text that holds no secret, its control bytes as '?' (they would forge
 * lines), copied in runs; what does not fit is cut (it may show in part). */
static void op_log_put_text(op_log_out_t *o, const char *s)
{
    while (*s != '\0' && !o->full) {
        size_t n = 0;
        while (s[n] != '\0' && (unsigned char)s[n] >= 0x20 && s[n] != 0x7f)
            n++;
        if (n >= o->cap - o->len) {
            memcpy(o->p + o->len, s, o->cap - 1 - o->len);
            o->len = o->cap - 1;
            o->full = true;
            return;
        }
        op_log_put(o, s, n);
        s += n;
        if (*s != '\0') {
            op_log_put(o, "?", 1);
            s++;
        }
    }
}

/* The text of the last second formatted, up to its '.'. Per thread, like
 * the batch depth, so that a thread outside the loop logs safely. */
static _Thread_local struct {
    long long sec;
    bool valid;
    size_t len;
    char text[OP_LOG_TIME_MAX];
} op_log_clock;

/* Lines come many to the second: gmtime_r runs once per second, and a
 * line copies the date and seconds and adds its milliseconds. */
size_t op_log_time(char *out, long long sec, unsigned ms)
{
    if (!op_log_clock.valid || op_log_clock.sec != sec) {
        /* the text must leave room for "mmmZ" */
        op_log_out_t o = {op_log_clock.text, sizeof(op_log_clock.text) - 4, 0, false};
        time_t t = (time_t)sec;
        struct tm tm;

        if (gmtime_r(&t, &tm) == NULL)
            memset(&tm, 0, sizeof(tm));
        op_log_put_uint(&o, (unsigned long long)tm.tm_year + 1900, 4);
        op_log_put(&o, "-", 1);
        op_log_put_uint(&o, (unsigned long long)tm.tm_mon + 1, 2);
        op_log_put(&o, "-", 1);
        op_log_put_uint(&o, (unsigned long long)tm.tm_mday, 2);
        op_log_put(&o, "T", 1);
        op_log_put_uint(&o, (unsigned long long)tm.tm_hour, 2);
        op_log_put(&o, ":", 1);
        op_log_put_uint(&o, (unsigned long long)tm.tm_min, 2);
        op_log_put(&o, ":", 1);
        op_log_put_uint(&o, (unsigned long long)tm.tm_sec, 2);
        op_log_put(&o, ".", 1);
        op_log_clock.len = o.len;
        op_log_clock.sec = sec;
        op_log_clock.valid = true;
    }
    size_t n = op_log_clock.len;
    memcpy(out, op_log_clock.text, n);
    ms %= 1000;
    out[n++] = (char)('0' + ms / 100);
    out[n++] = (char)('0' + ms / 10 % 10);
    out[n++] = (char)('0' + ms % 10);
    out[n++] = 'Z';
    out[n] = '\0';
    return n;
}

/* op_log_time of now. */
static size_t op_log_now(char *out)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return op_log_time(out, (long long)tv.tv_sec, (unsigned)(tv.tv_usec / 1000));
}

/* "2026-11-22T04:35:39.123Z INFO  [r-3f2a9c1d] " */
static void op_log_put_prefix(op_log_out_t *o, op_log_level_t level, const char *req_id)
{
    char now[OP_LOG_TIME_MAX];

    op_log_put(o, now, op_log_now(now));
    op_log_put(o, " ", 1);
    op_log_put(o, op_log_names[level], 5);
    op_log_put(o, " [", 2);
    op_log_put_text(o, req_id != NULL ? req_id : "-");
    op_log_put(o, "] ", 2);
}

void op_log_access(const char *req_id, const char *method, const char *path, int status,
                   unsigned long long us)
{
    if (!op_log_enabled(OP_LOG_INFO))
        return;
    char line[OP_LOG_LINE_MAX];
    /* len < cap: the newline always fits */
    op_log_out_t o = {line, sizeof(line), 0, false};

    op_log_put_prefix(&o, OP_LOG_INFO, req_id);
    op_log_put(&o, "http: ", 6);
    op_log_put_text(&o, method);
    op_log_put(&o, " ", 1);
    op_log_put_text(&o, path);
    op_log_put(&o, " ", 1);
    op_log_put_uint(&o, status > 0 ? (unsigned long long)status : 0, 1);
    op_log_put(&o, " ", 1);
    op_log_put_uint(&o, us / 1000, 1);
    op_log_put(&o, ".", 1);
    op_log_put_uint(&o, us % 1000 / 100, 1);
    op_log_put(&o, "ms", 2);
    if (o.full)
        op_log_cut(&o);
    line[o.len++] = '\n';
    op_log_emit(OP_LOG_INFO, line, o.len);
}

/*
 * Format the line into raw (cut when it does not fit), then copy it,
 * masked, into line, which keeps room for the newline. Both buffers are
 * on the stack: logging allocates nothing.
 */
void op_log_v(op_log_level_t level, const char *req_id, const char *fmt, va_list ap)
{
    if (!op_log_enabled(level))
        return;
    char raw[OP_LOG_LINE_MAX], line[OP_LOG_LINE_MAX], now[OP_LOG_TIME_MAX];
    size_t now_len = op_log_now(now);
    int n = snprintf(raw, sizeof(raw), "%.*s %s [%s] ", (int)now_len, now, op_log_names[level],
                     req_id != NULL ? req_id : "-");
    if (n < 0)
        return;
    size_t off = (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1;
    int m = vsnprintf(raw + off, sizeof(raw) - off, fmt, ap);
    if (m < 0)
        raw[off] = '\0';
    bool cut = (size_t)n >= sizeof(raw) || m < 0 || (size_t)m >= sizeof(raw) - off;
    size_t len = op_log_redact(line, sizeof(line), raw, cut);
    line[len++] = '\n';
    op_log_emit(level, line, len);
}

void op_log(op_log_level_t level, const char *req_id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    op_log_v(level, req_id, fmt, ap);
    va_end(ap);
}
