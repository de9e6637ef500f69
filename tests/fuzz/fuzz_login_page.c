/*
 * tests/fuzz/fuzz_login_page.c - libFuzzer target for what the example
 * login page writes from hostile bytes (examples/login-page): HTML
 * escaping and every page (sign-in, consent, form_post relay, logout,
 * message), the CSP source of a client's redirect URI
 * (login_page_answer_origin), the query it relays to the server
 * (login_page_form_query), and the messages its CSRF tokens and signed
 * account choices MAC (login_page_csrf.c). Request parameters, the server's answers and
 * client metadata all reach these.
 *
 * Input: two bytes saying which strings are absent (NULL), one byte of
 * page choices, then length-prefixed strings, used in turn by the fields
 * of the pages; the rest of the input is also parsed as a query. The
 * rules:
 *  - login_page_html_escape leaves no & < > " ' but its five entities,
 *    and unescapes to exactly its input;
 *  - a page built from the strings has exactly the markup (< > " ')
 *    of the same page built from placeholders ("x" for each non-empty
 *    string): no field can open or close a tag or an attribute;
 *  - an origin, when there is one, is a CSP source: a lower-case scheme,
 *    then only host and port bytes, a prefix of the URI, and the page's
 *    policy has the directives of a placeholder origin;
 *  - a query that parses is relayed as one that parses to the same list;
 *  - a CSRF token is made exactly for a well-formed pre-session value and
 *    sid, and checks for that form, value and sid only; an account choice
 *    is made exactly for a users.json name, a time >= 0 and a well-formed
 *    sid, and reads back as that name and time, for that sid only.
 * Any broken rule aborts.
 *
 *   make build/fuzz/fuzz_login_page
 *   build/fuzz/fuzz_login_page CORPUS_COPY   (seeds: tests/fuzz/corpus/login_page)
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "examples/login-page/login_page.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LOGIN_PAGE_STRINGS 16

/* The page fields: each the fuzzer's string, or its placeholder. */
typedef struct fuzz_login_page_in {
    const char *s[FUZZ_LOGIN_PAGE_STRINGS];
} fuzz_login_page_in_t;

/* The markup a page has: counts of < > " '. */
typedef struct fuzz_login_page_marks {
    size_t lt, gt, quot, apos;
} fuzz_login_page_marks_t;

static fuzz_login_page_marks_t fuzz_login_page_count(const char *s)
{
    fuzz_login_page_marks_t m = {0, 0, 0, 0};

    for (; s != NULL && *s != '\0'; s++) {
        m.lt += *s == '<';
        m.gt += *s == '>';
        m.quot += *s == '"';
        m.apos += *s == '\'';
    }
    return m;
}

static bool fuzz_login_page_same_marks(const char *x, const char *y)
{
    fuzz_login_page_marks_t a = fuzz_login_page_count(x), b = fuzz_login_page_count(y);

    return a.lt == b.lt && a.gt == b.gt && a.quot == b.quot && a.apos == b.apos;
}

static size_t fuzz_login_page_count_char(const char *s, char c)
{
    size_t n = 0;

    for (; s != NULL && *s != '\0'; s++)
        n += *s == c;
    return n;
}

