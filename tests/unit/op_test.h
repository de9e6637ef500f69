/*
 * tests/unit/op_test.h - the unit test harness.
 *
 * A test file lists its cases in a table and ends with OP_TEST_MAIN(cases).
 * Each case runs in its own child process (so a crash, an ASan report or a
 * leak fails that case only) with a 60 s alarm. The binary prints one line
 * per case and closes with "N passed, N failed"; tests/run.sh adds up the
 * binaries and checks each one's exit status and number of cases against
 * tests/expected-counts. `./test_x name` runs one case (a name that matches
 * none is a failure, not an empty pass).
 */
#ifndef OP_TEST_H
#define OP_TEST_H

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct op_test_case {
    const char *name;
    void (*fn)(void);
} op_test_case_t;

#define OP_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define OP_CHECK_INT(a, b)                                                                         \
    do {                                                                                           \
        long long op_a_ = (long long)(a), op_b_ = (long long)(b);                                  \
        if (op_a_ != op_b_) {                                                                      \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a,    \
                    op_a_, #b, op_b_);                                                             \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define OP_CHECK_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *op_a_ = (a), *op_b_ = (b);                                                     \
        if (op_a_ == NULL || op_b_ == NULL || strcmp(op_a_, op_b_) != 0) {                         \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,      \
                    op_a_ ? op_a_ : "(null)", op_b_ ? op_b_ : "(null)");                           \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* hay (a C string) contains needle; both are evaluated once. */
#define OP_CHECK_HAS(hay, needle)                                                                  \
    do {                                                                                           \
        const char *op_h_ = (hay), *op_n_ = (needle);                                              \
        if (op_h_ == NULL || strstr(op_h_, op_n_) == NULL) {                                       \
            fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,         \
                    op_h_ ? op_h_ : "(null)", op_n_);                                              \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static int op_test_run_one(const op_test_case_t *tc)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 0;
    }
    if (pid == 0) {
        alarm(60);
        tc->fn();
        exit(0);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 1;
    if (WIFSIGNALED(st))
        fprintf(stderr, "  (killed by signal %d)\n", WTERMSIG(st));
    return 0;
}

static int op_test_main(int argc, char **argv, const op_test_case_t *cases, size_t n)
{
    size_t passed = 0, failed = 0;
    const char *prog = strrchr(argv[0], '/');
    prog = prog ? prog + 1 : argv[0];
    for (size_t i = 0; i < n; i++) {
        if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
            continue;
        if (op_test_run_one(&cases[i])) {
            passed++;
            printf("ok   %s.%s\n", prog, cases[i].name);
        } else {
            failed++;
            printf("FAIL %s.%s\n", prog, cases[i].name);
        }
    }
    if (argc > 1 && passed + failed == 0) {
        printf("FAIL %s: no case named %s\n", prog, argv[1]);
        failed++;
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    fflush(stdout); /* before a sanitizer report at exit ends the process */
    return failed ? 1 : 0;
}

#define OP_TEST_MAIN(cases)                                                                        \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return op_test_main(argc, argv, cases, sizeof(cases) / sizeof((cases)[0]));                \
    }

#endif
