/*
 * core/config/op_config_collect.c - pass 1 of loading: the properties file and the
 * TESSERA_* environment variables into entries (see core/config/op_config.h for
 * the syntax).
 *
 * Each entry is one property, one labelled value or one plugin property,
 * with where it came from; an environment variable replaces the file's
 * entry of the same name. Nothing is parsed into the config here: a
 * repeated key, an unknown name, a bad label or a byte that has no place
 * in a config file is refused, with the line or the variable named.
 * Everything is copied into the work arena.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/config/op_config_int.h"

/*
 * 1 to max characters, each a letter (a lower-case one when lower), a
 * digit or one of extra: labels, plugin names and plugin keys.
 */
static bool op_config_collect_word(const char *s, size_t n, size_t max, bool lower,
                                   const char *extra)
{
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool ok = op_config_is_alnum(ch) ? !(lower && ch >= 'A' && ch <= 'Z')
                                         : ch != '\0' && strchr(extra, ch) != NULL;
        if (!ok)
            return false;
    }
    return true;
}

/* Labels of repeatable properties: [A-Za-z0-9_-]{1,32}. */
static bool op_config_collect_label_ok(const char *s, size_t n)
{
    return op_config_collect_word(s, n, OP_CONFIG_LABEL_MAX, false, "_-");
}

/*
 * Do two labels of p name the same value? Plugin properties (file only)
 * are compared as written; other labels when their environment forms are
 * the same, as the environment could not tell them apart.
 */
static bool op_config_collect_same(const op_config_prop_t *p, const char *a, const char *b)
{
    char ea[OP_CONFIG_ENV_MAX], eb[OP_CONFIG_ENV_MAX];
    if (a == NULL || b == NULL)
        return a == b;
    if (p->flags & OP_CONFIG_F_PLUGIN)
        return strcmp(a, b) == 0;
    return op_config_env_name(a, ea, sizeof(ea)) && op_config_env_name(b, eb, sizeof(eb)) &&
           strcmp(ea, eb) == 0;
}

/* Levenshtein distance, ignoring ASCII case; a and b at most
 * OP_CONFIG_ENV_MAX bytes. */
