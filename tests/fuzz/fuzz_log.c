/*
 * tests/fuzz/fuzz_log.c - libFuzzer target for the runtime's text
 * formatters: the logger (core/base/op_log.c), error descriptions
 * (core/base/op_err.c) and op_arena_printf (core/base/op_arena.c). Every field they
 * format may be hostile; the rules that must hold (design rule: secrets
 * never reach a log):
 *  - op_log_redact never writes past its capacity (the output buffer is
 *    exactly that large, so ASan sees a byte more), always NUL-terminates,
 *    leaves no control byte, and after a secret marker only "" or "***";
 *    a smaller capacity gives a prefix of the full copy, then as much of
 *    OP_LOG_CUT as fits, at exactly cap - 1 bytes; the copy is stable
 *    (redacting it again changes nothing);
 *  - op_log writes one line of at most OP_LOG_LINE_MAX bytes, ending in
 *    its only newline, also with a hostile request id; in a batch (as in
 *    a loop pass) nothing before the batch ends, then the same line;
 *  - OP_ERR keeps a prefix of what it was given, under OP_ERR_DESC_MAX,
 *    valid UTF-8 when the input was, also when an argument is the
 *    error's own description;
 *  - op_arena_printf gives exactly the formatted text, or NULL when the
 *    arena is full.
 * Any broken rule aborts.
 *
 * Input: two bytes of capacity (little endian, below 4096), one byte of
 * flags (bit 0: cut; bit 1: the text is also the request id; bit 2: log
 * in a batch), the text.
 *
 *   make build/fuzz/fuzz_log
 *   build/fuzz/fuzz_log -dict=tests/fuzz/log.dict CORPUS_COPY   (seeds: tests/fuzz/corpus/log)
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/base/op.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Some of the markers op_log.h promises to mask, with the byte that ends
 * their value besides the end of the text (the JSON ones end at '"'). */
static const struct {
    const char *marker, *ends;
} fuzz_log_secrets[] = {
    {"code=", "& ,;\"'"},         {"bearer ", "& ,;\"'"},         {"password=", "& ,;\"'"},
    {"access_token=", "&,; \"'"}, {"\"client_secret\":\"", "\""}, {"\"k\":\"", "\""},
};

static int fuzz_log_pipe[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    OP_UNUSED(argc);
    OP_UNUSED(argv);
    setenv("OP_DEBUG_ARENA", "1", 1);
    if (pipe(fuzz_log_pipe) != 0 || fcntl(fuzz_log_pipe[0], F_SETFL, O_NONBLOCK) != 0)
        abort();
    op_log_init(OP_LOG_DEBUG, fuzz_log_pipe[1]);
    return 0;
}

/* After every marker in s, the value is empty or "***". When s was cut
 * (it ends in OP_LOG_CUT), the value the cut ends may be a prefix of
 * "***". */
static void fuzz_log_check_masked(char *s)
{
    size_t len = strlen(s), cl = strlen(OP_LOG_CUT);
    bool cut = len >= cl && strcmp(s + len - cl, OP_LOG_CUT) == 0;

    if (cut)
        s[len - cl] = '\0';
    for (const char *p = s; *p != '\0'; p++) {
        for (size_t m = 0; m < OP_NELEMS(fuzz_log_secrets); m++) {
            size_t ml = strlen(fuzz_log_secrets[m].marker);
            if (tolower((unsigned char)*p) != fuzz_log_secrets[m].marker[0] ||
                strncasecmp(p, fuzz_log_secrets[m].marker, ml) != 0)
                continue;
            const char *v = p + ml;
            size_t vl = strcspn(v, fuzz_log_secrets[m].ends);
            bool at_cut = cut && v[vl] == '\0' && vl < 3;
            if (vl != 0 && memcmp(v, "***", vl < 3 ? vl : 3) != 0)
                abort();
            if (vl != 0 && vl != 3 && !at_cut)
                abort();
        }
    }
    if (cut)
        s[len - cl] = OP_LOG_CUT[0];
}

/* op_log_redact into a buffer of exactly cap bytes. */
static char *fuzz_log_redact(const char *in, size_t cap, bool cut, size_t *n)
{
    char *out = malloc(cap > 0 ? cap : 1);

    if (out == NULL)
        abort();
    *n = op_log_redact(out, cap, in, cut);
    if (cap == 0) {
        if (*n != 0)
            abort();
        out[0] = '\0';
        return out;
    }
    if (*n >= cap || out[*n] != '\0' || strlen(out) != *n)
        abort();
    for (size_t i = 0; i < *n; i++) {
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
            abort();
    }
    return out;
}

static void fuzz_log_redaction(const char *text, size_t cap, bool cut)
{
    size_t full_cap = 3 * strlen(text) + 1, nref, n, again_n;
    const size_t cutlen = strlen(OP_LOG_CUT);
    char *ref = fuzz_log_redact(text, full_cap, false, &nref);

    fuzz_log_check_masked(ref);
    char *again = fuzz_log_redact(ref, full_cap, false, &again_n);
    if (strcmp(again, ref) != 0)
        abort();
    free(again);

    char *out = fuzz_log_redact(text, cap, cut, &n);
    if (cap > 0) {
        if (!cut && nref < cap) {
            if (strcmp(out, ref) != 0)
                abort();
        } else {
            size_t m = cutlen < cap - 1 ? cutlen : cap - 1;
            size_t k = n - m;
            if (n < m || memcmp(out + k, OP_LOG_CUT, m) != 0 || memcmp(out, ref, k) != 0)
                abort();
            if (nref >= cap && n != cap - 1)
                abort(); /* cut, so as full as it can be */
        }
    }
    free(out);
    free(ref);
}

