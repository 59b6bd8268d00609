/*
 * check_setup.c -- child setup and the everyday conveniences (issue 13):
 * commands from sh-quoted strings, copies of commands and pipelines,
 * one-call checks, the small text helpers, a shell's stdin encoding, git
 * hook hygiene; and what happens in the child between clone and exec
 * (extra descriptors, limits, umask, nice, identity, dying with the host).
 *
 * Everything is observed through the public API against the helper child
 * tests/whelk-helper: the words it was given, the descriptors it sees, its
 * limits and ids.  Tests that need root say so in their name (_root) and
 * fail -- never pass silently -- when run without it.  No test sleeps to
 * synchronise.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "childsetup.h"

#include <check.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "common.h"

/* A helper command: H("out:x", "exit:3"). */
#define H(...) helper_cmd(__VA_ARGS__, (const char *)NULL)

/* ===================================================================== */
/* whelk_cmd_new_argstr                                                  */
/* ===================================================================== */

/* Runs `'HELPER' argvz exit:0 <words>` made by whelk_cmd_new_argstr and
 * checks that the helper's arguments after exit:0 are want[0..n). */
static void check_words(const char *words, const char *const *want, size_t n)
{
    char *line = xasprintf("'%s' argvz exit:0 %s", HELPER, words);
    whelk_pipeline *p = whelk_pipe(whelk_cmd_new_argstr(line), NULL);
    whelk_result *r = run_ok(p);
    size_t pos = 0, len, k = 0;
    const char *rec;

    while ((rec = whelk_result_next_record(r, &pos, &len)) != NULL) {
        ck_assert_uint_eq(strlen(rec), len);
        if (k == 0)
            ck_assert_str_eq(rec, HELPER);
        else if (k == 1)
            ck_assert_str_eq(rec, "argvz");
        else if (k == 2)
            ck_assert_str_eq(rec, "exit:0");
        else {
            ck_assert_msg(k - 3 < n, "[%s]: extra word \"%s\"", words, rec);
            ck_assert_msg(strcmp(rec, want[k - 3]) == 0,
                          "[%s]: word %zu is \"%s\", expected \"%s\"", words,
                          k - 3, rec, want[k - 3]);
        }
        k++;
    }
    ck_assert_msg(k == n + 3, "[%s]: %zu words, expected %zu", words,
                  k < 3 ? 0 : k - 3, n);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(line);
}

#define WORDS(s, ...)                                                          \
    do {                                                                       \
        static const char *const w_[] = {__VA_ARGS__};                         \
        check_words((s), w_, sizeof w_ / sizeof w_[0]);                        \
    } while (0)

START_TEST(test_argstr_splits_like_sh)
{
    check_words("", NULL, 0);
    WORDS("less -R", "less", "-R");
    WORDS("  a \t b\t\tc  ", "a", "b", "c");
    WORDS("'a b' \"c d\" e\\ f", "a b", "c d", "e f");
    WORDS("'it'\\''s'", "it's");
    WORDS("a''b '' \"\"", "ab", "", "");
    /* in double quotes a backslash escapes only $ ` " \ and newline */
    WORDS("\"a\\\"b\\\\c\\$d\\`e\\xf\"", "a\"b\\c$d`e\\xf");
    /* single quotes keep everything, backslashes included */
    WORDS("'a\\b\\'", "a\\b\\");
    /* unquoted backslash: the next byte, whatever it is */
    WORDS("\\a\\\\\\'\\\"", "a\\'\"");
    /* backslash-newline is removed, outside and inside double quotes */
    WORDS("a\\\nb c", "ab", "c");
    WORDS("\"a\\\nb\"", "ab");
    WORDS("'a\\\nb'", "a\\\nb");
    /* an unquoted newline separates words; a quoted one is kept */
    WORDS("a\nb 'c\nd'", "a", "b", "c\nd");
    /* no expansion of any kind */
    WORDS("$HOME ~ ~/x *.c [ab] ? `id` \"$HOME\"", "$HOME", "~", "~/x", "*.c",
          "[ab]", "?", "`id`", "$HOME");
    /* operators and # are ordinary when quoted, or inside a word */
    WORDS("'|' \"&\" \\; a#b '#c' x=y", "|", "&", ";", "a#b", "#c", "x=y");
    WORDS("caf\xc3\xa9 \xff", "caf\xc3\xa9", "\xff");
}
END_TEST

