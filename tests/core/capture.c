/*
 * core/capture.c -- the core suite's "capture" tests (run by tests/check_core.c).
 */
#include "core.h"

START_TEST(test_capture_exact)
{
    whelk_result *r = HELPER_OK("out:hello\\n", "err:oops\\n", "out:world");
    size_t len;
    const char *s;

    ck_assert_uint_eq(whelk_result_ncmds(r), 1);
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 0);
    ck_assert_int_eq(whelk_result_signal(r, 0), 0);
    ASSERT_STDOUT(r, "hello\nworld");
    ASSERT_STDERR(r, "oops\n");
    s = whelk_result_stdout(r, NULL); /* len may be NULL */
    ck_assert_str_eq(s, "hello\nworld");
    s = whelk_result_stderr(r, &len);
    ck_assert_uint_eq(len, 5);
    whelk_result_free(r);
}
END_TEST

START_TEST(test_capture_empty)
{
    whelk_result *r = HELPER_OK("exit:0");
    size_t len = 99;
    const char *s = whelk_result_stdout(r, &len);

    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(s, "");
    len = 99;
    s = whelk_result_stderr(r, &len);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(s, "");
    whelk_result_free(r);
}
END_TEST

START_TEST(test_capture_binary)
{
    static const char want[] = "a\0b\xff\x01\r\n\0";
    whelk_result *r =
        HELPER_OK("out:a\\x00b\\xff\\x01\\r\\n\\x00", "err:\\x00\\x80z");
    size_t len;
    const char *s = whelk_result_stdout(r, &len);

    ASSERT_BYTES(s, len, want, sizeof want - 1);
    s = whelk_result_stderr(r, &len);
    ASSERT_BYTES(s, len, "\0\x80z", 3);
    whelk_result_free(r);
}
END_TEST

START_TEST(test_capture_lines)
{
    whelk_result *r = HELPER_OK("lines:1000", "errlines:3");
    size_t len, wlen;
    char *want = lines_text(1000, &wlen);
    const char *s = whelk_result_stdout(r, &len);

    ASSERT_BYTES(s, len, want, wlen);
    ASSERT_STDERR(r, "line 1\nline 2\nline 3\n");
    free(want);
    whelk_result_free(r);
}
END_TEST

START_TEST(test_exit_codes)
{
    static const int codes[] = {0, 1, 2, 3, 42, 127, 128, 200, 255};
    size_t i;

    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char act[32];
        whelk_pipeline *p;
        whelk_result *r;

        snprintf(act, sizeof act, "exit:%d", codes[i]);
        p = helper_pipe("out:before", act, "out:after", (const char *)NULL);
        whelk_pipeline_check(p, 0);
        r = run_ok(p);
        ck_assert_int_eq(whelk_result_exit_code(r, 0), codes[i]);
        ck_assert_int_eq(whelk_result_signal(r, 0), 0);
        ASSERT_STDOUT(r, "before");
        whelk_result_free(r);
        whelk_pipeline_free(p);
    }
}
END_TEST

START_TEST(test_killed_by_signal)
{
    static const struct {
        const char *act;
        int sig;
    } cases[] = {{"kill:TERM", SIGTERM}, {"kill:KILL", SIGKILL},
                 {"kill:USR1", SIGUSR1}, {"kill:INT", SIGINT},
                 {"kill:HUP", SIGHUP},   {"kill:PIPE", SIGPIPE}};
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        whelk_pipeline *p = helper_pipe("out:partial", "err:e", cases[i].act,
                                        "out:never", (const char *)NULL);
        whelk_result *r;

        whelk_pipeline_check(p, 0);
        r = run_ok(p);
        ck_assert_msg(whelk_result_exit_code(r, 0) == -1, "%s: exit code %d",
                      cases[i].act, whelk_result_exit_code(r, 0));
        ck_assert_msg(whelk_result_signal(r, 0) == cases[i].sig,
                      "%s: signal %d", cases[i].act, whelk_result_signal(r, 0));
        ASSERT_STDOUT(r, "partial");
        ASSERT_STDERR(r, "e");
        whelk_result_free(r);
        whelk_pipeline_free(p);
    }
}
END_TEST

