/*
 * remote/sh.c -- the remote suite's "sh" tests (run by tests/check_remote.c).
 */
#include "remote.h"

/* The `sh -c` transport. */
static whelk_remote *sh_remote(void)
{
    whelk_remote *r = whelk_remote_new(whelk_cmd_new("sh", "-c", NULL));

    ck_assert_ptr_nonnull(r);
    return r;
}

START_TEST(test_sh_argv_env_cwd_byte_exact)
{
    char *dir = tmp_path("d i'r $x \\ \"q\"");
    whelk_cmd *first = H("cat", "err:hidden\\n");
    whelk_cmd *last = H("cat", "pwd", "env:WHELK_RT", "env:WHELK_GONE",
                        "env:HOME", "argv", "exit:0");
    whelk_pipeline *p;
    whelk_remote *r = sh_remote();
    size_t i;

    ck_assert_int_eq(mkdir(dir, 0755), 0);
    for (i = 0; odd_words[i]; i++)
        whelk_cmd_arg(last, odd_words[i]);
    whelk_cmd_setenv(last, "WHELK_RT", "v a'l \"$x\" * \n$(no)");
    whelk_cmd_setenv(last, "WHELK_GONE", NULL);
    whelk_cmd_chdir(last, dir);
    p = whelk_pipe(first, last, NULL);
    whelk_pipeline_stdin_bytes(p, "in'put $x\n\0zero", 15);
    setenv("WHELK_GONE", "still here", 1);
    assert_same_run(p, r);
    whelk_remote_free(r);
    whelk_pipeline_free(p);
    free(dir);
}
END_TEST

