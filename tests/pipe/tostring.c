/*
 * pipe/tostring.c -- the pipe suite's "tostring" tests (run by tests/check_pipe.c).
 */
#include "pipe.h"

#define ASSERT_TOSTRING(p, want)                                             \
    do {                                                                     \
        char *t_ = whelk_pipeline_tostring(p);                               \
        ck_assert_ptr_nonnull(t_);                                           \
        ck_assert_msg(strcmp(t_, want) == 0, "tostring\n  got  [%s]\n  want [%s]", \
                      t_, (const char *)(want));                             \
        free(t_);                                                            \
    } while (0)

START_TEST(test_tostring_issue_example)
{
    whelk_cmd *git = whelk_cmd_new("git", "log", "--oneline", NULL);
    whelk_cmd *head = whelk_cmd_new("head", "-n", "5", NULL);
    whelk_pipeline *p;

    whelk_cmd_chdir(git, "/repo");
    whelk_cmd_chdir(head, "/repo");
    whelk_cmd_setenv(git, "LC_ALL", "C");
    whelk_cmd_stderr(git, WHELK_NULL);
    p = whelk_pipe(git, head, NULL);
    whelk_pipeline_stdout_file(p, "out.txt", 0);
    ASSERT_TOSTRING(p, "cd /repo && LC_ALL=C git log --oneline 2>/dev/null "
                       "| head -n 5 > out.txt");
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_tostring_default_io)
{
    whelk_pipeline *p =
        whelk_pipe(whelk_cmd_new("getent", "group", NULL),
                   whelk_cmd_new("grep", ":1...:", NULL), NULL);

    ASSERT_TOSTRING(p, "getent group | grep :1...:");
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_tostring_input_bytes)
{
    whelk_pipeline *p = whelk_pipe(whelk_cmd_new("tr", "a-z", "A-Z", NULL),
                                   NULL);
    char *t, big[301];

    whelk_pipeline_stdin_bytes(p, "it's here", 9);
    ASSERT_TOSTRING(p, "printf '%s' 'it'\\''s here' | tr a-z A-Z");
    /* longer than 256 bytes: abbreviated, says how long */
    memset(big, 'a', 300);
    big[300] = '\0';
    whelk_pipeline_stdin_bytes(p, big, 300);
    t = whelk_pipeline_tostring(p);
    ck_assert_ptr_nonnull(t);
    ck_assert_msg(strncmp(t, "printf '%s' ", 12) == 0 && contains(t, "300") &&
                      !contains(t, big) &&
                      strcmp(t + strlen(t) - 13, " | tr a-z A-Z") == 0,
                  "tostring: %s", t);
    free(t);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_tostring_files_and_fds)
{
    whelk_cmd *sort = whelk_cmd_new("sort", NULL);
    whelk_cmd *uniq = whelk_cmd_new("uniq", "-c", NULL);
    whelk_pipeline *p;

    whelk_cmd_stderr_file(sort, "err.log", 1);
    whelk_cmd_stderr_file(uniq, "e 2", 0);
    p = whelk_pipe(sort, uniq, NULL);
    whelk_pipeline_stdin_file(p, "in put.txt");
    whelk_pipeline_stdout_file(p, "log file", 1);
    ASSERT_TOSTRING(p, "sort < 'in put.txt' 2>> err.log | uniq -c >> 'log "
                       "file' 2> 'e 2'");
    whelk_pipeline_free(p);

    sort = whelk_cmd_new("cat", NULL);
    uniq = whelk_cmd_new("wc", "-l", NULL);
    whelk_cmd_stderr_fd(sort, 7);
    whelk_cmd_stderr(uniq, WHELK_NULL);
    p = whelk_pipe(sort, uniq, NULL);
    whelk_pipeline_stdin_fd(p, 5);
    whelk_pipeline_stdout_fd(p, 6);
    ASSERT_TOSTRING(p, "cat <&5 2>&7 | wc -l >&6 2>/dev/null");
    whelk_pipeline_stdout(p, WHELK_NULL);
    ASSERT_TOSTRING(p, "cat <&5 2>&7 | wc -l >/dev/null 2>/dev/null");
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_tostring_merges)
{
    whelk_cmd *make = whelk_cmd_new("make", "-k", NULL);
    whelk_cmd *tee = whelk_cmd_new("tee", "build.log", NULL);
    whelk_pipeline *p;

    whelk_cmd_stderr(make, WHELK_TO_STDOUT);
    p = whelk_pipe(make, tee, NULL);
    whelk_pipeline_stdin_file(p, "/dev/null");
    whelk_pipeline_stdout(p, WHELK_TO_STDERR);
    ASSERT_TOSTRING(p, "make -k < /dev/null 2>&1 | tee build.log >&2");
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_tostring_env_and_cwd)
{
    whelk_cmd *a = whelk_cmd_new("ls", "-l", NULL);
    whelk_cmd *b = whelk_cmd_new("wc", "-l", NULL);
    whelk_cmd *c = whelk_cmd_new("env", NULL);
    whelk_pipeline *p;

    whelk_cmd_chdir(a, "/tmp/a b");
    whelk_cmd_setenv(b, "A", "x y");
    whelk_cmd_setenv(b, "B", NULL);
    whelk_cmd_clearenv(c);
    whelk_cmd_setenv(c, "PATH", "/bin");
    p = whelk_pipe(a, b, c, NULL);
    whelk_pipeline_stdin_bytes(p, "", 0);
    ASSERT_TOSTRING(p, "printf '%s' '' | (cd '/tmp/a b' && ls -l) | "
                       "env -u B A='x y' wc -l | env -i PATH=/bin env");
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_tostring_words)
{
    whelk_cmd *c = whelk_cmd_new("if", "", "a b", "it's", "$HOME", "*.c",
                                 "a=b", "~", "#x", "tab\there", "plain-1.0",
                                 NULL);
    whelk_pipeline *p = whelk_pipe(c, whelk_cmd_new("A=b", NULL), NULL);

    whelk_pipeline_stdin_bytes(p, "x", 1);
    ASSERT_TOSTRING(p, "printf '%s' x | 'if' '' 'a b' 'it'\\''s' '$HOME' "
                       "'*.c' a=b '~' '#x' 'tab\there' plain-1.0 | 'A=b'");
    whelk_pipeline_free(p);
}
END_TEST

