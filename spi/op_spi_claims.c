/*
 * spi/op_spi_claims.c - asking the claims sources and merging their
 * answers (op_spi_claims_get), and the start-up checks of what they
 * support.
 *
 * One lookup is a "run":
 *
 *   op_spi_claims_get -> check the query -> route each claim name to the
 *       one source that supports it ("*" goes to every source) -> one call
 *       token per source asked -> each source's get()
 *   host->complete -> reaper -> op_spi_claims_on_done: merge the answer
 *       (keeping only the members asked for), or settle the run on the
 *       first error; after the last token, answer OP_OK or OP_ENOTFOUND
 *   op_call (core) -> the requester's callback, exactly once, from the
 *       loop; its deadline answers OP_ETIMEDOUT first when a source is late
 *
 * A run is freed when three things are over: every token came back (late
 * ones too), the run answered its op_call, and the callback ran.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spi/op_spi_int.h"

#define OP_SPI_CLAIMS_RUN_ARENA_MAX (16u << 20)

struct op_spi_claims_run {
    op_spi_t *spi; /* NULL once op_spi_loader_close detached the run */
    op_arena_t *arena;
    op_call_t *call; /* the requester's side; valid until answered */
    op_spi_claims_cb cb;
    void *arg;
    const char *req_id;
    uint64_t deadline_ms;
    op_spi_json_t *merged;
    op_spi_json_t *claims_data; /* the query's, copied (NULL: none) */
    size_t nslots;              /* sources asked */
    const char **names;         /* per slot: the source's name */
    op_spi_call_t **calls;      /* per slot: the token, NULL once back */
    size_t pending;
    int refs; /* pending tokens + the answer + the callback */
    bool answered;
    bool found; /* some source knows the subject */
    int status;
    op_err_t err;
    op_list_t link; /* on spi->runs while spi is set */
};

/* ---- names and patterns -------------------------------------------------- */

/* Length of a claim name without its language tag ("name#de" -> 4). */
static size_t op_spi_claims_base_len(const char *name)
{
    const char *hash = strchr(name, '#');
    return hash != NULL ? (size_t)(hash - name) : strlen(name);
}

/* Does pattern (exact, "prefix*" or "*") cover name[0..len)? */
static bool op_spi_claims_match(const char *pattern, const char *name, size_t len)
{
    size_t pl = strlen(pattern);
    if (pattern[pl - 1] == '*')
        return len >= pl - 1 && memcmp(name, pattern, pl - 1) == 0;
    return len == pl && memcmp(name, pattern, pl) == 0;
}

/* Can some claim name be covered by both patterns? */
static bool op_spi_claims_overlap(const char *p, const char *q)
{
    size_t pl = strlen(p), ql = strlen(q);
    bool pw = p[pl - 1] == '*', qw = q[ql - 1] == '*';
    if (pw && qw)
        return memcmp(p, q, (pl < ql ? pl : ql) - 1) == 0;
    if (pw)
        return op_spi_claims_match(p, q, ql);
    return op_spi_claims_match(q, p, pl);
}

/* Text bytes without ASCII controls, valid UTF-8, 1..max bytes. */
static bool op_spi_claims_text_ok(const char *s, size_t max)
{
    if (s == NULL)
        return false;
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max || !op_json_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    }
    return true;
}

/* A supported-claims entry: text without '#', '*' only at its end. */
static bool op_spi_claims_pattern_ok(const char *s)
{
    if (!op_spi_claims_text_ok(s, OP_SPI_CLAIMS_MAX_LEN) || strchr(s, '#') != NULL)
        return false;
    const char *star = strchr(s, '*');
    return star == NULL || star[1] == '\0';
}