START_TEST(test_sh_clearenv)
{
    whelk_cmd *c = H("env:PATH", "env:WHELK_ONLY", "env:HOME");
    whelk_pipeline *p;
    whelk_result *res;

    whelk_cmd_clearenv(c);
    whelk_cmd_setenv(c, "WHELK_ONLY", "x y");
    p = remotely(whelk_pipe(c, NULL), sh_remote());
    res = run_ok(p);
    ck_assert_str_eq(whelk_result_stdout(res, NULL),
                     "(unset)\nx y\n(unset)\n");
    whelk_result_free(res);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_sh_builtin_names_run_the_program)
{
    /* `echo` there is the program, not the shell's builtin: no escapes */
    whelk_pipeline *p = remotely(
        whelk_pipe(whelk_cmd_new("echo", "a\\tb", "-e", NULL), NULL),
        sh_remote());
    whelk_result *res = run_ok(p);

    ck_assert_str_eq(whelk_result_stdout(res, NULL), "a\\tb -e\n");
    whelk_result_free(res);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_sh_statuses_per_stage)
{
    whelk_pipeline *p = remotely(
        whelk_pipe(H("out:x\\n", "exit:3"), H("drain", "kill:TERM"),
                   H("drain", "exit:7"), H("exit:0"), NULL),
        sh_remote());
    whelk_error *e = run_fail(p, WHELK_E_EXIT);
    const whelk_result *r = whelk_error_result(e);

    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(whelk_result_ncmds(r), 4);
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 3);
    ck_assert_int_eq(whelk_result_signal(r, 0), 0);
    /* killed by SIGTERM there: signal 15, not exit 143 */
    ck_assert_int_eq(whelk_result_exit_code(r, 1), -1);
    ck_assert_int_eq(whelk_result_signal(r, 1), SIGTERM);
    ck_assert_int_eq(whelk_result_exit_code(r, 2), 7);
    ck_assert_int_eq(whelk_result_exit_code(r, 3), 0);
    ck_assert_uint_eq(whelk_error_stage(e), 0);
    ck_assert_int_eq(whelk_error_exit_code(e), 3);
    whelk_error_free(e);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_sh_signal_names_the_stage)
{
    whelk_pipeline *p = remotely(
        whelk_pipe(H("out:x"), H("drain", "kill:KILL"), NULL), sh_remote());
    whelk_error *e = run_fail(p, WHELK_E_SIGNAL);

    ck_assert_uint_eq(whelk_error_stage(e), 1);
    ck_assert_int_eq(whelk_error_signal(e), SIGKILL);
    whelk_error_free(e);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_sh_stderr_per_stage_and_lines)
{
    seen s = {{0}, 0};
    whelk_pipeline *p = remotely(
        whelk_pipe(H("err:zero a\\nzero b\\n", "out:o1\\n"),
                   H("cat", "err:one\\n"), H("cat", "err:two"), NULL),
        sh_remote());
    whelk_result *res;

    whelk_pipeline_on_line(p, WHELK_STDOUT | WHELK_STDERR, note_line, &s);
    res = run_ok(p);
    ck_assert_str_eq(whelk_result_stderr(res, NULL),
                     "zero a\nzero b\none\ntwo");
    ck_assert_str_eq(whelk_result_stdout(res, NULL), "o1\n");
    /* stdout lines are the last stage's; each stderr line its own */
    ck_assert_msg(contains(s.text, "2o:o1|"), "%s", s.text);
    ck_assert_msg(contains(s.text, "0e:zero a|0e:zero b|"), "%s", s.text);
    ck_assert_msg(contains(s.text, "1e:one|"), "%s", s.text);
    ck_assert_msg(contains(s.text, "2e:two|"), "%s", s.text);
    whelk_result_free(res);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_sh_stderr_binary_and_big)
{
    whelk_pipeline *p = remotely(
        whelk_pipe(H("errn:300000", "err:\\x00\\xff\\n"), NULL), sh_remote());
    whelk_result *res = run_ok(p);
    size_t len;
    const char *err = whelk_result_stderr(res, &len);

    ck_assert_uint_eq(len, 300003);
    ck_assert(is_pattern(err, 300000));
    ck_assert(memcmp(err + 300000, "\0\xff\n", 3) == 0);
    whelk_result_free(res);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_sh_stderr_destinations)
{
    char *ef = tmp_path("stage0.err");
    whelk_cmd *a = H("err:to file\\n", "out:a\\n"), *b = H("cat", "err:dropped");
    whelk_cmd *c = H("cat", "err:merged\\n");
    whelk_pipeline *p;
    whelk_result *res;
    char *text;

    whelk_cmd_stderr_file(a, ef, 0);
    whelk_cmd_stderr(b, WHELK_NULL);
    whelk_cmd_stderr(c, WHELK_TO_STDOUT);
    p = remotely(whelk_pipe(a, b, c, NULL), sh_remote());
    res = run_ok(p);
    ck_assert_str_eq(whelk_result_stdout(res, NULL), "a\nmerged\n");
    ck_assert_str_eq(whelk_result_stderr(res, NULL), "");
    text = slurp(ef, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, "to file\n");
    free(text);
    whelk_result_free(res);
    whelk_pipeline_free(p);
    free(ef);
}
END_TEST

START_TEST(test_sh_stdout_to_stderr)
{
    whelk_pipeline *p =
        remotely(whelk_pipe(H("out:up\\n", "err:side\\n"), NULL), sh_remote());
    whelk_result *res;

    whelk_pipeline_stdout(p, WHELK_TO_STDERR);
    res = run_ok(p);
    ck_assert_str_eq(whelk_result_stdout(res, NULL), "");
    ck_assert_str_eq(whelk_result_stderr(res, NULL), "up\nside\n");
    whelk_result_free(res);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_sh_stdin_megabyte_random)
{
    size_t n = 1 << 20, len;
    unsigned char *data = random_bytes(n, 14);
    whelk_pipeline *p =
        remotely(whelk_pipe(H("cat"), H("cat"), NULL), sh_remote());
    whelk_result *res;
    const char *out;

    whelk_pipeline_stdin_bytes(p, data, n);
    res = run_ok(p);
    out = whelk_result_stdout(res, &len);
    ck_assert_uint_eq(len, n);
    ck_assert(memcmp(out, data, n) == 0);
    whelk_result_free(res);
    whelk_pipeline_free(p);
    free(data);
}
END_TEST

