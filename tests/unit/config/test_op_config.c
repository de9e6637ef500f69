/*
 * tests/unit/config/test_op_config.c - the properties file, the environment
 * overrides, validation and the start-up warnings.
 *
 * Run from the repository root (examples/ and tests/data/ are read with
 * relative paths).
 */
#include "core/config/op_config.h"
#include "core/config/op_config_int.h"
#include "tests/unit/op_test.h"

#define SRC        "t.properties"
#define DEMO_HASH  "9477b34a9c255f76f79d282640e9f9d02f1b32a370408fdac63538ce33a788ed"
#define OTHER_HASH "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define ZERO_JWK   "{\"kty\":\"oct\",\"k\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}"

/* The required properties, none of them demo values. */
static const char *const base_lines[] = {
    "op.issuer = https://op.example.com",
    "op.authz.endpoint = https://login.example.com/login",
    "keyStore.encJWK = " ZERO_JWK,
};

static char text_buf[8192];
static char desc_buf[OP_ERR_DESC_MAX];

/* extra on line 1, then the base lines whose key extra does not set. */
static const char *with(const char *extra)
{
    size_t o = 0;
    text_buf[0] = '\0';
    if (extra != NULL)
        o += (size_t)snprintf(text_buf, sizeof(text_buf), "%s\n", extra);
    for (size_t i = 0; i < OP_NELEMS(base_lines); i++) {
        size_t klen = strcspn(base_lines[i], " ");
        if (extra != NULL && strncmp(extra, base_lines[i], klen) == 0 &&
            strchr(" =:", extra[klen]) != NULL)
            continue;
        o += (size_t)snprintf(text_buf + o, sizeof(text_buf) - o, "%s\n", base_lines[i]);
    }
    return text_buf;
}

static op_config_t *load_ok(const char *text, char **env)
{
    op_config_t *cfg = NULL;
    op_err_t err;
    op_err_clear(&err);
    int rc = op_config_parse(text, strlen(text), env, SRC, &cfg, &err);
    if (rc != OP_OK)
        fprintf(stderr, "unexpected error: %s\n", err.description);
    OP_CHECK_INT(rc, OP_OK);
    OP_CHECK(cfg != NULL);
    return cfg;
}

/* The error description of a load that must fail. */
static const char *load_err(const char *text, char **env)
{
    op_config_t *cfg = NULL;
    op_err_t err;
    op_err_clear(&err);
    int rc = op_config_parse(text, strlen(text), env, SRC, &cfg, &err);
    OP_CHECK(rc < 0);
    OP_CHECK(cfg == NULL);
    snprintf(desc_buf, sizeof(desc_buf), "%s", err.description);
    return desc_buf;
}

static size_t count_warnings(const op_config_t *cfg)
{
    size_t n = 0;
    for (const char *const *w = op_config_warnings(cfg); *w != NULL; w++)
        n++;
    return n;
}

/* The defaults of the front-channel properties (examples/tessera.properties
 * leaves them all commented out). */
static void check_front_channel_defaults(const op_config_t *cfg)
{
    OP_CHECK_INT(cfg->authz_session_lifetime_s, 900);
    OP_CHECK_INT(cfg->authz_code_lifetime_s, 300);
    OP_CHECK(!cfg->authz_allow_plain_pkce);
    OP_CHECK(!cfg->authz_always_prompt_auth);
    OP_CHECK(!cfg->authz_always_prompt_consent);
    OP_CHECK(cfg->authz_custom_errors != NULL && cfg->authz_custom_errors[0] == NULL);
    OP_CHECK_INT(cfg->n_authz_custom_errors, 0);
    OP_CHECK(!cfg->authz_client_info_in_auth_prompt);
    OP_CHECK_INT(cfg->session_max_life_min, 259200);
    OP_CHECK_INT(cfg->session_auth_life_min, 43200);
    OP_CHECK_INT(cfg->session_max_idle_min, 14400);
    OP_CHECK_INT(cfg->session_quota, 5);
    OP_CHECK_INT(cfg->at_lifetime_s, 600);
    OP_CHECK_INT(cfg->at_encoding, OP_AT_SELF_CONTAINED);
    OP_CHECK_INT(cfg->at_jws_alg, OP_JWS_RS256);
    OP_CHECK_INT(cfg->rt_lifetime_s, 2592000);
    OP_CHECK_INT(cfg->rt_max_idle_s, 0);
    OP_CHECK(cfg->rt_rotate);
    OP_CHECK_INT(cfg->id_token_lifetime_s, 900);
    OP_CHECK_INT(cfg->spi_timeout_ms, 2000);
    OP_CHECK(cfg->plugin_prop_names == NULL && cfg->plugin_prop_values == NULL);
}

/* ---- cases --------------------------------------------------------------- */

static void test_example_loads(void)
{
    op_config_t *cfg = NULL;
    op_err_t err;
    op_err_clear(&err);
    char *env[] = {"PATH=/usr/bin", "HOME=/root", NULL};
    int rc = op_config_load("examples/tessera.properties", env, &cfg, &err);
    if (rc != OP_OK)
        fprintf(stderr, "%s\n", err.description);
    OP_CHECK_INT(rc, OP_OK);
    OP_CHECK_STR(cfg->source, "examples/tessera.properties");
    OP_CHECK_STR(cfg->issuer, "http://127.0.0.1:8080");
    OP_CHECK_STR(cfg->authz_endpoint, "http://127.0.0.1:8081/login");
    OP_CHECK_STR(cfg->logout_endpoint, "http://127.0.0.1:8081/logout");
    OP_CHECK_STR(cfg->clients_file, "examples/clients.json");
    OP_CHECK_INT(cfg->n_api_tokens, 1);
    OP_CHECK_INT(cfg->n_monitor_tokens, 1);
    OP_CHECK(cfg->api_token_labels[0] == NULL);
    char hex[65];
    op_hex_encode(cfg->api_tokens[0], 32, hex);
    OP_CHECK_STR(hex, DEMO_HASH);
    OP_CHECK_INT(cfg->n_id_token_algs, 4);
    OP_CHECK_INT(cfg->id_token_algs[0], OP_JWS_RS256);
    OP_CHECK_INT(cfg->id_token_algs[1], OP_JWS_ES256);
    OP_CHECK_INT(cfg->id_token_algs[2], OP_JWS_EDDSA);
    OP_CHECK_INT(cfg->id_token_algs[3], OP_JWS_PS256);
    OP_CHECK_STR(cfg->http_address, "127.0.0.1");
    OP_CHECK_INT(cfg->http_port, 8080);
    OP_CHECK_INT(cfg->http_max_body, 262144);
    OP_CHECK_INT(cfg->http_max_headers, 16384);
    OP_CHECK_INT(cfg->http_idle_timeout_s, 30);
    OP_CHECK_INT(cfg->http_read_timeout_ms, 20000);
    OP_CHECK_INT(cfg->http_max_connections, 768);
    OP_CHECK_INT(cfg->http_request_timeout_ms, 10000);
    OP_CHECK_STR(cfg->http_cors_origins, "*");
    OP_CHECK_INT(cfg->http_shutdown_grace_s, 10);
    OP_CHECK_INT(cfg->storage_kind, OP_STORE_MEMORY);
    OP_CHECK(cfg->storage_redis_address == NULL);
    OP_CHECK(cfg->storage_redis_password == NULL);
    OP_CHECK_INT(cfg->storage_redis_database, 0);
    OP_CHECK_STR(cfg->storage_prefix, "op:");
    OP_CHECK_INT(cfg->storage_timeout_ms, 2000);
    OP_CHECK_INT(cfg->storage_connect_timeout_ms, 2000);
    OP_CHECK_INT(cfg->storage_backoff_min_ms, 100);
    OP_CHECK_INT(cfg->storage_backoff_max_ms, 5000);
    op_hex_encode(cfg->keys_enc_key, 32, hex);
    OP_CHECK_STR(hex, "890bb90827fe33b0d41417f6cb29d8aacbb167197dfbd022fb8a5e191f4da946");
    OP_CHECK_INT(cfg->keys_refresh_s, 60);
    OP_CHECK_INT(cfg->keys_rsa_bits, 2048);
    OP_CHECK_INT(cfg->log_level, OP_LOG_INFO);
    check_front_channel_defaults(cfg);
    OP_CHECK_STR(cfg->claims_users_file, "examples/users.json");
    OP_CHECK(cfg->spi_plugins != NULL && cfg->spi_plugins[0] == NULL);
    OP_CHECK_INT(cfg->n_spi_plugins, 0);
    OP_CHECK_INT(cfg->n_plugin_props, 0);
    /* Demo API token (twice), demo key, plain-http issuer. */
    const char *const *w = op_config_warnings(cfg);
    OP_CHECK_INT(count_warnings(cfg), 4);
    OP_CHECK_STR(w[0], "DEMO API TOKEN CONFIGURED for op.authz.apiAccessTokenSHA256: anyone "
                       "can call the integration APIs; never use this configuration in production");
    OP_CHECK_HAS(w[1], "DEMO API TOKEN CONFIGURED for monitor.apiAccessTokenSHA256:");
    OP_CHECK_HAS(w[2], "DEMO ENCRYPTION KEY CONFIGURED for keyStore.encJWK");
    OP_CHECK_HAS(w[3], "op.issuer http://127.0.0.1:8080 uses plain http");
    op_config_release(cfg);
}