/* The string is refused at run time, before anything is spawned. */
static void check_refused(const char *words, const char *why)
{
    whelk_pipeline *p = whelk_pipe(whelk_cmd_new_argstr(words), NULL);
    whelk_error *err = run_fail(p, WHELK_E_INVALID);

    ck_assert_int_eq(whelk_error_errno(err), EINVAL);
    ck_assert_msg(contains(whelk_error_message(err), why),
                  "[%s]: message \"%s\" does not say \"%s\"",
                  words ? words : "(null)", whelk_error_message(err), why);
    ck_assert_int_eq(count_children(), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}

START_TEST(test_argstr_refused)
{
    char *dir = make_tmpdir(), *marker = path_join(dir, "ran"), *line;

    check_refused(NULL, "NULL");
    check_refused("", "no words");
    check_refused(" \t\n ", "no words");
    check_refused("less 'abc", "unterminated single quote");
    check_refused("less \"abc", "unterminated double quote");
    check_refused("less \"abc\\\"", "unterminated double quote");
    check_refused("less abc\\", "trailing backslash");
    check_refused("a | b", "shell operator");
    check_refused("a >f", "shell operator");
    check_refused("a;b", "shell operator");
    check_refused("a && b", "shell operator");
    check_refused("(a)", "shell operator");
    check_refused("a <f", "shell operator");
    check_refused("# c", "comment");
    check_refused("a #c", "comment");
    /* nothing runs: the helper would have made the marker */
    line = xasprintf("'%s' touch:%s 'oops", HELPER, marker);
    check_refused(line, "unterminated single quote");
    ck_assert(!path_exists(marker));
    free(line);
    free(marker);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(test_argstr_program_from_path)
{
    /* the first word is looked up in PATH, like whelk_cmd_new's program */
    whelk_pipeline *p = whelk_pipe(
        whelk_cmd_new_argstr("sh -c 'printf \"%s|\" \"$0\" \"$1\"' x 'y z'"),
        NULL);
    whelk_result *r = run_ok(p);

    ASSERT_STDOUT(r, "x|y z|");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    p = whelk_pipe(whelk_cmd_new_argstr("no-such-program-whelk -x"), NULL);
    whelk_error_free(run_fail(p, WHELK_E_NOTFOUND));
    whelk_pipeline_free(p);
}
END_TEST

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

/* ===================================================================== */
/* One-call checks                                                       */
/* ===================================================================== */

START_TEST(test_sh_ok_codes)
{
    whelk_error *err = NULL;
    whelk_result *r;

    r = whelk_sh_ok(&err, WHELK_CODES(0, 1), HELPER, "out:x", "exit:1",
                    (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 1);
    ASSERT_STDOUT(r, "x");
    whelk_result_free(r);

    r = whelk_sh_ok(&err, WHELK_CODES(0, 1), HELPER, "exit:2",
                    (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXIT);
    ck_assert_int_eq(whelk_error_exit_code(err), 2);
    whelk_error_free(err);
    err = NULL;

    /* a signal is still a failure */
    r = whelk_sh_ok(&err, WHELK_CODES(0, 1), HELPER, "kill:TERM",
                    (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_SIGNAL);
    whelk_error_free(err);
    err = NULL;

    /* n == 0: just 0 */
    r = whelk_sh_ok(&err, NULL, 0, HELPER, "exit:1", (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXIT);
    whelk_error_free(err);
}
END_TEST

START_TEST(test_sh_unchecked)
{
    whelk_error *err = NULL;
    whelk_result *r;

    r = whelk_sh_unchecked(&err, HELPER, "out:y", "exit:3",
                           (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 3);
    ASSERT_STDOUT(r, "y");
    whelk_result_free(r);

    r = whelk_sh_unchecked(&err, HELPER, "kill:TERM", (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_int_eq(whelk_result_signal(r, 0), SIGTERM);
    whelk_result_free(r);

    /* what stops the run itself is still an error */
    r = whelk_sh_unchecked(&err, "no-such-program-whelk", (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_NOTFOUND);
    whelk_error_free(err);
}
END_TEST

typedef struct hook_count {
    int calls;
} hook_count;

static void count_error(const whelk_error *e, void *ud)
{
    (void)e;
    ((hook_count *)ud)->calls++;
}

START_TEST(test_shell_ok_codes)
{
    static const int ok01[] = {0, 1};
    whelk_shell *sh = whelk_shell_new();
    hook_count hc = {0};
    whelk_error *err = NULL;
    whelk_result *r;

    ck_assert_ptr_nonnull(sh);
    whelk_shell_on_error(sh, count_error, &hc);
    whelk_shell_ok_codes(sh, ok01, 2);
    r = whelk_shell_sh(sh, &err, HELPER, "exit:1", (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    whelk_result_free(r);
    r = whelk_shell_sh(sh, &err, HELPER, "exit:2", (const char *)NULL);
    ck_assert_ptr_null(r);
    whelk_error_free(err);
    err = NULL;
    ck_assert_int_eq(hc.calls, 1);

    /* the call's codes win over the shell's */
    r = whelk_shell_sh_ok(sh, &err, WHELK_CODES(0, 2), HELPER, "exit:2",
                          (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    whelk_result_free(r);
    r = whelk_shell_sh_ok(sh, &err, WHELK_CODES(0, 2), HELPER, "exit:1",
                          (const char *)NULL);
    ck_assert_ptr_null(r);
    whelk_error_free(err);
    err = NULL;
    ck_assert_int_eq(hc.calls, 2);

    /* unchecked: no error, so no error hook */
    r = whelk_shell_sh_unchecked(sh, &err, HELPER, "exit:9",
                                 (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 9);
    whelk_result_free(r);
    ck_assert_int_eq(hc.calls, 2);

    /* a shell with checking off: _ok turns it on for the call */
    whelk_shell_check(sh, 0);
    r = whelk_shell_sh(sh, &err, HELPER, "exit:5", (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    whelk_result_free(r);
    r = whelk_shell_sh_ok(sh, &err, WHELK_CODES(0, 1), HELPER, "exit:5",
                          (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXIT);
    whelk_error_free(err);
    ck_assert_int_eq(hc.calls, 3);

    /* commands made through the shell carry its codes into pipelines */
    whelk_shell_check(sh, 1);
    {
        whelk_pipeline *p = whelk_shell_pipe(
            sh, whelk_shell_cmd(sh, HELPER, "exit:1", (const char *)NULL),
            NULL);
        whelk_result_free(run_ok(p));
        whelk_pipeline_free(p);
    }
    whelk_shell_free(sh);
}
END_TEST

/* ===================================================================== */
/* Text helpers                                                          */
/* ===================================================================== */

/* The first line of the stdout of `HELPER out:<text>`. */
static void check_line(const char *text, const char *want)
{
    char *arg = xasprintf("out:%s", text), *line;
    whelk_pipeline *p = whelk_pipe(helper_cmd(arg, (const char *)NULL), NULL);
    whelk_result *r;
    size_t len = 99;

    r = run_ok(p);
    line = whelk_result_stdout_line(r, &len);
    ck_assert_ptr_nonnull(line);
    ck_assert_msg(strcmp(line, want) == 0, "[%s]: \"%s\", expected \"%s\"",
                  text, line, want);
    ck_assert_uint_eq(len, strlen(want));
    free(line);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(arg);
}

START_TEST(test_stdout_line)
{
    char *line;

    check_line("abc\\ndef\\n", "abc");
    check_line("0123456789abcdef\\n", "0123456789abcdef");
    check_line("abc\\r\\nx", "abc");
    check_line("abc", "abc");
    check_line("a\\rb\\n", "a\rb");
    check_line("\\nabc", "");
    check_line("", "");
    line = whelk_result_stdout_line(NULL, NULL);
    ck_assert_ptr_nonnull(line);
    ck_assert_str_eq(line, "");
    free(line);
}
END_TEST

START_TEST(test_next_record)
{
    whelk_pipeline *p = whelk_pipe(H("out:a\\x00bb\\x00\\x00c"), NULL);
    whelk_result *r = run_ok(p);
    const char *out = whelk_result_stdout(r, NULL), *rec;
    static const char *const want[] = {"a", "bb", "", "c"};
    size_t pos = 0, len, k = 0;

    while ((rec = whelk_result_next_record(r, &pos, &len)) != NULL) {
        ck_assert_uint_lt(k, 4);
        ck_assert_str_eq(rec, want[k]);
        ck_assert_uint_eq(len, strlen(want[k]));
        /* in place, not a copy */
        ck_assert(rec >= out && rec + len <= out + 8);
        k++;
    }
    ck_assert_uint_eq(k, 4);
    /* at the end it stays at the end */
    ck_assert_ptr_null(whelk_result_next_record(r, &pos, &len));
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* a terminating NUL does not start an empty record */
    p = whelk_pipe(H("out:x\\x00y\\x00"), NULL);
    r = run_ok(p);
    pos = 0;
    k = 0;
    while ((rec = whelk_result_next_record(r, &pos, NULL)) != NULL)
        ck_assert_str_eq(rec, k++ ? "y" : "x");
    ck_assert_uint_eq(k, 2);
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* no output: no record */
    p = whelk_pipe(H("exit:0"), NULL);
    r = run_ok(p);
    pos = 0;
    ck_assert_ptr_null(whelk_result_next_record(r, &pos, &len));
    ck_assert_ptr_null(whelk_result_next_record(r, NULL, &len));
    ck_assert_ptr_null(whelk_result_next_record(NULL, &pos, &len));
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

/* ===================================================================== */
/* Shell stdin encoding                                                  */
/* ===================================================================== */

START_TEST(test_shell_stdin_encoding_follows_decode)
{
    /* Shell(encoding='latin-1').cat(input='café') gives 'café' back */
    whelk_shell *sh = whelk_shell_new();
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_ptr_nonnull(sh);
    whelk_shell_decode(sh, WHELK_STDOUT, "ISO-8859-1", WHELK_DECODE_STRICT);
    p = whelk_shell_pipe(sh, H("cat"), NULL);
    whelk_pipeline_stdin_bytes(p, "caf\xc3\xa9", 5);
    r = run_ok(p);
    ASSERT_STDOUT(r, "caf\xc3\xa9");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* the child read 4 latin-1 bytes, not 5 bytes of UTF-8 */
    p = whelk_shell_pipe(sh, H("count"), NULL);
    whelk_pipeline_stdin_bytes(p, "caf\xc3\xa9", 5);
    r = run_ok(p);
    ASSERT_STDOUT(r, "4\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* an explicit NULL: the bytes go as given */
    whelk_shell_stdin_encoding(sh, NULL);
    whelk_shell_decode(sh, WHELK_STDOUT, "ISO-8859-1", WHELK_DECODE_STRICT);
    p = whelk_shell_pipe(sh, H("count"), NULL);
    whelk_pipeline_stdin_bytes(p, "caf\xc3\xa9", 5);
    r = run_ok(p);
    ASSERT_STDOUT(r, "5\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* an explicit encoding of its own */
    whelk_shell_stdin_encoding(sh, "UTF-16LE");
    p = whelk_shell_pipe(sh, H("count"), NULL);
    whelk_pipeline_stdin_bytes(p, "caf\xc3\xa9", 5);
    r = run_ok(p);
    ASSERT_STDOUT(r, "8\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    whelk_shell_free(sh);

    /* decoding stderr only leaves stdin alone */
    sh = whelk_shell_new();
    whelk_shell_decode(sh, WHELK_STDERR, "ISO-8859-1", WHELK_DECODE_STRICT);
    p = whelk_shell_pipe(sh, H("count"), NULL);
    whelk_pipeline_stdin_bytes(p, "caf\xc3\xa9", 5);
    r = run_ok(p);
    ASSERT_STDOUT(r, "5\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    whelk_shell_free(sh);
}
END_TEST

/* ===================================================================== */
/* git hook hygiene                                                      */
/* ===================================================================== */

static const char *const git_vars[] = {
    "GIT_DIR",          "GIT_WORK_TREE",      "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",   "GIT_OBJECT_DIRECTORY", "GIT_PREFIX",
    "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
};
#define NGIT (sizeof git_vars / sizeof git_vars[0])

START_TEST(test_unset_git_env)
{
    whelk_cmd *c = H("env:GIT_AUTHOR_NAME");
    whelk_shell *sh = whelk_shell_new();
    whelk_pipeline *p;
    whelk_result *r;
    size_t i;
    char *want = xasprintf("hooked\n");

    /* what a git hook's environment looks like */
    for (i = 0; i < NGIT; i++) {
        char *a = xasprintf("env:%s", git_vars[i]);
        ck_assert_int_eq(setenv(git_vars[i], "/somewhere/else", 1), 0);
        whelk_cmd_arg(c, a);
        free(a);
    }
    ck_assert_int_eq(setenv("GIT_AUTHOR_NAME", "hooked", 1), 0);
    whelk_cmd_unset_git_env(c);
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    for (i = 0; i < NGIT; i++) {
        char *w = xasprintf("%s(unset)\n", want);
        free(want);
        want = w;
    }
    ASSERT_STDOUT(r, want); /* GIT_AUTHOR_NAME is kept */
    whelk_result_free(r);
    whelk_pipeline_free(p);

    ck_assert_ptr_nonnull(sh);
    whelk_shell_unset_git_env(sh);
    r = whelk_shell_sh(sh, NULL, HELPER, "env:GIT_DIR", "env:GIT_INDEX_FILE",
                       "env:GIT_AUTHOR_NAME", (const char *)NULL);
    ck_assert_ptr_nonnull(r);
    ASSERT_STDOUT(r, "(unset)\n(unset)\nhooked\n");
    whelk_result_free(r);
    whelk_shell_free(sh);
    free(want);
}
END_TEST

/* ===================================================================== */
/* Extra descriptors: whelk_cmd_fd                                       */
/* ===================================================================== */

/* Everything readable from fd now (the writers are closed), malloc'd. */
static char *read_all(int fd)
{
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    ssize_t n;

    ck_assert_ptr_nonnull(buf);
    while ((n = read(fd, buf + len, cap - len - 1)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        ck_assert_int_ge(n, 0);
        len += (size_t)n;
        if (len + 1 == cap)
            ck_assert_ptr_nonnull(buf = realloc(buf, cap *= 2));
    }
    buf[len] = '\0';
    return buf;
}

START_TEST(test_fd_write_and_read)
{
    int out[2], in[2], before = count_open_fds();
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_result *r;
    char *got;

    ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
    ck_assert_int_eq(write(in[1], "from the host", 13), 13);
    close(in[1]);
    /* a status pipe on 3 (gpg --status-fd 3), data to read on 5 */
    c = H("writefd:3:status\\n", "readfd:5", "fds");
    whelk_cmd_fd(c, 3, out[1]);
    whelk_cmd_fd(c, 5, in[0]);
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "from the host0 1 2 3 5\n");
    whelk_result_free(r);
    /* the caller keeps its descriptors, and nothing else is left open */
    ck_assert(fd_is_open(out[1]) && fd_is_open(in[0]));
    close(out[1]);
    close(in[0]);
    got = read_all(out[0]);
    ck_assert_str_eq(got, "status\n");
    free(got);
    close(out[0]);
    ck_assert_int_eq(count_open_fds(), before);
    whelk_pipeline_free(p);
}
END_TEST

/* Makes a pipe whose write end is exactly want (which must be free or is
 * saved in *saved); its read end, moved above 200, is returned. */
static int pipe_at(int want, int *saved)
{
    int fds[2], rd, wr;

    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    rd = fcntl(fds[0], F_DUPFD_CLOEXEC, 200);
    wr = fcntl(fds[1], F_DUPFD_CLOEXEC, 200);
    close(fds[0]);
    close(fds[1]);
    ck_assert(rd >= 200 && wr >= 200);
    *saved = fd_is_open(want) ? fcntl(want, F_DUPFD_CLOEXEC, 300) : -1;
    ck_assert_int_eq(dup3(wr, want, O_CLOEXEC), want);
    close(wr);
    return rd;
}

static void restore_fd(int fd, int saved)
{
    if (saved >= 0) {
        ck_assert_int_eq(dup3(saved, fd, O_CLOEXEC), fd);
        close(saved);
    } else {
        close(fd);
    }
}

START_TEST(test_fd_crossed)
{
    /* host 40 as child 41 and host 41 as child 40, at once (the shape of
     * 3 -> 4 and 4 -> 3; Check itself talks on the test's fd 3) */
    int s40, s41, r40 = pipe_at(40, &s40), r41 = pipe_at(41, &s41);
    whelk_cmd *c = H("writefd:40:to-child-40", "writefd:41:to-child-41",
                     "fds");
    whelk_pipeline *p;
    whelk_result *r;
    char *a, *b;

    whelk_cmd_fd(c, 41, 40);
    whelk_cmd_fd(c, 40, 41);
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "0 1 2 40 41\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    restore_fd(40, s40);
    restore_fd(41, s41);
    a = read_all(r40);
    b = read_all(r41);
    ck_assert_str_eq(a, "to-child-41"); /* host 40 was the child's 41 */
    ck_assert_str_eq(b, "to-child-40");
    free(a);
    free(b);
    close(r40);
    close(r41);
}
END_TEST

START_TEST(test_fd_several_stages_and_gaps)
{
    int pp[2], before = count_open_fds();
    whelk_cmd *a = H("fds"), *b = H("cat", "fds");
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_int_eq(pipe2(pp, O_CLOEXEC), 0);
    /* gaps below, between and above: only these are seen */
    whelk_cmd_fd(a, 12, pp[0]);
    whelk_cmd_fd(a, 3, pp[1]);
    whelk_cmd_fd(a, 7, pp[1]);
    whelk_cmd_fd(a, 7, pp[0]); /* a later call for 7 wins */
    p = whelk_pipe(a, b, NULL);
    r = run_ok(p);
    /* stage 1 gets no extra descriptor */
    ASSERT_STDOUT(r, "0 1 2 3 7 12\n0 1 2\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    close(pp[0]);
    close(pp[1]);
    ck_assert_int_eq(count_open_fds(), before);
}
END_TEST

START_TEST(test_fd_host_std_source)
{
    /* a source among 0-2 of the host: the host's stdin as the child's 3 */
    int in[2], saved = fcntl(0, F_DUPFD_CLOEXEC, 100);
    whelk_cmd *c = H("readfd:3");
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_int_ge(saved, 0);
    ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
    ck_assert_int_eq(write(in[1], "stdin of the host", 17), 17);
    close(in[1]);
    ck_assert_int_eq(dup2(in[0], 0), 0);
    close(in[0]);
    whelk_cmd_fd(c, 3, 0);
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "stdin of the host");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    ck_assert_int_eq(dup2(saved, 0), 0);
    close(saved);
}
END_TEST

START_TEST(test_fd_invalid)
{
    char *dir = make_tmpdir(), *marker = path_join(dir, "ran"), *touch;
    whelk_pipeline *p;
    whelk_error *err;
    whelk_cmd *c;
    int closed = 900;

    ck_assert(!fd_is_open(closed));
    touch = xasprintf("touch:%s", marker);
    c = helper_cmd(touch, (const char *)NULL);
    whelk_cmd_fd(c, 2, 1);
    p = whelk_pipe(c, NULL);
    err = run_fail(p, WHELK_E_INVALID);
    ck_assert_int_eq(whelk_error_errno(err), EINVAL);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    c = helper_cmd(touch, (const char *)NULL);
    whelk_cmd_fd(c, 3, -1);
    p = whelk_pipe(c, NULL);
    err = run_fail(p, WHELK_E_INVALID);
    ck_assert_int_eq(whelk_error_errno(err), EBADF);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    /* not open when the run starts: before anything runs, even stage 0 */
    c = helper_cmd(touch, (const char *)NULL);
    p = whelk_pipe(H("exit:0"), c, NULL);
    whelk_cmd_fd(c, 4, closed);
    err = run_fail(p, WHELK_E_INVALID);
    ck_assert_int_eq(whelk_error_errno(err), EBADF);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_msg(contains(whelk_error_message(err), "900"), "%s",
                  whelk_error_message(err));
    ck_assert_int_eq(count_children(), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ck_assert(!path_exists(marker));

    /* a target the limit of open files does not allow */
    c = helper_cmd(touch, (const char *)NULL);
    whelk_cmd_fd(c, 1 << 30, 1);
    p = whelk_pipe(c, NULL);
    err = run_fail(p, WHELK_E_INVALID);
    ck_assert_int_eq(whelk_error_errno(err), EINVAL);
    ck_assert_msg(contains(whelk_error_message(err), "RLIMIT_NOFILE"), "%s",
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ck_assert(!path_exists(marker));
    free(touch);
    free(marker);
    rm_rf(dir);
    free(dir);
}
END_TEST

/* ===================================================================== */
/* Limits, umask, nice                                                   */
/* ===================================================================== */

START_TEST(test_rlimit)
{
    whelk_cmd *c = H("rlimit:NOFILE", "rlimit:CORE", "fds");
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err;
    char *open_max;
    long nr_open;

    whelk_cmd_rlimit(c, RLIMIT_NOFILE, 64, 128);
    whelk_cmd_rlimit(c, RLIMIT_CORE, 1, 1);
    whelk_cmd_rlimit(c, RLIMIT_CORE, 0, 0); /* a later call wins */
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "64 128\n0 0\n0 1 2\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* bad arguments */
    c = H("exit:0");
    whelk_cmd_rlimit(c, 9999, 1, 1);
    p = whelk_pipe(c, NULL);
    whelk_error_free(run_fail(p, WHELK_E_INVALID));
    whelk_pipeline_free(p);
    c = H("exit:0");
    whelk_cmd_rlimit(c, RLIMIT_CORE, 2, 1);
    p = whelk_pipe(c, NULL);
    whelk_error_free(run_fail(p, WHELK_E_INVALID));
    whelk_pipeline_free(p);

    /* above fs.nr_open even root cannot go: the child's step fails */
    open_max = slurp("/proc/sys/fs/nr_open", NULL);
    ck_assert_ptr_nonnull(open_max);
    nr_open = atol(open_max);
    free(open_max);
    c = H("exit:0");
    whelk_cmd_rlimit(c, RLIMIT_NOFILE, (unsigned long long)nr_open + 1,
                     (unsigned long long)nr_open + 1);
    p = whelk_pipe(c, NULL);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_int_eq(whelk_error_errno(err), EPERM);
    ck_assert_msg(contains(whelk_error_message(err), "resource limit"), "%s",
                  whelk_error_message(err));
    ck_assert_int_eq(count_children(), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_umask)
{
    char *dir = make_tmpdir(), *file = path_join(dir, "f"), *touch;
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_result *r;
    struct stat st;
    mode_t old = umask(022);

    touch = xasprintf("touch:%s", file);
    c = helper_cmd("umask", touch, (const char *)NULL);
    whelk_cmd_umask(c, 027);
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "027\n");
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* without it, the host's */
    p = whelk_pipe(H("umask"), NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "022\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    c = H("umask");
    whelk_cmd_umask(c, 01000);
    p = whelk_pipe(c, NULL);
    whelk_error_free(run_fail(p, WHELK_E_INVALID));
    whelk_pipeline_free(p);
    umask(old);
    free(touch);
    free(file);
    rm_rf(dir);
    free(dir);
}
END_TEST

static int clamp_nice(int v)
{
    return v < -20 ? -20 : v > 19 ? 19 : v;
}

static void check_nice(int inc, int want)
{
    whelk_cmd *c = H("nice");
    whelk_pipeline *p;
    whelk_result *r;
    char *s = xasprintf("%d\n", want);

    whelk_cmd_nice(c, inc);
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, s);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(s);
}

START_TEST(test_nice)
{
    int cur;

    errno = 0;
    cur = getpriority(PRIO_PROCESS, 0);
    ck_assert_int_eq(errno, 0);
    check_nice(3, clamp_nice(cur + 3));
    check_nice(100, 19);
    check_nice(0, cur);
}
END_TEST

/* Root: a test that needs it fails, never passes, without it. */
#define NEED_ROOT()                                                            \
    ck_assert_msg(geteuid() == 0, "this test needs root (CI runs as root)")

START_TEST(test_nice_negative_root)
{
    int cur;

    NEED_ROOT();
    errno = 0;
    cur = getpriority(PRIO_PROCESS, 0);
    ck_assert_int_eq(errno, 0);
    check_nice(-4, clamp_nice(cur - 4));
}
END_TEST

/* ===================================================================== */
/* Identity: whelk_cmd_user                                              */
/* ===================================================================== */

/* Identity tests run a copy of the helper in a new directory under /tmp
 * (mode 0777): the build tree may sit where the dropped user cannot go (a
 * checkout under /root).  The copy's path, malloc'd. */
static char *helper_copy(const char *dir)
{
    char *to = path_join(dir, "whelk-helper"), *data;
    size_t len;

    ck_assert_ptr_nonnull(data = slurp(HELPER, &len));
    ck_assert_int_eq(write_file(to, data, len, 0755), 0);
    free(data);
    return to;
}

START_TEST(test_user_drop_root)
{
    char *dir, *file, *touch, *sub, *helper;
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err;
    struct stat st;

    NEED_ROOT();
    dir = make_tmpdir_in("/tmp");
    ck_assert_int_eq(chmod(dir, 0777), 0);
    helper = helper_copy(dir);
    file = path_join(dir, "made");
    touch = xasprintf("touch:%s", file);
    c = whelk_cmd_new(helper, "ids", touch, NULL);
    whelk_cmd_user(c, 65534, 65533);
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    /* one group only: root's supplementary groups are gone */
    ASSERT_STDOUT(r, "65534 65533 65533\n");
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_eq(st.st_uid, 65534);
    ck_assert_int_eq(st.st_gid, 65533);
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* the working directory is entered as that user */
    sub = path_join(dir, "private");
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    c = whelk_cmd_new(helper, "pwd", NULL);
    whelk_cmd_user(c, 65534, 65534);
    whelk_cmd_chdir(c, sub);
    p = whelk_pipe(c, NULL);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_int_eq(whelk_error_errno(err), EACCES);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(sub);
    free(touch);
    free(file);
    free(helper);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(test_user_not_root_eperm)
{
    /* a host that is not root: a child process of the test drops to
     * nobody, then asks for root; the answer is an error value */
    pid_t pid;
    int st;

    NEED_ROOT();
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        whelk_cmd *c;
        whelk_pipeline *p;
        whelk_error *err = NULL;
        whelk_result *r;
        int ok;

        if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
            _exit(2);
        c = whelk_cmd_new("/bin/true", NULL);
        whelk_cmd_user(c, 0, 0);
        p = whelk_pipe(c, NULL);
        r = whelk_run(p, &err);
        ok = !r && whelk_error_kind(err) == WHELK_E_EXEC &&
             whelk_error_errno(err) == EPERM &&
             contains(whelk_error_message(err), "setgroups");
        if (!ok)
            fprintf(stderr, "got %s\n", err_desc(err));
        whelk_error_free(err);
        whelk_result_free(r);
        whelk_pipeline_free(p);
        _exit(ok ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
}
END_TEST

START_TEST(test_setup_is_copied_by_dup)
{
    int pp[2];
    whelk_cmd *a = H("umask", "fds"), *b;
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_int_eq(pipe2(pp, O_CLOEXEC), 0);
    whelk_cmd_umask(a, 077);
    whelk_cmd_fd(a, 6, pp[1]);
    b = whelk_cmd_dup(a);
    whelk_cmd_free(a);
    p = whelk_pipe(b, NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "077\n0 1 2 6\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    close(pp[0]);
    close(pp[1]);
}
END_TEST

/* ===================================================================== */
/* die_with_host                                                         */
/* ===================================================================== */

/* Forks a host that starts `helper sleep:20000` (die_with_host on or off),
 * tells the test the stage's pid, and dies (by exit or by SIGKILL).  The
 * test is a subreaper, so the orphaned stage becomes its child: its
 * status says whether the kernel killed it. */
static char *drop_helper; /* set: the stage is this helper, as nobody */

static int stage_status_after_host_death(int dwh, int by_kill, int *alive)
{
    int pp[2], st;
    pid_t host, stage = -1;

    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    ck_assert_int_eq(pipe(pp), 0);
    host = fork();
    ck_assert_int_ge(host, 0);
    if (host == 0) {
        whelk_pipeline *p = whelk_pipe(
            drop_helper ? whelk_cmd_new(drop_helper, "sleep:20000", NULL)
                        : H("sleep:20000"),
            NULL);
        whelk_proc *pr;

        if (drop_helper)
            whelk_cmd_user(whelk_pipeline_cmd(p, 0), 65534, 65534);

        close(pp[0]);
        whelk_pipeline_die_with_host(p, dwh);
        whelk_pipeline_stdout(p, WHELK_NULL);
        whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_NULL);
        pr = whelk_start(p, NULL);
        if (!pr)
            _exit(3);
        stage = whelk_proc_pid(pr, 0);
        if (write(pp[1], &stage, sizeof stage) != sizeof stage)
            _exit(4);
        if (by_kill)
            kill(getpid(), SIGKILL);
        _exit(0);
    }
    close(pp[1]);
    ck_assert_int_eq(read(pp[0], &stage, sizeof stage), sizeof stage);
    close(pp[0]);
    ck_assert_int_eq(waitpid(host, &st, 0), host);
    ck_assert(by_kill ? WIFSIGNALED(st) : WIFEXITED(st) && !WEXITSTATUS(st));
    *alive = 0;
    if (!dwh) {
        /* the stage outlives its host: still running, then ours to end */
        *alive = waitpid(stage, &st, WNOHANG) == 0;
        kill(stage, SIGKILL);
    }
    ck_assert_int_eq(waitpid(stage, &st, 0), stage);
    return st;
}

START_TEST(test_die_with_host_exit)
{
    int alive, st = stage_status_after_host_death(1, 0, &alive);

    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %#x",
                  st);
}
END_TEST

START_TEST(test_die_with_host_killed)
{
    int alive, st = stage_status_after_host_death(1, 1, &alive);

    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %#x",
                  st);
}
END_TEST

START_TEST(test_die_with_host_off_by_default)
{
    int alive;

    (void)stage_status_after_host_death(0, 0, &alive);
    ck_assert_msg(alive, "a stage without die_with_host died with its host");
}
END_TEST

typedef struct thread_run {
    whelk_pipeline *p;
    whelk_proc *pr;
    pid_t tid;
} thread_run;

static void *start_in_thread(void *arg)
{
    thread_run *t = arg;

    t->tid = (pid_t)syscall(SYS_gettid);
    t->pr = whelk_start(t->p, NULL);
    return NULL;
}

START_TEST(test_die_with_host_thread_exit)
{
    /* a run started by a thread that then exits: the host lives, so its
     * stage must live too */
    int in[2];
    thread_run t = {NULL, NULL, 0};
    pthread_t th;
    whelk_result *r;
    char task[64];

    ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
    t.p = whelk_pipe(H("cat"), NULL);
    whelk_pipeline_stdin_fd(t.p, in[0]);
    whelk_pipeline_die_with_host(t.p, 1);
    ck_assert_int_eq(pthread_create(&th, NULL, start_in_thread, &t), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_ptr_nonnull(t.pr);
    close(in[0]);
    /* pthread_join returns before the kernel is done with the thread:
     * wait until its task is gone (the point where a parent-death signal
     * would have been sent) */
    snprintf(task, sizeof task, "/proc/self/task/%d", (int)t.tid);
    while (path_exists(task))
        sched_yield();
    signal(SIGPIPE, SIG_IGN); /* a dead stage: EPIPE, said below */
    ck_assert_msg(write(in[1], "still here\n", 11) == 11,
                  "the stage died with the thread that started it");
    close(in[1]);
    r = whelk_proc_wait(t.pr, NULL);
    ck_assert_msg(r != NULL, "the stage died with the thread");
    ASSERT_STDOUT(r, "still here\n");
    whelk_result_free(r);
    whelk_pipeline_free(t.p);
}
END_TEST

typedef struct many_run {
    whelk_pipeline *p[3];
    size_t failed;
} many_run;

static void *many_in_thread(void *arg)
{
    many_run *m = arg;
    whelk_result *res[3];
    whelk_error *errs[3];
    size_t i;

    m->failed = whelk_run_many(m->p, 3, 3, res, errs);
    for (i = 0; i < 3; i++) {
        whelk_result_free(res[i]);
        whelk_error_free(errs[i]);
    }
    return NULL;
}

START_TEST(test_die_with_host_run_many_thread)
{
    many_run m;
    pthread_t th;
    size_t i;

    for (i = 0; i < 3; i++) {
        m.p[i] = whelk_pipe(H("out:x"), H("cat"), NULL);
        whelk_pipeline_die_with_host(m.p[i], 1);
    }
    ck_assert_int_eq(pthread_create(&th, NULL, many_in_thread, &m), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_uint_eq(m.failed, 0);
    for (i = 0; i < 3; i++)
        whelk_pipeline_free(m.p[i]);
    ck_assert_int_eq(count_children(), 0);
}
END_TEST

START_TEST(test_die_with_host_orphan_check)
{
    /* The race: the host dies between clone and prctl.  The child then
     * has another parent already; it must see so and not run.  Here the
     * parent it expects is not its parent, which is what it would see. */
    char *dir = make_tmpdir(), *marker = path_join(dir, "ran");
    char *touch = xasprintf("touch:%s", marker);
    char *argv[] = {HELPER, touch, NULL};
    int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    int hi = fcntl(nul, F_DUPFD_CLOEXEC, 3);
    int fds[3] = {hi, hi, hi};
    whelk_child_setup cs;
    whelk_spawn_req req;
    int step = 0, pidfd = -1, rc;
    pid_t pid = -1;

    memset(&cs, 0, sizeof cs);
    cs.die_with_host = 1;
    cs.host_pid = getppid(); /* not the parent the child will have */
    memset(&req, 0, sizeof req);
    req.path = HELPER;
    req.argv = argv;
    req.fds = fds;
    req.pgroup = -1;
    req.setup = &cs;
    req.step = &step;
    rc = whelk__spawn(&req, &pid, &pidfd);
    ck_assert_int_eq(rc, ESRCH);
    ck_assert_int_eq(step, STEP_ORPHAN);
    ck_assert(!path_exists(marker));
    ck_assert_int_eq(count_children(), 0);

    /* and with the right parent it runs */
    cs.host_pid = getpid();
    step = 0;
    rc = whelk__spawn(&req, &pid, &pidfd);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(waitpid(pid, &rc, 0), pid);
    ck_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    ck_assert(path_exists(marker));
    if (pidfd >= 0)
        close(pidfd);
    close(nul);
    close(hi);
    free(touch);
    free(marker);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(test_die_with_host_with_setup)
{
    /* the parent-death signal is asked for after setuid (which clears
     * it): a stage dropped to nobody still dies with its host */
    char *dir;
    int alive, st;

    NEED_ROOT();
    dir = make_tmpdir_in("/tmp");
    ck_assert_int_eq(chmod(dir, 0755), 0);
    drop_helper = helper_copy(dir);
    st = stage_status_after_host_death(1, 0, &alive);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %#x",
                  st);
    free(drop_helper);
    drop_helper = NULL;
    rm_rf(dir);
    free(dir);
}
END_TEST

/* ===================================================================== */

static Suite *setup_suite(void)
{
    Suite *s = suite_create("setup");
    TCase *tc;

    tc = tcase_create("argstr");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_argstr_splits_like_sh);
    tcase_add_test(tc, test_argstr_refused);
    tcase_add_test(tc, test_argstr_program_from_path);
    suite_add_tcase(s, tc);

    tc = tcase_create("dup");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_cmd_dup_is_independent);
    tcase_add_test(tc, test_cmd_dup_template);
    tcase_add_test(tc, test_cmd_dup_keeps_faults);
    tcase_add_test(tc, test_cmd_dup_filter);
    tcase_add_test(tc, test_pipeline_dup);
    suite_add_tcase(s, tc);

    tc = tcase_create("one-call");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_sh_ok_codes);
    tcase_add_test(tc, test_sh_unchecked);
    tcase_add_test(tc, test_shell_ok_codes);
    suite_add_tcase(s, tc);

    tc = tcase_create("text");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_stdout_line);
    tcase_add_test(tc, test_next_record);
    tcase_add_test(tc, test_shell_stdin_encoding_follows_decode);
    tcase_add_test(tc, test_unset_git_env);
    suite_add_tcase(s, tc);

    tc = tcase_create("fds");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_fd_write_and_read);
    tcase_add_test(tc, test_fd_crossed);
    tcase_add_test(tc, test_fd_several_stages_and_gaps);
    tcase_add_test(tc, test_fd_host_std_source);
    tcase_add_test(tc, test_fd_invalid);
    tcase_add_test(tc, test_setup_is_copied_by_dup);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits-ids");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_rlimit);
    tcase_add_test(tc, test_umask);
    tcase_add_test(tc, test_nice);
    tcase_add_test(tc, test_nice_negative_root);
    tcase_add_test(tc, test_user_drop_root);
    tcase_add_test(tc, test_user_not_root_eperm);
    suite_add_tcase(s, tc);

    tc = tcase_create("die-with-host");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_die_with_host_exit);
    tcase_add_test(tc, test_die_with_host_killed);
    tcase_add_test(tc, test_die_with_host_off_by_default);
    tcase_add_test(tc, test_die_with_host_thread_exit);
    tcase_add_test(tc, test_die_with_host_run_many_thread);
    tcase_add_test(tc, test_die_with_host_orphan_check);
    tcase_add_test(tc, test_die_with_host_with_setup);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(setup_suite());
}
