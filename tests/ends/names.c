/*
 * ends/names.c -- the ends suite's "names" tests (run by tests/check_ends.c).
 */
#include "ends.h"

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

void ends_names(Suite *s)
{
    TCase *tc;

    tc = ends_tcase(s, "names", TEST_TIMEOUT);
    tcase_add_test(tc, test_timeout_names_stage_with_its_status);
    tcase_add_test(tc, test_timeout_names_first_running_stage);
    tcase_add_test(tc, test_timeout_term_ignored_names_sigkill);
}
