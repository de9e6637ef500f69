/*
 * examples/login-page/login_page_pwhash.c - Argon2id password checks on a
 * small pool of worker threads.
 *
 * crypto_pwhash_str_verify costs tens of milliseconds and 64 MiB with the
 * interactive limits: on the event loop it would stall every other
 * request. The loop queues a job (bounded: a full queue answers
 * OP_EUNAVAIL at once, which the page shows as "busy, try again"); a
 * worker verifies and moves the job to the done list, then writes a byte
 * to a pipe; an event on the loop's base reads the pipe and completes
 * each done job's op_call_t in the order the checks finished, so the
 * requester's callback runs exactly once, from the loop. Only the queue and done list are shared,
 * under one mutex.
 *
 * An unknown user is checked against a dummy hash made at start with the
 * same limits, so the answer takes as long as for a known user and does
 * not tell which usernames exist.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "examples/login-page/login_page.h"
#include "keys/op_keys.h"

#define LOGIN_PAGE_PWHASH_MAX_THREADS 64

typedef struct login_page_pwhash_job {
    op_list_t link; /* on the queue or on the done list */
    op_call_t *call;
    char *hash; /* NULL: the dummy */
    char *password;
    size_t password_len;
    int status;
} login_page_pwhash_job_t;

struct login_page_pwhash {
    op_loop_t *loop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    op_list_t queue; /* of login_page_pwhash_job_t, waiting */
    size_t queued, max_queue;
    op_list_t done; /* of login_page_pwhash_job_t, verified, for the loop */
    bool stopping;
    pthread_t threads[LOGIN_PAGE_PWHASH_MAX_THREADS];
    unsigned nthreads;
    int wake[2]; /* pipe: workers -> loop */
    struct event *wake_ev;
    char dummy[crypto_pwhash_STRBYTES];
};

/* Free a job, wiping the password. */
static void login_page_pwhash_job_free(login_page_pwhash_job_t *job)
{
    if (job->password != NULL) {
        sodium_memzero(job->password, job->password_len);
        free(job->password);
    }
    free(job->hash);
    free(job);
}

/* Complete the jobs of a list (loop side, no lock: the list is the
 * caller's) and free them. */
static void login_page_pwhash_finish(op_list_t *list)
{
    op_list_t *pos, *tmp;

    OP_LIST_FOREACH_SAFE (pos, tmp, list) {
        login_page_pwhash_job_t *job = OP_LIST_ENTRY(pos, login_page_pwhash_job_t, link);

        op_list_remove(pos);
        op_call_complete(job->call, job->status, NULL, NULL);
        login_page_pwhash_job_free(job);
    }
}

/* A worker: take a job, verify, hand it back; until stopping. */
static void *login_page_pwhash_worker(void *arg)
{
    login_page_pwhash_t *p = arg;

    for (;;) {
        login_page_pwhash_job_t *job;
        const char *hash;
        bool match;

        pthread_mutex_lock(&p->mu);
        while (!p->stopping && op_list_empty(&p->queue))
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stopping) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        job = OP_LIST_ENTRY(op_list_first(&p->queue), login_page_pwhash_job_t, link);
        op_list_remove(&job->link);
        p->queued--;
        pthread_mutex_unlock(&p->mu);

        hash = job->hash != NULL ? job->hash : p->dummy;
        match = crypto_pwhash_str_verify(hash, job->password, job->password_len) == 0;
        job->status = match && job->hash != NULL ? OP_OK : OP_EDENIED;
        sodium_memzero(job->password, job->password_len);

        pthread_mutex_lock(&p->mu);
        op_list_insert_tail(&p->done, &job->link);
        pthread_mutex_unlock(&p->mu);
        /* A full pipe already holds a pending wake-up: EAGAIN is fine. */
        while (write(p->wake[1], "x", 1) < 0 && errno == EINTR) {
        }
    }
}

