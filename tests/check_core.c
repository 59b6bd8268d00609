/*
 * check_core.c -- the core suite: running one command safely (issue 2).
 *
 * Everything is tested through the public API (whelk.h) against the helper
 * child tests/whelk-helper, whose action language is documented at the top
 * of tests/whelk-helper.c.  Only the exact-message tests run `sh`, which
 * every POSIX system has, because the messages quote a real command line.
 *
 * No test sleeps to synchronise: ordering comes from pipes, waitid(WNOWAIT)
 * and the blocking calls of the library itself.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define MiB (1024 * 1024)

extern char **environ;

/* ------------------------------------------------------------ helpers */

/* Run the helper with the given actions and defaults; must succeed. */
#define HELPER_OK(...) helper_ok_(helper_pipe(__VA_ARGS__, (const char *)NULL))
static whelk_result *helper_ok_(whelk_pipeline *p)
{
    whelk_result *r;

    ck_assert_ptr_nonnull(p);
    r = run_ok(p);
    whelk_pipeline_free(p);
    return r;
}

/* Temporary directories: each test case gets a base directory, made and
 * removed by an unchecked fixture in the runner process, and each test a
 * directory inside it.  A failed assertion ends the forked test process
 * without its teardown; the base directory goes all the same.  The host
 * variables tests change are restored by teardown (for CK_FORK=no). */
static char *basedir, *tmpdir, *saved_path, *saved_home;

static void base_setup(void)
{
    basedir = make_tmpdir();
    ck_assert_ptr_nonnull(basedir);
}

static void base_teardown(void)
{
    rm_rf(basedir);
    free(basedir);
    basedir = NULL;
}

static void tmp_setup(void)
{
    tmpdir = make_tmpdir_in(basedir);
    ck_assert_ptr_nonnull(tmpdir);
    saved_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
}

static void restore_env(const char *name, char **saved)
{
    if (*saved)
        setenv(name, *saved, 1);
    else
        unsetenv(name);
    free(*saved);
    *saved = NULL;
}

static void tmp_teardown(void)
{
    rm_rf(tmpdir);
    free(tmpdir);
    tmpdir = NULL;
    restore_env("PATH", &saved_path);
    restore_env("HOME", &saved_home);
}

/* A path in the test's tmpdir (malloc'd). */
static char *tmp_path(const char *name)
{
    char *p = path_join(tmpdir, name);

    ck_assert_ptr_nonnull(p);
    return p;
}

/* Link (or copy) the helper into the tmpdir under name; returns the path. */
static char *install_helper(const char *name)
{
    char *dst = tmp_path(name);

    ck_assert_msg(symlink(HELPER, dst) == 0, "symlink %s: %s", dst,
                  strerror(errno));
    return dst;
}

/* ========================================================== capture */

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

/* ===================================================== big streams */

static void check_big(const char *first, const char *second, size_t outn,
                      size_t errn)
{
    whelk_result *r = HELPER_OK(first, second);
    size_t len;
    const char *s = whelk_result_stdout(r, &len);

    ck_assert_uint_eq(len, outn);
    ck_assert_msg(is_pattern(s, len), "stdout bytes differ");
    ck_assert(s[len] == '\0');
    s = whelk_result_stderr(r, &len);
    ck_assert_uint_eq(len, errn);
    ck_assert_msg(is_pattern(s, len), "stderr bytes differ");
    ck_assert(s[len] == '\0');
    whelk_result_free(r);
}

START_TEST(test_big_stderr_first)
{
    /* a reader that drains stdout to EOF before stderr deadlocks here */
    check_big("errn:1048576", "outn:1048576", MiB, MiB);
}
END_TEST

START_TEST(test_big_stdout_first)
{
    check_big("outn:1048576", "errn:1048576", MiB, MiB);
}
END_TEST