static size_t op_config_collect_distance(const char *a, size_t na, const char *b, size_t nb)
{
    size_t row[OP_CONFIG_ENV_MAX + 1];
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t cost = strncasecmp(a + i - 1, b + j - 1, 1) != 0;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

/*
 * The one known name close to key (property names, or their variables
 * when env), into out; false when none is, or when two are equally close.
 * The plugin namespace is never suggested: it is not a property itself.
 */
static bool op_config_collect_suggest(const char *key, size_t klen, bool env, char *out,
                                      size_t size)
{
    size_t best = SIZE_MAX;
    bool tie = false;
    if (klen > OP_CONFIG_NAME_MAX)
        return false;
    for (size_t i = 0; i < op_config_props_n; i++) {
        const op_config_prop_t *p = &op_config_props[i];
        char cand[OP_CONFIG_ENV_MAX];
        if (p->flags & OP_CONFIG_F_PLUGIN)
            continue;
        if (env)
            op_config_env_name(p->name, cand, sizeof(cand));
        else
            snprintf(cand, sizeof(cand), "%s", p->name);
        size_t n = strlen(cand);
        size_t d = op_config_collect_distance(key, klen, cand, n);
        if (d > 2 && d * 4 > n)
            continue;
        if (d < best) {
            best = d;
            tie = false;
            snprintf(out, size, "%s", cand);
        } else if (d == best) {
            tie = true;
        }
    }
    return best != SIZE_MAX && !tie;
}

/*
 * Record a value for (p, label); an environment entry (env != NULL)
 * replaces a file entry. Copies everything into the work arena.
 */
static int op_config_collect_put(op_config_ctx_t *c, int line, const char *env,
                                 const op_config_prop_t *p, const char *label, size_t llen,
                                 const char *v, size_t vlen)
{
    const char *l = label != NULL ? op_arena_strndup(c->tmp, label, llen) : NULL;
    if (label != NULL && l == NULL)
        return OP_ERR(c->err, OP_ETOOBIG, "configuration too large");
    size_t nlabels = 0;
    for (size_t i = 0; i < c->n; i++) {
        op_config_entry_t *e = &c->entries[i];
        if (e->prop != p)
            continue;
        nlabels += e->label != NULL;
        if (!op_config_collect_same(p, e->label, l))
            continue;
        if (env == NULL)
            return op_config_fail_at(c, line, NULL,
                                     "%s%s%s: repeated property (first set on line %d)", p->name,
                                     l ? "." : "", l ? l : "", e->line);
        if (e->env != NULL)
            return op_config_fail_at(c, 0, env, "%s%s%s: also set by %s", p->name, l ? "." : "",
                                     l ? l : "", e->env);
        e->value = op_arena_strndup(c->tmp, v, vlen);
        e->len = vlen;
        e->line = 0;
        e->env = op_arena_strdup(c->tmp, env);
        return e->value != NULL && e->env != NULL
                   ? OP_OK
                   : OP_ERR(c->err, OP_ETOOBIG, "configuration too large");
    }
    bool plugin = (p->flags & OP_CONFIG_F_PLUGIN) != 0;
    size_t max = plugin ? OP_CONFIG_MAX_PLUGIN_PROPS : OP_CONFIG_MAX_LABELS;
    if (l != NULL && nlabels >= max)
        return op_config_fail_at(c, line, env, "%s: too many %s (at most %zu)", p->name,
                                 plugin ? "plugin properties" : "labelled values", max);
    if (c->n == OP_CONFIG_MAX_ENTRIES)
        return op_config_fail_at(c, line, env, "too many properties");
    op_config_entry_t *e = &c->entries[c->n];
    e->prop = p;
    e->line = line;
    e->len = vlen;
    e->label = l;
    e->value = op_arena_strndup(c->tmp, v, vlen);
    e->env = env != NULL ? op_arena_strdup(c->tmp, env) : NULL;
    if (e->value == NULL || (env != NULL && e->env == NULL))
        return OP_ERR(c->err, OP_ETOOBIG, "configuration too large");
    c->n++;
    return OP_OK;
}

/* The "<plugin name>.<key>" of a plugin property p.<s[0..n)>: name
 * [a-z0-9-]{1,32}, key [A-Za-z0-9._-]{1,64}. */
static int op_config_collect_plugin_key(op_config_ctx_t *c, int line, const op_config_prop_t *p,
                                        const char *s, size_t n)
{
    const char *dot = memchr(s, '.', n);
    int show = op_config_show_len(s, n);
    if (dot == NULL)
        return op_config_fail_at(c, line, NULL, "%s.%.*s: must be %s.<plugin name>.<key>", p->name,
                                 show, s, p->name);
    size_t nl = (size_t)(dot - s);
    if (!op_config_collect_word(s, nl, OP_CONFIG_PLUGIN_NAME_MAX, true, "-"))
        return op_config_fail_at(
            c, line, NULL, "%s.%.*s: bad plugin name \"%.*s\": use 1 to %d of a-z 0-9 -", p->name,
            show, s, op_config_show_len(s, nl), s, OP_CONFIG_PLUGIN_NAME_MAX);
    if (!op_config_collect_word(dot + 1, n - nl - 1, OP_CONFIG_PLUGIN_KEY_MAX, false, "._-"))
        return op_config_fail_at(
            c, line, NULL, "%s.%.*s: bad key \"%.*s\": use 1 to %d of A-Z a-z 0-9 . _ -", p->name,
            show, s, op_config_show_len(dot + 1, n - nl - 1), dot + 1, OP_CONFIG_PLUGIN_KEY_MAX);
    return OP_OK;
}

/* The property named by a file key: exact, <name>.<label> for the
 * repeatable ones, <name>.<plugin name>.<key> for the plugin namespace. */
static int op_config_collect_key(op_config_ctx_t *c, int line, const char *key, size_t klen,
                                 const char *v, size_t vlen)
{
    for (size_t i = 0; i < op_config_props_n; i++) {
        const op_config_prop_t *p = &op_config_props[i];
        bool plugin = (p->flags & OP_CONFIG_F_PLUGIN) != 0;
        size_t nl = strlen(p->name);
        if (klen < nl || memcmp(key, p->name, nl) != 0)
            continue;
        if (klen == nl && plugin)
            return op_config_fail_at(c, line, NULL, "%s: must be %s.<plugin name>.<key>", p->name,
                                     p->name);
        if (klen == nl)
            return op_config_collect_put(c, line, NULL, p, NULL, 0, v, vlen);
        if (!(p->flags & (OP_CONFIG_F_LABELS | OP_CONFIG_F_PLUGIN)) || key[nl] != '.')
            continue;
        const char *label = key + nl + 1;
        size_t llen = klen - nl - 1;
        int rc = OP_OK;
        if (plugin)
            rc = op_config_collect_plugin_key(c, line, p, label, llen);
        else if (!op_config_collect_label_ok(label, llen))
            rc = op_config_fail_at(
                c, line, NULL, "%s: bad label \"%.*s\": use 1 to %d of A-Z a-z 0-9 _ -", p->name,
                op_config_show_len(label, llen), label, OP_CONFIG_LABEL_MAX);
        if (rc != OP_OK)
            return rc;
        return op_config_collect_put(c, line, NULL, p, label, llen, v, vlen);
    }
    char hint[OP_CONFIG_ENV_MAX];
    bool close = op_config_collect_suggest(key, klen, false, hint, sizeof(hint));
    return op_config_fail_at(c, line, NULL, "unknown property %.*s%s%s%s",
                             op_config_show_len(key, klen), key, close ? "; did you mean " : "",
                             close ? hint : "", close ? "?" : "");
}

/* One line of the file, s..e without the '\n'. */
static int op_config_collect_line(op_config_ctx_t *c, int line, const char *s, const char *e)
{
    if (e > s && e[-1] == '\r')
        e--;
    for (const char *q = s; q < e; q++) {
        unsigned char ch = (unsigned char)*q;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return op_config_fail_at(c, line, NULL,
                                     "control character 0x%02x (only tabs are allowed)", ch);
    }
    while (s < e && op_config_is_blank(*s))
        s++;
    if (s == e || *s == '#' || *s == '!')
        return OP_OK;
    if (memchr(s, '\\', (size_t)(e - s)) != NULL)
        return op_config_fail_at(c, line, NULL,
                                 "backslash escapes and line continuations "
                                 "are not supported: write the value as is, on one line");
    const char *key = s;
    while (s < e && !op_config_is_blank(*s) && *s != '=' && *s != ':')
        s++;
    size_t klen = (size_t)(s - key);
    if (klen == 0)
        return op_config_fail_at(c, line, NULL, "missing property name before '%c'", *s);
    while (s < e && op_config_is_blank(*s))
        s++;
    if (s < e && (*s == '=' || *s == ':'))
        s++;
    while (s < e && op_config_is_blank(*s))
        s++;
    while (e > s && op_config_is_blank(e[-1]))
        e--;
    return op_config_collect_key(c, line, key, klen, s, (size_t)(e - s));
}

int op_config_collect_file(op_config_ctx_t *c, const char *text, size_t len)
{
    if (len > OP_CONFIG_MAX_BYTES)
        return OP_ERR(c->err, OP_ETOOBIG, "%s: too large (at most %d bytes)", c->source,
                      OP_CONFIG_MAX_BYTES);
    if (len > 0 && !op_json_utf8_valid(text, len))
        return op_config_fail_at(c, 0, NULL, "not UTF-8 text (or has a NUL byte)");
    const char *end = text + len;
    int line = 0;
    for (const char *s = text; s < end;) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl != NULL ? nl : end;
        int rc = op_config_collect_line(c, ++line, s, e);
        if (rc != OP_OK)
            return rc;
        s = nl != NULL ? nl + 1 : end;
    }
    return OP_OK;
}

