/*
 * core/signals.c -- the core suite's "signals" tests (run by tests/check_core.c).
 */
#include "core.h"

START_TEST(test_child_signal_defaults)
{
    sigset_t block, old, now;
    struct sigaction ign, old_pipe, old_int, old_hup;
    whelk_result *r;

    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGTERM);
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, &block, &old), 0);
    ck_assert_int_eq(sigaction(SIGPIPE, &ign, &old_pipe), 0);
    ck_assert_int_eq(sigaction(SIGINT, &ign, &old_int), 0);
    ck_assert_int_eq(sigaction(SIGHUP, &ign, &old_hup), 0);

    r = HELPER_OK("sigmask", "sigign");
    ASSERT_STDOUT(r, "none\nnone\n");
    whelk_result_free(r);

    /* the host's own mask and dispositions are unchanged by the run */
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &now), 0);
    ck_assert(sigismember(&now, SIGUSR1) && sigismember(&now, SIGTERM));
    {
        struct sigaction sa;

        ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
        ck_assert(sa.sa_handler == SIG_IGN);
        ck_assert_int_eq(sigaction(SIGINT, NULL, &sa), 0);
        ck_assert(sa.sa_handler == SIG_IGN);
    }

    sigprocmask(SIG_SETMASK, &old, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
}
END_TEST

START_TEST(test_child_ignores_what_it_is_told)
{
    /* the helper itself can ignore: the check above is not vacuous */
    whelk_result *r = HELPER_OK("ignore:PIPE", "ignore:USR2", "sigign");

    ASSERT_STDOUT(r, "12 13\n");
    whelk_result_free(r);
}
END_TEST

static void on_usr2(int sig)
{
    (void)sig;
}

START_TEST(test_host_dispositions_unchanged)
{
    static const int sigs[] = {SIGCHLD, SIGPIPE, SIGINT,
                               SIGTERM, SIGUSR2, SIGALRM};
    struct sigaction before[6], after[6], h;
    sigset_t mask_before, mask_after;
    size_t i;
    whelk_error *err = NULL;
    whelk_pipeline *p;

    memset(&h, 0, sizeof h);
    h.sa_handler = on_usr2;
    sigemptyset(&h.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR2, &h, NULL), 0);
    for (i = 0; i < 6; i++)
        ck_assert_int_eq(sigaction(sigs[i], NULL, &before[i]), 0);
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &mask_before), 0);

    /* success, failure, stdin EPIPE, a spawn error */
    whelk_result_free(HELPER_OK("out:x"));
    p = helper_pipe("kill:TERM", (const char *)NULL);
    whelk_error_free(run_fail(p, WHELK_E_SIGNAL));
    whelk_pipeline_free(p);
    {
        unsigned char *in = random_bytes(MiB, 7);

        p = helper_pipe("exit:0", (const char *)NULL);
        whelk_pipeline_stdin_bytes(p, in, MiB);
        whelk_result_free(run_ok(p));
        whelk_pipeline_free(p);
        free(in);
    }
    ck_assert_ptr_null(whelk_sh(&err, "nosuchprog-xyz", (const char *)NULL));
    whelk_error_free(err);

    for (i = 0; i < 6; i++) {
        ck_assert_int_eq(sigaction(sigs[i], NULL, &after[i]), 0);
        ck_assert_msg(same_sigaction(&before[i], &after[i]),
                      "disposition of signal %d changed", sigs[i]);
    }
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &mask_after), 0);
    ck_assert(same_sigset(&mask_before, &mask_after));
    assert_sigpipe_default();
    assert_no_pending_sigpipe();
}
END_TEST

static volatile sig_atomic_t interrupts;

static void count_interrupt(int sig)
{
    (void)sig;
    interrupts++;
}

START_TEST(test_eintr_storm)
{
    /* a host whose handlers interrupt every blocking call (no SA_RESTART),
     * a SIGALRM every 2 ms and a SIGCHLD handler: nothing is lost */
    struct sigaction sa, old_alrm, old_chld;
    struct itimerval it, old_it;
    size_t n = 5 * MiB, len;
    unsigned char *in = random_bytes(n, 12);
    whelk_pipeline *p;
    whelk_result *r;
    const char *s;
    int i;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    ck_assert_int_eq(sigaction(SIGALRM, &sa, &old_alrm), 0);
    ck_assert_int_eq(sigaction(SIGCHLD, &sa, &old_chld), 0);
    memset(&it, 0, sizeof it);
    it.it_interval.tv_usec = 2000;
    it.it_value.tv_usec = 2000;
    ck_assert_int_eq(setitimer(ITIMER_REAL, &it, &old_it), 0);

    p = helper_pipe("cat", "errn:1048576", "sleep:20", "exit:0",
                    (const char *)NULL);
    whelk_pipeline_stdin_bytes(p, in, n);
    for (i = 0; i < 3; i++) {
        r = run_ok(p);
        s = whelk_result_stdout(r, &len);
        ASSERT_BYTES(s, len, (const char *)in, n);
        s = whelk_result_stderr(r, &len);
        ck_assert_uint_eq(len, MiB);
        ck_assert(is_pattern(s, len));
        whelk_result_free(r);
    }
    whelk_pipeline_free(p);
    /* and the error paths */
    p = helper_pipe("sleep:10", "exit:3", (const char *)NULL);
    whelk_error_free(run_fail(p, WHELK_E_EXIT));
    whelk_pipeline_free(p);

    setitimer(ITIMER_REAL, &old_it, NULL);
    ck_assert_msg(interrupts > 10, "only %d interrupts", (int)interrupts);
    sigaction(SIGALRM, &old_alrm, NULL);
    sigaction(SIGCHLD, &old_chld, NULL);
    ASSERT_NO_CHILDREN();
    free(in);
}
END_TEST

