/*
 * ends/stop.c -- the ends suite's "stop" tests (run by tests/check_ends.c).
 */
#include "ends.h"

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

void ends_stop(Suite *s)
{
    TCase *tc;

    tc = ends_tcase(s, "stop", TEST_TIMEOUT);
    tcase_add_test(tc, test_cancel_running_run);
    tcase_add_test(tc, test_cancel_term_grace_kill);
    tcase_add_test(tc, test_cancel_after_finish);
    tcase_add_test(tc, test_cancel_null);
    tcase_add_test(tc, test_kill_is_a_signal);
    tcase_add_test(tc, test_callback_abort_errno_and_stage);
    tcase_add_test(tc, test_callback_abort_deterministic);
    tcase_add_test(tc, test_cancel_setsid_grandchild);
    tcase_add_test(tc, test_timeout_setsid_grandchild);
}
