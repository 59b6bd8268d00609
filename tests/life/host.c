/*
 * life/host.c -- the life suite's "hostile hosts" tests (run by tests/check_life.c).
 */
#include "life.h"

/*
 * A host that ignores SIGCHLD: the kernel reaps the children itself and
 * their statuses are gone.  A run must come back -- with a result, or
 * with the clear error WHELK_E_IO / ECHILD that says so -- never hang,
 * never blame exec, and never leave the disposition changed.
 */
static void check_sigchld_ignored_run(whelk_pipeline *p, const char *want_out)
{
    whelk_error *err = NULL;
    whelk_result *r;
    int64_t t0 = now_ms(), dt;

    r = whelk_run(p, &err);
    dt = now_ms() - t0;
    ck_assert_msg(dt < 10000, "the run took %lld ms", (long long)dt);
    if (r) {
        ASSERT_STDOUT(r, want_out);
        ck_assert_int_eq(whelk_result_exit_code(r, 0), 0);
        whelk_result_free(r);
        return;
    }
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_IO &&
                      whelk_error_errno(err) == ECHILD,
                  "expected a result or WHELK_E_IO/ECHILD, got %s",
                  err_desc(err));
    ck_assert_msg(contains(whelk_error_message(err), "SIGCHLD"), "%s",
                  whelk_error_message(err));
    /* the output read is not lost with the status */
    ck_assert_ptr_nonnull(whelk_error_result(err));
    ASSERT_STDOUT(whelk_error_result(err), want_out);
    whelk_error_free(err);
}

START_TEST(test_sigchld_ignored)
{
    struct sigaction before, after;
    int i, fds;

    ck_assert(signal(SIGCHLD, SIG_IGN) != SIG_ERR);
    sigaction(SIGCHLD, NULL, &before);
    fds = count_open_fds();
    for (i = 0; i < 30; i++) {
        /* exits at once: likely gone before the library looks at it */
        whelk_pipeline *p = HPIPE("out:fast\\n");
        check_sigchld_ignored_run(p, "fast\n");
        whelk_pipeline_free(p);
    }
    for (i = 0; i < 5; i++) {
        whelk_pipeline *p = whelk_pipe(HCMD("sleep:50", "lines:3"),
                                       HCMD("cat"), (whelk_cmd *)NULL);
        check_sigchld_ignored_run(p, "line 1\nline 2\nline 3\n");
        whelk_pipeline_free(p);
    }
    sigaction(SIGCHLD, NULL, &after);
    ck_assert(same_sigaction(&before, &after));
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
    signal(SIGCHLD, SIG_DFL);
}
END_TEST

/* The same through the handle, with a timeout that must still fire. */
START_TEST(test_sigchld_ignored_timeout)
{
    whelk_pipeline *p = HPIPE("out:x\\n", "sleep:30000");
    whelk_error *err = NULL;
    int64_t t0, dt;

    ck_assert(signal(SIGCHLD, SIG_IGN) != SIG_ERR);
    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 200);
    t0 = now_ms();
    ck_assert_ptr_null(whelk_run(p, &err));
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 300 && dt < 300 + 200 + DRAIN_MS + SLACK_MS,
                  "returned after %lld ms", (long long)dt);
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_TIMEOUT, "got %s",
                  err_desc(err));
    ASSERT_STDOUT(whelk_error_result(err), "x\n");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
    signal(SIGCHLD, SIG_DFL);
}
END_TEST

/* A host with signals blocked and ignored: children start with an empty
 * mask and default dispositions, runs succeed, timeouts and kills work,
 * and the host's own mask and dispositions are left as they were. */