START_TEST(test_sh_files_are_the_far_sides)
{
    char *in = tmp_path("in put"), *out = tmp_path("out 'put'");
    whelk_pipeline *p =
        remotely(whelk_pipe(H("cat"), H("cat", "out:!"), NULL), sh_remote());
    whelk_result *res;
    char *text;

    ck_assert_int_eq(write_file(in, "from a file\n", 12, 0644), 0);
    whelk_pipeline_stdin_file(p, in);
    whelk_pipeline_stdout_file(p, out, 0);
    res = run_ok(p);
    whelk_result_free(res);
    whelk_pipeline_stdout_file(p, out, 1);
    res = run_ok(p);
    text = slurp(out, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, "from a file\n!from a file\n!");
    free(text);
    whelk_result_free(res);
    whelk_pipeline_free(p);
    free(in);
    free(out);
}
END_TEST

START_TEST(test_sh_stdin_file_missing_there)
{
    whelk_pipeline *p = remotely(whelk_pipe(H("cat"), NULL), sh_remote());
    whelk_error *e;

    whelk_pipeline_stdin_file(p, "/nonexistent/whelk/in");
    e = run_fail(p, WHELK_E_EXIT);
    /* the far side's shell said why, as the stage's stderr */
    ck_assert_msg(contains(whelk_error_message(e), "nonexistent"), "%s",
                  whelk_error_message(e));
    whelk_error_free(e);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_sh_notfound_names_the_host)
{
    char *mark = tmp_path("ran"), *touch = xasprintf("touch:%s", mark);
    whelk_pipeline *p = remotely(
        whelk_pipe(H(touch), whelk_cmd_new("whelk-no-such-program", NULL),
                   NULL),
        sh_remote());
    whelk_error *e = run_fail(p, WHELK_E_NOTFOUND);

    ck_assert_int_eq(whelk_error_errno(e), ENOENT);
    ck_assert_uint_eq(whelk_error_stage(e), 1);
    ck_assert_msg(contains(whelk_error_message(e), "whelk-no-such-program") &&
                      contains(whelk_error_message(e), "on sh -c"),
                  "%s", whelk_error_message(e));
    /* checked before anything ran */
    ck_assert(!path_exists(mark));
    whelk_error_free(e);
    whelk_pipeline_free(p);
    free(touch);
    free(mark);
}
END_TEST