START_TEST(test_big_interleaved)
{
    whelk_cmd *c = whelk_cmd_new(HELPER, (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;
    size_t len, off;
    const char *s;
    int i;

    /* 16 alternations of 64 KiB + 16 bytes on each stream */
    for (i = 0; i < 16; i++) {
        whelk_cmd_arg(c, "outn:65552");
        whelk_cmd_arg(c, "errn:65552");
    }
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    s = whelk_result_stdout(r, &len);
    ck_assert_uint_eq(len, 16 * 65552);
    for (off = 0; off < len; off += 65552)
        ck_assert_msg(is_pattern(s + off, 65552), "stdout differs at %zu", off);
    s = whelk_result_stderr(r, &len);
    ck_assert_uint_eq(len, 16 * 65552);
    for (off = 0; off < len; off += 65552)
        ck_assert_msg(is_pattern(s + off, 65552), "stderr differs at %zu", off);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_big_lines_both)
{
    whelk_result *r = HELPER_OK("errlines:100000", "lines:100000");
    size_t len, wlen;
    char *want = lines_text(100000, &wlen);
    const char *s = whelk_result_stdout(r, &len);

    ASSERT_BYTES(s, len, want, wlen);
    s = whelk_result_stderr(r, &len);
    ASSERT_BYTES(s, len, want, wlen);
    free(want);
    whelk_result_free(r);
}
END_TEST

START_TEST(test_stdin_5mib_echoed)
{
    size_t n = 5 * MiB, len;
    unsigned char *in = random_bytes(n, 1);
    whelk_pipeline *p = helper_pipe("cat", (const char *)NULL);
    whelk_result *r;
    const char *s;

    whelk_pipeline_stdin_bytes(p, in, n);
    r = run_ok(p);
    s = whelk_result_stdout(r, &len);
    ASSERT_BYTES(s, len, (const char *)in, n);
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(in);
}
END_TEST

START_TEST(test_stdin_with_stderr_flood)
{
    /* the child fills stderr before it reads stdin: a host that only
     * writes stdin (or reads only stdout) meanwhile deadlocks */
    size_t n = 2 * MiB, len;
    unsigned char *in = random_bytes(n, 2);
    whelk_pipeline *p =
        helper_pipe("errn:1048576", "count", "errn:16", (const char *)NULL);
    whelk_result *r;
    const char *s;

    whelk_pipeline_stdin_bytes(p, in, n);
    r = run_ok(p);
    ASSERT_STDOUT(r, "2097152\n");
    s = whelk_result_stderr(r, &len);
    ck_assert_uint_eq(len, MiB + 16);
    ck_assert(is_pattern(s, MiB) && is_pattern(s + MiB, 16));
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(in);
}
END_TEST

START_TEST(test_stdin_counted)
{
    static const char data[] = "abc\0def\n";
    whelk_pipeline *p = helper_pipe("count", (const char *)NULL);
    whelk_result *r;

    whelk_pipeline_stdin_bytes(p, data, sizeof data - 1);
    r = run_ok(p);
    ASSERT_STDOUT(r, "8\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stdin_empty_bytes)
{
    whelk_pipeline *p = helper_pipe("count", (const char *)NULL);
    whelk_result *r;

    whelk_pipeline_stdin_bytes(p, "", 0);
    r = run_ok(p);
    ASSERT_STDOUT(r, "0\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

/* The host must keep the default SIGPIPE disposition for these tests to
 * mean anything: a library that writes to a closed pipe kills the test. */
static void assert_sigpipe_default(void)
{
    struct sigaction sa;

    ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
    ck_assert_msg(sa.sa_handler == SIG_DFL, "SIGPIPE is not SIG_DFL");
}

static void assert_no_pending_sigpipe(void)
{
    sigset_t pending, mask;

    ck_assert_int_eq(sigpending(&pending), 0);
    ck_assert_msg(!sigismember(&pending, SIGPIPE), "a SIGPIPE is pending");
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &mask), 0);
    ck_assert_msg(!sigismember(&mask, SIGPIPE), "SIGPIPE left blocked");
}

START_TEST(test_stdin_unread_not_error)
{
    size_t n = 5 * MiB;
    unsigned char *in = random_bytes(n, 3);
    int i;

    assert_sigpipe_default();
    for (i = 0; i < 20; i++) {
        whelk_pipeline *p = helper_pipe("readn:10", "out:read ten", "exit:0",
                                        (const char *)NULL);
        whelk_result *r;

        whelk_pipeline_stdin_bytes(p, in, n);
        r = run_ok(p);
        ck_assert_int_eq(whelk_result_exit_code(r, 0), 0);
        ASSERT_STDOUT(r, "read ten");
        whelk_result_free(r);
        whelk_pipeline_free(p);
    }
    assert_sigpipe_default();
    assert_no_pending_sigpipe();
    free(in);
}
END_TEST

START_TEST(test_stdin_never_read)
{
    size_t n = MiB;
    unsigned char *in = random_bytes(n, 4);
    int i;

    for (i = 0; i < 20; i++) {
        whelk_pipeline *p = helper_pipe("exit:0", (const char *)NULL);
        whelk_result *r;

        whelk_pipeline_stdin_bytes(p, in, n);
        r = run_ok(p);
        whelk_result_free(r);
        whelk_pipeline_free(p);
    }
    assert_no_pending_sigpipe();
    free(in);
}
END_TEST

START_TEST(test_stdin_closed_then_output)
{
    /* the child closes its stdin at once and then writes a lot: the host
     * gets EPIPE on stdin and must still read all of stdout */
    size_t n = 2 * MiB, len;
    unsigned char *in = random_bytes(n, 5);
    whelk_pipeline *p =
        helper_pipe("close:0", "outn:1000000", "errn:1000", (const char *)NULL);
    whelk_result *r;
    const char *s;

    whelk_pipeline_stdin_bytes(p, in, n);
    r = run_ok(p);
    s = whelk_result_stdout(r, &len);
    ck_assert_uint_eq(len, 1000000);
    ck_assert(is_pattern(s, len));
    s = whelk_result_stderr(r, &len);
    ck_assert_uint_eq(len, 1000);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    assert_no_pending_sigpipe();
    free(in);
}
END_TEST

START_TEST(test_stdin_unread_child_fails)
{
    /* a child that stops reading and fails: its status is the verdict,
     * not the host's EPIPE */
    size_t n = 3 * MiB;
    unsigned char *in = random_bytes(n, 6);
    whelk_pipeline *p = helper_pipe("readn:100", "err:bad input\\n", "exit:4",
                                    (const char *)NULL);
    whelk_error *err;

    whelk_pipeline_stdin_bytes(p, in, n);
    err = run_fail(p, WHELK_E_EXIT);
    ck_assert_int_eq(whelk_error_exit_code(err), 4);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(in);
}
END_TEST

/* ========================================================= checking */

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

/* ===================================================== spawn errors */

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

/* ========================================================== invalid */

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
    tmp_teardown();
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

/* ============================================================== env */

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

/* ======================================================== redirects */

START_TEST(test_stderr_null)
{
    whelk_cmd *c = helper_cmd("out:a", "err:b", "out:c", (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;

    whelk_cmd_stderr(c, WHELK_NULL);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "ac");
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stderr_to_stdout)
{
    whelk_cmd *c =
        helper_cmd("out:a", "err:b", "out:c", "err:d", (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;

    whelk_cmd_stderr(c, WHELK_TO_STDOUT);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "abcd"); /* one pipe: order kept exactly */
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stdout_null)
{
    whelk_pipeline *p =
        helper_pipe("outn:1000000", "err:e", (const char *)NULL);
    whelk_result *r;

    whelk_pipeline_stdout(p, WHELK_NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "e");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stdout_to_stderr)
{
    whelk_pipeline *p =
        helper_pipe("out:a", "err:b", "out:c", (const char *)NULL);
    whelk_result *r;

    whelk_pipeline_stdout(p, WHELK_TO_STDERR);
    r = run_ok(p);
    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "abc");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stdout_file_truncate_append)
{
    char *f = tmp_path("out.txt");
    whelk_pipeline *p;
    whelk_result *r;
    char *got;
    size_t len;

    ck_assert_int_eq(write_file(f, "old contents that are long", 26, 0644), 0);
    p = helper_pipe("out:first\\n", "err:e", (const char *)NULL);
    whelk_pipeline_stdout_file(p, f, 0);
    r = run_ok(p);
    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "e");
    whelk_result_free(r);
    got = slurp(f, &len);
    ck_assert_str_eq(got, "first\n");
    free(got);
    whelk_pipeline_stdout_file(p, f, 1);
    r = run_ok(p);
    whelk_result_free(r);
    got = slurp(f, &len);
    ck_assert_str_eq(got, "first\nfirst\n");
    free(got);
    whelk_pipeline_free(p);
    free(f);
}
END_TEST

START_TEST(test_stdout_file_created)
{
    char *f = tmp_path("new.txt");
    whelk_pipeline *p = helper_pipe("outn:300000", (const char *)NULL);
    whelk_result *r;
    struct stat st;
    char *got;
    size_t len;
    mode_t um = umask(022);

    whelk_pipeline_stdout_file(p, f, 0);
    r = run_ok(p);
    umask(um);
    whelk_result_free(r);
    got = slurp(f, &len);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(len, 300000);
    ck_assert(is_pattern(got, len));
    ck_assert_int_eq(stat(f, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);
    free(got);
    whelk_pipeline_free(p);
    free(f);
}
END_TEST

START_TEST(test_stderr_file_append)
{
    char *f = tmp_path("err.txt");
    whelk_cmd *c = helper_cmd("err:E\\n", "out:o", (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;
    char *got;

    ck_assert_int_eq(write_file(f, "start\n", 6, 0644), 0);
    whelk_cmd_stderr_file(c, f, 1);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "o");
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    got = slurp(f, NULL);
    ck_assert_str_eq(got, "start\nE\n");
    free(got);
    whelk_cmd_stderr_file(c, f, 0);
    r = run_ok(p);
    whelk_result_free(r);
    got = slurp(f, NULL);
    ck_assert_str_eq(got, "E\n");
    free(got);
    whelk_pipeline_free(p);
    free(f);
}
END_TEST

START_TEST(test_stdin_file)
{
    char *f = tmp_path("in.bin");
    size_t n = 3 * MiB + 7, len;
    unsigned char *data = random_bytes(n, 9);
    whelk_pipeline *p = helper_pipe("cat", (const char *)NULL);
    whelk_result *r;
    const char *s;

    ck_assert_int_eq(write_file(f, data, n, 0644), 0);
    whelk_pipeline_stdin_file(p, f);
    r = run_ok(p);
    s = whelk_result_stdout(r, &len);
    ASSERT_BYTES(s, len, (const char *)data, n);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(data);
    free(f);
}
END_TEST

START_TEST(test_stdin_stdout_fds)
{
    char *fin = tmp_path("in"), *fout = tmp_path("out"),
         *ferr = tmp_path("err");
    int in, out, errfd;
    whelk_cmd *c = helper_cmd("cat", "err:to fd", "fds", (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;
    char *got;

    ck_assert_int_eq(write_file(fin, "input\n", 6, 0644), 0);
    in = open(fin, O_RDONLY); /* inheritable on purpose */
    out = open(fout, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    errfd = open(ferr, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert(in >= 0 && out >= 0 && errfd >= 0);
    whelk_cmd_stderr_fd(c, errfd);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    whelk_pipeline_stdin_fd(p, in);
    whelk_pipeline_stdout_fd(p, out);
    r = run_ok(p);
    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    /* the caller keeps its descriptors */
    ck_assert(fd_is_open(in) && fd_is_open(out) && fd_is_open(errfd));
    got = slurp(fout, NULL);
    ck_assert_str_eq(got, "input\n0 1 2\n");
    free(got);
    got = slurp(ferr, NULL);
    ck_assert_str_eq(got, "to fd");
    free(got);
    close(in);
    close(out);
    close(errfd);
    whelk_pipeline_free(p);
    free(fin);
    free(fout);
    free(ferr);
}
END_TEST

/* Point the host's fd to a file for the duration of a run. */
START_TEST(test_inherit)
{
    char *fin = tmp_path("in"), *fout = tmp_path("out");
    int saved0 = fcntl(0, F_DUPFD_CLOEXEC, 100);
    int saved1 = fcntl(1, F_DUPFD_CLOEXEC, 100);
    int saved2 = fcntl(2, F_DUPFD_CLOEXEC, 100);
    whelk_pipeline *p;
    whelk_result *r;
    int fd;
    char *got;

    ck_assert(saved0 >= 0 && saved1 >= 0 && saved2 >= 0);
    ck_assert_int_eq(write_file(fin, "12345", 5, 0644), 0);
    fd = open(fin, O_RDONLY);
    ck_assert_int_eq(dup2(fd, 0), 0);
    close(fd);
    fd = open(fout, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_eq(dup2(fd, 1), 1);
    ck_assert_int_eq(dup2(fd, 2), 2);
    close(fd);

    p = helper_pipe("count", "err:E", (const char *)NULL);
    whelk_pipeline_stdin(p, WHELK_INHERIT);
    whelk_pipeline_stdout(p, WHELK_INHERIT);
    whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_INHERIT);
    r = run_ok(p);

    dup2(saved0, 0);
    dup2(saved1, 1);
    dup2(saved2, 2);
    close(saved0);
    close(saved1);
    close(saved2);

    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    got = slurp(fout, NULL);
    ck_assert_str_eq(got, "5\nE");
    free(got);
    whelk_pipeline_free(p);
    free(fin);
    free(fout);
}
END_TEST

/* ============================================================== fds */

START_TEST(test_child_sees_only_std_fds)
{
    int fds[9], pfd[2], i, n = 0;
    struct rlimit rl;
    whelk_result *r;
    whelk_pipeline *p;

    /* inheritable descriptors of every kind, low and high */
    fds[n++] = dup(0);
    fds[n++] = open("/dev/null", O_RDONLY);
    fds[n++] = open(tmpdir, O_RDONLY | O_DIRECTORY);
    ck_assert_int_eq(pipe(pfd), 0);
    fds[n++] = pfd[0];
    fds[n++] = pfd[1];
    fds[n++] = dup2(pfd[0], 100);
    fds[n++] = dup2(pfd[1], 1000);
    /* the highest descriptor the host may have */
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur > 1001 && rl.rlim_cur != RLIM_INFINITY)
        fds[n++] = dup2(pfd[0], (int)(rl.rlim_cur - 1));
    for (i = 0; i < n; i++)
        ck_assert_int_ge(fds[i], 3);

    r = HELPER_OK("fds");
    ASSERT_STDOUT(r, "0 1 2\n");
    whelk_result_free(r);

    /* with stdin bytes, stderr merged, stdout to a file */
    {
        char *f = tmp_path("fds.out");
        char *got;

        p = helper_pipe("fds", "count", (const char *)NULL);
        whelk_pipeline_stdin_bytes(p, "abc", 3);
        whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_TO_STDOUT);
        r = run_ok(p);
        ASSERT_STDOUT(r, "0 1 2\n3\n");
        whelk_result_free(r);
        whelk_pipeline_stdout_file(p, f, 0);
        r = run_ok(p);
        whelk_result_free(r);
        got = slurp(f, NULL);
        ck_assert_str_eq(got, "0 1 2\n3\n");
        free(got);
        free(f);
        whelk_pipeline_free(p);
    }
    for (i = 0; i < n; i++)
        close(fds[i]);
}
END_TEST

START_TEST(test_host_std_fds_closed)
{
    /* the host has no 0, 1, 2: the library's own pipes land there, and
     * the child must still get them as its 0, 1, 2 -- and nothing else */
    int s0 = fcntl(0, F_DUPFD_CLOEXEC, 50), s1 = fcntl(1, F_DUPFD_CLOEXEC, 50),
        s2 = fcntl(2, F_DUPFD_CLOEXEC, 50);
    whelk_pipeline *p;
    whelk_result *r1, *r2;
    whelk_error *err = NULL, *err2 = NULL;

    ck_assert(s0 >= 0 && s1 >= 0 && s2 >= 0);
    close(0);
    close(1);
    close(2);
    p = helper_pipe("count", "out:O", "err:E", "fds", (const char *)NULL);
    whelk_pipeline_stdin_bytes(p, "abcd", 4);
    r1 = whelk_run(p, &err);
    /* and with stdin /dev/null by default */
    whelk_pipeline_free(p);
    p = helper_pipe("count", "fds", "err:E2", (const char *)NULL);
    r2 = whelk_run(p, &err2);
    dup2(s0, 0);
    dup2(s1, 1);
    dup2(s2, 2);
    close(s0);
    close(s1);
    close(s2);

    ck_assert_msg(r1 != NULL, "%s", err_desc(err));
    ASSERT_STDOUT(r1, "4\nO0 1 2\n");
    ASSERT_STDERR(r1, "E");
    ck_assert_msg(r2 != NULL, "%s", err_desc(err2));
    ASSERT_STDOUT(r2, "0\n0 1 2\n");
    ASSERT_STDERR(r2, "E2");
    whelk_result_free(r1);
    whelk_result_free(r2);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_host_std_fds_odd)
{
    /* 0 is write-only, 1 read-only, 2 a directory: none of it matters to
     * a child whose streams are all redirected */
    int s0 = fcntl(0, F_DUPFD_CLOEXEC, 50), s1 = fcntl(1, F_DUPFD_CLOEXEC, 50),
        s2 = fcntl(2, F_DUPFD_CLOEXEC, 50);
    int a = open("/dev/null", O_WRONLY), b = open("/dev/null", O_RDONLY),
        d = open(tmpdir, O_RDONLY | O_DIRECTORY);
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err = NULL;

    ck_assert(s0 >= 0 && s1 >= 0 && s2 >= 0 && a >= 0 && b >= 0 && d >= 0);
    dup2(a, 0);
    dup2(b, 1);
    dup2(d, 2);
    close(a);
    close(b);
    close(d);
    p = helper_pipe("cat", "err:E", "fds", (const char *)NULL);
    whelk_pipeline_stdin_bytes(p, "in", 2);
    r = whelk_run(p, &err);
    dup2(s0, 0);
    dup2(s1, 1);
    dup2(s2, 2);
    close(s0);
    close(s1);
    close(s2);

    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ASSERT_STDOUT(r, "in0 1 2\n");
    ASSERT_STDERR(r, "E");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_run_leaves_host_fds)
{
    /* the host's inheritable fds stay inheritable and open; the run adds
     * no descriptor of its own to the host */
    int fd = open("/dev/null", O_RDONLY);
    char *before, *after;
    whelk_result *r;

    ck_assert_int_ge(fd, 0);
    before = fd_list();
    r = HELPER_OK("out:x", "err:y");
    whelk_result_free(r);
    after = fd_list();
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    free(before);
    free(after);
    close(fd);
}
END_TEST

/* Marks every descriptor >= 3 of the host close-on-exec, so that any
 * inheritable descriptor seen later was made by the library. */
static void cloexec_all(void)
{
    char *list = fd_list(), *p = list;

    ck_assert_ptr_nonnull(list);
    while (*p) {
        int fd = (int)strtol(p, &p, 10);

        if (fd >= 3)
            fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
        while (*p == ' ')
            p++;
    }
    free(list);
}

/* The host's descriptors >= 3 without FD_CLOEXEC, as "5 7" ("" if none). */
static void inheritable_fds(char *out, size_t size)
{
    char *list = fd_list(), *p = list;
    size_t used = 0;

    out[0] = '\0';
    while (p && *p) {
        int fd = (int)strtol(p, &p, 10), fl = fcntl(fd, F_GETFD);

        if (fd >= 3 && fl >= 0 && !(fl & FD_CLOEXEC))
            used += (size_t)snprintf(out + used, size - used, "%s%d",
                                     used ? " " : "", fd);
        while (*p == ' ')
            p++;
    }
    free(list);
}

struct cloexec_ctx {
    int calls;
    int open_during; /* descriptors of the host during the run */
    char leaked[256];
};

static int cloexec_on_line(const whelk_line *line, void *userdata)
{
    struct cloexec_ctx *ctx = userdata;

    (void)line;
    if (ctx->calls++ == 0) {
        ctx->open_during = count_open_fds();
        inheritable_fds(ctx->leaked, sizeof ctx->leaked);
    }
    return 0;
}

START_TEST(test_library_fds_cloexec)
{
    /* while a run is in progress (pipes for stdin, stdout and stderr, a
     * pidfd, whatever else the library holds), every descriptor it made
     * is close-on-exec: a fork+exec elsewhere in the host cannot leak it */
    size_t n = 2 * MiB;
    unsigned char *in = random_bytes(n, 11);
    struct cloexec_ctx ctx;
    whelk_pipeline *p = helper_pipe("out:first\\n", "err:e\\n", "drain",
                                    "lines:3", (const char *)NULL);
    whelk_result *r;
    int before;

    cloexec_all();
    before = count_open_fds();
    memset(&ctx, 0, sizeof ctx);
    whelk_pipeline_stdin_bytes(p, in, n);
    whelk_pipeline_on_line(p, WHELK_STDOUT | WHELK_STDERR, cloexec_on_line,
                           &ctx);
    r = run_ok(p);
    ck_assert_int_ge(ctx.calls, 1);
    /* the check saw the library's descriptors, not an idle host */
    ck_assert_msg(ctx.open_during > before,
                  "no descriptor open during the run");
    ck_assert_msg(ctx.leaked[0] == '\0', "inheritable during the run: %s",
                  ctx.leaked);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(in);
}
END_TEST

struct runner {
    int stop;
    int runs, failures;
    char why[256];
};

static void *run_loop(void *arg)
{
    struct runner *rn = arg;
    unsigned char data[100000];

    memset(data, 'x', sizeof data);
    while (!__atomic_load_n(&rn->stop, __ATOMIC_SEQ_CST)) {
        whelk_pipeline *p = helper_pipe("count", "err:e", (const char *)NULL);
        whelk_error *err = NULL;
        whelk_result *r;

        whelk_pipeline_stdin_bytes(p, data, sizeof data);
        r = whelk_run(p, &err);
        if (!r || strcmp(whelk_result_stdout(r, NULL), "100000\n") != 0) {
            rn->failures++;
            snprintf(rn->why, sizeof rn->why, "%s", err_desc(err));
        }
        whelk_error_free(err);
        whelk_result_free(r);
        whelk_pipeline_free(p);
        rn->runs++;
    }
    return NULL;
}

START_TEST(test_foreign_spawn_during_runs)
{
    /* another thread of the host starts its own children with plain
     * posix_spawn (no closefrom) while runs are in progress: they must
     * not inherit any descriptor of the library */
    struct runner rn;
    pthread_t th;
    int i;

    cloexec_all();
    memset(&rn, 0, sizeof rn);
    ck_assert_int_eq(pthread_create(&th, NULL, run_loop, &rn), 0);
    for (i = 0; i < 200; i++) {
        char *argv[] = {(char *)HELPER, (char *)"fds", NULL};
        posix_spawn_file_actions_t fa;
        int pfd[2], status;
        char buf[256];
        ssize_t got, len = 0;
        pid_t pid;

        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
        ck_assert_int_eq(posix_spawn(&pid, HELPER, &fa, NULL, argv, environ),
                         0);
        posix_spawn_file_actions_destroy(&fa);
        close(pfd[1]);
        while ((got = read(pfd[0], buf + len, sizeof buf - 1 - (size_t)len)) >
               0)
            len += got;
        close(pfd[0]);
        buf[len] = '\0';
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(strcmp(buf, "0 1 2\n") == 0, "foreign child %d saw: %s",
                      i, buf);
    }
    __atomic_store_n(&rn.stop, 1, __ATOMIC_SEQ_CST);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_msg(rn.failures == 0, "%d of %d runs failed: %s", rn.failures,
                  rn.runs, rn.why);
    ck_assert_int_gt(rn.runs, 0);
}
END_TEST

/* ========================================================== signals */

START_TEST(test_child_signal_defaults)
{
    sigset_t block, old, now;
    struct sigaction ign, old_pipe, old_int, old_hup;
    whelk_result *r;

    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGTERM);
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, &block, &old), 0);
    ck_assert_int_eq(sigaction(SIGPIPE, &ign, &old_pipe), 0);
    ck_assert_int_eq(sigaction(SIGINT, &ign, &old_int), 0);
    ck_assert_int_eq(sigaction(SIGHUP, &ign, &old_hup), 0);

    r = HELPER_OK("sigmask", "sigign");
    ASSERT_STDOUT(r, "none\nnone\n");
    whelk_result_free(r);

    /* the host's own mask and dispositions are unchanged by the run */
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &now), 0);
    ck_assert(sigismember(&now, SIGUSR1) && sigismember(&now, SIGTERM));
    {
        struct sigaction sa;

        ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
        ck_assert(sa.sa_handler == SIG_IGN);
        ck_assert_int_eq(sigaction(SIGINT, NULL, &sa), 0);
        ck_assert(sa.sa_handler == SIG_IGN);
    }

    sigprocmask(SIG_SETMASK, &old, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
}
END_TEST

START_TEST(test_child_ignores_what_it_is_told)
{
    /* the helper itself can ignore: the check above is not vacuous */
    whelk_result *r = HELPER_OK("ignore:PIPE", "ignore:USR2", "sigign");

    ASSERT_STDOUT(r, "12 13\n");
    whelk_result_free(r);
}
END_TEST

static void on_usr2(int sig)
{
    (void)sig;
}

START_TEST(test_host_dispositions_unchanged)
{
    static const int sigs[] = {SIGCHLD, SIGPIPE, SIGINT,
                               SIGTERM, SIGUSR2, SIGALRM};
    struct sigaction before[6], after[6], h;
    sigset_t mask_before, mask_after;
    size_t i;
    whelk_error *err = NULL;
    whelk_pipeline *p;

    memset(&h, 0, sizeof h);
    h.sa_handler = on_usr2;
    sigemptyset(&h.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR2, &h, NULL), 0);
    for (i = 0; i < 6; i++)
        ck_assert_int_eq(sigaction(sigs[i], NULL, &before[i]), 0);
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &mask_before), 0);

    /* success, failure, stdin EPIPE, a spawn error */
    whelk_result_free(HELPER_OK("out:x"));
    p = helper_pipe("kill:TERM", (const char *)NULL);
    whelk_error_free(run_fail(p, WHELK_E_SIGNAL));
    whelk_pipeline_free(p);
    {
        unsigned char *in = random_bytes(MiB, 7);

        p = helper_pipe("exit:0", (const char *)NULL);
        whelk_pipeline_stdin_bytes(p, in, MiB);
        whelk_result_free(run_ok(p));
        whelk_pipeline_free(p);
        free(in);
    }
    ck_assert_ptr_null(whelk_sh(&err, "nosuchprog-xyz", (const char *)NULL));
    whelk_error_free(err);

    for (i = 0; i < 6; i++) {
        ck_assert_int_eq(sigaction(sigs[i], NULL, &after[i]), 0);
        ck_assert_msg(same_sigaction(&before[i], &after[i]),
                      "disposition of signal %d changed", sigs[i]);
    }
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &mask_after), 0);
    ck_assert(same_sigset(&mask_before, &mask_after));
    assert_sigpipe_default();
    assert_no_pending_sigpipe();
}
END_TEST

