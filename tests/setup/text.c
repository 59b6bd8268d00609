/*
 * setup/text.c -- the setup suite's "text" tests (run by tests/check_setup.c).
 */
#include "setup.h"

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

void setup_text(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "text", TEST_TIMEOUT, NULL, NULL);
    tcase_add_test(tc, test_stdout_line);
    tcase_add_test(tc, test_next_record);
    tcase_add_test(tc, test_shell_stdin_encoding_follows_decode);
    tcase_add_test(tc, test_unset_git_env);
}
