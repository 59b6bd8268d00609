/*
 * check_ends.c -- the ends of a run (issue 10): whelk_proc_cancel and
 * callbacks that stop a run (WHELK_E_ABORTED, ECANCELED), bounded ends
 * when a process that left the group holds the pipes, what a timeout or
 * an abort names, a deadline that covers opening redirection files (FIFOs
 * without a peer, open interrupted by a signal), whelk_run_many under
 * retries and descriptor exhaustion, whelk_proc_fd after the host forks,
 * and calls a callback may not make on its own run.
 *
 * Everything goes through the public API against tests/whelk-helper.  No
 * test sleeps to synchronise: ordering comes from the children's output,
 * pipes the test holds, and the library's own blocking calls.  Times are
 * only bounds, with a generous slack.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* Slack added to every upper time bound (loaded machines, sanitizers). */
#define SLACK_MS 3500
/* The bounded drain after a timeout ("about a second"). */
#define DRAIN_MS 1000

#define HPIPE(...) helper_pipe(__VA_ARGS__, (const char *)NULL)
#define HCMD(...) helper_cmd(__VA_ARGS__, (const char *)NULL)

/* The error's status is the status of the stage it names in its result. */
static void assert_status_agrees(const whelk_error *err)
{
    const whelk_result *res = whelk_error_result(err);
    size_t st = whelk_error_stage(err);

    ck_assert_ptr_nonnull(res);
    ck_assert_msg(st < whelk_result_ncmds(res), "no stage named: %s",
                  err_desc(err));
    ck_assert_int_eq(whelk_error_signal(err), whelk_result_signal(res, st));
    ck_assert_int_eq(whelk_error_exit_code(err),
                     whelk_result_exit_code(res, st));
}

/* Become the reaper of orphaned grandchildren, so that a process that
 * left the group (setsid) can be found and killed by the test. */
static void become_subreaper(void)
{
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
}

/* SIGKILL and reap every child of this process (the orphans adopted as
 * subreaper); returns how many there were. */
static int kill_children(void)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL) {
        char path[64], buf[512], *p;
        FILE *f;
        long ppid;
        pid_t pid = (pid_t)atol(de->d_name);

        if (pid <= 0)
            continue;
        snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
        if (!(f = fopen(path, "r")))
            continue;
        p = fgets(buf, sizeof buf, f);
        fclose(f);
        if (!p || !(p = strrchr(buf, ')')))
            continue;
        if (sscanf(p + 1, " %*c %ld", &ppid) != 1 || ppid != getpid())
            continue;
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        n++;
    }
    closedir(d);
    return n;
}

/* A line callback that raises a flag when a line arrives. */
static int flag_line(const whelk_line *line, void *ud)
{
    (void)line;
    *(int *)ud = 1;
    return 0;
}

/* Step proc until *flag is set (the run must not end before). */
static void step_until(whelk_proc *proc, const int *flag)
{
    while (!*flag)
        ck_assert_int_eq(whelk_proc_step(proc, -1), 0);
}

/* ================================================= B: stopping a run */

START_TEST(test_cancel_running_run)
{
    whelk_pipeline *p = HPIPE("out:ready\\n", "sleep:30000");
    whelk_error *err = NULL;
    whelk_proc *proc;
    int ready = 0;
    int64_t t0;

    whelk_pipeline_on_line(p, WHELK_STDOUT, flag_line, &ready);
    proc = whelk_start(p, &err);
    ck_assert_msg(proc != NULL, "%s", err_desc(err));
    step_until(proc, &ready);
    t0 = now_ms();
    ck_assert_int_eq(whelk_proc_cancel(proc), 0);
    ck_assert_ptr_null(whelk_proc_wait(proc, &err));
    ck_assert_msg(now_ms() - t0 < SLACK_MS, "took %lld ms",
                  (long long)(now_ms() - t0));
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_ABORTED, "%s",
                  err_desc(err));
    ck_assert_int_eq(whelk_error_errno(err), ECANCELED);
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_int_eq(whelk_error_signal(err), SIGTERM);
    assert_status_agrees(err);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* TERM, the grace, then KILL: a stage that ignores SIGTERM is killed after
 * the kill grace, and the error says SIGKILL. */