int op_spi_claims_add_source(op_spi_config_t *p, op_err_t *err)
{
    op_spi_t *spi = p->spi;
    const char *const *list = p->desc->claims->supported_claims(p->data);
    size_t n = 0;
    while (list != NULL && list[n] != NULL) {
        if (n == OP_SPI_MAX_PATTERNS)
            return OP_ERR(err, OP_EINVAL, "plugin %s supports more than %d claim names", p->name,
                          OP_SPI_MAX_PATTERNS);
        if (!op_spi_claims_pattern_ok(list[n]))
            return OP_ERR(err, OP_EINVAL,
                          "plugin %s: supported claim #%zu is not a claim name, a \"prefix*\" "
                          "pattern or \"*\"",
                          p->name, n);
        n++;
    }
    if (spi->n_patterns + n > OP_SPI_MAX_PATTERNS_ALL)
        return OP_ERR(err, OP_EINVAL, "the claims sources support more than %d names together",
                      OP_SPI_MAX_PATTERNS_ALL);
    const char **copies = op_arena_calloc(spi->arena, n + 1, sizeof(*copies));
    for (size_t i = 0; copies != NULL && i < n; i++) {
        if ((copies[i] = op_arena_strdup(spi->arena, list[i])) == NULL)
            copies = NULL;
    }
    if (copies == NULL)
        return OP_ERR(err, OP_ETOOBIG, "the claims sources' names are too large");
    p->patterns = copies;
    p->n_patterns = n;
    spi->n_patterns += n;
    return OP_OK;
}

static bool op_spi_claims_is_source(const op_spi_config_t *p)
{
    return (p->desc->kinds & OP_SPI_KIND_CLAIMS) != 0;
}

int op_spi_claims_check_sources(const op_spi_t *spi, op_err_t *err)
{
    for (size_t i = 0; i < spi->n_plugins; i++) {
        const op_spi_config_t *a = spi->plugins[i];
        for (size_t j = i + 1; op_spi_claims_is_source(a) && j < spi->n_plugins; j++) {
            const op_spi_config_t *b = spi->plugins[j];
            for (size_t k = 0; op_spi_claims_is_source(b) && k < a->n_patterns; k++) {
                for (size_t l = 0; l < b->n_patterns; l++) {
                    if (op_spi_claims_overlap(a->patterns[k], b->patterns[l]))
                        return OP_ERR(err, OP_EINVAL,
                                      "claims sources %s (\"%.64s\") and %s (\"%.64s\") overlap: "
                                      "a claim name may have one source only",
                                      a->name, a->patterns[k], b->name, b->patterns[l]);
                }
            }
        }
    }
    return OP_OK;
}

/* The claims source covering name (by its untagged part), NULL if none. */
static op_spi_config_t *op_spi_claims_source_of(const op_spi_t *spi, const char *name)
{
    size_t len = op_spi_claims_base_len(name);
    for (size_t i = 0; i < spi->n_plugins; i++) {
        op_spi_config_t *p = spi->plugins[i];
        for (size_t k = 0; op_spi_claims_is_source(p) && k < p->n_patterns; k++) {
            if (op_spi_claims_match(p->patterns[k], name, len))
                return p;
        }
    }
    return NULL;
}

/* ---- the run --------------------------------------------------------------- */

static void op_spi_claims_unref(op_spi_claims_run_t *run)
{
    if (--run->refs > 0)
        return;
    op_list_remove(&run->link);
    op_arena_free(run->arena);
}

/* Settle the requester's outcome (once): status, and err when not OK. */
static void op_spi_claims_answer(op_spi_claims_run_t *run, int status, const op_err_t *err)
{
    run->answered = true;
    run->status = status;
    if (err != NULL)
        run->err = *err;
    op_call_complete(run->call, status, run, NULL);
    run->call = NULL;
    op_spi_claims_unref(run);
}

/* "a, b" of the sources still pending, into buf. */
static void op_spi_claims_pending_names(const op_spi_claims_run_t *run, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < run->nslots && used < size; i++) {
        if (run->calls[i] == NULL)
            continue;
        int n = snprintf(buf + used, size - used, "%s%s", used > 0 ? ", " : "", run->names[i]);
        used += n > 0 ? (size_t)n : 0;
    }
}

/* op_call's callback: hand the outcome to the requester. result is the
 * run when the run answered, NULL when op_call ended it (deadline or
 * op_spi_loader_close). */
