/* Unit tests: core/base/op_arena.c, and the out-of-memory policy (core/base/op_mem.h) */
#include "core/base/op.h"
#include "core/base/op_params.h"
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

/*
 * The out-of-memory policy (core/base/op_mem.h): over an arena's cap is a
 * size error, OP_ETOOBIG, for the arena's own functions and for what is
 * built on them (string lists, the form/query parser answers 400).
 */
static void test_cap_is_too_big(void)
{
    op_arena_t *a = op_arena_new(64);
    op_strs_t l = {0};
    op_params_t p;
    op_err_t err;
    int called = 0;

    OP_CHECK(op_arena_alloc(a, 64) != NULL);
    OP_CHECK_INT(op_arena_cleanup_add(a, free, &called), OP_ETOOBIG);
    OP_CHECK_INT(op_strs_add(a, &l, "openid"), OP_ETOOBIG);
    op_err_clear(&err);
    OP_CHECK_INT(op_params_parse(a, "a=1&b=2", 7, NULL, &p, &err), OP_ETOOBIG);
    OP_CHECK_STR(err.oauth_error, "invalid_request");
    OP_CHECK_INT(err.http_status, 400);
    op_arena_free(a);
    OP_CHECK_INT(called, 0);
}

/* A failed allocation ends the process: one log line, then abort(). */
static void test_oom_aborts_with_one_line(void)
{
    int fds[2];
    OP_CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    OP_CHECK(pid >= 0);
    if (pid == 0) {
        op_log_init(OP_LOG_INFO, fds[1]);
        op_mem_fail(4096);
    }
    close(fds[1]);
    char buf[512];
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    int st = 0;
    OP_CHECK(waitpid(pid, &st, 0) == pid);
    OP_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    OP_CHECK_HAS(buf, "out of memory (4096 bytes): aborting");
    OP_CHECK(strchr(buf, '\n') == buf + strlen(buf) - 1); /* one line */
}

static const op_test_case_t cases[] = {
    {"alloc_aligned_and_counted", test_alloc_aligned_and_counted},
    {"cap_refuses_and_stays_usable", test_cap_refuses_and_stays_usable},
    {"big_blocks", test_big_blocks},
    {"realloc_grows_in_place_and_copies", test_realloc_grows_in_place_and_copies},
    {"cleanups_newest_first", test_cleanups_newest_first},
    {"strings", test_strings},
    {"debug_mode_same_behaviour", test_debug_mode_same_behaviour},
    {"cap_is_too_big", test_cap_is_too_big},
    {"oom_aborts_with_one_line", test_oom_aborts_with_one_line},
};
OP_TEST_MAIN(cases)
