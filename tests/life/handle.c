/*
 * life/handle.c -- the life suite's "the handle" tests (run by tests/check_life.c).
 */
#include "life.h"

/* Drives pr from a poll() loop on whelk_proc_fd until it finishes;
 * returns how many times poll woke up. */
int drive_poll(whelk_proc *pr)
{
    int fd = whelk_proc_fd(pr), wakeups = 0;

    ck_assert_int_ge(fd, 0);
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int rc = poll(&pfd, 1, 20000);

        ck_assert_msg(rc == 1, "poll on whelk_proc_fd: %d (no progress in 20 s)",
                      rc);
        wakeups++;
        ck_assert_msg(wakeups < 1000000, "the loop never finishes");
        if (whelk_proc_step(pr, 0) == 1)
            return wakeups;
    }
}

/* The same from an epoll loop. */
static int drive_epoll(whelk_proc *pr)
{
    int fd = whelk_proc_fd(pr), ep = epoll_create1(EPOLL_CLOEXEC), wakeups = 0;
    struct epoll_event ev;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(ep, 0);
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = pr;
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    for (;;) {
        struct epoll_event got;
        int rc = epoll_wait(ep, &got, 1, 20000);

        ck_assert_msg(rc == 1, "epoll_wait: %d (no progress in 20 s)", rc);
        ck_assert_ptr_eq(got.data.ptr, pr);
        wakeups++;
        ck_assert_msg(wakeups < 1000000, "the loop never finishes");
        if (whelk_proc_step(pr, 0) == 1)
            break;
    }
    close(ep);
    return wakeups;
}

static void check_event_loop(int use_epoll)
{
    whelk_pipeline *p = whelk_pipe(HCMD("lines:500", "errlines:3", "exit:0"),
                                   HCMD("cat", "err:done\\n"),
                                   (whelk_cmd *)NULL);
    lines out;
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;
    int fds = count_open_fds();

    lines_init(&out, 1);
    ck_assert_ptr_nonnull(p);
    whelk_pipeline_on_line(p, WHELK_STDOUT, collect_line, &out);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    if (use_epoll)
        drive_epoll(pr);
    else
        drive_poll(pr);
    /* the callbacks fired from whelk_proc_step, before the wait */
    assert_lines_1_to_n(&out, 500);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "run failed: %s", err_desc(err));
    ck_assert_int_eq(out.n, 500);
    ASSERT_STDERR(r, "line 1\nline 2\nline 3\ndone\n");
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 0);
    ck_assert_int_eq(whelk_result_exit_code(r, 1), 0);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(out.text);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
}

START_TEST(test_proc_poll_loop)
{
    check_event_loop(0);
}
END_TEST

START_TEST(test_proc_epoll_loop)
{
    check_event_loop(1);
}
END_TEST

/*
 * The descriptor is readable when step has work to do, not all the time:
 * an event loop must not spin while a run waits on a quiet child.  The
 * first stage (the group leader) exits at once, the second runs 600 ms in
 * silence.  A loop that wakes only for events wakes a handful of times.
 */
static void check_no_spin(int use_epoll, int pgroup)
{
    whelk_pipeline *p = whelk_pipe(HCMD("exit:0"),
                                   HCMD("sleep:600", "out:done\\n"),
                                   (whelk_cmd *)NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;
    int wakeups;

    whelk_pipeline_pgroup(p, pgroup);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    wakeups = use_epoll ? drive_epoll(pr) : drive_poll(pr);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "run failed: %s", err_desc(err));
    ASSERT_STDOUT(r, "done\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    ck_assert_msg(wakeups < 100,
                  "the event loop woke %d times for a run with 3 events: "
                  "whelk_proc_fd stays readable with nothing to do",
                  wakeups);
}

START_TEST(test_proc_fd_no_spin_poll)
{
    check_no_spin(0, 1);
}
END_TEST

START_TEST(test_proc_fd_no_spin_epoll)
{
    check_no_spin(1, 1);
}
END_TEST

START_TEST(test_proc_fd_no_spin_no_pgroup)
{
    check_no_spin(0, 0);
}
END_TEST

/* A quiet single stage: data, a pause, data, exit. */
START_TEST(test_proc_fd_quiet_child)
{
    whelk_pipeline *p = HPIPE("out:a\\n", "sleep:400", "out:b\\n");
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr = whelk_start(p, &err);
    int wakeups;

    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    wakeups = drive_poll(pr);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "run failed: %s", err_desc(err));
    ASSERT_STDOUT(r, "a\nb\n");
    ck_assert_msg(wakeups < 100, "woke %d times", wakeups);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

