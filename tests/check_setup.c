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
#include <check.h>
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

#define ASSERT_STDOUT(r, want)                                                 \
    do {                                                                       \
        size_t l_;                                                             \
        const char *s_ = whelk_result_stdout((r), &l_);                        \
        const char *w_ = (want);                                               \
        ck_assert_msg(l_ == strlen(w_) && memcmp(s_, w_, l_) == 0,             \
                      "stdout \"%s\", expected \"%s\"", s_, w_);               \
    } while (0)

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
    return s;
}

int main(void)
{
    return run_suite(setup_suite());
}
