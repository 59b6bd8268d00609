/*
 * stream/volume.c -- the stream suite's "Volume" tests (run by tests/check_stream.c).
 */
#include "stream.h"

typedef struct counter {
    long n;
    int bad;   /* a line was not "line <n>" */
    int flags; /* flags seen, or-ed */
} counter;

static int count_line(const whelk_line *l, void *ud)
{
    counter *c = ud;
    char want[32];
    int k;

    c->n++;
    c->flags |= (int)l->flags;
    k = snprintf(want, sizeof want, "line %ld", c->n);
    if (l->stage != 0 || l->stream != WHELK_STDOUT || l->len != (size_t)k ||
        memcmp(l->text, want, (size_t)k) != 0 || l->text[l->len] != '\0')
        c->bad = 1;
    return 0;
}

START_TEST(test_two_million_lines_streamed)
{
    whelk_pipeline *p = helper_pipe("lines:2000000", (const char *)NULL);
    counter c = {0, 0, 0};
    whelk_result *r;
    size_t len;

    whelk_pipeline_stdout(p, WHELK_STREAM);
    whelk_pipeline_on_line(p, WHELK_STDOUT, count_line, &c);
    r = run_ok(p);
    ck_assert_int_eq(c.n, 2000000);
    ck_assert_msg(!c.bad, "a line out of sequence");
    ck_assert_int_eq(c.flags, 0);
    ck_assert_str_eq(whelk_result_stdout(r, &len), "");
    ck_assert_uint_eq(len, 0);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_two_million_lines_captured)
{
    whelk_pipeline *p = helper_pipe("lines:2000000", (const char *)NULL);
    counter c = {0, 0, 0};
    whelk_result *r;
    size_t len, want_len;
    const char *out;
    char *want = lines_text(2000000, &want_len);

    ck_assert_ptr_nonnull(want);
    whelk_pipeline_on_line(p, WHELK_STDOUT, count_line, &c);
    r = run_ok(p);
    ck_assert_int_eq(c.n, 2000000);
    ck_assert_msg(!c.bad, "a line out of sequence");
    out = whelk_result_stdout(r, &len);
    ck_assert_uint_eq(len, want_len);
    ck_assert_msg(memcmp(out, want, len) == 0, "captured bytes differ");
    free(want);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

void stream_volume(Suite *s)
{
    TCase *tc;

    tc = stream_tcase(s, "volume", 2 * TEST_TIMEOUT, 0);
    tcase_add_test(tc, test_two_million_lines_streamed);
    tcase_add_test(tc, test_two_million_lines_captured);
}