/* A deadline is an event of the descriptor too: a run that times out is
 * driven to its end by the loop alone. */
START_TEST(test_proc_fd_timeout_event)
{
    whelk_pipeline *p = HPIPE("out:x\\n", "sleep:30000");
    whelk_error *err = NULL;
    whelk_proc *pr;
    int64_t t0 = now_ms(), dt;
    int wakeups;

    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 200);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    wakeups = drive_epoll(pr);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 300 && dt < 300 + 200 + DRAIN_MS + SLACK_MS,
                  "finished after %lld ms", (long long)dt);
    ck_assert_msg(wakeups < 100, "woke %d times", wakeups);
    ck_assert_ptr_null(whelk_proc_wait(pr, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_TIMEOUT);
    ASSERT_STDOUT(whelk_error_result(err), "x\n");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* Driving with whelk_proc_step's own timeout, no descriptor. */
START_TEST(test_proc_step_blocking)
{
    whelk_pipeline *p = HPIPE("lines:2000", "exit:4");
    lines got;
    whelk_error *err = NULL;
    whelk_proc *pr;
    int rc, steps = 0;

    lines_init(&got, 0);
    whelk_pipeline_on_line(p, WHELK_STDOUT, collect_line, &got);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    while ((rc = whelk_proc_step(pr, -1)) == 0)
        ck_assert_int_lt(++steps, 100000);
    ck_assert_int_eq(rc, 1);
    /* finished stays finished */
    ck_assert_int_eq(whelk_proc_step(pr, 0), 1);
    ck_assert_int_eq(whelk_proc_step(pr, -1), 1);
    assert_lines_1_to_n(&got, 2000);
    ck_assert_ptr_null(whelk_proc_wait(pr, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXIT);
    ck_assert_int_eq(whelk_error_exit_code(err), 4);
    whelk_error_free(err);
    free(got.text);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* Five runs driven from one poll loop, each with its own callback. */
#define NRUNS 5
START_TEST(test_proc_several_in_one_loop)
{
    whelk_pipeline *p[NRUNS];
    whelk_proc *pr[NRUNS];
    lines got[NRUNS];
    int done[NRUNS], left = NRUNS, i, fds = count_open_fds();

    for (i = 0; i < NRUNS; i++) {
        char n[32], sl[32], ex[32];
        whelk_error *err = NULL;

        snprintf(n, sizeof n, "lines:%d", 100 * (i + 1));
        snprintf(sl, sizeof sl, "sleep:%d", 50 * (NRUNS - i));
        snprintf(ex, sizeof ex, "exit:%d", i);
        p[i] = whelk_pipe(HCMD(sl, n, ex), (whelk_cmd *)NULL);
        whelk_pipeline_check(p[i], 0);
        lines_init(&got[i], 0);
        whelk_pipeline_on_line(p[i], WHELK_STDOUT, collect_line, &got[i]);
        pr[i] = whelk_start(p[i], &err);
        ck_assert_msg(pr[i] != NULL, "start %d failed: %s", i, err_desc(err));
        done[i] = 0;
    }
    while (left) {
        struct pollfd pfd[NRUNS];
        int map[NRUNS], n = 0, rc;

        for (i = 0; i < NRUNS; i++) {
            if (done[i])
                continue;
            pfd[n].fd = whelk_proc_fd(pr[i]);
            ck_assert_int_ge(pfd[n].fd, 0);
            pfd[n].events = POLLIN;
            pfd[n].revents = 0;
            map[n++] = i;
        }
        rc = poll(pfd, (nfds_t)n, 20000);
        ck_assert_msg(rc > 0, "no progress in 20 s");
        for (i = 0; i < n; i++)
            if (pfd[i].revents && whelk_proc_step(pr[map[i]], 0) == 1) {
                done[map[i]] = 1;
                left--;
            }
    }
    for (i = 0; i < NRUNS; i++) {
        whelk_error *err = NULL;
        whelk_result *r;

        assert_lines_1_to_n(&got[i], 100 * (i + 1));
        r = whelk_proc_wait(pr[i], &err);
        ck_assert_msg(r != NULL, "run %d failed: %s", i, err_desc(err));
        ck_assert_int_eq(whelk_result_exit_code(r, 0), i);
        whelk_result_free(r);
        whelk_pipeline_free(p[i]);
        free(got[i].text);
    }
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
}
END_TEST

int flag_line(const whelk_line *l, void *ud)
{
    (void)l;
    ++*(int *)ud;
    return 0;
}

/* Steps pr until the flag is set by a line callback. */
void step_until(whelk_proc *pr, const int *flag)
{
    int64_t end = now_ms() + 20000;

    while (!*flag) {
        ck_assert_msg(now_ms() < end, "no line in 20 s");
        ck_assert_int_eq(whelk_proc_step(pr, 1000), 0);
    }
}

START_TEST(test_proc_kill_term)
{
    whelk_pipeline *p = whelk_pipe(HCMD("out:ready\\n", "sleep:30000"),
                                   HCMD("cat"), (whelk_cmd *)NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    const whelk_result *res;
    whelk_proc *pr;
    int ready = 0;
    int64_t t0 = now_ms();

    whelk_pipeline_on_line(p, WHELK_STDOUT, flag_line, &ready);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    step_until(pr, &ready);
    ck_assert_int_eq(whelk_proc_kill(pr, SIGTERM), 0);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(now_ms() - t0 < 10000, "the killed run took %lld ms",
                  (long long)(now_ms() - t0));
    ck_assert_ptr_null(r);
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_SIGNAL, "got %s",
                  err_desc(err));
    ck_assert_int_eq(whelk_error_signal(err), SIGTERM);
    ck_assert_int_eq(whelk_error_stage(err), 0);
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    ck_assert_int_eq(whelk_result_signal(res, 0), SIGTERM);
    ck_assert_int_eq(whelk_result_signal(res, 1), SIGTERM);
    ASSERT_STDOUT(res, "ready\n");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* Without a process group, kill reaches every stage one by one. */
START_TEST(test_proc_kill_no_pgroup)
{
    whelk_pipeline *p = whelk_pipe(HCMD("out:ready\\n", "sleep:30000"),
                                   HCMD("cat"), (whelk_cmd *)NULL);
    whelk_error *err = NULL;
    const whelk_result *res;
    whelk_proc *pr;
    int ready = 0;

    whelk_pipeline_pgroup(p, 0);
    whelk_pipeline_on_line(p, WHELK_STDOUT, flag_line, &ready);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    step_until(pr, &ready);
    ck_assert_int_eq(whelk_proc_kill(pr, SIGUSR1), 0);
    ck_assert_ptr_null(whelk_proc_wait(pr, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_SIGNAL);
    res = whelk_error_result(err);
    ck_assert_int_eq(whelk_result_signal(res, 0), SIGUSR1);
    ck_assert_int_eq(whelk_result_signal(res, 1), SIGUSR1);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* Kill after the stages are reaped returns 0 and harms nothing: neither
 * this process, nor its group, nor another child of the host. */
static void check_kill_after_reap(int pgroup)
{
    whelk_pipeline *p = HPIPE("out:x\\n", "exit:0");
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;
    int gate[2], st = 0, rc;
    pid_t sentinel;

    whelk_pipeline_pgroup(p, pgroup);
    ck_assert_int_eq(pipe2(gate, O_CLOEXEC), 0);
    sentinel = fork();
    ck_assert_int_ge(sentinel, 0);
    if (sentinel == 0) {
        char c;
        close(gate[1]);
        _exit(read(gate[0], &c, 1) == 1 ? 7 : 8);
    }
    close(gate[0]);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    while ((rc = whelk_proc_step(pr, -1)) == 0)
        ;
    ck_assert_int_eq(rc, 1);
    /* the stage is reaped: its pid may belong to anyone now */
    ck_assert_int_eq(whelk_proc_kill(pr, SIGTERM), 0);
    ck_assert_int_eq(whelk_proc_kill(pr, SIGKILL), 0);
    ck_assert_int_eq(whelk_proc_kill(pr, 0), 0);
    ck_assert_int_eq(write(gate[1], "g", 1), 1);
    close(gate[1]);
    ck_assert_int_eq(waitpid(sentinel, &st, 0), sentinel);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 7,
                  "the host's own child was hit: status 0x%x", st);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "run failed: %s", err_desc(err));
    ASSERT_STDOUT(r, "x\n");
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 0);
    ck_assert_int_eq(whelk_result_signal(r, 0), 0);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}

START_TEST(test_proc_kill_after_reap)
{
    check_kill_after_reap(1);
}
END_TEST

START_TEST(test_proc_kill_after_reap_no_pgroup)
{
    check_kill_after_reap(0);
}
END_TEST

START_TEST(test_proc_pid)
{
    whelk_pipeline *p = whelk_pipe(HCMD("pid", "pgid"), HCMD("cat"),
                                   (whelk_cmd *)NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr = whelk_start(p, &err);
    pid_t a, b;
    char want[64];

    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    a = whelk_proc_pid(pr, 0);
    b = whelk_proc_pid(pr, 1);
    ck_assert_int_gt(a, 0);
    ck_assert_int_gt(b, 0);
    ck_assert_int_ne(a, b);
    ck_assert_int_eq(whelk_proc_pid(pr, 2), -1);
    ck_assert_int_eq(whelk_proc_pid(pr, (size_t)-1), -1);
    ck_assert_int_eq(whelk_proc_pid(pr, WHELK_NO_STAGE), -1);
    ck_assert_int_eq(whelk_proc_pid(NULL, 0), -1);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "run failed: %s", err_desc(err));
    /* the pid reported is the child's own; stage 0 leads the group */
    snprintf(want, sizeof want, "%d\n%d\n", (int)a, (int)a);
    ASSERT_STDOUT(r, want);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_proc_null_handle)
{
    whelk_error *err = NULL;

    ck_assert_int_eq(whelk_proc_step(NULL, 0), -1);
    ck_assert_int_eq(whelk_proc_fd(NULL), -1);
    ck_assert_int_ne(whelk_proc_kill(NULL, SIGTERM), 0);
    ck_assert_ptr_null(whelk_proc_wait(NULL, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_INVALID);
    whelk_error_free(err);
    err = NULL;
    ck_assert_ptr_null(whelk_start(NULL, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_INVALID);
    whelk_error_free(err);
}
END_TEST

/* A start that fails leaves nothing behind and calls the hooks. */
START_TEST(test_proc_start_fails)
{
    whelk_pipeline *p = whelk_pipe(HCMD("sleep:30000"),
                                   whelk_cmd_new("whelk-no-such-program-7",
                                                 (const char *)NULL),
                                   (whelk_cmd *)NULL);
    whelk_error *err = NULL;
    int fds = count_open_fds();

    ck_assert_ptr_null(whelk_start(p, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_NOTFOUND);
    ck_assert_int_eq(whelk_error_stage(err), 1);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* whelk_pipeline_free after a finished, waited handle, and the handle's
 * descriptor is gone with it. */
START_TEST(test_proc_fd_closed_by_wait)
{
    whelk_pipeline *p = HPIPE("out:x\\n");
    whelk_error *err = NULL;
    whelk_proc *pr;
    int fd, fds = count_open_fds();

    pr = whelk_start(p, &err);
    ck_assert_ptr_nonnull(pr);
    fd = whelk_proc_fd(pr);
    ck_assert_int_ge(fd, 3);
    ck_assert_int_eq(whelk_proc_fd(pr), fd); /* the same each time */
    ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    whelk_result_free(whelk_proc_wait(pr, &err));
    ck_assert_ptr_null(err);
    ASSERT_FDS(fds);
    whelk_pipeline_free(p);
}
END_TEST

void life_handle(Suite *s)
{
    TCase *tc;

    tc = life_tcase(s, "handle", TEST_TIMEOUT);
    tcase_add_test(tc, test_proc_poll_loop);
    tcase_add_test(tc, test_proc_epoll_loop);
    tcase_add_test(tc, test_proc_fd_no_spin_poll);
    tcase_add_test(tc, test_proc_fd_no_spin_epoll);
    tcase_add_test(tc, test_proc_fd_no_spin_no_pgroup);
    tcase_add_test(tc, test_proc_fd_quiet_child);
    tcase_add_test(tc, test_proc_fd_timeout_event);
    tcase_add_test(tc, test_proc_step_blocking);
    tcase_add_test(tc, test_proc_several_in_one_loop);
    tcase_add_test(tc, test_proc_kill_term);
    tcase_add_test(tc, test_proc_kill_no_pgroup);
    tcase_add_test(tc, test_proc_kill_after_reap);
    tcase_add_test(tc, test_proc_kill_after_reap_no_pgroup);
    tcase_add_test(tc, test_proc_pid);
    tcase_add_test(tc, test_proc_null_handle);
    tcase_add_test(tc, test_proc_start_fails);
    tcase_add_test(tc, test_proc_fd_closed_by_wait);
}
