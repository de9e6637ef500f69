/*
 * http/op_http_head.c - the request head as it came off the wire, checked
 * to RFC 9112, and the framing rules evhttp 2.1.12 leaves to us.
 *
 * evhttp parses a head leniently and loses what it was lenient about:
 * the field value is a C string (a NUL truncates it), the bytes before
 * the colon become the name (so "Host : x" is the field "Host "), a
 * folded line is joined to the previous value, a line may end in a bare
 * LF, and the request line is split on its first and last space. So the
 * raw bytes of each head are scanned here as they arrive (op_http_conn.c
 * feeds them from the connection's input buffer, before evhttp reads
 * them), in a small state machine that keeps no copy. The verdict is read
 * when evhttp hands the request over; with the fields evhttp parsed, the
 * framing is then checked: one Host (RFC 9112 §3.2), one well-formed
 * Content-Length (§6.3), Transfer-Encoding only as "chunked", alone, in
 * HTTP/1.1 (§6.1), no body on HEAD (which evhttp would not read, running
 * it as the next request), and no repeated singleton field (RFC 9110
 * §5.3). Any failure is a 400 after which the connection closes, so bytes
 * evhttp framed differently from the sender are never run as a request.
 */
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http/op_http_int.h"

/* Scanner states: the three parts of the request line, then field lines. */
enum {
    OP_HTTP_HEAD_METHOD = 0,
    OP_HTTP_HEAD_TARGET,
    OP_HTTP_HEAD_VERSION,
    OP_HTTP_HEAD_LINE,  /* start of a field line, or the empty line */
    OP_HTTP_HEAD_NAME,  /* in a field name */
    OP_HTTP_HEAD_VALUE, /* in a field value */
    OP_HTTP_HEAD_DONE   /* the empty line was seen, or a violation */
};

static const char op_http_head_version[] = "HTTP/1.";

/* Fields that carry one value and that the server reads: a second line
 * makes the request ambiguous (which Authorization authenticates?). The
 * first three are also the framing fields checked below. */
enum { OP_HTTP_HEAD_HOST, OP_HTTP_HEAD_CLEN, OP_HTTP_HEAD_TE };
static const char *const op_http_head_singletons[] = {
    [OP_HTTP_HEAD_HOST] = "Host",           /* RFC 9112 §3.2 */
    [OP_HTTP_HEAD_CLEN] = "Content-Length", /* RFC 9112 §6.3 */
    [OP_HTTP_HEAD_TE] = "Transfer-Encoding",
    "Content-Type",  /* RFC 9110 §8.3 */
    "Authorization", /* RFC 9110 §11.6.2 */
    "Cookie",        /* RFC 6265 §5.4 */
    "Origin",        /* RFC 6454 §7.3 */
    "DPoP",          /* RFC 9449 §4.3 */
    "Sec-Fetch-Site",
};

/* tchar of RFC 9110 §5.6.2. */
static bool op_http_head_is_tchar(unsigned char c)
{
    return op_params_is_token((const char *)&c, 1);
}

void op_http_head_reset(op_http_head_t *h)
{
    memset(h, 0, sizeof(*h));
    h->minor = -1;
}

bool op_http_head_done(const op_http_head_t *h)
{
    return h->state == OP_HTTP_HEAD_DONE;
}

/* Record the first violation; nothing after it is looked at. */
static void op_http_head_bad(op_http_head_t *h, const char *why)
{
    h->bad = why;
    h->state = OP_HTTP_HEAD_DONE;
}

/* A line ended (LF, after its CR). */
static void op_http_head_eol(op_http_head_t *h)
{
    switch (h->state) {
    case OP_HTTP_HEAD_VERSION: /* "HTTP/1." and the digit */
        if (h->n == sizeof(op_http_head_version))
            h->state = OP_HTTP_HEAD_LINE;
        else
            op_http_head_bad(h, "malformed request line (RFC 9112 §3)");
        break;
    case OP_HTTP_HEAD_LINE:
        h->state = OP_HTTP_HEAD_DONE; /* the empty line ends the head */
        break;
    case OP_HTTP_HEAD_VALUE:
        h->state = OP_HTTP_HEAD_LINE;
        break;
    case OP_HTTP_HEAD_NAME:
        op_http_head_bad(h, "field line without a colon (RFC 9112 §5)");
        break;
    default:
        op_http_head_bad(h, "malformed request line (RFC 9112 §3)");
        break;
    }
    h->n = 0;
}

/* request-line = method SP request-target SP HTTP-version, with single
 * spaces, a target of visible ASCII and version 1.x. */
