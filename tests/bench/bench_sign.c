/*
 * tests/bench/bench_sign.c - op_keys_jws_sign throughput per algorithm, which
 * `make bench` sets against `openssl speed` (rsa2048, ecdsap256, ed25519
 * sign) on the same machine. For each of RS256, PS256, ES256 and EdDSA it
 * signs a typical ~400-byte ID token for about 1.5 s with a key set
 * generated in memory, and prints exactly one line:
 *
 *   sign <ALG> <signatures_per_second>
 *
 * Output buffers come from an arena renewed every batch, as a request's
 * arena would be. Errors go to stderr with exit status 1.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "keys/op_keys_int.h"

#define BENCH_SECONDS   1.5
#define BENCH_BATCH     64 /* signatures per arena and per clock read */
#define BENCH_ARENA_MAX (1 << 20)

static const char bench_id_token[] =
    "{\"iss\":\"https://op.example.com\",\"sub\":\"a3f1c9d2-4b7e-4c1a-9e2f-7d6b5a4c3e21\","
    "\"aud\":\"s6BhdRkqt3\",\"exp\":1767225600,\"iat\":1767222000,"
    "\"auth_time\":1767221990,\"nonce\":\"n-0S6_WzA2Mj\",\"acr\":\"urn:mace:incommon:"
    "iap:silver\",\"amr\":[\"pwd\",\"otp\"],\"azp\":\"s6BhdRkqt3\","
    "\"at_hash\":\"77QmUPtjPfzWtF2AnpK9RQ\",\"c_hash\":\"LDktKdoQak3Pk0cnXxCltA\","
    "\"sid\":\"08a5019c-17e1-4977-8f42-65a12843ea02\",\"name\":\"Alice Example\","
    "\"email\":\"alice@example.com\",\"email_verified\":true,\"locale\":\"en-GB\"}";

static double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sign for BENCH_SECONDS and print the rate. OP_OK or the error. */
static int bench_alg(const op_keys_set_t *set, op_jws_alg_t alg)
{
    size_t len = strlen(bench_id_token);
    double start = bench_now(), elapsed;
    unsigned long long n = 0;
    op_err_t err;
    char *out;

    do {
        op_arena_t *a = op_arena_new(BENCH_ARENA_MAX);
        for (int i = 0; i < BENCH_BATCH; i++) {
            int rc = op_keys_jws_sign(set, alg, "JWT", bench_id_token, len, a, &out, &err);
            if (rc != OP_OK) {
                fprintf(stderr, "bench_sign: %s: %s\n", op_keys_jws_alg_name(alg), err.description);
                op_arena_free(a);
                return rc;
            }
        }
        op_arena_free(a);
        n += BENCH_BATCH;
        elapsed = bench_now() - start;
    } while (elapsed < BENCH_SECONDS);
    printf("sign %s %llu\n", op_keys_jws_alg_name(alg), (unsigned long long)((double)n / elapsed));
    fflush(stdout);
    return OP_OK;
}

int main(void)
{
    static const op_jws_alg_t algs[] = {OP_JWS_RS256, OP_JWS_PS256, OP_JWS_ES256, OP_JWS_EDDSA};
    op_keys_set_t *set = NULL;
    op_err_t err;
    int rc = OP_OK;

    op_log_init(OP_LOG_WARN, 2);
    op_err_clear(&err);
    if (op_keys_global_init() != OP_OK ||
        op_keys_gen_set(2048, (int64_t)time(NULL), &set, &err) != OP_OK) {
        fprintf(stderr, "bench_sign: cannot build a key set: %s\n", err.description);
        return 1;
    }
    for (size_t i = 0; i < OP_NELEMS(algs) && rc == OP_OK; i++)
        rc = bench_alg(set, algs[i]);
    op_keys_set_release(set);
    return rc == OP_OK ? 0 : 1;
}
