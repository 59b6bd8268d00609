/*
 * check_remote.c -- pipelines run on another machine (whelk_remote).
 *
 * Fast cases use the `sh -c` transport (the far side is this machine,
 * through a shell).  The rest use a real OpenSSH server that main()
 * starts on 127.0.0.1 (a free high port, throwaway host and client keys in
 * a temporary directory, `sshd -D -f <config>` as root) and stops at the
 * end; an `ssh` wrapper first in PATH gives the client its config (host
 * aliases h1..h4, "dead" for a closed port, "nokey" for a refused key).
 * The ssh tests FAIL when the server could not start: they never skip.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define H(...) helper_cmd(__VA_ARGS__, NULL)

static char *tmpdir;

static void tmp_setup(void)
{
    tmpdir = make_tmpdir();
    ck_assert_ptr_nonnull(tmpdir);
}

static void tmp_teardown(void)
{
    rm_rf(tmpdir);
    free(tmpdir);
    tmpdir = NULL;
}

static char *tmp_path(const char *name)
{
    char *p = path_join(tmpdir, name);

    ck_assert_ptr_nonnull(p);
    return p;
}

/* The `sh -c` transport. */
static whelk_remote *sh_remote(void)
{
    whelk_remote *r = whelk_remote_new(whelk_cmd_new("sh", "-c", NULL));

    ck_assert_ptr_nonnull(r);
    return r;
}

/* p, run through remote r (the remote is freed: the pipeline keeps it). */
static whelk_pipeline *remotely(whelk_pipeline *p, whelk_remote *r)
{
    whelk_pipeline_remote(p, r);
    whelk_remote_free(r);
    return p;
}

/* ---------------------------------------------------- process table */

/* Processes whose command line holds token (this test's own excepted). */
static int count_with_token(const char *token)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[65536], st[512];
        ssize_t len, k;
        int fd;
        char *rp;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if (atoi(e->d_name) == getpid())
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        if ((fd = open(path, O_RDONLY)) < 0)
            continue;
        k = read(fd, st, sizeof st - 1);
        close(fd);
        if (k <= 0)
            continue;
        st[k] = '\0';
        rp = strrchr(st, ')');
        if (rp && rp[1] == ' ' && rp[2] == 'Z')
            continue; /* a zombie runs nothing */
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        if ((fd = open(path, O_RDONLY)) < 0)
            continue;
        len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0)
            continue;
        for (k = 0; k < len; k++)
            if (!buf[k])
                buf[k] = ' ';
        buf[len] = '\0';
        n += strstr(buf, token) != NULL;
    }
    closedir(d);
    return n;
}

/* Waits (up to ms) until no process holds token; the count left. */
static int gone_within(const char *token, int ms)
{
    int64_t end = now_ms() + ms;
    int n;

    while ((n = count_with_token(token)) > 0 && now_ms() < end) {
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL); /* polling a condition, bounded */
    }
    return n;
}

/* Waits (up to ms) until some process holds token. */
static int appears_within(const char *token, int ms)
{
    int64_t end = now_ms() + ms;

    while (count_with_token(token) == 0) {
        struct timespec ts = {0, 10 * 1000000};
        if (now_ms() > end)
            return 0;
        nanosleep(&ts, NULL);
    }
    return 1;
}

static char *new_token(void)
{
    static int seq;
    return xasprintf("whelktok%d_%d_%lld", getpid(), ++seq,
                     (long long)now_ms());
}

/* ------------------------------------------------- same run, sh -c */

static const char *const odd_words[] = {
    "a b",         "it's",         "say \"hi\"", "$HOME",   "${x:-y}",
    "$(echo no)",  "`echo no`",    "*",          "[a]?",    "back\\slash",
    "\\",          "line1\nline2", "\xff\xfe",   "",        "~",
    "~root/x",     "#hash",        "a=b",        "-n",      "tab\there",
    "semi;colon",  "a&b|c",        "<in>",       "(x){y}",  "!bang",
    "'",           "''",           "\"",         "caf\xc3\xa9", "%s\n",
    "WHELKdeadbeef00000000 S 1", NULL};