START_TEST(test_sh_missing_cwd_there)
{
    whelk_cmd *c = H("pwd");
    whelk_pipeline *p;
    whelk_error *e;

    whelk_cmd_chdir(c, "/nonexistent/whelk dir");
    p = remotely(whelk_pipe(c, NULL), sh_remote());
    e = run_fail(p, WHELK_E_EXEC);
    ck_assert_uint_eq(whelk_error_stage(e), 0);
    ck_assert_msg(contains(whelk_error_message(e), "/nonexistent/whelk dir"),
                  "%s", whelk_error_message(e));
    whelk_error_free(e);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_transport_missing_here)
{
    whelk_pipeline *p = remotely(
        whelk_pipe(H("out:x"), NULL),
        whelk_remote_new(whelk_cmd_new("whelk-no-such-transport", "-c", NULL)));
    whelk_error *e = run_fail(p, WHELK_E_TRANSPORT);

    ck_assert_int_eq(whelk_error_errno(e), ENOENT);
    ck_assert_uint_eq(whelk_error_stage(e), WHELK_NO_STAGE);
    ck_assert_msg(contains(whelk_error_message(e), "whelk-no-such-transport"),
                  "%s", whelk_error_message(e));
    whelk_error_free(e);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_transport_failure_is_not_a_status)
{
    /* a transport that fails the way ssh does when the host is down */
    whelk_pipeline *p = remotely(
        whelk_pipe(H("out:x"), H("cat"), NULL),
        whelk_remote_new(whelk_cmd_new(
            "sh", "-c", "echo 'ssh: connect to host x: refused' >&2; exit 255",
            "sh", NULL)));
    whelk_error *e = run_fail(p, WHELK_E_TRANSPORT);
    const whelk_result *r = whelk_error_result(e);

    ck_assert_int_eq(whelk_error_exit_code(e), 255);
    ck_assert_uint_eq(whelk_error_stage(e), WHELK_NO_STAGE);
    ck_assert_msg(contains(whelk_error_message(e), "refused"), "%s",
                  whelk_error_message(e));
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(whelk_result_exit_code(r, 0), -1);
    ck_assert_int_eq(whelk_result_signal(r, 0), 0);
    ck_assert_int_eq(whelk_result_exit_code(r, 1), -1);
    whelk_error_free(e);
    /* unchecked runs still report it: it is no stage's status */
    whelk_pipeline_check(p, 0);
    e = run_fail(p, WHELK_E_TRANSPORT);
    whelk_error_free(e);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_sh_decoding)
{
    whelk_pipeline *p = remotely(
        whelk_pipe(H("out:caf\\xe9\\n", "err:na\\xefve\\n"), NULL),
        sh_remote());
    whelk_result *res;

    whelk_pipeline_decode(p, WHELK_STDOUT | WHELK_STDERR, "ISO-8859-1",
                          WHELK_DECODE_STRICT);
    res = run_ok(p);
    ck_assert_str_eq(whelk_result_stdout(res, NULL), "caf\xc3\xa9\n");
    ck_assert_str_eq(whelk_result_stderr(res, NULL), "na\xc3\xafve\n");
    whelk_result_free(res);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_sh_strict_decode_of_stderr_names_the_stage)
{
    whelk_pipeline *p = remotely(
        whelk_pipe(H("out:ok"), H("cat", "err:bad \\xff\\n"), NULL),
        sh_remote());
    whelk_error *e;

    whelk_pipeline_decode(p, WHELK_STDERR, "UTF-8", WHELK_DECODE_STRICT);
    e = run_fail(p, WHELK_E_DECODE);
    ck_assert_uint_eq(whelk_error_stage(e), 1);
    ck_assert_msg(contains(whelk_error_message(e), "offset 4"), "%s",
                  whelk_error_message(e));
    whelk_error_free(e);
    whelk_pipeline_free(p);
}
END_TEST

static int stop_at_two(const whelk_line *l, void *ud)
{
    (void)ud;
    return l->stage == 0 && strcmp(l->text, "two") == 0;
}

START_TEST(test_sh_callback_abort)
{
    whelk_pipeline *p = remotely(
        whelk_pipe(H("err:one\\ntwo\\nthree\\n"), NULL), sh_remote());
    whelk_error *e;

    whelk_pipeline_on_line(p, WHELK_STDERR, stop_at_two, NULL);
    e = run_fail(p, WHELK_E_ABORTED);
    whelk_error_free(e);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_sh_timeout_leaves_nothing)
{
    char *tok = new_token();
    whelk_pipeline *p = remotely(
        whelk_pipe(H("out:x", "sleep:600000", "exit:0", tok),
                   H("cat", "sleep:600000", "exit:0", tok), NULL),
        sh_remote());
    whelk_error *e;
    const whelk_result *r;
    int64_t t0 = now_ms();

    whelk_pipeline_timeout(p, 300);
    e = run_fail(p, WHELK_E_TIMEOUT);
    ck_assert_int_lt(now_ms() - t0, 10000);
    r = whelk_error_result(e);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(whelk_result_signal(r, 0), SIGTERM);
    ck_assert_int_eq(whelk_result_signal(r, 1), SIGTERM);
    ck_assert_int_eq(gone_within(tok, 10000), 0);
    ck_assert(no_zombies());
    whelk_error_free(e);
    whelk_pipeline_free(p);
    free(tok);
}
END_TEST

