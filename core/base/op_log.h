/*
 * core/base/op_log.h - levelled logging with a request id on every line.
 *
 * Lines look like
 *   2026-11-22T04:35:39.123Z INFO  [r-3f2a9c1d] http: GET /jwks.json 200 0.4ms
 * and go to stderr (or the fd given to op_log_init); see "Batching"
 * below for when they are written.
 * The access line of every request (op_log_access) is built from fields
 * that hold no secret by construction. Before any other line is
 * written, the values of secret-bearing fields are masked: "Bearer x",
 * "client_secret=x", "password=x", "code=x", "access_token=x",
 * "refresh_token=x", "\"k\":\"x\"", ... become "***", and control bytes
 * '?'. Never rely on that alone: do not pass secrets to the logger.
 *
 * Every logged field may be hostile: a line never grows past
 * OP_LOG_LINE_MAX, whatever its arguments or the masking do to it. A
 * longer line is cut and ends in OP_LOG_CUT.
 */
#ifndef OP_LOG_H
#define OP_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* The longest line written, its newline included, and the end of a line
 * that had to be cut to fit. */
#define OP_LOG_LINE_MAX 2048
#define OP_LOG_CUT      "...[cut]"

/* The buffer of one loop pass's lines (see "Batching"). */
#define OP_LOG_BUF_SIZE (32 * 1024)

/* Room for the time of a line, "2026-11-22T04:35:39.123Z", and its NUL. */
#define OP_LOG_TIME_MAX 32

typedef enum { OP_LOG_DEBUG = 0, OP_LOG_INFO, OP_LOG_WARN, OP_LOG_ERROR } op_log_level_t;

/* Minimum level and output fd (2 by default). */
void op_log_init(op_log_level_t min_level, int fd);

/* Parse "debug", "info", "warn", "error". Returns false on a bad name. */
bool op_log_level_parse(const char *name, op_log_level_t *out);

bool op_log_enabled(op_log_level_t level);

/* req_id may be NULL (logged as "-"). */
void op_log(op_log_level_t level, const char *req_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void op_log_v(op_log_level_t level, const char *req_id, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define op_log_debug(rid, ...)                                                                     \
    do {                                                                                           \
        if (op_log_enabled(OP_LOG_DEBUG))                                                          \
            op_log(OP_LOG_DEBUG, (rid), __VA_ARGS__);                                              \
    } while (0)
#define op_log_info(rid, ...)  op_log(OP_LOG_INFO, (rid), __VA_ARGS__)
#define op_log_warn(rid, ...)  op_log(OP_LOG_WARN, (rid), __VA_ARGS__)
#define op_log_error(rid, ...) op_log(OP_LOG_ERROR, (rid), __VA_ARGS__)

/*
 * The access line of one request, "http: <method> <path> <status>
 * <ms>ms", formatted directly (no printf), written like any other line.
 * Nothing is scanned for secrets: every field is one that cannot hold one
 * by construction. method is a name of ours, status and us are numbers,
 * and path is the log form the HTTP layer builds (the route's own path,
 * the secret segment of an OP_ROUTE_SECRET route and any unrouted path
 * replaced by the tag of op_keys_crypto_secret_tag, never a query). Control bytes in
 * req_id or path become '?', and the line is cut to OP_LOG_LINE_MAX like
 * any other. Logged at OP_LOG_INFO.
 */
void op_log_access(const char *req_id, const char *method, const char *path, int status,
                   unsigned long long us);

/*
 * Batching. A busy loop pass serves several requests and logs a line for
 * each; one write(2) per line would add a system call per request to
 * the socket IO. So while a loop runs (op_loop_run brackets itself with
 * op_log_batch_begin / op_log_batch_end and calls op_log_flush after each
 * pass, before the loop waits again), lines go into one process-wide
 * buffer of OP_LOG_BUF_SIZE bytes that is written once per pass: with one
 * write(2), or for a pipe or socket in pieces of whole lines of at most
 * PIPE_BUF bytes, which the kernel does not mix with the other workers'
 * writes to the same fd. A line is never split between two writes (it is
 * flushed first when it does not fit), and order is kept:
 *  - an ERROR line is written at once, together with the lines before it
 *    (so is the out-of-memory line of op_mem_fail, before its abort());
 *  - outside a loop (start-up, --check-config, tests that run no loop),
 *    and on any thread but the loop's, every line is written at once;
 *  - the loop's end flushes, and exit after op_loop_run loses nothing.
 * What a crash by signal (SIGSEGV, SIGKILL, an abort() without an ERROR
 * line) can lose is the lines of the current pass only: the milliseconds
 * since the loop last woke, at most OP_LOG_BUF_SIZE bytes. That is
 * acceptable: the loss is bounded and recent, the crash itself is logged
 * by the supervisor, and the lines that explain a deliberate stop are
 * ERRORs, out already. nginx's access_log buffer= makes the same trade.
 */
void op_log_batch_begin(void);
void op_log_batch_end(void); /* flushes; nests with op_log_batch_begin */
/* Write out the lines of the current batch; nothing outside a batch. */
void op_log_flush(void);

/*
 * The time of a line, "2026-11-22T04:35:39.123Z", into out (at least
 * OP_LOG_TIME_MAX bytes, NUL-terminated), for sec seconds since the epoch
 * and ms milliseconds. The text up to the seconds is made by gmtime_r once
 * per second and kept for the next lines of that second. Returns its
 * length. Exposed for tests; every line's prefix comes from it.
 */
size_t op_log_time(char *out, long long sec, unsigned ms);

/*
 * Copy the text in (NUL-terminated) into out as it may be logged: the
 * value of every secret-bearing field becomes "***", every control byte
 * '?'. The copy is bounded by construction: out gets at most cap bytes,
 * its NUL included, and no byte of a secret value. Text that does not fit,
 * or that the caller already had to cut short (cut), ends in OP_LOG_CUT
 * (or as much of it as fits). Returns the length of out (< cap); cap 0
 * writes nothing. Exposed for tests; op_log applies it to every line.
 */
size_t op_log_redact(char *out, size_t cap, const char *in, bool cut);

#endif
