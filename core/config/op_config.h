/*
 * core/config/op_config.h - the server configuration: a Java-properties file plus
 * TESSERA_* environment overrides, validated into typed fields.
 *
 * The annotated reference of every property (type, unit, default, rule)
 * is examples/tessera.properties.
 *
 * File syntax (a strict subset of java.util.Properties): one
 * `key = value`, `key: value`, `key=value` or `key value` per line; lines
 * whose first non-blank character is '#' or '!' are comments; blank lines
 * are skipped; blanks around key and value are trimmed. Backslash escapes
 * and line continuations are refused with an error, so are control
 * characters, invalid UTF-8, a repeated key and an unknown key.
 *
 * Environment: every property can be set by TESSERA_<NAME>, NAME being the
 * property name upper-cased with '.' -> '_' and an '_' before each
 * camelCase hump (op.authz.apiAccessTokenSHA256.1 ->
 * TESSERA_OP_AUTHZ_API_ACCESS_TOKEN_SHA256_1). A variable overrides the
 * file; an unknown TESSERA_* variable is an error.
 *
 * Plugin properties, plugin.<plugin name>.<key> (name [a-z0-9-]{1,32},
 * key [A-Za-z0-9._-]{1,64}, any value), are handed to the named plugin and
 * can only be set in the file: TESSERA_PLUGIN_<NAME>_<KEY> cannot be
 * mapped back to a name and a key ('-', '.' and case are lost), so
 * TESSERA_PLUGIN* variables are refused with an error.
 *
 * Every error names where (file:line or the environment variable), the
 * property and the bad value; the values of secret properties (tokens,
 * passwords, keys) are shown as "***".
 *
 * A loaded op_config_t is immutable and refcounted: whoever keeps it
 * beyond the call that handed it over takes a reference with
 * op_config_retain() and drops it with op_config_release().
 */
#ifndef OP_CONFIG_H
#define OP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/op.h"
#include "keys/op_keys.h"
#include "storage/op_store.h"

#define OP_CONFIG_MAX_BYTES         (1024 * 1024) /* properties file size cap */
#define OP_CONFIG_MAX_LABELS        16            /* labelled values per token property */
#define OP_CONFIG_MAX_PLUGIN_PROPS  256           /* plugin.<name>.<key> properties */
#define OP_CONFIG_MAX_PLUGINS       32            /* entries of spi.plugins */
#define OP_CONFIG_MAX_CUSTOM_ERRORS 32            /* entries of op.authz.customErrorCodes */
#define OP_CONFIG_ENC_KEY_BYTES     32
#define OP_CONFIG_TOKEN_HASH_BYTES  32

/* How access tokens are issued by default (authzStore.accessToken.defaultEncoding):
 * a signed JWT (RFC 9068), or an opaque identifier kept in the store. */
typedef enum { OP_AT_SELF_CONTAINED = 0, OP_AT_IDENTIFIER } op_at_encoding_t;

/*
 * The typed configuration. Read-only for everyone: the strings and arrays
 * live as long as the config (until the last op_config_release). Units
 * are in the names (_s seconds, _ms milliseconds).
 */
