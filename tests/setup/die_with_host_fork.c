/*
 * setup/die_with_host_fork.c -- die_with_host across the host's fork(): a
 * run in flight stays the parent's.  Its stages die with the parent
 * process, not with a child the host forked, and a forked child that
 * lives on does not keep them alive (whelk.h, whelk_pipeline_die_with_host).
 * Run by tests/check_setup.c.
 *
 * The forked children touch nothing of the library (what the manual asks
 * of them): they only _exit, or block reading a pipe the test holds.
 * Ordering comes from the host's exit and that pipe, never from sleeps.
 */
#include "setup.h"

/* In the forked host: start a die_with_host run, fork a child that exits
 * at once (the stage must live on), fork one that blocks reading hold_fd,
 * tell the test both pids on report_fd, and exit.  Exit status 0, or the
 * step that failed. */
static void host_main(int report_fd, int hold_fd)
{
    whelk_pipeline *p = whelk_pipe(H("sleep:20000"), NULL);
    whelk_proc *pr;
    pid_t pids[2], c;
    siginfo_t si;
    int st;
    char b;

    whelk_pipeline_die_with_host(p, 1);
    whelk_pipeline_stdout(p, WHELK_NULL);
    whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_NULL);
    if (!(pr = whelk_start(p, NULL)))
        _exit(3);
    pids[0] = whelk_proc_pid(pr, 0);
    if ((c = fork()) == 0)
        _exit(0);
    if (c < 0 || waitpid(c, &st, 0) != c)
        _exit(4);
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)pids[0], &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        si.si_pid != 0)
        _exit(5); /* the stage died with the forked child */
    if ((c = fork()) == 0) {
        while (read(hold_fd, &b, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    if (c < 0)
        _exit(6);
    pids[1] = c;
    if (write(report_fd, pids, sizeof pids) != (ssize_t)sizeof pids)
        _exit(7);
    _exit(0);
}

START_TEST(test_die_with_host_across_fork)
{
    int report[2], hold[2], st;
    pid_t host, pids[2];

    /* the orphans (stage, forked child) become the test's children */
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    ck_assert_int_eq(pipe2(report, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(hold, O_CLOEXEC), 0);
    host = fork();
    ck_assert_int_ge(host, 0);
    if (host == 0) {
        close(report[0]);
        close(hold[1]);
        host_main(report[1], hold[0]);
    }
    close(report[1]);
    close(hold[0]);
    ck_assert_int_eq(read(report[0], pids, sizeof pids), sizeof pids);
    close(report[0]);
    ck_assert_int_eq(waitpid(host, &st, 0), host);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "host status %#x",
                  st);
    /* the stage died with its host, while the host's forked child lives */
    ck_assert_int_eq(waitpid(pids[0], &st, 0), pids[0]);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
                  "stage status %#x", st);
    ck_assert_int_eq(waitpid(pids[1], &st, WNOHANG), 0);
    close(hold[1]);
    ck_assert_int_eq(waitpid(pids[1], &st, 0), pids[1]);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x",
                  st);
    ASSERT_NO_CHILDREN();
}
END_TEST

void setup_die_with_host_fork(Suite *s)
{
    TCase *tc = add_tcase(s, "die-with-host-fork", TEST_TIMEOUT, NULL, NULL);

    tcase_add_test(tc, test_die_with_host_across_fork);
}
