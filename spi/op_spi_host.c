/*
 * spi/op_spi_host.c - the host services plugins get (op_spi_host_t):
 * logging, timers and deferred functions, outbound HTTP, properties, call
 * tokens and their completion, random bytes, JSON values.
 *
 * Everything a plugin starts is recorded on its op_spi_config_t, so that
 * op_spi_close can free or detach it after fini and no callback ever
 * reaches an unloaded .so. Completed call tokens are queued and handed to
 * their claims run from a zero-delay timer (the reaper), never from inside
 * the plugin's own stack: a token stays valid until then, which is what
 * lets host->complete catch a second completion.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/op_keys.h"
#include "spi/op_spi_int.h"

/* The ABI's values are the server's own (passed through unchanged). */
_Static_assert((int)OP_SPI_OK == (int)OP_OK && (int)OP_SPI_ERROR == (int)OP_ERROR &&
                   (int)OP_SPI_ENOMEM == (int)OP_ENOMEM && (int)OP_SPI_EINVAL == (int)OP_EINVAL &&
                   (int)OP_SPI_ENOTFOUND == (int)OP_ENOTFOUND &&
                   (int)OP_SPI_ETIMEDOUT == (int)OP_ETIMEDOUT &&
                   (int)OP_SPI_ECANCELED == (int)OP_ECANCELED &&
                   (int)OP_SPI_EUNAVAIL == (int)OP_EUNAVAIL &&
                   (int)OP_SPI_ETOOBIG == (int)OP_ETOOBIG,
               "op_spi.h status values differ from core/op_err.h");
_Static_assert((int)OP_SPI_JSON_NULL == (int)OP_JSON_NULL &&
                   (int)OP_SPI_JSON_FALSE == (int)OP_JSON_FALSE &&
                   (int)OP_SPI_JSON_TRUE == (int)OP_JSON_TRUE &&
                   (int)OP_SPI_JSON_NUMBER == (int)OP_JSON_NUMBER &&
                   (int)OP_SPI_JSON_STRING == (int)OP_JSON_STRING &&
                   (int)OP_SPI_JSON_ARRAY == (int)OP_JSON_ARRAY &&
                   (int)OP_SPI_JSON_OBJECT == (int)OP_JSON_OBJECT,
               "op_spi.h JSON types differ from core/op_json.h");
_Static_assert((int)OP_SPI_LOG_DEBUG == (int)OP_LOG_DEBUG &&
                   (int)OP_SPI_LOG_INFO == (int)OP_LOG_INFO &&
                   (int)OP_SPI_LOG_WARN == (int)OP_LOG_WARN &&
                   (int)OP_SPI_LOG_ERROR == (int)OP_LOG_ERROR,
               "op_spi.h log levels differ from core/op_log.h");

#define OP_SPI_HOST_LOG_MAX      1024 /* bytes of one plugin log message */
#define OP_SPI_HOST_KEY_MAX      128  /* a property key */
#define OP_SPI_HOST_JSON_KEY_MAX 4096
#define OP_SPI_HOST_HEADERS_MAX  32
#define OP_SPI_HOST_DESC_MAX     (OP_ERR_DESC_MAX - 1)

/* The OAuth error codes a plugin may answer: RFC 6749 §4.1.2.1 and §5.2,
 * RFC 6750 §3.1, OpenID Connect Core §3.1.2.6. Static strings, so an
 * op_err_t that points at one may be copied and kept. */
static const char *const op_spi_host_oauth_errors[] = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
    "unsupported_response_type",
    "server_error",
    "temporarily_unavailable",
    "invalid_token",
    "insufficient_scope",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
};

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

static void op_spi_host_timer_unlink(op_spi_timer_t *t)
{
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        t->plugin->timers = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

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
        op_spi_host_timer_unlink(t);
    if (t->once || t->freed)
        op_spi_host_timer_destroy(t);
}

