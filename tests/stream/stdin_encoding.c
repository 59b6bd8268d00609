/*
 * stream/stdin_encoding.c -- the stream suite's "stdin encoding" tests (run by tests/check_stream.c).
 */
#include "stream.h"

START_TEST(test_stdin_encoding_latin1)
{
    whelk_pipeline *p = helper_pipe("cat", (const char *)NULL);
    static const char text[] = "caf\xC3\xA9 \xC3\xBF\n";
    whelk_result *r;

    whelk_pipeline_stdin_bytes(p, text, strlen(text));
    whelk_pipeline_stdin_encoding(p, "ISO-8859-1");
    r = run_ok(p);
    ASSERT_STDOUT(r, "caf\xE9 \xFF\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stdin_encoding_utf16le)
{
    whelk_pipeline *p = helper_pipe("cat", (const char *)NULL);
    static const char text[] = "h\xE2\x82\xAC";
    whelk_result *r;
    size_t len;
    const char *out;

    whelk_pipeline_stdin_bytes(p, text, strlen(text));
    whelk_pipeline_stdin_encoding(p, "UTF-16LE");
    r = run_ok(p);
    out = whelk_result_stdout(r, &len);
    ck_assert_uint_eq(len, 4);
    ck_assert(memcmp(out, "h\0\xAC\x20", 4) == 0);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stdin_unencodable)
{
    char *marker = path_join(tmpdir, "ran");
    char *touch = xasprintf("touch:%s", marker);
    static const struct {
        const char *text;
        long long offset;
    } cases[] = {
        {"ab\xE2\x82\xAC", 2}, /* U+20AC has no ISO-8859-1 byte */
        {"abc\xFF", 3},        /* not UTF-8 at all */
    };
    size_t k;

    for (k = 0; k < 2; k++) {
        whelk_pipeline *p = helper_pipe(touch, "cat", (const char *)NULL);
        whelk_error *err;

        whelk_pipeline_stdin_bytes(p, cases[k].text, strlen(cases[k].text));
        whelk_pipeline_stdin_encoding(p, "ISO-8859-1");
        err = run_fail(p, WHELK_E_DECODE);
        ck_assert_msg(offset_in(whelk_error_message(err)) == cases[k].offset,
                      "offset %lld not in \"%s\"", cases[k].offset,
                      whelk_error_message(err));
        ck_assert_msg(!path_exists(marker), "the helper ran");
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }
    ASSERT_NO_CHILDREN();
    free(touch);
    free(marker);
}
END_TEST

void stream_stdin_encoding(Suite *s)
{
    TCase *tc;

    tc = stream_tcase(s, "stdin-encoding", TEST_TIMEOUT, 1);
    tcase_add_test(tc, test_stdin_encoding_latin1);
    tcase_add_test(tc, test_stdin_encoding_utf16le);
    tcase_add_test(tc, test_stdin_unencodable);
}
