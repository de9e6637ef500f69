/*
 * spi/op_spi.h - the Tessera plugin ABI. The only header a plugin includes.
 *
 * A plugin is a shared object (.so) that exports one function,
 *
 *     const op_spi_plugin_t *op_spi_entry(const op_spi_host_t *host);
 *
 * returning a static descriptor: its name, the ABI it was built for, its
 * init and fini functions, and the service provider interfaces (SPIs) it
 * implements, each a table of function pointers. The server lists its
 * plugins in the property `spi.plugins` (comma-separated .so paths); a
 * plugin's own properties are `plugin.<name>.<key>` and reach it through
 * host->config_get(cfg, "<key>").
 *
 * THE RULES
 *
 *  1. Never block. The server runs one single-threaded event loop per
 *     process; a plugin runs inside it. No sleeping, no synchronous network
 *     or disk I/O after init (init may read files: it runs at start-up), no
 *     long computations. Wait with the host's timers, call web services
 *     with host->http_fetch.
 *  2. Every SPI call gets a token (op_spi_call_t *). Complete it exactly
 *     once with host->complete(), now or later (from a timer, a deferred
 *     function or a fetch callback). Always complete it, even when the
 *     server gave up waiting (host->call_ended() tells): the server drops
 *     late results and frees the token then. Completing a token twice is a
 *     plugin bug that the server stops at once (it logs the plugin's name
 *     and aborts), because the second completion would touch freed memory
 *     when it comes later.
 *  3. After host->complete() the token, its arena and every value made
 *     with it are gone: do not touch them again.
 *  4. Everything a plugin receives is borrowed: the request of a call is
 *     valid until the call is completed, a fetch response during its
 *     callback, a config value until fini returns.
 *  5. All code of a plugin runs on the loop thread, called by the host:
 *     init, the SPI functions, timers, deferred functions, fetch callbacks
 *     and fini. After fini the host frees the timers, deferred functions
 *     and fetches the plugin left behind, reclaims the calls it did not
 *     complete, and unloads the .so.
 *
 * VERSIONING
 *
 * OP_SPI_ABI_VERSION changes only when the ABI breaks. Within one version
 * the structs below only grow at their end: the descriptor and the host
 * table carry their own size. A plugin checks that a host service exists
 * before calling it (OP_SPI_HOST_HAS), the host checks the descriptor's
 * version, size, build signature and name before it calls anything.
 *
 * Status values are those of the server's own status codes, so they are
 * passed through unchanged.
 */
#ifndef OP_SPI_H
#define OP_SPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OP_SPI_ABI_VERSION 1

#if !defined(__SIZEOF_POINTER__) || !defined(__SIZEOF_LONG__) || !defined(__BYTE_ORDER__)
#error "op_spi.h needs a GCC-compatible compiler (__SIZEOF_POINTER__, __BYTE_ORDER__)"
#endif

#define OP_SPI_STR_(x) #x
#define OP_SPI_STR(x)  OP_SPI_STR_(x)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define OP_SPI_ORDER_ "le"
#else
#define OP_SPI_ORDER_ "be"
#endif

/*
 * The build signature: the ABI version and the data model the plugin was
 * compiled with (pointer, long and int sizes, byte order), e.g.
 * "op-spi/1/p8/l8/i4/le". The host refuses a plugin whose signature is not
 * its own.
 */
/* clang-format off */
#define OP_SPI_BUILD_SIG                                                    \
    "op-spi/" OP_SPI_STR(OP_SPI_ABI_VERSION)                                \
    "/p" OP_SPI_STR(__SIZEOF_POINTER__) "/l" OP_SPI_STR(__SIZEOF_LONG__)    \
    "/i" OP_SPI_STR(__SIZEOF_INT__) "/" OP_SPI_ORDER_
/* clang-format on */

#if defined(__GNUC__)
#define OP_SPI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define OP_SPI_EXPORT            __attribute__((visibility("default")))
#else
#define OP_SPI_PRINTF(fmt, args)
#define OP_SPI_EXPORT
#endif

