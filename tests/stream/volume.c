/*
 * stream/volume.c -- the stream suite's "Volume" tests (run by tests/check_stream.c).
 */
#include "stream.h"

#include <malloc.h>
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN_FEATURE 1
#endif
#endif
#ifndef HAVE_ASAN_FEATURE
#define HAVE_ASAN_FEATURE 0
#endif
#if defined(__SANITIZE_ADDRESS__) || HAVE_ASAN_FEATURE
/* the sanitizer's allocator (sanitizer/allocator_interface.h, which gcc
 * 12 does not ship) */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

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

/* Bytes this process has allocated and not freed. */
static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__) || HAVE_ASAN_FEATURE
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#endif
}

/* Keep N results of ARG's output (stdout and stderr captured) and return
 * the heap they hold, per result. */
static size_t held_per_result(const char *arg, size_t n, size_t out_len)
{
    whelk_pipeline *p = helper_pipe(arg, (const char *)NULL);
    whelk_result **rs = calloc(n, sizeof *rs);
    size_t i, before, after, len;

    ck_assert_ptr_nonnull(rs);
    whelk_result_free(run_ok(p)); /* the first run's one-off allocations */
    before = heap_in_use();
    for (i = 0; i < n; i++) {
        rs[i] = run_ok(p);
        whelk_result_stdout(rs[i], &len);
        ck_assert_uint_eq(len, out_len);
    }
    after = heap_in_use();
    for (i = 0; i < n; i++)
        whelk_result_free(rs[i]);
    free(rs);
    whelk_pipeline_free(p);
    return after > before ? (after - before) / n : 0;
}

/* A result holds about what it captured: a run reads its first 4 KiB
 * into a small buffer, and the buffers are trimmed when the run ends.
 * (They held 128 KiB each, empty or not: 100 results of `git rev-parse`
 * were 25 MiB.) */
START_TEST(test_results_hold_about_what_they_captured)
{
    size_t empty = held_per_result("exit:0", 100, 0);
    size_t small = held_per_result("out:0123456789abcdef", 100, 16);
    size_t medium = held_per_result("outn:100000", 20, 100000);

    ck_assert_msg(empty < 2048, "an empty result holds %zu bytes", empty);
    ck_assert_msg(small < 2048, "a 16-byte result holds %zu bytes", small);
    ck_assert_msg(medium < 100000 + 8192,
                  "a 100000-byte result holds %zu bytes", medium);
}
END_TEST

void stream_volume(Suite *s)
{
    TCase *tc;

    tc = stream_tcase(s, "volume", 2 * TEST_TIMEOUT, 0);
    tcase_add_test(tc, test_two_million_lines_streamed);
    tcase_add_test(tc, test_two_million_lines_captured);
    tcase_add_test(tc, test_results_hold_about_what_they_captured);
}
