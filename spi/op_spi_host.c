/*
 * spi/op_spi_host.c - the services table plugins get (op_spi_host_t), and
 * the services that are neither call tokens (spi/op_spi_call.c) nor JSON
 * values (spi/op_spi_json.c): logging, timers and deferred functions,
 * outbound HTTP, properties, random bytes; and the clean-up after a
 * plugin's fini.
 *
 * Everything a plugin starts is recorded on its op_spi_config_t, so that
 * op_spi_loader_close can free or detach it after fini and no callback ever
 * reaches an unloaded .so.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/op_keys.h"
#include "spi/op_spi_int.h"

/* The ABI's values are the server's own (passed through unchanged). */
_Static_assert((int)OP_SPI_OK == (int)OP_OK && (int)OP_SPI_ERROR == (int)OP_ERROR &&
                   (int)OP_SPI_EINVAL == (int)OP_EINVAL &&
                   (int)OP_SPI_ENOTFOUND == (int)OP_ENOTFOUND &&
                   (int)OP_SPI_ETIMEDOUT == (int)OP_ETIMEDOUT &&
                   (int)OP_SPI_ECANCELED == (int)OP_ECANCELED &&
                   (int)OP_SPI_EUNAVAIL == (int)OP_EUNAVAIL &&
                   (int)OP_SPI_ETOOBIG == (int)OP_ETOOBIG,
               "op_spi.h status values differ from core/base/op_err.h");
_Static_assert((int)OP_SPI_JSON_NULL == (int)OP_JSON_NULL &&
                   (int)OP_SPI_JSON_FALSE == (int)OP_JSON_FALSE &&
                   (int)OP_SPI_JSON_TRUE == (int)OP_JSON_TRUE &&
                   (int)OP_SPI_JSON_NUMBER == (int)OP_JSON_NUMBER &&
                   (int)OP_SPI_JSON_STRING == (int)OP_JSON_STRING &&
                   (int)OP_SPI_JSON_ARRAY == (int)OP_JSON_ARRAY &&
                   (int)OP_SPI_JSON_OBJECT == (int)OP_JSON_OBJECT,
               "op_spi.h JSON types differ from core/base/op_json.h");
_Static_assert((int)OP_SPI_LOG_DEBUG == (int)OP_LOG_DEBUG &&
                   (int)OP_SPI_LOG_INFO == (int)OP_LOG_INFO &&
                   (int)OP_SPI_LOG_WARN == (int)OP_LOG_WARN &&
                   (int)OP_SPI_LOG_ERROR == (int)OP_LOG_ERROR,
               "op_spi.h log levels differ from core/base/op_log.h");

#define OP_SPI_HOST_LOG_MAX     1024 /* bytes of one plugin log message */
#define OP_SPI_HOST_KEY_MAX     128  /* a property key */
#define OP_SPI_HOST_HEADERS_MAX 32

/* ---- logging -------------------------------------------------------------- */

/* "plugin <name>: <message>" at level (clamped to the known ones), with
 * the call's request id. */