START_TEST(test_signals_blocked_and_ignored)
{
    sigset_t block, mask_before, mask_after;
    struct sigaction act_before[3], act_after[3];
    static const int ign[3] = {SIGINT, SIGQUIT, SIGTERM};
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err;
    int i;

    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGCHLD);
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, &block, NULL), 0);
    for (i = 0; i < 3; i++)
        ck_assert(signal(ign[i], SIG_IGN) != SIG_ERR);
    sigprocmask(SIG_BLOCK, NULL, &mask_before);
    for (i = 0; i < 3; i++)
        sigaction(ign[i], NULL, &act_before[i]);

    p = HPIPE("sigmask", "sigign");
    r = run_ok(p);
    ASSERT_STDOUT(r, "none\nnone\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* every stage of a pipeline */
    p = whelk_pipe(HCMD("sigmask", "sigign"), HCMD("cat", "sigmask", "sigign"),
                   (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "none\nnone\nnone\nnone\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* SIGTERM at the deadline ends a child at its default disposition */
    p = HPIPE("sleep:30000");
    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 5000);
    err = run_fail(p, WHELK_E_TIMEOUT);
    ck_assert_int_eq(whelk_result_signal(whelk_error_result(err), 0), SIGTERM);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    /* and so does SIGINT from whelk_proc_kill */
    {
        int ready = 0;
        whelk_proc *pr;

        p = HPIPE("out:r\\n", "sleep:30000");
        whelk_pipeline_on_line(p, WHELK_STDOUT, flag_line, &ready);
        err = NULL;
        pr = whelk_start(p, &err);
        ck_assert_ptr_nonnull(pr);
        step_until(pr, &ready);
        ck_assert_int_eq(whelk_proc_kill(pr, SIGINT), 0);
        ck_assert_ptr_null(whelk_proc_wait(pr, &err));
        ck_assert_int_eq(whelk_error_signal(err), SIGINT);
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }

    sigprocmask(SIG_BLOCK, NULL, &mask_after);
    ck_assert(same_sigset(&mask_before, &mask_after));
    for (i = 0; i < 3; i++) {
        sigaction(ign[i], NULL, &act_after[i]);
        ck_assert(same_sigaction(&act_before[i], &act_after[i]));
    }
    ASSERT_NO_CHILDREN();
    for (i = 0; i < 3; i++)
        signal(ign[i], SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
}
END_TEST

/* A host with fds 0, 1 and 2 closed (a daemon): output is still captured
 * exactly, children still see exactly 0, 1 and 2, and nothing leaks. */
START_TEST(test_std_fds_closed)
{
    int saved[3], i, fds;
    whelk_pipeline *p;
    whelk_result *r;

    for (i = 0; i < 3; i++) {
        saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
        close(i);
    }
    for (i = 0; i < 3; i++)
        ck_assert(!fd_is_open(i));
    fds = count_open_fds();

    p = HPIPE("fds", "out:hello\\n", "err:oops\\n", "exit:0");
    r = run_ok(p);
    ASSERT_STDOUT(r, "0 1 2\nhello\n");
    ASSERT_STDERR(r, "oops\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* stdin bytes through a pipeline */
    p = whelk_pipe(HCMD("fds", "cat"), HCMD("count"), (whelk_cmd *)NULL);
    whelk_pipeline_stdin_bytes(p, "12345", 5);
    r = run_ok(p);
    ASSERT_STDOUT(r, "11\n"); /* "0 1 2\n" and the 5 bytes, counted */
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* inheriting a closed descriptor gives the child /dev/null */
    p = HPIPE("count", "fds");
    whelk_pipeline_stdin(p, WHELK_INHERIT);
    r = run_ok(p);
    ASSERT_STDOUT(r, "0\n0 1 2\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    p = HPIPE("out:lost\\n", "err:lost\\n", "exit:0");
    whelk_pipeline_stdout(p, WHELK_INHERIT);
    whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_INHERIT);
    r = run_ok(p);
    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* line callbacks and a timeout work as well */
    {
        lines got;
        whelk_error *err;

        lines_init(&got, 0);
        p = HPIPE("lines:5", "sleep:30000");
        whelk_pipeline_on_line(p, WHELK_STDOUT, collect_line, &got);
        whelk_pipeline_timeout(p, 300);
        whelk_pipeline_kill_grace(p, 200);
        err = run_fail(p, WHELK_E_TIMEOUT);
        assert_lines_1_to_n(&got, 5);
        free(got.text);
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }

    for (i = 0; i < 3; i++)
        ck_assert_msg(!fd_is_open(i), "the library left fd %d open", i);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
    for (i = 0; i < 3; i++)
        if (saved[i] >= 0) {
            dup2(saved[i], i);
            close(saved[i]);
        }
}
END_TEST

/* A 200 KiB argument: exec fails with E2BIG, reported in the parent. */
START_TEST(test_e2big)
{
    size_t n = 200 * 1024;
    char *big = malloc(n + 1);
    whelk_pipeline *p;
    whelk_error *err;
    int fds = count_open_fds();

    memset(big, 'a', n);
    big[n] = '\0';
    p = HPIPE("argv", big);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_int_eq(whelk_error_errno(err), E2BIG);
    ck_assert_int_eq(whelk_error_stage(err), 0);
    ck_assert_ptr_null(whelk_error_result(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
    free(big);
}
END_TEST

/* ... in a later stage: the stages already started are killed and reaped
 * before the run returns. */
START_TEST(test_e2big_later_stage)
{
    size_t n = 200 * 1024;
    char *big = malloc(n + 1);
    whelk_pipeline *p;
    whelk_error *err;
    int fds = count_open_fds();
    int64_t t0;

    memset(big, 'b', n);
    big[n] = '\0';
    p = whelk_pipe(HCMD("ignore:TERM", "sleep:30000"), HCMD("cat"),
                   HCMD("argv", big), (whelk_cmd *)NULL);
    t0 = now_ms();
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_msg(now_ms() - t0 < 10000, "took %lld ms",
                  (long long)(now_ms() - t0));
    ck_assert_int_eq(whelk_error_errno(err), E2BIG);
    ck_assert_int_eq(whelk_error_stage(err), 2);
    ck_assert_msg(contains(whelk_error_message(err), "Argument list too long"),
                  "%s", whelk_error_message(err));
    whelk_error_free(err);
    ASSERT_NO_CHILDREN();
    ASSERT_FDS(fds);
    whelk_pipeline_free(p);
    free(big);
}
END_TEST

/*
 * Eight threads run pipelines with line callbacks while another thread
 * forks and reaps children of its own: no status is lost on either side.
 */
#define NTHREADS 8
#define NITER 12
#define MIN_FORKS 200

typedef struct runner_job {
    int id;
    int bad;
    char why[256];
} runner_job;

static int forks_stop;

static void *runner_main(void *arg)
{
    runner_job *j = arg;
    int i;

    for (i = 0; i < NITER && !j->bad; i++) {
        int c0 = (j->id * NITER + i) % 97 + 1, c1 = (j->id + i) % 5;
        char e0[32], e1[32], n[32];
        long nl = 10 + j->id + i;
        whelk_pipeline *p;
        whelk_result *r;
        whelk_error *err = NULL;
        lines got;
        size_t len;
        char *want;

        snprintf(e0, sizeof e0, "exit:%d", c0);
        snprintf(e1, sizeof e1, "exit:%d", c1);
        snprintf(n, sizeof n, "lines:%ld", nl);
        p = whelk_pipe(helper_cmd(n, e0, (const char *)NULL),
                       helper_cmd("cat", e1, (const char *)NULL),
                       (whelk_cmd *)NULL);
        whelk_pipeline_check(p, 0);
        lines_init(&got, 1);
        whelk_pipeline_on_line(p, WHELK_STDOUT, collect_line, &got);
        r = whelk_run(p, &err);
        want = lines_text(nl, &len);
        if (!r) {
            snprintf(j->why, sizeof j->why, "thread %d run %d: %s", j->id, i,
                     err_desc(err));
            j->bad = 1;
        } else if (whelk_result_exit_code(r, 0) != c0 ||
                   whelk_result_exit_code(r, 1) != c1) {
            snprintf(j->why, sizeof j->why,
                     "thread %d run %d: exit codes %d %d, expected %d %d",
                     j->id, i, whelk_result_exit_code(r, 0),
                     whelk_result_exit_code(r, 1), c0, c1);
            j->bad = 1;
        } else if (got.n != nl || got.bad || !want || got.len != len ||
                   memcmp(got.text, want, len) != 0) {
            snprintf(j->why, sizeof j->why,
                     "thread %d run %d: %d lines, expected %ld", j->id, i,
                     got.n, nl);
            j->bad = 1;
        }
        free(want);
        free(got.text);
        whelk_result_free(r);
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }
    return NULL;
}

typedef struct forker_job {
    int forks;
    int bad;
    char why[256];
} forker_job;

static void *forker_main(void *arg)
{
    forker_job *j = arg;

    while (!j->bad && (j->forks < MIN_FORKS ||
                       !__atomic_load_n(&forks_stop, __ATOMIC_ACQUIRE))) {
        int code = 100 + j->forks % 100, st = 0;
        pid_t pid = fork(), got;

        if (pid < 0) {
            snprintf(j->why, sizeof j->why, "fork: %s", strerror(errno));
            j->bad = 1;
            break;
        }
        if (pid == 0)
            _exit(code);
        do
            got = waitpid(pid, &st, 0);
        while (got < 0 && errno == EINTR);
        if (got != pid || !WIFEXITED(st) || WEXITSTATUS(st) != code) {
            snprintf(j->why, sizeof j->why,
                     "own child %d (fork %d): waitpid %d, status 0x%x, "
                     "expected exit %d (errno %d)",
                     (int)pid, j->forks, (int)got, st, code, errno);
            j->bad = 1;
        }
        j->forks++;
    }
    return NULL;
}

START_TEST(test_threads_and_forker)
{
    pthread_t th[NTHREADS], fk;
    runner_job jobs[NTHREADS];
    forker_job fj;
    int i;

    memset(&fj, 0, sizeof fj);
    __atomic_store_n(&forks_stop, 0, __ATOMIC_RELEASE);
    ck_assert_int_eq(pthread_create(&fk, NULL, forker_main, &fj), 0);
    for (i = 0; i < NTHREADS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].id = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, runner_main, &jobs[i]),
                         0);
    }
    for (i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    __atomic_store_n(&forks_stop, 1, __ATOMIC_RELEASE);
    pthread_join(fk, NULL);
    for (i = 0; i < NTHREADS; i++)
        ck_assert_msg(!jobs[i].bad, "%s", jobs[i].why);
    ck_assert_msg(!fj.bad, "%s", fj.why);
    ck_assert_int_ge(fj.forks, MIN_FORKS);
    ASSERT_NO_CHILDREN();
}
END_TEST

/*
 * Descriptors run out.  The limit is lowered so that exactly k more
 * descriptors can be opened, for k = 0, 1, 2, ...: each step of setup
 * meets EMFILE in turn.  Every run succeeds or fails with errno EMFILE,
 * leaking no descriptor and no child; once descriptors are back the same
 * pipeline runs.
 */
static int nth_free_fd(int k)
{
    int fd, seen = 0;

    for (fd = 0;; fd++)
        if (!fd_is_open(fd) && seen++ == k)
            return fd;
}

START_TEST(test_emfile_each_step)
{
    struct rlimit old, low;
    whelk_pipeline *p = whelk_pipe(HCMD("cat"), HCMD("count", "err:e\\n"),
                                   (whelk_cmd *)NULL);
    int k, fds = count_open_fds(), failures = 0, successes = 0;
    int first_ok = -1;

    whelk_pipeline_stdin_bytes(p, "hello", 5);
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    for (k = 0; k <= 24; k++) {
        whelk_error *err = NULL;
        whelk_result *r;

        low = old;
        low.rlim_cur = (rlim_t)nth_free_fd(k);
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
        r = whelk_run(p, &err);
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
        if (r) {
            ASSERT_STDOUT(r, "5\n");
            ASSERT_STDERR(r, "e\n");
            if (first_ok < 0)
                first_ok = k;
            successes++;
        } else {
            ck_assert_msg(whelk_error_errno(err) == EMFILE &&
                              (whelk_error_kind(err) == WHELK_E_IO ||
                               whelk_error_kind(err) == WHELK_E_EXEC),
                          "k = %d: expected EMFILE, got %s", k, err_desc(err));
            ck_assert_msg(first_ok < 0,
                          "k = %d failed after k = %d succeeded: %s", k,
                          first_ok, err_desc(err));
            failures++;
        }
        whelk_result_free(r);
        whelk_error_free(err);
        ASSERT_FDS(fds);
        ASSERT_NO_CHILDREN();
    }
    ck_assert_msg(failures > 0, "no step failed: the limit was never met");
    ck_assert_msg(successes > 0, "no run succeeded with %d descriptors free",
                  24);
    {
        whelk_result *r = run_ok(p);
        ASSERT_STDOUT(r, "5\n");
        whelk_result_free(r);
    }
    whelk_pipeline_free(p);
}
END_TEST

/* The same through the handle: whelk_proc_fd's own descriptors. */
START_TEST(test_emfile_proc_fd)
{
    struct rlimit old, low;
    whelk_pipeline *p = HPIPE("out:x\\n");
    int k, fds = count_open_fds(), got_fd = 0;

    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    for (k = 0; k <= 16; k++) {
        whelk_error *err = NULL;
        whelk_result *r;
        whelk_proc *pr;
        int fd = -1;

        low = old;
        low.rlim_cur = (rlim_t)nth_free_fd(k);
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
        pr = whelk_start(p, &err);
        if (pr)
            fd = whelk_proc_fd(pr); /* -1 allowed: drive with timeouts */
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
        if (!pr) {
            ck_assert_msg(whelk_error_errno(err) == EMFILE,
                          "k = %d: expected EMFILE, got %s", k, err_desc(err));
            whelk_error_free(err);
        } else {
            if (fd >= 0) {
                got_fd = 1;
                drive_poll(pr);
            }
            r = whelk_proc_wait(pr, &err);
            ck_assert_msg(r != NULL, "k = %d: %s", k, err_desc(err));
            ASSERT_STDOUT(r, "x\n");
            whelk_result_free(r);
        }
        ASSERT_FDS(fds);
        ASSERT_NO_CHILDREN();
    }
    ck_assert(got_fd);
    whelk_pipeline_free(p);
}
END_TEST

void life_host(Suite *s)
{
    TCase *tc;

    tc = life_tcase(s, "host", TEST_TIMEOUT * 2);
    tcase_add_test(tc, test_sigchld_ignored);
    tcase_add_test(tc, test_sigchld_ignored_timeout);
    tcase_add_test(tc, test_signals_blocked_and_ignored);
    tcase_add_test(tc, test_std_fds_closed);
    tcase_add_test(tc, test_e2big);
    tcase_add_test(tc, test_e2big_later_stage);
    tcase_add_test(tc, test_threads_and_forker);
    tcase_add_test(tc, test_emfile_each_step);
    tcase_add_test(tc, test_emfile_proc_fd);
}