/* Only the required properties: every default, no warning. */
static void test_defaults_no_warnings(void)
{
    op_config_t *cfg = load_ok(with(NULL), NULL);
    OP_CHECK_STR(cfg->issuer, "https://op.example.com");
    OP_CHECK(cfg->logout_endpoint == NULL);
    OP_CHECK(cfg->clients_file == NULL);
    OP_CHECK_INT(cfg->n_api_tokens, 0);
    OP_CHECK_INT(cfg->n_monitor_tokens, 0);
    OP_CHECK_INT(cfg->http_port, 8080);
    OP_CHECK_INT(cfg->storage_kind, OP_STORE_MEMORY);
    OP_CHECK_INT(cfg->id_token_algs[0], OP_JWS_RS256);
    OP_CHECK_INT(count_warnings(cfg), 0);
    check_front_channel_defaults(cfg);
    OP_CHECK(cfg->claims_users_file == NULL);
    OP_CHECK(cfg->spi_plugins != NULL && cfg->spi_plugins[0] == NULL);
    OP_CHECK_INT(cfg->n_spi_plugins, 0);
    /* A second reference keeps it alive after the first is dropped. */
    OP_CHECK(op_config_retain(cfg) == cfg);
    op_config_release(cfg);
    OP_CHECK_STR(cfg->issuer, "https://op.example.com");
    op_config_release(cfg);
    op_config_release(NULL);
}

/* Values that must be accepted, and how they are stored. */
static void test_good_values(void)
{
    op_config_t *cfg;
    cfg = load_ok(with("op.issuer = http://localhost:8080/tenant-1"), NULL);
    OP_CHECK_STR(cfg->issuer, "http://localhost:8080/tenant-1");
    OP_CHECK_INT(count_warnings(cfg), 1);
    op_config_release(cfg);
    cfg = load_ok(with("op.issuer = http://[::1]:8080"), NULL);
    op_config_release(cfg);
    cfg = load_ok(with("op.issuer = http://127.3.4.5"), NULL);
    op_config_release(cfg);
    cfg = load_ok(with("op.authz.endpoint = https://login.example.com/login?tenant=1"), NULL);
    op_config_release(cfg);
    cfg = load_ok(with("http.address = ::"), NULL);
    OP_CHECK_STR(cfg->http_address, "::");
    op_config_release(cfg);
    cfg = load_ok(with("http.corsOrigins =  https://a.example \t http://127.0.0.1:3000 "), NULL);
    OP_CHECK_STR(cfg->http_cors_origins, "https://a.example http://127.0.0.1:3000");
    op_config_release(cfg);
    cfg = load_ok(with("storage.prefix ="), NULL);
    OP_CHECK_STR(cfg->storage_prefix, "");
    op_config_release(cfg);
    cfg = load_ok(with("op.idToken.jwsAlgs = EdDSA,ES256 RS256"), NULL);
    OP_CHECK_INT(cfg->n_id_token_algs, 3);
    OP_CHECK_INT(cfg->id_token_algs[0], OP_JWS_EDDSA);
    OP_CHECK_INT(cfg->id_token_algs[1], OP_JWS_ES256);
    OP_CHECK_INT(cfg->id_token_algs[2], OP_JWS_RS256);
    op_config_release(cfg);
    cfg = load_ok(with("keyStore.rsaBits = 4096\nkeyStore.refreshInterval = 0\n"
                       "log.level = debug\nhttp.port = 0"),
                  NULL);
    OP_CHECK_INT(cfg->keys_rsa_bits, 4096);
    OP_CHECK_INT(cfg->keys_refresh_s, 0);
    OP_CHECK_INT(cfg->log_level, OP_LOG_DEBUG);
    OP_CHECK_INT(cfg->http_port, 0);
    op_config_release(cfg);
    cfg = load_ok(with("keyStore.encJWK = {\"kty\":\"oct\",\"kid\":\"k1\",\"use\":\"enc\","
                       "\"k\":\"iQu5CCf-M7DUFBf2yynYqsuxZxl9-9Ai-4peGR9NqUY\"}"),
                  NULL);
    OP_CHECK_INT(count_warnings(cfg), 1);
    OP_CHECK_HAS(op_config_warnings(cfg)[0], "DEMO ENCRYPTION KEY CONFIGURED");
    op_config_release(cfg);
}

/* Every property's bad values: the message names the line, the property
 * and the value (masked for secrets), and says why. */
