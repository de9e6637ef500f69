/*
 * examples/login-page/login_page_html.c - the pages: sign-in, consent,
 * logout, form_post relay and messages, with their
 * Content-Security-Policy.
 *
 * Plain, accessible HTML: a lang attribute, one <main>, a label for every
 * input, autocomplete hints for password managers, a visible focus ring.
 * Everything that comes from the user, the request or the server is
 * HTML-escaped. The one style sheet and the one script (the form_post
 * auto-submit) are inline and allowed by their SHA-256 in the CSP, so the
 * policy needs no 'unsafe-inline'.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "examples/login-page/login_page.h"
#include "keys/op_keys.h"

static const char login_page_html_style[] =
    "body{font-family:system-ui,sans-serif;background:#f3f4f6;color:#111827;margin:0;"
    "padding:2rem 1rem}"
    "main{max-width:28rem;margin:0 auto;background:#fff;border:1px solid #d1d5db;"
    "border-radius:8px;padding:1.5rem 2rem}"
    "h1{font-size:1.5rem;margin-top:0}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}"
    "label{display:block;font-weight:600;margin:1rem 0 .25rem}"
    "input[type=text],input[type=password]{box-sizing:border-box;width:100%;padding:.5rem;"
    "font-size:1rem;border:1px solid #6b7280;border-radius:4px}"
    "button{font-size:1rem;padding:.55rem 1.2rem;margin:1.2rem .5rem 0 0;border-radius:4px;"
    "border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;cursor:pointer}"
    "button.secondary{background:#fff;color:#1d4ed8}"
    ":focus-visible{outline:3px solid #f59e0b;outline-offset:2px}"
    ".error{background:#fef2f2;border:1px solid #b91c1c;color:#7f1d1d;padding:.6rem;"
    "border-radius:4px}"
    ".note{color:#4b5563;font-size:.9rem}"
    "fieldset{border:1px solid #d1d5db;border-radius:4px;margin:1rem 0;padding:.5rem 1rem}"
    "legend{font-weight:600}ul.choices{list-style:none;padding:0;margin:0}"
    "ul.choices li{margin:.4rem 0}ul.choices label,p.check label{display:inline;"
    "font-weight:400;margin:0 0 0 .3rem}";

static const char login_page_html_script[] = "document.forms[0].submit();";

/* A growing HTML buffer in an arena; the first failure sticks. */
typedef struct login_page_html_buf {
    op_arena_t *a;
    char *p;
    size_t len, cap;
    bool failed;
} login_page_html_buf_t;

static void login_page_html_bytes(login_page_html_buf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap > 0 ? b->cap : 4096;
        char *p;

        while (cap < b->len + n + 1)
            cap *= 2;
        p = op_arena_realloc(b->a, b->p, b->cap, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Markup of ours, as is. */
static void login_page_html_raw(login_page_html_buf_t *b, const char *s)
{
    login_page_html_bytes(b, s, strlen(s));
}

/* Text or an attribute value from outside: escaped. NULL writes nothing. */
static void login_page_html_text(login_page_html_buf_t *b, const char *s)
{
    const char *run = s;

    if (s == NULL)
        return;
    for (; *s != '\0'; s++) {
        const char *rep;

        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            continue;
        }
        login_page_html_bytes(b, run, (size_t)(s - run));
        login_page_html_raw(b, rep);
        run = s + 1;
    }
    login_page_html_bytes(b, run, (size_t)(s - run));
}

char *login_page_html_escape(op_arena_t *a, const char *s)
{
    login_page_html_buf_t b = {.a = a};

    login_page_html_raw(&b, "");
    login_page_html_text(&b, s);
    return b.failed ? NULL : b.p;
}

/* "'sha256-<base64>'" of a script or style, for the CSP. */
static char *login_page_html_hash(op_arena_t *a, const char *s)
{
    uint8_t d[32];
    char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];

    op_keys_crypto_sha256(s, strlen(s), d);
    sodium_bin2base64(b64, sizeof(b64), d, sizeof(d), sodium_base64_VARIANT_ORIGINAL);
    return op_arena_printf(a, "'sha256-%s'", b64);
}

/*
 * The policy: nothing but our own style (and script, for form_post); forms
 * may go to the page itself and to form_origin, where the server's answer
 * may redirect them (browsers apply form-action to redirects too).
 */