static void op_spi_claims_deliver(int status, void *result, void *arg)
{
    op_spi_claims_run_t *run = arg;
    op_err_t err;
    if (result == NULL) {
        if (status == OP_ETIMEDOUT) {
            char names[128];
            op_spi_claims_pending_names(run, names, sizeof(names));
            OP_ERR(&err, OP_ETIMEDOUT, "claims source %s did not answer within %llu ms", names,
                   (unsigned long long)run->deadline_ms);
            op_log_warn(run->req_id, "spi: %s", err.description);
        } else {
            OP_ERR(&err, status, "the claims lookup was cancelled (server shutting down)");
        }
        run->cb(status, NULL, &err, run->arg);
    } else if (status == OP_OK) {
        run->cb(OP_OK, &run->merged->v, NULL, run->arg);
    } else {
        run->cb(status, NULL, &run->err, run->arg);
    }
    op_spi_claims_unref(run);
}

/* Was member key of an answer asked of this source? Asked by name, as the
 * untagged name of a language-tagged variant (OpenID Connect Core §5.2),
 * or through "*" when the source supports it. */
static bool op_spi_claims_asked(const op_spi_call_t *call, const char *key)
{
    size_t base = op_spi_claims_base_len(key);
    for (size_t i = 0; i < call->n_claims; i++) {
        const char *name = call->claims[i];
        if (strcmp(name, "*") == 0)
            continue;
        if (strcmp(name, key) == 0)
            return true;
        if (strchr(name, '#') == NULL && strlen(name) == base && memcmp(name, key, base) == 0)
            return true;
    }
    for (size_t k = 0; call->star && k < call->plugin->n_patterns; k++) {
        if (op_spi_claims_match(call->plugin->patterns[k], key, base))
            return true;
    }
    return false;
}

/*
 * Merge a source's object into the run's. Every member kept has an
 * untagged name covered by this source's patterns, and no two sources'
 * patterns overlap (checked at start-up), so names never collide across
 * sources; within one answer they are unique: no duplicate check needed.
 */
static int op_spi_claims_merge(op_spi_claims_run_t *run, const op_spi_call_t *call)
{
    const op_json_t *res = &call->result->v;
    for (size_t i = 0; i < res->u.obj.n; i++) {
        const char *key = res->u.obj.keys[i];
        if (!op_spi_claims_asked(call, key)) {
            op_log_debug(run->req_id,
                         "spi: claims source %s answered \"%.64s\", not asked: dropped",
                         call->plugin->name, key);
            continue;
        }
        int rc = op_spi_json_put(run->merged, key, res->u.obj.key_lens[i], res->u.obj.vals[i]);
        if (rc != OP_OK)
            return rc;
    }
    return OP_OK;
}

/* The error a source's failed answer becomes for the requester. */
static void op_spi_claims_source_error(const op_spi_call_t *call, op_err_t *err)
{
    const char *name = call->plugin->name;
    const char *desc = call->error_description;
    switch (call->status) {
    case OP_ERROR:
        OP_ERR_OAUTH(err, call->http_status == 503 ? OP_EUNAVAIL : OP_ERROR, call->error,
                     call->http_status, "%s", desc != NULL ? desc : "claims source error");
        break;
    case OP_ETIMEDOUT:
    case OP_EUNAVAIL:
        OP_ERR(err, OP_EUNAVAIL, "claims source %s is unavailable", name);
        break;
    case OP_ECANCELED:
        OP_ERR(err, OP_ECANCELED, "the claims lookup was cancelled (server shutting down)");
        break;
    default:
        OP_ERR(err, OP_ERROR, "claims source %s failed", name);
        break;
    }
    if (call->status != OP_ECANCELED)
        op_log_warn(call->req_id, "spi: claims source %s: %s (%s%s%s)", name,
                    op_err_status_name(call->status), call->status == OP_ERROR ? call->error : "",
                    call->status == OP_ERROR ? ": " : "", desc != NULL ? desc : "no description");
}

