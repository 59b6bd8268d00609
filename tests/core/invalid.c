/*
 * core/invalid.c -- the core suite's "invalid" tests (run by tests/check_core.c).
 */
#include "core.h"

/* The run of p must fail with WHELK_E_INVALID before anything runs. */
static void check_invalid(whelk_pipeline *p)
{
    whelk_error *err;

    ck_assert_ptr_nonnull(p);
    err = run_fail(p, WHELK_E_INVALID);
    ck_assert_ptr_null(whelk_error_result(err));
    ck_assert_msg(whelk_error_message(err)[0] != '\0', "empty message");
    ASSERT_NO_CHILDREN();
    whelk_error_free(err);
    whelk_pipeline_free(p);
}

/* A command that would leave a marker if it ran. */
static char *marker_path, *marker_arg;

static whelk_cmd *marker_cmd(void)
{
    if (!marker_path) {
        marker_path = tmp_path("marker");
        marker_arg = xasprintf("touch:%s", marker_path);
    }
    return helper_cmd(marker_arg, (const char *)NULL);
}

static void marker_teardown(void)
{
    if (marker_path)
        ck_assert_msg(!path_exists(marker_path), "a command ran");
    free(marker_path);
    free(marker_arg);
    marker_path = marker_arg = NULL;
    tmp_env_teardown();
}

START_TEST(test_invalid_null_pipeline)
{
    whelk_error *err = NULL;

    ck_assert_ptr_null(whelk_run(NULL, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_INVALID);
    whelk_error_free(err);
    /* err may be NULL */
    ck_assert_ptr_null(whelk_run(NULL, NULL));
}
END_TEST

START_TEST(test_invalid_empty_argv)
{
    const char *empty[] = {NULL};

    check_invalid(whelk_pipe(whelk_cmd_newv(empty), (whelk_cmd *)NULL));
    check_invalid(whelk_pipe(whelk_cmd_newv(NULL), (whelk_cmd *)NULL));
}
END_TEST

START_TEST(test_invalid_empty_program)
{
    check_invalid(whelk_pipe(whelk_cmd_new("", "out:x", (const char *)NULL),
                             (whelk_cmd *)NULL));
    check_invalid(
        whelk_pipe(whelk_cmd_new(NULL, (const char *)NULL), (whelk_cmd *)NULL));
}
END_TEST

START_TEST(test_invalid_env_names)
{
    static const char *bad[] = {"", "A=B", "=", NULL};
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        whelk_cmd *c = marker_cmd();

        whelk_cmd_setenv(c, bad[i], "v");
        check_invalid(whelk_pipe(c, (whelk_cmd *)NULL));
    }
    /* also when unsetting */
    {
        whelk_cmd *c = marker_cmd();

        whelk_cmd_setenv(c, "X=Y", NULL);
        check_invalid(whelk_pipe(c, (whelk_cmd *)NULL));
    }
}
END_TEST

START_TEST(test_invalid_null_arg)
{
    whelk_cmd *c = marker_cmd();

    whelk_cmd_arg(c, NULL);
    whelk_cmd_arg(c, "out:x"); /* a later good call does not undo it */
    check_invalid(whelk_pipe(c, (whelk_cmd *)NULL));
}
END_TEST

START_TEST(test_invalid_no_stage)
{
    check_invalid(whelk_pipeline_new());
}
END_TEST

START_TEST(test_invalid_destinations)
{
    whelk_cmd *c;
    whelk_pipeline *p;

    /* stderr: not WHELK_TO_STDERR, not a made-up value */
    c = marker_cmd();
    whelk_cmd_stderr(c, WHELK_TO_STDERR);
    check_invalid(whelk_pipe(c, (whelk_cmd *)NULL));
    c = marker_cmd();
    whelk_cmd_stderr(c, 12345);
    check_invalid(whelk_pipe(c, (whelk_cmd *)NULL));

    /* stdout: not WHELK_TO_STDOUT */
    p = whelk_pipe(marker_cmd(), (whelk_cmd *)NULL);
    whelk_pipeline_stdout(p, WHELK_TO_STDOUT);
    check_invalid(p);
    p = whelk_pipe(marker_cmd(), (whelk_cmd *)NULL);
    whelk_pipeline_stdout(p, -1);
    check_invalid(p);

    /* stdin: only WHELK_NULL and WHELK_INHERIT */
    p = whelk_pipe(marker_cmd(), (whelk_cmd *)NULL);
    whelk_pipeline_stdin(p, WHELK_CAPTURE);
    check_invalid(p);
}
END_TEST

START_TEST(test_nomem_null_cmd_in_pipe)
{
    /* a NULL command (a failed whelk_cmd_new) is remembered as NOMEM,
     * whether given to whelk_pipe or to whelk_pipeline_add */
    whelk_pipeline *p = whelk_pipe((whelk_cmd *)NULL, (whelk_cmd *)NULL);
    whelk_error *err;

    ck_assert_ptr_nonnull(p);
    err = run_fail(p, WHELK_E_NOMEM);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    p = whelk_pipeline_new();
    ck_assert_ptr_nonnull(p);
    whelk_pipeline_add(p, marker_cmd());
    whelk_pipeline_add(p, NULL);
    err = run_fail(p, WHELK_E_NOMEM);
    ASSERT_NO_CHILDREN();
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

void core_invalid(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "invalid", TEST_TIMEOUT, tmp_env_setup, marker_teardown);
    tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
    tcase_add_test(tc, test_invalid_null_pipeline);
    tcase_add_test(tc, test_invalid_empty_argv);
    tcase_add_test(tc, test_invalid_empty_program);
    tcase_add_test(tc, test_invalid_env_names);
    tcase_add_test(tc, test_invalid_null_arg);
    tcase_add_test(tc, test_invalid_no_stage);
    tcase_add_test(tc, test_invalid_destinations);
    tcase_add_test(tc, test_nomem_null_cmd_in_pipe);
}