/* In a batch, nothing has reached the pipe before its end. */
static void fuzz_log_batch_end(bool batched)
{
    char c;

    if (!batched)
        return;
    if (read(fuzz_log_pipe[0], &c, 1) != -1 || errno != EAGAIN)
        abort();
    op_log_batch_end();
}

/* One line through op_log and back from the pipe. */
static void fuzz_log_line(const char *text, bool text_is_id, bool batched)
{
    char buf[2 * OP_LOG_LINE_MAX];
    ssize_t k;
    size_t n = 0;

    if (batched)
        op_log_batch_begin();
    op_log_warn(text_is_id ? text : "r-1", "fuzz: %s", text);
    fuzz_log_batch_end(batched);
    while (n < sizeof(buf) && (k = read(fuzz_log_pipe[0], buf + n, sizeof(buf) - n)) > 0)
        n += (size_t)k;
    if (n == 0 || n > OP_LOG_LINE_MAX || buf[n - 1] != '\n' || memchr(buf, '\n', n) != buf + n - 1)
        abort();
    buf[n - 1] = '\0';
    fuzz_log_check_masked(buf);
}

/* The access line with hostile text as request id or path: still one
 * line of at most OP_LOG_LINE_MAX bytes, without control bytes. */
static void fuzz_log_access(const char *text, bool text_is_id, bool batched)
{
    char buf[2 * OP_LOG_LINE_MAX];
    ssize_t k;
    size_t n = 0;

    if (batched)
        op_log_batch_begin();
    op_log_access(text_is_id ? text : "r-1", "GET", text_is_id ? "/" : text, 200, 1);
    fuzz_log_batch_end(batched);
    while (n < sizeof(buf) && (k = read(fuzz_log_pipe[0], buf + n, sizeof(buf) - n)) > 0)
        n += (size_t)k;
    if (n == 0 || n > OP_LOG_LINE_MAX || buf[n - 1] != '\n')
        abort();
    for (size_t i = 0; i + 1 < n; i++) {
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
            abort();
    }
}

/* d is a prefix of s, at most OP_ERR_DESC_MAX - 1 bytes, all of s when it
 * fits, and valid UTF-8 when s is. */
static void fuzz_log_check_desc(const char *d, const char *s)
{
    size_t dl = strlen(d), sl = strlen(s);

    if (dl >= OP_ERR_DESC_MAX || strncmp(d, s, dl) != 0)
        abort();
    if (sl < OP_ERR_DESC_MAX ? dl != sl : dl + 3 < OP_ERR_DESC_MAX - 1)
        abort();
    if (op_json_utf8_valid(s, sl) && !op_json_utf8_valid(d, dl))
        abort();
}

static void fuzz_log_err(const char *text)
{
    op_err_t e;
    char first[OP_ERR_DESC_MAX], prefixed[OP_ERR_DESC_MAX + 8];

    op_err_clear(&e);
    if (OP_ERR(&e, OP_EINVAL, "%s", text) != OP_EINVAL || e.http_status != 400)
        abort();
    fuzz_log_check_desc(e.description, text);
    memcpy(first, e.description, sizeof(first));
    /* context added from the error's own description */
    OP_ERR_OAUTH(&e, OP_EINVAL, "invalid_request", 400, "query: %s", e.description);
    memcpy(prefixed, "query: ", 8);
    memcpy(prefixed + 7, first, strlen(first) + 1);
    fuzz_log_check_desc(e.description, prefixed);
}

static void fuzz_log_printf(const char *text, size_t cap)
{
    op_arena_t *a = op_arena_new(cap);
    size_t tl = strlen(text);

    if (a == NULL)
        return;
    char *p = op_arena_printf(a, "%s|%.*s", text, (int)(tl / 2), text);
    if (p != NULL && (strlen(p) != tl + 1 + tl / 2 || strncmp(p, text, tl) != 0 || p[tl] != '|' ||
                      strncmp(p + tl + 1, text, tl / 2) != 0))
        abort();
    if (p == NULL && cap > 2 * (tl + 64))
        abort();
    op_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t cap = ((size_t)data[0] | (size_t)data[1] << 8) % 4096;
    bool cut = data[2] & 1, text_is_id = data[2] & 2, batched = data[2] & 4;
    char *text = malloc(size - 2);

    if (text == NULL)
        return 0;
    memcpy(text, data + 3, size - 3);
    text[size - 3] = '\0';
    fuzz_log_redaction(text, cap, cut);
    fuzz_log_line(text, text_is_id, batched);
    fuzz_log_access(text, text_is_id, batched);
    fuzz_log_err(text);
    fuzz_log_printf(text, cap);
    free(text);
    return 0;
}