static char *login_page_html_csp(op_arena_t *a, bool script, const char *form_origin)
{
    char *style = login_page_html_hash(a, login_page_html_style);
    char *js = script ? login_page_html_hash(a, login_page_html_script) : NULL;

    if (style == NULL || (script && js == NULL))
        return NULL;
    return op_arena_printf(a,
                           "default-src 'none'; style-src %s;%s%s%s form-action 'self'%s%s; "
                           "frame-ancestors 'none'; base-uri 'none'",
                           style, script ? " script-src " : "", script ? js : "", script ? ";" : "",
                           form_origin != NULL ? " " : "", form_origin != NULL ? form_origin : "");
}

static void login_page_html_head(login_page_html_buf_t *b, const char *title)
{
    login_page_html_raw(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                           "<meta name=\"viewport\" content=\"width=device-width, "
                           "initial-scale=1\">\n<title>");
    login_page_html_text(b, title);
    login_page_html_raw(b, " - Tessera</title>\n<style>");
    login_page_html_raw(b, login_page_html_style);
    login_page_html_raw(b, "</style>\n</head>\n<body>\n<main>\n<h1>");
    login_page_html_text(b, title);
    login_page_html_raw(b, "</h1>\n");
}

static void login_page_html_tail(login_page_html_buf_t *b)
{
    login_page_html_raw(b, "</main>\n</body>\n</html>\n");
}

/* A hidden input, skipped when value is NULL. */
static void login_page_html_hidden(login_page_html_buf_t *b, const char *name, const char *value)
{
    if (value == NULL)
        return;
    login_page_html_raw(b, "<input type=\"hidden\" name=\"");
    login_page_html_text(b, name);
    login_page_html_raw(b, "\" value=\"");
    login_page_html_text(b, value);
    login_page_html_raw(b, "\">\n");
}

/* The fields of every form of the page. */
static void login_page_html_common(login_page_html_buf_t *b, const char *sid, const char *csrf,
                                   const char *ro)
{
    login_page_html_hidden(b, "sid", sid);
    login_page_html_hidden(b, "csrf", csrf);
    login_page_html_hidden(b, "ro", ro);
}

/* Finish: the page and its policy. */
static int login_page_html_done(op_arena_t *a, login_page_html_buf_t *b, bool script,
                                const char *form_origin, login_page_html_page_t *out)
{
    login_page_html_tail(b);
    out->csp = login_page_html_csp(a, script, form_origin);
    if (b->failed || out->csp == NULL)
        return OP_ETOOBIG;
    out->html = b->p;
    out->len = b->len;
    return OP_OK;
}

int login_page_html_signin(op_arena_t *a, const login_page_html_signin_t *p,
                           login_page_html_page_t *out)
{
    login_page_html_buf_t b = {.a = a};
    bool prefilled = p->username != NULL && p->username[0] != '\0';

    login_page_html_head(&b, "Sign in");
    if (p->error != NULL) {
        login_page_html_raw(&b, "<p class=\"error\" role=\"alert\">");
        login_page_html_text(&b, p->error);
        login_page_html_raw(&b, "</p>\n");
    }
    if (p->create_account)
        login_page_html_raw(&b, "<p class=\"note\">The application asked to create an account. "
                                "This demo cannot create accounts: sign in with an existing "
                                "one.</p>\n");
    if (p->select_account && p->account != NULL && p->account_token != NULL) {
        login_page_html_raw(&b, "<h2>Choose an account</h2>\n<form method=\"post\" "
                                "action=\"/login\">\n");
        login_page_html_common(&b, p->sid, p->csrf, p->ro);
        login_page_html_hidden(&b, "account", p->account_token);
        login_page_html_raw(&b, "<button type=\"submit\" name=\"action\" value=\"continue\">"
                                "Continue as ");
        login_page_html_text(&b, p->account_name != NULL ? p->account_name : p->account);
        if (p->account_name != NULL) {
            login_page_html_raw(&b, " (");
            login_page_html_text(&b, p->account);
            login_page_html_raw(&b, ")");
        }
        login_page_html_raw(&b, "</button>\n</form>\n<h2>Use another account</h2>\n");
    } else if (p->select_account) {
        login_page_html_raw(&b, "<p class=\"note\">No account is signed in on this browser."
                                "</p>\n<h2>Use another account</h2>\n");
    }
    login_page_html_raw(&b, "<form method=\"post\" action=\"/login\">\n");
    login_page_html_common(&b, p->sid, p->csrf, p->ro);
    login_page_html_raw(&b, "<label for=\"username\">Username</label>\n<input type=\"text\" "
                            "id=\"username\" name=\"username\" autocomplete=\"username\" "
                            "autocapitalize=\"none\" spellcheck=\"false\" required");
    if (prefilled) {
        login_page_html_raw(&b, " value=\"");
        login_page_html_text(&b, p->username);
        login_page_html_raw(&b, "\"");
    } else {
        login_page_html_raw(&b, " autofocus");
    }
    login_page_html_raw(&b, ">\n<label for=\"password\">Password</label>\n<input "
                            "type=\"password\" id=\"password\" name=\"password\" "
                            "autocomplete=\"current-password\" required");
    login_page_html_raw(&b, prefilled ? " autofocus>\n" : ">\n");
    login_page_html_raw(&b, "<button type=\"submit\" name=\"action\" value=\"signin\">Sign in"
                            "</button>\n</form>\n");
    return login_page_html_done(a, &b, false, p->ro, out);
}