START_TEST(test_sh_proc_pids)
{
    whelk_pipeline *p =
        remotely(whelk_pipe(H("out:x"), H("cat"), NULL), sh_remote());
    whelk_error *e = NULL;
    whelk_proc *pr = whelk_start(p, &e);
    whelk_result *res;

    ck_assert_msg(pr != NULL, "%s", err_desc(e));
    ck_assert_int_gt(whelk_proc_pid(pr, 0), 0);
    ck_assert_int_eq(whelk_proc_pid(pr, 1), -1);
    res = whelk_proc_wait(pr, &e);
    ck_assert_msg(res != NULL, "%s", err_desc(e));
    ck_assert_str_eq(whelk_result_stdout(res, NULL), "x");
    whelk_result_free(res);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_null_remote_is_invalid)
{
    whelk_pipeline *p = whelk_pipe(H("out:x"), NULL);
    whelk_error *e;

    whelk_pipeline_remote(p, NULL);
    e = run_fail(p, WHELK_E_INVALID);
    whelk_error_free(e);
    whelk_pipeline_free(p);
    ck_assert_ptr_null(whelk_remote_ssh(NULL));
    ck_assert_ptr_null(whelk_remote_ssh(""));
    ck_assert_ptr_null(whelk_remote_new(NULL));
    whelk_remote_free(NULL);
}
END_TEST

START_TEST(test_sh_run_many_in_order)
{
    whelk_pipeline *ps[6];
    whelk_result *res[6];
    whelk_error *errs[6];
    size_t i;

    for (i = 0; i < 6; i++) {
        char *word = xasprintf("out:run %zu\\n", i);
        ps[i] = remotely(whelk_pipe(H("sleep:50", word, i == 3 ? "exit:4"
                                                               : "exit:0"),
                                    NULL),
                         sh_remote());
        free(word);
    }
    ck_assert_uint_eq(whelk_run_many(ps, 6, 6, res, errs), 1);
    for (i = 0; i < 6; i++) {
        char *want = xasprintf("run %zu\n", i);
        if (i == 3) {
            ck_assert_ptr_null(res[i]);
            ck_assert_int_eq(whelk_error_kind(errs[i]), WHELK_E_EXIT);
        } else {
            ck_assert_msg(res[i] != NULL, "%zu: %s", i, err_desc(errs[i]));
            ck_assert_str_eq(whelk_result_stdout(res[i], NULL), want);
        }
        free(want);
        whelk_result_free(res[i]);
        whelk_error_free(errs[i]);
        whelk_pipeline_free(ps[i]);
    }
}
END_TEST

START_TEST(test_sh_feed_and_pull)
{
    whelk_pipeline *p = remotely(
        whelk_pipe(H("cat"), H("cat", "err:side\\n"), NULL), sh_remote());
    whelk_error *e = NULL;
    whelk_proc *pr;
    whelk_result *res;
    whelk_line line;

    whelk_pipeline_stdin(p, WHELK_FEED);
    whelk_pipeline_stdout(p, WHELK_PULL);
    pr = whelk_start(p, &e);
    ck_assert_msg(pr != NULL, "%s", err_desc(e));
    ck_assert_int_eq(whelk_proc_write(pr, "fed\nmore", 8, -1), 8);
    ck_assert_int_eq(whelk_proc_close_stdin(pr), 0);
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 1);
    ck_assert_str_eq(line.text, "fed");
    ck_assert_uint_eq(line.stage, 1); /* the last stage's, as here */
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 1);
    ck_assert_str_eq(line.text, "more");
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 0);
    res = whelk_proc_wait(pr, &e);
    ck_assert_msg(res != NULL, "%s", err_desc(e));
    ck_assert_str_eq(whelk_result_stderr(res, NULL), "side\n");
    whelk_result_free(res);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_sh_dup_runs_there_too)
{
    whelk_pipeline *p = remotely(
        whelk_pipe(H("out:x"), whelk_cmd_new("whelk-not-here", NULL), NULL),
        sh_remote());
    whelk_pipeline *q = whelk_pipeline_dup(p);
    whelk_error *e;

    whelk_pipeline_free(p); /* the copy keeps the remote */
    e = run_fail(q, WHELK_E_NOTFOUND);
    ck_assert_msg(contains(whelk_error_message(e), "on sh -c"), "%s",
                  whelk_error_message(e));
    whelk_error_free(e);
    whelk_pipeline_free(q);
}
END_TEST

