/*
 * faults.h -- what the topic files of the faults suite (tests/faults/<topic>.c,
 * run by tests/check_faults.c) share: the fixtures and helpers of
 * check_faults.c and one function per topic that adds its test cases to the
 * suite.
 */
#ifndef WHELK_TESTS_FAULTS_H
#define WHELK_TESTS_FAULTS_H

#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "../common.h"

#define ARM() (armed = 1)
#define DISARM() (armed = 0)

/* Records a problem of the running sweep (reported at its end). */
void issue(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Records a problem when cond is false; evaluates to cond. */
#define EXPECT(cond, ...) ((cond) ? 1 : (issue(__VA_ARGS__), 0))

/* Lines given to the callback, per stream, into fixed buffers: the
 * callback runs armed, inside the library, and must not allocate. */
typedef struct lines {
    char text[2][4096]; /* [0] stdout, [1] stderr */
    size_t len[2];
    int n[2];
    int bad;
} lines;

/* What one run under injection came to. */
enum outcome {
    OUT_NORMAL,      /* undisturbed */
    OUT_NOMEM,       /* WHELK_E_NOMEM */
    OUT_NULL_OBJECT, /* a constructor returned NULL */
    OUT_RECOVERED,   /* the undisturbed outcome despite the failure */
    OUT_WRONG        /* anything else (an issue was recorded) */
};

/* A scenario builds and runs under injection (arming itself around the
 * library calls only), checks its outcome, frees everything. */
typedef enum outcome (*scenario_fn)(void);

typedef struct tally {
    long n; /* allocations of a complete, undisturbed run */
    int nomem, null_object, recovered, wrong;
    char recovered_at[256];
} tally;

/* ======================================================== scenarios */

/*
 * How scenarios build their commands and pipelines:
 *   BUILD_ABS   whelk_cmd_new(HELPER, ...) and whelk_pipe(c0, c1, NULL),
 *               as the issue's example reads;
 *   BUILD_PATH  the program found in PATH ("whelk-helper", with the
 *               command's own PATH set to the helper's directory) and the
 *               stages added with whelk_pipeline_new/whelk_pipeline_add:
 *               a second route through the builders and the PATH search.
 */
enum build { BUILD_ABS, BUILD_PATH };
/* The mode set_build chose, the helper's directory and the name a
 * BUILD_PATH command runs. */
extern enum build build_mode;
extern char helper_dir[4096];
extern const char *helper_name;

/* volatile: the compiler assumes malloc reads no program variable and
 * would otherwise move or drop the stores around a direct call. */
extern __thread volatile int armed;
extern __thread volatile long counted;
extern __thread volatile long fail_at;
extern __thread volatile int injected;

int collect_line(const whelk_line *l, void *ud);

int same_bytes(const char *got, size_t len, const char *want);

/* The error must be WHELK_E_NOMEM with ENOMEM and a message. */
enum outcome expect_nomem(const whelk_error *err);

/*
 * Runs fn undisturbed twice (a warm-up for the iconv modules and other
 * state the C library makes once), then with allocation N failing for
 * N = 1, 2, ... until no failure is injected.  Fails the test with every
 * issue found.
 */
tally sweep(const char *name, scenario_fn fn);

void set_build(enum build b);

/* A helper command with the given actions (up to 8, then NULL). */
whelk_cmd *mk_cmd(const char *first, ...);

/* A pipeline of one or two commands. */
whelk_pipeline *mk_pipe(whelk_cmd *a, whelk_cmd *b, int two);

/* The topics, in the order the suite runs them. */
void faults_injector(TCase *tc);
void faults_run(TCase *tc);
void faults_async(TCase *tc);
void faults_setup(TCase *tc);
void faults_null(TCase *tc);

#endif /* WHELK_TESTS_FAULTS_H */
