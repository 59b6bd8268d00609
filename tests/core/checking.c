/*
 * core/checking.c -- the core suite's "checking" tests (run by tests/check_core.c).
 */
#include "core.h"

START_TEST(test_check_exit_error)
{
    whelk_pipeline *p = helper_pipe("out:some output\\n", "err:went wrong\\n",
                                    "exit:3", (const char *)NULL);
    whelk_error *err = run_fail(p, WHELK_E_EXIT);
    const whelk_result *r = whelk_error_result(err);

    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_int_eq(whelk_error_exit_code(err), 3);
    ck_assert_int_eq(whelk_error_signal(err), 0);
    ck_assert_int_eq(whelk_error_errno(err), 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(whelk_result_ncmds(r), 1);
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 3);
    ASSERT_STDOUT(r, "some output\n");
    ASSERT_STDERR(r, "went wrong\n");
    ck_assert_msg(contains(whelk_error_message(err), "exited with status 3"),
                  "message: %s", whelk_error_message(err));
    ck_assert_msg(contains(whelk_error_message(err), HELPER), "message: %s",
                  whelk_error_message(err));
    ck_assert_msg(contains(whelk_error_message(err), "went wrong"),
                  "message: %s", whelk_error_message(err));
    ck_assert_msg(contains(whelk_error_command(err), HELPER), "command: %s",
                  whelk_error_command(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_check_signal_error)
{
    whelk_pipeline *p = helper_pipe("out:x", "kill:TERM", (const char *)NULL);
    whelk_error *err = run_fail(p, WHELK_E_SIGNAL);
    const whelk_result *r = whelk_error_result(err);

    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_int_eq(whelk_error_signal(err), SIGTERM);
    ck_assert_int_eq(whelk_error_exit_code(err), -1);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(whelk_result_signal(r, 0), SIGTERM);
    ck_assert_int_eq(whelk_result_exit_code(r, 0), -1);
    ASSERT_STDOUT(r, "x");
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_check_sigpipe_single_stage_fails)
{
    /* SIGPIPE in the last stage is a failure like any other signal */
    whelk_pipeline *p = helper_pipe("kill:PIPE", (const char *)NULL);
    whelk_error *err = run_fail(p, WHELK_E_SIGNAL);

    ck_assert_int_eq(whelk_error_signal(err), SIGPIPE);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_check_off_returns_result)
{
    whelk_pipeline *p =
        helper_pipe("out:o", "err:e", "exit:3", (const char *)NULL);
    whelk_result *r;

    whelk_pipeline_check(p, 0);
    r = run_ok(p);
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 3);
    ASSERT_STDOUT(r, "o");
    ASSERT_STDERR(r, "e");
    whelk_result_free(r);
    /* and back on */
    whelk_pipeline_check(p, 1);
    whelk_error_free(run_fail(p, WHELK_E_EXIT));
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_check_ok_codes)
{
    static const int ok[] = {0, 1, 7};
    whelk_cmd *c = helper_cmd("exit:7", (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err;

    whelk_cmd_ok_codes(c, ok, 3);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 7);
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* 0 is not ok unless listed */
    c = helper_cmd("exit:0", (const char *)NULL);
    whelk_cmd_ok_codes(c, ok + 1, 2);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_EXIT);
    ck_assert_int_eq(whelk_error_exit_code(err), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    /* n == 0 restores the default */
    c = helper_cmd("exit:1", (const char *)NULL);
    whelk_cmd_ok_codes(c, ok, 3);
    whelk_cmd_ok_codes(c, NULL, 0);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    whelk_error_free(run_fail(p, WHELK_E_EXIT));
    whelk_pipeline_free(p);
}
END_TEST

/* Exact message text: `sh` because the message quotes the command line. */
static void check_message(const char *script, int kind, const char *want,
                          const char *want_cmd)
{
    whelk_pipeline *p =
        whelk_pipe(whelk_cmd_new("sh", "-c", script, (const char *)NULL),
                   (whelk_cmd *)NULL);
    whelk_error *err = run_fail(p, kind);

    ck_assert_str_eq(whelk_error_message(err), want);
    ck_assert_str_eq(whelk_error_command(err), want_cmd);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}

START_TEST(test_message_exit_with_stderr)
{
    check_message("echo boom >&2; exit 3", WHELK_E_EXIT,
                  "`sh -c 'echo boom >&2; exit 3'` exited with status 3: boom",
                  "sh -c 'echo boom >&2; exit 3'");
}
END_TEST

START_TEST(test_message_exit_without_stderr)
{
    check_message("exit 3", WHELK_E_EXIT,
                  "`sh -c 'exit 3'` exited with status 3", "sh -c 'exit 3'");
}
END_TEST

START_TEST(test_message_quote_in_word)
{
    check_message("echo \"it's\" >&2; exit 1", WHELK_E_EXIT,
                  "`sh -c 'echo \"it'\\''s\" >&2; exit 1'` exited with "
                  "status 1: it's",
                  "sh -c 'echo \"it'\\''s\" >&2; exit 1'");
}
END_TEST

START_TEST(test_message_signal)
{
    check_message("echo dying >&2; kill -TERM $$", WHELK_E_SIGNAL,
                  "`sh -c 'echo dying >&2; kill -TERM $$'` was killed by "
                  "signal 15 (SIGTERM): dying",
                  "sh -c 'echo dying >&2; kill -TERM $$'");
}
END_TEST

START_TEST(test_message_multiline_tail)
{
    whelk_pipeline *p = whelk_pipe(
        whelk_cmd_new("sh", "-c", "printf 'one\\ntwo\\nthree\\n' >&2; exit 2",
                      (const char *)NULL),
        (whelk_cmd *)NULL);
    whelk_error *err = run_fail(p, WHELK_E_EXIT);
    const char *m = whelk_error_message(err);
    size_t ml = strlen(m);

    ck_assert_msg(contains(m, "one\ntwo\nthree"), "message: %s", m);
    ck_assert_msg(ml > 0 && m[ml - 1] == 'e', "trailing newline kept: %s", m);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_message_tail_bounded)
{
    /* 10000 lines of stderr: the message keeps the last ones, bounded */
    whelk_pipeline *p =
        helper_pipe("errlines:10000", "exit:1", (const char *)NULL);
    whelk_error *err = run_fail(p, WHELK_E_EXIT);
    const char *m = whelk_error_message(err);
    size_t len, wlen;
    char *all = lines_text(10000, &wlen);

    ck_assert_msg(contains(m, "line 10000"), "no last line: %.200s", m);
    ck_assert_msg(!contains(m, "line 1\n"), "the first line is kept");
    ck_assert_msg(strlen(m) <= 4096 + strlen(HELPER) + 100,
                  "message of %zu bytes", strlen(m));
    /* the result still holds all of it */
    {
        const char *se = whelk_result_stderr(whelk_error_result(err), &len);

        ASSERT_BYTES(se, len, all, wlen);
    }
    free(all);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    /* one huge line without a newline is bounded too */
    p = helper_pipe("errn:1000000", "exit:1", (const char *)NULL);
    err = run_fail(p, WHELK_E_EXIT);
    m = whelk_error_message(err);
    ck_assert_msg(strlen(m) <= 4096 + strlen(HELPER) + 100,
                  "message of %zu bytes", strlen(m));
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

void core_checking(Suite *s)
{
    TCase *tc;

    tc = core_tcase(s, "checking", 0);
    tcase_add_test(tc, test_check_exit_error);
    tcase_add_test(tc, test_check_signal_error);
    tcase_add_test(tc, test_check_sigpipe_single_stage_fails);
    tcase_add_test(tc, test_check_off_returns_result);
    tcase_add_test(tc, test_check_ok_codes);
    tcase_add_test(tc, test_message_exit_with_stderr);
    tcase_add_test(tc, test_message_exit_without_stderr);
    tcase_add_test(tc, test_message_quote_in_word);
    tcase_add_test(tc, test_message_signal);
    tcase_add_test(tc, test_message_multiline_tail);
    tcase_add_test(tc, test_message_tail_bounded);
}
