/*
 * tests/fuzz/fuzz_cookie.c - libFuzzer target for http/op_http_cookie.c.
 *
 * Each input is parsed as a Cookie header. A failure must be clean
 * (OP_EINVAL or OP_ETOOBIG, a description, no cookies). A success must hold
 * unique token names and cookie-octet values; each pair must format with
 * op_http_cookie_format, and the pairs joined again with "; " must parse to
 * the same list. Any broken rule aborts.
 *
 *   make build/fuzz/fuzz_cookie
 *   build/fuzz/fuzz_cookie CORPUS_COPY     (seeds: tests/fuzz/corpus/cookie)
 */
#include <stdlib.h>
#include <string.h>

#include "http/op_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const op_cookie_attrs_t attrs = {"/", 60, true, true, "Lax"};
    op_arena_t *a = op_arena_new(64u << 20);
    op_params_t c, again;
    op_err_t err;
    char *header = NULL;

    if (a == NULL)
        return 0;
    op_err_clear(&err);
    int rc = op_http_cookie_parse(a, (const char *)data, size, &c, &err);
    if (rc != OP_OK) {
        if (c.n != 0 || c.items != NULL || err.code != rc || err.description[0] == '\0' ||
            (rc != OP_EINVAL && rc != OP_ETOOBIG))
            abort();
        goto cleanup_arena;
    }
    for (size_t i = 0; i < c.n; i++) {
        const op_param_t *it = &c.items[i];
        char *set;

        if (it->name_len == 0 || strlen(it->name) != it->name_len ||
            strlen(it->value) != it->value_len || op_params_find(&c, it->name) != it)
            abort();
        set = op_http_cookie_format(a, it->name, it->value, &attrs);
        if (set == NULL || strncmp(set, it->name, it->name_len) != 0)
            abort();
        header = op_arena_printf(a, "%s%s%s=%s", header != NULL ? header : "", i > 0 ? "; " : "",
                                 it->name, it->value);
        if (header == NULL)
            abort();
    }
    if (op_http_cookie_parse(a, header, header != NULL ? strlen(header) : 0, &again, &err) !=
            OP_OK ||
        again.n != c.n)
        abort();
    for (size_t i = 0; i < c.n; i++) {
        if (strcmp(c.items[i].name, again.items[i].name) != 0 ||
            strcmp(c.items[i].value, again.items[i].value) != 0)
            abort();
    }
cleanup_arena:
    op_arena_free(a);
    return 0;
}
