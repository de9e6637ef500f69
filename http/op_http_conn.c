/*
 * http/op_http_conn.c - the connections under evhttp: the listening
 * socket, accepting (paused at the connection cap and after accept
 * errors), and per connection the scan of each request head and the
 * deadline for its head and body.
 *
 * libevent 2.1.12 has no connection cap, no hook for a new connection
 * and no accept error handling in evhttp (its listener logs "Error from
 * accept()" and returns; the socket stays readable, so at EMFILE the
 * loop spins). Its idle timeout restarts with every byte, so a head sent
 * a byte at a time is never cut off. So the server owns the pieces evhttp
 * lets it own: the listening socket (an evconnlistener bound with
 * evhttp_bind_listener, whose error callback pauses accepting and whose
 * enable/disable implements the cap) and the bufferevent of every
 * connection (evhttp_set_bevcb). A callback on that bufferevent's input
 * buffer sees every byte before evhttp parses it: the bytes of each head
 * go to op_http_head_feed, and the first byte of a request starts its
 * deadline.
 *
 * evhttp creates the evhttp_connection only after the bufferevent, so a
 * new connection is attached to it in an event made active at accept:
 * it runs in the same loop pass, before any read. Its close callback
 * ends our side. The bufferevent carries one reference of ours until
 * then, so the attach can tell a connection evhttp already dropped (its
 * callbacks are cleared) from a live one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "http/op_http_int.h"

/* How long accepting pauses after an accept error (EMFILE, ENFILE, ...). */
#define OP_HTTP_CONN_RETRY_MS 100
/* Descriptors a worker needs besides its connections (store, log, ...). */
#define OP_HTTP_CONN_FD_RESERVE 64

struct op_http_conn {
    op_http_t *http;
    struct bufferevent *bev; /* holds a reference of ours until closed */
    struct evbuffer_cb_entry *scan;
    struct evhttp_connection *evcon; /* NULL until attached */
    struct event attach;             /* active right after the accept */
    op_timer_t *deadline;            /* head + body of the current request */
    int fd;                          /* -1 until attached */
    op_list_t link;                  /* in http->conns */
    op_http_head_t head;             /* the scan of the current head */
    bool busy;                       /* a request is with the handlers */
};

/* Servers with a listener: the listener's error callback gets evhttp's
 * argument, not ours, so it finds its server here. */
static op_list_t op_http_conn_servers = OP_LIST_INIT(op_http_conn_servers);

/* ---- accepting ---------------------------------------------------------- */

/* Enable the listener unless stopped, pausing after an error or at the
 * connection cap; disable it otherwise. */
static void op_http_conn_accept_update(op_http_t *http)
{
    size_t open = http->stats.connections;
    bool want =
        http->listener != NULL && !op_timer_pending(http->accept_retry) && open < http->max_conns;

    if (open <= http->max_conns / 2)
        http->cap_warned = false;
    if (want == http->accepting)
        return;
    if ((want ? evconnlistener_enable(http->listener) : evconnlistener_disable(http->listener)) ==
        0)
        http->accepting = want;
    /* Once until the count has fallen to half the cap again. */
    if (!want && open >= http->max_conns && http->listener != NULL && !http->cap_warned) {
        op_log_warn(NULL, "http: %zu connections open (http.maxConnections), pausing new ones",
                    open);
        http->cap_warned = true;
    }
}

static void op_http_conn_on_retry(void *arg)
{
    op_http_conn_accept_update(arg);
}

/*
 * accept() failed with an error that is not transient (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM, ...): pause accepting for OP_HTTP_CONN_RETRY_MS
 * instead of returning to a listening socket that is still readable.
 * One line per episode; the next accepted connection ends it.
 */
static void op_http_conn_on_accept_error(struct evconnlistener *lev, void *arg)
{
    int e = EVUTIL_SOCKET_ERROR();
    op_http_t *http = NULL;
    op_list_t *pos, *tmp;

    OP_UNUSED(arg);
    OP_LIST_FOREACH_SAFE (pos, tmp, &op_http_conn_servers) {
        op_http_t *s = OP_LIST_ENTRY(pos, op_http_t, server_link);
        if (s->listener == lev) {
            http = s;
            break;
        }
    }
    if (http == NULL) {
        evconnlistener_disable(lev);
        return;
    }
    http->stats.accept_errors++;
    if (http->accept_failures++ == 0)
        op_log_warn(NULL, "http: accept: %s; pausing new connections for %d ms", strerror(e),
                    OP_HTTP_CONN_RETRY_MS);
    op_timer_start(http->accept_retry, OP_HTTP_CONN_RETRY_MS);
    op_http_conn_accept_update(http);
}

/* ---- one connection --------------------------------------------------- */

