/*
 * core/big.c -- the core suite's "big streams" tests (run by tests/check_core.c).
 */
#include "core.h"

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

void core_big(Suite *s)
{
    TCase *tc;

    tc = core_tcase(s, "big", 0);
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
}
