/*
 * setup/argstr.c -- the setup suite's "argstr" tests (run by tests/check_setup.c).
 */
#include "setup.h"

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

void setup_argstr(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "argstr", TEST_TIMEOUT, NULL, NULL);
    tcase_add_test(tc, test_argstr_splits_like_sh);
    tcase_add_test(tc, test_argstr_refused);
    tcase_add_test(tc, test_argstr_program_from_path);
}