/* What a scope value means, for the common ones (OIDC Core §5.4). */
static const char *login_page_html_scope_text(const char *scope)
{
    static const struct {
        const char *scope, *text;
    } known[] = {
        {"openid", "sign you in with your account"},
        {"profile", "your name and profile details"},
        {"email", "your email address"},
        {"address", "your postal address"},
        {"phone", "your phone number"},
        {"offline_access", "keep access while you are away"},
    };

    for (size_t i = 0; i < OP_NELEMS(known); i++) {
        if (strcmp(scope, known[i].scope) == 0)
            return known[i].text;
    }
    return NULL;
}

/* One checked checkbox per item, named "<prefix>_<n>" with the item as
 * value; *n numbers the boxes across calls. */
static void login_page_html_boxes(login_page_html_buf_t *b, const char *prefix,
                                  const login_page_strs_t *items, const char *note, bool scope,
                                  size_t *n)
{
    for (size_t i = 0; i < items->n; i++, (*n)++) {
        char id[32];
        const char *text = scope ? login_page_html_scope_text(items->v[i]) : NULL;

        snprintf(id, sizeof(id), "%s_%zu", prefix, *n);
        login_page_html_raw(b, "<li><input type=\"checkbox\" id=\"");
        login_page_html_raw(b, id);
        login_page_html_raw(b, "\" name=\"");
        login_page_html_raw(b, id);
        login_page_html_raw(b, "\" value=\"");
        login_page_html_text(b, items->v[i]);
        login_page_html_raw(b, "\" checked><label for=\"");
        login_page_html_raw(b, id);
        login_page_html_raw(b, "\"><code>");
        login_page_html_text(b, items->v[i]);
        login_page_html_raw(b, "</code>");
        if (text != NULL) {
            login_page_html_raw(b, ": ");
            login_page_html_raw(b, text);
        }
        if (note != NULL) {
            login_page_html_raw(b, " <span class=\"note\">(");
            login_page_html_raw(b, note);
            login_page_html_raw(b, ")</span>");
        }
        login_page_html_raw(b, "</label></li>\n");
    }
}

