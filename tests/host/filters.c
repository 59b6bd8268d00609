/*
 * host/filters.c -- the host suite's "filters" tests (run by tests/check_host.c).
 */
#include "host.h"

/* ------------------------------------------------------------- filters */

static int identity(whelk_filter *out, const void *data, size_t len, void *ud)
{
    (void)ud;
    return len ? whelk_filter_write(out, data, len) : 0;
}

static int upper(whelk_filter *out, const void *data, size_t len, void *ud)
{
    char buf[4096];
    size_t i, done = 0;
    (void)ud;
    while (done < len) {
        size_t n = len - done < sizeof buf ? len - done : sizeof buf;
        for (i = 0; i < n; i++) {
            char c = ((const char *)data)[done + i];
            buf[i] = c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
        }
        if (whelk_filter_write(out, buf, n) < 0)
            return 1;
        done += n;
    }
    return 0;
}

/* Counts its input; writes the count at the end. */
static int counter(whelk_filter *out, const void *data, size_t len, void *ud)
{
    size_t *n = ud;
    char buf[32];
    (void)data;
    if (len) {
        *n += len;
        return 0;
    }
    snprintf(buf, sizeof buf, "%zu\n", *n);
    return whelk_filter_write(out, buf, strlen(buf));
}

/* Each input byte becomes 100 KiB of output: 1 KiB -> 100 MiB. */
static int expand(whelk_filter *out, const void *data, size_t len, void *ud)
{
    static char block[102400];
    size_t i;
    (void)data;
    (void)ud;
    memset(block, 'x', sizeof block);
    for (i = 0; i < len; i++)
        if (whelk_filter_write(out, block, sizeof block) < 0)
            return 1;
    return 0;
}

static int ret3(whelk_filter *out, const void *data, size_t len, void *ud)
{
    (void)out;
    (void)data;
    (void)len;
    (void)ud;
    return 3;
}

static whelk_result *run_r(whelk_pipeline *p)
{
    return run_ok(p);
}

/* A filter first, middle, last; adjacent filters; bytes exact. */
START_TEST(test_filter_positions)
{
    whelk_pipeline *p;
    whelk_result *r;
    size_t n = 0, len;
    const char *out;

    /* first, fed stdin bytes */
    p = whelk_pipe(whelk_cmd_new_filter("upper", upper, NULL),
                   helper_cmd("cat", NULL), NULL);
    whelk_pipeline_stdin_bytes(p, "hello, world\n", 13);
    r = run_r(p);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "HELLO, WORLD\n");
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 0);
    ck_assert_int_eq(whelk_proc_pid(NULL, 0), -1);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    /* middle, 10 MiB */
    p = whelk_pipe(helper_cmd("outn:10485760", NULL),
                   whelk_cmd_new_filter("identity", identity, NULL),
                   helper_cmd("count", NULL), NULL);
    r = run_r(p);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "10485760\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    /* last, captured; and two filters in a row */
    p = whelk_pipe(helper_cmd("outn:3000000", NULL),
                   whelk_cmd_new_filter("identity", identity, NULL),
                   whelk_cmd_new_filter("count", counter, &n), NULL);
    r = run_r(p);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "3000000\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    /* only filters, bytes in, capture out */
    p = whelk_pipe(whelk_cmd_new_filter("upper", upper, NULL),
                   whelk_cmd_new_filter("identity", identity, NULL), NULL);
    {
        char *big = pattern_bytes(5000000);
        whelk_pipeline_stdin_bytes(p, big, 5000000);
        r = run_r(p);
        out = whelk_result_stdout(r, &len);
        ck_assert_uint_eq(len, 5000000);
        for (n = 0; n < len; n++)
            if (out[n] != (big[n] >= 'a' ? big[n] - 32 : big[n]))
                ck_abort_msg("byte %zu", n);
        free(big);
    }
    whelk_result_free(r);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* 1 KiB turned into 100 MiB costs a bounded buffer, not 100 MiB. */
START_TEST(test_filter_bounded)
{
    whelk_pipeline *p;
    whelk_result *r;
    struct rusage ru;
    char kb[1024];

    memset(kb, 'a', sizeof kb);
    p = whelk_pipe(whelk_cmd_new_filter("expand", expand, NULL),
                   helper_cmd("count", NULL), NULL);
    whelk_pipeline_stdin_bytes(p, kb, sizeof kb);
    r = run_r(p);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "104857600\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    getrusage(RUSAGE_SELF, &ru);
    ck_assert_msg(ru.ru_maxrss < 64 * 1024, "peak RSS %ld KiB", ru.ru_maxrss);
    assert_clean();
}
END_TEST

