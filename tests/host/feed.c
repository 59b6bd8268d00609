/*
 * host/feed.c -- the host suite's "feed" tests (run by tests/check_host.c).
 */
#include "host.h"

/* --------------------------------------------------------------- feed */

/* 50 MB through cat, written and pulled by one thread. */
START_TEST(test_feed_cat_50mb_same_thread)
{
    const size_t total = 50 * 1024 * 1024, chunk = 300000;
    char *src = pattern_bytes(chunk * 2), *buf = malloc(1 << 20);
    whelk_pipeline *p = pull_pipe(helper_cmd("cat", NULL), NULL);
    size_t sent = 0, got = 0;
    whelk_proc *pr;
    ssize_t k;

    whelk_pipeline_stdin(p, WHELK_FEED);
    pr = start_ok(p);
    while (sent < total) {
        size_t want = total - sent < chunk ? total - sent : chunk;
        k = whelk_proc_write(pr, src + sent % 16, want, -1);
        ck_assert_msg(k > 0, "write: %s", strerror(errno));
        sent += (size_t)k;
        while ((k = whelk_proc_read(pr, buf, 1 << 20, 0)) > 0) {
            ssize_t j;
            for (j = 0; j < k; j++)
                if (buf[j] != pattern_byte(got + (size_t)j))
                    ck_abort_msg("byte %zu differs", got + (size_t)j);
            got += (size_t)k;
        }
        ck_assert(k == -1 && errno == EAGAIN);
    }
    ck_assert_int_eq(whelk_proc_close_stdin(pr), 0);
    while ((k = whelk_proc_read(pr, buf, 1 << 20, -1)) > 0)
        got += (size_t)k;
    ck_assert_int_eq(k, 0);
    ck_assert_uint_eq(got, total);
    wait_ok(pr);
    free(src);
    free(buf);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* The first stage stops reading: -1/EPIPE, never SIGPIPE in the host (the
 * suite runs with SIGPIPE at its default: it would kill the test). */
START_TEST(test_feed_epipe)
{
    whelk_pipeline *p = helper_pipe("readn:5", "exit:0", NULL);
    char *data = pattern_bytes(1 << 20);
    whelk_proc *pr;
    ssize_t k;
    int i;

    whelk_pipeline_stdin(p, WHELK_FEED);
    pr = start_ok(p);
    for (i = 0; i < 1000; i++) {
        k = whelk_proc_write(pr, data, 1 << 20, -1);
        if (k < 0)
            break;
    }
    ck_assert_int_eq(k, -1);
    ck_assert_int_eq(errno, EPIPE);
    errno = 0;
    ck_assert_int_eq(whelk_proc_write(pr, "x", 1, -1), -1);
    ck_assert_int_eq(errno, EPIPE);
    wait_ok(pr);
    free(data);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* Feed is counted exactly; close_stdin ends it; then EBADF. */
START_TEST(test_feed_count_and_close)
{
    whelk_pipeline *p = helper_pipe("count", NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;
    size_t i;

    whelk_pipeline_stdin(p, WHELK_FEED);
    pr = start_ok(p);
    for (i = 0; i < 1000; i++)
        ck_assert_int_eq(whelk_proc_write(pr, "abcdefg", 7, -1), 7);
    ck_assert_int_eq(whelk_proc_write(pr, "x", 0, -1), 0);
    ck_assert_int_eq(whelk_proc_close_stdin(pr), 0);
    ck_assert_int_eq(whelk_proc_close_stdin(pr), 0);
    errno = 0;
    ck_assert_int_eq(whelk_proc_write(pr, "x", 1, -1), -1);
    ck_assert_int_eq(errno, EBADF);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "7000\n");
    whelk_result_free(r);
    /* wait closes a fed stdin the host left open */
    pr = start_ok(p);
    ck_assert_int_eq(whelk_proc_write(pr, "abc", 3, -1), 3);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "3\n");
    whelk_result_free(r);
    /* whelk_run: an empty stdin */
    r = run_ok(p);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "0\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* A stage that does not read: the pipe fills, timeout 0 gives EAGAIN. */
START_TEST(test_feed_timeout)
{
    whelk_pipeline *p = helper_pipe("sleep:60000", NULL);
    char *data = pattern_bytes(1 << 16);
    whelk_error *err = NULL;
    whelk_proc *pr;
    ssize_t k;
    size_t total = 0;
    int64_t t0;

    whelk_pipeline_stdin(p, WHELK_FEED);
    pr = start_ok(p);
    while ((k = whelk_proc_write(pr, data, 1 << 16, 0)) > 0)
        total += (size_t)k;
    ck_assert_int_eq(k, -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_uint_gt(total, 0);
    t0 = now_ms();
    errno = 0;
    ck_assert_int_eq(whelk_proc_write(pr, data, 10, 100), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert(now_ms() - t0 >= 99);
    ck_assert_int_eq(whelk_proc_kill(pr, SIGKILL), 0);
    ck_assert_ptr_null(whelk_proc_wait(pr, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_SIGNAL);
    whelk_error_free(err);
    free(data);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* Stdin encoding applies to fed bytes, a character split between writes
 * included; invalid UTF-8 is EILSEQ. */
START_TEST(test_feed_encoding)
{
    whelk_pipeline *p = helper_pipe("cat", NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;

    whelk_pipeline_stdin(p, WHELK_FEED);
    whelk_pipeline_stdin_encoding(p, "ISO-8859-1");
    pr = start_ok(p);
    ck_assert_int_eq(whelk_proc_write(pr, "caf\xc3", 4, -1), 4);
    ck_assert_int_eq(whelk_proc_write(pr, "\xa9\n", 2, -1), 2);
    errno = 0;
    ck_assert_int_eq(whelk_proc_write(pr, "\xff", 1, -1), -1);
    ck_assert_int_eq(errno, EILSEQ);
    ck_assert_int_eq(whelk_proc_close_stdin(pr), 0);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "caf\xe9\n");
    whelk_result_free(r);
    whelk_pipeline_stdin_encoding(p, "no-such-encoding");
    ck_assert_ptr_null(whelk_start(p, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_INVALID);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

START_TEST(test_feed_einval)
{
    whelk_pipeline *p = helper_pipe("cat", NULL);
    whelk_proc *pr = start_ok(p);

    errno = 0;
    ck_assert_int_eq(whelk_proc_write(pr, "x", 1, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(whelk_proc_close_stdin(pr), -1);
    ck_assert_int_eq(errno, EINVAL);
    wait_ok(pr);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

void host_feed(Suite *s)
{
    TCase *tc;

    tc = host_tcase(s, "feed", TEST_TIMEOUT * 2);
    tcase_add_test(tc, test_feed_cat_50mb_same_thread);
    tcase_add_test(tc, test_feed_epipe);
    tcase_add_test(tc, test_feed_count_and_close);
    tcase_add_test(tc, test_feed_timeout);
    tcase_add_test(tc, test_feed_encoding);
    tcase_add_test(tc, test_feed_einval);
}