/* ---- status values ------------------------------------------------------ */

enum {
    OP_SPI_OK = 0,         /* done; for a claims call: the subject's claims */
    OP_SPI_ERROR = -1,     /* failed: the error code and description say why */
    OP_SPI_ENOMEM = -2,    /* out of memory: the host never returns it (a failed
                            * malloc aborts it); a plugin still may */
    OP_SPI_EINVAL = -3,    /* bad argument */
    OP_SPI_ENOTFOUND = -4, /* for a claims call: subject unknown */
    OP_SPI_ETIMEDOUT = -6, /* a deadline passed */
    OP_SPI_ECANCELED = -7, /* cancelled (server shutting down) */
    OP_SPI_EUNAVAIL = -8,  /* a backend is down: temporarily_unavailable */
    OP_SPI_ETOOBIG = -9    /* over a size limit */
};

/* Log levels of host->log. */
enum { OP_SPI_LOG_DEBUG = 0, OP_SPI_LOG_INFO = 1, OP_SPI_LOG_WARN = 2, OP_SPI_LOG_ERROR = 3 };

/*
 * Kinds of SPI a plugin implements (bits of op_spi_plugin_t.kinds).
 * Only claims sources exist so far. The next bits are reserved, in this
 * order, for the kinds to come: grant handler (1 << 1), authorisation
 * request validator (1 << 2), token issue event listener (1 << 3), client
 * secret codec (1 << 4).
 */
#define OP_SPI_KIND_CLAIMS (1u << 0)

/* ---- opaque handles ------------------------------------------------------ */

typedef struct op_spi_host op_spi_host_t;     /* the host services table */
typedef struct op_spi_plugin op_spi_plugin_t; /* a plugin's descriptor */
/* The plugin's own handle in the host, given to init: its configuration
 * (config_get) and the owner of the timers, deferred functions and
 * fetches it starts. Valid until fini returns. */
typedef struct op_spi_config op_spi_config_t;
typedef struct op_spi_call op_spi_call_t;   /* one SPI call's completion token */
typedef struct op_spi_timer op_spi_timer_t; /* a timer (host->timer_new) */
typedef struct op_spi_json op_spi_json_t;   /* a JSON value (host->json_*) */

/* ---- JSON values --------------------------------------------------------- */

typedef enum {
    OP_SPI_JSON_NULL = 0,
    OP_SPI_JSON_FALSE,
    OP_SPI_JSON_TRUE,
    OP_SPI_JSON_NUMBER,
    OP_SPI_JSON_STRING,
    OP_SPI_JSON_ARRAY,
    OP_SPI_JSON_OBJECT
} op_spi_json_type_t;

/* Limits of host->json_parse: document size, nesting depth (also the
 * deepest value json_set / json_append accept), members + items in total.
 * Keys and strings: valid UTF-8 without NUL, object keys unique. */
#define OP_SPI_JSON_MAX_BYTES   (4u * 1024 * 1024)
#define OP_SPI_JSON_MAX_DEPTH   32
#define OP_SPI_JSON_MAX_MEMBERS (128u * 1024)

/* ---- outbound HTTP ------------------------------------------------------- */

typedef enum { OP_SPI_HTTP_GET = 1, OP_SPI_HTTP_POST = 2 } op_spi_http_method_t;

typedef struct op_spi_http_header {
    const char *name;
    const char *value;
} op_spi_http_header_t;

/* A request for host->http_fetch; borrowed only during the call. */
typedef struct op_spi_http_req {
    op_spi_http_method_t method;
    const char *url; /* http:// or https:// (certificate and host checked) */
    const op_spi_http_header_t *headers;
    size_t n_headers;
    const char *body; /* POST only; may be NULL */
    size_t body_len;
    const char *content_type; /* of the body */
    size_t max_response;      /* body cap in bytes; 0: the server's default */
} op_spi_http_req_t;