/* Take one source's answer into a run that has not answered yet. */
static void op_spi_claims_take(op_spi_claims_run_t *run, const op_spi_call_t *call)
{
    op_err_t err;
    op_err_clear(&err);
    if (call->status == OP_ENOTFOUND)
        return;
    if (call->status != OP_OK) {
        op_spi_claims_source_error(call, &err);
        op_spi_claims_answer(run, err.code, &err);
        return;
    }
    run->found = true;
    if (call->result == NULL)
        return;
    if (call->result->v.type != OP_JSON_OBJECT) {
        OP_ERR(&err, OP_ERROR, "claims source %s failed", call->plugin->name);
        op_log_warn(run->req_id, "spi: claims source %s answered with a non-object",
                    call->plugin->name);
        op_spi_claims_answer(run, OP_ERROR, &err);
    } else if (op_spi_claims_merge(run, call) != OP_OK) {
        OP_ERR(&err, OP_ETOOBIG, "the merged claims are too large");
        op_spi_claims_answer(run, OP_ETOOBIG, &err);
    }
}

void op_spi_claims_on_done(op_spi_call_t *call)
{
    op_spi_claims_run_t *run = call->run;
    run->calls[call->index] = NULL;
    run->pending--;
    if (!run->answered)
        op_spi_claims_take(run, call);
    if (!run->answered && run->pending == 0) {
        op_err_t err;
        OP_ERR(&err, OP_ENOTFOUND, "subject unknown to the claims sources");
        if (run->found)
            op_spi_claims_answer(run, OP_OK, NULL);
        else
            op_spi_claims_answer(run, OP_ENOTFOUND, &err);
    }
    op_spi_claims_unref(run);
}

bool op_spi_claims_ended(const op_spi_call_t *call)
{
    const op_spi_claims_run_t *run = call->run;
    return run->answered || op_call_ended(run->call);
}

void op_spi_claims_close(op_spi_t *spi)
{
    op_list_t *pos, *tmp;
    OP_LIST_FOREACH_SAFE (pos, tmp, &spi->runs) {
        op_spi_claims_run_t *run = OP_LIST_ENTRY(pos, op_spi_claims_run_t, link);
        op_list_remove(pos);
        run->spi = NULL;
        if (!run->answered)
            op_call_cancel(run->call);
    }
}

/* ---- starting a lookup ---------------------------------------------------- */

/* A list of strings from a query: n <= max entries of valid text. */
static bool op_spi_claims_list_ok(const char *const *list, size_t n, size_t max)
{
    if (n > max || (n > 0 && list == NULL))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!op_spi_claims_text_ok(list[i], OP_SPI_CLAIMS_MAX_LEN))
            return false;
    }
    return true;
}

/* Check a query; copy its claims_data into the run. */
static int op_spi_claims_check(op_spi_claims_run_t *run, const op_spi_claims_query_t *q,
                               op_err_t *err)
{
    if (q == NULL)
        return OP_ERR(err, OP_EINVAL, "no claims query");
    if (!op_spi_claims_text_ok(q->sub, OP_SPI_CLAIMS_MAX_LEN))
        return OP_ERR(err, OP_EINVAL, "claims query: bad or missing subject");
    if (!op_spi_claims_list_ok(q->claims, q->n_claims, OP_SPI_CLAIMS_MAX_NAMES))
        return OP_ERR(err, OP_EINVAL, "claims query: bad claim names (at most %d)",
                      OP_SPI_CLAIMS_MAX_NAMES);
    for (size_t i = 0; i < q->n_claims; i++) {
        if (op_spi_claims_base_len(q->claims[i]) == 0)
            return OP_ERR(err, OP_EINVAL, "claims query: claim name #%zu has no name", i);
    }
    if (!op_spi_claims_list_ok(q->claims_locales, q->n_claims_locales, OP_SPI_CLAIMS_MAX_LIST))
        return OP_ERR(err, OP_EINVAL, "claims query: bad claims_locales (at most %d)",
                      OP_SPI_CLAIMS_MAX_LIST);
    if (!op_spi_claims_list_ok(q->scope, q->n_scope, OP_SPI_CLAIMS_MAX_LIST))
        return OP_ERR(err, OP_EINVAL, "claims query: bad scope (at most %d values)",
                      OP_SPI_CLAIMS_MAX_LIST);
    if (q->client_id != NULL && !op_spi_claims_text_ok(q->client_id, OP_SPI_CLAIMS_MAX_LEN))
        return OP_ERR(err, OP_EINVAL, "claims query: bad client_id");
    if (q->transport != NULL && strcmp(q->transport, "userinfo") != 0 &&
        strcmp(q->transport, "id_token") != 0)
        return OP_ERR(err, OP_EINVAL, "claims query: transport must be userinfo or id_token");
    if (q->claims_data != NULL) {
        if (q->claims_data->type != OP_JSON_OBJECT)
            return OP_ERR(err, OP_EINVAL, "claims query: claims_data must be an object");
        int rc = op_spi_json_copy(run->arena, q->claims_data, 0, &run->claims_data);
        if (rc != OP_OK)
            return OP_ERR(err, rc, "claims query: claims_data too deep or too big");
    }
    return OP_OK;
}

