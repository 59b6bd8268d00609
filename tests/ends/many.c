/*
 * ends/many.c -- the ends suite's "many" tests (run by tests/check_ends.c).
 */
#include "ends.h"

/* ======================================= D: many runs, whelk_proc_fd */

/* A process the host forks while a run is in flight holds copies of the
 * run's descriptors.  When the run closes one (a stage reaped, a stream at
 * its end), a readable whelk_proc_fd must still mean there is work: count
 * the wake-ups while stage 0 waits for a byte from the test and stage 1
 * has long exited. */
START_TEST(test_proc_fd_after_host_forks)
{
    whelk_pipeline *p =
        whelk_pipe(HCMD("readn:1"), HCMD("exit:0"), (whelk_cmd *)NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *proc;
    int in[2], hold[2], pfd, wakeups = 0, status;
    int64_t t0;
    pid_t worker;
    char c = 'x';

    ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(hold, O_CLOEXEC), 0);
    whelk_pipeline_stdin_fd(p, in[0]);
    proc = whelk_start(p, &err);
    ck_assert_msg(proc != NULL, "%s", err_desc(err));
    pfd = whelk_proc_fd(proc);
    ck_assert_int_ge(pfd, 0);
    worker = fork();
    ck_assert_int_ge(worker, 0);
    if (worker == 0) {
        /* the host's worker: keeps every inherited descriptor open until
         * the test is done */
        close(hold[1]);
        while (read(hold[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(hold[0]);
    /* 500 ms of an event loop: stage 1 exits and its streams end at once,
     * stage 0 waits for its byte */
    t0 = now_ms();
    for (;;) {
        int64_t left = 500 - (now_ms() - t0);
        struct pollfd pf = {pfd, POLLIN, 0};
        if (left <= 0)
            break;
        if (poll(&pf, 1, (int)left) == 1) {
            wakeups++;
            ck_assert_int_eq(whelk_proc_step(proc, 0), 0);
        }
    }
    ck_assert_msg(wakeups < 100,
                  "whelk_proc_fd woke the loop %d times in 500 ms with "
                  "nothing to do",
                  wakeups);
    ck_assert_int_eq(write(in[1], &c, 1), 1);
    r = whelk_proc_wait(proc, &err);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    whelk_result_free(r);
    close(hold[1]);
    ck_assert_int_eq(waitpid(worker, &status, 0), worker);
    close(in[0]);
    close(in[1]);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* Retries of one run go through the loop of whelk_run_many with the
 * others.  A's first attempt fails and its on_exit hook retries; the hook
 * also lets B finish (closes B's input).  A's second attempt waits for its
 * input, which only B's on_exit hook closes: if the retry ran to the end on
 * its own, B would never be driven and A would time out. */
typedef struct relay {
    int attempts;
    int *close_fd; /* closed by the hook */
    int retry;     /* retry the first failure */
} relay;

static int relay_exit(const whelk_result *r, const whelk_error *e, void *ud)
{
    relay *rl = ud;

    (void)r;
    rl->attempts++;
    if (*rl->close_fd >= 0) {
        close(*rl->close_fd);
        *rl->close_fd = -1;
    }
    return rl->retry && e && rl->attempts == 1 ? WHELK_RETRY : 0;
}

START_TEST(test_run_many_retry_does_not_stall)
{
    whelk_pipeline *pl[2];
    whelk_result *res[2];
    whelk_error *errs[2];
    int pa[2], pb[2];
    relay ra = {0, NULL, 1}, rb = {0, NULL, 0};
    size_t failed;

    ck_assert_int_eq(pipe2(pa, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(pb, O_CLOEXEC), 0);
    ck_assert_int_eq(write(pa[1], "1", 1), 1); /* A's first attempt */
    /* A: read one byte, exit 1 (twice); B: copy its input to the end */
    pl[0] = HPIPE("readn:1", "exit:1");
    whelk_pipeline_stdin_fd(pl[0], pa[0]);
    whelk_pipeline_timeout(pl[0], 5000);
    ra.close_fd = &pb[1]; /* A's retry lets B end */
    whelk_pipeline_on_exit(pl[0], relay_exit, &ra);
    pl[1] = HPIPE("cat");
    whelk_pipeline_stdin_fd(pl[1], pb[0]);
    whelk_pipeline_timeout(pl[1], 5000);
    rb.close_fd = &pa[1]; /* B's end lets A's second attempt end */
    whelk_pipeline_on_exit(pl[1], relay_exit, &rb);
    failed = whelk_run_many(pl, 2, 2, res, errs);
    ck_assert_uint_eq(failed, 1);
    ck_assert_int_eq(ra.attempts, 2);
    ck_assert_int_eq(rb.attempts, 1);
    ck_assert_msg(whelk_error_kind(errs[0]) == WHELK_E_EXIT,
                  "A: %s (a timeout means its retry stalled B)",
                  err_desc(errs[0]));
    ck_assert_int_eq(whelk_error_exit_code(errs[0]), 1);
    ck_assert_msg(res[1] != NULL, "B: %s", err_desc(errs[1]));
    whelk_error_free(errs[0]);
    whelk_result_free(res[1]);
    close(pa[0]);
    close(pb[0]);
    whelk_pipeline_free(pl[0]);
    whelk_pipeline_free(pl[1]);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* More runs in flight than RLIMIT_NOFILE allows descriptors: the runs that
 * cannot get descriptors fail with EMFILE as values, the others succeed,
 * and the call returns (poll is given live descriptors only). */
START_TEST(test_run_many_more_slots_than_fds)
{
    enum { N = 64 };
    whelk_pipeline *pl[N];
    whelk_result *res[N];
    whelk_error *errs[N];
    struct rlimit rl;
    size_t i, failed, ok = 0, emfile = 0;
    int base = count_open_fds();

    /* a run in flight holds 2 descriptors (stdout, pidfd) but has 3 poll
     * slots (stdin, from /dev/null, is none of the loop's) */
    for (i = 0; i < N; i++) {
        pl[i] = HPIPE("out:x");
        whelk_cmd_stderr(whelk_pipeline_cmd(pl[i], 0), WHELK_NULL);
    }
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    /* room for about 20 runs in flight: their 60 slots are more than the
     * limit, their live descriptors are not */
    rl.rlim_cur = (rlim_t)base + 40;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    failed = whelk_run_many(pl, N, N, res, errs);
    for (i = 0; i < N; i++) {
        if (res[i]) {
            ck_assert_str_eq(whelk_result_stdout(res[i], NULL), "x");
            ok++;
        } else {
            ck_assert_msg(whelk_error_kind(errs[i]) == WHELK_E_IO &&
                              whelk_error_errno(errs[i]) == EMFILE,
                          "run %zu: %s", i, err_desc(errs[i]));
            emfile++;
        }
        whelk_result_free(res[i]);
        whelk_error_free(errs[i]);
        whelk_pipeline_free(pl[i]);
    }
    ck_assert_uint_eq(failed, emfile);
    ck_assert_msg(ok > 0 && emfile > 0, "%zu succeeded, %zu EMFILE", ok,
                  emfile);
    ck_assert_int_eq(count_open_fds(), base);
    ASSERT_NO_CHILDREN();
}
END_TEST

void ends_many(Suite *s)
{
    TCase *tc;

    tc = ends_tcase(s, "many", 30);
    tcase_add_test(tc, test_proc_fd_after_host_forks);
    tcase_add_test(tc, test_run_many_retry_does_not_stall);
    tcase_add_test(tc, test_run_many_more_slots_than_fds);
}