/* The property of a TESSERA_* variable, and its label (for the plugin
 * namespace, whatever follows its prefix). */
static const op_config_prop_t *op_config_collect_env_prop(const char *name, const char **label)
{
    size_t nlen = strlen(name);
    *label = NULL;
    for (size_t i = 0; i < op_config_props_n; i++) {
        const op_config_prop_t *p = &op_config_props[i];
        char pn[OP_CONFIG_ENV_MAX];
        op_config_env_name(p->name, pn, sizeof(pn));
        size_t pl = strlen(pn);
        if (strcmp(name, pn) == 0)
            return p;
        if (nlen <= pl + 1 || memcmp(name, pn, pl) != 0 || name[pl] != '_')
            continue;
        if ((p->flags & OP_CONFIG_F_PLUGIN) ||
            ((p->flags & OP_CONFIG_F_LABELS) &&
             op_config_collect_label_ok(name + pl + 1, nlen - pl - 1))) {
            *label = name + pl + 1;
            return p;
        }
    }
    return NULL;
}

int op_config_collect_env(op_config_ctx_t *c, char *const *envp)
{
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        const char *kv = envp[i];
        if (!op_str_has_prefix(kv, OP_CONFIG_ENV_PREFIX))
            continue;
        const char *eq = strchr(kv, '=');
        size_t nlen = eq != NULL ? (size_t)(eq - kv) : strlen(kv);
        char name[OP_CONFIG_ENV_MAX];
        snprintf(name, sizeof(name), "%.*s", (int)(nlen < sizeof(name) ? nlen : sizeof(name) - 1),
                 kv);
        if (eq == NULL)
            return op_config_fail_at(c, 0, name, "no '=' in the environment entry");
        const char *v = eq + 1;
        size_t vlen = strlen(v);
        bool ok = vlen <= OP_CONFIG_MAX_BYTES && op_json_utf8_valid(v, vlen);
        for (size_t j = 0; ok && j < vlen; j++)
            ok = !(((unsigned char)v[j] < 0x20 && v[j] != '\t') || v[j] == 0x7f);
        if (!ok)
            return op_config_fail_at(c, 0, name,
                                     "the value is too long, not UTF-8 or has control characters");
        const char *label = NULL;
        const op_config_prop_t *p =
            nlen < sizeof(name) ? op_config_collect_env_prop(name, &label) : NULL;
        if (p == NULL) {
            char hint[OP_CONFIG_ENV_MAX];
            bool close = op_config_collect_suggest(name, strlen(name), true, hint, sizeof(hint));
            return op_config_fail_at(c, 0, name, "unknown setting (no property maps to it)%s%s%s",
                                     close ? "; did you mean " : "", close ? hint : "",
                                     close ? "?" : "");
        }
        if (p->flags & OP_CONFIG_F_PLUGIN)
            return op_config_fail_at(c, 0, name,
                                     "%s.<plugin name>.<key> properties can only be set in the "
                                     "file (a variable cannot be mapped back to a name and a key)",
                                     p->name);
        int rc =
            op_config_collect_put(c, 0, name, p, label, label != NULL ? strlen(label) : 0, v, vlen);
        if (rc != OP_OK)
            return rc;
    }
    return OP_OK;
}