int login_page_html_consent(op_arena_t *a, const login_page_answer_t *ans, const char *csrf,
                            const char *ro, login_page_html_page_t *out)
{
    login_page_html_buf_t b = {.a = a};
    size_t n = 0;

    login_page_html_head(&b, "Allow access?");
    login_page_html_raw(&b, "<p><strong>");
    login_page_html_text(&b, ans->client_name != NULL ? ans->client_name : "An application");
    login_page_html_raw(&b, "</strong>");
    if (ans->client_id != NULL) {
        login_page_html_raw(&b, " (client <code>");
        login_page_html_text(&b, ans->client_id);
        login_page_html_raw(&b, "</code>)");
    }
    login_page_html_raw(&b, " asks for access to your account.</p>\n");
    if (ans->policy_uri != NULL || ans->tos_uri != NULL) {
        login_page_html_raw(&b, "<p class=\"note\">");
        if (ans->policy_uri != NULL) {
            login_page_html_raw(&b, "<a href=\"");
            login_page_html_text(&b, ans->policy_uri);
            login_page_html_raw(&b, "\" rel=\"noopener noreferrer\">Privacy policy</a> ");
        }
        if (ans->tos_uri != NULL) {
            login_page_html_raw(&b, "<a href=\"");
            login_page_html_text(&b, ans->tos_uri);
            login_page_html_raw(&b, "\" rel=\"noopener noreferrer\">Terms of service</a>");
        }
        login_page_html_raw(&b, "</p>\n");
    }
    login_page_html_raw(&b, "<form method=\"post\" action=\"/consent\">\n");
    login_page_html_common(&b, ans->sid, csrf, ro);
    if (ans->scope_new.n + ans->scope_consented.n > 0) {
        login_page_html_raw(&b, "<fieldset>\n<legend>Permissions</legend>\n<ul "
                                "class=\"choices\">\n");
        login_page_html_boxes(&b, "scope", &ans->scope_new, NULL, true, &n);
        login_page_html_boxes(&b, "scope", &ans->scope_consented, "allowed before", true, &n);
        login_page_html_raw(&b, "</ul>\n</fieldset>\n");
    }
    n = 0;
    if (ans->claims_essential.n + ans->claims_voluntary.n + ans->claims_consented.n > 0) {
        login_page_html_raw(&b, "<fieldset>\n<legend>Information about you</legend>\n<ul "
                                "class=\"choices\">\n");
        login_page_html_boxes(&b, "claim", &ans->claims_essential, "required by the application",
                              false, &n);
        login_page_html_boxes(&b, "claim", &ans->claims_voluntary, NULL, false, &n);
        login_page_html_boxes(&b, "claim", &ans->claims_consented, "allowed before", false, &n);
        login_page_html_raw(&b, "</ul>\n</fieldset>\n");
    }
    login_page_html_raw(&b, "<p class=\"check\"><input type=\"checkbox\" id=\"long_lived\" "
                            "name=\"long_lived\" value=\"true\"><label for=\"long_lived\">"
                            "Remember this decision</label></p>\n"
                            "<button type=\"submit\" name=\"action\" value=\"allow\">Allow"
                            "</button>\n<button type=\"submit\" name=\"action\" value=\"deny\" "
                            "class=\"secondary\">Deny</button>\n</form>\n");
    return login_page_html_done(a, &b, false, ro, out);
}

int login_page_html_logout(op_arena_t *a, const char *csrf, login_page_html_page_t *out)
{
    login_page_html_buf_t b = {.a = a};

    login_page_html_head(&b, "Sign out");
    login_page_html_raw(&b, "<p>Sign out of your account on this browser?</p>\n"
                            "<form method=\"post\" action=\"/logout\">\n");
    login_page_html_hidden(&b, "csrf", csrf);
    login_page_html_raw(&b, "<button type=\"submit\">Sign out</button>\n</form>\n");
    return login_page_html_done(a, &b, false, NULL, out);
}

int login_page_html_form_post(op_arena_t *a, const char *uri, const char *origin,
                              const op_json_t *form, login_page_html_page_t *out)
{
    login_page_html_buf_t b = {.a = a};

    login_page_html_head(&b, "Returning to the application");
    login_page_html_raw(&b, "<form method=\"post\" action=\"");
    login_page_html_text(&b, uri);
    login_page_html_raw(&b, "\">\n");
    for (size_t i = 0; i < form->u.obj.n; i++)
        login_page_html_hidden(&b, form->u.obj.keys[i], form->u.obj.vals[i]->u.str.s);
    login_page_html_raw(&b, "<noscript><p>JavaScript is off: press Continue to return to the "
                            "application.</p><button type=\"submit\">Continue</button>"
                            "</noscript>\n</form>\n<script>");
    login_page_html_raw(&b, login_page_html_script);
    login_page_html_raw(&b, "</script>\n");
    return login_page_html_done(a, &b, true, origin, out);
}

int login_page_html_message(op_arena_t *a, const char *title, const char *text, const char *detail,
                            login_page_html_page_t *out)
{
    login_page_html_buf_t b = {.a = a};

    login_page_html_head(&b, title);
    login_page_html_raw(&b, "<p>");
    login_page_html_text(&b, text);
    login_page_html_raw(&b, "</p>\n");
    if (detail != NULL) {
        login_page_html_raw(&b, "<p class=\"note\">");
        login_page_html_text(&b, detail);
        login_page_html_raw(&b, "</p>\n");
    }
    return login_page_html_done(a, &b, false, NULL, out);
}