START_TEST(test_cancel_term_grace_kill)
{
    whelk_pipeline *p = HPIPE("ignore:TERM", "out:ready\\n", "sleep:30000");
    whelk_error *err = NULL;
    whelk_proc *proc;
    int ready = 0;
    int64_t t0, dt;

    whelk_pipeline_kill_grace(p, 300);
    whelk_pipeline_on_line(p, WHELK_STDOUT, flag_line, &ready);
    proc = whelk_start(p, &err);
    ck_assert_msg(proc != NULL, "%s", err_desc(err));
    step_until(proc, &ready);
    t0 = now_ms();
    ck_assert_int_eq(whelk_proc_cancel(proc), 0);
    ck_assert_int_eq(whelk_proc_cancel(proc), 0); /* twice: harmless */
    ck_assert_ptr_null(whelk_proc_wait(proc, &err));
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 300, "SIGKILL after %lld ms, before the grace",
                  (long long)dt);
    ck_assert_msg(dt < 300 + SLACK_MS, "took %lld ms", (long long)dt);
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_ABORTED, "%s",
                  err_desc(err));
    ck_assert_int_eq(whelk_error_errno(err), ECANCELED);
    ck_assert_int_eq(whelk_error_signal(err), SIGKILL);
    assert_status_agrees(err);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* A cancel issued before wait wins even when the stages had finished. */
START_TEST(test_cancel_after_finish)
{
    whelk_pipeline *p = HPIPE("out:done\\n", "exit:0");
    whelk_error *err = NULL;
    whelk_proc *proc = whelk_start(p, &err);
    const whelk_result *res;
    size_t len;

    ck_assert_msg(proc != NULL, "%s", err_desc(err));
    while (whelk_proc_step(proc, -1) == 0)
        ;
    ck_assert_int_eq(whelk_proc_cancel(proc), 0);
    ck_assert_ptr_null(whelk_proc_wait(proc, &err));
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_ABORTED, "%s",
                  err_desc(err));
    ck_assert_int_eq(whelk_error_errno(err), ECANCELED);
    /* nothing was running any more: no stage is named */
    ck_assert_uint_eq(whelk_error_stage(err), WHELK_NO_STAGE);
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    ck_assert_str_eq(whelk_result_stdout(res, &len), "done\n");
    ck_assert_int_eq(whelk_result_exit_code(res, 0), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_cancel_null)
{
    ck_assert_int_eq(whelk_proc_cancel(NULL), EINVAL);
}
END_TEST

/* kill only sends a signal: the stage died of it (WHELK_E_SIGNAL). */
START_TEST(test_kill_is_a_signal)
{
    whelk_pipeline *p = HPIPE("out:ready\\n", "sleep:30000");
    whelk_error *err = NULL;
    whelk_proc *proc;
    int ready = 0;

    whelk_pipeline_on_line(p, WHELK_STDOUT, flag_line, &ready);
    proc = whelk_start(p, &err);
    ck_assert_msg(proc != NULL, "%s", err_desc(err));
    step_until(proc, &ready);
    ck_assert_int_eq(whelk_proc_kill(proc, SIGTERM), 0);
    ck_assert_ptr_null(whelk_proc_wait(proc, &err));
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_SIGNAL, "%s",
                  err_desc(err));
    ck_assert_int_eq(whelk_error_errno(err), 0);
    ck_assert_int_eq(whelk_error_signal(err), SIGTERM);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* A callback returning non-zero: WHELK_E_ABORTED with ECANCELED, naming the
 * first stage still running (stage 0 here, although the line came from
 * stage 1), with the status the stop gave it. */
static int stop_line(const whelk_line *line, void *ud)
{
    (void)line;
    (void)ud;
    return 1;
}