static volatile sig_atomic_t interrupts;

static void count_interrupt(int sig)
{
    (void)sig;
    interrupts++;
}

START_TEST(test_eintr_storm)
{
    /* a host whose handlers interrupt every blocking call (no SA_RESTART),
     * a SIGALRM every 2 ms and a SIGCHLD handler: nothing is lost */
    struct sigaction sa, old_alrm, old_chld;
    struct itimerval it, old_it;
    size_t n = 5 * MiB, len;
    unsigned char *in = random_bytes(n, 12);
    whelk_pipeline *p;
    whelk_result *r;
    const char *s;
    int i;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    ck_assert_int_eq(sigaction(SIGALRM, &sa, &old_alrm), 0);
    ck_assert_int_eq(sigaction(SIGCHLD, &sa, &old_chld), 0);
    memset(&it, 0, sizeof it);
    it.it_interval.tv_usec = 2000;
    it.it_value.tv_usec = 2000;
    ck_assert_int_eq(setitimer(ITIMER_REAL, &it, &old_it), 0);

    p = helper_pipe("cat", "errn:1048576", "sleep:20", "exit:0",
                    (const char *)NULL);
    whelk_pipeline_stdin_bytes(p, in, n);
    for (i = 0; i < 3; i++) {
        r = run_ok(p);
        s = whelk_result_stdout(r, &len);
        ASSERT_BYTES(s, len, (const char *)in, n);
        s = whelk_result_stderr(r, &len);
        ck_assert_uint_eq(len, MiB);
        ck_assert(is_pattern(s, len));
        whelk_result_free(r);
    }
    whelk_pipeline_free(p);
    /* and the error paths */
    p = helper_pipe("sleep:10", "exit:3", (const char *)NULL);
    whelk_error_free(run_fail(p, WHELK_E_EXIT));
    whelk_pipeline_free(p);

    setitimer(ITIMER_REAL, &old_it, NULL);
    ck_assert_msg(interrupts > 10, "only %d interrupts", (int)interrupts);
    sigaction(SIGALRM, &old_alrm, NULL);
    sigaction(SIGCHLD, &old_chld, NULL);
    ASSERT_NO_CHILDREN();
    free(in);
}
END_TEST