static void op_http_head_request_line(op_http_head_t *h, unsigned char c)
{
    switch (h->state) {
    case OP_HTTP_HEAD_METHOD:
        if (c == ' ' && h->n > 0) {
            h->state = OP_HTTP_HEAD_TARGET;
            h->n = 0;
        } else if (op_http_head_is_tchar(c)) {
            h->n++;
        } else {
            op_http_head_bad(h, "malformed request line (RFC 9112 §3)");
        }
        break;
    case OP_HTTP_HEAD_TARGET:
        if (c == ' ' && h->n > 0) {
            h->state = OP_HTTP_HEAD_VERSION;
            h->n = 0;
        } else if (c > 0x20 && c < 0x7f) {
            h->n++;
        } else {
            op_http_head_bad(h, "malformed request target (RFC 9112 §3.2)");
        }
        break;
    default: /* OP_HTTP_HEAD_VERSION: "HTTP/1." then one digit */
        if (h->n < sizeof(op_http_head_version) - 1 &&
            c == (unsigned char)op_http_head_version[h->n]) {
            h->n++;
        } else if (h->n == sizeof(op_http_head_version) - 1 && c >= '0' && c <= '9') {
            h->minor = c - '0';
            h->n++;
        } else {
            op_http_head_bad(h, "unsupported or malformed HTTP version (RFC 9112 §2.3)");
        }
        break;
    }
}

/* field-line = field-name ":" OWS field-value OWS, the name a token
 * starting the line, the value without NUL or other controls. */
static void op_http_head_field_line(op_http_head_t *h, unsigned char c)
{
    switch (h->state) {
    case OP_HTTP_HEAD_LINE:
        if (c == ' ' || c == '\t')
            op_http_head_bad(h, "line folding or whitespace before a field line (RFC 9112 §5.2)");
        else if (!op_http_head_is_tchar(c))
            op_http_head_bad(h, "malformed field name (RFC 9110 §5.1)");
        else
            h->state = OP_HTTP_HEAD_NAME;
        h->nfields += h->state == OP_HTTP_HEAD_NAME;
        break;
    case OP_HTTP_HEAD_NAME:
        if (c == ':')
            h->state = OP_HTTP_HEAD_VALUE;
        else if (c == ' ' || c == '\t')
            op_http_head_bad(h, "whitespace between a field name and its colon (RFC 9112 §5.1)");
        else if (!op_http_head_is_tchar(c))
            op_http_head_bad(h, "malformed field name (RFC 9110 §5.1)");
        break;
    default: /* OP_HTTP_HEAD_VALUE */
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            op_http_head_bad(h, "NUL or control character in a field value (RFC 9110 §5.5)");
        break;
    }
}

/* The length of the run at p[0..n) that leaves the state as it is: the
 * bytes of a method, target, field name or field value (a value may hold
 * obs-text, RFC 9110 §5.5), counted where the state counts them. Such
 * runs are most of a head; the byte after a run goes through the
 * checks above. */
static size_t op_http_head_run(op_http_head_t *h, const unsigned char *p, size_t n)
{
    size_t i = 0;

    switch (h->state) {
    case OP_HTTP_HEAD_METHOD:
    case OP_HTTP_HEAD_NAME:
        i = op_params_token_span((const char *)p, n);
        break;
    case OP_HTTP_HEAD_TARGET:
        while (i < n && p[i] > 0x20 && p[i] < 0x7f)
            i++;
        break;
    case OP_HTTP_HEAD_VALUE:
        while (i < n && (p[i] >= 0x20 || p[i] == '\t') && p[i] != 0x7f)
            i++;
        break;
    default:
        break;
    }
    if (h->state != OP_HTTP_HEAD_NAME && h->state != OP_HTTP_HEAD_VALUE)
        h->n += i;
    return i;
}

/*
 * Feed the next n bytes of the head. Lines end in CRLF: a bare CR is
 * invalid (RFC 9112 §2.2) and so, in this server, is a bare LF (which
 * §2.2 allows a recipient to refuse); lines still end at the LF, as in
 * evhttp, so both find the same end of head.
 */
void op_http_head_feed(op_http_head_t *h, const unsigned char *p, size_t n)
{
    h->seen |= n > 0;
    for (size_t i = 0; i < n && h->state != OP_HTTP_HEAD_DONE; i++) {
        if (!h->cr) {
            i += op_http_head_run(h, p + i, n - i);
            if (i == n)
                break;
        }
        unsigned char c = p[i];

        if (h->cr && c != '\n') {
            op_http_head_bad(h, "bare CR in the request head (RFC 9112 §2.2)");
        } else if (c == '\r') {
            h->cr = true;
        } else if (c == '\n') {
            if (!h->cr)
                op_http_head_bad(h, "bare LF in the request head (RFC 9112 §2.2)");
            else
                op_http_head_eol(h);
            h->cr = false;
        } else if (h->state < OP_HTTP_HEAD_LINE) {
            op_http_head_request_line(h, c);
        } else {
            op_http_head_field_line(h, c);
        }
    }
}

/* uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2): an IPv6 or
 * IPv4 literal in brackets, or a reg-name (unreserved, sub-delims,
 * pct-encoded); empty is allowed (a target without an authority). */
