/*
 * tests/fuzz/fuzz_params.c - libFuzzer target for core/base/op_params.c.
 *
 * Each input is parsed as a form / query string, with the default limits
 * or (odd sizes) with wider ones. A failure must be clean: a known code,
 * a description, no parameters. A success must hold only non-empty,
 * NUL-terminated, valid UTF-8 names and values without repeats; written
 * back with op_params_urlencode and parsed again, it must give the same
 * list. Any broken rule aborts.
 *
 *   make build/fuzz/fuzz_params
 *   build/fuzz/fuzz_params CORPUS_COPY     (seeds: tests/fuzz/corpus/params)
 */
#include <stdlib.h>
#include <string.h>

#include "http/op_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_params_check_item(const op_param_t *it)
{
    if (it->name == NULL || it->value == NULL || it->name_len == 0 ||
        strlen(it->name) != it->name_len || strlen(it->value) != it->value_len ||
        !op_json_utf8_valid(it->name, it->name_len) ||
        !op_json_utf8_valid(it->value, it->value_len))
        abort();
}

static bool fuzz_params_same(const op_param_t *x, const op_param_t *y)
{
    return x->name_len == y->name_len && x->value_len == y->value_len &&
           memcmp(x->name, y->name, x->name_len) == 0 &&
           memcmp(x->value, y->value, x->value_len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const op_params_limits_t wide = {256, 4096, 1 << 20};
    const op_params_limits_t *lim = size % 2 == 1 ? &wide : NULL;
    op_arena_t *a = op_arena_new(64u << 20);
    op_params_t p, again;
    op_err_t err;
    char *form = NULL;
    size_t len = 0;

    if (a == NULL)
        return 0;
    op_err_clear(&err);
    int rc = op_params_parse(a, (const char *)data, size, lim, &p, &err);
    if (rc != OP_OK) {
        if (p.n != 0 || p.items != NULL || err.code != rc || err.description[0] == '\0' ||
            (rc != OP_EINVAL && rc != OP_ETOOBIG))
            abort();
        if (err.http_status != 400)
            abort();
        goto cleanup_arena;
    }
    for (size_t i = 0; i < p.n; i++) {
        fuzz_params_check_item(&p.items[i]);
        if (op_params_find(&p, p.items[i].name) != &p.items[i])
            abort(); /* a repeated name got through */
    }

    /* Write the list back, percent-encoded, and parse it again. */
    for (size_t i = 0; i < p.n; i++) {
        char *n = op_params_urlencode(a, p.items[i].name, p.items[i].name_len);
        char *v = op_params_urlencode(a, p.items[i].value, p.items[i].value_len);
        if (n == NULL || v == NULL)
            abort();
        form = op_arena_printf(a, "%s%s%s=%s", form != NULL ? form : "", i > 0 ? "&" : "", n, v);
        if (form == NULL)
            abort();
    }
    len = form != NULL ? strlen(form) : 0;
    if (op_params_parse(a, form, len, &wide, &again, &err) != OP_OK || again.n != p.n)
        abort();
    for (size_t i = 0; i < p.n; i++) {
        if (!fuzz_params_same(&p.items[i], &again.items[i]))
            abort();
    }
cleanup_arena:
    op_arena_free(a);
    return 0;
}
