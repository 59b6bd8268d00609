/*
 * stream/abort.c -- the stream suite's "Stopping the run from a callback" tests (run by tests/check_stream.c).
 */
#include "stream.h"

/* Starts p, runs it to the end, and checks it was aborted promptly and
 * left nothing behind.  Returns the error (caller frees). */
static whelk_error *run_aborted(whelk_pipeline *p)
{
    whelk_error *err = NULL;
    whelk_proc *proc = whelk_start(p, &err);
    whelk_result *r;
    int64_t t0 = now_ms(), elapsed;
    pid_t pid;

    ck_assert_msg(proc != NULL, "start failed: %s", err_desc(err));
    pid = whelk_proc_pid(proc, 0);
    ck_assert_int_gt(pid, 0);
    r = whelk_proc_wait(proc, &err);
    elapsed = now_ms() - t0;
    ck_assert_msg(r == NULL, "the run was not stopped");
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_ABORTED,
                  "expected WHELK_E_ABORTED, got %s", err_desc(err));
    /* the child would have run for 60 s or forever */
    ck_assert_msg(elapsed < 30000,
                  "the run took %lld ms after the callback "
                  "stopped it",
                  (long long)elapsed);
    ck_assert_msg(kill(pid, 0) == -1 && errno == ESRCH,
                  "stage 0 (pid %ld) still exists", (long)pid);
    ASSERT_NO_CHILDREN();
    return err;
}

START_TEST(test_abort_returns_promptly)
{
    whelk_pipeline *p =
        helper_pipe("lines:1", "sleep:60000", (const char *)NULL);
    line_log ll;
    whelk_error *err;
    static const want_line want[] = {{0, OUT, "line 1", 0}};

    line_log_init(&ll);
    ll.stop_at = 1;
    ll.stop_rc = 1;
    whelk_pipeline_on_line(p, WHELK_STDOUT, log_line, &ll);
    err = run_aborted(p);
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    expect_lines(&ll, want, 1);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

/* An endless writer: the callback is not called again after it said stop. */
START_TEST(test_abort_endless_writer)
{
    whelk_pipeline *p = helper_pipe("lines:1000000000000", (const char *)NULL);
    line_log ll;
    whelk_error *err;

    line_log_init(&ll);
    ll.stop_at = 1000;
    ll.stop_rc = 7;
    whelk_pipeline_stdout(p, WHELK_STREAM);
    whelk_pipeline_on_line(p, WHELK_STDOUT, log_line, &ll);
    err = run_aborted(p);
    ck_assert_uint_eq(ll.calls, 1000);
    ck_assert_str_eq(ll.v[999].text, "line 1000");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

/* A grandchild holding the pipe open does not keep the run going. */
START_TEST(test_abort_with_grandchild_holding_pipe)
{
    whelk_pipeline *p = helper_pipe("fork-sleep:60000", "lines:1",
                                    "sleep:60000", (const char *)NULL);
    line_log ll;
    whelk_error *err;

    line_log_init(&ll);
    ll.stop_at = 1;
    ll.stop_rc = 1;
    whelk_pipeline_on_line(p, WHELK_STDOUT, log_line, &ll);
    err = run_aborted(p);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

/* Stopping at the very last line (delivered at end of stream) still counts;
 * and any non-zero value stops the run -- even -2, which must not be taken
 * for an internal out-of-memory code. */
START_TEST(test_abort_on_last_line_any_value)
{
    static const int values[] = {1, -1, -2, 42};
    size_t i;

    for (i = 0; i < sizeof values / sizeof values[0]; i++) {
        whelk_pipeline *p = helper_pipe("out:x", (const char *)NULL);
        line_log ll;
        whelk_error *err;

        line_log_init(&ll);
        ll.stop_at = 1;
        ll.stop_rc = values[i];
        whelk_pipeline_on_line(p, WHELK_STDOUT, log_line, &ll);
        err = run_fail(p, WHELK_E_ABORTED);
        ck_assert_uint_eq(ll.calls, 1);
        ck_assert_uint_eq(ll.v[0].flags, WHELK_LINE_NO_EOL);
        whelk_error_free(err);
        whelk_pipeline_free(p);
        line_log_free(&ll);
    }
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_abort_from_chunk_callback)
{
    whelk_pipeline *p =
        helper_pipe("outn:1000", "sleep:60000", (const char *)NULL);
    chunk_log cl;
    whelk_error *err;

    chunk_log_init(&cl);
    cl.stop_at = 1;
    whelk_pipeline_on_chunk(p, WHELK_STDOUT, log_chunk, &cl);
    err = run_aborted(p);
    ck_assert_uint_eq(cl.n, 1);
    ck_assert_int_eq(cl.v[0].eof, 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    chunk_log_free(&cl);
}
END_TEST

void stream_abort(Suite *s)
{
    TCase *tc;

    tc = stream_tcase(s, "abort", 2 * TEST_TIMEOUT, 0);
    tcase_add_test(tc, test_abort_returns_promptly);
    tcase_add_test(tc, test_abort_endless_writer);
    tcase_add_test(tc, test_abort_with_grandchild_holding_pipe);
    tcase_add_test(tc, test_abort_on_last_line_any_value);
    tcase_add_test(tc, test_abort_from_chunk_callback);
}