/* Forget the connection: it is closed, or evhttp dropped it. */
static void op_http_conn_release(op_http_conn_t *c)
{
    op_http_t *http = c->http;

    evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->scan);
    event_del(&c->attach);
    op_timer_free(c->deadline);
    if (c->fd >= 0 && (size_t)c->fd < http->nby_fd && http->by_fd[c->fd] == c)
        http->by_fd[c->fd] = NULL;
    op_list_remove(&c->link);
    bufferevent_decref(c->bev);
    free(c);
    http->stats.connections--;
    op_http_conn_accept_update(http);
}

/* evhttp closes the connection (its close callback). */
static void op_http_conn_on_close(struct evhttp_connection *evcon, void *arg)
{
    OP_UNUSED(evcon);
    op_http_conn_release(arg);
}

/* The deadline passed with the request still incomplete: close as a read
 * timeout does (evhttp drops the connection without an answer). */
static void op_http_conn_on_deadline(void *arg)
{
    op_http_conn_t *c = arg;
    char *addr = NULL;
    ev_uint16_t port = 0;

    c->http->stats.read_timeouts++;
    evhttp_connection_get_peer(c->evcon, &addr, &port);
    op_log_info(NULL, "http: request from %s not received within %llu ms, closing",
                addr != NULL ? addr : "-", (unsigned long long)c->http->read_timeout_ms);
    bufferevent_trigger_event(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, 0);
}

/* Scan the input bytes from offset `from` as the current head. */
static void op_http_conn_scan(op_http_conn_t *c, struct evbuffer *buf, size_t from)
{
    size_t len = evbuffer_get_length(buf);
    struct evbuffer_ptr pos;
    struct evbuffer_iovec v[4];

    while (from < len && !op_http_head_done(&c->head) &&
           evbuffer_ptr_set(buf, &pos, from, EVBUFFER_PTR_SET) == 0) {
        int n = evbuffer_peek(buf, (ev_ssize_t)(len - from), &pos, v, OP_NELEMS(v));

        if (n <= 0)
            break;
        for (int i = 0; i < n && i < (int)OP_NELEMS(v) && from < len; i++) {
            size_t take = v[i].iov_len < len - from ? v[i].iov_len : len - from;

            op_http_head_feed(&c->head, v[i].iov_base, take);
            from += take;
        }
    }
}

/* Bytes arrived (the bufferevent appends what it reads): the first byte
 * of a request starts its deadline; a head's bytes are scanned. */
static void op_http_conn_on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
                                  void *arg)
{
    op_http_conn_t *c = arg;

    if (info->n_added == 0 || op_http_head_done(&c->head))
        return;
    if (!c->busy && !c->head.seen && !op_timer_pending(c->deadline))
        op_timer_start(c->deadline, c->http->read_timeout_ms);
    op_http_conn_scan(c, buf, evbuffer_get_length(buf) - info->n_added);
}

/* Index the connection by its descriptor. */
static void op_http_conn_register(op_http_conn_t *c, int fd)
{
    op_http_t *http = c->http;

    if ((size_t)fd >= http->nby_fd) {
        size_t n = http->nby_fd > 0 ? http->nby_fd : 64;
        op_http_conn_t **t;

        while (n <= (size_t)fd)
            n *= 2;
        t = op_realloc(http->by_fd, n * sizeof(*t));
        memset(t + http->nby_fd, 0, (n - http->nby_fd) * sizeof(*t));
        http->by_fd = t;
        http->nby_fd = n;
    }
    http->by_fd[fd] = c;
    c->fd = fd;
}

/* Right after the accept: find the evhttp_connection evhttp made for our
 * bufferevent, or learn that evhttp already dropped it. */
static void op_http_conn_on_attach(evutil_socket_t fd, short what, void *arg)
{
    op_http_conn_t *c = arg;
    bufferevent_event_cb eventcb = NULL;
    void *evcon = NULL;

    OP_UNUSED(fd);
    OP_UNUSED(what);
    bufferevent_getcb(c->bev, NULL, NULL, &eventcb, &evcon);
    if (eventcb == NULL || evcon == NULL) {
        op_http_conn_release(c);
        return;
    }
    c->evcon = evcon;
    evhttp_connection_set_closecb(c->evcon, op_http_conn_on_close, c);
    op_http_conn_register(c, bufferevent_getfd(c->bev));
}

/*
 * evhttp's bufferevent callback, run for every accepted connection: our
 * bufferevent (a plain socket one, as evhttp would make), counted, with
 * its first deadline running from now. NULL when libevent cannot make
 * it: evhttp then makes its own, and op_http_conn_begin refuses its
 * requests.
 */
