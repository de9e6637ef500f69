/*
 * tests/unit/proto/test_op_sub_session.c - core/proto/op_sub_session.c: the subject
 * session id (sub_sid, the SSO cookie) and the OpenID "sid" claim are
 * independent random values, and a new session's id is kept sealed in the
 * authorisation session record under a key derived from that session's
 * id (RFC 6819 §5.1.4.2.2: a bearer secret is not derivable from other
 * values; one key per purpose).
 */
#include "core/proto/op_sub_session.h"
#include "keys/op_keys.h"
#include "tests/unit/op_test.h"

#define SID "ZGVtby1jbGllbnQ.q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c"

static op_arena_t *arena(void)
{
    op_arena_t *a = op_arena_new(1 << 20);

    OP_CHECK(a != NULL);
    OP_CHECK_INT(op_keys_global_init(), OP_OK);
    return a;
}

static bool is_b64url(const char *s)
{
    for (; *s != '\0'; s++)
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *s) == NULL)
            return false;
    return true;
}

/* 256 random bits each time, nothing in common with the sid. */
static void test_new_id(void)
{
    op_arena_t *a = arena();
    const char *x = op_sub_session_new_id(a), *y = op_sub_session_new_id(a);

    OP_CHECK(x != NULL && y != NULL);
    OP_CHECK_INT(strlen(x), 43);
    OP_CHECK(is_b64url(x));
    OP_CHECK(strcmp(x, y) != 0);
    op_arena_free(a);
}

/* The sid claim is random per session, not a hash of its id (whose
 * SHA-256 is the store key). */
static void test_sid_claim_random(void)
{
    op_arena_t *a = arena();
    op_config_t cfg = {
        .session_max_life_min = 60, .session_auth_life_min = 30, .session_max_idle_min = 10};
    op_sub_session_t s1, s2;

    OP_CHECK_INT(op_sub_session_new(a, &cfg, "alice", 1000, &s1), OP_OK);
    OP_CHECK_INT(op_sub_session_new(a, &cfg, "alice", 1000, &s2), OP_OK);
    OP_CHECK_INT(strlen(s1.sid_claim), 22);
    OP_CHECK(is_b64url(s1.sid_claim));
    OP_CHECK(strcmp(s1.sid_claim, s2.sid_claim) != 0);
    OP_CHECK_STR(s1.sub, "alice");
    OP_CHECK_INT(s1.auth_time, 1000);
    OP_CHECK_INT(s1.max_life, 60);
    op_arena_free(a);
}

static void test_seal_open(void)
{
    op_arena_t *a = arena();
    const char *id = op_sub_session_new_id(a);
    char *sealed = op_sub_session_seal_id(a, SID, id), *again = op_sub_session_seal_id(a, SID, id);

    OP_CHECK(sealed != NULL && again != NULL);
    OP_CHECK(strstr(sealed, id) == NULL);
    OP_CHECK(strcmp(sealed, again) != 0); /* random nonces */
    OP_CHECK_STR(op_sub_session_open_id(a, SID, sealed), id);
    OP_CHECK_STR(op_sub_session_open_id(a, SID, again), id);
    op_arena_free(a);
}

/* Only the sid opens it: another session's id, a changed byte, a
 * malformed value all fail. */
static void test_open_refuses(void)
{
    op_arena_t *a = arena();
    const char *id = op_sub_session_new_id(a);
    char *sealed = op_sub_session_seal_id(a, SID, id), *bad, *dot;
    char big[300];

    OP_CHECK(sealed != NULL);
    OP_CHECK(op_sub_session_open_id(a, SID "x", sealed) == NULL);
    OP_CHECK(op_sub_session_open_id(a, "", sealed) == NULL);
    bad = op_arena_strdup(a, sealed);
    dot = strchr(bad, '.');
    OP_CHECK(dot != NULL);
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    OP_CHECK(op_sub_session_open_id(a, SID, bad) == NULL);
    bad = op_arena_strdup(a, sealed);
    bad[0] = bad[0] == 'A' ? 'B' : 'A';
    OP_CHECK(op_sub_session_open_id(a, SID, bad) == NULL);
    OP_CHECK(op_sub_session_open_id(a, SID, "no-dot") == NULL);
    OP_CHECK(op_sub_session_open_id(a, SID, ".") == NULL);
    OP_CHECK(op_sub_session_open_id(a, SID, "") == NULL);
    OP_CHECK(op_sub_session_open_id(a, SID, id) == NULL);
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[32] = '.';
    OP_CHECK(op_sub_session_open_id(a, SID, big) == NULL);
    op_arena_free(a);
}

static const op_test_case_t cases[] = {
    {"new_id", test_new_id},
    {"sid_claim_random", test_sid_claim_random},
    {"seal_open", test_seal_open},
    {"open_refuses", test_open_refuses},
};

OP_TEST_MAIN(cases)
