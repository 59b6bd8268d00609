/*
 * life/timeouts.c -- the life suite's "timeouts" tests (run by tests/check_life.c).
 */
#include "life.h"

START_TEST(test_timeout_keeps_output)
{
    whelk_pipeline *p = HPIPE("out:before\\n", "err:partial\\n", "sleep:30000");
    const whelk_result *res;
    whelk_error *err;
    int64_t t0, dt;

    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 200);
    t0 = now_ms();
    err = run_fail(p, WHELK_E_TIMEOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 300, "returned after %lld ms, before the deadline",
                  (long long)dt);
    ck_assert_msg(dt < 300 + 200 + DRAIN_MS + SLACK_MS,
                  "returned after %lld ms", (long long)dt);
    ck_assert_int_eq(whelk_error_errno(err), ETIMEDOUT);
    /* the first stage still running at the deadline, with the status the
     * kill gave it (DESIGN: "A timeout or an abort names a stage") */
    ck_assert_msg(whelk_error_stage(err) == 0,
                  "a timeout names the running stage, got %zu",
                  whelk_error_stage(err));
    ck_assert_int_eq(whelk_error_signal(err), SIGTERM);
    ck_assert_msg(contains(whelk_error_message(err), "timed out"), "%s",
                  whelk_error_message(err));
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    ck_assert_int_eq(whelk_result_ncmds(res), 1);
    ASSERT_STDOUT(res, "before\n");
    ASSERT_STDERR(res, "partial\n");
    /* the helper does not ignore SIGTERM: the first signal ends it */
    ck_assert_int_eq(whelk_result_signal(res, 0), SIGTERM);
    ck_assert_int_eq(whelk_result_exit_code(res, 0), -1);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* Output read before the deadline reaches a line callback too, and lines
 * and capture agree. */
START_TEST(test_timeout_lines_before_deadline)
{
    whelk_pipeline *p = HPIPE("lines:1000", "out:partial", "sleep:30000");
    const whelk_result *res;
    whelk_error *err;
    lines got;
    size_t len;
    char *want = lines_text(1000, &len);

    lines_init(&got, 0);
    whelk_pipeline_on_line(p, WHELK_STDOUT, collect_line, &got);
    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 200);
    err = run_fail(p, WHELK_E_TIMEOUT);
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    /* every line, and the last one without its newline */
    ck_assert_int_eq(got.n, 1001);
    ck_assert(memcmp(got.text, want, len) == 0);
    ck_assert_str_eq(got.text + len, "partial\n");
    want = realloc(want, len + 8);
    memcpy(want + len, "partial", 8);
    ASSERT_STDOUT(res, want);
    free(want);
    free(got.text);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* A run that ends well before its deadline is not affected by it. */
