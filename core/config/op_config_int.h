/*
 * core/config/op_config_int.h - private to the files of the configuration; no
 * other file includes it.
 *
 *   op_config.c          the loading passes, errors, checks across
 *                        properties, warnings, refcounting
 *   op_config_collect.c  pass 1: the file and environment parser
 *   op_config_props.c    pass 2: the property table and its setters
 *   op_config_url.c      URL and IP literal checks (also used by clients)
 */
#ifndef OP_CONFIG_INT_H
#define OP_CONFIG_INT_H

#include "core/config/op_config.h"

#define OP_CONFIG_ENV_PREFIX      "TESSERA_"
#define OP_CONFIG_NAME_MAX        128 /* longest key considered */
#define OP_CONFIG_ENV_MAX         192 /* longest variable name */
#define OP_CONFIG_WHY_MAX         160
#define OP_CONFIG_LABEL_MAX       32
#define OP_CONFIG_PLUGIN_NAME_MAX 32
#define OP_CONFIG_PLUGIN_KEY_MAX  64
#define OP_CONFIG_URL_MAX         2048
#define OP_CONFIG_MAX_ENTRIES     512 /* collected values, labels included */

/* The refcounted object behind an op_config_t (pub first, so the two
 * pointers are the same). */
typedef struct op_config_box {
    op_config_t pub;
    int refs;
    op_arena_t *arena;
    char *redis_password; /* = pub.storage_redis_password, wiped at free */
    const char **warnings;
} op_config_box_t;

typedef struct op_config_prop op_config_prop_t;

/* A collected value: from the file (line > 0) or the environment. */
typedef struct op_config_entry {
    const op_config_prop_t *prop;
    const char *label; /* labelled value or plugin "<name>.<key>", else NULL */
    const char *value; /* NUL-terminated */
    size_t len;
    int line;        /* file line; 0 when from the environment */
    const char *env; /* the variable name, NULL when from the file */
} op_config_entry_t;

/* One list of token digests being built. */
typedef struct op_config_tokens {
    uint8_t (*hashes)[OP_CONFIG_TOKEN_HASH_BYTES];
    const char **labels;
    size_t n;
} op_config_tokens_t;

/* The state of one load. Everything in tmp is freed at its end; what the
 * config keeps is allocated in box->arena. */
typedef struct op_config_ctx {
    op_config_box_t *box;
    op_config_t *cfg;
    op_arena_t *tmp;
    const char *source;
    op_config_entry_t *entries; /* OP_CONFIG_MAX_ENTRIES, in tmp */
    size_t n;
    op_config_tokens_t api;
    op_config_tokens_t monitor;
    const char **plugin_names; /* plugin properties, NULL-terminated */
    const char **plugin_values;
    size_t n_plugin;
    char why[OP_CONFIG_WHY_MAX];
    bool too_big; /* a setter's allocation passed the arena's cap */
    op_err_t *err;
} op_config_ctx_t;

/* Parse v[0..len) (NUL-terminated) into cfg. false with c->why set. */
typedef bool (*op_config_set_fn)(op_config_ctx_t *c, const op_config_prop_t *p, const char *label,
                                 const char *v, size_t len);

enum {
    OP_CONFIG_F_REQUIRED = 0x1, /* no default: must be set */
    OP_CONFIG_F_SECRET = 0x2,   /* value shown as "***" */
    OP_CONFIG_F_LABELS = 0x4,   /* may repeat as <name>.<label> */
    OP_CONFIG_F_EMPTY_OK = 0x8, /* "" is a valid value */
    OP_CONFIG_F_ALT = 0x10,     /* integers: alt is accepted besides [min, max] */
    OP_CONFIG_F_PLUGIN = 0x20   /* only as <name>.<plugin name>.<key>, file only */
};

typedef enum { OP_CONFIG_W_INT = 0, OP_CONFIG_W_SIZE, OP_CONFIG_W_U64 } op_config_width_t;

struct op_config_prop {
    const char *name;
    const char *def; /* default, as text; NULL: none */
    unsigned flags;
    op_config_set_fn set;
    size_t off;           /* destination field in op_config_t */
    int64_t min, max;     /* integers: accepted range */
    int64_t alt;          /* integers with OP_CONFIG_F_ALT: one more value */
    const char *alt_what; /* what alt means ("unlimited") */
    op_config_width_t width;
    const char *unit;         /* integers: shown in messages */
    const char *const *words; /* enumerations: index = value, NULL-terminated */
};

static inline bool op_config_is_alnum(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static inline bool op_config_is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* ---- op_config.c --------------------------------------------------------- */

/* Record why a value is bad; returns false for `return op_config_why()`. */
bool op_config_why(op_config_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A setter's allocation passed the arena's cap: sets c->too_big, returns
 * false. */
bool op_config_too_big(op_config_ctx_t *c);

/* Fail with "<where>: <message>", where is "file:line", "environment
 * variable NAME" or the source. Returns OP_EINVAL (OP_ETOOBIG after
 * op_config_too_big). */
int op_config_fail_at(op_config_ctx_t *c, int line, const char *env, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "<where>: <property>: "<value>": <why>", the value masked for secrets
 * and cut when long. e is NULL for a default. */
int op_config_bad_value(op_config_ctx_t *c, const op_config_entry_t *e, const op_config_prop_t *p,
                        const char *label, const char *v, size_t len);

/* ---- op_config_collect.c: pass 1 ----------------------------------------- */

/* The lines of the file text into c->entries; errors name the line. */
int op_config_collect_file(op_config_ctx_t *c, const char *text, size_t len);

/* The TESSERA_* variables of envp into c->entries, replacing the file's
 * value of the same property. */
int op_config_collect_env(op_config_ctx_t *c, char *const *envp);

/* ---- op_config_props.c: the properties ----------------------------------- */

/* Every property, in the order of examples/tessera.properties. */
extern const op_config_prop_t op_config_props[];
extern const size_t op_config_props_n;

/* The property of that exact name, NULL when none. */
const op_config_prop_t *op_config_props_named(const char *name);

/* ---- op_config_url.c ----------------------------------------------------- */

/* Parse the IP literal s[0..n) of family af (AF_INET, AF_INET6) into out
 * (4 or 16 bytes), without a name lookup. */
bool op_config_url_ip_parse(const char *s, size_t n, int af, void *out);

#endif
