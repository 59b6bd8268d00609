/*
 * faults/null.c -- the faults suite's "null" tests (run by tests/check_faults.c).
 */
#include "faults.h"

/* The documented NULL paths: a NULL command given to a pipeline is
 * remembered as WHELK_E_NOMEM; whelk_pipeline_tostring returns NULL. */
START_TEST(test_nomem_null_command)
{
    whelk_pipeline *p;
    whelk_error *err = NULL;
    char *s;

    p = whelk_pipe((whelk_cmd *)NULL, (whelk_cmd *)NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(whelk_run(p, &err));
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_NOMEM, "%s", err_desc(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);

    p = whelk_pipeline_new();
    whelk_pipeline_add(p, helper_cmd("exit:0", (const char *)NULL));
    whelk_pipeline_add(p, NULL);
    err = NULL;
    ck_assert_ptr_null(whelk_run(p, &err));
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_NOMEM, "%s", err_desc(err));
    whelk_error_free(err);
    counted = 0;
    injected = 0;
    fail_at = 1;
    ARM();
    s = whelk_pipeline_tostring(p);
    DISARM();
    fail_at = 0;
    ck_assert(injected);
    ck_assert_ptr_null(s);
    whelk_pipeline_free(p);
    ck_assert_int_eq(count_children(), 0);
}
END_TEST

void faults_null(TCase *tc)
{
    tcase_add_test(tc, test_nomem_null_command);
}