static struct bufferevent *op_http_conn_new_bev(struct event_base *base, void *arg)
{
    op_http_t *http = arg;
    op_http_conn_t *c = op_calloc(1, sizeof(*c));

    c->http = http;
    c->fd = -1;
    op_http_head_reset(&c->head);
    c->deadline = op_timer_new(http->loop, op_http_conn_on_deadline, c);
    c->bev = bufferevent_socket_new(base, -1, 0);
    if (c->bev == NULL)
        goto out_free_conn;
    c->scan = evbuffer_add_cb(bufferevent_get_input(c->bev), op_http_conn_on_input, c);
    if (event_assign(&c->attach, base, -1, 0, op_http_conn_on_attach, c) != 0)
        goto out_free_conn;
    bufferevent_incref(c->bev);
    event_active(&c->attach, EV_TIMEOUT, 0);
    op_timer_start(c->deadline, http->read_timeout_ms);
    op_list_insert_tail(&http->conns, &c->link);
    http->stats.connections++;
    http->stats.accepted++;
    if (http->accept_failures > 0) {
        op_log_info(NULL, "http: accepting again after %llu failed accepts",
                    (unsigned long long)http->accept_failures);
        http->accept_failures = 0;
    }
    op_http_conn_accept_update(http);
    return c->bev;
out_free_conn:
    if (c->bev != NULL)
        bufferevent_free(c->bev);
    op_timer_free(c->deadline);
    free(c);
    op_log_error(NULL, "http: libevent cannot set up a new connection");
    return NULL;
}

/* The answer went out and the connection stays: the next request's
 * deadline starts now if its first byte already came, else with it. */
static void op_http_conn_on_complete(struct evhttp_request *evreq, void *arg)
{
    op_http_conn_t *c = arg;

    OP_UNUSED(evreq);
    c->busy = false;
    if (c->head.seen)
        op_timer_start(c->deadline, c->http->read_timeout_ms);
}

/* Our connection under evcon, NULL when it is not one of ours. */
static op_http_conn_t *op_http_conn_of(op_http_t *http, struct evhttp_connection *evcon)
{
    struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
    int fd = bev != NULL ? bufferevent_getfd(bev) : -1;
    op_http_conn_t *c = fd >= 0 && (size_t)fd < http->nby_fd ? http->by_fd[fd] : NULL;

    return c != NULL && c->evcon == evcon ? c : NULL;
}

/* See http/op_http_int.h. Everything evhttp has not consumed when it
 * hands a request over belongs to the next request. */
bool op_http_conn_begin(op_http_t *http, struct evhttp_request *evreq, op_http_head_t *head)
{
    op_http_conn_t *c = op_http_conn_of(http, evhttp_request_get_connection(evreq));

    if (c == NULL)
        return false;
    op_timer_stop(c->deadline);
    c->busy = true;
    *head = c->head;
    op_http_head_reset(&c->head);
    op_http_conn_scan(c, bufferevent_get_input(c->bev), 0);
    evhttp_request_set_on_complete_cb(evreq, op_http_conn_on_complete, c);
    return true;
}

/* See http/op_http_int.h. The output buffer is frozen at its front while
 * the bufferevent is not writing (libevent's own write callback thaws it
 * the same way); bufferevent_trigger runs evhttp's write callback at once,
 * as the bufferevent defers no callbacks. */
void op_http_conn_flush(op_http_t *http, struct evhttp_connection *evcon)
{
    op_http_conn_t *c = op_http_conn_of(http, evcon);

    if (c == NULL)
        return;
    struct bufferevent *bev = c->bev;
    struct evbuffer *out = bufferevent_get_output(bev);
    evbuffer_unfreeze(out, 1);
    int n = evbuffer_write(out, c->fd);
    evbuffer_freeze(out, 1);
    /* c may be gone after this: an answer that closes frees it */
    if (n > 0 && evbuffer_get_length(out) == 0)
        bufferevent_trigger(bev, EV_WRITE, 0);
}

/* ---- the listening socket --------------------------------------------- */

/* Create, bind and listen on cfg->address:cfg->port ourselves, so that
 * SO_REUSEPORT can be set for workers sharing the port. */
