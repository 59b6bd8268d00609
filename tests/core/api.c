/*
 * core/api.c -- the core suite's "api" tests (run by tests/check_core.c).
 */
#include "core.h"

START_TEST(test_whelk_sh)
{
    whelk_error *err = NULL;
    whelk_result *r = whelk_sh(&err, HELPER, "out:via sh", "err:e", "count",
                               (const char *)NULL);

    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ASSERT_STDOUT(r, "via sh0\n"); /* stdin /dev/null */
    ASSERT_STDERR(r, "e");
    ck_assert_uint_eq(whelk_result_ncmds(r), 1);
    whelk_result_free(r);

    /* checked by default */
    r = whelk_sh(&err, HELPER, "out:partial", "exit:9", (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXIT);
    ck_assert_int_eq(whelk_error_exit_code(err), 9);
    ASSERT_STDOUT(whelk_error_result(err), "partial");
    whelk_error_free(err);

    /* NULL err pointer */
    ck_assert_ptr_null(whelk_sh(NULL, HELPER, "exit:1", (const char *)NULL));
    ck_assert_ptr_null(whelk_sh(NULL, (const char *)NULL, (const char *)NULL));
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_whelk_sh_invalid)
{
    whelk_error *err = NULL;

    ck_assert_ptr_null(whelk_sh(&err, "", "x", (const char *)NULL));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_INVALID);
    whelk_error_free(err);
    err = NULL;
    ck_assert_ptr_null(whelk_sh(&err, (const char *)NULL, (const char *)NULL));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_INVALID);
    whelk_error_free(err);
}
END_TEST

START_TEST(test_result_out_of_range)
{
    whelk_result *r = HELPER_OK("exit:0");

    ck_assert_uint_eq(whelk_result_ncmds(r), 1);
    ck_assert_int_eq(whelk_result_exit_code(r, 1), -1);
    ck_assert_int_eq(whelk_result_exit_code(r, (size_t)-1), -1);
    ck_assert_int_eq(whelk_result_signal(r, 1), 0);
    ck_assert_int_eq(whelk_result_signal(r, 12345), 0);
    ck_assert_int_eq(whelk_result_truncated(r), 0);
    whelk_result_free(r);
}
END_TEST

START_TEST(test_error_null_accessors)
{
    ck_assert_int_eq(whelk_error_kind(NULL), 0);
    ck_assert_int_eq(whelk_error_errno(NULL), 0);
    ck_assert_uint_eq(whelk_error_stage(NULL), WHELK_NO_STAGE);
    ck_assert_ptr_nonnull(whelk_error_message(NULL));
    ck_assert_ptr_nonnull(whelk_error_command(NULL));
    ck_assert_int_eq(whelk_error_exit_code(NULL), -1);
    ck_assert_int_eq(whelk_error_signal(NULL), 0);
    ck_assert_ptr_null(whelk_error_result(NULL));
    whelk_error_free(NULL);
    whelk_result_free(NULL);
    whelk_pipeline_free(NULL);
    whelk_cmd_free(NULL);
}
END_TEST

START_TEST(test_null_object_setters)
{
    /* a setter given no object does nothing */
    whelk_cmd_arg(NULL, "x");
    whelk_cmd_setenv(NULL, "A", "b");
    whelk_cmd_clearenv(NULL);
    whelk_cmd_chdir(NULL, "/");
    whelk_cmd_stderr(NULL, WHELK_NULL);
    whelk_cmd_stderr_file(NULL, "/dev/null", 0);
    whelk_pipeline_stdin_bytes(NULL, "x", 1);
    whelk_pipeline_stdin_file(NULL, "/dev/null");
    whelk_pipeline_stdin(NULL, WHELK_NULL);
    whelk_pipeline_stdout(NULL, WHELK_NULL);
    whelk_pipeline_stdout_file(NULL, "/dev/null", 0);
    whelk_pipeline_check(NULL, 0);
    ck_assert_ptr_null(whelk_pipeline_cmd(NULL, 0));
}
END_TEST

START_TEST(test_kind_names)
{
    ck_assert_str_eq(whelk_error_kind_name(WHELK_E_INVALID), "WHELK_E_INVALID");
    ck_assert_str_eq(whelk_error_kind_name(WHELK_E_NOTFOUND),
                     "WHELK_E_NOTFOUND");
    ck_assert_str_eq(whelk_error_kind_name(WHELK_E_EXEC), "WHELK_E_EXEC");
    ck_assert_str_eq(whelk_error_kind_name(WHELK_E_IO), "WHELK_E_IO");
    ck_assert_str_eq(whelk_error_kind_name(WHELK_E_EXIT), "WHELK_E_EXIT");
    ck_assert_str_eq(whelk_error_kind_name(WHELK_E_SIGNAL), "WHELK_E_SIGNAL");
    ck_assert_str_eq(whelk_error_kind_name(WHELK_E_ABORTED), "WHELK_E_ABORTED");
    ck_assert_str_eq(whelk_error_kind_name(0), "?");
    ck_assert_str_eq(whelk_error_kind_name(999), "?");
}
END_TEST

START_TEST(test_version)
{
    unsigned num = 0;

    ck_assert_str_eq(whelk_version(&num), "0.2.0");
    ck_assert_uint_eq(num, WHELK_VERSION_NUM);
    ck_assert_ptr_nonnull(whelk_version(NULL));
}
END_TEST

START_TEST(test_cmd_free_unused)
{
    /* a command never given to a pipeline is freed alone */
    whelk_cmd *c = helper_cmd("out:x", (const char *)NULL);

    whelk_cmd_setenv(c, "A", "b");
    whelk_cmd_chdir(c, "/");
    whelk_cmd_free(c);
}
END_TEST

void core_api(Suite *s)
{
    TCase *tc;

    tc = core_tcase(s, "api", 0);
    tcase_add_test(tc, test_whelk_sh);
    tcase_add_test(tc, test_whelk_sh_invalid);
    tcase_add_test(tc, test_result_out_of_range);
    tcase_add_test(tc, test_error_null_accessors);
    tcase_add_test(tc, test_null_object_setters);
    tcase_add_test(tc, test_kind_names);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_cmd_free_unused);
}
