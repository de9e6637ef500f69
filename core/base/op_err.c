/*
 * core/base/op_err.c - status names and the error type.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/base/op.h"

typedef struct op_err_map {
    int code;
    const char *name;
    const char *oauth_error;
    int http_status;
} op_err_map_t;

/* How an internal code reads to a client when nothing more specific was
 * said. The OAuth names are RFC 6749 §5.2 / §4.1.2.1 codes, except
 * not_found / conflict, which only the integration APIs answer. */
static const op_err_map_t op_err_table[] = {
    {OP_OK, "OP_OK", NULL, 200},
    {OP_AGAIN, "OP_AGAIN", NULL, 200},
    {OP_DECLINED, "OP_DECLINED", NULL, 200},
    {OP_DONE, "OP_DONE", NULL, 200},
    {OP_ERROR, "OP_ERROR", "server_error", 500},
    {OP_EINVAL, "OP_EINVAL", "invalid_request", 400},
    {OP_ENOTFOUND, "OP_ENOTFOUND", "not_found", 404},
    {OP_EEXIST, "OP_EEXIST", "conflict", 409},
    {OP_ETIMEDOUT, "OP_ETIMEDOUT", "temporarily_unavailable", 503},
    {OP_ECANCELED, "OP_ECANCELED", "temporarily_unavailable", 503},
    {OP_EUNAVAIL, "OP_EUNAVAIL", "temporarily_unavailable", 503},
    {OP_ETOOBIG, "OP_ETOOBIG", "invalid_request", 413},
    {OP_EPROTO, "OP_EPROTO", "server_error", 502},
    {OP_EDENIED, "OP_EDENIED", "access_denied", 403},
    {OP_ECONFLICT, "OP_ECONFLICT", "conflict", 409},
};

static const op_err_map_t *op_err_lookup(int code)
{
    for (size_t i = 0; i < OP_NELEMS(op_err_table); i++) {
        if (op_err_table[i].code == code)
            return &op_err_table[i];
    }
    return &op_err_table[4]; /* OP_ERROR */
}

const char *op_err_status_name(int status)
{
    return op_err_lookup(status)->name;
}

void op_err_clear(op_err_t *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
}

/*
 * Where a description cut at len bytes may end: before the lead byte of
 * a UTF-8 sequence the cut left incomplete, so that a cut never makes
 * invalid UTF-8 of valid text (the JSON writer refuses that).
 */
static size_t op_err_utf8_cut(const char *s, size_t len)
{
    size_t lead = len;

    while (lead > 0 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80 && len - lead < 3)
        lead--;
    if (lead == 0)
        return len;
    unsigned char c = (unsigned char)s[lead - 1];
    size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > len - (lead - 1) ? lead - 1 : len;
}

/*
 * The description is formatted into a buffer of its own and then copied:
 * an argument may point into err->description itself (a caller adding
 * context to the error it got, OP_ERR(err, c, "query: %s",
 * err->description)), and vsnprintf with overlapping source and
 * destination is undefined behaviour (glibc garbles it).
 */
int op_err_set(op_err_t *err, int code, const char *oauth_error, int status, const char *file,
               int line, const char *func, const char *fmt, ...)
{
    char desc[OP_ERR_DESC_MAX];
    if (err == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(desc, sizeof(desc), fmt, ap);
    va_end(ap);
    if (n < 0)
        desc[0] = '\0';
    else if ((size_t)n >= sizeof(desc))
        desc[op_err_utf8_cut(desc, sizeof(desc) - 1)] = '\0';
    const op_err_map_t *m = op_err_lookup(code);
    err->code = code;
    err->oauth_error = oauth_error != NULL ? oauth_error : m->oauth_error;
    err->http_status = status != 0 ? status : m->http_status;
    err->file = file;
    err->line = line;
    err->func = func;
    memcpy(err->description, desc, sizeof(desc));
    return code;
}
