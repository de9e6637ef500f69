/*
 * tests/bench/load.h - the load driver's workers: tests/bench/load.c runs
 * them and measures, tests/bench/load_flow.c sends each state's request and
 * reads its answer.
 */
#ifndef BENCH_LOAD_H
#define BENCH_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/op.h"

struct event;
struct event_base;
struct evhttp_connection;
struct evhttp_request;

#define BENCH_LOAD_COOKIES_MAX 16   /* the user agent's jar */
#define BENCH_LOAD_TOKEN_MAX   4096 /* the refresh token a worker keeps */

/* A worker's state: the request in flight. */
typedef enum {
    BENCH_LOAD_IDLE = 0, /* between two operations, or the run is over */
    BENCH_LOAD_GET,      /* discovery or JWKS: the one GET */
    BENCH_LOAD_SESSION,  /* Tessera: POST the authorisation request -> sid */
    BENCH_LOAD_AUTHN,    /* PUT the authenticated user -> sid */
    BENCH_LOAD_CONSENT,  /* PUT the consent -> the response URI with the code */
    BENCH_LOAD_AUTH,     /* the peer: GET /auth?... -> the interaction */
    BENCH_LOAD_LOGIN,    /* POST /interaction/:uid (sub=...) -> the resume URL */
    BENCH_LOAD_RESUME,   /* GET /auth/:uid -> the callback with the code */
    BENCH_LOAD_CODE,     /* POST /token, authorization_code -> the tokens */
    BENCH_LOAD_USERINFO, /* GET UserInfo with the access token */
    BENCH_LOAD_REFRESH,  /* POST /token, refresh_token -> the rotated token */
    BENCH_LOAD_STATE_MAX
} bench_load_state_t;

typedef enum {
    BENCH_LOAD_DISCOVERY,
    BENCH_LOAD_JWKS,
    BENCH_LOAD_FLOW,
    BENCH_LOAD_REFRESHES
} bench_load_kind_t;

/* What a worker's operation is. */
typedef struct bench_load_workload {
    const char *name;
    bench_load_kind_t kind;
} bench_load_workload_t;

/* The server driven: its paths, and where its front channel begins. */
typedef struct bench_load_server {
    const char *name;
    const char *jwks;
    const char *userinfo;
    bench_load_state_t front; /* the first state of a flow */
} bench_load_server_t;

/* The run: warming up, counting (the measured window), then finishing the
 * operations in flight. */
typedef enum { BENCH_LOAD_WARMUP, BENCH_LOAD_MEASURE, BENCH_LOAD_DRAIN } bench_load_phase_t;

typedef struct bench_load_run bench_load_run_t;

typedef struct bench_load_cookie {
    const char *name;
    const char *value;
} bench_load_cookie_t;

/* One worker: a connection and the operation in flight on it. */
typedef struct bench_load_worker {
    bench_load_run_t *run;
    size_t id;
    struct evhttp_connection *evcon;
    bench_load_state_t state;
    /* The operation in flight; all of it lives in its arena. */
    op_arena_t *a;
    uint64_t t0;     /* its start, ns */
    bool seeding;    /* a flow for the refresh token only: not counted */
    const char *sub; /* the user the flow logs in */
    const char *verifier;
    const char *query; /* the authorisation request */
    const char *sid;   /* Tessera's authorisation session */
    const char *path;  /* the peer's next front-channel step */
    const char *code;
    const char *access_token;
    bench_load_cookie_t jar[BENCH_LOAD_COOKIES_MAX];
    size_t njar;
    /* Kept across operations: the refresh workload's token ("" for none). */
    char refresh_token[BENCH_LOAD_TOKEN_MAX];
    bool seeded; /* it has had one */
} bench_load_worker_t;

/* The whole run: the loop, the workers, the window and its figures. */
struct bench_load_run {
    struct event_base *base;
    const bench_load_server_t *server;
    const bench_load_workload_t *workload;
    char host[300]; /* the Host header: "address:port" */
    bench_load_worker_t *workers;
    size_t nworkers, nseeded, nidle;
    double seconds; /* the window, or 0 with max_ops */
    uint64_t max_ops;
    int server_pid; /* 0: none */
    bench_load_phase_t phase;
    bool warm; /* the warm-up time is over */
    struct event *warm_timer, *end_timer;
    uint64_t next_sub;
    /* The measured window. */
    uint64_t t0, t1;
    double cpu0, cpu1, srv0, srv1;
    uint64_t *lat; /* ns, of each operation ended in the window */
    size_t nlat, cap;
    uint64_t errors;
    int status; /* the exit status */
};

/*
 * The authorisation request of a new flow (RFC 7636 §4.1-4.2): w->verifier
 * and w->query, in the operation's arena. OP_OK or OP_ETOOBIG in err.
 */
int bench_load_flow_begin(bench_load_worker_t *w, op_err_t *err);

/*
 * Send the request of w->state on the worker's connection; its answer goes
 * to bench_load_on_answer. OP_OK, or an error in err (nothing sent).
 */
int bench_load_flow_send(bench_load_worker_t *w, op_err_t *err);

/*
 * Read the answer to w->state's request: what the flow keeps of it (in the
 * operation's arena, or the worker's refresh token), and *next, the next
 * state (BENCH_LOAD_IDLE: the operation is complete). OP_OK or an error in
 * err.
 */
int bench_load_flow_read(bench_load_worker_t *w, struct evhttp_request *req,
                         bench_load_state_t *next, op_err_t *err);

/* evhttp's completion of a worker's request (tests/bench/load.c). */
void bench_load_on_answer(struct evhttp_request *req, void *arg);

#endif