/* A response: borrowed, valid during the callback only. */
typedef struct op_spi_http_resp {
    int status;               /* HTTP status, any value */
    const char *content_type; /* NULL when absent */
    const char *body;         /* NUL-terminated */
    size_t body_len;
} op_spi_http_resp_t;

/*
 * Runs exactly once, from the loop, never inside http_fetch: status
 * OP_SPI_OK with a response (whatever its HTTP status), or an error
 * (OP_SPI_EINVAL bad URL or header, OP_SPI_ETIMEDOUT, OP_SPI_ETOOBIG,
 * OP_SPI_EUNAVAIL DNS/connect/TLS failure, OP_SPI_ECANCELED) with resp NULL
 * and error_description saying what happened (borrowed, never NULL).
 */
typedef void (*op_spi_http_cb)(int status, const op_spi_http_resp_t *resp,
                               const char *error_description, void *arg);

/* ---- claims sources ------------------------------------------------------ */

/*
 * A claims request. Everything in it is borrowed and valid until the call
 * is completed.
 *
 * Claim names: plain ("email"), with a language tag ("name#de", OpenID
 * Connect Core §5.2), or verified ("verified:given_name"); or "*" for
 * every claim the source has for the subject. A source is asked only for
 * the names it supports (see supported_claims); a tagged name is routed by
 * its part before '#'. It returns the members it has among those asked; for
 * a plain name it may return language-tagged variants ("name#de" for
 * "name") following claims_locales. The host drops any other member.
 */
typedef struct op_spi_claims_req {
    uint32_t struct_size;      /* members may be appended: check before reading newer ones */
    const char *sub;           /* the subject, never NULL or empty */
    const char *const *claims; /* the names asked of this source */
    size_t n_claims;
    const char *const *claims_locales; /* preferred languages (BCP 47), in order */
    size_t n_claims_locales;
    const char *client_id;    /* the client the claims are for; NULL when none */
    const char *transport;    /* "userinfo", "id_token", or NULL (server-internal use) */
    const char *const *scope; /* the scope behind the request (may be empty) */
    size_t n_scope;
    const op_spi_json_t *claims_data; /* consent claims_data object, or NULL */
} op_spi_claims_req_t;

/*
 * The claims source SPI (reference: Connect2id ClaimsSource). Many sources
 * may be loaded; their answers are merged. A claim name may be supported
 * by one source only: the server refuses to start when two overlap.
 */
typedef struct op_spi_claims_ops {
    /*
     * The claim names this source can provide, NULL-terminated: exact names
     * ("email", "verified:birthdate"), prefix patterns ending in '*'
     * ("acme_*") or "*" alone (everything); no language tags. Called once,
     * right after init; the host copies the list.
     */
    const char *const *(*supported_claims)(void *plugin_data);
    /*
     * Look up claims for req->sub. Complete the call exactly once with
     * host->complete(): OP_SPI_OK and a JSON object of claims (made with
     * this call, or NULL for none), OP_SPI_ENOTFOUND when the subject is
     * unknown to this source, or an error (see host->complete).
     */
    void (*get)(void *plugin_data, op_spi_call_t *call, const op_spi_claims_req_t *req);
} op_spi_claims_ops_t;

/* ---- the descriptor ------------------------------------------------------ */

/*
 * What op_spi_entry returns: a static, append-only descriptor. Start it
 * with OP_SPI_PLUGIN_HEADER:
 *
 *   static const op_spi_plugin_t my_plugin = {
 *       OP_SPI_PLUGIN_HEADER,
 *       .name = "my-plugin",
 *       .kinds = OP_SPI_KIND_CLAIMS,
 *       .init = my_init, .fini = my_fini, .claims = &my_claims_ops,
 *   };
 */