static void op_spi_host_log(const op_spi_config_t *self, int level, op_spi_call_t *call,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void op_spi_host_log(const op_spi_config_t *self, int level, op_spi_call_t *call,
                            const char *fmt, ...)
{
    if (self == NULL && call != NULL)
        self = call->plugin;
    if (level < OP_SPI_LOG_DEBUG)
        level = OP_SPI_LOG_DEBUG;
    if (level > OP_SPI_LOG_ERROR)
        level = OP_SPI_LOG_ERROR;
    if (!op_log_enabled((op_log_level_t)level) || fmt == NULL)
        return;
    char msg[OP_SPI_HOST_LOG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    op_log((op_log_level_t)level, call != NULL ? call->req_id : NULL, "plugin %s: %s",
           self != NULL ? self->name : "?", msg);
}

/* ---- timers and deferred functions -------------------------------------- */

static void op_spi_host_timer_destroy(op_spi_timer_t *t)
{
    op_timer_free(t->timer);
    free(t);
}

/* The loop fires a plugin timer: run its function; free it afterwards when
 * it was a deferred function or timer_free was called from inside. */
static void op_spi_host_timer_fire(void *arg)
{
    op_spi_timer_t *t = arg;
    t->firing = true;
    t->fn(t->arg);
    t->firing = false;
    if (t->once)
        op_list_remove(&t->link);
    if (t->once || t->freed)
        op_spi_host_timer_destroy(t);
}

static op_spi_timer_t *op_spi_host_timer_make(const op_spi_config_t *self, void (*fn)(void *),
                                              void *arg, bool once)
{
    if (self == NULL || fn == NULL)
        return NULL;
    op_spi_config_t *p = (op_spi_config_t *)(uintptr_t)self;
    op_spi_timer_t *t = op_calloc(1, sizeof(*t));
    t->timer = op_timer_new(p->spi->loop, op_spi_host_timer_fire, t);
    t->plugin = p;
    t->fn = fn;
    t->arg = arg;
    t->once = once;
    op_list_insert_tail(&p->timers, &t->link);
    return t;
}

static op_spi_timer_t *op_spi_host_timer_new(const op_spi_config_t *self, void (*fn)(void *),
                                             void *arg)
{
    return op_spi_host_timer_make(self, fn, arg, false);
}

/* Start and stop. A timer freed from inside its own function stays
 * allocated until the function returns: starting it then is ignored. */
static void op_spi_host_timer_start(op_spi_timer_t *t, uint64_t ms)
{
    if (t != NULL && !t->freed)
        op_timer_start(t->timer, ms);
}

static void op_spi_host_timer_stop(op_spi_timer_t *t)
{
    if (t != NULL)
        op_timer_stop(t->timer);
}

/* Free a timer; from inside its own function the free waits until the
 * function returns (c-style rule 12). */
static void op_spi_host_timer_free(op_spi_timer_t *t)
{
    if (t == NULL || t->freed)
        return;
    op_timer_stop(t->timer);
    op_list_remove(&t->link);
    if (t->firing)
        t->freed = true;
    else
        op_spi_host_timer_destroy(t);
}

static int op_spi_host_defer(const op_spi_config_t *self, void (*fn)(void *), void *arg)
{
    op_spi_timer_t *t = op_spi_host_timer_make(self, fn, arg, true);
    if (t == NULL)
        return OP_SPI_EINVAL;
    op_timer_start(t->timer, 0);
    return OP_SPI_OK;
}

/* ---- outbound HTTP -------------------------------------------------------- */

/*
 * One fetch of a plugin. It lives on the plugin's list until its answer
 * is handed over; when the plugin is unloaded first, plugin becomes NULL
 * and the answer is dropped. A fetch refused before it reached the HTTP
 * client is answered from fail_timer (owned here, freed on unload).
 */
struct op_spi_fetch {
    op_spi_config_t *plugin;
    op_spi_http_cb cb;
    void *arg;
    op_timer_t *fail_timer;
    int fail_status;
    const char *fail_desc; /* static */
    op_list_t link;        /* on the plugin's fetches */
};

/* The HTTP client's answer: hand it to the plugin (converted), unless the
 * plugin is gone. */
static void op_spi_host_on_fetch(int status, const op_http_response_t *resp, const op_err_t *err,
                                 void *arg)
{
    op_spi_fetch_t *f = arg;
    if (f->plugin != NULL) {
        op_list_remove(&f->link);
        op_spi_http_resp_t r;
        if (status == OP_OK) {
            r.status = resp->status;
            r.content_type = resp->content_type;
            r.body = resp->body;
            r.body_len = resp->body_len;
        }
        const char *desc = err != NULL && status != OP_OK ? err->description : "";
        f->cb(status, status == OP_OK ? &r : NULL, desc, f->arg);
    }
    free(f);
}

static void op_spi_host_on_fetch_fail(void *arg)
{
    op_spi_fetch_t *f = arg;
    op_list_remove(&f->link);
    op_timer_free(f->fail_timer);
    f->cb(f->fail_status, NULL, f->fail_desc, f->arg);
    free(f);
}

/* Check a plugin's request and convert it; NULL when it is fine, else why
 * not (a static string). */
static const char *op_spi_host_fetch_conv(op_spi_config_t *p, const op_spi_http_req_t *req,
                                          op_http_fetch_t *f, op_http_header_t *h)
{
    if (p->spi->http == NULL)
        return "no HTTP client";
    if (req == NULL || req->url == NULL)
        return "no request or URL";
    if (req->method != OP_SPI_HTTP_GET && req->method != OP_SPI_HTTP_POST)
        return "method must be GET or POST";
    if (req->n_headers > OP_SPI_HOST_HEADERS_MAX || (req->n_headers > 0 && req->headers == NULL))
        return "too many headers";
    for (size_t i = 0; i < req->n_headers; i++) {
        h[i].name = req->headers[i].name;
        h[i].value = req->headers[i].value;
    }
    memset(f, 0, sizeof(*f));
    f->method = req->method == OP_SPI_HTTP_POST ? OP_HTTP_POST : OP_HTTP_GET;
    f->url = req->url;
    f->headers = h;
    f->nheaders = req->n_headers;
    f->body = req->body;
    f->body_len = req->body_len;
    f->content_type = req->content_type;
    f->max_response = req->max_response;
    return NULL;
}

/*
 * host->http_fetch: op_http_client_fetch on the server's client, with the answer
 * converted for the plugin. A request refused here (no client, bad
 * method) is answered from a zero-delay timer, never inside the call.
 */
static void op_spi_host_http_fetch(const op_spi_config_t *self, const op_spi_http_req_t *req,
                                   op_spi_http_cb cb, void *arg)
{
    if (self == NULL || cb == NULL) {
        op_log_error(NULL, "spi: http_fetch without %s", self == NULL ? "a plugin" : "a callback");
        return;
    }
    op_spi_config_t *p = (op_spi_config_t *)(uintptr_t)self;
    op_spi_fetch_t *f = op_calloc(1, sizeof(*f));
    f->plugin = p;
    f->cb = cb;
    f->arg = arg;
    op_list_insert_tail(&p->fetches, &f->link);

    op_http_fetch_t hf;
    op_http_header_t h[OP_SPI_HOST_HEADERS_MAX];
    const char *why = op_spi_host_fetch_conv(p, req, &hf, h);
    if (why == NULL) {
        op_http_client_fetch(p->spi->http, &hf, op_spi_host_on_fetch, f);
        return;
    }
    f->fail_status = p->spi->http == NULL ? OP_SPI_EUNAVAIL : OP_SPI_EINVAL;
    f->fail_desc = why;
    f->fail_timer = op_timer_new(p->spi->loop, op_spi_host_on_fetch_fail, f);
    op_timer_start(f->fail_timer, 0);
}

/* ---- properties ----------------------------------------------------------- */

/* A property key: 1..128 of A-Z a-z 0-9 . _ - */
static bool op_spi_host_key_ok(const char *key)
{
    size_t n = 0;
    for (; key[n] != '\0'; n++) {
        char c = key[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok || n >= OP_SPI_HOST_KEY_MAX)
            return false;
    }
    return n > 0;
}

/* host->config_get: plugin.<name>.<key> through the server's lookup; the
 * built-in users source gets its "file" from op_spi_loader_open. */
static const char *op_spi_host_config_get(const op_spi_config_t *self, const char *key)
{
    if (self == NULL || key == NULL || !op_spi_host_key_ok(key))
        return NULL;
    if (self->builtin_file != NULL && strcmp(key, "file") == 0)
        return self->builtin_file;
    const op_spi_t *spi = self->spi;
    if (spi->lookup == NULL)
        return NULL;
    char full[OP_SPI_HOST_KEY_MAX * 2 + 16];
    snprintf(full, sizeof(full), "plugin.%s.%s", self->name, key);
    return spi->lookup(spi->lookup_arg, full);
}

/* ---- unloading ------------------------------------------------------------ */

void op_spi_host_release(op_spi_config_t *p)
{
    op_spi_call_cancel_all(p);
    size_t ntimers = 0;
    op_list_t *pos, *tmp;
    OP_LIST_FOREACH_SAFE (pos, tmp, &p->timers) {
        op_spi_timer_t *t = OP_LIST_ENTRY(pos, op_spi_timer_t, link);
        if (!t->once)
            ntimers++;
        op_list_remove(pos);
        op_spi_host_timer_destroy(t);
    }
    if (ntimers > 0)
        op_log_warn(NULL, "spi: plugin %s left %zu timers behind (freed)", p->name, ntimers);
    OP_LIST_FOREACH_SAFE (pos, tmp, &p->fetches) {
        op_spi_fetch_t *f = OP_LIST_ENTRY(pos, op_spi_fetch_t, link);
        op_list_remove(pos);
        if (f->fail_timer != NULL) {
            op_timer_free(f->fail_timer);
            free(f);
        } else {
            f->plugin = NULL; /* freed when the HTTP client answers */
        }
    }
}

/* ---- random -------------------------------------------------------------- */

static void op_spi_host_random_bytes(void *buf, size_t n)
{
    if (buf != NULL && n > 0)
        op_keys_crypto_rand_bytes(buf, n);
}

/* ---- the table ------------------------------------------------------------ */

const op_spi_host_t op_spi_host_table = {
    .abi_version = OP_SPI_ABI_VERSION,
    .struct_size = sizeof(op_spi_host_t),
    .log = op_spi_host_log,
    .timer_new = op_spi_host_timer_new,
    .timer_start = op_spi_host_timer_start,
    .timer_stop = op_spi_host_timer_stop,
    .timer_free = op_spi_host_timer_free,
    .defer = op_spi_host_defer,
    .http_fetch = op_spi_host_http_fetch,
    .config_get = op_spi_host_config_get,
    .call_alloc = op_spi_call_alloc,
    .call_ended = op_spi_call_ended,
    .complete = op_spi_call_complete,
    .random_bytes = op_spi_host_random_bytes,
    .json_parse = op_spi_json_parse,
    .json_object_new = op_spi_json_object_new,
    .json_array_new = op_spi_json_array_new,
    .json_free = op_spi_json_free,
    .json_set = op_spi_json_set,
    .json_set_str = op_spi_json_set_str,
    .json_set_int = op_spi_json_set_int,
    .json_set_bool = op_spi_json_set_bool,
    .json_set_null = op_spi_json_set_null,
    .json_append = op_spi_json_append,
    .json_append_str = op_spi_json_append_str,
    .json_type = op_spi_json_type,
    .json_get = op_spi_json_get,
    .json_str = op_spi_json_str,
    .json_int = op_spi_json_int,
    .json_len = op_spi_json_len,
    .json_at = op_spi_json_at,
    .json_serialize = op_spi_json_serialize,
};
