/*
 * setup/one_call.c -- the setup suite's "one_call" tests (run by tests/check_setup.c).
 */
#include "setup.h"

/* ===================================================================== */
/* One-call checks                                                       */
/* ===================================================================== */

START_TEST(test_sh_ok_codes)
{
    whelk_error *err = NULL;
    whelk_result *r;

    r = whelk_sh_ok(&err, WHELK_CODES(0, 1), HELPER, "out:x", "exit:1",
                    (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 1);
    ASSERT_STDOUT(r, "x");
    whelk_result_free(r);

    r = whelk_sh_ok(&err, WHELK_CODES(0, 1), HELPER, "exit:2",
                    (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXIT);
    ck_assert_int_eq(whelk_error_exit_code(err), 2);
    whelk_error_free(err);
    err = NULL;

    /* a signal is still a failure */
    r = whelk_sh_ok(&err, WHELK_CODES(0, 1), HELPER, "kill:TERM",
                    (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_SIGNAL);
    whelk_error_free(err);
    err = NULL;

    /* n == 0: just 0 */
    r = whelk_sh_ok(&err, NULL, 0, HELPER, "exit:1", (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXIT);
    whelk_error_free(err);
}
END_TEST

START_TEST(test_sh_unchecked)
{
    whelk_error *err = NULL;
    whelk_result *r;

    r = whelk_sh_unchecked(&err, HELPER, "out:y", "exit:3",
                           (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 3);
    ASSERT_STDOUT(r, "y");
    whelk_result_free(r);

    r = whelk_sh_unchecked(&err, HELPER, "kill:TERM", (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_int_eq(whelk_result_signal(r, 0), SIGTERM);
    whelk_result_free(r);

    /* what stops the run itself is still an error */
    r = whelk_sh_unchecked(&err, "no-such-program-whelk", (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_NOTFOUND);
    whelk_error_free(err);
}
END_TEST

typedef struct hook_count {
    int calls;
} hook_count;

static void count_error(const whelk_error *e, void *ud)
{
    (void)e;
    ((hook_count *)ud)->calls++;
}

START_TEST(test_shell_ok_codes)
{
    static const int ok01[] = {0, 1};
    whelk_shell *sh = whelk_shell_new();
    hook_count hc = {0};
    whelk_error *err = NULL;
    whelk_result *r;

    ck_assert_ptr_nonnull(sh);
    whelk_shell_on_error(sh, count_error, &hc);
    whelk_shell_ok_codes(sh, ok01, 2);
    r = whelk_shell_sh(sh, &err, HELPER, "exit:1", (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    whelk_result_free(r);
    r = whelk_shell_sh(sh, &err, HELPER, "exit:2", (const char *)NULL);
    ck_assert_ptr_null(r);
    whelk_error_free(err);
    err = NULL;
    ck_assert_int_eq(hc.calls, 1);

    /* the call's codes win over the shell's */
    r = whelk_shell_sh_ok(sh, &err, WHELK_CODES(0, 2), HELPER, "exit:2",
                          (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    whelk_result_free(r);
    r = whelk_shell_sh_ok(sh, &err, WHELK_CODES(0, 2), HELPER, "exit:1",
                          (const char *)NULL);
    ck_assert_ptr_null(r);
    whelk_error_free(err);
    err = NULL;
    ck_assert_int_eq(hc.calls, 2);

    /* unchecked: no error, so no error hook */
    r = whelk_shell_sh_unchecked(sh, &err, HELPER, "exit:9",
                                 (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 9);
    whelk_result_free(r);
    ck_assert_int_eq(hc.calls, 2);

    /* a shell with checking off: _ok turns it on for the call */
    whelk_shell_check(sh, 0);
    r = whelk_shell_sh(sh, &err, HELPER, "exit:5", (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    whelk_result_free(r);
    r = whelk_shell_sh_ok(sh, &err, WHELK_CODES(0, 1), HELPER, "exit:5",
                          (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXIT);
    whelk_error_free(err);
    ck_assert_int_eq(hc.calls, 3);

    /* commands made through the shell carry its codes into pipelines */
    whelk_shell_check(sh, 1);
    {
        whelk_pipeline *p = whelk_shell_pipe(
            sh, whelk_shell_cmd(sh, HELPER, "exit:1", (const char *)NULL),
            NULL);
        whelk_result_free(run_ok(p));
        whelk_pipeline_free(p);
    }
    whelk_shell_free(sh);
}
END_TEST

void setup_one_call(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "one-call", TEST_TIMEOUT, NULL, NULL);
    tcase_add_test(tc, test_sh_ok_codes);
    tcase_add_test(tc, test_sh_unchecked);
    tcase_add_test(tc, test_shell_ok_codes);
}