struct op_spi_plugin {
    uint32_t abi_version; /* OP_SPI_ABI_VERSION */
    uint32_t struct_size; /* sizeof(op_spi_plugin_t) */
    /* Unique among the loaded plugins; 1..64 of A-Z a-z 0-9 - _ (it names
     * the properties plugin.<name>.<key>). */
    const char *name;
    uint32_t kinds;        /* OP_SPI_KIND_* bits */
    const char *build_sig; /* OP_SPI_BUILD_SIG */
    /*
     * Called once at start-up, before anything else (may be NULL). Keep
     * host and cfg for later. Set *plugin_data to the plugin's own state.
     * Return OP_SPI_OK, or an error to stop the server from starting
     * (after logging why with host->log).
     */
    int (*init)(const op_spi_host_t *host, const op_spi_config_t *cfg, void **plugin_data);
    /*
     * Called once at shutdown (may be NULL), the last call into the
     * plugin: complete the calls still pending if you like (the host
     * reclaims the others), free the timers and everything else.
     */
    void (*fini)(void *plugin_data);
    const op_spi_claims_ops_t *claims; /* with OP_SPI_KIND_CLAIMS */
    void *spare[8];                    /* for later members: leave zero */
};

#define OP_SPI_PLUGIN_HEADER                                                                       \
    .abi_version = OP_SPI_ABI_VERSION, .struct_size = sizeof(op_spi_plugin_t),                     \
    .build_sig = OP_SPI_BUILD_SIG

/*
 * The entry point every plugin exports. It may look at host (abi_version,
 * struct_size) and return NULL to refuse to load.
 */
OP_SPI_EXPORT const op_spi_plugin_t *op_spi_entry(const op_spi_host_t *host);

/* ---- host services ------------------------------------------------------- */

/* True when the host provides service `member` (it may be older). */
#define OP_SPI_HOST_HAS(host, member)                                                              \
    ((host)->struct_size >= offsetof(op_spi_host_t, member) + sizeof((host)->member) &&            \
     (host)->member != NULL)

/*
 * The services the host gives every plugin. Members are only appended;
 * check OP_SPI_HOST_HAS before using one newer than your minimum.
 *
 * JSON values live in an owner: made with a call (call != NULL) they go
 * with the call when it is completed; made with call == NULL they form a
 * standalone document the plugin frees with json_free. Setters copy the
 * value they are given (deeply) into the target's owner. Readers take
 * NULL and values of the wrong type and answer NULL / false / 0.
 */
struct op_spi_host {
    uint32_t abi_version; /* OP_SPI_ABI_VERSION of the host */
    uint32_t struct_size; /* sizeof(op_spi_host_t) of the host */

    /* Log a line "plugin <name>: <message>", with the request id of call
     * when call is not NULL. Never log secrets. */
    void (*log)(const op_spi_config_t *self, int level, op_spi_call_t *call, const char *fmt, ...)
        OP_SPI_PRINTF(4, 5);

    /* A stopped timer calling fn(arg) from the loop. NULL only when self
     * or fn is NULL. */
    op_spi_timer_t *(*timer_new)(const op_spi_config_t *self, void (*fn)(void *arg), void *arg);
    /* (Re-)arm to fire once, ms milliseconds from now. */
    void (*timer_start)(op_spi_timer_t *t, uint64_t ms);
    /* Disarm; idempotent. */
    void (*timer_stop)(op_spi_timer_t *t);
    /* Disarm and free (also allowed from the timer's own function). NULL:
     * no-op. */
    void (*timer_free)(op_spi_timer_t *t);
    /* Run fn(arg) once from the loop, soon (never inside defer).
     * OP_SPI_OK, or OP_SPI_EINVAL when self or fn is NULL (fn will not
     * run). */
    int (*defer)(const op_spi_config_t *self, void (*fn)(void *arg), void *arg);

    /* Asynchronous HTTP(S) request; cb runs exactly once (op_spi_http_cb). */
    void (*http_fetch)(const op_spi_config_t *self, const op_spi_http_req_t *req, op_spi_http_cb cb,
                       void *arg);

    /* The plugin's property plugin.<name>.<key>, or NULL when unset.
     * Borrowed, valid until fini returns. */
    const char *(*config_get)(const op_spi_config_t *self, const char *key);