START_TEST(test_timeout_not_reached)
{
    whelk_pipeline *p = HPIPE("out:quick\\n", "exit:0");
    whelk_result *r;
    int64_t t0 = now_ms();

    whelk_pipeline_timeout(p, 20000);
    r = run_ok(p);
    ck_assert_msg(now_ms() - t0 < 10000, "a quick run waited for its timeout");
    ASSERT_STDOUT(r, "quick\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

/*
 * Grandchildren in the group: `sh -c 'sleep 30 & wait'` and friends.  The
 * run returns within deadline + grace + drain + slack whatever the
 * children do, and nothing of the group survives it.
 */
static void check_grandchild(const char *const *actions, size_t nact,
                             int term_ignored, int min_orphans)
{
    whelk_cmd *cmd = whelk_cmd_new(HELPER, "pgid", "out:started\\n",
                                   (const char *)NULL);
    whelk_pipeline *p;
    whelk_proc *pr;
    whelk_error *err = NULL;
    whelk_result *r;
    const whelk_result *res;
    char want[64];
    pid_t pgid;
    int64_t t0, dt, floor_ms = term_ignored ? 300 + 200 : 300;
    int orphans;
    size_t i;

    for (i = 0; i < nact; i++)
        whelk_cmd_arg(cmd, actions[i]);
    p = whelk_pipe(cmd, (whelk_cmd *)NULL);
    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 200);
    t0 = now_ms();
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    pgid = whelk_proc_pid(pr, 0);
    ck_assert_int_gt(pgid, 0);
    r = whelk_proc_wait(pr, &err);
    dt = now_ms() - t0;
    ck_assert_msg(r == NULL && whelk_error_kind(err) == WHELK_E_TIMEOUT,
                  "expected a timeout, got %s", err_desc(err));
    ck_assert_msg(dt >= floor_ms, "returned after %lld ms, before %lld ms",
                  (long long)dt, (long long)floor_ms);
    ck_assert_msg(dt < 300 + 200 + DRAIN_MS + SLACK_MS,
                  "a timed-out run returned after %lld ms", (long long)dt);
    /* stage 0 led its own group, and its output was kept */
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    snprintf(want, sizeof want, "%d\nstarted\n", (int)pgid);
    ASSERT_STDOUT(res, want);
    orphans = assert_group_dead(pgid);
    ck_assert_msg(orphans >= min_orphans && orphans <= 1,
                  "%d grandchildren found in the group", orphans);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}

START_TEST(test_timeout_grandchild_sleeping_parent)
{
    static const char *const a[] = {"fork-sleep:30000", "sleep:30000"};

    become_subreaper();
    check_grandchild(a, 2, 0, 1);
}
END_TEST

START_TEST(test_timeout_grandchild_waiting_parent)
{
    /* sh -c 'sleep 30 & wait' */
    static const char *const a[] = {"fork-sleep:30000", "wait-children"};

    /* the parent may reap its child before it dies itself */
    become_subreaper();
    check_grandchild(a, 2, 0, 0);
}
END_TEST

START_TEST(test_timeout_grandchild_holds_pipe)
{
    /* the stage exits at once; its grandchild keeps stdout and stderr */
    static const char *const a[] = {"fork-sleep:30000", "exit:0"};

    become_subreaper();
    check_grandchild(a, 2, 0, 1);
}
END_TEST

START_TEST(test_timeout_grandchild_ignores_term)
{
    /* trap '' TERM; sleep 30 & wait -- only SIGKILL ends them */
    static const char *const a[] = {"ignore:TERM", "fork-sleep:30000",
                                    "sleep:30000"};

    become_subreaper();
    check_grandchild(a, 3, 1, 1);
}
END_TEST

START_TEST(test_timeout_grandchild_ignores_term_orphan)
{
    /* the stage is gone; its grandchild ignores SIGTERM and holds the pipe */
    static const char *const a[] = {"ignore:TERM", "fork-sleep:30000",
                                    "exit:0"};

    become_subreaper();
    check_grandchild(a, 3, 1, 1);
}
END_TEST

/* A stage that ignores SIGTERM is killed with SIGKILL after the grace. */
START_TEST(test_timeout_sigkill_after_grace)
{
    whelk_pipeline *p = HPIPE("ignore:TERM", "out:ready\\n", "sleep:30000");
    const whelk_result *res;
    whelk_error *err;
    int64_t t0, dt;

    /* a long deadline so the helper has ignored SIGTERM by then */
    whelk_pipeline_timeout(p, 1000);
    whelk_pipeline_kill_grace(p, 200);
    t0 = now_ms();
    err = run_fail(p, WHELK_E_TIMEOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 1000 + 200, "SIGKILL before the grace ran out: %lld ms",
                  (long long)dt);
    ck_assert_msg(dt < 1000 + 200 + DRAIN_MS + SLACK_MS, "returned after %lld ms",
                  (long long)dt);
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    ck_assert_int_eq(whelk_result_signal(res, 0), SIGKILL);
    ASSERT_STDOUT(res, "ready\n");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* whelk_pipeline_kill_grace: the SIGKILL comes no earlier than the grace
 * after the deadline, and not much later. */
static int64_t timed_kill(unsigned timeout, int grace)
{
    whelk_pipeline *p = HPIPE("ignore:TERM", "sleep:30000");
    const whelk_result *res;
    whelk_error *err;
    int64_t t0, dt;

    whelk_pipeline_timeout(p, timeout);
    if (grace >= 0)
        whelk_pipeline_kill_grace(p, (unsigned)grace);
    t0 = now_ms();
    err = run_fail(p, WHELK_E_TIMEOUT);
    dt = now_ms() - t0;
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    ck_assert_int_eq(whelk_result_signal(res, 0), SIGKILL);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
    return dt;
}

START_TEST(test_kill_grace_short)
{
    int64_t dt = timed_kill(500, 100);

    ck_assert_msg(dt >= 600, "SIGKILL after %lld ms, before 500 + 100",
                  (long long)dt);
    /* the default grace (2000 ms) would take at least 2500 ms */
    ck_assert_msg(dt < 2300, "a 100 ms grace took %lld ms", (long long)dt);
}
END_TEST

START_TEST(test_kill_grace_long)
{
    int64_t dt = timed_kill(300, 2500);

    ck_assert_msg(dt >= 2800, "SIGKILL after %lld ms, before 300 + 2500",
                  (long long)dt);
    ck_assert_msg(dt < 2800 + DRAIN_MS + SLACK_MS, "took %lld ms",
                  (long long)dt);
}
END_TEST

START_TEST(test_kill_grace_default)
{
    int64_t dt = timed_kill(300, -1);

    ck_assert_msg(dt >= 2300, "SIGKILL after %lld ms, before 300 + 2000",
                  (long long)dt);
    ck_assert_msg(dt < 2300 + DRAIN_MS + SLACK_MS, "took %lld ms",
                  (long long)dt);
}
END_TEST

START_TEST(test_kill_grace_zero)
{
    int64_t dt = timed_kill(300, 0);

    ck_assert_msg(dt >= 300, "returned after %lld ms", (long long)dt);
    ck_assert_msg(dt < 300 + 1500, "a zero grace took %lld ms",
                  (long long)dt);
}
END_TEST

/* Every stage of a pipeline is in the group and is killed. */
START_TEST(test_timeout_pipeline)
{
    whelk_pipeline *p = whelk_pipe(HCMD("out:a\\n", "sleep:30000"),
                                   HCMD("cat"),
                                   HCMD("ignore:TERM", "cat", "sleep:30000"),
                                   (whelk_cmd *)NULL);
    const whelk_result *res;
    whelk_error *err;
    int64_t t0 = now_ms(), dt;

    whelk_pipeline_timeout(p, 1000);
    whelk_pipeline_kill_grace(p, 200);
    err = run_fail(p, WHELK_E_TIMEOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 1000 + 200, "returned after %lld ms", (long long)dt);
    ck_assert_msg(dt < 1200 + DRAIN_MS + SLACK_MS, "took %lld ms",
                  (long long)dt);
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    ck_assert_int_eq(whelk_result_ncmds(res), 3);
    ck_assert_int_eq(whelk_result_signal(res, 0), SIGTERM);
    ck_assert_int_eq(whelk_result_signal(res, 1), SIGTERM);
    ck_assert_int_eq(whelk_result_signal(res, 2), SIGKILL);
    /* "a\n" went through two cats before the deadline */
    ASSERT_STDOUT(res, "a\n");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

void life_timeouts(Suite *s)
{
    TCase *tc;

    tc = life_tcase(s, "timeout", TEST_TIMEOUT);
    tcase_add_test(tc, test_timeout_keeps_output);
    tcase_add_test(tc, test_timeout_lines_before_deadline);
    tcase_add_test(tc, test_timeout_not_reached);
    tcase_add_test(tc, test_timeout_grandchild_sleeping_parent);
    tcase_add_test(tc, test_timeout_grandchild_waiting_parent);
    tcase_add_test(tc, test_timeout_grandchild_holds_pipe);
    tcase_add_test(tc, test_timeout_grandchild_ignores_term);
    tcase_add_test(tc, test_timeout_grandchild_ignores_term_orphan);
    tcase_add_test(tc, test_timeout_sigkill_after_grace);
    tcase_add_test(tc, test_kill_grace_short);
    tcase_add_test(tc, test_kill_grace_long);
    tcase_add_test(tc, test_kill_grace_default);
    tcase_add_test(tc, test_kill_grace_zero);
    tcase_add_test(tc, test_timeout_pipeline);
}