/* The loop's side of the pipe: drain it, complete what is done. */
static void login_page_pwhash_on_wake(evutil_socket_t fd, short what, void *arg)
{
    login_page_pwhash_t *p = arg;
    op_list_t done;
    char buf[64];

    OP_UNUSED(what);
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
    pthread_mutex_lock(&p->mu);
    op_list_init(&done);
    op_list_move_tail(&done, &p->done);
    pthread_mutex_unlock(&p->mu);
    login_page_pwhash_finish(&done);
}

login_page_pwhash_t *login_page_pwhash_new(op_loop_t *loop, unsigned threads, size_t max_queue,
                                           op_err_t *err)
{
    login_page_pwhash_t *p;
    uint8_t pw[32];

    if (threads == 0 || threads > LOGIN_PAGE_PWHASH_MAX_THREADS || max_queue == 0) {
        OP_ERR(err, OP_EINVAL, "pwhash: 1 to %d threads and a queue of 1 or more",
               LOGIN_PAGE_PWHASH_MAX_THREADS);
        return NULL;
    }
    p = op_calloc(1, sizeof(*p));
    p->loop = loop;
    op_list_init(&p->queue);
    op_list_init(&p->done);
    p->max_queue = max_queue;
    p->wake[0] = p->wake[1] = -1;
    op_keys_crypto_rand_bytes(pw, sizeof(pw));
    if (crypto_pwhash_str(p->dummy, (const char *)pw, sizeof(pw),
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        OP_ERR(err, OP_ERROR, "pwhash: cannot make the dummy hash");
        goto out_free_pool;
    }
    if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        OP_ERR(err, OP_ERROR, "pwhash: pipe: %s", strerror(errno));
        goto out_free_pool;
    }
    p->wake_ev = event_new(op_loop_base(loop), p->wake[0], EV_READ | EV_PERSIST,
                           login_page_pwhash_on_wake, p);
    if (p->wake_ev == NULL || event_add(p->wake_ev, NULL) != 0) {
        OP_ERR(err, OP_ERROR, "pwhash: cannot watch the pipe");
        goto out_free_pool;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (; p->nthreads < threads; p->nthreads++) {
        if (pthread_create(&p->threads[p->nthreads], NULL, login_page_pwhash_worker, p) != 0) {
            OP_ERR(err, OP_ERROR, "pwhash: cannot start worker thread %u", p->nthreads + 1);
            login_page_pwhash_free(p);
            return NULL;
        }
    }
    return p;
out_free_pool:
    if (p->wake_ev != NULL)
        event_free(p->wake_ev);
    if (p->wake[0] >= 0) {
        close(p->wake[0]);
        close(p->wake[1]);
    }
    free(p);
    return NULL;
}

void login_page_pwhash_verify(login_page_pwhash_t *p, const char *hash, const char *password,
                              size_t password_len, op_call_cb cb, void *arg)
{
    op_call_t *call = op_call_new(p->loop, 0, cb, arg);
    login_page_pwhash_job_t *job = op_calloc(1, sizeof(*job));
    bool queued = false;

    job->password = op_malloc(password_len + 1);
    job->hash = hash != NULL ? op_strdup(hash) : NULL;
    memcpy(job->password, password, password_len);
    job->password[password_len] = '\0';
    job->password_len = password_len;
    job->call = call;

    pthread_mutex_lock(&p->mu);
    if (!p->stopping && p->queued < p->max_queue) {
        op_list_insert_tail(&p->queue, &job->link);
        p->queued++;
        queued = true;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (!queued) {
        op_call_complete(call, OP_EUNAVAIL, NULL, NULL);
        login_page_pwhash_job_free(job);
    }
}

/*
 * Stop: the workers finish the check they are on and exit; jobs still
 * waiting are cancelled. Callbacks still run later, from the loop (the
 * loop must outlive this call until they have).
 */
void login_page_pwhash_free(login_page_pwhash_t *p)
{
    op_list_t *pos, *tmp;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    OP_LIST_FOREACH_SAFE (pos, tmp, &p->queue)
        OP_LIST_ENTRY(pos, login_page_pwhash_job_t, link)->status = OP_ECANCELED;
    login_page_pwhash_finish(&p->queue);
    login_page_pwhash_finish(&p->done);
    event_free(p->wake_ev);
    close(p->wake[0]);
    close(p->wake[1]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