/* --------------------------------------------------------- round trip */

/* Runs `sh -c text` through libwhelk and returns its result; stdin as
 * given (NULL: /dev/null). */
static whelk_result *run_sh(const char *text)
{
    whelk_pipeline *p = whelk_pipe(whelk_cmd_new("sh", "-c", text, NULL), NULL);

    return run_ok_free(p);
}

/* p and `sh -c <tostring of p>` print the same bytes. */
static void assert_round_trip(whelk_pipeline *p)
{
    char *text = whelk_pipeline_tostring(p);
    whelk_result *a, *b;
    size_t alen, blen;
    const char *as, *bs;

    ck_assert_ptr_nonnull(text);
    a = run_ok(p);
    b = run_sh(text);
    as = whelk_result_stdout(a, &alen);
    bs = whelk_result_stdout(b, &blen);
    ck_assert_msg(alen > 0, "the pipeline printed nothing");
    ck_assert_msg(alen == blen && memcmp(as, bs, alen) == 0,
                  "sh -c %s\n  printed [%s] (%zu bytes)\n  libwhelk [%s] (%zu "
                  "bytes)\n  sh stderr [%s]",
                  text, bs, blen, as, alen, whelk_result_stderr(b, NULL));
    whelk_result_free(a);
    whelk_result_free(b);
    free(text);
}

static const char *const odd_words[] = {
    "a b",         "it's",         "say \"hi\"", "$HOME",   "${x:-y}",
    "$(echo no)",  "`echo no`",    "*",          "[a]?",    "back\\slash",
    "\\",          "line1\nline2", "\xff\xfe",   "",        "~",
    "~root/x",     "#hash",        "a=b",        "-n",      "tab\there",
    "semi;colon",  "a&b|c",        "<in>",       "(x){y}",  "!bang",
    "'",           "''",           "\"",         "caf\xc3\xa9", "%s\n",
    NULL};

START_TEST(test_round_trip_words)
{
    char *dir = tmp_path("d i'r $x");
    whelk_cmd *first = H("cat", "err:hidden\\n");
    whelk_cmd *last = H("cat", "pwd", "env:WHELK_RT", "argv", "exit:0");
    whelk_pipeline *p;
    char input[257];
    size_t i;

    ck_assert_int_eq(mkdir(dir, 0755), 0);
    for (i = 0; odd_words[i]; i++)
        whelk_cmd_arg(last, odd_words[i]);
    whelk_cmd_setenv(last, "WHELK_RT", "v a'l \"$x\" *");
    whelk_cmd_stderr(first, WHELK_NULL);
    whelk_cmd_chdir(first, dir);
    whelk_cmd_chdir(last, dir);
    p = whelk_pipe(first, last, NULL);
    /* exactly 256 bytes of input still round-trip */
    for (i = 0; i < 256; i++)
        input[i] = "ab'\"$ \\\n*"[i % 9];
    input[256] = '\0';
    whelk_pipeline_stdin_bytes(p, input, 256);
    assert_round_trip(p);
    whelk_pipeline_free(p);
    free(dir);
}
END_TEST

