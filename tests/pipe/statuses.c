/*
 * pipe/statuses.c -- the pipe suite's "statuses" tests (run by tests/check_pipe.c).
 */
#include "pipe.h"

START_TEST(test_statuses_check_off)
{
    whelk_pipeline *p = whelk_pipe(H("out:x", "exit:3"), H("drain", "exit:5"),
                                   H("drain", "kill:USR1"), NULL);
    whelk_result *r;

    whelk_pipeline_check(p, 0);
    r = run_ok_free(p);
    ck_assert_uint_eq(whelk_result_ncmds(r), 3);
    ASSERT_STATUS(r, 0, 3, 0);
    ASSERT_STATUS(r, 1, 5, 0);
    ASSERT_STATUS(r, 2, -1, SIGUSR1);
    ASSERT_STDOUT(r, "");
    whelk_result_free(r);
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_first_failing_stage_named)
{
    /* stages 0 and 2 both fail on their own: the first is named */
    whelk_pipeline *p = whelk_pipe(H("out:x", "exit:4"), H("cat"),
                                   H("drain", "exit:5"), NULL);
    whelk_error *err = run_fail(p, WHELK_E_EXIT);
    const whelk_result *r = whelk_error_result(err);

    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_int_eq(whelk_error_exit_code(err), 4);
    ck_assert_ptr_nonnull(r);
    ASSERT_STATUS(r, 0, 4, 0);
    ASSERT_STATUS(r, 1, 0, 0);
    ASSERT_STATUS(r, 2, 5, 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_failing_middle_stage)
{
    whelk_pipeline *p = whelk_pipe(H("out:data\\n"),
                                   H("drain", "err:boom", "exit:3"), H("cat"),
                                   NULL);
    whelk_error *err = run_fail(p, WHELK_E_EXIT);
    const whelk_result *r = whelk_error_result(err);
    char *h = shq(HELPER);
    char *cmd = xasprintf("%s drain err:boom exit:3", h);
    const char *msg = whelk_error_message(err);

    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_exit_code(err), 3);
    ck_assert_int_eq(whelk_error_signal(err), 0);
    ck_assert_str_eq(whelk_error_command(err), cmd);
    ck_assert_msg(contains(msg, cmd), "message does not name stage 1: %s",
                  msg);
    ck_assert_msg(contains(msg, "exited with status 3"), "message: %s", msg);
    ck_assert_msg(contains(msg, "boom"), "no stderr tail: %s", msg);
    /* the other stages are not blamed */
    ck_assert_msg(!contains(msg, "out:data"), "message: %s", msg);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(whelk_result_ncmds(r), 3);
    ASSERT_STATUS(r, 0, 0, 0);
    ASSERT_STATUS(r, 1, 3, 0);
    ASSERT_STATUS(r, 2, 0, 0);
    ASSERT_STDERR(r, "boom");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(h);
    free(cmd);
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_signalled_middle_stage)
{
    whelk_pipeline *p =
        whelk_pipe(H("out:data\\n"), H("drain", "kill:TERM"), H("cat"), NULL);
    whelk_error *err = run_fail(p, WHELK_E_SIGNAL);

    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_signal(err), SIGTERM);
    ck_assert_int_eq(whelk_error_exit_code(err), -1);
    ck_assert_msg(contains(whelk_error_message(err), "kill:TERM") &&
                      contains(whelk_error_message(err), "SIGTERM"),
                  "message: %s", whelk_error_message(err));
    ASSERT_STATUS(whelk_error_result(err), 1, -1, SIGTERM);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_ok_codes)
{
    static const int zero_one[] = {0, 1}, only_two[] = {2};
    whelk_cmd *mid = H("drain", "exit:1");
    whelk_pipeline *p = whelk_pipe(H("out:x"), mid, H("cat"), NULL);
    whelk_result *r;
    whelk_error *err;

    /* exit 1 allowed */
    whelk_cmd_ok_codes(mid, zero_one, 2);
    r = run_ok(p);
    ASSERT_STATUS(r, 1, 1, 0);
    ASSERT_STDOUT(r, "");
    whelk_result_free(r);

    /* n == 0 restores the default: exit 1 fails */
    whelk_cmd_ok_codes(mid, NULL, 0);
    err = run_fail(p, WHELK_E_EXIT);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_exit_code(err), 1);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    /* the codes are the ones that count: {2} makes exit 0 a failure */
    mid = H("drain", "exit:0");
    whelk_cmd_ok_codes(mid, only_two, 1);
    p = whelk_pipe(H("out:x"), mid, H("cat"), NULL);
    err = run_fail(p, WHELK_E_EXIT);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_exit_code(err), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    /* allowed codes of the last stage */
    mid = H("drain", "exit:2");
    whelk_cmd_ok_codes(mid, only_two, 1);
    r = run_ok_free(whelk_pipe(H("out:x"), mid, NULL));
    ASSERT_STATUS(r, 1, 2, 0);
    whelk_result_free(r);
}
END_TEST

void pipe_statuses(Suite *s)
{
    TCase *tc;

    tc = pipe_tcase(s, "statuses", 0);
    tcase_add_test(tc, test_statuses_check_off);
    tcase_add_test(tc, test_first_failing_stage_named);
    tcase_add_test(tc, test_failing_middle_stage);
    tcase_add_test(tc, test_signalled_middle_stage);
    tcase_add_test(tc, test_ok_codes);
}
