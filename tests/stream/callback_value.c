/*
 * stream/callback_value.c -- whelk_error_callback_value: the value a line
 * or chunk callback returned to stop the run, or a filter function
 * returned to fail its stage, comes back unchanged (STYLE.md's callback
 * rule); every other error gives 0.  Run by tests/check_stream.c.
 */
#include "stream.h"

/* A callback that returns value from its at-th call (1-based); with
 * on_eof, only from the end-of-stream chunk call.  With cancel set, it
 * cancels that run first. */
typedef struct stopper {
    size_t at;
    int value;
    int on_eof;
    size_t calls;
    whelk_proc **cancel;
} stopper;

static int stop_decision(stopper *st)
{
    if (++st->calls != st->at)
        return 0;
    if (st->cancel)
        ck_assert_int_eq(whelk_proc_cancel(*st->cancel), 0);
    return st->value;
}

static int stop_line(const whelk_line *l, void *ud)
{
    (void)l;
    return stop_decision(ud);
}

static int stop_chunk(const whelk_chunk *c, void *ud)
{
    stopper *st = ud;

    if (st->on_eof && !c->eof)
        return 0;
    return stop_decision(st);
}

/* An aborted run whose error carries exactly value. */
static void expect_value(whelk_pipeline *p, int value)
{
    whelk_error *err = run_fail(p, WHELK_E_ABORTED);

    ck_assert_int_eq(whelk_error_errno(err), ECANCELED);
    ck_assert_msg(whelk_error_callback_value(err) == value,
                  "callback value %d, expected %d (%s)",
                  whelk_error_callback_value(err), value, err_desc(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}

static const int values[] = {42, -7, 1, -2, INT_MIN, INT_MAX};
#define NVALUES (sizeof values / sizeof values[0])

START_TEST(test_callback_value_line)
{
    size_t i;

    for (i = 0; i < NVALUES; i++) {
        stopper st = {2, values[i], 0, 0, NULL};
        whelk_pipeline *p = helper_pipe("lines:3", "sleep:60000", NULL);

        whelk_pipeline_on_line(p, WHELK_STDOUT, stop_line, &st);
        expect_value(p, values[i]);
        ck_assert_uint_eq(st.calls, 2);
    }
}
END_TEST

/* A stderr line, and the last line without a newline (delivered at the
 * end of the stream). */
START_TEST(test_callback_value_line_stderr_and_last)
{
    stopper st = {1, -7, 0, 0, NULL};
    whelk_pipeline *p = helper_pipe("errlines:2", "sleep:60000", NULL);

    whelk_pipeline_on_line(p, WHELK_STDERR, stop_line, &st);
    expect_value(p, -7);
    st.calls = 0;
    st.value = 42;
    p = helper_pipe("out:no newline", NULL);
    whelk_pipeline_on_line(p, WHELK_STDOUT, stop_line, &st);
    expect_value(p, 42);
}
END_TEST

/* A shell's line callback is a line callback too. */
START_TEST(test_callback_value_shell_on_line)
{
    stopper st = {1, 42, 0, 0, NULL};
    whelk_shell *sh = whelk_shell_new();
    whelk_error *err = NULL;

    ck_assert_ptr_nonnull(sh);
    whelk_shell_on_line(sh, WHELK_STDOUT, stop_line, &st);
    ck_assert_ptr_null(whelk_shell_sh(sh, &err, HELPER, "lines:2", NULL));
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_ABORTED, "%s",
                  err_desc(err));
    ck_assert_int_eq(whelk_error_callback_value(err), 42);
    whelk_error_free(err);
    whelk_shell_free(sh);
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_callback_value_chunk)
{
    size_t i;

    for (i = 0; i < NVALUES; i++) {
        stopper st = {1, values[i], 0, 0, NULL};
        stopper eof = {1, values[i], 1, 0, NULL};
        whelk_pipeline *p = helper_pipe("outn:1000", "sleep:60000", NULL);

        /* a data chunk */
        whelk_pipeline_on_chunk(p, WHELK_STDOUT, stop_chunk, &st);
        expect_value(p, values[i]);
        /* the end-of-stream call */
        p = helper_pipe("outn:1000", NULL);
        whelk_pipeline_on_chunk(p, WHELK_STDOUT, stop_chunk, &eof);
        expect_value(p, values[i]);
    }
}
END_TEST

/* A filter that returns its userdata's value from its first call. */
static int fail_filter(whelk_filter *out, const void *data, size_t len,
                       void *ud)
{
    (void)out;
    (void)data;
    (void)len;
    return *(const int *)ud;
}

/* A filter's return fails its stage (WHELK_E_EXIT): its exit code is the
 * value as a byte, the callback value the value itself. */
START_TEST(test_callback_value_filter)
{
    static const int rets[] = {42, -7, 300, 255};
    static const int codes[] = {42, 1, 1, 255};
    size_t i;

    for (i = 0; i < sizeof rets / sizeof rets[0]; i++) {
        whelk_pipeline *p = whelk_pipe(
            helper_cmd("outn:1000", NULL),
            whelk_cmd_new_filter("fail", fail_filter, (void *)&rets[i]), NULL);
        whelk_error *err = run_fail(p, WHELK_E_EXIT);

        ck_assert_uint_eq(whelk_error_stage(err), 1);
        ck_assert_int_eq(whelk_error_exit_code(err), codes[i]);
        ck_assert_int_eq(whelk_error_callback_value(err), rets[i]);
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }
    ASSERT_NO_CHILDREN();
}
END_TEST

/* Every other error gives 0: NULL, an exit status, a filter that did not
 * fail while a program did, a timeout, a cancel -- also a cancel made by
 * the callback that then returns non-zero: the run was already stopping. */
START_TEST(test_callback_value_zero_otherwise)
{
    static const int zero = 0;
    whelk_pipeline *p;
    whelk_error *err = NULL;
    whelk_proc *proc;
    stopper st = {1, 5, 0, 0, &proc};

    ck_assert_int_eq(whelk_error_callback_value(NULL), 0);

    p = helper_pipe("exit:3", NULL);
    err = run_fail(p, WHELK_E_EXIT);
    ck_assert_int_eq(whelk_error_callback_value(err), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    p = whelk_pipe(whelk_cmd_new_filter("ok", fail_filter, (void *)&zero),
                   helper_cmd("exit:3", NULL), NULL);
    err = run_fail(p, WHELK_E_EXIT);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_callback_value(err), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    p = helper_pipe("sleep:60000", NULL);
    whelk_pipeline_timeout(p, 100);
    err = run_fail(p, WHELK_E_TIMEOUT);
    ck_assert_int_eq(whelk_error_callback_value(err), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    p = helper_pipe("sleep:60000", NULL);
    proc = whelk_start(p, &err);
    ck_assert_msg(proc != NULL, "%s", err_desc(err));
    ck_assert_int_eq(whelk_proc_cancel(proc), 0);
    ck_assert_ptr_null(whelk_proc_wait(proc, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_ABORTED);
    ck_assert_int_eq(whelk_error_callback_value(err), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    p = helper_pipe("lines:2", "sleep:60000", NULL);
    whelk_pipeline_on_line(p, WHELK_STDOUT, stop_line, &st);
    proc = whelk_start(p, &err);
    ck_assert_msg(proc != NULL, "%s", err_desc(err));
    ck_assert_ptr_null(whelk_proc_wait(proc, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_ABORTED);
    ck_assert_int_eq(whelk_error_signal(err), SIGTERM); /* the cancel's */
    ck_assert_int_eq(whelk_error_callback_value(err), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* on_exit sees each attempt's value and may retry: the final error holds
 * the last attempt's value, and an attempt whose callback says go on
 * succeeds. */
typedef struct attempts {
    const int *values; /* the callback's return, per attempt */
    size_t n;          /* attempts made */
    size_t retries;    /* how many on_exit asks for */
    int seen[4];       /* whelk_error_callback_value given to on_exit */
} attempts;

static int attempt_line(const whelk_line *l, void *ud)
{
    attempts *a = ud;

    (void)l;
    return a->values[a->n];
}

static int attempt_exit(const whelk_result *r, const whelk_error *e, void *ud)
{
    attempts *a = ud;

    (void)r;
    ck_assert_uint_lt(a->n, 4);
    a->seen[a->n] = e ? whelk_error_callback_value(e) : 0;
    return a->n++ < a->retries ? WHELK_RETRY : 0;
}

START_TEST(test_callback_value_retry)
{
    static const int fail_twice[] = {42, -7};
    static const int then_go_on[] = {42, 0};
    attempts a = {fail_twice, 0, 1, {0}};
    whelk_pipeline *p = helper_pipe("lines:1", NULL);
    whelk_result *r;

    whelk_pipeline_on_line(p, WHELK_STDOUT, attempt_line, &a);
    whelk_pipeline_on_exit(p, attempt_exit, &a);
    expect_value(p, -7);
    ck_assert_uint_eq(a.n, 2);
    ck_assert_int_eq(a.seen[0], 42);
    ck_assert_int_eq(a.seen[1], -7);

    memset(&a, 0, sizeof a);
    a.values = then_go_on;
    a.retries = 1;
    p = helper_pipe("lines:1", NULL);
    whelk_pipeline_on_line(p, WHELK_STDOUT, attempt_line, &a);
    whelk_pipeline_on_exit(p, attempt_exit, &a);
    r = run_ok(p);
    ck_assert_uint_eq(a.n, 2);
    ck_assert_int_eq(a.seen[0], 42);
    ck_assert_int_eq(a.seen[1], 0);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

void stream_callback_value(Suite *s)
{
    TCase *tc = stream_tcase(s, "callback_value", 2 * TEST_TIMEOUT, 0);

    tcase_add_test(tc, test_callback_value_line);
    tcase_add_test(tc, test_callback_value_line_stderr_and_last);
    tcase_add_test(tc, test_callback_value_shell_on_line);
    tcase_add_test(tc, test_callback_value_chunk);
    tcase_add_test(tc, test_callback_value_filter);
    tcase_add_test(tc, test_callback_value_zero_otherwise);
    tcase_add_test(tc, test_callback_value_retry);
}
