/*
 * core/op_main.c - the tessera command.
 *
 *   tessera --config FILE [--workers N]   run the server
 *   tessera --check-config FILE           validate config + clients, exit 0/1
 *
 * With --workers N > 1 the parent forks N identical single-threaded
 * workers that each bind the same port with SO_REUSEPORT, and supervises
 * them: SIGTERM / SIGINT are passed on and the parent exits when all
 * workers have; a worker killed by a signal (a crash) is replaced, one that
 * fails to start ends the whole server. The memory store lives inside one
 * process, so several workers are refused with it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/proto/op_client.h"
#include "core/flows/op_flows.h"
#include "core/server/op_server.h"

#define OP_MAIN_MAX_WORKERS  256
#define OP_MAIN_MAX_RESPAWNS 10 /* per worker slot */

extern char **environ;

static void op_main_usage(FILE *out)
{
    fprintf(out, "usage: tessera --config FILE [--workers N]\n"
                 "       tessera --check-config FILE\n");
}

static int op_main_check(const char *path)
{
    op_config_t *cfg = NULL;
    op_err_t err;
    op_err_clear(&err);
    if (op_config_load(path, environ, &cfg, &err) != OP_OK) {
        fprintf(stderr, "%s\n", err.description);
        return 1;
    }
    int rc = 0;
    if (cfg->clients_file != NULL) {
        op_arena_t *a = op_arena_new(16u << 20);
        op_client_t *clients;
        size_t n;
        if (op_client_load_file(cfg->clients_file, a, &clients, &n, &err) != OP_OK ||
            op_client_check_config(clients, n, cfg, &err) != OP_OK) {
            fprintf(stderr, "%s\n", err.description);
            rc = 1;
        }
        op_arena_free(a);
    }
    if (rc == 0)
        printf("%s: configuration OK\n", path);
    op_config_release(cfg);
    return rc;
}

static volatile sig_atomic_t op_main_stop_signo;

static void op_main_on_stop_signal(int signo)
{
    op_main_stop_signo = signo;
}

static pid_t op_main_spawn(op_config_t *cfg)
{
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        int rc = op_server_run(cfg, true, op_flows_endpoints, op_flows_n_endpoints);
        op_config_release(cfg);
        exit(rc);
    }
    if (pid < 0)
        op_log_error(NULL, "fork: %s", strerror(errno));
    return pid;
}

/* Fork n workers and supervise them until they have all exited. */
static int op_main_supervise(op_config_t *cfg, int n)
{
    pid_t pids[OP_MAIN_MAX_WORKERS];
    int respawns[OP_MAIN_MAX_WORKERS] = {0};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = op_main_on_stop_signal; /* no SA_RESTART: wake waitpid */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int alive = 0, rc = 0;
    for (int i = 0; i < n; i++) {
        pids[i] = op_main_spawn(cfg);
        if (pids[i] > 0)
            alive++;
    }
    op_log_info(NULL, "supervisor: %d workers started", alive);
    bool forwarded = false;
    while (alive > 0) {
        if (op_main_stop_signo != 0 && !forwarded) {
            forwarded = true;
            for (int i = 0; i < n; i++) {
                if (pids[i] > 0)
                    kill(pids[i], SIGTERM);
            }
        }
        int st;
        pid_t pid = waitpid(-1, &st, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        int slot = -1;
        for (int i = 0; i < n; i++) {
            if (pids[i] == pid)
                slot = i;
        }
        if (slot < 0)
            continue;
        pids[slot] = -1;
        alive--;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            continue;
        if (WIFEXITED(st)) { /* failed to start: the config or the store is wrong */
            rc = 1;
            if (op_main_stop_signo == 0)
                op_main_stop_signo = SIGTERM;
            continue;
        }
        op_log_error(NULL, "supervisor: worker %d killed by signal %d", (int)pid, WTERMSIG(st));
        if (op_main_stop_signo == 0 && respawns[slot]++ < OP_MAIN_MAX_RESPAWNS) {
            pids[slot] = op_main_spawn(cfg);
            if (pids[slot] > 0)
                alive++;
        } else {
            rc = 1;
        }
    }
    op_log_info(NULL, "supervisor: all workers stopped");
    return rc;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *check_path = NULL;
    long workers = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "--check-config") == 0 && i + 1 < argc) {
            check_path = argv[++i];
        } else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            int64_t v;
            const char *s = argv[++i];
            if (!op_str_parse_i64(s, strlen(s), 1, OP_MAIN_MAX_WORKERS, &v)) {
                fprintf(stderr, "--workers: expected 1..%d, got \"%s\"\n", OP_MAIN_MAX_WORKERS, s);
                return 2;
            }
            workers = (long)v;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            op_main_usage(stdout);
            return 0;
        } else {
            op_main_usage(stderr);
            return 2;
        }
    }
    /* A peer (a client, Redis) that goes away while we write must surface
     * as a write error, not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    if (op_keys_global_init() != OP_OK) {
        fprintf(stderr, "cannot initialise the crypto libraries\n");
        return 1;
    }
    if (check_path != NULL)
        return op_main_check(check_path);
    if (config_path == NULL) {
        op_main_usage(stderr);
        return 2;
    }

    op_config_t *cfg = NULL;
    op_err_t err;
    op_err_clear(&err);
    if (op_config_load(config_path, environ, &cfg, &err) != OP_OK) {
        fprintf(stderr, "%s\n", err.description);
        return 1;
    }
    op_log_init(cfg->log_level, 2);
    for (const char *const *w = op_config_warnings(cfg); *w != NULL; w++)
        op_log_warn(NULL, "%s", *w);
    int rc;
    if (workers > 1 && cfg->storage_kind == OP_STORE_MEMORY) {
        op_log_error(NULL,
                     "--workers %ld needs a shared store: the memory store serves "
                     "one process only (set storage.type = redis)",
                     workers);
        rc = 1;
    } else if (workers > 1) {
        rc = op_main_supervise(cfg, (int)workers);
    } else {
        rc = op_server_run(cfg, false, op_flows_endpoints, op_flows_n_endpoints);
    }
    op_config_release(cfg);
    return rc;
}
