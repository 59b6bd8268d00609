/*
 * host/streams.c -- the host suite's "streams" tests (run by tests/check_host.c).
 */
#include "host.h"

/* ---------------------------------------------------- streams and popen */

START_TEST(test_stdout_stream_getline)
{
    whelk_pipeline *p = pull_pipe(helper_cmd("lines:20000", NULL), NULL);
    whelk_proc *pr = start_ok(p);
    FILE *f = whelk_proc_stdout_stream(pr);
    char *line = NULL;
    size_t cap = 0;
    long n = 0;
    ssize_t k;

    ck_assert_ptr_nonnull(f);
    while ((k = getline(&line, &cap, f)) > 0) {
        char want[32];
        snprintf(want, sizeof want, "line %ld\n", ++n);
        ck_assert_str_eq(line, want);
    }
    ck_assert_int_eq(n, 20000);
    ck_assert(!ferror(f));
    ck_assert_int_eq(fclose(f), 0);
    wait_ok(pr);
    free(line);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* fclose before the end discards the rest; the run is no failure. */
START_TEST(test_stdout_stream_close_early)
{
    whelk_pipeline *p =
        pull_pipe(helper_cmd("outn:50000000", NULL), NULL);
    whelk_proc *pr = start_ok(p);
    FILE *f = whelk_proc_stdout_stream(pr);
    char buf[100];

    ck_assert_uint_eq(fread(buf, 1, sizeof buf, f), sizeof buf);
    ck_assert(is_pattern(buf, sizeof buf));
    ck_assert_int_eq(fclose(f), 0);
    wait_ok(pr);
    whelk_pipeline_free(p);
    p = helper_pipe("cat", NULL);
    pr = start_ok(p);
    errno = 0;
    ck_assert_ptr_null(whelk_proc_stdout_stream(pr));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(whelk_proc_stdin_stream(pr));
    ck_assert_int_eq(errno, EINVAL);
    wait_ok(pr);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

START_TEST(test_stdin_stream_fprintf)
{
    whelk_pipeline *p = helper_pipe("count", NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;
    FILE *f;
    int i;

    whelk_pipeline_stdin(p, WHELK_FEED);
    pr = start_ok(p);
    ck_assert_ptr_nonnull(f = whelk_proc_stdin_stream(pr));
    for (i = 0; i < 100000; i++)
        ck_assert_int_eq(fprintf(f, "%05d\n", i), 6);
    ck_assert_int_eq(fclose(f), 0);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "600000\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

START_TEST(test_popen_read)
{
    whelk_pipeline *p = helper_pipe("lines:3", NULL);
    whelk_error *err = NULL;
    char buf[64];
    FILE *f = whelk_popen(p, "r", &err);

    ck_assert_msg(f != NULL, "%s", err_desc(err));
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    ck_assert_str_eq(buf, "line 1\n");
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    ck_assert_str_eq(buf, "line 3\n");
    ck_assert_ptr_null(fgets(buf, sizeof buf, f));
    ck_assert(feof(f));
    ck_assert_int_eq(whelk_pclose(f, &err), 0);
    ck_assert_ptr_null(err);
    /* stopped early: the rest is discarded, no failure */
    whelk_pipeline_free(p);
    p = helper_pipe("outn:50000000", NULL);
    f = whelk_popen(p, "r", &err);
    ck_assert_int_eq(fgetc(f), '0');
    ck_assert_int_eq(whelk_pclose(f, &err), 0);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* The checked verdict comes out of pclose: stage, status, stderr. */
START_TEST(test_popen_verdict)
{
    whelk_pipeline *p = whelk_pipe(helper_cmd("out:x\\n", NULL),
                                   helper_cmd("cat", "err:boom\\n", "exit:3",
                                              NULL),
                                   NULL);
    whelk_error *err = NULL;
    char buf[64];
    FILE *f = whelk_popen(p, "r", &err);

    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    ck_assert_str_eq(buf, "x\n");
    ck_assert_ptr_null(fgets(buf, sizeof buf, f));
    ck_assert_int_eq(whelk_pclose(f, &err), -1);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXIT);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_exit_code(err), 3);
    ck_assert(contains(whelk_error_message(err), "boom"));
    whelk_error_free(err);
    /* and without an err pointer */
    f = whelk_popen(p, "r", NULL);
    while (fgets(buf, sizeof buf, f))
        ;
    ck_assert_int_eq(whelk_pclose(f, NULL), -1);
    /* bad modes, a start failure */
    ck_assert_ptr_null(whelk_popen(p, "rw", &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_INVALID);
    whelk_error_free(err);
    ck_assert_ptr_null(whelk_popen(NULL, "r", &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_INVALID);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    p = whelk_pipe(whelk_cmd_new("/no/such/program", NULL), NULL);
    ck_assert_ptr_null(whelk_popen(p, "r", &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_NOTFOUND);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* "w": the bytes arrive exactly; a reader that quits gives EPIPE, never
 * SIGPIPE, and is no failure of the run. */
START_TEST(test_popen_write)
{
    char *dir = make_tmpdir(), *path = path_join(dir, "out");
    whelk_pipeline *p = helper_pipe("cat", NULL);
    whelk_error *err = NULL;
    size_t len;
    char *got;
    FILE *f;
    int i;

    whelk_pipeline_stdout_file(p, path, 0);
    f = whelk_popen(p, "w", &err);
    ck_assert_msg(f != NULL, "%s", err_desc(err));
    for (i = 1; i <= 1000; i++)
        fprintf(f, "line %d\n", i);
    ck_assert_int_eq(whelk_pclose(f, &err), 0);
    got = slurp(path, &len);
    {
        size_t wl;
        char *want = lines_text(1000, &wl);
        ck_assert_uint_eq(len, wl);
        ck_assert(memcmp(got, want, wl) == 0);
        free(want);
    }
    free(got);
    whelk_pipeline_free(p);

    p = helper_pipe("readn:10", "exit:0", NULL);
    f = whelk_popen(p, "w", &err);
    {
        char *data = pattern_bytes(1 << 20);
        for (i = 0; i < 200 && fwrite(data, 1, 1 << 20, f) == 1 << 20; i++)
            ;
        ck_assert(ferror(f));
        ck_assert_int_eq(errno, EPIPE);
        free(data);
    }
    ck_assert_int_eq(whelk_pclose(f, &err), 0);
    whelk_pipeline_free(p);
    rm_rf(dir);
    free(dir);
    free(path);
    assert_clean();
}
END_TEST

/* Another child started while a popen FILE is open sees only 0, 1, 2. */
START_TEST(test_popen_no_leak)
{
    whelk_pipeline *p = helper_pipe("out:a\\n", "readn:1", NULL);
    whelk_pipeline *q = helper_pipe("fds", NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    FILE *f, *g;
    char buf[64];

    whelk_pipeline_stdin(p, WHELK_NULL);
    f = whelk_popen(p, "r", &err);
    g = whelk_popen(q, "r", &err);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, g));
    ck_assert_str_eq(buf, "0 1 2\n");
    ck_assert_int_eq(whelk_pclose(g, &err), 0);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    ck_assert_int_eq(whelk_pclose(f, &err), 0);
    r = run_ok(q);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    whelk_pipeline_free(q);
    assert_clean();
}
END_TEST

void host_streams(Suite *s)
{
    TCase *tc;

    tc = host_tcase(s, "streams", TEST_TIMEOUT);
    tcase_add_test(tc, test_stdout_stream_getline);
    tcase_add_test(tc, test_stdout_stream_close_early);
    tcase_add_test(tc, test_stdin_stream_fprintf);
    tcase_add_test(tc, test_popen_read);
    tcase_add_test(tc, test_popen_verdict);
    tcase_add_test(tc, test_popen_write);
    tcase_add_test(tc, test_popen_no_leak);
}