START_TEST(test_child_process_group)
{
    /* the child is the host's own child (no shell in between), in a new
     * process group it leads; with pgroup off, in the host's group */
    whelk_pipeline *p = helper_pipe("pid", "ppid", "pgid", (const char *)NULL);
    whelk_result *r = run_ok(p);
    long pid, ppid, pgid;

    ck_assert_int_eq(
        sscanf(whelk_result_stdout(r, NULL), "%ld %ld %ld", &pid, &ppid, &pgid),
        3);
    ck_assert_int_eq(ppid, (long)getpid());
    ck_assert_int_eq(pgid, pid);
    ck_assert_int_ne(pgid, (long)getpgrp());
    whelk_result_free(r);

    whelk_pipeline_pgroup(p, 0);
    r = run_ok(p);
    ck_assert_int_eq(
        sscanf(whelk_result_stdout(r, NULL), "%ld %ld %ld", &pid, &ppid, &pgid),
        3);
    ck_assert_int_eq(ppid, (long)getpid());
    ck_assert_int_eq(pgid, (long)getpgrp());
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

/* The host's own children keep their statuses. */
static pid_t fork_exit7(int *release_fd)
{
    int pfd[2];
    pid_t pid;

    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char c;

        close(pfd[1]);
        /* wait for the parent's word (EOF), then exit 7 */
        while (read(pfd[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(7);
    }
    close(pfd[0]);
    *release_fd = pfd[1];
    return pid;
}

/* Blocks until pid has exited, without reaping it. */
static void wait_exited_nowait(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof si);
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
        ck_assert_int_eq(errno, EINTR);
    ck_assert_int_eq(si.si_pid, pid);
    ck_assert_int_eq(si.si_code, CLD_EXITED);
    ck_assert_int_eq(si.si_status, 7);
}

static void assert_reaps_7(pid_t pid)
{
    int status = 0;
    pid_t w;

    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    ck_assert_msg(w == pid, "waitpid: %s (the library took the status)",
                  strerror(errno));
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 7);
}

START_TEST(test_host_child_exited_before)
{
    int release, i;
    pid_t pid = fork_exit7(&release);

    close(release);
    wait_exited_nowait(pid); /* a zombie now, its status waiting */
    for (i = 0; i < 10; i++) {
        whelk_result *r = HELPER_OK("out:x", "err:y");

        ASSERT_STDOUT(r, "x");
        whelk_result_free(r);
    }
    {
        whelk_pipeline *p = helper_pipe("exit:3", (const char *)NULL);

        whelk_error_free(run_fail(p, WHELK_E_EXIT));
        whelk_pipeline_free(p);
    }
    assert_reaps_7(pid);
}
END_TEST

struct release_ctx {
    int fd;
    int lines;
};

static int release_on_line(const whelk_line *line, void *userdata)
{
    struct release_ctx *ctx = userdata;

    (void)line;
    if (ctx->lines++ == 0) {
        close(ctx->fd); /* the host's child exits now, mid-run */
        ctx->fd = -1;
    }
    return 0;
}

START_TEST(test_host_child_exits_during_run)
{
    struct release_ctx ctx;
    whelk_pipeline *p;
    whelk_result *r;
    int i;
    pid_t pid = fork_exit7(&ctx.fd);

    ctx.lines = 0;
    /* the child's output keeps flowing after the first line, so the
     * host's child exits while this run is still being pumped */
    p = helper_pipe("lines:20000", (const char *)NULL);
    whelk_pipeline_on_line(p, WHELK_STDOUT, release_on_line, &ctx);
    r = run_ok(p);
    ck_assert_int_eq(ctx.lines, 20000);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    wait_exited_nowait(pid);
    for (i = 0; i < 5; i++)
        whelk_result_free(HELPER_OK("exit:0"));
    assert_reaps_7(pid);
}
END_TEST

/* =========================================================== stress */

START_TEST(test_1000_runs_no_leak)
{
    int before = count_open_fds(), i;
    char *list_before = fd_list(), *list_after;

    for (i = 0; i < 1000; i++) {
        whelk_error *err = NULL;
        whelk_result *r = whelk_sh(&err, HELPER, i % 2 ? "out:x" : "exit:0",
                                   (const char *)NULL);

        ck_assert_msg(r != NULL, "run %d: %s", i, err_desc(err));
        ASSERT_STDOUT(r, i % 2 ? "x" : "");
        whelk_result_free(r);
    }
    list_after = fd_list();
    ck_assert_msg(count_open_fds() == before,
                  "fds before: %.1000s, after: %.1000s", list_before,
                  list_after);
    ck_assert_int_eq(count_zombie_children(), 0);
    ASSERT_NO_CHILDREN();
    free(list_before);
    free(list_after);
}
END_TEST

START_TEST(test_error_paths_no_leak)
{
    char *noexec = tmp_path("noexec"), *missing = tmp_path("missing");
    char *before = fd_list(), *after;
    int n = count_open_fds(), i;
    unsigned char *in = random_bytes(256 * 1024, 8);

    ck_assert_int_eq(write_file(noexec, "#!/bin/sh\n", 10, 0644), 0);
    for (i = 0; i < 100; i++) {
        whelk_pipeline *p;
        whelk_error *err = NULL;

        /* not found */
        ck_assert_ptr_null(
            whelk_sh(&err, "nosuchprog-xyz", (const char *)NULL));
        whelk_error_free(err);
        /* EACCES */
        err = NULL;
        ck_assert_ptr_null(whelk_sh(&err, noexec, (const char *)NULL));
        ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXEC);
        whelk_error_free(err);
        /* bad stdin file */
        p = helper_pipe("cat", (const char *)NULL);
        whelk_pipeline_stdin_file(p, missing);
        whelk_error_free(run_fail(p, WHELK_E_IO));
        whelk_pipeline_free(p);
        /* bad cwd, with stdin bytes planned */
        p = helper_pipe("cat", (const char *)NULL);
        whelk_cmd_chdir(whelk_pipeline_cmd(p, 0), missing);
        whelk_pipeline_stdin_bytes(p, in, 1000);
        whelk_error_free(run_fail(p, WHELK_E_EXEC));
        whelk_pipeline_free(p);
        /* invalid */
        p = helper_pipe("cat", (const char *)NULL);
        whelk_cmd_setenv(whelk_pipeline_cmd(p, 0), "A=B", "x");
        whelk_error_free(run_fail(p, WHELK_E_INVALID));
        whelk_pipeline_free(p);
        /* exit and signal, with unread stdin */
        p = helper_pipe("err:e", "exit:2", (const char *)NULL);
        whelk_pipeline_stdin_bytes(p, in, 256 * 1024);
        whelk_error_free(run_fail(p, WHELK_E_EXIT));
        whelk_pipeline_free(p);
        p = helper_pipe("out:o", "kill:KILL", (const char *)NULL);
        whelk_error_free(run_fail(p, WHELK_E_SIGNAL));
        whelk_pipeline_free(p);
        /* error pointer NULL: the error is dropped, not leaked */
        p = helper_pipe("exit:1", (const char *)NULL);
        ck_assert_ptr_null(whelk_run(p, NULL));
        whelk_pipeline_free(p);
    }
    after = fd_list();
    ck_assert_msg(count_open_fds() == n, "fds before: %.1000s, after: %.1000s",
                  before, after);
    ASSERT_NO_CHILDREN();
    free(before);
    free(after);
    free(in);
    free(noexec);
    free(missing);
}
END_TEST