typedef struct op_config {
    const char *source; /* the file path, or the name given to parse */

    const char *issuer;          /* op.issuer, no trailing slash */
    const char *authz_endpoint;  /* op.authz.endpoint */
    const char *logout_endpoint; /* op.logout.endpoint, NULL: unset */
    const char *clients_file;    /* op.reg.clientsFile, NULL: unset */
    /* op.subject.pairwiseKey: the key of pairwise subject identifiers
     * (OIDC Core §8.1), used for nothing else; secret: never log. */
    uint8_t pairwise_key[OP_CONFIG_ENC_KEY_BYTES];
    bool pairwise_key_set; /* false: no pairwise clients */

    /* op.authz.apiAccessTokenSHA256[.<label>]: SHA-256 digests of the
     * accepted tokens, in file order (those set only in the environment
     * last); labels[i] is NULL for the unlabelled one. 0: the
     * integration APIs are disabled. */
    const uint8_t (*api_tokens)[OP_CONFIG_TOKEN_HASH_BYTES];
    const char *const *api_token_labels;
    size_t n_api_tokens;
    /* monitor.apiAccessTokenSHA256[.<label>]: same shape. */
    const uint8_t (*monitor_tokens)[OP_CONFIG_TOKEN_HASH_BYTES];
    const char *const *monitor_token_labels;
    size_t n_monitor_tokens;

    /* op.idToken.jwsAlgs, in order; [0] is the default signing alg. */
    op_jws_alg_t id_token_algs[4];
    size_t n_id_token_algs;
    int id_token_lifetime_s; /* op.idToken.defaultLifetime */

    /* The authorisation session API (op.authz.*). */
    int authz_session_lifetime_s;          /* op.authz.sessionLifetime */
    int authz_code_lifetime_s;             /* op.authz.codeLifetime */
    bool authz_allow_plain_pkce;           /* op.authz.allowPlainPKCE */
    bool authz_always_prompt_auth;         /* op.authz.alwaysPromptForAuth */
    bool authz_always_prompt_consent;      /* op.authz.alwaysPromptForConsent */
    bool authz_client_info_in_auth_prompt; /* op.authz.includeClientInfoInAuthPrompt */
    /* op.authz.customErrorCodes: the extra error codes a DELETE may give,
     * in order, NULL-terminated (never NULL itself). */
    const char *const *authz_custom_errors;
    size_t n_authz_custom_errors;

    /* Subject (SSO) sessions (sessionStore.*), in minutes, -1: unlimited;
     * max_life >= auth_life >= max_idle, -1 counting as infinite. */
    int session_max_life_min;  /* sessionStore.maxLifetime */
    int session_auth_life_min; /* sessionStore.authLifetime */
    int session_max_idle_min;  /* sessionStore.maxIdleTime */
    int session_quota;         /* sessionStore.quotaPerSubject */

    /* Token defaults (authzStore.*). */
    int at_lifetime_s;            /* authzStore.accessToken.defaultLifetime */
    op_at_encoding_t at_encoding; /* authzStore.accessToken.defaultEncoding */
    op_jws_alg_t at_jws_alg;      /* authzStore.accessToken.jwsAlg */
    int rt_lifetime_s;            /* authzStore.refreshToken.defaultLifetime, 0: no expiry */
    int rt_max_idle_s;            /* authzStore.refreshToken.defaultMaxIdle, 0: none */
    bool rt_rotate;               /* authzStore.refreshToken.rotate */

    const char *http_address;         /* http.address (IP literal) */
    int http_port;                    /* http.port */
    size_t http_max_body;             /* http.maxBodyBytes */
    size_t http_max_headers;          /* http.maxHeaderBytes */
    int http_idle_timeout_s;          /* http.idleTimeout */
    uint64_t http_read_timeout_ms;    /* http.requestReadTimeout */
    size_t http_max_connections;      /* http.maxConnections */
    uint64_t http_request_timeout_ms; /* http.requestTimeout */
    const char *http_cors_origins;    /* "*" or origins joined by ' ' */
    int http_shutdown_grace_s;        /* http.shutdownGrace */

    op_store_kind_t storage_kind;        /* storage.type */
    const char *storage_redis_address;   /* NULL: unset */
    const char *storage_redis_password;  /* secret; NULL: no AUTH */
    int storage_redis_database;          /* storage.redis.database */
    const char *storage_prefix;          /* storage.prefix, may be "" */
    uint64_t storage_timeout_ms;         /* storage.timeout */
    uint64_t storage_connect_timeout_ms; /* storage.connectTimeout */
    uint64_t storage_backoff_min_ms;     /* storage.backoffMin */
    uint64_t storage_backoff_max_ms;     /* storage.backoffMax */

    uint8_t keys_enc_key[OP_CONFIG_ENC_KEY_BYTES]; /* secret: never log */
    int keys_refresh_s;                            /* keyStore.refreshInterval, 0: never */
    int keys_rsa_bits;                             /* keyStore.rsaBits */

    const char *claims_users_file; /* claimsSource.usersFile, NULL: unset */

    /* spi.plugins: paths of the plugin .so files, in order, NULL-terminated
     * (never NULL itself). */
    const char *const *spi_plugins;
    size_t n_spi_plugins;
    uint64_t spi_timeout_ms; /* spi.callTimeout */
    /* plugin.<plugin name>.<key> = value, in file order: names[i] is
     * "<plugin name>.<key>" (e.g. "timer-claims.delayMs"). The values may
     * be secrets: never log them. See op_config_plugin_prop(). */
    const char *const *plugin_prop_names;
    const char *const *plugin_prop_values;
    size_t n_plugin_props;

    op_log_level_t log_level; /* log.level */
} op_config_t;