START_TEST(test_round_trip_cwd_of_one_stage)
{
    char *dir = tmp_path("only 'one' stage");
    whelk_cmd *first = H("pwd", "env:WHELK_RT", "argv");
    whelk_pipeline *p;

    ck_assert_int_eq(mkdir(dir, 0755), 0);
    whelk_cmd_chdir(first, dir);
    whelk_cmd_setenv(first, "WHELK_RT", "in (a) sub shell");
    p = whelk_pipe(first, H("cat", "pwd"), NULL);
    assert_round_trip(p);
    whelk_pipeline_free(p);
    free(dir);
}
END_TEST

START_TEST(test_round_trip_redirections)
{
    char *out = tmp_path("o u t"), *err = tmp_path("e'rr");
    whelk_cmd *first = H("out:one\\n", "err:two\\n");
    whelk_cmd *last = H("cat", "err:three\\n");
    whelk_pipeline *p;
    whelk_result *r;
    char *a_out, *a_err;

    whelk_cmd_stderr(first, WHELK_TO_STDOUT);
    whelk_cmd_stderr_file(last, err, 1);
    p = whelk_pipe(first, last, NULL);
    whelk_pipeline_stdout_file(p, out, 0);
    r = run_ok(p);
    whelk_result_free(r);
    a_out = file_text(out, NULL);
    a_err = file_text(err, NULL);
    ck_assert_str_eq(a_out, "one\ntwo\n");
    ck_assert_str_eq(a_err, "three\n");
    unlink(out);
    unlink(err);
    {
        char *text = whelk_pipeline_tostring(p);
        ck_assert_ptr_nonnull(text);
        whelk_result_free(run_sh(text));
        free(text);
    }
    ASSERT_FILE(out, a_out);
    ASSERT_FILE(err, a_err);
    whelk_pipeline_free(p);
    free(a_out);
    free(a_err);
    free(out);
    free(err);
}
END_TEST

START_TEST(test_round_trip_env_unset_and_clear)
{
    whelk_cmd *c;
    whelk_pipeline *p;

    ck_assert_int_eq(setenv("WHELK_RT_FOO", "from host", 1), 0);
    ck_assert_int_eq(setenv("WHELK_RT_BAR", "from host", 1), 0);

    /* unset one, set another */
    c = H("env:WHELK_RT_FOO", "env:WHELK_RT_BAR", "env:PATH");
    whelk_cmd_setenv(c, "WHELK_RT_FOO", NULL);
    whelk_cmd_setenv(c, "WHELK_RT_BAR", "b a'r");
    p = whelk_pipe(c, NULL);
    {
        whelk_result *r = run_ok(p);
        char *want = xasprintf("(unset)\nb a'r\n%s\n", getenv("PATH"));
        ASSERT_STDOUT(r, want);
        free(want);
        whelk_result_free(r);
    }
    assert_round_trip(p);
    whelk_pipeline_free(p);

    /* clear everything, set one */
    c = H("env:WHELK_RT_FOO", "env:WHELK_RT_BAR", "env:PATH");
    whelk_cmd_clearenv(c);
    whelk_cmd_setenv(c, "WHELK_RT_BAR", "x=$y");
    p = whelk_pipe(H("out:in\\n"), c, NULL);
    {
        whelk_result *r = run_ok(p);
        ASSERT_STDOUT(r, "(unset)\nx=$y\n(unset)\n");
        whelk_result_free(r);
    }
    assert_round_trip(p);
    whelk_pipeline_free(p);

    /* clear, then unset: nothing to unset but nothing set either */
    c = H("env:WHELK_RT_FOO", "env:PATH");
    whelk_cmd_clearenv(c);
    whelk_cmd_setenv(c, "WHELK_RT_FOO", NULL);
    p = whelk_pipe(c, NULL);
    {
        whelk_result *r = run_ok(p);
        ASSERT_STDOUT(r, "(unset)\n(unset)\n");
        whelk_result_free(r);
    }
    assert_round_trip(p);
    whelk_pipeline_free(p);
}
END_TEST

void pipe_tostring(Suite *s)
{
    TCase *tc;

    tc = pipe_tcase(s, "tostring", 1);
    tcase_add_test(tc, test_tostring_issue_example);
    tcase_add_test(tc, test_tostring_default_io);
    tcase_add_test(tc, test_tostring_input_bytes);
    tcase_add_test(tc, test_tostring_files_and_fds);
    tcase_add_test(tc, test_tostring_merges);
    tcase_add_test(tc, test_tostring_env_and_cwd);
    tcase_add_test(tc, test_tostring_words);
    tcase_add_test(tc, test_round_trip_words);
    tcase_add_test(tc, test_round_trip_cwd_of_one_stage);
    tcase_add_test(tc, test_round_trip_redirections);
    tcase_add_test(tc, test_round_trip_env_unset_and_clear);
}