/* Copies of n strings into a; NULL on OOM. */
static const char *const *op_spi_claims_strv(op_arena_t *a, const char *const *v, size_t n)
{
    const char **out = op_arena_calloc(a, n + 1, sizeof(*out));
    for (size_t i = 0; out != NULL && i < n; i++) {
        if ((out[i] = op_arena_strdup(a, v[i])) == NULL)
            return NULL;
    }
    return out;
}

/* The request one source gets, in its call's arena: the query with the
 * names routed to it. NULL on OOM. */
static const op_spi_claims_req_t *op_spi_claims_request(op_spi_call_t *call,
                                                        const op_spi_claims_run_t *run,
                                                        const op_spi_claims_query_t *q,
                                                        const char *const *names, size_t n)
{
    op_arena_t *a = call->arena;
    op_spi_claims_req_t *r = op_arena_calloc(a, 1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->struct_size = sizeof(*r);
    r->sub = op_arena_strdup(a, q->sub);
    r->claims = op_spi_claims_strv(a, names, n);
    r->n_claims = n;
    r->claims_locales = op_spi_claims_strv(a, q->claims_locales, q->n_claims_locales);
    r->n_claims_locales = q->n_claims_locales;
    r->client_id = q->client_id != NULL ? op_arena_strdup(a, q->client_id) : NULL;
    r->transport = q->transport == NULL                    ? NULL
                   : strcmp(q->transport, "userinfo") == 0 ? "userinfo"
                                                           : "id_token";
    r->scope = op_spi_claims_strv(a, q->scope, q->n_scope);
    r->n_scope = q->n_scope;
    if (r->sub == NULL || r->claims == NULL || r->claims_locales == NULL || r->scope == NULL ||
        (q->client_id != NULL && r->client_id == NULL))
        return NULL;
    if (run->claims_data != NULL) {
        op_spi_json_t *cd = NULL;
        if (op_spi_json_copy(a, &run->claims_data->v, 0, &cd) != OP_OK)
            return NULL;
        r->claims_data = cd;
    }
    call->claims = r->claims;
    call->n_claims = n;
    return r;
}

/* The names of q routed to source p, deduplicated: those whose source
 * (owners[i], looked up once per lookup) is p, and "*" (every source). */
static size_t op_spi_claims_route(const op_spi_config_t *p, const op_spi_claims_query_t *q,
                                  op_spi_config_t *const *owners, const char **names, bool *star)
{
    size_t n = 0;
    *star = false;
    for (size_t i = 0; i < q->n_claims; i++) {
        const char *name = q->claims[i];
        bool all = strcmp(name, "*") == 0;
        if (!all && owners[i] != p)
            continue;
        *star = *star || all;
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++)
            dup = strcmp(names[k], name) == 0;
        if (!dup)
            names[n++] = name;
    }
    return n;
}

static op_spi_claims_run_t *op_spi_claims_run_new(op_spi_t *spi, uint64_t deadline_ms,
                                                  op_spi_claims_cb cb, void *arg,
                                                  const char *req_id)
{
    op_arena_t *a = op_arena_new(OP_SPI_CLAIMS_RUN_ARENA_MAX);
    /* The first allocation of a fresh arena, far under its cap. */
    op_spi_claims_run_t *run = op_arena_calloc(a, 1, sizeof(*run));
    run->arena = a;
    run->spi = spi;
    run->call = op_call_new(spi->loop, deadline_ms, op_spi_claims_deliver, run);
    run->cb = cb;
    run->arg = arg;
    run->deadline_ms = deadline_ms;
    run->req_id = req_id != NULL ? op_arena_strdup(a, req_id) : NULL;
    run->refs = 2; /* the answer + the callback */
    op_list_insert_tail(&spi->runs, &run->link);
    return run;
}