START_TEST(test_default_stdin_is_dev_null)
{
    /* count reads to EOF: /dev/null gives EOF at once */
    whelk_result *r = HELPER_OK("count", "count");

    ASSERT_STDOUT(r, "0\n0\n");
    whelk_result_free(r);
}
END_TEST

START_TEST(test_default_checking_on)
{
    whelk_pipeline *p = helper_pipe("exit:1", (const char *)NULL);
    whelk_error *err = run_fail(p, WHELK_E_EXIT);

    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_argv_passed_raw)
{
    whelk_cmd *c =
        whelk_cmd_new(HELPER, "argv", "exit:0", "a b", "", "$HOME", "'\"\\",
                      "*", "\xc3\xa9\xff", "-", "--x=1", (const char *)NULL);
    whelk_pipeline *p = whelk_pipe(c, (whelk_cmd *)NULL);
    whelk_result *r = run_ok(p);
    char *want = xasprintf("%s\nargv\nexit:0\na b\n\n$HOME\n'\"\\\n*\n"
                           "\xc3\xa9\xff\n-\n--x=1\n",
                           HELPER);

    ASSERT_STDOUT(r, want);
    free(want);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_cmd_newv_and_arg)
{
    const char *argv[] = {HELPER, "argv", NULL};
    whelk_cmd *c = whelk_cmd_newv(argv);
    whelk_pipeline *p;
    whelk_result *r;
    char *want;

    ck_assert_ptr_nonnull(c);
    whelk_cmd_arg(c, "exit:0");
    whelk_cmd_arg(c, "x y");
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    ck_assert_uint_eq(whelk_pipeline_ncmds(p), 1);
    ck_assert_ptr_eq(whelk_pipeline_cmd(p, 0), c);
    ck_assert_ptr_null(whelk_pipeline_cmd(p, 1));
    r = run_ok(p);
    want = xasprintf("%s\nargv\nexit:0\nx y\n", HELPER);
    ASSERT_STDOUT(r, want);
    free(want);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_setters_copy_strings)
{
    char prog[4096], arg[64], name[16], value[16], dir[4096];
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_result *r;
    char *want;

    snprintf(prog, sizeof prog, "%s", HELPER);
    snprintf(arg, sizeof arg, "pwd");
    snprintf(name, sizeof name, "WHELK_T");
    snprintf(value, sizeof value, "v1");
    snprintf(dir, sizeof dir, "%s", tmpdir);
    c = whelk_cmd_new(prog, arg, (const char *)NULL);
    whelk_cmd_arg(c, "env:WHELK_T");
    whelk_cmd_setenv(c, name, value);
    whelk_cmd_chdir(c, dir);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    whelk_pipeline_stdin_bytes(p, arg, 3);
    /* scribble over every buffer given to the setters */
    memset(prog, 'x', 8);
    memset(arg, 'y', 3);
    memset(name, 'z', 7);
    memset(value, 'w', 2);
    memset(dir, 'q', 4);
    r = run_ok(p);
    {
        char real[4096];

        ck_assert_ptr_nonnull(realpath(tmpdir, real));
        want = xasprintf("%s\nv1\n", real);
    }
    ASSERT_STDOUT(r, want);
    free(want);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

void core_capture(Suite *s)
{
    TCase *tc;

    tc = core_tcase(s, "capture", 1);
    tcase_add_test(tc, test_capture_exact);
    tcase_add_test(tc, test_capture_empty);
    tcase_add_test(tc, test_capture_binary);
    tcase_add_test(tc, test_capture_lines);
    tcase_add_test(tc, test_exit_codes);
    tcase_add_test(tc, test_killed_by_signal);
    tcase_add_test(tc, test_default_stdin_is_dev_null);
    tcase_add_test(tc, test_default_checking_on);
    tcase_add_test(tc, test_argv_passed_raw);
    tcase_add_test(tc, test_cmd_newv_and_arg);
    tcase_add_test(tc, test_setters_copy_strings);
}