static int op_http_conn_bind(const op_http_config_t *cfg, int *out, op_err_t *err)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    socklen_t sl;
    int fd, on = 1;

    memset(&ss, 0, sizeof(ss));
    if (cfg->address == NULL || cfg->port < 0 || cfg->port > 65535)
        return OP_ERR(err, OP_EINVAL, "http: an IP address and a port 0..65535 are needed");
    if (inet_pton(AF_INET, cfg->address, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)cfg->port);
        sl = sizeof(*sin);
    } else if (inet_pton(AF_INET6, cfg->address, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)cfg->port);
        sl = sizeof(*sin6);
    } else {
        return OP_ERR(err, OP_EINVAL, "http: '%s' is not an IP address", cfg->address);
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return OP_ERR(err, OP_ERROR, "socket: %s", strerror(errno));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        (cfg->reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)) {
        OP_ERR(err, OP_ERROR, "setsockopt: %s", strerror(errno));
        close(fd);
        return OP_ERROR;
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, SOMAXCONN) != 0) {
        OP_ERR(err, OP_ERROR, "cannot listen on %s:%d: %s", cfg->address, cfg->port,
               strerror(errno));
        close(fd);
        return OP_ERROR;
    }
    *out = fd;
    return OP_OK;
}

/* The port of the bound socket fd. */
static int op_http_conn_port(int fd, int *port, op_err_t *err)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return OP_ERR(err, OP_ERROR, "getsockname: %s", strerror(errno));
    if (ss.ss_family == AF_INET)
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
        *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else
        return OP_ERR(err, OP_EINVAL, "the listening socket is not TCP/IP");
    return OP_OK;
}

/* A cap above the descriptor limit is reached as EMFILE first. */
static void op_http_conn_check_rlimit(const op_http_t *http)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)(http->max_conns + OP_HTTP_CONN_FD_RESERVE))
        op_log_warn(NULL,
                    "http: up to %zu connections, but %llu descriptors (RLIMIT_NOFILE): "
                    "accepting will pause at the descriptor limit",
                    http->max_conns, (unsigned long long)rl.rlim_cur);
}

/* See http/op_http_int.h. */
int op_http_conn_listen(op_http_t *http, const op_http_config_t *cfg, op_err_t *err)
{
    int fd = cfg->fd, rc;

    if (fd < 0 && (rc = op_http_conn_bind(cfg, &fd, err)) != OP_OK)
        return rc;
    rc = op_http_conn_port(fd, &http->port, err);
    if (rc == OP_OK && evutil_make_socket_nonblocking(fd) != 0)
        rc = OP_ERR(err, OP_ERROR, "cannot make the listening socket non-blocking");
    http->accept_retry = rc == OP_OK ? op_timer_new(http->loop, op_http_conn_on_retry, http) : NULL;
    if (rc == OP_OK) {
        /* Backlog 0: the socket listens already. Not LEV_OPT_CLOSE_ON_FREE:
         * the socket is closed here, and stays the caller's on failure. */
        http->listener =
            evconnlistener_new(op_loop_base(http->loop), NULL, NULL, LEV_OPT_CLOSE_ON_EXEC, 0, fd);
        if (http->listener == NULL ||
            (http->bound = evhttp_bind_listener(http->evh, http->listener)) == NULL) {
            if (http->listener != NULL)
                evconnlistener_free(http->listener);
            http->listener = NULL;
            rc = OP_ERR(err, OP_ERROR, "cannot accept on the listening socket");
        }
    }
    if (rc != OP_OK) {
        if (cfg->fd < 0)
            close(fd);
        return rc;
    }
    http->listen_fd = fd;
    http->accepting = true;
    evconnlistener_set_error_cb(http->listener, op_http_conn_on_accept_error);
    evhttp_set_bevcb(http->evh, op_http_conn_new_bev, http);
    op_list_insert_tail(&op_http_conn_servers, &http->server_link);
    op_http_conn_check_rlimit(http);
    return OP_OK;
}

void op_http_conn_stop_accepting(op_http_t *http)
{
    if (http->bound != NULL)
        evhttp_del_accept_socket(http->evh, http->bound);
    http->bound = NULL;
    http->listener = NULL;
    http->accepting = false;
    if (http->listen_fd >= 0)
        close(http->listen_fd);
    http->listen_fd = -1;
}

void op_http_conn_before_free(op_http_t *http)
{
    http->bound = NULL;
    http->listener = NULL; /* evhttp_free frees it */
    http->accepting = false;
}

/* Connections evhttp freed before they were attached hold only our
 * reference now; the rest were released by their close callbacks. */
void op_http_conn_after_free(op_http_t *http)
{
    op_list_t *first;

    while ((first = op_list_first(&http->conns)) != NULL)
        op_http_conn_release(OP_LIST_ENTRY(first, op_http_conn_t, link));
    op_list_remove(&http->server_link);
    if (http->listen_fd >= 0)
        close(http->listen_fd);
    http->listen_fd = -1;
    op_timer_free(http->accept_retry);
    http->accept_retry = NULL;
    free(http->by_fd);
    http->by_fd = NULL;
    http->nby_fd = 0;
}

void op_http_conn_stats(const op_http_t *http, op_http_stats_t *out)
{
    *out = http->stats;
}