START_TEST(test_sh_no_fd_leak)
{
    int before = count_open_fds();
    whelk_pipeline *p =
        remotely(whelk_pipe(H("out:x"), H("cat"), NULL), sh_remote());
    whelk_result *res = run_ok(p);

    whelk_result_free(res);
    whelk_pipeline_free(p);
    ck_assert_int_eq(count_open_fds(), before);
    ck_assert(no_zombies());
}
END_TEST

static int copy_filter(whelk_filter *out, const void *data, size_t len,
                       void *ud)
{
    (void)ud;
    return data ? whelk_filter_write(out, data, len) : 0;
}

START_TEST(test_filter_stage_cannot_go_remote)
{
    whelk_pipeline *p = remotely(
        whelk_pipe(H("out:x"), whelk_cmd_new_filter("copy", copy_filter, NULL),
                   NULL),
        sh_remote());
    whelk_error *e = run_fail(p, WHELK_E_INVALID);

    ck_assert_uint_eq(whelk_error_stage(e), 1);
    ck_assert_msg(contains(whelk_error_message(e), "filter"), "%s",
                  whelk_error_message(e));
    whelk_error_free(e);
    whelk_pipeline_free(p);
}
END_TEST

void remote_sh(Suite *s)
{
    TCase *tc;

    tc = remote_tcase(s, "sh", 1);
    tcase_add_test(tc, test_sh_argv_env_cwd_byte_exact);
    tcase_add_test(tc, test_sh_clearenv);
    tcase_add_test(tc, test_sh_builtin_names_run_the_program);
    tcase_add_test(tc, test_sh_statuses_per_stage);
    tcase_add_test(tc, test_sh_signal_names_the_stage);
    tcase_add_test(tc, test_sh_stderr_per_stage_and_lines);
    tcase_add_test(tc, test_sh_stderr_binary_and_big);
    tcase_add_test(tc, test_sh_stderr_destinations);
    tcase_add_test(tc, test_sh_stdout_to_stderr);
    tcase_add_test(tc, test_sh_stdin_megabyte_random);
    tcase_add_test(tc, test_sh_files_are_the_far_sides);
    tcase_add_test(tc, test_sh_stdin_file_missing_there);
    tcase_add_test(tc, test_sh_notfound_names_the_host);
    tcase_add_test(tc, test_sh_missing_cwd_there);
    tcase_add_test(tc, test_transport_missing_here);
    tcase_add_test(tc, test_transport_failure_is_not_a_status);
    tcase_add_test(tc, test_sh_decoding);
    tcase_add_test(tc, test_sh_strict_decode_of_stderr_names_the_stage);
    tcase_add_test(tc, test_sh_callback_abort);
    tcase_add_test(tc, test_sh_timeout_leaves_nothing);
    tcase_add_test(tc, test_sh_proc_pids);
    tcase_add_test(tc, test_null_remote_is_invalid);
    tcase_add_test(tc, test_sh_run_many_in_order);
    tcase_add_test(tc, test_sh_feed_and_pull);
    tcase_add_test(tc, test_sh_dup_runs_there_too);
    tcase_add_test(tc, test_sh_no_fd_leak);
    tcase_add_test(tc, test_filter_stage_cannot_go_remote);
}