static void test_bad_values(void)
{
    static const struct {
        const char *line;
        const char *want;
    } cases[] = {
        {"op.issuer = ftp://op.example.com",
         SRC ":1: op.issuer: \"ftp://op.example.com\": must be an https URL"},
        {"op.issuer = http://op.example.com", "op.issuer: \"http://op.example.com\": must use "
                                              "https (http only for a loopback host"},
        {"op.issuer = https://op.example.com/", "\"https://op.example.com/\": must not end "
                                                "with '/'"},
        {"op.issuer = https://op.example.com?a=b", "must not have a query"},
        {"op.issuer = https://me@op.example.com", "must not contain user info"},
        {"op.issuer = https://op.example.com#top", "must not have a fragment"},
        {"op.issuer = op.example.com", "\"op.example.com\": must be an absolute https URL"},
        {"op.issuer = https://op.example.com:99999", "must be an absolute https URL"},
        {"op.issuer = https://op example.com", "must be an absolute https URL"},
        {"op.issuer = https://op.example.com/%zz", "must be an absolute https URL"},
        {"op.issuer = http://127.1:8080", "must be an absolute https URL"},
        {"op.issuer =", "op.issuer: \"\": must not be empty"},
        {"op.authz.endpoint = http://10.0.0.1/login",
         SRC ":1: op.authz.endpoint: \"http://10.0.0.1/login\": must use https"},
        {"op.logout.endpoint = https://x.example/logout#f",
         "op.logout.endpoint: \"https://x.example/logout#f\": must not have a fragment"},
        {"op.authz.apiAccessTokenSHA256 = abc",
         "op.authz.apiAccessTokenSHA256: \"***\": must be 64 hex digits"},
        {"monitor.apiAccessTokenSHA256 = "
         "00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg",
         "monitor.apiAccessTokenSHA256: \"***\": must be 64 hex digits"},
        {"op.idToken.jwsAlgs = RS256, HS256",
         "op.idToken.jwsAlgs: \"RS256, HS256\": unsupported algorithm \"HS256\""},
        {"op.idToken.jwsAlgs = RS256 RS256", "\"RS256\" is listed twice"},
        {"op.idToken.jwsAlgs = ,", "must list at least one of"},
        /* OIDC Discovery §3: RS256 must be among the advertised ones. */
        {"op.idToken.jwsAlgs = ES256, EdDSA", "must include RS256 (OpenID Connect Discovery §3)"},
        {"op.reg.clientsFile =", "op.reg.clientsFile: \"\": must not be empty"},
        {"http.address = localhost", "http.address: \"localhost\": must be an IP address"},
        {"http.address = 10.0.0.256", "http.address: \"10.0.0.256\": must be an IP address"},
        {"http.port = 65536", "http.port: \"65536\": must be an integer from 0 to 65535"},
        {"http.port = -1", "http.port: \"-1\": must be an integer from 0 to 65535"},
        {"http.port = 80x", "http.port: \"80x\": must be an integer"},
        {"http.port = +80", "http.port: \"+80\": must be an integer"},
        {"http.maxBodyBytes = 1023",
         "http.maxBodyBytes: \"1023\": must be an integer from 1024 to 16777216 bytes"},
        {"http.maxHeaderBytes = 1048577", "from 1024 to 1048576 bytes"},
        {"http.idleTimeout = 0", "http.idleTimeout: \"0\": must be an integer from 1 to 3600 "
                                 "seconds"},
        {"http.requestTimeout = 99", "from 100 to 600000 milliseconds"},
        {"http.requestReadTimeout = 99", "http.requestReadTimeout: \"99\": must be an integer "
                                         "from 100 to 600000 milliseconds"},
        {"http.maxConnections = 0", "http.maxConnections: \"0\": must be an integer from 1 to "
                                    "1000000 connections"},
        {"http.corsOrigins = https://a.example/path",
         "\"https://a.example/path\" is not an origin"},
        {"http.corsOrigins = ftp://a.example", "\"ftp://a.example\" is not an origin"},
        {"http.corsOrigins = * https://a.example", "\"*\" cannot be combined with origins"},
        {"http.shutdownGrace = 601", "http.shutdownGrace: \"601\": must be an integer from 0 "
                                     "to 600 seconds"},
        {"storage.type = mysql", "storage.type: \"mysql\": must be memory or redis"},
        {"storage.redis.database = 16", "storage.redis.database: \"16\": must be an integer "
                                        "from 0 to 15"},
        {"storage.prefix = a/b", "storage.prefix: \"a/b\": must be at most 32 of"},
        {"storage.prefix = 012345678901234567890123456789012", "must be at most 32 of"},
        {"storage.timeout = 9", "storage.timeout: \"9\": must be an integer from 10 to 60000 "
                                "milliseconds"},
        {"storage.connectTimeout = 60001", "storage.connectTimeout: \"60001\""},
        {"storage.backoffMin = 5", "storage.backoffMin: \"5\""},
        {"storage.backoffMax = 600001", "storage.backoffMax: \"600001\""},
        {"keyStore.encJWK = {\"kty\":\"RSA\"}",
         "keyStore.encJWK: \"***\": \"kty\" must be \"oct\""},
        {"keyStore.encJWK = {\"kty\":\"oct\",\"k\":\"c2hvcnQ\"}",
         "keyStore.encJWK: \"***\": \"k\" must be the base64url (no padding) of 32 bytes"},
        {"keyStore.encJWK = not json", "keyStore.encJWK: \"***\": must be a JSON oct JWK"},
        {"keyStore.encJWK = [1]", "keyStore.encJWK: \"***\": must be a JSON oct JWK"},
        {"keyStore.refreshInterval = 86401", "keyStore.refreshInterval: \"86401\""},
        {"keyStore.rsaBits = 1024", "keyStore.rsaBits: \"1024\": must be 2048, 3072 or 4096"},
        {"log.level = trace", "log.level: \"trace\": must be debug, info, warn or error"},
    };
    for (size_t i = 0; i < OP_NELEMS(cases); i++) {
        const char *d = load_err(with(cases[i].line), NULL);
        OP_CHECK_HAS(d, SRC ":1: ");
        OP_CHECK_HAS(d, cases[i].want);
    }
}

/* Secret values never appear in a message, even cut. */
static void test_secrets_masked(void)
{
    char line[1024];
    memset(line, 0, sizeof(line));
    int n = snprintf(line, sizeof(line), "storage.redis.password = ");
    memset(line + n, 'S', 600);
    const char *d = load_err(with(line), NULL);
    OP_CHECK_HAS(d, "storage.redis.password: \"***\": too long (at most 512 bytes)");
    OP_CHECK(strstr(d, "SSS") == NULL);
    d = load_err(with("keyStore.encJWK = {\"kty\":\"oct\",\"k\":\"c2VjcmV0c2VjcmV0\"}"), NULL);
    OP_CHECK(strstr(d, "c2VjcmV0") == NULL);
    char *env[] = {"TESSERA_OP_AUTHZ_API_ACCESS_TOKEN_SHA256=topsecretvalue", NULL};
    d = load_err(with(NULL), env);
    OP_CHECK(strstr(d, "topsecret") == NULL);
    OP_CHECK_HAS(d, "\"***\"");
}

/* Long values are cut in messages. */
static void test_long_value_cut(void)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "op.issuer = ftp://");
    memset(line + n, 'a', 200);
    line[n + 200] = '\0';
    const char *d = load_err(with(line), NULL);
    OP_CHECK_HAS(d, "op.issuer: \"ftp://aaaa");
    OP_CHECK_HAS(d, "...\": must be an https URL");
    /* Cut on a character boundary: the message stays UTF-8. */
    n = snprintf(line, sizeof(line), "op.issuer = ftp://x");
    for (int i = 0; i < 100; i++)
        n += snprintf(line + n, sizeof(line) - (size_t)n, "\xc3\xa9");
    d = load_err(with(line), NULL);
    OP_CHECK(op_json_utf8_valid(d, strlen(d)));
    OP_CHECK_HAS(d, "\xc3\xa9...\": must be an absolute https URL");
}

static void test_unknown_key(void)
{
    const char *d = load_err(with("op.isuer = https://x.example"), NULL);
    OP_CHECK_STR(d, SRC ":1: unknown property op.isuer; did you mean op.issuer?");
    d = load_err(with("http.prot = 80"), NULL);
    OP_CHECK_HAS(d, "unknown property http.prot; did you mean http.port?");
    d = load_err(with("op.authz.apiAccessTokenSha256 = " OTHER_HASH), NULL);
    OP_CHECK_HAS(d, "did you mean op.authz.apiAccessTokenSHA256?");
    d = load_err(with("foo.bar = 1"), NULL);
    OP_CHECK_STR(d, SRC ":1: unknown property foo.bar");
    /* As close to two names: no suggestion. */
    d = load_err(with("storage.backoffM = 10"), NULL);
    OP_CHECK_STR(d, SRC ":1: unknown property storage.backoffM");
}

static void test_repeated_key(void)
{
    const char *d = load_err(with("http.port = 1\n# comment\nhttp.port = 2"), NULL);
    OP_CHECK_STR(d, SRC ":3: http.port: repeated property (first set on line 1)");
    d = load_err(with("op.authz.apiAccessTokenSHA256.a = " OTHER_HASH "\n"
                      "op.authz.apiAccessTokenSHA256.A = " OTHER_HASH),
                 NULL);
    OP_CHECK_HAS(d, SRC ":2: op.authz.apiAccessTokenSHA256.A: repeated property");
}

/* Separators, comments, blanks, CRLF; escapes and control characters
 * refused. */
static void test_syntax(void)
{
    op_config_t *cfg = load_ok("# comment\n! also a comment\n\n   \n"
                               "op.issuer:https://op.example.com\r\n"
                               "  op.authz.endpoint   https://l.example/x  \r\n"
                               "\tkeyStore.encJWK=" ZERO_JWK "\nhttp.port :  81",
                               NULL);
    OP_CHECK_STR(cfg->issuer, "https://op.example.com");
    OP_CHECK_STR(cfg->authz_endpoint, "https://l.example/x");
    OP_CHECK_INT(cfg->http_port, 81);
    op_config_release(cfg);
    const char *d = load_err(with("op.logout.endpoint = https://x.example/a\\\n  b"), NULL);
    OP_CHECK_HAS(d, SRC ":1: backslash escapes and line continuations are not supported");
    d = load_err(with("log.level = info\x01"), NULL);
    OP_CHECK_HAS(d, SRC ":1: control character 0x01");
    d = load_err(with("= x"), NULL);
    OP_CHECK_HAS(d, SRC ":1: missing property name before '='");
    d = load_err(with("log.level = \xc3\x28"), NULL);
    OP_CHECK_HAS(d, "not UTF-8 text");
    static const char nul[] = "log.level = info\0x\n";
    op_config_t *out = NULL;
    op_err_t err;
    OP_CHECK(op_config_parse(nul, sizeof(nul) - 1, NULL, SRC, &out, &err) == OP_EINVAL);
    OP_CHECK(out == NULL);
}