static bool op_http_head_host_ok(const char *v)
{
    static const char reg_name[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789-._~!$&'()*+,;=";
    const char *p = v;
    uint8_t b;

    if (*p == '[') {
        p += 1 + strspn(p + 1, "0123456789abcdefABCDEF:.");
        if (*p != ']' || p == v + 1)
            return false;
        p++;
    } else {
        p += strspn(p, reg_name);
        while (p[0] == '%' && p[1] != '\0' && op_hex_decode(p + 1, 2, &b, 1))
            p += 3 + strspn(p + 3, reg_name);
    }
    if (*p == ':')
        p += 1 + strspn(p + 1, "0123456789");
    return *p == '\0';
}

/* 1*DIGIT (RFC 9110 §8.6). evhttp stripped the spaces around the value;
 * a sign, a tab or a list ("5, 5"), which its strtoll reads or refuses
 * otherwise than a sender might, is refused here. */
static bool op_http_head_digits(const char *v)
{
    return v[0] != '\0' && v[strspn(v, "0123456789")] == '\0';
}

#define OP_HTTP_HEAD_BAD(err, ...)                                                                 \
    OP_ERR_OAUTH((err), OP_EINVAL, "invalid_request", 400, __VA_ARGS__)

/* A Transfer-Encoding other than "chunked" alone: with chunked last,
 * codings we do not implement (501); otherwise the body has no length
 * at all (400, RFC 9112 §6.1). */
static int op_http_head_te_error(const char *te, op_err_t *err)
{
    const char *last = strrchr(te, ',');

    last = last != NULL ? last + 1 : te;
    last += strspn(last, " \t");
    if (strncasecmp(last, "chunked", 7) == 0 && last[7 + strspn(last + 7, " \t")] == '\0')
        return OP_ERR_OAUTH(err, OP_EINVAL, "invalid_request", 501,
                            "only the chunked transfer coding is supported (RFC 9112 §6.1)");
    return OP_HTTP_HEAD_BAD(err, "chunked is not the final transfer coding (RFC 9112 §6.1)");
}

/* Count the singleton fields among the head's own fields (the first
 * nfields of evhttp's list: a chunked body's trailer fields, which evhttp
 * appends, are not header fields, RFC 9110 §6.5.1), and keep Host,
 * Content-Length and Transfer-Encoding. */
static int op_http_head_singles(const op_http_head_t *h, const struct evkeyvalq *fields,
                                const char *vals[OP_NELEMS(op_http_head_singletons)], op_err_t *err)
{
    const struct evkeyval *kv = TAILQ_FIRST(fields);

    for (size_t i = 0; i < h->nfields; i++, kv = TAILQ_NEXT(kv, next)) {
        if (kv == NULL)
            return OP_HTTP_HEAD_BAD(err, "malformed request head (RFC 9112 §5)");
        for (size_t k = 0; k < OP_NELEMS(op_http_head_singletons); k++) {
            if (strcasecmp(kv->key, op_http_head_singletons[k]) != 0)
                continue;
            if (vals[k] != NULL)
                return OP_HTTP_HEAD_BAD(err, "repeated %s header field (RFC 9110 §5.3)",
                                        op_http_head_singletons[k]);
            vals[k] = kv->value;
        }
    }
    return OP_OK;
}

/* See http/op_http_int.h. */
int op_http_head_check(const op_http_head_t *h, struct evhttp_request *evreq, op_err_t *err)
{
    const char *vals[OP_NELEMS(op_http_head_singletons)] = {NULL};
    const char *host, *clen, *te;
    int rc;

    if (h->bad != NULL)
        return OP_HTTP_HEAD_BAD(err, "%s", h->bad);
    if (h->state != OP_HTTP_HEAD_DONE || h->minor < 0)
        return OP_HTTP_HEAD_BAD(err, "malformed request head (RFC 9112 §2.1)");
    rc = op_http_head_singles(h, evhttp_request_get_input_headers(evreq), vals, err);
    if (rc != OP_OK)
        return rc;
    host = vals[OP_HTTP_HEAD_HOST];
    clen = vals[OP_HTTP_HEAD_CLEN];
    te = vals[OP_HTTP_HEAD_TE];
    if (host == NULL && h->minor >= 1)
        return OP_HTTP_HEAD_BAD(err, "an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)");
    if (host != NULL && !op_http_head_host_ok(host))
        return OP_HTTP_HEAD_BAD(err, "invalid Host header (RFC 9112 §3.2)");
    if (clen != NULL && !op_http_head_digits(clen))
        return OP_HTTP_HEAD_BAD(err, "invalid Content-Length (RFC 9112 §6.3)");
    if (te != NULL && (h->minor == 0 || clen != NULL))
        return OP_HTTP_HEAD_BAD(err, "Transfer-Encoding with %s (RFC 9112 §6.1)",
                                h->minor == 0 ? "HTTP/1.0" : "Content-Length");
    if (te != NULL && strcasecmp(te, "chunked") != 0)
        return op_http_head_te_error(te, err);
    /* evhttp reads no body for HEAD: it would parse it as a request. */
    if (evhttp_request_get_command(evreq) == EVHTTP_REQ_HEAD &&
        (te != NULL || (clen != NULL && strspn(clen, "0") != strlen(clen))))
        return OP_HTTP_HEAD_BAD(err, "a HEAD request with a body (RFC 9112 §6.3)");
    return OP_OK;
}
