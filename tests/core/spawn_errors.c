/*
 * core/spawn_errors.c -- the core suite's "spawn errors" tests (run by tests/check_core.c).
 */
#include "core.h"

START_TEST(test_notfound_host_path)
{
    char *path = xasprintf("%s:/nonexistent-whelk-dir", tmpdir);
    char *want;
    whelk_pipeline *p;
    whelk_error *err;

    ck_assert_int_eq(setenv("PATH", path, 1), 0);
    p = whelk_pipe(whelk_cmd_new("nosuchprog-xyz", "a", (const char *)NULL),
                   (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_NOTFOUND);
    ck_assert_int_eq(whelk_error_errno(err), ENOENT);
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_ptr_null(whelk_error_result(err));
    want = xasprintf("nosuchprog-xyz: command not found in PATH (%s)", path);
    ck_assert_str_eq(whelk_error_message(err), want);
    ASSERT_NO_CHILDREN();
    free(want);
    free(path);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_notfound_whelk_sh)
{
    whelk_error *err = NULL;
    whelk_result *r = whelk_sh(&err, "nosuchprog-xyz", (const char *)NULL);
    char *want = xasprintf("nosuchprog-xyz: command not found in PATH (%s)",
                           getenv("PATH"));

    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_NOTFOUND);
    ck_assert_str_eq(whelk_error_message(err), want);
    free(want);
    whelk_error_free(err);
}
END_TEST

START_TEST(test_own_path_is_searched)
{
    char *bin = tmp_path("bin");
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err;
    char *want;

    ck_assert_int_eq(mkdir(bin, 0755), 0);
    {
        char *dst = path_join(bin, "zz-whelk-tool");

        ck_assert_int_eq(symlink(HELPER, dst), 0);
        free(dst);
    }
    /* the host's PATH does not have it */
    ck_assert_int_eq(setenv("PATH", "/nonexistent-whelk-dir", 1), 0);
    c = whelk_cmd_new("zz-whelk-tool", "argv", "env:PATH", (const char *)NULL);
    whelk_cmd_setenv(c, "PATH", bin);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    /* argv[0] is the program as given, not the resolved path */
    want = xasprintf("zz-whelk-tool\nargv\nenv:PATH\n%s\n", bin);
    ASSERT_STDOUT(r, want);
    free(want);
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* without its own PATH it is not found, and the message names the
     * host's PATH */
    p = whelk_pipe(whelk_cmd_new("zz-whelk-tool", (const char *)NULL),
                   (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_NOTFOUND);
    ck_assert_str_eq(whelk_error_message(err),
                     "zz-whelk-tool: command not found in PATH "
                     "(/nonexistent-whelk-dir)");
    whelk_error_free(err);
    whelk_pipeline_free(p);

    /* the host's PATH has it, the command's own PATH does not: own wins */
    ck_assert_int_eq(setenv("PATH", bin, 1), 0);
    c = whelk_cmd_new("zz-whelk-tool", (const char *)NULL);
    whelk_cmd_setenv(c, "PATH", "/nonexistent-whelk-dir2:/nonexistent-3");
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_NOTFOUND);
    ck_assert_str_eq(whelk_error_message(err),
                     "zz-whelk-tool: command not found in PATH "
                     "(/nonexistent-whelk-dir2:/nonexistent-3)");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(bin);
}
END_TEST