static void test_missing_required(void)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"op.authz.endpoint = https://l.example\nkeyStore.encJWK = " ZERO_JWK,
         SRC ": op.issuer: required property is not set (set it in the file or as "
             "TESSERA_OP_ISSUER)"},
        {"op.issuer = https://op.example\nkeyStore.encJWK = " ZERO_JWK,
         SRC ": op.authz.endpoint: required property is not set (set it in the file or as "
             "TESSERA_OP_AUTHZ_ENDPOINT)"},
        {"op.issuer = https://op.example\nop.authz.endpoint = https://l.example",
         SRC ": keyStore.encJWK: required property is not set (set it in the file or as "
             "TESSERA_KEY_STORE_ENC_JWK)"},
    };
    for (size_t i = 0; i < OP_NELEMS(cases); i++)
        OP_CHECK_STR(load_err(cases[i].text, NULL), cases[i].want);
    OP_CHECK_STR(load_err("", NULL), SRC ": op.issuer: required property is not set (set it "
                                         "in the file or as TESSERA_OP_ISSUER)");
}

static void test_env_name_mapping(void)
{
    static const struct {
        const char *prop;
        const char *env;
    } cases[] = {
        {"op.issuer", "TESSERA_OP_ISSUER"},
        {"op.authz.allowPlainPKCE", "TESSERA_OP_AUTHZ_ALLOW_PLAIN_PKCE"},
        {"op.authz.includeClientInfoInAuthPrompt",
         "TESSERA_OP_AUTHZ_INCLUDE_CLIENT_INFO_IN_AUTH_PROMPT"},
        {"sessionStore.quotaPerSubject", "TESSERA_SESSION_STORE_QUOTA_PER_SUBJECT"},
        {"authzStore.accessToken.jwsAlg", "TESSERA_AUTHZ_STORE_ACCESS_TOKEN_JWS_ALG"},
        {"spi.callTimeout", "TESSERA_SPI_CALL_TIMEOUT"},
        {"op.authz.apiAccessTokenSHA256", "TESSERA_OP_AUTHZ_API_ACCESS_TOKEN_SHA256"},
        {"op.authz.apiAccessTokenSHA256.1", "TESSERA_OP_AUTHZ_API_ACCESS_TOKEN_SHA256_1"},
        {"monitor.apiAccessTokenSHA256", "TESSERA_MONITOR_API_ACCESS_TOKEN_SHA256"},
        {"op.idToken.jwsAlgs", "TESSERA_OP_ID_TOKEN_JWS_ALGS"},
        {"op.reg.clientsFile", "TESSERA_OP_REG_CLIENTS_FILE"},
        {"http.maxBodyBytes", "TESSERA_HTTP_MAX_BODY_BYTES"},
        {"keyStore.encJWK", "TESSERA_KEY_STORE_ENC_JWK"},
        {"storage.redis.address", "TESSERA_STORAGE_REDIS_ADDRESS"},
    };
    char buf[128];
    for (size_t i = 0; i < OP_NELEMS(cases); i++) {
        OP_CHECK(op_config_env_name(cases[i].prop, buf, sizeof(buf)));
        OP_CHECK_STR(buf, cases[i].env);
    }
    OP_CHECK(!op_config_env_name("op.issuer", buf, 12));
}

/* The environment overrides the file, whatever the order. */
static void test_env_override_wins(void)
{
    char *env[] = {"TESSERA_HTTP_PORT=4321", "OTHER=1", "TESSERA_OP_ID_TOKEN_JWS_ALGS=ES256,RS256",
                   "TESSERA_KEY_STORE_ENC_JWK={\"kty\":\"oct\","
                   "\"k\":\"iQu5CCf-M7DUFBf2yynYqsuxZxl9-9Ai-4peGR9NqUY\"}",
                   NULL};
    op_config_t *cfg = load_ok(with("http.port = 1234"), env);
    OP_CHECK_INT(cfg->http_port, 4321);
    OP_CHECK_INT(cfg->n_id_token_algs, 2);
    OP_CHECK_INT(cfg->id_token_algs[0], OP_JWS_ES256);
    OP_CHECK_HAS(op_config_warnings(cfg)[0], "DEMO ENCRYPTION KEY CONFIGURED");
    op_config_release(cfg);
    /* A required property set only in the environment. */
    char *env2[] = {"TESSERA_OP_ISSUER=https://env.example", NULL};
    cfg = load_ok("op.authz.endpoint = https://l.example\nkeyStore.encJWK = " ZERO_JWK, env2);
    OP_CHECK_STR(cfg->issuer, "https://env.example");
    op_config_release(cfg);
}

/* Errors from the environment name the variable. */
static void test_env_errors(void)
{
    char *bad[] = {"TESSERA_HTTP_PORT=abc", NULL};
    OP_CHECK_STR(load_err(with(NULL), bad), "environment variable TESSERA_HTTP_PORT: "
                                            "http.port: \"abc\": must be an integer from 0 "
                                            "to 65535");
    char *unknown[] = {"TESSERA_FOO=1", NULL};
    OP_CHECK_STR(load_err(with(NULL), unknown), "environment variable TESSERA_FOO: unknown "
                                                "setting (no property maps to it)");
    char *close[] = {"TESSERA_HTTP_PROT=1", NULL};
    OP_CHECK_HAS(load_err(with(NULL), close), "did you mean TESSERA_HTTP_PORT?");
    char *twice[] = {"TESSERA_HTTP_PORT=1", "TESSERA_HTTP_PORT=2", NULL};
    OP_CHECK_HAS(load_err(with(NULL), twice), "environment variable TESSERA_HTTP_PORT: http.port: "
                                              "also set by TESSERA_HTTP_PORT");
    char *ctl[] = {"TESSERA_LOG_LEVEL=info\n", NULL};
    OP_CHECK_HAS(load_err(with(NULL), ctl), "environment variable TESSERA_LOG_LEVEL: the value");
    char *bad_label[] = {"TESSERA_OP_AUTHZ_API_ACCESS_TOKEN_SHA256_A.B=" OTHER_HASH, NULL};
    OP_CHECK_HAS(load_err(with(NULL), bad_label), "unknown setting");
}