START_TEST(test_callback_abort_errno_and_stage)
{
    whelk_pipeline *p =
        whelk_pipe(HCMD("sleep:30000"), HCMD("out:line\\n", "sleep:30000"),
                   (whelk_cmd *)NULL);
    whelk_error *err;

    whelk_pipeline_on_line(p, WHELK_STDOUT, stop_line, NULL);
    err = run_fail(p, WHELK_E_ABORTED);
    ck_assert_int_eq(whelk_error_errno(err), ECANCELED);
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_int_eq(whelk_error_signal(err), SIGKILL);
    assert_status_agrees(err);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* The same stop, every time: a one-stage run whose callback stops it at
 * its only line, repeated (the stage may or may not have exited yet). */
START_TEST(test_callback_abort_deterministic)
{
    int i;

    for (i = 0; i < 40; i++) {
        whelk_pipeline *p = HPIPE("out:x\\n");
        whelk_error *err;

        whelk_pipeline_on_line(p, WHELK_STDOUT, stop_line, NULL);
        err = run_fail(p, WHELK_E_ABORTED);
        ck_assert_int_eq(whelk_error_errno(err), ECANCELED);
        if (whelk_error_stage(err) != WHELK_NO_STAGE)
            assert_status_agrees(err);
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }
    ASSERT_NO_CHILDREN();
}
END_TEST

/* After the stages are reaped, a grandchild that left the group (setsid)
 * and holds the pipes cannot hold a cancelled run. */
START_TEST(test_cancel_setsid_grandchild)
{
    whelk_pipeline *p = HPIPE("setsid-sleep:30000", "out:ready\\n", "exit:0");
    whelk_error *err = NULL;
    whelk_proc *proc;
    int ready = 0;
    int64_t t0;

    become_subreaper();
    whelk_pipeline_on_line(p, WHELK_STDOUT, flag_line, &ready);
    proc = whelk_start(p, &err);
    ck_assert_msg(proc != NULL, "%s", err_desc(err));
    step_until(proc, &ready);
    t0 = now_ms();
    ck_assert_int_eq(whelk_proc_cancel(proc), 0);
    ck_assert_ptr_null(whelk_proc_wait(proc, &err));
    ck_assert_msg(now_ms() - t0 < SLACK_MS, "took %lld ms",
                  (long long)(now_ms() - t0));
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_ABORTED, "%s",
                  err_desc(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ck_assert_int_eq(kill_children(), 1); /* the grandchild */
}
END_TEST

/* The same with a deadline: drained for at most about a second. */
START_TEST(test_timeout_setsid_grandchild)
{
    whelk_pipeline *p = HPIPE("setsid-sleep:30000", "sleep:30000");
    whelk_error *err;
    int64_t t0, dt;

    become_subreaper();
    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 100);
    t0 = now_ms();
    err = run_fail(p, WHELK_E_TIMEOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt < 300 + 100 + DRAIN_MS + SLACK_MS, "took %lld ms",
                  (long long)dt);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ck_assert_int_eq(kill_children(), 1);
}
END_TEST

/* ============================================ C: what a timeout names */

START_TEST(test_timeout_names_stage_with_its_status)
{
    whelk_pipeline *p = HPIPE("sleep:30000");
    whelk_error *err;

    whelk_pipeline_timeout(p, 200);
    whelk_pipeline_kill_grace(p, 200);
    err = run_fail(p, WHELK_E_TIMEOUT);
    ck_assert_int_eq(whelk_error_errno(err), ETIMEDOUT);
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_int_eq(whelk_error_signal(err), SIGTERM);
    ck_assert_int_eq(whelk_error_exit_code(err), -1);
    assert_status_agrees(err);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* Stage 0 has exited (stage 1 saw its end of output): stage 1 is the first
 * one still running, and the one named. */
START_TEST(test_timeout_names_first_running_stage)
{
    whelk_pipeline *p = whelk_pipe(
        HCMD("exit:0"), HCMD("drain", "out:ready\\n", "sleep:30000"),
        (whelk_cmd *)NULL);
    whelk_error *err;
    const whelk_result *res;

    whelk_pipeline_timeout(p, 1000);
    whelk_pipeline_kill_grace(p, 200);
    err = run_fail(p, WHELK_E_TIMEOUT);
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    ck_assert_int_eq(whelk_result_exit_code(res, 0), 0);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_signal(err), SIGTERM);
    assert_status_agrees(err);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_timeout_term_ignored_names_sigkill)
{
    whelk_pipeline *p = HPIPE("ignore:TERM", "sleep:30000");
    whelk_error *err;

    whelk_pipeline_timeout(p, 200);
    whelk_pipeline_kill_grace(p, 200);
    err = run_fail(p, WHELK_E_TIMEOUT);
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_int_eq(whelk_error_signal(err), SIGKILL);
    assert_status_agrees(err);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* ============================================== E: re-entrant callbacks */

typedef struct reenter {
    whelk_proc *self;
    int calls;
    int step_rc, step_errno;
    whelk_error *wait_err;
    int wait_null;
    int other_ok;
} reenter;

static int reenter_line(const whelk_line *line, void *ud)
{
    reenter *re = ud;
    whelk_result *r;
    whelk_error *e = NULL;

    (void)line;
    if (re->calls++)
        return 0;
    errno = 0;
    re->step_rc = whelk_proc_step(re->self, 0);
    re->step_errno = errno;
    r = whelk_proc_wait(re->self, &re->wait_err);
    re->wait_null = r == NULL;
    whelk_result_free(r);
    /* another pipeline may be run from a callback */
    r = whelk_sh(&e, HELPER, "out:other", (const char *)NULL);
    re->other_ok = r && strcmp(whelk_result_stdout(r, NULL), "other") == 0;
    whelk_result_free(r);
    whelk_error_free(e);
    return 0;
}

START_TEST(test_callback_cannot_step_or_wait_own_run)
{
    whelk_pipeline *p = HPIPE("out:a\\nb\\n");
    whelk_error *err = NULL;
    whelk_result *r;
    reenter re;

    memset(&re, 0, sizeof re);
    whelk_pipeline_on_line(p, WHELK_STDOUT, reenter_line, &re);
    re.self = whelk_start(p, &err);
    ck_assert_msg(re.self != NULL, "%s", err_desc(err));
    r = whelk_proc_wait(re.self, &err);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "a\nb\n");
    ck_assert_int_eq(re.calls, 2);
    ck_assert_int_eq(re.step_rc, -1);
    ck_assert_int_eq(re.step_errno, EINVAL);
    ck_assert(re.wait_null);
    ck_assert_msg(whelk_error_kind(re.wait_err) == WHELK_E_INVALID, "%s",
                  err_desc(re.wait_err));
    ck_assert_int_eq(whelk_error_errno(re.wait_err), EINVAL);
    ck_assert(re.other_ok);
    whelk_error_free(re.wait_err);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

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

/* ============================== A: a deadline covers opening the files */

/* A new FIFO in a new directory; *dir is to be removed with rm_rf. */
static char *make_fifo(char **dir)
{
    char *path;

    *dir = make_tmpdir();
    ck_assert_ptr_nonnull(*dir);
    path = path_join(*dir, "fifo");
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    return path;
}

/* A run whose redirection FIFO has no peer fails with WHELK_E_TIMEOUT at
 * its deadline, before anything is spawned. */
static void expect_fifo_timeout(whelk_pipeline *p)
{
    whelk_error *err;
    int64_t t0 = now_ms(), dt;

    whelk_pipeline_timeout(p, 300);
    err = run_fail(p, WHELK_E_TIMEOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 300, "gave up after %lld ms, before the deadline",
                  (long long)dt);
    ck_assert_msg(dt < 300 + SLACK_MS, "took %lld ms", (long long)dt);
    ck_assert_int_eq(whelk_error_errno(err), ETIMEDOUT);
    ck_assert_uint_eq(whelk_error_stage(err), WHELK_NO_STAGE);
    ck_assert_msg(contains(whelk_error_message(err), "fifo"), "%s",
                  whelk_error_message(err));
    ck_assert_ptr_null(whelk_error_result(err)); /* nothing ran */
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}

START_TEST(test_fifo_stdin_without_writer_times_out)
{
    char *dir, *fifo = make_fifo(&dir);
    whelk_pipeline *p = HPIPE("cat");

    whelk_pipeline_stdin_file(p, fifo);
    expect_fifo_timeout(p);
    rm_rf(dir);
    free(fifo);
    free(dir);
}
END_TEST

START_TEST(test_fifo_stdout_without_reader_times_out)
{
    char *dir, *fifo = make_fifo(&dir);
    whelk_pipeline *p = HPIPE("out:x");

    whelk_pipeline_stdout_file(p, fifo, 0);
    expect_fifo_timeout(p);
    rm_rf(dir);
    free(fifo);
    free(dir);
}
END_TEST

START_TEST(test_fifo_stderr_without_reader_times_out)
{
    char *dir, *fifo = make_fifo(&dir);
    whelk_pipeline *p = HPIPE("err:x");

    whelk_cmd_stderr_file(whelk_pipeline_cmd(p, 0), fifo, 1);
    expect_fifo_timeout(p);
    rm_rf(dir);
    free(fifo);
    free(dir);
}
END_TEST

/* With a peer, a FIFO works as in sh, and the stage gets a blocking
 * descriptor: the writer below gives `cat` its second line only after the
 * first came out, so cat's next read finds the FIFO empty. */
typedef struct fifo_peer {
    const char *path;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int go;       /* the first line came out */
    size_t bytes; /* read by a reading peer */
    int ok;
} fifo_peer;

static void *fifo_writer(void *arg)
{
    fifo_peer *fp = arg;
    int fd = open(fp->path, O_WRONLY | O_CLOEXEC); /* waits for the run */

    if (fd < 0)
        return NULL;
    fp->ok = write(fd, "hello\n", 6) == 6;
    pthread_mutex_lock(&fp->mu);
    while (!fp->go)
        pthread_cond_wait(&fp->cv, &fp->mu);
    pthread_mutex_unlock(&fp->mu);
    fp->ok &= write(fd, "world\n", 6) == 6;
    close(fd);
    return NULL;
}

static int release_writer(const whelk_line *line, void *ud)
{
    fifo_peer *fp = ud;

    (void)line;
    pthread_mutex_lock(&fp->mu);
    fp->go = 1;
    pthread_cond_signal(&fp->cv);
    pthread_mutex_unlock(&fp->mu);
    return 0;
}

START_TEST(test_fifo_stdin_with_writer)
{
    char *dir, *fifo = make_fifo(&dir);
    whelk_pipeline *p = HPIPE("cat");
    fifo_peer fp;
    pthread_t t;
    whelk_result *r;

    memset(&fp, 0, sizeof fp);
    fp.path = fifo;
    pthread_mutex_init(&fp.mu, NULL);
    pthread_cond_init(&fp.cv, NULL);
    ck_assert_int_eq(pthread_create(&t, NULL, fifo_writer, &fp), 0);
    whelk_pipeline_stdin_file(p, fifo);
    whelk_pipeline_timeout(p, 30000);
    whelk_pipeline_on_line(p, WHELK_STDOUT, release_writer, &fp);
    r = run_ok(p);
    pthread_join(t, NULL);
    ck_assert(fp.ok);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "hello\nworld\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    rm_rf(dir);
    free(fifo);
    free(dir);
    ASSERT_NO_CHILDREN();
}
END_TEST

static void *fifo_reader(void *arg)
{
    fifo_peer *fp = arg;
    int fd = open(fp->path, O_RDONLY | O_CLOEXEC); /* waits for the run */
    char buf[65536];
    ssize_t n;

    if (fd < 0)
        return NULL;
    while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        fp->bytes += n > 0 ? (size_t)n : 0;
    fp->ok = n == 0;
    close(fd);
    return NULL;
}

/* More than a pipe holds: the helper's writes block on the FIFO (and would
 * fail with EAGAIN if its descriptor were left non-blocking). */
START_TEST(test_fifo_stdout_with_reader)
{
    char *dir, *fifo = make_fifo(&dir);
    whelk_pipeline *p = HPIPE("outn:1000000");
    fifo_peer fp;
    pthread_t t;
    whelk_result *r;

    memset(&fp, 0, sizeof fp);
    fp.path = fifo;
    ck_assert_int_eq(pthread_create(&t, NULL, fifo_reader, &fp), 0);
    whelk_pipeline_stdout_file(p, fifo, 0);
    whelk_pipeline_timeout(p, 30000);
    r = run_ok(p);
    pthread_join(t, NULL);
    ck_assert(fp.ok);
    ck_assert_uint_eq(fp.bytes, 1000000);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    rm_rf(dir);
    free(fifo);
    free(dir);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* open(2) interrupted by a signal is retried.  A thread runs a pipeline
 * reading a FIFO, without a deadline (a blocking open, as in sh); when it
 * waits in that open, it gets a signal whose handler does not restart
 * system calls; only then is the writer opened. */
typedef struct intr_run {
    const char *path;
    pid_t tid;
    volatile int done;
    whelk_result *r;
    whelk_error *err;
} intr_run;

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
    (void)sig;
    handled = 1;
}

static void *intr_thread(void *arg)
{
    intr_run *ir = arg;
    whelk_pipeline *p = HPIPE("cat");

    __atomic_store_n(&ir->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
    whelk_pipeline_stdin_file(p, ir->path);
    ir->r = whelk_run(p, &ir->err);
    whelk_pipeline_free(p);
    __atomic_store_n(&ir->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Is thread tid blocked opening a FIFO? */
static int in_fifo_open(pid_t tid)
{
    char path[64], buf[256] = "";
    FILE *f;
    long nr = -1;

    snprintf(path, sizeof path, "/proc/self/task/%ld/wchan", (long)tid);
    if ((f = fopen(path, "r")) != NULL) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = '\0';
        fclose(f);
        if (strstr(buf, "partner"))
            return 1;
    }
    snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", (long)tid);
    if ((f = fopen(path, "r")) != NULL) {
        if (fscanf(f, "%ld", &nr) != 1)
            nr = -1;
        fclose(f);
    }
    /* no symbol in wchan (restricted): an openat that sleeps */
    return nr == SYS_openat && (buf[0] == '\0' || strcmp(buf, "0") == 0);
}

START_TEST(test_open_eintr_retried)
{
    char *dir, *fifo = make_fifo(&dir);
    struct sigaction sa;
    intr_run ir;
    pthread_t t;
    int fd = -1;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART: open fails with EINTR */
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    memset(&ir, 0, sizeof ir);
    ir.path = fifo;
    ck_assert_int_eq(pthread_create(&t, NULL, intr_thread, &ir), 0);
    while (!__atomic_load_n(&ir.tid, __ATOMIC_SEQ_CST) ||
           !in_fifo_open(ir.tid))
        sched_yield();
    ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
    while (!handled)
        sched_yield();
    /* now the writer: the run's open must still be waiting for it */
    while (!__atomic_load_n(&ir.done, __ATOMIC_SEQ_CST)) {
        fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0 || errno != ENXIO)
            break;
        sched_yield();
    }
    if (fd >= 0) {
        ck_assert_int_eq(write(fd, "data", 4), 4);
        close(fd);
    }
    pthread_join(t, NULL);
    ck_assert_msg(ir.r != NULL, "%s", err_desc(ir.err));
    ck_assert_str_eq(whelk_result_stdout(ir.r, NULL), "data");
    whelk_result_free(ir.r);
    rm_rf(dir);
    free(fifo);
    free(dir);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* A callback may cancel its own run (and that is a cancel: SIGTERM). */
static int cancel_line(const whelk_line *line, void *ud)
{
    (void)line;
    ck_assert_int_eq(whelk_proc_cancel(*(whelk_proc **)ud), 0);
    return 0;
}

START_TEST(test_cancel_from_callback)
{
    whelk_pipeline *p = HPIPE("out:ready\\n", "sleep:30000");
    whelk_error *err = NULL;
    whelk_proc *proc;

    whelk_pipeline_on_line(p, WHELK_STDOUT, cancel_line, &proc);
    proc = whelk_start(p, &err);
    ck_assert_msg(proc != NULL, "%s", err_desc(err));
    ck_assert_ptr_null(whelk_proc_wait(proc, &err));
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_ABORTED, "%s",
                  err_desc(err));
    ck_assert_int_eq(whelk_error_errno(err), ECANCELED);
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_int_eq(whelk_error_signal(err), SIGTERM);
    assert_status_agrees(err);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* ------------------------------------------------------------- suite */

static TCase *tcase(Suite *s, const char *name, int timeout)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

static Suite *ends_suite(void)
{
    Suite *s = suite_create("ends");
    TCase *tc;

    tc = tcase(s, "stop", TEST_TIMEOUT);
    tcase_add_test(tc, test_cancel_running_run);
    tcase_add_test(tc, test_cancel_term_grace_kill);
    tcase_add_test(tc, test_cancel_after_finish);
    tcase_add_test(tc, test_cancel_null);
    tcase_add_test(tc, test_kill_is_a_signal);
    tcase_add_test(tc, test_callback_abort_errno_and_stage);
    tcase_add_test(tc, test_callback_abort_deterministic);
    tcase_add_test(tc, test_cancel_setsid_grandchild);
    tcase_add_test(tc, test_timeout_setsid_grandchild);

    tc = tcase(s, "names", TEST_TIMEOUT);
    tcase_add_test(tc, test_timeout_names_stage_with_its_status);
    tcase_add_test(tc, test_timeout_names_first_running_stage);
    tcase_add_test(tc, test_timeout_term_ignored_names_sigkill);

    tc = tcase(s, "many", 30);
    tcase_add_test(tc, test_proc_fd_after_host_forks);
    tcase_add_test(tc, test_run_many_retry_does_not_stall);
    tcase_add_test(tc, test_run_many_more_slots_than_fds);

    tc = tcase(s, "fifo", 30);
    tcase_add_test(tc, test_fifo_stdin_without_writer_times_out);
    tcase_add_test(tc, test_fifo_stdout_without_reader_times_out);
    tcase_add_test(tc, test_fifo_stderr_without_reader_times_out);
    tcase_add_test(tc, test_fifo_stdin_with_writer);
    tcase_add_test(tc, test_fifo_stdout_with_reader);
    tcase_add_test(tc, test_open_eintr_retried);

    tc = tcase(s, "reentry", TEST_TIMEOUT);
    tcase_add_test(tc, test_callback_cannot_step_or_wait_own_run);
    tcase_add_test(tc, test_cancel_from_callback);
    return s;
}

int main(void)
{
    return run_suite(ends_suite());
}