START_TEST(test_clearenv_searches_host_path)
{
    /* after clearenv without a PATH of its own, the host's PATH is the
     * one searched -- and the child still gets no PATH */
    char *tool = install_helper("zz-whelk-tool2");
    whelk_cmd *c =
        whelk_cmd_new("zz-whelk-tool2", "env:PATH", (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_int_eq(setenv("PATH", tmpdir, 1), 0);
    whelk_cmd_clearenv(c);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "(unset)\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(tool);
}
END_TEST

START_TEST(test_path_skips_non_executable)
{
    /* as execvp: a non-executable file earlier in PATH is passed over */
    char *d1 = tmp_path("d1"), *d2 = tmp_path("d2");
    char *f1 = path_join(d1, "zz-tool"), *f2 = path_join(d2, "zz-tool");
    char *path = xasprintf("%s:%s", d1, d2);
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_int_eq(mkdir(d1, 0755), 0);
    ck_assert_int_eq(mkdir(d2, 0755), 0);
    ck_assert_int_eq(write_file(f1, "#!/bin/sh\n", 10, 0644), 0);
    ck_assert_int_eq(symlink(HELPER, f2), 0);
    c = whelk_cmd_new("zz-tool", "out:second", (const char *)NULL);
    whelk_cmd_setenv(c, "PATH", path);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "second");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(d1);
    free(d2);
    free(f1);
    free(f2);
    free(path);
}
END_TEST

START_TEST(test_exec_eacces)
{
    char *f = tmp_path("noexec");
    whelk_pipeline *p;
    whelk_error *err;

    ck_assert_int_eq(write_file(f, "#!/bin/sh\necho hi\n", 18, 0644), 0);
    p = whelk_pipe(whelk_cmd_new(f, (const char *)NULL), (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_int_eq(whelk_error_errno(err), EACCES);
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_msg(contains(whelk_error_message(err), f), "message: %s",
                  whelk_error_message(err));
    ck_assert_msg(contains(whelk_error_message(err), strerror(EACCES)),
                  "message: %s", whelk_error_message(err));
    ASSERT_NO_CHILDREN();
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(f);
}
END_TEST

START_TEST(test_exec_eacces_via_path)
{
    /* only a non-executable file in PATH: found, cannot be started */
    char *f = tmp_path("zz-noexec");
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_error *err;

    ck_assert_int_eq(write_file(f, "#!/bin/sh\n", 10, 0644), 0);
    c = whelk_cmd_new("zz-noexec", (const char *)NULL);
    whelk_cmd_setenv(c, "PATH", tmpdir);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_int_eq(whelk_error_errno(err), EACCES);
    ck_assert_msg(contains(whelk_error_message(err), "zz-noexec"),
                  "message: %s", whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(f);
}
END_TEST

START_TEST(test_exec_directory)
{
    whelk_pipeline *p = whelk_pipe(whelk_cmd_new(tmpdir, (const char *)NULL),
                                   (whelk_cmd *)NULL);
    whelk_error *err = run_fail(p, WHELK_E_EXEC);

    ck_assert_int_eq(whelk_error_errno(err), EACCES);
    ck_assert_msg(contains(whelk_error_message(err), tmpdir), "message: %s",
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_exec_enoexec)
{
    /* executable, but neither ELF nor #!: no fallback to sh */
    char *f = tmp_path("garbage");
    static const char junk[] = "\x01\x02\x03 not a program\n";
    whelk_pipeline *p;
    whelk_error *err;

    ck_assert_int_eq(write_file(f, junk, sizeof junk - 1, 0755), 0);
    p = whelk_pipe(whelk_cmd_new(f, (const char *)NULL), (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_int_eq(whelk_error_errno(err), ENOEXEC);
    ck_assert_msg(contains(whelk_error_message(err), f), "message: %s",
                  whelk_error_message(err));
    ck_assert_ptr_null(whelk_error_result(err));
    ASSERT_NO_CHILDREN();
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(f);
}
END_TEST

START_TEST(test_exec_script)
{
    /* a #! script is started by the kernel, with its arguments */
    char *f = tmp_path("script");
    char *text = xasprintf("#!/bin/sh\nexec %s argv exit:0 \"$@\"\n", HELPER);
    char *want;
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_int_eq(write_file(f, text, strlen(text), 0755), 0);
    p = whelk_pipe(whelk_cmd_new(f, "a b", "", (const char *)NULL),
                   (whelk_cmd *)NULL);
    r = run_ok(p);
    want = xasprintf("%s\nargv\nexit:0\na b\n\n", HELPER);
    ASSERT_STDOUT(r, want);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(want);
    free(text);
    free(f);
}
END_TEST

START_TEST(test_exec_missing_interpreter)
{
    /* the program exists but its #! interpreter does not: execve says
     * ENOENT; the program was found, so it is WHELK_E_EXEC naming it */
    char *f = tmp_path("badscript");
    static const char text[] = "#!/nonexistent-whelk/interp\n";
    whelk_pipeline *p;
    whelk_error *err;

    ck_assert_int_eq(write_file(f, text, sizeof text - 1, 0755), 0);
    p = whelk_pipe(whelk_cmd_new(f, (const char *)NULL), (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_int_eq(whelk_error_errno(err), ENOENT);
    ck_assert_msg(contains(whelk_error_message(err), f), "message: %s",
                  whelk_error_message(err));
    ASSERT_NO_CHILDREN();
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(f);
}
END_TEST

START_TEST(test_exec_e2big)
{
    /* one argument longer than MAX_ARG_STRLEN (128 KiB) */
    size_t n = 200 * 1024;
    char *big = malloc(n + 1);
    whelk_pipeline *p;
    whelk_error *err;

    memset(big, 'a', n);
    big[n] = '\0';
    p = whelk_pipe(whelk_cmd_new(HELPER, big, (const char *)NULL),
                   (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_int_eq(whelk_error_errno(err), E2BIG);
    ASSERT_NO_CHILDREN();
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(big);
}
END_TEST

START_TEST(test_exec_absolute_missing)
{
    /* a path with a '/' that does not exist: not found, not searched */
    char *f = tmp_path("missing-prog");
    whelk_pipeline *p =
        whelk_pipe(whelk_cmd_new(f, (const char *)NULL), (whelk_cmd *)NULL);
    whelk_error *err = run_fail(p, WHELK_E_NOTFOUND);

    ck_assert_int_eq(whelk_error_errno(err), ENOENT);
    ck_assert_msg(contains(whelk_error_message(err), f), "message: %s",
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(f);
}
END_TEST

START_TEST(test_cwd_missing)
{
    char *dir = tmp_path("no-such-dir");
    char *marker = tmp_path("marker");
    char *touch = xasprintf("touch:%s", marker);
    whelk_cmd *c = helper_cmd(touch, (const char *)NULL);
    whelk_pipeline *p;
    whelk_error *err;

    whelk_cmd_chdir(c, dir);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_int_eq(whelk_error_errno(err), ENOENT);
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_msg(contains(whelk_error_message(err), dir), "message: %s",
                  whelk_error_message(err));
    ck_assert_msg(!path_exists(marker), "the child ran");
    ASSERT_NO_CHILDREN();
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(dir);
    free(marker);
    free(touch);
}
END_TEST

START_TEST(test_cwd_not_a_directory)
{
    char *f = tmp_path("file");
    whelk_cmd *c = helper_cmd("pwd", (const char *)NULL);
    whelk_pipeline *p;
    whelk_error *err;

    ck_assert_int_eq(write_file(f, "x", 1, 0644), 0);
    whelk_cmd_chdir(c, f);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_int_eq(whelk_error_errno(err), ENOTDIR);
    ck_assert_msg(contains(whelk_error_message(err), f), "message: %s",
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(f);
}
END_TEST

START_TEST(test_cwd_honoured)
{
    char real[4096], before[4096], after[4096];
    whelk_cmd *c = helper_cmd("pwd", (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;
    char *want;

    ck_assert_ptr_nonnull(getcwd(before, sizeof before));
    ck_assert_ptr_nonnull(realpath(tmpdir, real));
    whelk_cmd_chdir(c, tmpdir);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    want = xasprintf("%s\n", real);
    ASSERT_STDOUT(r, want);
    whelk_result_free(r);
    free(want);
    /* the host's own cwd is untouched */
    ck_assert_ptr_nonnull(getcwd(after, sizeof after));
    ck_assert_str_eq(before, after);

    /* NULL undoes it */
    whelk_cmd_chdir(c, NULL);
    r = run_ok(p);
    want = xasprintf("%s\n", before);
    ASSERT_STDOUT(r, want);
    whelk_result_free(r);
    free(want);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_cwd_relative_program)
{
    /* "./tool" is relative to the command's directory, as after chdir */
    char *tool = install_helper("tool");
    whelk_cmd *c = whelk_cmd_new("./tool", "out:relative", (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;

    whelk_cmd_chdir(c, tmpdir);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "relative");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(tool);
}
END_TEST

/* A helper that would leave a marker, with one bad redirection. */
static void check_bad_redirect(int which, const char *path)
{
    char *marker = tmp_path("marker");
    char *touch = xasprintf("touch:%s", marker);
    whelk_cmd *c = helper_cmd(touch, "out:x", (const char *)NULL);
    whelk_pipeline *p;
    whelk_error *err;
    int fds = count_open_fds();

    if (which == 2)
        whelk_cmd_stderr_file(c, path, 0);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    if (which == 0)
        whelk_pipeline_stdin_file(p, path);
    if (which == 1)
        whelk_pipeline_stdout_file(p, path, 0);
    err = run_fail(p, WHELK_E_IO);
    ck_assert_msg(contains(whelk_error_message(err), path), "message: %s",
                  whelk_error_message(err));
    ck_assert_int_eq(whelk_error_errno(err), ENOENT);
    ck_assert_msg(!path_exists(marker), "the child ran");
    ASSERT_NO_CHILDREN();
    ck_assert_int_eq(count_open_fds(), fds);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(marker);
    free(touch);
}

START_TEST(test_bad_stdin_file)
{
    char *f = tmp_path("no-such-input");

    check_bad_redirect(0, f);
    free(f);
}
END_TEST

START_TEST(test_bad_stdout_file)
{
    char *f = tmp_path("no-such-dir/output");

    check_bad_redirect(1, f);
    free(f);
}
END_TEST

START_TEST(test_bad_stderr_file)
{
    char *f = tmp_path("no-such-dir/errors");

    check_bad_redirect(2, f);
    free(f);
}
END_TEST

void core_spawn_errors(Suite *s)
{
    TCase *tc;

    tc = core_tcase(s, "spawn-errors", 1);
    tcase_add_test(tc, test_notfound_host_path);
    tcase_add_test(tc, test_notfound_whelk_sh);
    tcase_add_test(tc, test_own_path_is_searched);
    tcase_add_test(tc, test_clearenv_searches_host_path);
    tcase_add_test(tc, test_path_skips_non_executable);
    tcase_add_test(tc, test_exec_eacces);
    tcase_add_test(tc, test_exec_eacces_via_path);
    tcase_add_test(tc, test_exec_directory);
    tcase_add_test(tc, test_exec_enoexec);
    tcase_add_test(tc, test_exec_script);
    tcase_add_test(tc, test_exec_missing_interpreter);
    tcase_add_test(tc, test_exec_e2big);
    tcase_add_test(tc, test_exec_absolute_missing);
    tcase_add_test(tc, test_cwd_missing);
    tcase_add_test(tc, test_cwd_not_a_directory);
    tcase_add_test(tc, test_cwd_honoured);
    tcase_add_test(tc, test_cwd_relative_program);
    tcase_add_test(tc, test_bad_stdin_file);
    tcase_add_test(tc, test_bad_stdout_file);
    tcase_add_test(tc, test_bad_stderr_file);
}