START_TEST(test_run_twice_same_result)
{
    whelk_pipeline *p = helper_pipe("count", "out: ", "env:WHELK_R", "err:e",
                                    "exit:5", (const char *)NULL);
    whelk_result *r1, *r2;
    int i;

    whelk_cmd_setenv(whelk_pipeline_cmd(p, 0), "WHELK_R", "r");
    whelk_pipeline_stdin_bytes(p, "hello", 5);
    whelk_pipeline_check(p, 0);
    r1 = run_ok(p);
    r2 = run_ok(p);
    ASSERT_STDOUT(r1, "5\n r\n");
    ASSERT_STDOUT(r2, "5\n r\n");
    ASSERT_STDERR(r1, "e");
    ASSERT_STDERR(r2, "e");
    ck_assert_int_eq(whelk_result_exit_code(r1, 0), 5);
    ck_assert_int_eq(whelk_result_exit_code(r2, 0), 5);
    whelk_result_free(r1);
    whelk_result_free(r2);
    /* and the error twice too */
    whelk_pipeline_check(p, 1);
    for (i = 0; i < 2; i++) {
        whelk_error *err = run_fail(p, WHELK_E_EXIT);

        ASSERT_STDOUT(whelk_error_result(err), "5\n r\n");
        whelk_error_free(err);
    }
    whelk_pipeline_free(p);
}
END_TEST

