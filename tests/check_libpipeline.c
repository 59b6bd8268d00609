/*
 * check_libpipeline.c -- libwhelk agrees with libpipeline, the established
 * library (Debian's libpipeline-dev), on every pipeline both can express
 * (issue 3).
 *
 * A table of pipelines of the helper child (tests/whelk-helper) is run
 * through libwhelk (checking off) and through libpipeline (pipeline_start,
 * pipeline_read, pipeline_wait_all); stdout bytes and the status of every
 * stage must be the same, and must be what the case expects.  Where
 * libpipeline's behaviour is a known defect the test states the difference
 * instead of agreeing with it:
 *
 *   - a program that is not found: libpipeline forks, the child prints
 *     "can't execute" and exits 255, indistinguishable from a program that
 *     exits 255; libwhelk reports WHELK_E_NOTFOUND in the parent and
 *     spawns nothing.
 *   - an output file that cannot be opened: libpipeline calls exit() in the
 *     host program (so that case runs in a forked child here); libwhelk
 *     returns WHELK_E_IO naming the file.
 *
 * libpipeline is process-global (a SIGCHLD handler that reaps with
 * waitpid(-1), SIGINT/SIGQUIT ignored during a run).  Each case is a loop
 * test, run in its own Check process; within it libwhelk runs first, and
 * the SIGCHLD disposition is restored after libpipeline has run.
 *
 * The runner and fixtures; the tests are in tests/libpipeline/<topic>.c, one
 * file per topic, sharing tests/libpipeline/libpipeline.h.
 */
#include "libpipeline/libpipeline.h"

/* ------------------------------------------------------------ helpers */

void trap_stderr(stderr_trap *t, const char *name)
{
    int fd;

    t->path = tmp_path(name);
    fd = open(t->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    t->saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
    ck_assert_int_ge(t->saved, 0);
    ck_assert_int_eq(dup2(fd, 2), 2);
    close(fd);
}

/* Restores fd 2; returns what was written to it (malloc'd). */
char *untrap_stderr(stderr_trap *t)
{
    char *text;

    fflush(stderr);
    dup2(t->saved, 2);
    close(t->saved);
    text = slurp(t->path, NULL);
    ck_assert_ptr_nonnull(text);
    free(t->path);
    return text;
}

/* ============================================================= suite */

static Suite *libpipeline_suite(void)
{
    Suite *s = suite_create("libpipeline");

    libpipeline_agree(s);
    libpipeline_differ(s);

    return s;
}

int main(void)
{
    return run_suite(libpipeline_suite());
}