/* A non-zero return is an exit status named by the filter; upstream gets
 * SIGPIPE as with a program that stopped reading (no failure there). */
START_TEST(test_filter_status)
{
    whelk_pipeline *p = whelk_pipe(helper_cmd("outn:50000000", NULL),
                                   whelk_cmd_new_filter("stopper", ret3, NULL),
                                   helper_cmd("count", NULL), NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    static const int ok3[] = {0, 3};

    ck_assert_ptr_null(whelk_run(p, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXIT);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_exit_code(err), 3);
    ck_assert_msg(contains(whelk_error_message(err), "stopper"), "%s",
                  whelk_error_message(err));
    r = (whelk_result *)whelk_error_result(err);
    ck_assert_int_eq(whelk_result_signal(r, 0), SIGPIPE);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "0\n");
    whelk_error_free(err);
    whelk_cmd_ok_codes(whelk_pipeline_cmd(p, 1), ok3, 2);
    r = run_r(p);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    /* the filter's reader goes away: it ends with SIGPIPE, no failure */
    p = whelk_pipe(helper_cmd("outn:50000000", NULL),
                   whelk_cmd_new_filter("identity", identity, NULL),
                   helper_cmd("readn:10", "exit:0", NULL), NULL);
    r = run_r(p);
    ck_assert_int_eq(whelk_result_signal(r, 1), SIGPIPE);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    /* bad filters */
    p = whelk_pipe(whelk_cmd_new_filter("x", NULL, NULL), NULL);
    err = run_fail(p, WHELK_E_INVALID);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    p = whelk_pipe(whelk_cmd_new_filter(NULL, identity, NULL), NULL);
    err = run_fail(p, WHELK_E_INVALID);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    errno = 0;
    ck_assert_int_eq(whelk_filter_write(NULL, "x", 1), -1);
    ck_assert_int_eq(errno, EINVAL);
    assert_clean();
}
END_TEST

/* A deadline ends filters as it kills programs. */
START_TEST(test_filter_timeout)
{
    whelk_pipeline *p = whelk_pipe(helper_cmd("sleep:60000", NULL),
                                   whelk_cmd_new_filter("identity", identity, NULL),
                                   NULL);
    whelk_error *err;

    whelk_pipeline_timeout(p, 200);
    whelk_pipeline_kill_grace(p, 100);
    err = run_fail(p, WHELK_E_TIMEOUT);
    ck_assert_int_ne(whelk_result_signal(whelk_error_result(err), 1), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* A filter before a pulled stdout, and inside whelk_run_many. */
START_TEST(test_filter_pull_and_many)
{
    whelk_pipeline *p = pull_pipe(helper_cmd("lines:5000", NULL),
                                  whelk_cmd_new_filter("upper", upper, NULL),
                                  NULL);
    whelk_pipeline *ps[3];
    whelk_result *rs[3];
    whelk_error *es[3];
    whelk_proc *pr = start_ok(p);
    whelk_line line;
    long i = 0;
    size_t k;

    ck_assert_int_eq(whelk_proc_fd(pr), -1);
    while (whelk_proc_read_line(pr, &line, -1) == 1) {
        char want[32];
        snprintf(want, sizeof want, "LINE %ld", ++i);
        ck_assert_str_eq(line.text, want);
        ck_assert_uint_eq(line.stage, 1);
    }
    ck_assert_int_eq(i, 5000);
    wait_ok(pr);
    whelk_pipeline_free(p);
    for (k = 0; k < 3; k++)
        ps[k] = whelk_pipe(helper_cmd("outn:2000000", NULL),
                           whelk_cmd_new_filter("identity", identity, NULL),
                           helper_cmd("count", NULL), NULL);
    ck_assert_uint_eq(whelk_run_many(ps, 3, 3, rs, es), 0);
    for (k = 0; k < 3; k++) {
        ck_assert_str_eq(whelk_result_stdout(rs[k], NULL), "2000000\n");
        whelk_result_free(rs[k]);
        whelk_pipeline_free(ps[k]);
    }
    assert_clean();
}
END_TEST

void host_filters(Suite *s)
{
    TCase *tc;

    tc = host_tcase(s, "filters", TEST_TIMEOUT);
    tcase_add_test(tc, test_filter_positions);
    tcase_add_test(tc, test_filter_bounded);
    tcase_add_test(tc, test_filter_status);
    tcase_add_test(tc, test_filter_timeout);
    tcase_add_test(tc, test_filter_pull_and_many);
}