/* The same pipeline here and there: identical stdout and statuses. */
static void assert_same_run(whelk_pipeline *p, whelk_remote *r)
{
    whelk_error *e1 = NULL, *e2 = NULL;
    whelk_result *here, *there;
    const whelk_result *a, *b;
    size_t la, lb, i;
    const char *oa, *ob;

    whelk_pipeline_check(p, 0);
    here = whelk_run(p, &e1);
    ck_assert_msg(here != NULL, "here: %s", err_desc(e1));
    whelk_pipeline_remote(p, r);
    there = whelk_run(p, &e2);
    ck_assert_msg(there != NULL, "there: %s", err_desc(e2));
    a = here;
    b = there;
    oa = whelk_result_stdout(a, &la);
    ob = whelk_result_stdout(b, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert_msg(memcmp(oa, ob, la) == 0, "stdout differs:\n%s\n--\n%s", oa,
                  ob);
    ck_assert_uint_eq(whelk_result_ncmds(a), whelk_result_ncmds(b));
    for (i = 0; i < whelk_result_ncmds(a); i++) {
        ck_assert_int_eq(whelk_result_exit_code(a, i),
                         whelk_result_exit_code(b, i));
        ck_assert_int_eq(whelk_result_signal(a, i), whelk_result_signal(b, i));
    }
    whelk_result_free(here);
    whelk_result_free(there);
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

typedef struct seen {
    char text[4096];
    size_t len;
} seen;

static int note_line(const whelk_line *l, void *ud)
{
    seen *s = ud;
    int n = snprintf(s->text + s->len, sizeof s->text - s->len, "%zu%c:%s|",
                     l->stage, l->stream == WHELK_STDOUT ? 'o' : 'e', l->text);
    if (n > 0 && (size_t)n < sizeof s->text - s->len)
        s->len += (size_t)n;
    return 0;
}

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

/* ---------------------------------------------------------- real sshd */

static char sshd_dir[256];
static char sshd_problem[1024];
static pid_t sshd_pid = -1;
static int sshd_port;

#define NEED_SSHD()                                                            \
    ck_assert_msg(sshd_problem[0] == '\0', "sshd is not running: %s",          \
                  sshd_problem)

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int port_open(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void put_file(const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", sshd_dir, name);
    f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void start_sshd(void)
{
    char buf[4096], *path;
    int64_t end;
    int dead = free_port(), tries;

    snprintf(sshd_dir, sizeof sshd_dir, "/tmp/whelk-sshd.XXXXXX");
    if (!mkdtemp(sshd_dir)) {
        snprintf(sshd_problem, sizeof sshd_problem, "mkdtemp: %s",
                 strerror(errno));
        return;
    }
    mkdir("/run/sshd", 0755); /* privilege separation directory */
    /* two ports, each free when picked: the kernel may hand out the same
     * one twice once the first probe's socket is closed */
    for (tries = 0; tries < 100; tries++)
        if ((sshd_port = free_port()) != dead)
            break;
    if (sshd_port < 0 || dead < 0 || dead == sshd_port) {
        snprintf(sshd_problem, sizeof sshd_problem,
                 "cannot pick two free ports (%d, %d)", sshd_port, dead);
        return;
    }
    if (sh("ssh-keygen -q -t ed25519 -N '' -f %s/hostkey && "
           "ssh-keygen -q -t ed25519 -N '' -f %s/clientkey && "
           "ssh-keygen -q -t ed25519 -N '' -f %s/otherkey && "
           "cp %s/clientkey.pub %s/authorized_keys && mkdir %s/rtmp %s/bin",
           sshd_dir, sshd_dir, sshd_dir, sshd_dir, sshd_dir, sshd_dir,
           sshd_dir) != 0) {
        snprintf(sshd_problem, sizeof sshd_problem,
                 "cannot make the keys (ssh-keygen) in %s", sshd_dir);
        return;
    }
    /* SHLVL=1: bash, root's login shell, does not source ~/.bashrc for
     * ssh sessions then (this machine's runs pyenv: 100 processes) */
    snprintf(buf, sizeof buf,
             "Port %d\nListenAddress 127.0.0.1\nHostKey %s/hostkey\n"
             "PidFile none\nAuthorizedKeysFile %s/authorized_keys\n"
             "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
             "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
             "SetEnv TMPDIR=%s/rtmp SHLVL=1\nMaxSessions 50\nMaxStartups 50\n"
             "LogLevel ERROR\n",
             sshd_port, sshd_dir, sshd_dir, sshd_dir);
    put_file("sshd_config", buf);
    snprintf(buf, sizeof buf,
             "Host h1 h2 h3 h4 shared\n  HostName 127.0.0.1\n  Port %d\n"
             "  IdentityFile %s/clientkey\n"
             "Host nokey\n  HostName 127.0.0.1\n  Port %d\n"
             "  IdentityFile %s/otherkey\n"
             "Host dead\n  HostName 127.0.0.1\n  Port %d\n"
             "  IdentityFile %s/clientkey\n"
             "Host shared\n  ControlMaster auto\n"
             "  ControlPath %s/user-%%C\n  ControlPersist 30\n"
             "Host *\n  User root\n  IdentitiesOnly yes\n"
             "  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n"
             "  LogLevel ERROR\n",
             sshd_port, sshd_dir, sshd_port, sshd_dir, dead, sshd_dir,
             sshd_dir);
    put_file("ssh_config", buf);
    snprintf(buf, sizeof buf,
             "#!/bin/sh\nexec /usr/bin/ssh -F %s/ssh_config \"$@\"\n",
             sshd_dir);
    put_file("bin/ssh", buf);
    snprintf(buf, sizeof buf, "%s/bin/ssh", sshd_dir);
    chmod(buf, 0755);
    snprintf(buf, sizeof buf, "%s/bin:%s", sshd_dir,
             getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", buf, 1);
    snprintf(buf, sizeof buf, "%s/sshd_config", sshd_dir);
    path = xasprintf("%s/sshd.log", sshd_dir);
    sshd_pid = fork();
    if (sshd_pid == 0) {
        execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-f", buf, "-E", path,
              (char *)NULL);
        _exit(127);
    }
    free(path);
    end = now_ms() + 15000;
    while (sshd_pid > 0 && !port_open(sshd_port)) {
        struct timespec ts = {0, 20 * 1000000};
        int st;
        if (waitpid(sshd_pid, &st, WNOHANG) == sshd_pid) {
            snprintf(sshd_problem, sizeof sshd_problem,
                     "/usr/sbin/sshd exited (status %d); see %s/sshd.log",
                     st, sshd_dir);
            sshd_pid = -1;
            return;
        }
        if (now_ms() > end) {
            snprintf(sshd_problem, sizeof sshd_problem,
                     "sshd did not listen on port %d within 15 s", sshd_port);
            return;
        }
        nanosleep(&ts, NULL); /* polling the port, bounded */
    }
    if (sshd_pid < 0)
        snprintf(sshd_problem, sizeof sshd_problem, "fork: %s",
                 strerror(errno));
}

static void stop_sshd(void)
{
    if (sshd_pid > 0) {
        kill(sshd_pid, SIGTERM);
        waitpid(sshd_pid, NULL, 0);
    }
    if (sshd_dir[0] && !sshd_problem[0]) /* kept to read its log */
        rm_rf(sshd_dir);
}

static whelk_remote *ssh_remote(const char *dest)
{
    whelk_remote *r = whelk_remote_ssh(dest);

    ck_assert_ptr_nonnull(r);
    return r;
}

/* Nothing left in the far side's TMPDIR (every run's private directory
 * was removed). */
static int rtmp_entries(void)
{
    char path[512];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(path, sizeof path, "%s/rtmp", sshd_dir);
    d = opendir(path);
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

START_TEST(test_ssh_same_run)
{
    whelk_cmd *last = H("cat", "err:two\\n", "env:WHELK_RT", "argv", "exit:0");
    whelk_pipeline *p;
    whelk_remote *r;
    whelk_result *res;
    seen s = {{0}, 0};
    size_t i;

    NEED_SSHD();
    r = ssh_remote("h1");
    for (i = 0; odd_words[i]; i++)
        whelk_cmd_arg(last, odd_words[i]);
    whelk_cmd_setenv(last, "WHELK_RT", "it's $HOME");
    p = whelk_pipe(H("cat", "err:one\\n"), last, NULL);
    whelk_pipeline_stdin_bytes(p, "in\n", 3);
    assert_same_run(p, r);
    whelk_remote_free(r);
    whelk_pipeline_on_line(p, WHELK_STDERR, note_line, &s);
    whelk_pipeline_check(p, 1);
    res = run_ok(p);
    ck_assert_str_eq(whelk_result_stderr(res, NULL), "one\ntwo\n");
    ck_assert_str_eq(s.text, "0e:one|1e:two|");
    whelk_result_free(res);
    whelk_pipeline_free(p);
    ck_assert_int_eq(rtmp_entries(), 0);
}
END_TEST

START_TEST(test_ssh_statuses_and_notfound)
{
    whelk_pipeline *p;
    whelk_error *e;
    const whelk_result *r;

    NEED_SSHD();
    p = remotely(whelk_pipe(H("out:x", "exit:2"), H("drain", "kill:TERM"),
                            NULL),
                 ssh_remote("h1"));
    e = run_fail(p, WHELK_E_EXIT);
    r = whelk_error_result(e);
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 2);
    ck_assert_int_eq(whelk_result_signal(r, 1), SIGTERM);
    whelk_error_free(e);
    whelk_pipeline_free(p);
    p = remotely(whelk_pipe(H("out:x"),
                            whelk_cmd_new("whelk-not-there", NULL), NULL),
                 ssh_remote("h1"));
    e = run_fail(p, WHELK_E_NOTFOUND);
    ck_assert_uint_eq(whelk_error_stage(e), 1);
    ck_assert_msg(contains(whelk_error_message(e), "not found on h1"), "%s",
                  whelk_error_message(e));
    whelk_error_free(e);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_ssh_timeout_leaves_nothing_there)
{
    char *tok;
    whelk_pipeline *p;
    whelk_error *e;
    int64_t t0;

    NEED_SSHD();
    tok = new_token();
    p = remotely(whelk_pipe(H("out:x", "sleep:600000", "exit:0", tok),
                            H("cat", "exit:0", tok), NULL),
                 ssh_remote("h2"));
    whelk_pipeline_timeout(p, 1500);
    whelk_pipeline_kill_grace(p, 200);
    t0 = now_ms();
    e = run_fail(p, WHELK_E_TIMEOUT);
    ck_assert_int_lt(now_ms() - t0, 15000);
    whelk_error_free(e);
    /* the watchdog there stops it within about a second and the grace */
    ck_assert_int_eq(gone_within(tok, 15000), 0);
    whelk_pipeline_free(p);
    ck_assert_int_eq(rtmp_entries(), 0);
    free(tok);
}
END_TEST

START_TEST(test_ssh_stdin_from_host_timeout_leaves_nothing)
{
    char *tok;
    whelk_pipeline *p;
    whelk_error *e;

    NEED_SSHD();
    tok = new_token();
    /* stdin carries data: only the heartbeat can tell the session died */
    p = remotely(whelk_pipe(H("cat", "sleep:600000", "exit:0", tok), NULL),
                 ssh_remote("h2"));
    whelk_pipeline_stdin_bytes(p, "data\n", 5);
    whelk_pipeline_timeout(p, 1500);
    whelk_pipeline_kill_grace(p, 200);
    e = run_fail(p, WHELK_E_TIMEOUT);
    whelk_error_free(e);
    ck_assert_int_eq(gone_within(tok, 15000), 0);
    whelk_pipeline_free(p);
    free(tok);
}
END_TEST

START_TEST(test_ssh_kill_leaves_nothing_there)
{
    char *tok;
    whelk_pipeline *p;
    whelk_error *e = NULL;
    whelk_proc *pr;
    whelk_result *res;

    NEED_SSHD();
    tok = new_token();
    p = remotely(whelk_pipe(H("sleep:600000", "exit:0", tok), NULL),
                 ssh_remote("h3"));
    whelk_pipeline_kill_grace(p, 200);
    pr = whelk_start(p, &e);
    ck_assert_msg(pr != NULL, "%s", err_desc(e));
    ck_assert(appears_within(tok, 20000));
    ck_assert_int_eq(whelk_proc_kill(pr, SIGKILL), 0);
    res = whelk_proc_wait(pr, &e);
    ck_assert_ptr_null(res);
    /* the transport died: its own error, not the stage's */
    ck_assert_int_eq(whelk_error_kind(e), WHELK_E_TRANSPORT);
    ck_assert_int_eq(whelk_error_signal(e), SIGKILL);
    whelk_error_free(e);
    ck_assert_int_eq(gone_within(tok, 15000), 0);
    whelk_pipeline_free(p);
    free(tok);
}
END_TEST

/* Our control directories (whelk-ssh.*) under dir. */
static int ctl_dirs(const char *dir, char *found, size_t size)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "whelk-ssh.", 10) == 0) {
            n++;
            if (found)
                snprintf(found, size, "%s/%s", dir, e->d_name);
        }
    closedir(d);
    return n;
}

/* A killed host cannot free its remote: its control directory (in a
 * private XDG_RUNTIME_DIR) and master connection are cleaned up here. */
static void host_death_setup(char *xdg)
{
    ck_assert_ptr_nonnull(mkdtemp(xdg));
    setenv("XDG_RUNTIME_DIR", xdg, 1);
}

static void host_death_cleanup(const char *xdg, const char *dest)
{
    char ctl[512];

    if (ctl_dirs(xdg, ctl, sizeof ctl) == 1)
        sh("ssh -o ControlPath=%s/%%C -O exit %s >/dev/null 2>&1", ctl, dest);
    rm_rf(xdg);
}

START_TEST(test_ssh_host_death_leaves_nothing_there)
{
    char *tok, xdg[] = "/tmp/whelk-xdg.XXXXXX";
    pid_t host;
    int st;

    NEED_SSHD();
    tok = new_token();
    host_death_setup(xdg);
    host = fork();
    ck_assert_int_ge(host, 0);
    if (host == 0) {
        whelk_pipeline *p =
            remotely(whelk_pipe(H("sleep:600000", "exit:0", tok), NULL),
                     whelk_remote_ssh("h4"));
        whelk_pipeline_kill_grace(p, 200);
        whelk_result_free(whelk_run(p, NULL));
        _exit(0);
    }
    ck_assert(appears_within(tok, 20000));
    kill(host, SIGKILL);
    ck_assert_int_eq(waitpid(host, &st, 0), host);
    ck_assert_int_eq(gone_within(tok, 15000), 0);
    host_death_cleanup(xdg, "h4");
    free(tok);
}
END_TEST

START_TEST(test_ssh_host_death_with_host_stdin_leaves_nothing_there)
{
    char *tok, xdg[] = "/tmp/whelk-xdg.XXXXXX";
    pid_t host;
    int st;

    NEED_SSHD();
    tok = new_token();
    host_death_setup(xdg);
    host = fork();
    ck_assert_int_ge(host, 0);
    if (host == 0) {
        whelk_pipeline *p =
            remotely(whelk_pipe(H("cat", "sleep:600000", "exit:0", tok), NULL),
                     whelk_remote_ssh("h4"));
        /* the stdin's end is the data's: only the transport's own death
         * (it dies with the host) tells the far side */
        whelk_pipeline_stdin_bytes(p, "x\n", 2);
        whelk_pipeline_kill_grace(p, 200);
        whelk_result_free(whelk_run(p, NULL));
        _exit(0);
    }
    ck_assert(appears_within(tok, 20000));
    kill(host, SIGKILL);
    ck_assert_int_eq(waitpid(host, &st, 0), host);
    ck_assert_int_eq(gone_within(tok, 15000), 0);
    host_death_cleanup(xdg, "h4");
    free(tok);
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

START_TEST(test_ssh_unreachable_and_refused)
{
    whelk_pipeline *p;
    whelk_error *e;

    NEED_SSHD();
    p = remotely(whelk_pipe(H("out:x"), NULL), ssh_remote("dead"));
    e = run_fail(p, WHELK_E_TRANSPORT);
    ck_assert_int_eq(whelk_error_exit_code(e), 255);
    ck_assert_msg(contains(whelk_error_message(e), "dead") &&
                      contains(whelk_error_message(e), "refused"),
                  "%s", whelk_error_message(e));
    whelk_error_free(e);
    whelk_pipeline_free(p);
    p = remotely(whelk_pipe(H("out:x"), NULL), ssh_remote("nokey"));
    e = run_fail(p, WHELK_E_TRANSPORT);
    ck_assert_int_eq(whelk_error_exit_code(e), 255);
    ck_assert_msg(contains(whelk_error_message(e), "Permission denied"), "%s",
                  whelk_error_message(e));
    whelk_error_free(e);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_ssh_many_hosts_in_order)
{
    static const char *const hosts[] = {"h1", "h2", "dead", "h3", "h4"};
    whelk_pipeline *ps[5];
    whelk_result *res[5];
    whelk_error *errs[5];
    size_t i;

    NEED_SSHD();
    for (i = 0; i < 5; i++) {
        char *word = xasprintf("out:%s\\n", hosts[i]);
        ps[i] = remotely(whelk_pipe(H("sleep:100", word), H("cat"), NULL),
                         ssh_remote(hosts[i]));
        whelk_pipeline_timeout(ps[i], 30000);
        free(word);
    }
    ck_assert_uint_eq(whelk_run_many(ps, 5, 5, res, errs), 1);
    for (i = 0; i < 5; i++) {
        if (i == 2) {
            ck_assert_ptr_null(res[i]);
            ck_assert_int_eq(whelk_error_kind(errs[i]), WHELK_E_TRANSPORT);
        } else {
            char *want = xasprintf("%s\n", hosts[i]);
            ck_assert_msg(res[i] != NULL, "%s: %s", hosts[i],
                          err_desc(errs[i]));
            ck_assert_str_eq(whelk_result_stdout(res[i], NULL), want);
            free(want);
        }
        whelk_result_free(res[i]);
        whelk_error_free(errs[i]);
        whelk_pipeline_free(ps[i]);
    }
}
END_TEST

START_TEST(test_ssh_shares_one_connection)
{
    char xdg[] = "/tmp/whelk-xdg.XXXXXX", ctl[512];
    whelk_remote *r;
    whelk_pipeline *p;
    struct stat st;
    int i;

    NEED_SSHD();
    ck_assert_ptr_nonnull(mkdtemp(xdg));
    setenv("XDG_RUNTIME_DIR", xdg, 1);
    r = ssh_remote("h1");
    p = whelk_pipe(H("out:x"), NULL);
    whelk_pipeline_remote(p, r);
    for (i = 0; i < 3; i++) {
        whelk_result *res = run_ok(p);
        whelk_result_free(res);
    }
    ck_assert_int_eq(ctl_dirs(xdg, ctl, sizeof ctl), 1);
    ck_assert_int_eq(lstat(ctl, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    /* the master: one process named after our socket */
    ck_assert_int_eq(count_with_token(ctl), 1);
    whelk_remote_free(r); /* the pipeline still holds it */
    ck_assert_int_eq(ctl_dirs(xdg, NULL, 0), 1);
    whelk_pipeline_free(p); /* the last reference: master stopped, dir gone */
    ck_assert_int_eq(ctl_dirs(xdg, NULL, 0), 0);
    ck_assert_int_eq(gone_within(ctl, 10000), 0);
    rmdir(xdg);
}
END_TEST

START_TEST(test_ssh_user_sharing_is_respected)
{
    char xdg[] = "/tmp/whelk-xdg.XXXXXX", *sock_prefix;
    whelk_pipeline *p;
    whelk_result *res;

    NEED_SSHD();
    ck_assert_ptr_nonnull(mkdtemp(xdg));
    setenv("XDG_RUNTIME_DIR", xdg, 1);
    p = remotely(whelk_pipe(H("out:x"), NULL), ssh_remote("shared"));
    res = run_ok(p);
    ck_assert_str_eq(whelk_result_stdout(res, NULL), "x");
    whelk_result_free(res);
    whelk_pipeline_free(p);
    /* no directory of ours; the user's ControlPath was used */
    ck_assert_int_eq(ctl_dirs(xdg, NULL, 0), 0);
    sock_prefix = xasprintf("%s/user-", sshd_dir);
    ck_assert_int_eq(count_with_token(sock_prefix), 1);
    sh("ssh -O exit shared 2>/dev/null");
    free(sock_prefix);
    rmdir(xdg);
}
END_TEST

START_TEST(test_example_fleet_check_over_ssh)
{
    char *dir = xasprintf("%s", TEST_TMPDIR), *prog;
    whelk_pipeline *p;
    whelk_result *res;
    whelk_error *e = NULL;
    const char *out;

    NEED_SSHD();
    *strrchr(dir, '/') = '\0'; /* the build directory */
    prog = xasprintf("%s/examples/fleet_check", dir);
    p = whelk_pipe(whelk_cmd_new(prog, "h1", "dead", "h2", NULL), NULL);
    whelk_pipeline_check(p, 0);
    res = whelk_run(p, &e);
    ck_assert_msg(res != NULL, "%s", err_desc(e));
    out = whelk_result_stdout(res, NULL);
    /* the dead host fails alone, in its place */
    ck_assert_int_eq(whelk_result_exit_code(res, 0), 1);
    ck_assert_msg(contains(out, "h1 ") && contains(out, "% used\ndead ") &&
                      contains(out, "FAILED") && contains(out, "\nh2 "),
                  "%s", out);
    whelk_result_free(res);
    whelk_pipeline_free(p);
    free(prog);
    free(dir);
}
END_TEST

/* ------------------------------------------------------------- suite */

static TCase *tcase(Suite *s, const char *name, int tmp)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, TEST_TIMEOUT);
    if (tmp)
        tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    suite_add_tcase(s, tc);
    return tc;
}

static Suite *remote_suite(void)
{
    Suite *s = suite_create("remote");
    TCase *tc;

    tc = tcase(s, "sh", 1);
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

    tc = tcase(s, "ssh", 0);
    tcase_add_test(tc, test_ssh_same_run);
    tcase_add_test(tc, test_ssh_statuses_and_notfound);
    tcase_add_test(tc, test_ssh_timeout_leaves_nothing_there);
    tcase_add_test(tc, test_ssh_stdin_from_host_timeout_leaves_nothing);
    tcase_add_test(tc, test_ssh_kill_leaves_nothing_there);
    tcase_add_test(tc, test_ssh_host_death_leaves_nothing_there);
    tcase_add_test(tc, test_ssh_host_death_with_host_stdin_leaves_nothing_there);
    tcase_add_test(tc, test_ssh_unreachable_and_refused);
    tcase_add_test(tc, test_ssh_many_hosts_in_order);
    tcase_add_test(tc, test_ssh_shares_one_connection);
    tcase_add_test(tc, test_ssh_user_sharing_is_respected);
    tcase_add_test(tc, test_example_fleet_check_over_ssh);
    return s;
}

int main(void)
{
    int rc;

    start_sshd();
    rc = run_suite(remote_suite());
    stop_sshd();
    return rc;
}