#define NTHREADS 4
#define NRUNS 50

struct thread_job {
    int id;
    whelk_pipeline *shared; /* run by all threads at once */
    int failures;
    char why[512];
};

static void *thread_main(void *arg)
{
    struct thread_job *job = arg;
    int i;

    for (i = 0; i < NRUNS && !job->failures; i++) {
        char act[64], want[96];
        whelk_error *err = NULL;
        whelk_result *r;
        const char *s;

        snprintf(act, sizeof act, "out:thread %d run %d\\n", job->id, i);
        snprintf(want, sizeof want, "thread %d run %d\n0 1 2\n", job->id, i);
        r = whelk_sh(&err, HELPER, act, "fds", (const char *)NULL);
        if (!r) {
            job->failures++;
            snprintf(job->why, sizeof job->why, "whelk_sh: %s", err_desc(err));
            whelk_error_free(err);
            break;
        }
        s = whelk_result_stdout(r, NULL);
        if (strcmp(s, want) != 0) {
            job->failures++;
            snprintf(job->why, sizeof job->why, "got \"%s\", want \"%s\"", s,
                     want);
        }
        whelk_result_free(r);

        r = whelk_run(job->shared, &err);
        if (!r) {
            job->failures++;
            snprintf(job->why, sizeof job->why, "shared: %s", err_desc(err));
            whelk_error_free(err);
            break;
        }
        s = whelk_result_stdout(r, NULL);
        if (strcmp(s, "11\n0 1 2\n") != 0) {
            job->failures++;
            snprintf(job->why, sizeof job->why, "shared: got \"%s\"", s);
        }
        whelk_result_free(r);
    }
    return NULL;
}

