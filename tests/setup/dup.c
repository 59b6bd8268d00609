/*
 * setup/dup.c -- the setup suite's "dup" tests (run by tests/check_setup.c).
 */
#include "setup.h"

/* ===================================================================== */
/* whelk_cmd_dup, whelk_pipeline_dup                                     */
/* ===================================================================== */

START_TEST(test_cmd_dup_is_independent)
{
    static const int ok[] = {0, 7};
    char *dir = make_tmpdir(), real[4096];
    whelk_cmd *a = H("env:WHELK_A", "env:WHELK_B", "pwd", "err:e\\n",
                     "exit:7"),
              *b;
    whelk_pipeline *p;
    whelk_result *r;
    char *want;

    ck_assert_ptr_nonnull(realpath(dir, real));
    whelk_cmd_setenv(a, "WHELK_A", "1");
    whelk_cmd_setenv(a, "WHELK_B", "2");
    whelk_cmd_chdir(a, dir);
    whelk_cmd_stderr(a, WHELK_TO_STDOUT);
    whelk_cmd_ok_codes(a, ok, 2);
    b = whelk_cmd_dup(a);
    /* changing or freeing the original leaves the copy as it was */
    whelk_cmd_setenv(a, "WHELK_A", "changed");
    whelk_cmd_arg(a, "out:more");
    whelk_cmd_free(a);
    p = whelk_pipe(b, NULL);
    r = run_ok(p);
    want = xasprintf("1\n2\n%s\ne\n", real);
    ASSERT_STDOUT(r, want);
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 7);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(want);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(test_cmd_dup_template)
{
    /* one template, many commands: each copy gets its own last argument */
    whelk_cmd *tmpl = H("argvz", "exit:0");
    whelk_pipeline *p[3];
    whelk_result *r;
    char arg[16];
    int i;

    whelk_cmd_setenv(tmpl, "WHELK_T", "t");
    for (i = 0; i < 3; i++) {
        whelk_cmd *c = whelk_cmd_dup(tmpl);
        snprintf(arg, sizeof arg, "n%d", i);
        whelk_cmd_arg(c, arg);
        p[i] = whelk_pipe(c, NULL);
    }
    whelk_cmd_free(tmpl);
    for (i = 0; i < 3; i++) {
        size_t len;
        const char *s;
        r = run_ok(p[i]);
        s = whelk_result_stdout(r, &len);
        snprintf(arg, sizeof arg, "n%d", i);
        ck_assert_uint_eq(len, strlen(HELPER) + 1 + 6 + 7 + 3);
        ck_assert_str_eq(s + len - 3, arg);
        whelk_result_free(r);
        whelk_pipeline_free(p[i]);
    }
}
END_TEST

static int copy_filter(whelk_filter *out, const void *data, size_t len,
                       void *ud)
{
    (*(int *)ud)++;
    return data && whelk_filter_write(out, data, len) < 0;
}

START_TEST(test_cmd_dup_filter)
{
    /* a copy of a filter stage is a filter stage */
    int calls = 0;
    whelk_cmd *f = whelk_cmd_new_filter("copy", copy_filter, &calls);
    whelk_pipeline *p = whelk_pipe(H("out:abc"), whelk_cmd_dup(f), NULL);
    whelk_result *r = run_ok(p);

    ASSERT_STDOUT(r, "abc");
    ck_assert_int_ge(calls, 2); /* the data, then the end */
    whelk_result_free(r);
    whelk_pipeline_free(p);
    whelk_cmd_free(f);
}
END_TEST

START_TEST(test_cmd_dup_keeps_faults)
{
    whelk_cmd *bad = whelk_cmd_new_argstr("'open");
    whelk_pipeline *p = whelk_pipe(whelk_cmd_dup(bad), NULL);
    whelk_error *err = run_fail(p, WHELK_E_INVALID);

    ck_assert(contains(whelk_error_message(err), "unterminated"));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    whelk_cmd_free(bad);

    p = whelk_pipe(whelk_cmd_dup(NULL), NULL);
    err = run_fail(p, WHELK_E_INVALID);
    ck_assert_int_eq(whelk_error_errno(err), EINVAL);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_pipeline_dup)
{
    whelk_pipeline *a = whelk_pipe(H("cat", "err:one\\n"),
                                   H("count", "exit:3"), NULL),
                   *b;
    whelk_result *r;

    whelk_pipeline_stdin_bytes(a, "abcd", 4);
    whelk_pipeline_check(a, 0);
    whelk_pipeline_decode(a, WHELK_STDOUT, "ISO-8859-1",
                          WHELK_DECODE_STRICT);
    b = whelk_pipeline_dup(a);
    whelk_pipeline_free(a);
    ck_assert_uint_eq(whelk_pipeline_ncmds(b), 2);
    r = run_ok(b);
    ASSERT_STDOUT(r, "4\n");
    ck_assert_str_eq(whelk_result_stderr(r, NULL), "one\n");
    ck_assert_int_eq(whelk_result_exit_code(r, 1), 3);
    whelk_result_free(r);
    /* the copy runs again, and a copy of a copy too */
    a = whelk_pipeline_dup(b);
    whelk_pipeline_free(b);
    r = run_ok(a);
    ASSERT_STDOUT(r, "4\n");
    whelk_result_free(r);
    whelk_pipeline_free(a);

    a = whelk_pipeline_dup(NULL);
    whelk_error_free(run_fail(a, WHELK_E_INVALID));
    whelk_pipeline_free(a);
}
END_TEST

void setup_dup(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "dup", TEST_TIMEOUT, NULL, NULL);
    tcase_add_test(tc, test_cmd_dup_is_independent);
    tcase_add_test(tc, test_cmd_dup_template);
    tcase_add_test(tc, test_cmd_dup_keeps_faults);
    tcase_add_test(tc, test_cmd_dup_filter);
    tcase_add_test(tc, test_pipeline_dup);
}
