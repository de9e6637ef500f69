/* Unit tests: core/base/op_arena.c */
#include "core/base/op.h"
#include "tests/unit/op_test.h"

static void test_alloc_aligned_and_counted(void)
{
    op_arena_t *a = op_arena_new(1 << 20);
    for (int i = 1; i < 200; i++) {
        char *p = op_arena_alloc(a, (size_t)i);
        OP_CHECK(p != NULL);
        OP_CHECK(((uintptr_t)p & 15) == 0);
        memset(p, 0xab, (size_t)i);
    }
    OP_CHECK(op_arena_used(a) >= 199 * 200 / 2);
    op_arena_free(a);
}

static void test_cap_refuses_and_stays_usable(void)
{
    op_arena_t *a = op_arena_new(1000);
    OP_CHECK(op_arena_alloc(a, 2000) == NULL);
    OP_CHECK(op_arena_alloc(a, SIZE_MAX) == NULL);
    OP_CHECK(op_arena_calloc(a, SIZE_MAX / 2, 4) == NULL);
    OP_CHECK(op_arena_alloc(a, 500) != NULL);
    OP_CHECK(op_arena_alloc(a, 600) == NULL);
    OP_CHECK(op_arena_alloc(a, 100) != NULL);
    op_arena_free(a);
}

static void test_big_blocks(void)
{
    op_arena_t *a = op_arena_new(1 << 24);
    char *small = op_arena_strdup(a, "small");
    char *big = op_arena_alloc(a, 100000);
    OP_CHECK(big != NULL);
    memset(big, 1, 100000);
    char *small2 = op_arena_strdup(a, "after");
    OP_CHECK_STR(small, "small");
    OP_CHECK_STR(small2, "after");
    op_arena_free(a);
}

static void test_realloc_grows_in_place_and_copies(void)
{
    op_arena_t *a = op_arena_new(1 << 20);
    char *p = op_arena_alloc(a, 16);
    memcpy(p, "0123456789abcde", 16);
    char *q = op_arena_realloc(a, p, 16, 64);
    OP_CHECK(getenv("OP_DEBUG_ARENA") != NULL || q == p); /* grown in place */
    OP_CHECK_STR(q, "0123456789abcde");
    (void)op_arena_alloc(a, 8);
    char *r = op_arena_realloc(a, q, 64, 8192);
    OP_CHECK(r != NULL && r != q);
    OP_CHECK_STR(r, "0123456789abcde");
    OP_CHECK(op_arena_realloc(a, r, 8192, 10) == r);
    OP_CHECK(op_arena_realloc(a, NULL, 0, 10) != NULL);
    op_arena_free(a);
}

static int cleanup_order[4];
static int cleanup_n;
static void record_cleanup(void *p)
{
    cleanup_order[cleanup_n++] = *(int *)p;
}

static void test_cleanups_newest_first(void)
{
    static int one = 1, two = 2, three = 3;
    op_arena_t *a = op_arena_new(4096);
    OP_CHECK(op_arena_cleanup_add(a, record_cleanup, &one) == OP_OK);
    OP_CHECK(op_arena_cleanup_add(a, record_cleanup, &two) == OP_OK);
    OP_CHECK(op_arena_cleanup_add(a, record_cleanup, &three) == OP_OK);
    op_arena_free(a);
    OP_CHECK_INT(cleanup_n, 3);
    OP_CHECK_INT(cleanup_order[0], 3);
    OP_CHECK_INT(cleanup_order[2], 1);
}

static void test_strings(void)
{
    op_arena_t *a = op_arena_new(4096);
    OP_CHECK_STR(op_arena_strndup(a, "abcdef", 3), "abc");
    OP_CHECK_STR(op_arena_printf(a, "%s-%d", "x", 42), "x-42");
    char *m = op_arena_memdup(a, "a\0b", 3);
    OP_CHECK(m[0] == 'a' && m[1] == '\0' && m[2] == 'b');
    op_arena_free(a);
    op_arena_free(NULL);
}

static void test_debug_mode_same_behaviour(void)
{
    setenv("OP_DEBUG_ARENA", "1", 1);
    test_alloc_aligned_and_counted();
    test_realloc_grows_in_place_and_copies();
    test_cap_refuses_and_stays_usable();
}

static const op_test_case_t cases[] = {
    {"alloc_aligned_and_counted", test_alloc_aligned_and_counted},
    {"cap_refuses_and_stays_usable", test_cap_refuses_and_stays_usable},
    {"big_blocks", test_big_blocks},
    {"realloc_grows_in_place_and_copies", test_realloc_grows_in_place_and_copies},
    {"cleanups_newest_first", test_cleanups_newest_first},
    {"strings", test_strings},
    {"debug_mode_same_behaviour", test_debug_mode_same_behaviour},
};
OP_TEST_MAIN(cases)
