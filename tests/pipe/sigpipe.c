/*
 * pipe/sigpipe.c -- the pipe suite's "SIGPIPE" tests (run by tests/check_pipe.c).
 */
#include "pipe.h"

START_TEST(test_sigpipe_upstream)
{
    whelk_result *r =
        run_ok_free(whelk_pipe(H("outn:10000000"), H("readn:1"), NULL));

    ASSERT_STATUS(r, 0, -1, SIGPIPE);
    ASSERT_STATUS(r, 1, 0, 0);
    whelk_result_free(r);
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_sigpipe_upstream_two_stages)
{
    /* readn quits: cat gets SIGPIPE, then so does outn */
    whelk_result *r = run_ok_free(
        whelk_pipe(H("outn:10000000"), H("cat"), H("readn:1"), NULL));

    ASSERT_STATUS(r, 0, -1, SIGPIPE);
    ASSERT_STATUS(r, 1, -1, SIGPIPE);
    ASSERT_STATUS(r, 2, 0, 0);
    whelk_result_free(r);
}
END_TEST

START_TEST(test_sigpipe_last_stage_fails)
{
    int pfd[2];
    whelk_pipeline *p;
    whelk_error *err;
    const whelk_result *r;

    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    close(pfd[0]); /* the last stage's reader is gone */
    p = whelk_pipe(H("outn:100"), H("cat"), NULL);
    whelk_pipeline_stdout_fd(p, pfd[1]);
    err = run_fail(p, WHELK_E_SIGNAL);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_signal(err), SIGPIPE);
    ck_assert_int_eq(whelk_error_exit_code(err), -1);
    ck_assert_msg(contains(whelk_error_message(err), "SIGPIPE"), "message: %s",
                  whelk_error_message(err));
    r = whelk_error_result(err);
    ASSERT_STATUS(r, 0, 0, 0);
    ASSERT_STATUS(r, 1, -1, SIGPIPE);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ck_assert(fd_is_open(pfd[1]));
    close(pfd[1]);
}
END_TEST

START_TEST(test_sigpipe_single_stage_fails)
{
    int pfd[2];
    whelk_pipeline *p = helper_pipe("out:x", (const char *)NULL);
    whelk_error *err;

    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    close(pfd[0]);
    whelk_pipeline_stdout_fd(p, pfd[1]);
    err = run_fail(p, WHELK_E_SIGNAL);
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_int_eq(whelk_error_signal(err), SIGPIPE);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    close(pfd[1]);
}
END_TEST

START_TEST(test_sigpipe_last_blamed_not_upstream)
{
    /* cat (last) dies of SIGPIPE on its own, and takes outn with it:
     * the upstream SIGPIPE is never the cause while another stage failed */
    int pfd[2];
    whelk_pipeline *p = whelk_pipe(H("outn:10000000"), H("cat"), NULL);
    whelk_error *err;
    const whelk_result *r;

    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    close(pfd[0]);
    whelk_pipeline_stdout_fd(p, pfd[1]);
    err = run_fail(p, WHELK_E_SIGNAL);
    r = whelk_error_result(err);
    ASSERT_STATUS(r, 0, -1, SIGPIPE);
    ASSERT_STATUS(r, 1, -1, SIGPIPE);
    ck_assert_msg(whelk_error_stage(err) == 1, "stage %zd named: %s",
                  (ssize_t)whelk_error_stage(err), err_desc(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    close(pfd[1]);
}
END_TEST

START_TEST(test_sigpipe_never_named)
{
    /* printf x | grep -E '(' | cat: the middle stage exits 2 without
     * reading; the first is killed by SIGPIPE; the middle one is named */
    whelk_pipeline *p =
        whelk_pipe(H("outn:10000000"), H("err:bad regex", "exit:2"), H("cat"),
                   NULL);
    whelk_error *err = run_fail(p, WHELK_E_EXIT);
    const whelk_result *r = whelk_error_result(err);

    ck_assert_msg(whelk_error_stage(err) == 1, "%s", err_desc(err));
    ck_assert_int_eq(whelk_error_exit_code(err), 2);
    ck_assert_int_eq(whelk_error_signal(err), 0);
    ck_assert_msg(contains(whelk_error_message(err), "bad regex"), "%s",
                  whelk_error_message(err));
    ASSERT_STATUS(r, 0, -1, SIGPIPE);
    ASSERT_STATUS(r, 1, 2, 0);
    ASSERT_STATUS(r, 2, 0, 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_sigpipe_never_named_downstream_failure)
{
    /* the failure is two stages down: outn's SIGPIPE is still not named */
    whelk_pipeline *p = whelk_pipe(H("outn:10000000"), H("readn:1"),
                                   H("exit:7"), NULL);
    whelk_error *err = run_fail(p, WHELK_E_EXIT);
    const whelk_result *r = whelk_error_result(err);

    ck_assert_msg(whelk_error_stage(err) == 2, "%s", err_desc(err));
    ck_assert_int_eq(whelk_error_exit_code(err), 7);
    ASSERT_STATUS(r, 0, -1, SIGPIPE);
    ASSERT_STATUS(r, 1, 0, 0);
    ASSERT_STATUS(r, 2, 7, 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

void pipe_sigpipe(Suite *s)
{
    TCase *tc;

    tc = pipe_tcase(s, "sigpipe", 0);
    tcase_add_test(tc, test_sigpipe_upstream);
    tcase_add_test(tc, test_sigpipe_upstream_two_stages);
    tcase_add_test(tc, test_sigpipe_last_stage_fails);
    tcase_add_test(tc, test_sigpipe_single_stage_fails);
    tcase_add_test(tc, test_sigpipe_last_blamed_not_upstream);
    tcase_add_test(tc, test_sigpipe_never_named);
    tcase_add_test(tc, test_sigpipe_never_named_downstream_failure);
}