/*
 * Read and validate the properties file at path (a blocking read, for
 * start-up), with the TESSERA_* variables of envp (NULL-terminated
 * "NAME=value" strings, as main's third argument; NULL: none) overriding
 * it. On OP_OK *out holds one reference (caller releases). On error
 * (OP_EINVAL, OP_ETOOBIG) err->description says what, where
 * and why, *out is NULL.
 */
int op_config_load(const char *path, char *const *envp, op_config_t **out, op_err_t *err);

/*
 * Same for in-memory text (e.g. the config-check API). name is used in
 * messages in place of a file name (NULL: "<config>").
 */
int op_config_parse(const char *text, size_t len, char *const *envp, const char *name,
                    op_config_t **out, op_err_t *err);

/* Take one more reference; returns cfg. */
op_config_t *op_config_retain(op_config_t *cfg);

/* Drop one reference; the last one wipes the secrets and frees it all.
 * NULL is a no-op. */
void op_config_release(op_config_t *cfg);

/*
 * The warnings to log at start (demo token, demo key, plain-http issuer),
 * as a NULL-terminated array; empty when all is well. Borrowed from cfg.
 */
const char *const *op_config_warnings(const op_config_t *cfg);

/*
 * The value of plugin.<plugin>.<key>, borrowed from cfg; NULL when it is
 * not set (or any argument is NULL, or plugin is not a plugin name).
 */
const char *op_config_plugin_prop(const op_config_t *cfg, const char *plugin, const char *key);

/*
 * The environment variable of a property name:
 * "op.authz.apiAccessTokenSHA256.1" -> "TESSERA_OP_AUTHZ_API_ACCESS_TOKEN_SHA256_1".
 * false when it does not fit in size bytes (NUL included).
 */
bool op_config_env_name(const char *property, char *out, size_t size);

/*
 * Read a whole small file into a (NUL-terminated, *len bytes), for
 * start-up only (blocking). OP_ETOOBIG over max bytes; OP_EINVAL when it
 * cannot be read (err names the path and the reason).
 */
int op_config_read_file(op_arena_t *a, const char *path, size_t max, char **out, size_t *len,
                        op_err_t *err);

#define OP_CONFIG_SHOW_MAX 48 /* bytes of a bad value quoted in a message */

/* How many bytes of s[0..len) to quote in a message: at most
 * OP_CONFIG_SHOW_MAX, cut on a UTF-8 character boundary (also used by
 * core/proto/op_client.c). */
int op_config_show_len(const char *s, size_t len);

/* An algorithm the server signs ID tokens and UserInfo with: RS256,
 * PS256, ES256 or EdDSA (also used by core/proto/op_client.c). */
bool op_config_jws_alg_ok(op_jws_alg_t alg);

/* ---- URL checks (core/config/op_config_url.c), shared with core/proto/op_client.c ---- */

/* An absolute URI split into its parts (RFC 3986 §3); borrowed from the
 * parsed text. */
typedef struct op_config_url {
    op_str_t scheme; /* as written */
    op_str_t host;   /* without the brackets of an IPv6 literal */
    op_str_t path;
    op_str_t query;    /* without '?'; meaningful when has_query */
    op_str_t fragment; /* without '#'; meaningful when has_fragment */
    int port;          /* -1 when absent */
    bool has_authority;
    bool has_userinfo;
    bool has_query;
    bool has_fragment;
    bool host_is_ip; /* an IPv4 or IPv6 literal */
} op_config_url_t;

/*
 * Strict parse of an absolute URI: ASCII only, RFC 3986 characters,
 * well-formed percent escapes, a scheme, and when there is an authority a
 * non-empty host (a name of letters, digits, '-' and '.', a dotted IPv4
 * or a bracketed IPv6 literal) and a port in 1..65535. false otherwise.
 */
bool op_config_url_parse(const char *s, size_t len, op_config_url_t *out);

/* Case-insensitive scheme test ("https"). */
bool op_config_url_scheme_is(const op_config_url_t *u, const char *scheme);

/*
 * A loopback host: an IPv4 literal in 127.0.0.0/8, the IPv6 literal ::1,
 * and, when allow_name, the name "localhost" (any case).
 */
bool op_config_url_is_loopback(const op_config_url_t *u, bool allow_name);

#endif
