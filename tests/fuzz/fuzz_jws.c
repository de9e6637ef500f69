/*
 * tests/fuzz/fuzz_jws.c - libFuzzer target for the strict JWS parser and
 * verifier (keys/op_keys_jws.c, op_keys_jwk.c): every input goes through
 * op_keys_jws_parse and op_keys_jws_verify_jwks with all algorithms allowed, against
 * a fixed JWK set of one RSA 2048, one P-256 and one Ed25519 public key
 * (the seeds in tests/fuzz/corpus/jws/ are signed by these keys).
 *
 *   make build/fuzz/fuzz_jws
 *   cp -r tests/fuzz/corpus/jws /tmp/jws && build/fuzz/fuzz_jws /tmp/jws
 */
#include <stddef.h>
#include <stdint.h>

#include "keys/op_keys.h"

#define FUZZ_ALL_ALGS                                                                              \
    ((1u << OP_JWS_RS256) | (1u << OP_JWS_PS256) | (1u << OP_JWS_ES256) | (1u << OP_JWS_EDDSA) |   \
     (1u << OP_JWS_HS256))

static const char fuzz_jwks[] =
    "{\"keys\":[{\"kty\":\"RSA\","
    "\"n\":\"s23Oq1MkUgB0J8JgmSFLAmoFeEd9Px99LcQWNg7ATl85s0uvwSxzQrFRt56uLQ4uIzxGVwCXriDZ"
    "_vqvl8h5uT0Zcs3uPJFB6ERuTJa6pF2ew1jAi5XtGynf5NZbW75XQvT2W9idaUhJQ9eiGyYIF1hgTuKrXNno"
    "vWcQnxErqfLAoHkDf7e2dhwu73bVVb5Xv_rSX8HEgtanC96dU8pxPHRSUMugLJVx7WTY3c2gYyK2LF7c510-"
    "3vyUn1lmccHR55NR7msBsdnfBKWrEjxa9YTaojgoySnodWntB48E2bo_mRxhaLZnP9ECmndvKlkIxrl9Vkb5"
    "dbCQ3Kf2EXrYnQ\",\"e\":\"AQAB\",\"use\":\"sig\","
    "\"kid\":\"g08UudNNptPKH22EJaFvB1gItAziyPF70Ign_NpGRso\"},{\"kty\":\"EC\","
    "\"crv\":\"P-256\",\"x\":\"ykwUASYLGcEv8EvLw6tHkqmIT4uTx64VWDcVY1j8VPg\","
    "\"y\":\"O9FStZ7QQmIgroXRE8AkxmFuAOmE0FPgqrd5hQLHnXE\",\"use\":\"sig\","
    "\"alg\":\"ES256\",\"kid\":\"evf3Oa20tQ_QqALBOKhT48w6w0U0cC-8Ai5DJunWbbk\"},"
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
    "\"x\":\"bPA-IVkh6gM1gUH-patY6vuuDNA2P6PPGuOdAFd2WYw\",\"use\":\"sig\","
    "\"alg\":\"EdDSA\",\"kid\":\"0GrycJv-jHJq3wpJoVCQ6qMfEKt-mcs-P7Bo4Yn9dGo\"}]}";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    OP_UNUSED(argc);
    OP_UNUSED(argv);
    op_log_init(OP_LOG_ERROR, 2);
    return op_keys_global_init() == OP_OK ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    op_arena_t *a = op_arena_new(4 << 20);
    op_jws_t out;
    op_err_t err;

    if (a == NULL)
        return 0;
    op_err_clear(&err);
    op_keys_jws_parse((const char *)data, size, FUZZ_ALL_ALGS, a, &out, &err);
    op_err_clear(&err);
    op_keys_jws_verify_jwks((const char *)data, size, FUZZ_ALL_ALGS, fuzz_jwks,
                            sizeof(fuzz_jwks) - 1, a, &out, &err);
    op_arena_free(a);
    return 0;
}
