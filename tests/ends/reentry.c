/*
 * ends/reentry.c -- the ends suite's "reentry" tests (run by tests/check_ends.c).
 */
#include "ends.h"

/* ============================================== E: re-entrant callbacks */

typedef struct reenter {
    whelk_proc *self;
    int calls;
    int step_rc, step_errno;
    whelk_error *wait_err;
    int wait_null;
    int other_ok;
} reenter;

static int reenter_line(const whelk_line *line, void *ud)
{
    reenter *re = ud;
    whelk_result *r;
    whelk_error *e = NULL;

    (void)line;
    if (re->calls++)
        return 0;
    errno = 0;
    re->step_rc = whelk_proc_step(re->self, 0);
    re->step_errno = errno;
    r = whelk_proc_wait(re->self, &re->wait_err);
    re->wait_null = r == NULL;
    whelk_result_free(r);
    /* another pipeline may be run from a callback */
    r = whelk_sh(&e, HELPER, "out:other", (const char *)NULL);
    re->other_ok = r && strcmp(whelk_result_stdout(r, NULL), "other") == 0;
    whelk_result_free(r);
    whelk_error_free(e);
    return 0;
}

START_TEST(test_callback_cannot_step_or_wait_own_run)
{
    whelk_pipeline *p = HPIPE("out:a\\nb\\n");
    whelk_error *err = NULL;
    whelk_result *r;
    reenter re;

    memset(&re, 0, sizeof re);
    whelk_pipeline_on_line(p, WHELK_STDOUT, reenter_line, &re);
    re.self = whelk_start(p, &err);
    ck_assert_msg(re.self != NULL, "%s", err_desc(err));
    r = whelk_proc_wait(re.self, &err);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "a\nb\n");
    ck_assert_int_eq(re.calls, 2);
    ck_assert_int_eq(re.step_rc, -1);
    ck_assert_int_eq(re.step_errno, EINVAL);
    ck_assert(re.wait_null);
    ck_assert_msg(whelk_error_kind(re.wait_err) == WHELK_E_INVALID, "%s",
                  err_desc(re.wait_err));
    ck_assert_int_eq(whelk_error_errno(re.wait_err), EINVAL);
    ck_assert(re.other_ok);
    whelk_error_free(re.wait_err);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* A callback may cancel its own run (and that is a cancel: SIGTERM). */
static int cancel_line(const whelk_line *line, void *ud)
{
    (void)line;
    ck_assert_int_eq(whelk_proc_cancel(*(whelk_proc **)ud), 0);
    return 0;
}

START_TEST(test_cancel_from_callback)
{
    whelk_pipeline *p = HPIPE("out:ready\\n", "sleep:30000");
    whelk_error *err = NULL;
    whelk_proc *proc;

    whelk_pipeline_on_line(p, WHELK_STDOUT, cancel_line, &proc);
    proc = whelk_start(p, &err);
    ck_assert_msg(proc != NULL, "%s", err_desc(err));
    ck_assert_ptr_null(whelk_proc_wait(proc, &err));
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_ABORTED, "%s",
                  err_desc(err));
    ck_assert_int_eq(whelk_error_errno(err), ECANCELED);
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_int_eq(whelk_error_signal(err), SIGTERM);
    assert_status_agrees(err);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

void ends_reentry(Suite *s)
{
    TCase *tc;

    tc = ends_tcase(s, "reentry", TEST_TIMEOUT);
    tcase_add_test(tc, test_callback_cannot_step_or_wait_own_run);
    tcase_add_test(tc, test_cancel_from_callback);
}
