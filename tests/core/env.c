/*
 * core/env.c -- the core suite's "env" tests (run by tests/check_core.c).
 */
#include "core.h"

START_TEST(test_env_set_unset)
{
    whelk_cmd *c =
        helper_cmd("env:WHELK_A", "env:WHELK_B", "env:WHELK_HOST",
                   "env:WHELK_EMPTY", "env:WHELK_EQ", (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_int_eq(setenv("WHELK_HOST", "from host", 1), 0);
    ck_assert_int_eq(setenv("WHELK_B", "host b", 1), 0);
    whelk_cmd_setenv(c, "WHELK_A", "one");
    whelk_cmd_setenv(c, "WHELK_A", "two"); /* later wins */
    whelk_cmd_setenv(c, "WHELK_B", NULL);  /* unset a host variable */
    whelk_cmd_setenv(c, "WHELK_EMPTY", "");
    whelk_cmd_setenv(c, "WHELK_EQ", "a=b=c");
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "two\n(unset)\nfrom host\n\na=b=c\n");
    whelk_result_free(r);
    /* the host's environment is untouched */
    ck_assert_str_eq(getenv("WHELK_B"), "host b");
    ck_assert_ptr_null(getenv("WHELK_A"));
    whelk_pipeline_free(p);

    /* set, then unset */
    c = helper_cmd("env:WHELK_A", (const char *)NULL);
    whelk_cmd_setenv(c, "WHELK_A", "x");
    whelk_cmd_setenv(c, "WHELK_A", NULL);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "(unset)\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_env_inherits_host)
{
    whelk_result *r;

    ck_assert_int_eq(setenv("WHELK_HOST2", "h2", 1), 0);
    r = HELPER_OK("env:WHELK_HOST2");
    ASSERT_STDOUT(r, "h2\n");
    whelk_result_free(r);
}
END_TEST

START_TEST(test_env_clearenv)
{
    whelk_cmd *c = helper_cmd("env:HOME", "env:WHELK_HOST", "env:WHELK_X",
                              "env:PATH", (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_int_eq(setenv("WHELK_HOST", "from host", 1), 0);
    ck_assert_int_eq(setenv("HOME", "/home/whelk", 1), 0);
    whelk_cmd_setenv(c, "WHELK_X", "before clear");
    whelk_cmd_clearenv(c);
    whelk_cmd_setenv(c, "WHELK_X", "kept");
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "(unset)\n(unset)\nkept\n(unset)\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_env_clearenv_only_set)
{
    whelk_cmd *c = helper_cmd("env:HOME", "env:WHELK_Y", (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;

    whelk_cmd_setenv(c, "WHELK_Y", "before clear");
    whelk_cmd_clearenv(c);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "(unset)\n(unset)\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

void core_env(Suite *s)
{
    TCase *tc;

    tc = core_tcase(s, "env", 1);
    tcase_add_test(tc, test_env_set_unset);
    tcase_add_test(tc, test_env_inherits_host);
    tcase_add_test(tc, test_env_clearenv);
    tcase_add_test(tc, test_env_clearenv_only_set);
}
