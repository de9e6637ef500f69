/*
 * tests/unit/op_test_tls.h - throw-away TLS material for tests.
 *
 * op_test_tls_make() creates a temporary directory holding, as PEM files:
 *   ca.pem                       a test CA, the one the client trusts
 *   server.pem / server.key      "localhost" and 127.0.0.1, signed by the CA
 *   other.pem / other.key        only "other.example", signed by the CA
 *   rogue.pem / rogue.key        "localhost" and 127.0.0.1, signed by a
 *                                second CA that nobody trusts
 * Keys are P-256 (fast to make), certificates valid from an hour ago for a
 * day. op_test_tls_cleanup() removes the files and the directory.
 * op_test_tls_server_ctx() loads a certificate and key into a server
 * SSL_CTX (caller frees with SSL_CTX_free).
 *
 * Uses the OpenSSL 3 API only; every function returns 0 / non-NULL on
 * success so a test can OP_CHECK it.
 */
#ifndef OP_TEST_TLS_H
#define OP_TEST_TLS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define OP_TEST_TLS_PATH 128

typedef struct op_test_tls {
    char dir[OP_TEST_TLS_PATH];
    char ca_file[OP_TEST_TLS_PATH];
    char cert_file[OP_TEST_TLS_PATH];
    char key_file[OP_TEST_TLS_PATH];
    char other_cert_file[OP_TEST_TLS_PATH];
    char other_key_file[OP_TEST_TLS_PATH];
    char rogue_cert_file[OP_TEST_TLS_PATH];
    char rogue_key_file[OP_TEST_TLS_PATH];
} op_test_tls_t;

/* Add one X.509v3 extension given in openssl.cnf syntax. */
static int op_test_tls_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return -1;
    int rc = X509_add_ext(cert, ext, -1) == 1 ? 0 : -1;
    X509_EXTENSION_free(ext);
    return rc;
}

/*
 * New certificate for key with common name cn. issuer == NULL makes a
 * self-signed CA; otherwise a server certificate signed by issuer_key
 * with the subjectAltName san. Caller frees with X509_free.
 */
static X509 *op_test_tls_cert(EVP_PKEY *key, const char *cn, const char *san, X509 *issuer,
                              EVP_PKEY *issuer_key, long serial)
{
    X509 *cert = X509_new();
    if (cert == NULL)
        return NULL;
    X509 *signer = issuer != NULL ? issuer : cert;
    X509_NAME *name = X509_get_subject_name(cert);
    if (X509_set_version(cert, 2) != 1 ||
        ASN1_INTEGER_set(X509_get_serialNumber(cert), serial) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(cert), 86400) == NULL ||
        X509_set_pubkey(cert, key) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(cert, X509_get_subject_name(signer)) != 1 ||
        op_test_tls_ext(cert, signer, NID_subject_key_identifier, "hash") != 0)
        goto out_free_cert;
    if (issuer == NULL) {
        if (op_test_tls_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE") != 0 ||
            op_test_tls_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") != 0)
            goto out_free_cert;
    } else {
        if (op_test_tls_ext(cert, issuer, NID_basic_constraints, "CA:FALSE") != 0 ||
            op_test_tls_ext(cert, issuer, NID_authority_key_identifier, "keyid:always") != 0 ||
            op_test_tls_ext(cert, issuer, NID_ext_key_usage, "serverAuth") != 0 ||
            op_test_tls_ext(cert, issuer, NID_subject_alt_name, san) != 0)
            goto out_free_cert;
    }
    if (X509_sign(cert, issuer_key != NULL ? issuer_key : key, EVP_sha256()) == 0)
        goto out_free_cert;
    return cert;
out_free_cert:
    X509_free(cert);
    return NULL;
}

/* Write cert (and key, when key_path is set) as PEM files. */
static int op_test_tls_write(const char *cert_path, X509 *cert, const char *key_path, EVP_PKEY *key)
{
    FILE *f = fopen(cert_path, "w");
    if (f == NULL)
        return -1;
    int ok = PEM_write_X509(f, cert) == 1;
    ok = fclose(f) == 0 && ok;
    if (!ok || key_path == NULL)
        return ok ? 0 : -1;
    f = fopen(key_path, "w");
    if (f == NULL)
        return -1;
    ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : -1;
}

