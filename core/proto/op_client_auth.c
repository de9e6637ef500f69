/*
 * core/proto/op_client_auth.c - client authentication at the token endpoint:
 * client_secret_basic, client_secret_post and none (RFC 6749 §2.3.1,
 * OpenID Connect Core §9). See core/proto/op_client_auth.h.
 *
 * The Basic credentials are base64 (RFC 4648 §4) of
 * "<client_id>:<client_secret>" where both parts are first
 * application/x-www-form-urlencoded (RFC 6749 §2.3.1), so both are
 * decoded here, with the same strict decoder as every form.
 */
#include <string.h>
#include <strings.h>

#include "core/proto/op_client_auth.h"
#include "keys/op_keys.h"

#define OP_CLIENT_AUTH_BASIC_MAX 2048 /* base64 characters of Basic credentials */

/* The one answer to every authentication failure (RFC 6749 §5.2). */
#define OP_CLIENT_AUTH_FAILED(err)                                                                 \
    OP_ERR_OAUTH((err), OP_EDENIED, "invalid_client", 401, "client authentication failed")

static bool op_client_auth_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * Decode standard padded base64 (RFC 4648 §4) s[0..len) into a
 * NUL-terminated copy in a, by mapping it onto the base64url alphabet
 * for the one strict decoder of op_util.h. false on anything malformed
 * (wrong length, a character outside the alphabet, misplaced padding,
 * non-canonical trailing bits).
 */
static bool op_client_auth_b64(op_arena_t *a, const char *s, size_t len, char **out,
                               size_t *out_len)
{
    size_t pad = 0;

    if (len == 0 || len % 4 != 0 || len > OP_CLIENT_AUTH_BASIC_MAX)
        return false;
    while (pad < 2 && s[len - 1 - pad] == '=')
        pad++;
    char *u = op_arena_alloc(a, len + 1);
    uint8_t *d = op_arena_alloc(a, len / 4 * 3 + 1);
    if (u == NULL || d == NULL)
        return false;
    for (size_t i = 0; i < len - pad; i++) {
        char c = s[i];
        if (c == '+')
            c = '-';
        else if (c == '/')
            c = '_';
        else if (!op_client_auth_alnum(c))
            return false;
        u[i] = c;
    }
    if (!op_b64url_decode(u, len - pad, d, out_len))
        return false;
    d[*out_len] = '\0';
    *out = (char *)d;
    return true;
}

/*
 * Credentials of "Authorization: Basic <base64>" (RFC 7617 §2: the
 * scheme is case-insensitive). OP_DECLINED when the header uses another
 * scheme; OP_EDENIED when the credentials cannot be decoded.
 */
static int op_client_auth_basic(op_arena_t *a, const char *hdr, const char **id,
                                const char **secret, op_err_t *err)
{
    char *raw = NULL;
    size_t n = 0;
    op_params_t p;
    op_err_t e;

    if (strncasecmp(hdr, "Basic ", 6) != 0)
        return OP_DECLINED;
    hdr += 6;
    hdr += strspn(hdr, " ");
    if (!op_client_auth_b64(a, hdr, strlen(hdr), &raw, &n) || memchr(raw, '\0', n) != NULL)
        return OP_CLIENT_AUTH_FAILED(err);
    const char *colon = memchr(raw, ':', n);
    if (colon == NULL || strchr(raw, '&') != NULL)
        return OP_CLIENT_AUTH_FAILED(err);
    /* Both parts are form-urlencoded: decode them as a two-member form. */
    size_t id_len = (size_t)(colon - raw);
    char *form = op_arena_printf(a, "i=%.*s&s=%s", (int)id_len, raw, colon + 1);
    op_err_clear(&e);
    if (form == NULL || op_params_parse(a, form, strlen(form), NULL, &p, &e) != OP_OK)
        return OP_CLIENT_AUTH_FAILED(err);
    *id = op_params_get(&p, "i");
    *secret = op_params_get(&p, "s");
    if (*id == NULL || **id == '\0' || *secret == NULL)
        return OP_CLIENT_AUTH_FAILED(err);
    return OP_OK;
}

/* See core/proto/op_client_auth.h. */
int op_client_auth_check(op_arena_t *a, const char *authorization, const op_params_t *form,
                         op_client_auth_lookup_t lookup, const void *arg, const op_client_t **out,
                         op_err_t *err)
{
    const char *id = op_params_get(form, "client_id");
    const char *secret = op_params_get(form, "client_secret");
    bool assertion = op_params_find(form, "client_assertion") != NULL ||
                     op_params_find(form, "client_assertion_type") != NULL;
    const char *basic_id = NULL, *basic_secret = NULL;
    bool basic = false;
    int rc;

    *out = NULL;
    if (authorization != NULL) {
        rc = op_client_auth_basic(a, authorization, &basic_id, &basic_secret, err);
        if (rc != OP_OK && rc != OP_DECLINED)
            return rc;
        basic = rc == OP_OK;
    }
    if ((int)basic + (secret != NULL) + (int)assertion > 1)
        return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400,
                            "more than one client authentication method (RFC 6749 §2.3)");
    if (assertion)
        return OP_ERR_OAUTH(err, OP_EDENIED, "invalid_client", 401,
                            "client_secret_jwt and private_key_jwt client authentication "
                            "(client_assertion) are not supported yet");
    if (basic && id != NULL && strcmp(id, basic_id) != 0)
        return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 400,
                            "client_id differs from the client of the Basic credentials");
    if (basic) {
        id = basic_id;
        secret = basic_secret;
    }
    if (id == NULL)
        return OP_ERR_OAUTH(err, OP_EDENIED, "invalid_client", 401,
                            "client authentication required");
    op_client_auth_t method = basic            ? OP_CLIENT_AUTH_CLIENT_SECRET_BASIC
                              : secret != NULL ? OP_CLIENT_AUTH_CLIENT_SECRET_POST
                                               : OP_CLIENT_AUTH_NONE;
    const op_client_t *c = strlen(id) <= OP_CLIENT_ID_MAX ? lookup(arg, id) : NULL;
    /* Compare for an unknown client too: the time taken must not tell
     * whether the client exists. */
    const char *want = c != NULL && c->client_secret != NULL ? c->client_secret : "";
    bool secret_ok =
        secret != NULL && op_keys_crypto_ct_equal(secret, strlen(secret), want, strlen(want));
    if (c == NULL || c->token_endpoint_auth_method != method ||
        (method != OP_CLIENT_AUTH_NONE && (c->client_secret == NULL || !secret_ok)))
        return OP_CLIENT_AUTH_FAILED(err);
    *out = c;
    return OP_OK;
}