/*
 * Start one call per source that has names to look up. Tokens are made
 * first and handed out after, so that pending is right even when a
 * source completes inside its get().
 */
static int op_spi_claims_start(op_spi_claims_run_t *run, const op_spi_claims_query_t *q,
                               op_err_t *err)
{
    op_spi_t *spi = run->spi;
    op_arena_t *a = run->arena;
    size_t np = spi->n_plugins;
    const char **names = op_arena_calloc(a, np * q->n_claims + 1, sizeof(*names));
    const char **mine = names;
    const char ***slot_names = op_arena_calloc(a, np + 1, sizeof(*slot_names));
    size_t *counts = op_arena_calloc(a, np + 1, sizeof(*counts));
    run->names = op_arena_calloc(a, np + 1, sizeof(*run->names));
    run->calls = op_arena_calloc(a, np + 1, sizeof(*run->calls));
    op_spi_config_t **owners = op_arena_calloc(a, q->n_claims + 1, sizeof(*owners));
    const char **pnames = op_arena_calloc(a, np + 1, sizeof(*pnames)); /* copies, by plugin */
    run->merged = op_spi_json_object(a);
    for (size_t i = 0; pnames != NULL && i < np; i++) {
        if ((pnames[i] = op_arena_strdup(a, spi->plugins[i]->name)) == NULL)
            pnames = NULL;
    }
    /* Everything that can pass the cap comes before the first token. */
    if (names == NULL || slot_names == NULL || counts == NULL || run->names == NULL ||
        run->calls == NULL || owners == NULL || pnames == NULL || run->merged == NULL)
        return OP_ERR(err, OP_ETOOBIG, "claims lookup too large");
    for (size_t i = 0; i < q->n_claims; i++)
        owners[i] = op_spi_claims_source_of(spi, q->claims[i]);
    for (size_t i = 0; i < np; i++) {
        op_spi_config_t *p = spi->plugins[i];
        bool star = false;
        size_t n = op_spi_claims_is_source(p) ? op_spi_claims_route(p, q, owners, mine, &star) : 0;
        if (n == 0)
            continue;
        op_spi_call_t *call = op_spi_call_new(p, run, run->nslots, run->req_id);
        call->star = star;
        slot_names[run->nslots] = mine;
        counts[run->nslots] = n;
        run->names[run->nslots] = pnames[i];
        run->calls[run->nslots++] = call;
        mine += n;
    }
    run->pending = run->nslots;
    run->refs += (int)run->nslots;
    for (size_t slot = 0; slot < run->nslots; slot++) {
        op_spi_call_t *call = run->calls[slot];
        const op_spi_config_t *p = call->plugin;
        const op_spi_claims_req_t *req =
            op_spi_claims_request(call, run, q, slot_names[slot], counts[slot]);
        if (req == NULL)
            op_spi_host_table.complete(call, OP_SPI_ETOOBIG, NULL, NULL, "request too large", 0);
        else
            p->desc->claims->get(p->data, call, req);
    }
    return OP_OK;
}

void op_spi_claims_get(op_spi_t *spi, const op_spi_claims_query_t *q, uint64_t deadline_ms,
                       op_spi_claims_cb cb, void *arg)
{
    if (spi == NULL || cb == NULL) {
        /* no loop to defer through or nobody to tell: a programming error */
        op_log_error(q != NULL ? q->req_id : NULL, "spi: op_spi_claims_get without %s",
                     spi == NULL ? "a module" : "a callback");
        return;
    }
    op_spi_claims_run_t *run =
        op_spi_claims_run_new(spi, deadline_ms, cb, arg, q != NULL ? q->req_id : NULL);
    op_err_t err;
    op_err_clear(&err);
    if (op_spi_claims_check(run, q, &err) != OP_OK || op_spi_claims_start(run, q, &err) != OP_OK) {
        op_spi_claims_answer(run, err.code, &err);
        return;
    }
    if (run->nslots == 0)
        op_spi_claims_answer(run, OP_OK, NULL);
}