static op_spi_timer_t *op_spi_host_timer_make(const op_spi_config_t *self, void (*fn)(void *),
                                              void *arg, bool once)
{
    if (self == NULL || fn == NULL)
        return NULL;
    op_spi_config_t *p = (op_spi_config_t *)(uintptr_t)self;
    op_spi_timer_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->timer = op_timer_new(p->spi->loop, op_spi_host_timer_fire, t);
    if (t->timer == NULL) {
        free(t);
        return NULL;
    }
    t->plugin = p;
    t->fn = fn;
    t->arg = arg;
    t->once = once;
    t->next = p->timers;
    if (p->timers != NULL)
        p->timers->prev = t;
    p->timers = t;
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
    op_spi_host_timer_unlink(t);
    if (t->firing)
        t->freed = true;
    else
        op_spi_host_timer_destroy(t);
}

static int op_spi_host_defer(const op_spi_config_t *self, void (*fn)(void *), void *arg)
{
    op_spi_timer_t *t = op_spi_host_timer_make(self, fn, arg, true);
    if (t == NULL)
        return self == NULL || fn == NULL ? OP_SPI_EINVAL : OP_SPI_ENOMEM;
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
    op_spi_fetch_t *prev, *next;
};

static void op_spi_host_fetch_unlink(op_spi_fetch_t *f)
{
    if (f->prev != NULL)
        f->prev->next = f->next;
    else
        f->plugin->fetches = f->next;
    if (f->next != NULL)
        f->next->prev = f->prev;
    f->prev = f->next = NULL;
}

/* The HTTP client's answer: hand it to the plugin (converted), unless the
 * plugin is gone. */
