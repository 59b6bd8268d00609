/*
 * pipe/data.c -- the pipe suite's "data and sizes" tests (run by tests/check_pipe.c).
 */
#include "pipe.h"

START_TEST(test_three_stages_lines)
{
    whelk_pipeline *p = whelk_pipe(H("lines:1000"), H("cat"), H("cat"), NULL);
    whelk_result *r = run_ok_free(p);
    size_t wlen, len;
    char *want = lines_text(1000, &wlen);
    const char *out = whelk_result_stdout(r, &len);
    size_t i;

    ck_assert_uint_eq(whelk_result_ncmds(r), 3);
    for (i = 0; i < 3; i++)
        ASSERT_STATUS(r, i, 0, 0);
    ASSERT_BYTES(out, len, want, wlen);
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    free(want);
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_three_stages_count)
{
    size_t wlen;
    char *want = lines_text(5000, &wlen);
    char *num = xasprintf("%zu\n", wlen);
    whelk_result *r =
        run_ok_free(whelk_pipe(H("lines:5000"), H("cat"), H("count"), NULL));

    ASSERT_STDOUT(r, num);
    whelk_result_free(r);
    free(want);
    free(num);
}
END_TEST

START_TEST(test_three_stages_binary_stdin)
{
    size_t n = 300000, len;
    unsigned char *data = random_bytes(n, 7);
    whelk_pipeline *p = cats(3);
    whelk_result *r;
    const char *out;

    whelk_pipeline_stdin_bytes(p, data, n);
    r = run_ok_free(p);
    out = whelk_result_stdout(r, &len);
    ASSERT_BYTES(out, len, data, n);
    whelk_result_free(r);
    free(data);
}
END_TEST

START_TEST(test_8mib_count)
{
    whelk_result *r = run_ok_free(
        whelk_pipe(H("outn:8388608"), H("cat"), H("count"), NULL));

    ASSERT_STDOUT(r, "8388608\n");
    ASSERT_STATUS(r, 0, 0, 0);
    ASSERT_STATUS(r, 1, 0, 0);
    ASSERT_STATUS(r, 2, 0, 0);
    whelk_result_free(r);
}
END_TEST

START_TEST(test_8mib_byte_exact)
{
    whelk_result *r =
        run_ok_free(whelk_pipe(H("outn:8388608"), H("cat"), H("cat"), NULL));
    size_t len;
    const char *out = whelk_result_stdout(r, &len);

    ck_assert_uint_eq(len, 8 * MiB);
    ck_assert_msg(is_pattern(out, len), "8 MiB arrived altered");
    ck_assert(out[len] == '\0');
    whelk_result_free(r);
}
END_TEST

START_TEST(test_8mib_stdin_through_three)
{
    size_t n = 8 * MiB, len;
    unsigned char *data = random_bytes(n, 42);
    whelk_pipeline *p = cats(3);
    whelk_result *r;
    const char *out;

    whelk_pipeline_stdin_bytes(p, data, n);
    r = run_ok_free(p);
    out = whelk_result_stdout(r, &len);
    ASSERT_BYTES(out, len, data, n);
    whelk_result_free(r);
    free(data);
}
END_TEST

/* n stages of cat carry 1 MiB byte-exact, and leave nothing behind. */
static void many_stages(size_t n)
{
    size_t len, i, size = MiB + 17;
    unsigned char *data = random_bytes(size, (unsigned)n);
    int before = count_open_fds();
    whelk_pipeline *p = cats(n);
    whelk_result *r;
    const char *out;

    whelk_pipeline_stdin_bytes(p, data, size);
    r = run_ok_free(p);
    ck_assert_uint_eq(whelk_result_ncmds(r), n);
    for (i = 0; i < n; i++)
        ASSERT_STATUS(r, i, 0, 0);
    out = whelk_result_stdout(r, &len);
    ASSERT_BYTES(out, len, data, size);
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    free(data);
    ASSERT_FDS(before);
    ASSERT_NO_CHILDREN();
}

START_TEST(test_40_stages)
{
    many_stages(40);
}
END_TEST

START_TEST(test_60_stages)
{
    many_stages(60);
}
END_TEST

/* Bytes the host was given, per stage and stream, by the chunk callback. */
typedef struct seen {
    size_t out[3], err[3];
} seen;

static int count_chunk(const whelk_chunk *c, void *ud)
{
    seen *s = ud;

    ck_assert_uint_lt(c->stage, 3);
    if (c->stream == WHELK_STDOUT)
        s->out[c->stage] += c->len;
    else
        s->err[c->stage] += c->len;
    return 0;
}

START_TEST(test_data_bypasses_host)
{
    seen s;
    whelk_pipeline *p =
        whelk_pipe(H("outn:8388608"), H("cat"), H("count"), NULL);
    whelk_result *r;
    size_t len;

    /* captured: the host reads only what the last stage prints */
    memset(&s, 0, sizeof s);
    whelk_pipeline_on_chunk(p, WHELK_STDOUT | WHELK_STDERR, count_chunk, &s);
    r = run_ok(p);
    ASSERT_STDOUT(r, "8388608\n");
    ck_assert_uint_eq(s.out[0], 0);
    ck_assert_uint_eq(s.out[1], 0);
    ck_assert_uint_eq(s.out[2], 8);
    ck_assert_uint_eq(s.err[0] + s.err[1] + s.err[2], 0);
    whelk_result_free(r);

    /* to /dev/null: the host reads no stdout at all */
    memset(&s, 0, sizeof s);
    whelk_pipeline_stdout(p, WHELK_NULL);
    r = run_ok(p);
    ck_assert_str_eq(whelk_result_stdout(r, &len), "");
    ck_assert_uint_eq(len, 0);
    ck_assert_uint_eq(s.out[0] + s.out[1] + s.out[2], 0);
    ASSERT_STATUS(r, 0, 0, 0);
    ASSERT_STATUS(r, 1, 0, 0);
    ASSERT_STATUS(r, 2, 0, 0);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

void pipe_data(Suite *s)
{
    TCase *tc;

    tc = pipe_tcase(s, "data", 0);
    tcase_add_test(tc, test_three_stages_lines);
    tcase_add_test(tc, test_three_stages_count);
    tcase_add_test(tc, test_three_stages_binary_stdin);
    tcase_add_test(tc, test_8mib_count);
    tcase_add_test(tc, test_8mib_byte_exact);
    tcase_add_test(tc, test_8mib_stdin_through_three);
    tcase_add_test(tc, test_40_stages);
    tcase_add_test(tc, test_60_stages);
    tcase_add_test(tc, test_data_bypasses_host);
}
