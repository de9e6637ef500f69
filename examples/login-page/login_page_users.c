/*
 * examples/login-page/login_page_users.c - the demo user base: a JSON file
 * of usernames and Argon2id password hashes, read once at start.
 *
 *   {"alice": {"password": "$argon2id$v=19$m=65536,t=2,p=1$...",
 *              "name": "Alice Adams"}, ...}
 *
 * A real deployment would ask its directory instead; the page only needs
 * "find a user" and "the user's hash".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "examples/login-page/login_page.h"

#define LOGIN_PAGE_USERS_MAX_FILE (1024 * 1024)
#define LOGIN_PAGE_USERS_MAX      1000

bool login_page_users_name_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > LOGIN_PAGE_USERNAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == '-'))
            return false;
    }
    return true;
}

int login_page_users_parse(op_arena_t *a, const char *json, size_t len, login_page_users_t *out,
                           op_err_t *err)
{
    const op_json_limits_t lim = {LOGIN_PAGE_USERS_MAX_FILE, 3, 4 * LOGIN_PAGE_USERS_MAX};
    op_json_t *doc = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = op_json_parse(a, json, len, &lim, &doc, err);
    if (rc != OP_OK)
        return rc;
    if (!op_json_is(doc, OP_JSON_OBJECT))
        return OP_ERR(err, OP_EINVAL, "users: expected a JSON object of users");
    if (doc->u.obj.n > LOGIN_PAGE_USERS_MAX)
        return OP_ERR(err, OP_EINVAL, "users: more than %d users", LOGIN_PAGE_USERS_MAX);
    out->v = op_arena_calloc(a, doc->u.obj.n + 1, sizeof(*out->v));
    if (out->v == NULL)
        return OP_ERR(err, OP_ETOOBIG, "users: too large");
    for (size_t i = 0; i < doc->u.obj.n; i++) {
        const char *name = doc->u.obj.keys[i];
        const op_json_t *u = doc->u.obj.vals[i];
        const char *hash = op_json_get_str(u, "password");
        const op_json_t *display = op_json_get(u, "name");

        if (!login_page_users_name_ok(name))
            return OP_ERR(err, OP_EINVAL,
                          "users: user #%zu: a username is 1 to %d of A-Z a-z 0-9 . _ @ -", i + 1,
                          LOGIN_PAGE_USERNAME_MAX);
        if (!op_json_is(u, OP_JSON_OBJECT))
            return OP_ERR(err, OP_EINVAL, "users: %s: expected an object", name);
        if (hash == NULL || !op_str_has_prefix(hash, "$argon2id$"))
            return OP_ERR(err, OP_EINVAL,
                          "users: %s: \"password\" must be an Argon2id hash "
                          "(crypto_pwhash_str), never a password",
                          name);
        if (display != NULL && !op_json_is(display, OP_JSON_STRING))
            return OP_ERR(err, OP_EINVAL, "users: %s: \"name\" must be a string", name);
        out->v[i].username = name;
        out->v[i].hash = hash;
        out->v[i].name = display != NULL ? display->u.str.s : NULL;
    }
    out->n = doc->u.obj.n;
    return OP_OK;
}

/* Synchronous read: only at start, before the loop runs. */
int login_page_users_load(op_arena_t *a, const char *path, login_page_users_t *out, op_err_t *err)
{
    char *buf;
    size_t len;
    int rc = OP_OK;
    FILE *f = fopen(path, "rb");

    if (f == NULL)
        return OP_ERR(err, OP_EINVAL, "users: cannot open %s: %s", path, strerror(errno));
    buf = op_arena_alloc(a, LOGIN_PAGE_USERS_MAX_FILE + 1);
    if (buf == NULL) {
        rc = OP_ERR(err, OP_ETOOBIG, "users: too large");
        goto out_close;
    }
    len = fread(buf, 1, LOGIN_PAGE_USERS_MAX_FILE + 1, f);
    if (ferror(f)) {
        rc = OP_ERR(err, OP_EINVAL, "users: cannot read %s", path);
        goto out_close;
    }
    if (len > LOGIN_PAGE_USERS_MAX_FILE) {
        rc = OP_ERR(err, OP_ETOOBIG, "users: %s is over %d bytes", path, LOGIN_PAGE_USERS_MAX_FILE);
        goto out_close;
    }
    rc = login_page_users_parse(a, buf, len, out, err);
out_close:
    fclose(f);
    return rc;
}

const login_page_user_t *login_page_users_find(const login_page_users_t *u, const char *username)
{
    for (size_t i = 0; username != NULL && i < u->n; i++) {
        if (strcmp(u->v[i].username, username) == 0)
            return &u->v[i];
    }
    return NULL;
}