static void op_spi_host_on_fetch(int status, const op_http_response_t *resp, const op_err_t *err,
                                 void *arg)
{
    op_spi_fetch_t *f = arg;
    if (f->plugin != NULL) {
        op_spi_host_fetch_unlink(f);
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
    op_spi_host_fetch_unlink(f);
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
 * host->http_fetch: op_http_fetch on the server's client, with the answer
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
    op_spi_fetch_t *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        op_log_error(NULL, "spi: out of memory starting a fetch");
        abort();
    }
    f->plugin = p;
    f->cb = cb;
    f->arg = arg;
    f->next = p->fetches;
    if (p->fetches != NULL)
        p->fetches->prev = f;
    p->fetches = f;

    op_http_fetch_t hf;
    op_http_header_t h[OP_SPI_HOST_HEADERS_MAX];
    const char *why = op_spi_host_fetch_conv(p, req, &hf, h);
    if (why == NULL) {
        op_http_fetch(p->spi->http, &hf, op_spi_host_on_fetch, f);
        return;
    }
    f->fail_status = p->spi->http == NULL ? OP_SPI_EUNAVAIL : OP_SPI_EINVAL;
    f->fail_desc = why;
    f->fail_timer = op_timer_new(p->spi->loop, op_spi_host_on_fetch_fail, f);
    if (f->fail_timer == NULL) {
        op_log_error(NULL, "spi: out of memory starting a fetch");
        abort();
    }
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
 * built-in users source gets its "file" from op_spi_open. */
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

/* ---- call tokens ---------------------------------------------------------- */

op_spi_call_t *op_spi_host_call_new(op_spi_config_t *plugin, op_spi_claims_run_t *run, size_t index,
                                    const char *req_id)
{
    op_arena_t *a = op_arena_new(OP_SPI_CALL_ARENA_MAX);
    op_spi_call_t *call = a != NULL ? op_arena_calloc(a, 1, sizeof(*call)) : NULL;
    if (call == NULL) {
        op_arena_free(a);
        return NULL;
    }
    call->arena = a;
    call->plugin = plugin;
    call->run = run;
    call->index = index;
    call->req_id = req_id != NULL ? op_arena_strdup(a, req_id) : NULL;
    call->next = plugin->calls;
    if (plugin->calls != NULL)
        plugin->calls->prev = call;
    plugin->calls = call;
    return call;
}

static void op_spi_host_call_unlink(op_spi_call_t *call)
{
    op_spi_config_t *p = call->plugin;
    if (call->prev != NULL)
        call->prev->next = call->next;
    else
        p->calls = call->next;
    if (call->next != NULL)
        call->next->prev = call->prev;
    call->prev = call->next = NULL;
}

/* Mark a call completed and queue it for the reaper. */
static void op_spi_host_call_done(op_spi_call_t *call, int status)
{
    op_spi_t *spi = call->plugin->spi;
    call->completed = true;
    call->status = status;
    op_spi_host_call_unlink(call);
    call->done_next = NULL;
    *spi->done_tail = call;
    spi->done_tail = &call->done_next;
    op_timer_start(spi->reaper, 0);
}

void op_spi_host_reap(void *arg)
{
    op_spi_t *spi = arg;
    while (spi->done_head != NULL) {
        op_spi_call_t *call = spi->done_head;
        spi->done_head = call->done_next;
        if (spi->done_head == NULL)
            spi->done_tail = &spi->done_head;
        op_spi_claims_on_done(call);
        op_arena_free(call->arena);
    }
}

static void *op_spi_host_call_alloc(op_spi_call_t *call, size_t n)
{
    if (call == NULL || call->completed)
        return NULL;
    return op_arena_calloc(call->arena, 1, n);
}

static bool op_spi_host_call_ended(const op_spi_call_t *call)
{
    return call == NULL || call->completed || op_spi_claims_ended(call);
}

/* The static copy of a plugin's OAuth error code ("server_error" when
 * unknown). */
static const char *op_spi_host_oauth_error(const char *code)
{
    for (size_t i = 0; code != NULL && i < OP_NELEMS(op_spi_host_oauth_errors); i++) {
        if (strcmp(code, op_spi_host_oauth_errors[i]) == 0)
            return op_spi_host_oauth_errors[i];
    }
    return "server_error";
}

/* RFC 6749 §5.2 error_description: %x20-21 / %x23-5B / %x5D-7E. */
static bool op_spi_host_desc_ok(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || n >= OP_SPI_HOST_DESC_MAX)
            return false;
    }
    return true;
}

/*
 * host->complete: record the plugin's answer (copying what is not the
 * call's own) and queue the call. A second completion of the same call is
 * a plugin bug that would otherwise become a use-after-free: stop here.
 */
static void op_spi_host_complete(op_spi_call_t *call, int status, const op_spi_json_t *result,
                                 const char *error, const char *error_description, int http_status)
{
    if (call == NULL) {
        op_log_error(NULL, "spi: complete without a call");
        return;
    }
    if (call->completed) {
        op_log_error(call->req_id, "spi: plugin %s completed a call twice (plugin bug); aborting",
                     call->plugin->name);
        abort();
    }
    if (status == OP_SPI_OK && result != NULL) {
        if (result->arena == call->arena) {
            call->result = result;
        } else {
            op_spi_json_t *copy = NULL;
            int rc = op_spi_host_json_copy(call->arena, &result->v, 0, &copy);
            if (rc != OP_OK) {
                status = rc;
                error_description = "cannot copy the claims";
            }
            call->result = copy;
        }
    }
    if (status == OP_SPI_ERROR) {
        call->error = op_spi_host_oauth_error(error);
        call->http_status = http_status >= 400 && http_status <= 599 ? http_status : 500;
    }
    if (error_description != NULL && op_spi_host_desc_ok(error_description))
        call->error_description = op_arena_strdup(call->arena, error_description);
    op_spi_host_call_done(call, status);
}

/* ---- unloading ------------------------------------------------------------ */