START_TEST(test_threads)
{
    pthread_t th[NTHREADS];
    struct thread_job jobs[NTHREADS];
    whelk_pipeline *shared = helper_pipe("count", "fds", (const char *)NULL);
    int i, fds = count_open_fds();

    whelk_pipeline_stdin_bytes(shared, "shared data", 11);
    for (i = 0; i < NTHREADS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].id = i;
        jobs[i].shared = shared;
        ck_assert_int_eq(pthread_create(&th[i], NULL, thread_main, &jobs[i]),
                         0);
    }
    for (i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    for (i = 0; i < NTHREADS; i++)
        ck_assert_msg(jobs[i].failures == 0, "thread %d: %s", i, jobs[i].why);
    ck_assert_int_eq(count_open_fds(), fds);
    ASSERT_NO_CHILDREN();
    whelk_pipeline_free(shared);
}
END_TEST

/* ============================================================== api */

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

    ck_assert_str_eq(whelk_version(&num), "0.1.0");
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

/* ============================================================ suite */

static TCase *tcase(Suite *s, const char *name, int tmp)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, TEST_TIMEOUT);
    if (tmp) {
        tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
        tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    }
    suite_add_tcase(s, tc);
    return tc;
}

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc;

    tc = tcase(s, "capture", 1);
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

    tc = tcase(s, "big", 0);
    tcase_add_test(tc, test_big_stderr_first);
    tcase_add_test(tc, test_big_stdout_first);
    tcase_add_test(tc, test_big_interleaved);
    tcase_add_test(tc, test_big_lines_both);
    tcase_add_test(tc, test_stdin_5mib_echoed);
    tcase_add_test(tc, test_stdin_with_stderr_flood);
    tcase_add_test(tc, test_stdin_counted);
    tcase_add_test(tc, test_stdin_empty_bytes);
    tcase_add_test(tc, test_stdin_unread_not_error);
    tcase_add_test(tc, test_stdin_never_read);
    tcase_add_test(tc, test_stdin_closed_then_output);
    tcase_add_test(tc, test_stdin_unread_child_fails);

    tc = tcase(s, "checking", 0);
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

    tc = tcase(s, "spawn-errors", 1);
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

    tc = tcase_create("invalid");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
    tcase_add_checked_fixture(tc, tmp_setup, marker_teardown);
    suite_add_tcase(s, tc);
    tcase_add_test(tc, test_invalid_null_pipeline);
    tcase_add_test(tc, test_invalid_empty_argv);
    tcase_add_test(tc, test_invalid_empty_program);
    tcase_add_test(tc, test_invalid_env_names);
    tcase_add_test(tc, test_invalid_null_arg);
    tcase_add_test(tc, test_invalid_no_stage);
    tcase_add_test(tc, test_invalid_destinations);
    tcase_add_test(tc, test_nomem_null_cmd_in_pipe);

    tc = tcase(s, "env", 1);
    tcase_add_test(tc, test_env_set_unset);
    tcase_add_test(tc, test_env_inherits_host);
    tcase_add_test(tc, test_env_clearenv);
    tcase_add_test(tc, test_env_clearenv_only_set);

    tc = tcase(s, "redirect", 1);
    tcase_add_test(tc, test_stderr_null);
    tcase_add_test(tc, test_stderr_to_stdout);
    tcase_add_test(tc, test_stdout_null);
    tcase_add_test(tc, test_stdout_to_stderr);
    tcase_add_test(tc, test_stdout_file_truncate_append);
    tcase_add_test(tc, test_stdout_file_created);
    tcase_add_test(tc, test_stderr_file_append);
    tcase_add_test(tc, test_stdin_file);
    tcase_add_test(tc, test_stdin_stdout_fds);
    tcase_add_test(tc, test_inherit);

    tc = tcase(s, "fds", 1);
    tcase_add_test(tc, test_child_sees_only_std_fds);
    tcase_add_test(tc, test_host_std_fds_closed);
    tcase_add_test(tc, test_host_std_fds_odd);
    tcase_add_test(tc, test_run_leaves_host_fds);
    tcase_add_test(tc, test_library_fds_cloexec);
    tcase_add_test(tc, test_foreign_spawn_during_runs);

    tc = tcase(s, "signals", 0);
    tcase_add_test(tc, test_child_signal_defaults);
    tcase_add_test(tc, test_child_ignores_what_it_is_told);
    tcase_add_test(tc, test_host_dispositions_unchanged);
    tcase_add_test(tc, test_eintr_storm);
    tcase_add_test(tc, test_child_process_group);
    tcase_add_test(tc, test_host_child_exited_before);
    tcase_add_test(tc, test_host_child_exits_during_run);

    tc = tcase(s, "stress", 1);
    tcase_add_test(tc, test_1000_runs_no_leak);
    tcase_add_test(tc, test_error_paths_no_leak);
    tcase_add_test(tc, test_run_twice_same_result);
    tcase_add_test(tc, test_threads);

    tc = tcase(s, "api", 0);
    tcase_add_test(tc, test_whelk_sh);
    tcase_add_test(tc, test_whelk_sh_invalid);
    tcase_add_test(tc, test_result_out_of_range);
    tcase_add_test(tc, test_error_null_accessors);
    tcase_add_test(tc, test_null_object_setters);
    tcase_add_test(tc, test_kind_names);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_cmd_free_unused);

    return s;
}

int main(void)
{
    return run_suite(core_suite());
}