static void test_redis_address(void)
{
    static const struct {
        const char *addr;
        const char *want; /* NULL: accepted */
    } cases[] = {
        {"127.0.0.1:6379", NULL},
        {"[::1]:6379", NULL},
        {"unix:/run/redis/redis.sock", NULL},
        {"redis.example.com:6379", "must be an IP address or unix:/path (host names would "
                                   "block the event loop)"},
        {"localhost:6379", "host names would block the event loop"},
        {"localhost", "host names would block the event loop"},
        {"::1:6379", "an IPv6 address must be in brackets: [::1]:6379"},
        {"[::1]", "must be ip:port, [ipv6]:port or unix:/path"},
        {"[foo]:6379", "[...] must hold an IPv6 address"},
        {"127.0.0.1", "the port is missing"},
        {"127.0.0.1:0", "the port must be an integer from 1 to 65535"},
        {"127.0.0.1:65536", "the port must be"},
        {"unix:relative.sock", "the socket path must be absolute"},
        {"unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "the socket path is too long"},
    };
    char line[256];
    for (size_t i = 0; i < OP_NELEMS(cases); i++) {
        snprintf(line, sizeof(line), "storage.type = redis\nstorage.redis.address = %s",
                 cases[i].addr);
        if (cases[i].want == NULL) {
            op_config_t *cfg = load_ok(with(line), NULL);
            OP_CHECK_INT(cfg->storage_kind, OP_STORE_REDIS);
            OP_CHECK_STR(cfg->storage_redis_address, cases[i].addr);
            op_config_release(cfg);
        } else {
            const char *d = load_err(with(line), NULL);
            OP_CHECK_HAS(d, SRC ":2: storage.redis.address: \"");
            OP_CHECK_HAS(d, cases[i].want);
        }
    }
    OP_CHECK_STR(load_err(with("storage.type = redis"), NULL),
                 SRC ":1: storage.redis.address: required when storage.type is redis "
                     "(or set TESSERA_STORAGE_REDIS_ADDRESS)");
    op_config_t *cfg = load_ok(with("storage.type = redis\nstorage.redis.address = "
                                    "127.0.0.1:6380\nstorage.redis.password = pw\n"
                                    "storage.redis.database = 15"),
                               NULL);
    OP_CHECK_STR(cfg->storage_redis_password, "pw");
    OP_CHECK_INT(cfg->storage_redis_database, 15);
    op_config_release(cfg);
}

static void test_backoff_order(void)
{
    OP_CHECK_STR(load_err(with("storage.backoffMax = 50"), NULL),
                 SRC ":1: storage.backoffMax: \"50\": must be >= storage.backoffMin (100)");
    OP_CHECK_STR(load_err(with("storage.backoffMin = 6000"), NULL),
                 SRC ":1: storage.backoffMin: \"6000\": must be <= storage.backoffMax (5000)");
    op_config_t *cfg = load_ok(with("storage.backoffMin = 6000\nstorage.backoffMax = 6000"), NULL);
    OP_CHECK_INT(cfg->storage_backoff_max_ms, 6000);
    op_config_release(cfg);
}

/* Labelled tokens for roll-over: file and environment, in order. */
static void test_labelled_tokens(void)
{
    char *env[] = {"TESSERA_OP_AUTHZ_API_ACCESS_TOKEN_SHA256_NEXT=" DEMO_HASH,
                   "TESSERA_MONITOR_API_ACCESS_TOKEN_SHA256_2=" OTHER_HASH, NULL};
    op_config_t *cfg = load_ok(with("op.authz.apiAccessTokenSHA256 = " OTHER_HASH "\n"
                                    "op.authz.apiAccessTokenSHA256.old-1 = " OTHER_HASH "\n"
                                    "op.authz.apiAccessTokenSHA256.next = " OTHER_HASH "\n"
                                    "monitor.apiAccessTokenSHA256.1 = " OTHER_HASH),
                               env);
    OP_CHECK_INT(cfg->n_api_tokens, 3);
    OP_CHECK(cfg->api_token_labels[0] == NULL);
    OP_CHECK_STR(cfg->api_token_labels[1], "old-1");
    OP_CHECK_STR(cfg->api_token_labels[2], "next");
    char hex[65];
    op_hex_encode(cfg->api_tokens[2], 32, hex);
    OP_CHECK_STR(hex, DEMO_HASH); /* the environment replaced .next */
    op_hex_encode(cfg->api_tokens[0], 32, hex);
    OP_CHECK_STR(hex, OTHER_HASH);
    OP_CHECK_INT(cfg->n_monitor_tokens, 2);
    OP_CHECK_STR(cfg->monitor_token_labels[0], "1");
    OP_CHECK_STR(cfg->monitor_token_labels[1], "2");
    OP_CHECK_INT(count_warnings(cfg), 1);
    OP_CHECK_STR(op_config_warnings(cfg)[0],
                 "DEMO API TOKEN CONFIGURED for op.authz.apiAccessTokenSHA256.next: anyone can "
                 "call the integration APIs; never use this configuration in production");
    op_config_release(cfg);

    const char *d = load_err(with("op.authz.apiAccessTokenSHA256.a.b = " OTHER_HASH), NULL);
    OP_CHECK_HAS(d, SRC ":1: op.authz.apiAccessTokenSHA256: bad label \"a.b\"");
    d = load_err(with("op.authz.apiAccessTokenSHA256.x = 12"), NULL);
    OP_CHECK_HAS(d, SRC ":1: op.authz.apiAccessTokenSHA256.x: \"***\": must be 64 hex digits");
    d = load_err(with("http.port.1 = 80"), NULL);
    OP_CHECK_HAS(d, "unknown property http.port.1");

    char text[4096];
    size_t o = 0;
    for (int i = 0; i < OP_CONFIG_MAX_LABELS + 1; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o,
                              "monitor.apiAccessTokenSHA256.l%d = " OTHER_HASH "\n", i);
    snprintf(text + o, sizeof(text) - o, "%s", with(NULL));
    d = load_err(text, NULL);
    OP_CHECK_HAS(d, SRC ":17: monitor.apiAccessTokenSHA256: too many labelled values (at most 16)");
}

static void test_demo_token_warning(void)
{
    op_config_t *cfg = load_ok(with("monitor.apiAccessTokenSHA256 = " DEMO_HASH), NULL);
    OP_CHECK_INT(count_warnings(cfg), 1);
    OP_CHECK_STR(op_config_warnings(cfg)[0],
                 "DEMO API TOKEN CONFIGURED for monitor.apiAccessTokenSHA256: anyone can call "
                 "the monitoring API; never use this configuration in production");
    op_config_release(cfg);
    /* Upper-case hex is the same digest. */
    char line[128];
    int n = snprintf(line, sizeof(line), "op.authz.apiAccessTokenSHA256 = %s", DEMO_HASH);
    for (char *p = line + n - 64; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    cfg = load_ok(with(line), NULL);
    OP_CHECK_INT(count_warnings(cfg), 1);
    OP_CHECK_HAS(op_config_warnings(cfg)[0], "for op.authz.apiAccessTokenSHA256:");
    op_config_release(cfg);
}

static void test_load_file_errors(void)
{
    op_config_t *cfg = NULL;
    op_err_t err;
    OP_CHECK_INT(op_config_load("tests/data/config/missing.properties", NULL, &cfg, &err),
                 OP_EINVAL);
    OP_CHECK_HAS(err.description, "tests/data/config/missing.properties: cannot open:");
    OP_CHECK_INT(op_config_load("tests/data/config", NULL, &cfg, &err), OP_EINVAL);
    OP_CHECK_HAS(err.description, "not a regular file");
    OP_CHECK_INT(op_config_load("tests/data/config/bad-line.properties", NULL, &cfg, &err),
                 OP_EINVAL);
    OP_CHECK_STR(err.description, "tests/data/config/bad-line.properties:4: http.port: "
                                  "\"eighty\": must be an integer from 0 to 65535");
    OP_CHECK(cfg == NULL);
    char *big = malloc(OP_CONFIG_MAX_BYTES + 2);
    OP_CHECK(big != NULL);
    memset(big, '#', OP_CONFIG_MAX_BYTES + 1);
    big[OP_CONFIG_MAX_BYTES + 1] = '\0';
    OP_CHECK_INT(op_config_parse(big, OP_CONFIG_MAX_BYTES + 1, NULL, SRC, &cfg, &err), OP_ETOOBIG);
    free(big);
}

/* Every front-channel property at its bounds and special values. */
static void test_front_channel_values(void)
{
    op_config_t *cfg = load_ok(with("op.authz.sessionLifetime = 60\n"
                                    "op.authz.codeLifetime = 600\n"
                                    "op.authz.allowPlainPKCE = true\n"
                                    "op.authz.alwaysPromptForAuth = true\n"
                                    "op.authz.alwaysPromptForConsent = true\n"
                                    "op.authz.customErrorCodes = account_locked,Too_Many_2 \t x\n"
                                    "op.authz.includeClientInfoInAuthPrompt = true\n"
                                    "op.idToken.defaultLifetime = 86400\n"
                                    "sessionStore.maxLifetime = -1\n"
                                    "sessionStore.authLifetime = -1\n"
                                    "sessionStore.maxIdleTime = 1\n"
                                    "sessionStore.quotaPerSubject = 25\n"
                                    "authzStore.accessToken.defaultLifetime = 1\n"
                                    "authzStore.accessToken.defaultEncoding = IDENTIFIER\n"
                                    "authzStore.accessToken.jwsAlg = EdDSA\n"
                                    "authzStore.refreshToken.defaultLifetime = 0\n"
                                    "authzStore.refreshToken.defaultMaxIdle = 31536000\n"
                                    "authzStore.refreshToken.rotate = false\n"
                                    "claimsSource.usersFile = /etc/tessera/users.json\n"
                                    "spi.plugins = ./a.so , /opt/my plugins/b.so,\n"
                                    "spi.callTimeout = 60000"),
                               NULL);
    OP_CHECK_INT(cfg->authz_session_lifetime_s, 60);
    OP_CHECK_INT(cfg->authz_code_lifetime_s, 600);
    OP_CHECK(cfg->authz_allow_plain_pkce);
    OP_CHECK(cfg->authz_always_prompt_auth);
    OP_CHECK(cfg->authz_always_prompt_consent);
    OP_CHECK_INT(cfg->n_authz_custom_errors, 3);
    OP_CHECK_STR(cfg->authz_custom_errors[0], "account_locked");
    OP_CHECK_STR(cfg->authz_custom_errors[1], "Too_Many_2");
    OP_CHECK_STR(cfg->authz_custom_errors[2], "x");
    OP_CHECK(cfg->authz_custom_errors[3] == NULL);
    OP_CHECK(cfg->authz_client_info_in_auth_prompt);
    OP_CHECK_INT(cfg->id_token_lifetime_s, 86400);
    OP_CHECK_INT(cfg->session_max_life_min, -1);
    OP_CHECK_INT(cfg->session_auth_life_min, -1);
    OP_CHECK_INT(cfg->session_max_idle_min, 1);
    OP_CHECK_INT(cfg->session_quota, 25);
    OP_CHECK_INT(cfg->at_lifetime_s, 1);
    OP_CHECK_INT(cfg->at_encoding, OP_AT_IDENTIFIER);
    OP_CHECK_INT(cfg->at_jws_alg, OP_JWS_EDDSA);
    OP_CHECK_INT(cfg->rt_lifetime_s, 0);
    OP_CHECK_INT(cfg->rt_max_idle_s, 31536000);
    OP_CHECK(!cfg->rt_rotate);
    OP_CHECK_STR(cfg->claims_users_file, "/etc/tessera/users.json");
    OP_CHECK_INT(cfg->n_spi_plugins, 2);
    OP_CHECK_STR(cfg->spi_plugins[0], "./a.so");
    OP_CHECK_STR(cfg->spi_plugins[1], "/opt/my plugins/b.so"); /* blanks inside a path */
    OP_CHECK(cfg->spi_plugins[2] == NULL);
    OP_CHECK_INT(cfg->spi_timeout_ms, 60000);
    op_config_release(cfg);

    cfg = load_ok(with("op.authz.sessionLifetime = 86400\nop.authz.codeLifetime = 10\n"
                       "op.idToken.defaultLifetime = 60\nsessionStore.maxLifetime = 525600\n"
                       "sessionStore.authLifetime = 525600\nsessionStore.maxIdleTime = 525600\n"
                       "sessionStore.quotaPerSubject = 1\n"
                       "authzStore.accessToken.defaultLifetime = 86400\n"
                       "authzStore.accessToken.defaultEncoding = SELF_CONTAINED\n"
                       "authzStore.accessToken.jwsAlg = ES256\n"
                       "authzStore.refreshToken.defaultLifetime = 31536000\n"
                       "authzStore.refreshToken.defaultMaxIdle = 60\n"
                       "op.authz.allowPlainPKCE = false\nop.authz.customErrorCodes =\n"
                       "spi.plugins = , ,\nspi.callTimeout = 10"),
                  NULL);
    OP_CHECK_INT(cfg->authz_session_lifetime_s, 86400);
    OP_CHECK_INT(cfg->authz_code_lifetime_s, 10);
    OP_CHECK_INT(cfg->id_token_lifetime_s, 60);
    OP_CHECK_INT(cfg->session_max_idle_min, 525600);
    OP_CHECK_INT(cfg->session_quota, 1);
    OP_CHECK_INT(cfg->at_encoding, OP_AT_SELF_CONTAINED);
    OP_CHECK_INT(cfg->at_jws_alg, OP_JWS_ES256);
    OP_CHECK_INT(cfg->rt_lifetime_s, 31536000);
    OP_CHECK_INT(cfg->rt_max_idle_s, 60);
    OP_CHECK(!cfg->authz_allow_plain_pkce);
    OP_CHECK_INT(cfg->n_authz_custom_errors, 0);
    OP_CHECK(cfg->authz_custom_errors[0] == NULL);
    OP_CHECK_INT(cfg->n_spi_plugins, 0);
    OP_CHECK_INT(cfg->spi_timeout_ms, 10);
    op_config_release(cfg);
}

/* Bad values of the front-channel properties: the message names the line,
 * the property and the value, and says what is accepted. */
static void test_front_channel_bad_values(void)
{
    static const struct {
        const char *line;
        const char *want;
    } cases[] = {
        {"op.authz.sessionLifetime = 59",
         "op.authz.sessionLifetime: \"59\": must be an integer from 60 to 86400 seconds"},
        {"op.authz.sessionLifetime = 86401", "op.authz.sessionLifetime: \"86401\": must be"},
        /* RFC 6749 §4.1.2: a code lives 10 minutes at most. */
        {"op.authz.codeLifetime = 601",
         "op.authz.codeLifetime: \"601\": must be an integer from 10 to 600 seconds"},
        {"op.authz.codeLifetime = 9", "op.authz.codeLifetime: \"9\": must be"},
        {"op.authz.codeLifetime = 1e2", "op.authz.codeLifetime: \"1e2\": must be"},
        {"op.authz.allowPlainPKCE = yes",
         "op.authz.allowPlainPKCE: \"yes\": must be true or false"},
        {"op.authz.alwaysPromptForAuth = TRUE",
         "op.authz.alwaysPromptForAuth: \"TRUE\": must be true or false"},
        {"op.authz.alwaysPromptForConsent = 1",
         "op.authz.alwaysPromptForConsent: \"1\": must be true or false"},
        {"op.authz.includeClientInfoInAuthPrompt = on",
         "op.authz.includeClientInfoInAuthPrompt: \"on\": must be true or false"},
        /* Stricter than RFC 6749 §5.2 (which allows %x20-21 / %x23-5B / %x5D-7E). */
        {"op.authz.customErrorCodes = ok, bad-code",
         "op.authz.customErrorCodes: \"ok, bad-code\": \"bad-code\" is not an error code "
         "(1 to 64 of A-Z a-z 0-9 _)"},
        {"op.authz.customErrorCodes = a\"b", "\"a\"b\" is not an error code"},
        {"op.authz.customErrorCodes = caf\xc3\xa9", "is not an error code"},
        {"op.authz.customErrorCodes = "
         "a1234567890123456789012345678901234567890123456789012345678901234",
         "is not an error code"},
        {"op.authz.customErrorCodes = x y x", "\"x\" is listed twice"},
        {"op.idToken.defaultLifetime = 59",
         "op.idToken.defaultLifetime: \"59\": must be an integer from 60 to 86400 seconds"},
        {"sessionStore.maxLifetime = 0",
         "sessionStore.maxLifetime: \"0\": must be -1 (unlimited) or an integer from 1 to "
         "525600 minutes"},
        {"sessionStore.authLifetime = -2", "sessionStore.authLifetime: \"-2\": must be -1 "
                                           "(unlimited) or"},
        {"sessionStore.maxIdleTime = 525601", "sessionStore.maxIdleTime: \"525601\": must be"},
        {"sessionStore.quotaPerSubject = 0",
         "sessionStore.quotaPerSubject: \"0\": must be an integer from 1 to 25"},
        {"sessionStore.quotaPerSubject = 26", "sessionStore.quotaPerSubject: \"26\": must be"},
        {"authzStore.accessToken.defaultLifetime = 0",
         "authzStore.accessToken.defaultLifetime: \"0\": must be an integer from 1 to 86400 "
         "seconds"},
        {"authzStore.accessToken.defaultEncoding = self_contained",
         "authzStore.accessToken.defaultEncoding: \"self_contained\": must be SELF_CONTAINED or "
         "IDENTIFIER"},
        /* RFC 9068 §2.1: asymmetric signatures; HS256 and none are refused. */
        {"authzStore.accessToken.jwsAlg = HS256",
         "authzStore.accessToken.jwsAlg: \"HS256\": must be RS256, PS256, ES256 or EdDSA"},
        {"authzStore.accessToken.jwsAlg = none", "authzStore.accessToken.jwsAlg: \"none\""},
        {"authzStore.accessToken.jwsAlg = RS256,ES256", "must be RS256, PS256, ES256 or EdDSA"},
        {"authzStore.refreshToken.defaultLifetime = 59",
         "authzStore.refreshToken.defaultLifetime: \"59\": must be 0 (no expiry) or an integer "
         "from 60 to 31536000 seconds"},
        {"authzStore.refreshToken.defaultMaxIdle = -1",
         "authzStore.refreshToken.defaultMaxIdle: \"-1\": must be 0 (none) or an integer from 60"},
        {"authzStore.refreshToken.rotate = maybe",
         "authzStore.refreshToken.rotate: \"maybe\": must be true or false"},
        {"claimsSource.usersFile =", "claimsSource.usersFile: \"\": must not be empty"},
        {"spi.plugins = timer_claims.so",
         "spi.plugins: \"timer_claims.so\": \"timer_claims.so\" must be the path of a .so file, "
         "with a '/'"},
        {"spi.plugins = ./a.dll", "\"./a.dll\" must be the path of a .so file"},
        {"spi.plugins = ./a.so, ./a.so", "\"./a.so\" is listed twice"},
        {"spi.callTimeout = 9", "spi.callTimeout: \"9\": must be an integer from 10 to 60000 "
                                "milliseconds"},
        {"spi.callTimeout = 60001", "spi.callTimeout: \"60001\": must be"},
    };
    for (size_t i = 0; i < OP_NELEMS(cases); i++) {
        const char *d = load_err(with(cases[i].line), NULL);
        OP_CHECK_HAS(d, SRC ":1: ");
        OP_CHECK_HAS(d, cases[i].want);
    }
}

/* The lists are bounded: at most OP_CONFIG_MAX_CUSTOM_ERRORS codes and
 * OP_CONFIG_MAX_PLUGINS plugins. */
static void test_front_channel_list_limits(void)
{
    char line[2048];
    size_t o = (size_t)snprintf(line, sizeof(line), "op.authz.customErrorCodes =");
    for (int i = 0; i < OP_CONFIG_MAX_CUSTOM_ERRORS; i++)
        o += (size_t)snprintf(line + o, sizeof(line) - o, " e%d", i);
    op_config_t *cfg = load_ok(with(line), NULL);
    OP_CHECK_INT(cfg->n_authz_custom_errors, OP_CONFIG_MAX_CUSTOM_ERRORS);
    op_config_release(cfg);
    snprintf(line + o, sizeof(line) - o, " one_more");
    OP_CHECK_HAS(load_err(with(line), NULL), "too many error codes (at most 32)");

    o = (size_t)snprintf(line, sizeof(line), "spi.plugins =");
    for (int i = 0; i < OP_CONFIG_MAX_PLUGINS; i++)
        o += (size_t)snprintf(line + o, sizeof(line) - o, "%s./p%d.so", i ? "," : " ", i);
    cfg = load_ok(with(line), NULL);
    OP_CHECK_INT(cfg->n_spi_plugins, OP_CONFIG_MAX_PLUGINS);
    OP_CHECK_STR(cfg->spi_plugins[31], "./p31.so");
    op_config_release(cfg);
    snprintf(line + o, sizeof(line) - o, ",./more.so");
    OP_CHECK_HAS(load_err(with(line), NULL), "spi.plugins: \"");
    OP_CHECK_HAS(load_err(with(line), NULL), "...\": too many plugins (at most 32)");
}

/* Reference §2.6: sessionStore maxLifetime >= authLifetime >= maxIdleTime,
 * -1 (unlimited) counting as infinite. The message blames the property
 * set explicitly. */
static void test_session_timeouts_order(void)
{
    static const struct {
        const char *lines;
        const char *want; /* NULL: accepted */
    } cases[] = {
        {"sessionStore.maxLifetime = 100",
         SRC ":1: sessionStore.maxLifetime: \"100\": must be >= sessionStore.authLifetime (43200)"},
        {"sessionStore.authLifetime = 300000",
         SRC ":1: sessionStore.authLifetime: \"300000\": must be <= sessionStore.maxLifetime "
             "(259200)"},
        {"sessionStore.maxIdleTime = 50000",
         SRC ":1: sessionStore.maxIdleTime: \"50000\": must be <= sessionStore.authLifetime "
             "(43200)"},
        {"sessionStore.authLifetime = -1",
         SRC ":1: sessionStore.authLifetime: \"-1\": must be <= sessionStore.maxLifetime "
             "(259200)"},
        {"sessionStore.maxIdleTime = -1",
         SRC ":1: sessionStore.maxIdleTime: \"-1\": must be <= sessionStore.authLifetime "
             "(43200)"},
        {"sessionStore.maxLifetime = 1000\nsessionStore.authLifetime = -1",
         SRC ":1: sessionStore.maxLifetime: \"1000\": must be -1 (unlimited) as "
             "sessionStore.authLifetime is"},
        {"sessionStore.authLifetime = 10\nsessionStore.maxIdleTime = 20",
         SRC ":1: sessionStore.authLifetime: \"10\": must be >= sessionStore.maxIdleTime (20)"},
        {"sessionStore.maxLifetime = -1\nsessionStore.authLifetime = -1\n"
         "sessionStore.maxIdleTime = -1",
         NULL},
        {"sessionStore.maxLifetime = -1\nsessionStore.authLifetime = 100\n"
         "sessionStore.maxIdleTime = 100",
         NULL},
        {"sessionStore.maxLifetime = 5\nsessionStore.authLifetime = 5\n"
         "sessionStore.maxIdleTime = 5",
         NULL},
    };
    for (size_t i = 0; i < OP_NELEMS(cases); i++) {
        if (cases[i].want == NULL)
            op_config_release(load_ok(with(cases[i].lines), NULL));
        else
            OP_CHECK_STR(load_err(with(cases[i].lines), NULL), cases[i].want);
    }
    char *env[] = {"TESSERA_SESSION_STORE_MAX_LIFETIME=10", NULL};
    OP_CHECK_STR(load_err(with(NULL), env),
                 "environment variable TESSERA_SESSION_STORE_MAX_LIFETIME: "
                 "sessionStore.maxLifetime: \"10\": must be >= sessionStore.authLifetime (43200)");
}

/* The front-channel properties from the environment. */
static void test_front_channel_env(void)
{
    char *env[] = {"TESSERA_OP_AUTHZ_ALLOW_PLAIN_PKCE=true",
                   "TESSERA_OP_AUTHZ_CUSTOM_ERROR_CODES=a,b",
                   "TESSERA_OP_AUTHZ_INCLUDE_CLIENT_INFO_IN_AUTH_PROMPT=true",
                   "TESSERA_SESSION_STORE_QUOTA_PER_SUBJECT=7",
                   "TESSERA_AUTHZ_STORE_ACCESS_TOKEN_DEFAULT_ENCODING=IDENTIFIER",
                   "TESSERA_AUTHZ_STORE_ACCESS_TOKEN_JWS_ALG=PS256",
                   "TESSERA_AUTHZ_STORE_REFRESH_TOKEN_ROTATE=false",
                   "TESSERA_OP_ID_TOKEN_DEFAULT_LIFETIME=120",
                   "TESSERA_CLAIMS_SOURCE_USERS_FILE=users.json",
                   "TESSERA_SPI_PLUGINS=./p.so",
                   "TESSERA_SPI_CALL_TIMEOUT=10",
                   NULL};
    op_config_t *cfg =
        load_ok(with("spi.plugins = ./file.so\nsessionStore.quotaPerSubject = 3"), env);
    OP_CHECK(cfg->authz_allow_plain_pkce);
    OP_CHECK_INT(cfg->n_authz_custom_errors, 2);
    OP_CHECK(cfg->authz_client_info_in_auth_prompt);
    OP_CHECK_INT(cfg->session_quota, 7);
    OP_CHECK_INT(cfg->at_encoding, OP_AT_IDENTIFIER);
    OP_CHECK_INT(cfg->at_jws_alg, OP_JWS_PS256);
    OP_CHECK(!cfg->rt_rotate);
    OP_CHECK_INT(cfg->id_token_lifetime_s, 120);
    OP_CHECK_STR(cfg->claims_users_file, "users.json");
    OP_CHECK_INT(cfg->n_spi_plugins, 1);
    OP_CHECK_STR(cfg->spi_plugins[0], "./p.so");
    OP_CHECK_INT(cfg->spi_timeout_ms, 10);
    op_config_release(cfg);
}

/* plugin.<plugin name>.<key>: free-form, in file order, looked up by
 * plugin and key (case-sensitive). */
static void test_plugin_props(void)
{
    op_config_t *cfg = load_ok(with("plugin.timer-claims.delayMs = 10\n"
                                    "plugin.timer-claims.url = https://x.example/a?b=c d\n"
                                    "plugin.other-2.Key_1.sub-x =\n"
                                    "plugin.timer-claims.delayms = 20"),
                               NULL);
    OP_CHECK_INT(cfg->n_plugin_props, 4);
    OP_CHECK_STR(cfg->plugin_prop_names[0], "timer-claims.delayMs");
    OP_CHECK_STR(cfg->plugin_prop_values[0], "10");
    OP_CHECK_STR(cfg->plugin_prop_names[2], "other-2.Key_1.sub-x");
    OP_CHECK(cfg->plugin_prop_names[4] == NULL);
    OP_CHECK_STR(op_config_plugin_prop(cfg, "timer-claims", "delayMs"), "10");
    OP_CHECK_STR(op_config_plugin_prop(cfg, "timer-claims", "delayms"), "20");
    OP_CHECK_STR(op_config_plugin_prop(cfg, "timer-claims", "url"), "https://x.example/a?b=c d");
    OP_CHECK_STR(op_config_plugin_prop(cfg, "other-2", "Key_1.sub-x"), "");
    OP_CHECK(op_config_plugin_prop(cfg, "timer-claims", "nope") == NULL);
    OP_CHECK(op_config_plugin_prop(cfg, "timer", "claims.delayMs") == NULL);
    OP_CHECK(op_config_plugin_prop(cfg, "other-2.Key_1", "sub-x") == NULL);
    OP_CHECK(op_config_plugin_prop(cfg, "timer-claims", NULL) == NULL);
    OP_CHECK(op_config_plugin_prop(cfg, NULL, "delayMs") == NULL);
    OP_CHECK(op_config_plugin_prop(NULL, "timer-claims", "delayMs") == NULL);
    op_config_release(cfg);

    /* The most there may be. */
    static char text[64 * 1024];
    size_t o = 0;
    for (int i = 0; i < OP_CONFIG_MAX_PLUGIN_PROPS; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "plugin.p.k%d = %d\n", i, i);
    snprintf(text + o, sizeof(text) - o, "%s", with(NULL));
    cfg = load_ok(text, NULL);
    OP_CHECK_INT(cfg->n_plugin_props, OP_CONFIG_MAX_PLUGIN_PROPS);
    OP_CHECK_STR(op_config_plugin_prop(cfg, "p", "k255"), "255");
    op_config_release(cfg);
    snprintf(text + o, sizeof(text) - o, "plugin.q.x = 1\n%s", with(NULL));
    OP_CHECK_STR(load_err(text, NULL),
                 SRC ":257: plugin: too many plugin properties (at most 256)");
}

static void test_plugin_props_errors(void)
{
    static const struct {
        const char *line;
        const char *want;
    } cases[] = {
        {"plugin = x", SRC ":1: plugin: must be plugin.<plugin name>.<key>"},
        {"plugin.foo = 1", SRC ":1: plugin.foo: must be plugin.<plugin name>.<key>"},
        {"plugin.Foo.x = 1",
         SRC ":1: plugin.Foo.x: bad plugin name \"Foo\": use 1 to 32 of a-z 0-9 -"},
        {"plugin.foo_bar.x = 1", SRC ":1: plugin.foo_bar.x: bad plugin name \"foo_bar\""},
        {"plugin..x = 1", SRC ":1: plugin..x: bad plugin name \"\""},
        {"plugin.a23456789012345678901234567890123.x = 1", "bad plugin name"},
        {"plugin.foo. = 1", SRC ":1: plugin.foo.: bad key \"\": use 1 to 64 of A-Z a-z 0-9 . _ -"},
        {"plugin.foo.a/b = 1", SRC ":1: plugin.foo.a/b: bad key \"a/b\""},
        {"plugin.foo.k12345678901234567890123456789012345678901234567890123456789012345 = 1",
         "bad key"},
        {"plugin.a.k = 1\nplugin.a.k = 2",
         SRC ":2: plugin.a.k: repeated property (first set on line 1)"},
        {"plugins.a.b = 1", SRC ":1: unknown property plugins.a.b"},
    };
    for (size_t i = 0; i < OP_NELEMS(cases); i++)
        OP_CHECK_HAS(load_err(with(cases[i].line), NULL), cases[i].want);
    /* File only: a variable name cannot be mapped back to a name and a key. */
    char *env[] = {"TESSERA_PLUGIN_TIMER_CLAIMS_DELAY_MS=5", NULL};
    OP_CHECK_STR(load_err(with(NULL), env),
                 "environment variable TESSERA_PLUGIN_TIMER_CLAIMS_DELAY_MS: "
                 "plugin.<plugin name>.<key> properties can only be set in the file (a variable "
                 "cannot be mapped back to a name and a key)");
    char *bare[] = {"TESSERA_PLUGIN=5", NULL};
    OP_CHECK_HAS(load_err(with(NULL), bare), "environment variable TESSERA_PLUGIN: plugin.<plugin "
                                             "name>.<key> properties can only be set in the file");
}

/* examples/tessera.properties is the reference: every property of the
 * table has a line there (set, or commented out), and so has the plugin
 * namespace. */
static void test_example_documents_every_property(void)
{
    op_arena_t *a = op_arena_new(OP_CONFIG_MAX_BYTES * 2);
    OP_CHECK(a != NULL);
    char *text = NULL;
    size_t len = 0;
    op_err_t err;
    OP_CHECK_INT(op_config_read_file(a, "examples/tessera.properties", OP_CONFIG_MAX_BYTES, &text,
                                     &len, &err),
                 OP_OK);
    for (size_t i = 0; i < op_config_props_n; i++) {
        const op_config_prop_t *p = &op_config_props[i];
        const char *set =
            op_arena_printf(a, "\n%s%s", p->name, p->flags & OP_CONFIG_F_PLUGIN ? "." : " =");
        const char *commented = op_arena_printf(a, "\n#%s", set + 1);
        OP_CHECK(set != NULL && commented != NULL);
        if (strstr(text, set) == NULL && strstr(text, commented) == NULL)
            fprintf(stderr, "%s is not documented\n", p->name);
        OP_CHECK(strstr(text, set) != NULL || strstr(text, commented) != NULL);
    }
    op_arena_free(a);
}

static const op_test_case_t cases[] = {
    {"example_loads", test_example_loads},
    {"defaults_no_warnings", test_defaults_no_warnings},
    {"good_values", test_good_values},
    {"bad_values", test_bad_values},
    {"secrets_masked", test_secrets_masked},
    {"long_value_cut", test_long_value_cut},
    {"unknown_key", test_unknown_key},
    {"repeated_key", test_repeated_key},
    {"syntax", test_syntax},
    {"missing_required", test_missing_required},
    {"env_name_mapping", test_env_name_mapping},
    {"env_override_wins", test_env_override_wins},
    {"env_errors", test_env_errors},
    {"redis_address", test_redis_address},
    {"backoff_order", test_backoff_order},
    {"labelled_tokens", test_labelled_tokens},
    {"demo_token_warning", test_demo_token_warning},
    {"load_file_errors", test_load_file_errors},
    {"front_channel_values", test_front_channel_values},
    {"front_channel_bad_values", test_front_channel_bad_values},
    {"front_channel_list_limits", test_front_channel_list_limits},
    {"session_timeouts_order", test_session_timeouts_order},
    {"front_channel_env", test_front_channel_env},
    {"plugin_props", test_plugin_props},
    {"plugin_props_errors", test_plugin_props_errors},
    {"example_documents_every_property", test_example_documents_every_property},
};

OP_TEST_MAIN(cases)
