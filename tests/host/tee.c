/*
 * host/tee.c -- the host suite's "tee" tests (run by tests/check_host.c).
 */
#include "host.h"

/* ----------------------------------------------------------------- tee */

/* One output into the capture, a file and a second pipeline at once. */
START_TEST(test_tee_file_and_pipeline)
{
    char *dir = make_tmpdir(), *path = path_join(dir, "copy");
    whelk_pipeline *src = helper_pipe("outn:5000000", NULL);
    whelk_pipeline *dst = helper_pipe("count", NULL);
    whelk_pipeline *dst2 = helper_pipe("readn:10", "exit:0", NULL);
    whelk_pipeline *again;
    whelk_proc *d, *d2;
    whelk_error *err = NULL;
    whelk_result *r, *rd;
    size_t len;
    char *got;

    whelk_pipeline_stdin(dst, WHELK_FEED);
    whelk_pipeline_stdin(dst2, WHELK_FEED);
    d = start_ok(dst);
    d2 = start_ok(dst2);
    whelk_pipeline_tee_file(src, path, 0);
    whelk_pipeline_tee_proc(src, d2); /* quits early: dropped */
    whelk_pipeline_tee_proc(src, d);
    r = run_ok(src);
    whelk_result_stdout(r, &len);
    ck_assert_uint_eq(len, 5000000);
    ck_assert(is_pattern(whelk_result_stdout(r, NULL), len));
    whelk_result_free(r);
    rd = whelk_proc_wait(d, &err);
    ck_assert_msg(rd != NULL, "%s", err_desc(err));
    ck_assert_str_eq(whelk_result_stdout(rd, NULL), "5000000\n");
    whelk_result_free(rd);
    wait_ok(d2);
    got = slurp(path, &len);
    ck_assert_uint_eq(len, 5000000);
    ck_assert(is_pattern(got, len));
    free(got);
    /* a copy of the pipeline tees too (the file only: a tee_proc names
     * one running handle) */
    again = whelk_pipeline_dup(src);
    whelk_pipeline_free(again);
    again = helper_pipe("outn:1000", NULL);
    whelk_pipeline_tee_file(again, path, 1);
    whelk_pipeline_free(src);
    src = whelk_pipeline_dup(again);
    whelk_pipeline_free(again);
    r = run_ok(src);
    whelk_result_free(r);
    got = slurp(path, &len);
    ck_assert_uint_eq(len, 5001000);
    free(got);
    whelk_pipeline_free(src);
    whelk_pipeline_free(dst);
    whelk_pipeline_free(dst2);
    rm_rf(dir);
    free(dir);
    free(path);
    assert_clean();
}
END_TEST

/* Tee of a pulled stdout: the copy is what the host pulls. */
START_TEST(test_tee_pull)
{
    char *dir = make_tmpdir(), *path = path_join(dir, "copy");
    whelk_pipeline *p = pull_pipe(helper_cmd("lines:10000", NULL), NULL);
    whelk_proc *pr;
    whelk_line line;
    size_t len, wl;
    char *got, *want;
    long n = 0;

    whelk_pipeline_tee_file(p, path, 0);
    pr = start_ok(p);
    while (whelk_proc_read_line(pr, &line, -1) == 1)
        n++;
    ck_assert_int_eq(n, 10000);
    wait_ok(pr);
    got = slurp(path, &len);
    want = lines_text(10000, &wl);
    ck_assert_uint_eq(len, wl);
    ck_assert(memcmp(got, want, wl) == 0);
    free(got);
    free(want);
    whelk_pipeline_free(p);
    rm_rf(dir);
    free(dir);
    free(path);
    assert_clean();
}
END_TEST

START_TEST(test_tee_invalid)
{
    whelk_pipeline *p = helper_pipe("out:x", NULL);
    whelk_error *err;

    whelk_pipeline_tee_file(p, "/no/such/dir/file", 0);
    err = run_fail(p, WHELK_E_IO);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    p = helper_pipe("out:x", NULL);
    whelk_pipeline_tee_fd(p, 1);
    whelk_pipeline_stdout(p, WHELK_NULL);
    err = run_fail(p, WHELK_E_INVALID);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    p = helper_pipe("out:x", NULL);
    whelk_pipeline_tee_proc(p, NULL);
    err = run_fail(p, WHELK_E_INVALID);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

void host_tee(Suite *s)
{
    TCase *tc;

    tc = host_tcase(s, "tee", TEST_TIMEOUT);
    tcase_add_test(tc, test_tee_file_and_pipeline);
    tcase_add_test(tc, test_tee_pull);
    tcase_add_test(tc, test_tee_invalid);
}