/* A fresh key and a server certificate for san signed by (ca, ca_key),
 * written to cert_path / key_path. */
static int op_test_tls_leaf(const char *cn, const char *san, X509 *ca, EVP_PKEY *ca_key,
                            long serial, const char *cert_path, const char *key_path)
{
    int rc = -1;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (key == NULL)
        return -1;
    X509 *cert = op_test_tls_cert(key, cn, san, ca, ca_key, serial);
    if (cert == NULL)
        goto out_free_key;
    rc = op_test_tls_write(cert_path, cert, key_path, key);
    X509_free(cert);
out_free_key:
    EVP_PKEY_free(key);
    return rc;
}

/* A self-signed CA: key and certificate, caller frees both. */
static int op_test_tls_ca(const char *cn, EVP_PKEY **key, X509 **cert)
{
    *key = EVP_EC_gen("P-256");
    if (*key == NULL)
        return -1;
    *cert = op_test_tls_cert(*key, cn, NULL, NULL, NULL, 1);
    if (*cert == NULL) {
        EVP_PKEY_free(*key);
        return -1;
    }
    return 0;
}

static void op_test_tls_path(char *out, const char *dir, const char *name)
{
    snprintf(out, OP_TEST_TLS_PATH, "%s/%s", dir, name);
}

static inline void op_test_tls_cleanup(op_test_tls_t *t)
{
    const char *files[] = {t->ca_file,         t->cert_file,      t->key_file,
                           t->other_cert_file, t->other_key_file, t->rogue_cert_file,
                           t->rogue_key_file};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (files[i][0] != '\0')
            unlink(files[i]);
    if (t->dir[0] != '\0')
        rmdir(t->dir);
    memset(t, 0, sizeof(*t));
}

static inline int op_test_tls_make(op_test_tls_t *t)
{
    EVP_PKEY *ca_key = NULL, *rogue_key = NULL;
    X509 *ca = NULL, *rogue = NULL;
    int rc = -1;

    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/op_test_tls.XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        t->dir[0] = '\0';
        return -1;
    }
    op_test_tls_path(t->ca_file, t->dir, "ca.pem");
    op_test_tls_path(t->cert_file, t->dir, "server.pem");
    op_test_tls_path(t->key_file, t->dir, "server.key");
    op_test_tls_path(t->other_cert_file, t->dir, "other.pem");
    op_test_tls_path(t->other_key_file, t->dir, "other.key");
    op_test_tls_path(t->rogue_cert_file, t->dir, "rogue.pem");
    op_test_tls_path(t->rogue_key_file, t->dir, "rogue.key");

    if (op_test_tls_ca("Tessera Test CA", &ca_key, &ca) != 0)
        goto out;
    if (op_test_tls_ca("Tessera Rogue CA", &rogue_key, &rogue) != 0)
        goto out_free_ca;
    if (op_test_tls_write(t->ca_file, ca, NULL, NULL) == 0 &&
        op_test_tls_leaf("localhost", "DNS:localhost,IP:127.0.0.1", ca, ca_key, 2, t->cert_file,
                         t->key_file) == 0 &&
        op_test_tls_leaf("other.example", "DNS:other.example", ca, ca_key, 3, t->other_cert_file,
                         t->other_key_file) == 0 &&
        op_test_tls_leaf("localhost", "DNS:localhost,IP:127.0.0.1", rogue, rogue_key, 4,
                         t->rogue_cert_file, t->rogue_key_file) == 0)
        rc = 0;
    X509_free(rogue);
    EVP_PKEY_free(rogue_key);
out_free_ca:
    X509_free(ca);
    EVP_PKEY_free(ca_key);
out:
    if (rc != 0)
        op_test_tls_cleanup(t);
    return rc;
}

static inline SSL_CTX *op_test_tls_server_ctx(const char *cert_file, const char *key_file)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return NULL;
    if (SSL_CTX_use_certificate_file(ctx, cert_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

#endif
