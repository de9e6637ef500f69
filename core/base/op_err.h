/*
 * core/base/op_err.h - status codes and the one error type.
 *
 * An op_err_t carries an internal code, the OAuth error code and HTTP
 * status it maps to, a description safe to show to the caller, and where
 * it was raised. Only http/ turns it into a response.
 */
#ifndef OP_ERR_H
#define OP_ERR_H

#include <stddef.h>

enum {
    OP_OK = 0,
    OP_AGAIN = 1,    /* will finish later, through the callback */
    OP_DECLINED = 2, /* not mine, try the next handler */
    OP_DONE = 3,     /* finished, nothing more to do */

    OP_ERROR = -1, /* internal error */
    /* -2 is unused: out of memory aborts (core/base/op_mem.h); a plugin's
     * OP_SPI_ENOMEM becomes OP_ERROR (spi/op_spi_call.c). */
    OP_EINVAL = -3,    /* bad input */
    OP_ENOTFOUND = -4, /* no such record */
    OP_EEXIST = -5,    /* record exists (create-only write) */
    OP_ETIMEDOUT = -6, /* deadline passed */
    OP_ECANCELED = -7, /* cancelled (shutdown, requester gone) */
    OP_EUNAVAIL = -8,  /* backend down or overloaded */
    OP_ETOOBIG = -9,   /* input over a size limit */
    OP_EPROTO = -10,   /* peer spoke the protocol wrong */
    OP_EDENIED = -11,  /* authentication or authorisation refused */
    OP_ECONFLICT = -12 /* concurrent modification */
};

/* Static name of a status ("OP_OK", "OP_ETIMEDOUT", ...). */
const char *op_err_status_name(int status);

#define OP_ERR_DESC_MAX 256

typedef struct op_err {
    int code;                          /* OP_E*, OP_OK when unset */
    const char *oauth_error;           /* static string: "invalid_request", ... */
    int http_status;                   /* 400, 401, 404, 503, ... */
    char description[OP_ERR_DESC_MAX]; /* shown to the caller: no secrets */
    const char *file;
    int line;
    const char *func;
} op_err_t;

/* Reset to "no error". */
void op_err_clear(op_err_t *err);

/*
 * Set err from an internal code: the OAuth error and HTTP status come from
 * a table (OP_EINVAL -> invalid_request/400, OP_EUNAVAIL and OP_ETIMEDOUT
 * -> temporarily_unavailable/503, OP_ENOTFOUND -> not_found/404, ...).
 * Returns code so a caller can write `return OP_ERR(err, OP_EINVAL, ...)`.
 * err may be NULL. The arguments may point into err->description (adding
 * context to an error: OP_ERR(err, OP_EINVAL, "query: %s",
 * err->description)). A description longer than OP_ERR_DESC_MAX - 1 bytes
 * is cut, never inside a UTF-8 sequence.
 */
#define OP_ERR(err, code, ...)                                                                     \
    op_err_set((err), (code), NULL, 0, __FILE__, __LINE__, __func__, __VA_ARGS__)

/* Same, with an explicit OAuth error code and HTTP status. */
#define OP_ERR_OAUTH(err, code, oauth_error, status, ...)                                          \
    op_err_set((err), (code), (oauth_error), (status), __FILE__, __LINE__, __func__, __VA_ARGS__)

int op_err_set(op_err_t *err, int code, const char *oauth_error, int status, const char *file,
               int line, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

#endif