    /* n bytes (zeroed) from the call's arena, freed with the call. NULL
     * over the call's memory cap. */
    void *(*call_alloc)(op_spi_call_t *call, size_t n);
    /* True once the server stopped waiting for this call (deadline, or
     * an error from another source): the result will be dropped, but the
     * call must still be completed. */
    bool (*call_ended)(const op_spi_call_t *call);
    /*
     * Complete a call, exactly once:
     *  - OP_SPI_OK: result is the answer (for claims: an object, or NULL
     *    for none); it is copied if it is not the call's own;
     *  - OP_SPI_ENOTFOUND: subject unknown;
     *  - OP_SPI_ERROR: an OAuth error: error is one of the codes of
     *    RFC 6749 §5.2 / §4.1.2.1, RFC 6750 §3.1 or OpenID Connect Core
     *    §3.1.2.6 (others become "server_error"), error_description
     *    printable ASCII (may be NULL), http_status 400..599 (else 500);
     *  - OP_SPI_EUNAVAIL / OP_SPI_ETIMEDOUT: a backend of the plugin is
     *    down (the client sees temporarily_unavailable, 503);
     *  - anything else: server_error.
     * The strings are copied.
     */
    void (*complete)(op_spi_call_t *call, int status, const op_spi_json_t *result,
                     const char *error, const char *error_description, int http_status);

    /* Cryptographically secure random bytes. */
    void (*random_bytes)(void *buf, size_t n);

    /* Parse strict JSON (limits above). NULL on error, with the reason in
     * errbuf (may be NULL) when given. */
    op_spi_json_t *(*json_parse)(op_spi_call_t *call, const char *buf, size_t len, char *errbuf,
                                 size_t errlen);
    /* New empty object / array. NULL on OOM. */
    op_spi_json_t *(*json_object_new)(op_spi_call_t *call);
    op_spi_json_t *(*json_array_new)(op_spi_call_t *call);
    /* Free a standalone document (its root, made with call == NULL); a
     * no-op for anything else. */
    void (*json_free)(op_spi_json_t *doc);
    /* Set obj[key] (replacing an existing member). OP_SPI_OK, or
     * OP_SPI_EINVAL (not an object, bad UTF-8, too deep) / OP_SPI_ETOOBIG
     * (over the call's memory cap). */
    int (*json_set)(op_spi_json_t *obj, const char *key, const op_spi_json_t *value);
    int (*json_set_str)(op_spi_json_t *obj, const char *key, const char *s);
    int (*json_set_int)(op_spi_json_t *obj, const char *key, int64_t v);
    int (*json_set_bool)(op_spi_json_t *obj, const char *key, bool v);
    int (*json_set_null)(op_spi_json_t *obj, const char *key);
    /* Append to an array; same answers. */
    int (*json_append)(op_spi_json_t *arr, const op_spi_json_t *value);
    int (*json_append_str)(op_spi_json_t *arr, const char *s);

    op_spi_json_type_t (*json_type)(const op_spi_json_t *v); /* NULL: OP_SPI_JSON_NULL */
    /* Member of an object, NULL when absent. */
    const op_spi_json_t *(*json_get)(const op_spi_json_t *obj, const char *key);
    /* A string's bytes (NUL-terminated) and length (len may be NULL). */
    const char *(*json_str)(const op_spi_json_t *v, size_t *len);
    /* An integer number that fits in int64_t. */
    bool (*json_int)(const op_spi_json_t *v, int64_t *out);
    /* Members of an object / items of an array; 0 for anything else. */
    size_t (*json_len)(const op_spi_json_t *v);
    /* Item i of an array, or the value of member i of an object (its name
     * in *key when key is not NULL; NULL for arrays). NULL past the end. */
    const op_spi_json_t *(*json_at)(const op_spi_json_t *v, size_t i, const char **key);
    /* Compact JSON text of v in the call's arena (NUL-terminated, length in
     * *len when len is not NULL). NULL on error. */
    const char *(*json_serialize)(op_spi_call_t *call, const op_spi_json_t *v, size_t *len);
};

#ifdef __cplusplus
}
#endif

#endif