START_TEST(test_child_process_group)
{
    /* the child is the host's own child (no shell in between), in a new
     * process group it leads; with pgroup off, in the host's group */
    whelk_pipeline *p = helper_pipe("pid", "ppid", "pgid", (const char *)NULL);
    whelk_result *r = run_ok(p);
    long pid, ppid, pgid;

    ck_assert_int_eq(
        sscanf(whelk_result_stdout(r, NULL), "%ld %ld %ld", &pid, &ppid, &pgid),
        3);
    ck_assert_int_eq(ppid, (long)getpid());
    ck_assert_int_eq(pgid, pid);
    ck_assert_int_ne(pgid, (long)getpgrp());
    whelk_result_free(r);

    whelk_pipeline_pgroup(p, 0);
    r = run_ok(p);
    ck_assert_int_eq(
        sscanf(whelk_result_stdout(r, NULL), "%ld %ld %ld", &pid, &ppid, &pgid),
        3);
    ck_assert_int_eq(ppid, (long)getpid());
    ck_assert_int_eq(pgid, (long)getpgrp());
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

/* The host's own children keep their statuses. */
static pid_t fork_exit7(int *release_fd)
{
    int pfd[2];
    pid_t pid;

    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char c;

        close(pfd[1]);
        /* wait for the parent's word (EOF), then exit 7 */
        while (read(pfd[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(7);
    }
    close(pfd[0]);
    *release_fd = pfd[1];
    return pid;
}

/* Blocks until pid has exited, without reaping it. */
static void wait_exited_nowait(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof si);
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
        ck_assert_int_eq(errno, EINTR);
    ck_assert_int_eq(si.si_pid, pid);
    ck_assert_int_eq(si.si_code, CLD_EXITED);
    ck_assert_int_eq(si.si_status, 7);
}

static void assert_reaps_7(pid_t pid)
{
    int status = 0;
    pid_t w;

    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    ck_assert_msg(w == pid, "waitpid: %s (the library took the status)",
                  strerror(errno));
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 7);
}

START_TEST(test_host_child_exited_before)
{
    int release, i;
    pid_t pid = fork_exit7(&release);

    close(release);
    wait_exited_nowait(pid); /* a zombie now, its status waiting */
    for (i = 0; i < 10; i++) {
        whelk_result *r = HELPER_OK("out:x", "err:y");

        ASSERT_STDOUT(r, "x");
        whelk_result_free(r);
    }
    {
        whelk_pipeline *p = helper_pipe("exit:3", (const char *)NULL);

        whelk_error_free(run_fail(p, WHELK_E_EXIT));
        whelk_pipeline_free(p);
    }
    assert_reaps_7(pid);
}
END_TEST

struct release_ctx {
    int fd;
    int lines;
};

static int release_on_line(const whelk_line *line, void *userdata)
{
    struct release_ctx *ctx = userdata;

    (void)line;
    if (ctx->lines++ == 0) {
        close(ctx->fd); /* the host's child exits now, mid-run */
        ctx->fd = -1;
    }
    return 0;
}

START_TEST(test_host_child_exits_during_run)
{
    struct release_ctx ctx;
    whelk_pipeline *p;
    whelk_result *r;
    int i;
    pid_t pid = fork_exit7(&ctx.fd);

    ctx.lines = 0;
    /* the child's output keeps flowing after the first line, so the
     * host's child exits while this run is still being pumped */
    p = helper_pipe("lines:20000", (const char *)NULL);
    whelk_pipeline_on_line(p, WHELK_STDOUT, release_on_line, &ctx);
    r = run_ok(p);
    ck_assert_int_eq(ctx.lines, 20000);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    wait_exited_nowait(pid);
    for (i = 0; i < 5; i++)
        whelk_result_free(HELPER_OK("exit:0"));
    assert_reaps_7(pid);
}
END_TEST

void core_signals(Suite *s)
{
    TCase *tc;

    tc = core_tcase(s, "signals", 0);
    tcase_add_test(tc, test_child_signal_defaults);
    tcase_add_test(tc, test_child_ignores_what_it_is_told);
    tcase_add_test(tc, test_host_dispositions_unchanged);
    tcase_add_test(tc, test_eintr_storm);
    tcase_add_test(tc, test_child_process_group);
    tcase_add_test(tc, test_host_child_exited_before);
    tcase_add_test(tc, test_host_child_exits_during_run);
}
