/*
 * core/op_log.c - levelled logging with request ids and redaction.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/op.h"

#define OP_LOG_LINE_MAX 2048

static op_log_level_t op_log_min = OP_LOG_INFO;
static int op_log_fd = 2;

static const char *const op_log_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

void op_log_init(op_log_level_t min_level, int fd)
{
    op_log_min = min_level;
    op_log_fd = fd;
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

/*
 * Markers after which a secret value follows, up to a delimiter. Matching
 * is case-insensitive; the value is replaced by "***" (the rest of the
 * line shifts left). Query-style ("code=..."), header-style ("Bearer
 * ..."), and JSON-style ("\"client_secret\":\"...\"") forms are covered.
 */
static const char *const op_log_markers[] = {
    "bearer ",
    "basic ",
    "client_secret=",
    "password=",
    "code=",
    "access_token=",
    "refresh_token=",
    "id_token=",
    "client_assertion=",
    "code_verifier=",
    "token=",
    "\"client_secret\":\"",
    "\"password\":\"",
    "\"k\":\"",
    "\"d\":\"",
    "\"access_token\":\"",
    "\"refresh_token\":\"",
    "\"id_token\":\"",
    "\"code\":\"",
    "\"p\":\"",
    "\"q\":\"",
};

static bool op_log_is_value_end(char c, bool json)
{
    if (json)
        return c == '"' || c == '\0';
    return c == '&' || c == ' ' || c == ',' || c == ';' || c == '"' || c == '\'' || c == '\0' ||
           c == '\n';
}

void op_log_redact(char *buf)
{
    for (size_t m = 0; m < OP_NELEMS(op_log_markers); m++) {
        const char *marker = op_log_markers[m];
        size_t mlen = strlen(marker);
        bool json = marker[0] == '"';
        char *p = buf;
        while ((p = strcasestr(p, marker)) != NULL) {
            char *v = p + mlen;
            char *e = v;
            while (!op_log_is_value_end(*e, json))
                e++;
            if (e == v || (e - v == 3 && memcmp(v, "***", 3) == 0)) {
                p = e;
                continue;
            }
            memcpy(v, "***", 3);
            memmove(v + 3, e, strlen(e) + 1);
            p = v + 3;
        }
    }
}

void op_log_v(op_log_level_t level, const char *req_id, const char *fmt, va_list ap)
{
    if (!op_log_enabled(level))
        return;
    char line[OP_LOG_LINE_MAX];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(tv.tv_usec / 1000), op_log_names[level], req_id != NULL ? req_id : "-");
    if (n < 0)
        return;
    size_t off = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    vsnprintf(line + off, sizeof(line) - off, fmt, ap);
    /* Control characters from data would forge log lines. */
    for (char *c = line; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    }
    op_log_redact(line);
    size_t len = strlen(line);
    if (len >= sizeof(line) - 1)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    const char *w = line;
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

void op_log(op_log_level_t level, const char *req_id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    op_log_v(level, req_id, fmt, ap);
    va_end(ap);
}