static void fuzz_login_page_check_escape(op_arena_t *a, const char *s)
{
    static const struct {
        const char *entity;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
    const char *e = login_page_html_escape(a, s);
    const char *in = s;

    if (e == NULL)
        abort();
    while (*e != '\0') {
        if (*e == '<' || *e == '>' || *e == '"' || *e == '\'')
            abort();
        if (*e != '&') {
            if (*in++ != *e++)
                abort();
            continue;
        }
        size_t k = 0;
        while (k < OP_NELEMS(ents) && strncmp(e, ents[k].entity, strlen(ents[k].entity)) != 0)
            k++;
        if (k == OP_NELEMS(ents) || *in++ != ents[k].c)
            abort();
        e += strlen(ents[k].entity);
    }
    if (*in != '\0')
        abort();
}

/* A CSP source made of uri, or NULL. */
static const char *fuzz_login_page_origin(op_arena_t *a, const char *uri)
{
    const char *o = uri != NULL ? login_page_answer_origin(a, uri) : NULL;
    const char *colon;

    if (o == NULL)
        return NULL;
    colon = strchr(o, ':');
    if (colon == NULL || strncasecmp(o, uri, strlen(o)) != 0 ||
        strspn(o, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.:/[]") !=
            strlen(o))
        abort();
    for (const char *c = o; c < colon; c++) {
        if (*c >= 'A' && *c <= 'Z')
            abort();
    }
    if (strncmp(o, "javascript:", 11) == 0 || strncmp(o, "data:", 5) == 0)
        abort();
    return o;
}

/* n strings from in, starting at *k, as a list. */
static login_page_strs_t fuzz_login_page_list(op_arena_t *a, const fuzz_login_page_in_t *in,
                                              size_t *k, size_t n)
{
    login_page_strs_t l = {op_arena_calloc(a, n + 1, sizeof(char *)), 0};

    if (l.v == NULL)
        abort();
    for (size_t i = 0; i < n; i++, (*k)++) {
        if (in->s[*k % FUZZ_LOGIN_PAGE_STRINGS] != NULL)
            l.v[l.n++] = in->s[*k % FUZZ_LOGIN_PAGE_STRINGS];
    }
    return l;
}

/* A form_post form: an object of string values, keys and values from in. */
static op_json_t *fuzz_login_page_form(op_arena_t *a, const fuzz_login_page_in_t *in, size_t n)
{
    op_json_t *o = op_arena_calloc(a, 1, sizeof(*o));

    if (o == NULL || (o->u.obj.keys = op_arena_calloc(a, n + 1, sizeof(char *))) == NULL ||
        (o->u.obj.key_lens = op_arena_calloc(a, n + 1, sizeof(size_t))) == NULL ||
        (o->u.obj.vals = op_arena_calloc(a, n + 1, sizeof(op_json_t *))) == NULL)
        abort();
    o->type = OP_JSON_OBJECT;
    for (size_t i = 0; i < n; i++) {
        const char *k = in->s[(8 + 2 * i) % FUZZ_LOGIN_PAGE_STRINGS];
        const char *v = in->s[(9 + 2 * i) % FUZZ_LOGIN_PAGE_STRINGS];
        op_json_t *sv = op_arena_calloc(a, 1, sizeof(*sv));
        if (sv == NULL)
            abort();
        sv->type = OP_JSON_STRING;
        sv->u.str.s = v != NULL ? v : "";
        sv->u.str.len = strlen(sv->u.str.s);
        o->u.obj.keys[o->u.obj.n] = k != NULL ? k : "k";
        o->u.obj.key_lens[o->u.obj.n] = strlen(o->u.obj.keys[o->u.obj.n]);
        o->u.obj.vals[o->u.obj.n++] = sv;
    }
    return o;
}

/* The page of kind from in (origin: what the redirect URI is allowed to
 * be in the CSP). */
static void fuzz_login_page_page(op_arena_t *a, int kind, const fuzz_login_page_in_t *in,
                                 const char *origin, uint8_t choice, login_page_html_page_t *out)
{
    const char *const *s = in->s;
    int rc = OP_OK;

    memset(out, 0, sizeof(*out));
    if (kind == 0) {
        const login_page_html_signin_t p = {
            .sid = s[0],
            .csrf = s[1],
            .ro = origin,
            .username = s[2],
            .account = s[3],
            .account_name = s[4],
            .account_token = s[5],
            .select_account = choice & 1,
            .create_account = choice & 2,
            .error = s[6],
        };
        rc = login_page_html_signin(a, &p, out);
    } else if (kind == 1) {
        login_page_answer_t ans;
        size_t k = 7;
        memset(&ans, 0, sizeof(ans));
        ans.kind = LOGIN_PAGE_ANSWER_CONSENT;
        ans.sid = s[0];
        ans.client_id = s[2];
        ans.client_name = s[3];
        ans.policy_uri = s[4];
        ans.tos_uri = s[5];
        ans.scope_new = fuzz_login_page_list(a, in, &k, 2);
        ans.scope_consented = fuzz_login_page_list(a, in, &k, 2);
        ans.claims_essential = fuzz_login_page_list(a, in, &k, 2);
        ans.claims_voluntary = fuzz_login_page_list(a, in, &k, 2);
        ans.claims_consented = fuzz_login_page_list(a, in, &k, 2);
        rc = login_page_html_consent(a, &ans, s[1], origin, out);
    } else if (kind == 2) {
        const char *uri = s[7] != NULL ? s[7] : "https://app.example/cb";
        rc =
            login_page_html_form_post(a, uri, origin, fuzz_login_page_form(a, in, choice % 4), out);
    } else if (kind == 3) {
        rc = login_page_html_logout(a, s[1], out);
    } else {
        rc = login_page_html_message(a, s[2] != NULL ? s[2] : "t", s[3] != NULL ? s[3] : "m", s[4],
                                     out);
    }
    if (rc != OP_OK || out->html == NULL || out->csp == NULL || strlen(out->html) != out->len)
        abort();
}

/* Parse q; when it parses, the relayed query must parse to the same. */
static void fuzz_login_page_query(op_arena_t *a, const char *q, size_t len)
{
    op_params_t p, back;
    op_err_t err;

    if (op_params_parse(a, q, len, NULL, &p, &err) != OP_OK)
        return;
    char *relay = login_page_form_query(a, &p);
    if (relay == NULL || op_params_parse(a, relay, strlen(relay), NULL, &back, &err) != OP_OK ||
        back.n != p.n)
        abort();
    for (size_t i = 0; i < p.n; i++) {
        if (back.items[i].name_len != p.items[i].name_len ||
            back.items[i].value_len != p.items[i].value_len ||
            memcmp(back.items[i].name, p.items[i].name, p.items[i].name_len) != 0 ||
            memcmp(back.items[i].value, p.items[i].value, p.items[i].value_len) != 0)
            abort();
    }
}

/* Tokens and account choices made from hostile sids and names, checked
 * against a fixed key set. */
static void fuzz_login_page_csrf(op_arena_t *a, const char *pre, const char *sid, const char *other,
                                 const char *username, int64_t t, uint8_t choice)
{
    static const uint8_t secret[LOGIN_PAGE_SECRET_LEN] = {1, 2, 3};
    login_page_csrf_form_t form = (login_page_csrf_form_t)(choice % 3);
    login_page_keys_t k;
    const char *name;
    int64_t when;

    login_page_csrf_keys(secret, &k);
    bool ok = login_page_csrf_pre_ok(pre) &&
              (form == LOGIN_PAGE_CSRF_LOGOUT || login_page_form_sid_ok(sid));
    char *tok = login_page_csrf_make(a, &k, form, pre, sid);
    if ((tok != NULL) != ok)
        abort();
    if (tok != NULL &&
        (!login_page_csrf_check(a, &k, form, pre, sid, tok) ||
         login_page_csrf_check(a, &k, (login_page_csrf_form_t)((form + 1) % 3), pre, sid, tok) ||
         (form != LOGIN_PAGE_CSRF_LOGOUT && strcmp(sid, other) != 0 &&
          login_page_csrf_check(a, &k, form, pre, other, tok))))
        abort();

    ok = login_page_users_name_ok(username) && t >= 0 && login_page_form_sid_ok(sid);
    char *choice_value = login_page_csrf_account_make(a, &k, sid, username, t);
    if ((choice_value != NULL) != ok)
        abort();
    if (choice_value != NULL &&
        (!login_page_csrf_account_check(a, &k, sid, choice_value, &name, &when) ||
         strcmp(name, username) != 0 || when != t ||
         (strcmp(sid, other) != 0 &&
          login_page_csrf_account_check(a, &k, other, choice_value, &name, &when))))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data + 3, *end = data + size;
    fuzz_login_page_in_t in, ph;
    login_page_html_page_t page, want;

    if (size < 3)
        return 0;
    op_arena_t *a = op_arena_new(16u << 20);
    if (a == NULL)
        return 0;
    unsigned absent = (unsigned)data[0] | (unsigned)data[1] << 8;
    uint8_t choice = data[2];
    for (size_t i = 0; i < FUZZ_LOGIN_PAGE_STRINGS; i++) {
        char *s = fuzz_check_string(a, &p, end);
        in.s[i] = absent & (1u << i) ? NULL : s;
        ph.s[i] = in.s[i] == NULL ? NULL : in.s[i][0] != '\0' ? "x" : "";
        fuzz_login_page_check_escape(a, s);
    }

    const char *origin = fuzz_login_page_origin(a, in.s[7]);
    int kind = (choice >> 2) % 5;
    fuzz_login_page_page(a, kind, &in, origin, choice, &page);
    fuzz_login_page_page(a, kind, &ph, origin != NULL ? "https://x" : NULL, choice, &want);
    if (!fuzz_login_page_same_marks(page.html, want.html) ||
        !fuzz_login_page_same_marks(page.csp, want.csp) ||
        fuzz_login_page_count_char(page.csp, ';') != fuzz_login_page_count_char(want.csp, ';'))
        abort();
    fuzz_login_page_query(a, (const char *)p, (size_t)(end - p));
    /* strings 12..15: a pre-session value, two sids, a username */
    int64_t t = (int64_t)(int8_t)choice * 1000003;
    fuzz_login_page_csrf(a, in.s[12] != NULL ? in.s[12] : "", in.s[13] != NULL ? in.s[13] : "",
                         in.s[14] != NULL ? in.s[14] : "", in.s[15] != NULL ? in.s[15] : "", t,
                         choice);
    op_arena_free(a);
    return 0;
}