void op_spi_host_release(op_spi_config_t *p)
{
    while (p->calls != NULL) {
        op_spi_host_call_done(p->calls, OP_ECANCELED);
    }
    size_t ntimers = 0;
    while (p->timers != NULL) {
        op_spi_timer_t *t = p->timers;
        if (!t->once)
            ntimers++;
        op_spi_host_timer_unlink(t);
        op_spi_host_timer_destroy(t);
    }
    if (ntimers > 0)
        op_log_warn(NULL, "spi: plugin %s left %zu timers behind (freed)", p->name, ntimers);
    while (p->fetches != NULL) {
        op_spi_fetch_t *f = p->fetches;
        op_spi_host_fetch_unlink(f);
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
        op_rand_bytes(buf, n);
}

/* ---- JSON values ---------------------------------------------------------- */

size_t op_spi_host_json_cap(size_t n)
{
    if (n == 0)
        return 0;
    size_t cap = 4;
    while (cap < n)
        cap *= 2;
    return cap;
}

static op_spi_json_t *op_spi_host_json_node(op_arena_t *a, op_json_type_t type)
{
    op_spi_json_t *node = op_arena_calloc(a, 1, sizeof(*node));
    if (node != NULL) {
        node->v.type = type;
        node->arena = a;
    }
    return node;
}

static op_spi_json_t *op_spi_host_json_of(const op_json_t *v)
{
    return (op_spi_json_t *)(uintptr_t)v;
}

int op_spi_host_json_copy(op_arena_t *a, const op_json_t *src, size_t depth, op_spi_json_t **out)
{
    *out = NULL;
    if (depth > OP_SPI_JSON_MAX_DEPTH)
        return OP_EINVAL;
    op_spi_json_t *n = op_spi_host_json_node(a, src->type);
    if (n == NULL)
        return OP_ENOMEM;
    op_json_t *v = &n->v;
    switch (src->type) {
    case OP_JSON_STRING:
        v->u.str.len = src->u.str.len;
        v->u.str.s = op_arena_strndup(a, src->u.str.s, src->u.str.len);
        if (v->u.str.s == NULL)
            return OP_ENOMEM;
        break;
    case OP_JSON_NUMBER:
        v->u.num = src->u.num;
        v->u.num.raw = op_arena_strdup(a, src->u.num.raw);
        if (v->u.num.raw == NULL)
            return OP_ENOMEM;
        break;
    case OP_JSON_ARRAY: {
        size_t cap = op_spi_host_json_cap(src->u.arr.n);
        v->u.arr.items = op_arena_calloc(a, cap, sizeof(*v->u.arr.items));
        if (v->u.arr.items == NULL && cap > 0)
            return OP_ENOMEM;
        for (size_t i = 0; i < src->u.arr.n; i++) {
            op_spi_json_t *item = NULL;
            int rc = op_spi_host_json_copy(a, src->u.arr.items[i], depth + 1, &item);
            if (rc != OP_OK)
                return rc;
            v->u.arr.items[i] = &item->v;
        }
        v->u.arr.n = src->u.arr.n;
        break;
    }
    case OP_JSON_OBJECT: {
        size_t cap = op_spi_host_json_cap(src->u.obj.n);
        v->u.obj.keys = op_arena_calloc(a, cap, sizeof(*v->u.obj.keys));
        v->u.obj.key_lens = op_arena_calloc(a, cap, sizeof(*v->u.obj.key_lens));
        v->u.obj.vals = op_arena_calloc(a, cap, sizeof(*v->u.obj.vals));
        if (cap > 0 &&
            (v->u.obj.keys == NULL || v->u.obj.key_lens == NULL || v->u.obj.vals == NULL))
            return OP_ENOMEM;
        for (size_t i = 0; i < src->u.obj.n; i++) {
            op_spi_json_t *val = NULL;
            int rc = op_spi_host_json_copy(a, src->u.obj.vals[i], depth + 1, &val);
            if (rc != OP_OK)
                return rc;
            v->u.obj.keys[i] = op_arena_strndup(a, src->u.obj.keys[i], src->u.obj.key_lens[i]);
            if (v->u.obj.keys[i] == NULL)
                return OP_ENOMEM;
            v->u.obj.key_lens[i] = src->u.obj.key_lens[i];
            v->u.obj.vals[i] = &val->v;
        }
        v->u.obj.n = src->u.obj.n;
        break;
    }
    default:
        break;
    }
    *out = n;
    return OP_OK;
}

op_spi_json_t *op_spi_host_json_object(op_arena_t *a)
{
    return op_spi_host_json_node(a, OP_JSON_OBJECT);
}

/* The arena of a new value: the call's, or a new standalone document's
 * (root marks it). NULL on OOM or a completed call. */
static op_arena_t *op_spi_host_json_owner(op_spi_call_t *call)
{
    if (call != NULL)
        return call->completed ? NULL : call->arena;
    return op_arena_new(OP_SPI_DOC_ARENA_MAX);
}

/* A new empty object or array for a plugin. */
static op_spi_json_t *op_spi_host_json_new(op_spi_call_t *call, op_json_type_t type)
{
    op_arena_t *a = op_spi_host_json_owner(call);
    if (a == NULL)
        return NULL;
    op_spi_json_t *n = op_spi_host_json_node(a, type);
    if (n == NULL) {
        if (call == NULL)
            op_arena_free(a);
        return NULL;
    }
    n->standalone = call == NULL;
    return n;
}

static op_spi_json_t *op_spi_host_json_object_new(op_spi_call_t *call)
{
    return op_spi_host_json_new(call, OP_JSON_OBJECT);
}

static op_spi_json_t *op_spi_host_json_array_new(op_spi_call_t *call)
{
    return op_spi_host_json_new(call, OP_JSON_ARRAY);
}

static void op_spi_host_json_free(op_spi_json_t *doc)
{
    if (doc != NULL && doc->standalone)
        op_arena_free(doc->arena);
}

/* host->json_parse: strict parse (op_json) into a scratch arena, then a
 * copy as op_spi_json_t nodes into the owner; the scratch goes at once. */
static op_spi_json_t *op_spi_host_json_parse(op_spi_call_t *call, const char *buf, size_t len,
                                             char *errbuf, size_t errlen)
{
    static const op_json_limits_t lim = {OP_SPI_JSON_MAX_BYTES, OP_SPI_JSON_MAX_DEPTH,
                                         OP_SPI_JSON_MAX_MEMBERS};
    op_err_t err;
    op_err_clear(&err);
    op_spi_json_t *out = NULL;
    op_arena_t *owner = NULL;
    op_arena_t *scratch = op_arena_new(OP_SPI_DOC_ARENA_MAX);
    op_json_t *root = NULL;
    if (call != NULL && call->completed) {
        OP_ERR(&err, OP_EINVAL, "the call is already completed");
        goto out_free_scratch;
    }
    if (scratch == NULL || (owner = op_spi_host_json_owner(call)) == NULL) {
        OP_ERR(&err, OP_ENOMEM, "out of memory");
        goto out_free_scratch;
    }
    if (op_json_parse(scratch, buf, len, &lim, &root, &err) != OP_OK)
        goto out_free_owner;
    if (op_spi_host_json_copy(owner, root, 0, &out) != OP_OK) {
        OP_ERR(&err, OP_ENOMEM, "out of memory");
        goto out_free_owner;
    }
    out->standalone = call == NULL;
    goto out_free_scratch;
out_free_owner:
    if (call == NULL)
        op_arena_free(owner);
out_free_scratch:
    op_arena_free(scratch);
    if (out == NULL && errbuf != NULL && errlen > 0)
        snprintf(errbuf, errlen, "%s", err.description);
    return out;
}

/* A key a plugin sets: NUL-terminated, bounded, UTF-8. */
static bool op_spi_host_json_key_ok(const char *key, size_t *len)
{
    if (key == NULL)
        return false;
    *len = strnlen(key, OP_SPI_HOST_JSON_KEY_MAX + 1);
    return *len <= OP_SPI_HOST_JSON_KEY_MAX && op_json_utf8_valid(key, *len);
}

/* Append the member key: node to obj (key not checked for duplicates). */
static int op_spi_host_json_add(op_spi_json_t *obj, const char *key, size_t key_len,
                                op_spi_json_t *node)
{
    op_json_t *o = &obj->v;
    size_t n = o->u.obj.n, cap = op_spi_host_json_cap(n);
    const char *k = op_arena_strndup(obj->arena, key, key_len);
    if (k == NULL)
        return OP_ENOMEM;
    if (n == cap) {
        size_t ncap = op_spi_host_json_cap(n + 1);
        const char **keys =
            op_arena_realloc(obj->arena, o->u.obj.keys, cap * sizeof(*keys), ncap * sizeof(*keys));
        size_t *lens = op_arena_realloc(obj->arena, o->u.obj.key_lens, cap * sizeof(*lens),
                                        ncap * sizeof(*lens));
        op_json_t **vals =
            op_arena_realloc(obj->arena, o->u.obj.vals, cap * sizeof(*vals), ncap * sizeof(*vals));
        if (keys == NULL || lens == NULL || vals == NULL)
            return OP_ENOMEM;
        o->u.obj.keys = keys;
        o->u.obj.key_lens = lens;
        o->u.obj.vals = vals;
    }
    o->u.obj.keys[n] = k;
    o->u.obj.key_lens[n] = key_len;
    o->u.obj.vals[n] = &node->v;
    o->u.obj.n = n + 1;
    return OP_OK;
}

/* Attach node under key in obj, replacing a member of that name (keys
 * stay unique, as op_json requires). */
static int op_spi_host_json_attach(op_spi_json_t *obj, const char *key, size_t key_len,
                                   op_spi_json_t *node)
{
    op_json_t *o = &obj->v;
    for (size_t i = 0; i < o->u.obj.n; i++) {
        if (o->u.obj.key_lens[i] == key_len && memcmp(o->u.obj.keys[i], key, key_len) == 0) {
            o->u.obj.vals[i] = &node->v;
            return OP_OK;
        }
    }
    return op_spi_host_json_add(obj, key, key_len, node);
}

int op_spi_host_json_put(op_spi_json_t *obj, const char *key, size_t key_len,
                         const op_json_t *value)
{
    op_spi_json_t *copy = NULL;
    int rc = op_spi_host_json_copy(obj->arena, value, 0, &copy);
    return rc != OP_OK ? rc : op_spi_host_json_add(obj, key, key_len, copy);
}

/* Common part of the object setters: check obj and key, attach node. */
static int op_spi_host_json_set_node(op_spi_json_t *obj, const char *key, op_spi_json_t *node)
{
    size_t key_len = 0;
    if (node == NULL)
        return OP_SPI_ENOMEM;
    if (!op_spi_host_json_key_ok(key, &key_len))
        return OP_SPI_EINVAL;
    return op_spi_host_json_attach(obj, key, key_len, node);
}

static bool op_spi_host_json_is(const op_spi_json_t *v, op_json_type_t type)
{
    return v != NULL && v->v.type == type;
}

static int op_spi_host_json_set(op_spi_json_t *obj, const char *key, const op_spi_json_t *value)
{
    size_t key_len = 0;
    if (!op_spi_host_json_is(obj, OP_JSON_OBJECT) || value == NULL ||
        !op_spi_host_json_key_ok(key, &key_len))
        return OP_SPI_EINVAL;
    op_spi_json_t *copy = NULL;
    int rc = op_spi_host_json_copy(obj->arena, &value->v, 0, &copy);
    return rc != OP_OK ? rc : op_spi_host_json_attach(obj, key, key_len, copy);
}

/* A string node in a (NULL when s is not valid UTF-8 or on OOM). */
static op_spi_json_t *op_spi_host_json_string(op_arena_t *a, const char *s, int *rc)
{
    size_t len = s != NULL ? strlen(s) : 0;
    *rc = OP_SPI_EINVAL;
    if (s == NULL || !op_json_utf8_valid(s, len))
        return NULL;
    *rc = OP_SPI_ENOMEM;
    op_spi_json_t *n = op_spi_host_json_node(a, OP_JSON_STRING);
    if (n == NULL || (n->v.u.str.s = op_arena_strndup(a, s, len)) == NULL)
        return NULL;
    n->v.u.str.len = len;
    *rc = OP_SPI_OK;
    return n;
}

static int op_spi_host_json_set_str(op_spi_json_t *obj, const char *key, const char *s)
{
    int rc;
    if (!op_spi_host_json_is(obj, OP_JSON_OBJECT))
        return OP_SPI_EINVAL;
    op_spi_json_t *n = op_spi_host_json_string(obj->arena, s, &rc);
    return n == NULL ? rc : op_spi_host_json_set_node(obj, key, n);
}

static int op_spi_host_json_set_int(op_spi_json_t *obj, const char *key, int64_t v)
{
    if (!op_spi_host_json_is(obj, OP_JSON_OBJECT))
        return OP_SPI_EINVAL;
    op_spi_json_t *n = op_spi_host_json_node(obj->arena, OP_JSON_NUMBER);
    if (n != NULL) {
        n->v.u.num.raw = op_arena_printf(obj->arena, "%" PRId64, v);
        n->v.u.num.is_int = true;
        n->v.u.num.i = v;
        n->v.u.num.d = (double)v;
    }
    return op_spi_host_json_set_node(obj, key, n != NULL && n->v.u.num.raw != NULL ? n : NULL);
}

static int op_spi_host_json_set_bool(op_spi_json_t *obj, const char *key, bool v)
{
    if (!op_spi_host_json_is(obj, OP_JSON_OBJECT))
        return OP_SPI_EINVAL;
    return op_spi_host_json_set_node(
        obj, key, op_spi_host_json_node(obj->arena, v ? OP_JSON_TRUE : OP_JSON_FALSE));
}

static int op_spi_host_json_set_null(op_spi_json_t *obj, const char *key)
{
    if (!op_spi_host_json_is(obj, OP_JSON_OBJECT))
        return OP_SPI_EINVAL;
    return op_spi_host_json_set_node(obj, key, op_spi_host_json_node(obj->arena, OP_JSON_NULL));
}

/* Append node to arr. */
static int op_spi_host_json_push(op_spi_json_t *arr, op_spi_json_t *node)
{
    op_json_t *a = &arr->v;
    size_t n = a->u.arr.n, cap = op_spi_host_json_cap(n);
    if (n == cap) {
        size_t ncap = op_spi_host_json_cap(n + 1);
        op_json_t **items = op_arena_realloc(arr->arena, a->u.arr.items, cap * sizeof(*items),
                                             ncap * sizeof(*items));
        if (items == NULL)
            return OP_SPI_ENOMEM;
        a->u.arr.items = items;
    }
    a->u.arr.items[n] = &node->v;
    a->u.arr.n = n + 1;
    return OP_SPI_OK;
}

static int op_spi_host_json_append(op_spi_json_t *arr, const op_spi_json_t *value)
{
    if (!op_spi_host_json_is(arr, OP_JSON_ARRAY) || value == NULL)
        return OP_SPI_EINVAL;
    op_spi_json_t *copy = NULL;
    int rc = op_spi_host_json_copy(arr->arena, &value->v, 0, &copy);
    return rc != OP_OK ? rc : op_spi_host_json_push(arr, copy);
}

static int op_spi_host_json_append_str(op_spi_json_t *arr, const char *s)
{
    int rc;
    if (!op_spi_host_json_is(arr, OP_JSON_ARRAY))
        return OP_SPI_EINVAL;
    op_spi_json_t *n = op_spi_host_json_string(arr->arena, s, &rc);
    return n == NULL ? rc : op_spi_host_json_push(arr, n);
}

static op_spi_json_type_t op_spi_host_json_type(const op_spi_json_t *v)
{
    return v != NULL ? (op_spi_json_type_t)v->v.type : OP_SPI_JSON_NULL;
}

static const op_spi_json_t *op_spi_host_json_get(const op_spi_json_t *obj, const char *key)
{
    const op_json_t *m = obj != NULL ? op_json_get(&obj->v, key) : NULL;
    return m != NULL ? op_spi_host_json_of(m) : NULL;
}

static const char *op_spi_host_json_str(const op_spi_json_t *v, size_t *len)
{
    if (!op_spi_host_json_is(v, OP_JSON_STRING))
        return NULL;
    if (len != NULL)
        *len = v->v.u.str.len;
    return v->v.u.str.s;
}

static bool op_spi_host_json_int(const op_spi_json_t *v, int64_t *out)
{
    if (!op_spi_host_json_is(v, OP_JSON_NUMBER) || !v->v.u.num.is_int || out == NULL)
        return false;
    *out = v->v.u.num.i;
    return true;
}

static size_t op_spi_host_json_len(const op_spi_json_t *v)
{
    if (op_spi_host_json_is(v, OP_JSON_ARRAY))
        return v->v.u.arr.n;
    if (op_spi_host_json_is(v, OP_JSON_OBJECT))
        return v->v.u.obj.n;
    return 0;
}

static const op_spi_json_t *op_spi_host_json_at(const op_spi_json_t *v, size_t i, const char **key)
{
    if (key != NULL)
        *key = NULL;
    if (op_spi_host_json_is(v, OP_JSON_ARRAY) && i < v->v.u.arr.n)
        return op_spi_host_json_of(v->v.u.arr.items[i]);
    if (op_spi_host_json_is(v, OP_JSON_OBJECT) && i < v->v.u.obj.n) {
        if (key != NULL)
            *key = v->v.u.obj.keys[i];
        return op_spi_host_json_of(v->v.u.obj.vals[i]);
    }
    return NULL;
}

static const char *op_spi_host_json_serialize(op_spi_call_t *call, const op_spi_json_t *v,
                                              size_t *len)
{
    if (call == NULL || call->completed || v == NULL)
        return NULL;
    op_json_w_t *w = op_json_w_new(call->arena, false);
    const char *out = NULL;
    if (w == NULL)
        return NULL;
    op_json_w_value(w, &v->v);
    return op_json_w_finish(w, &out, len, NULL) == OP_OK ? out : NULL;
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
    .call_alloc = op_spi_host_call_alloc,
    .call_ended = op_spi_host_call_ended,
    .complete = op_spi_host_complete,
    .random_bytes = op_spi_host_random_bytes,
    .json_parse = op_spi_host_json_parse,
    .json_object_new = op_spi_host_json_object_new,
    .json_array_new = op_spi_host_json_array_new,
    .json_free = op_spi_host_json_free,
    .json_set = op_spi_host_json_set,
    .json_set_str = op_spi_host_json_set_str,
    .json_set_int = op_spi_host_json_set_int,
    .json_set_bool = op_spi_host_json_set_bool,
    .json_set_null = op_spi_host_json_set_null,
    .json_append = op_spi_host_json_append,
    .json_append_str = op_spi_host_json_append_str,
    .json_type = op_spi_host_json_type,
    .json_get = op_spi_host_json_get,
    .json_str = op_spi_host_json_str,
    .json_int = op_spi_host_json_int,
    .json_len = op_spi_host_json_len,
    .json_at = op_spi_host_json_at,
    .json_serialize = op_spi_host_json_serialize,
};
