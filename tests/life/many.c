/*
 * life/many.c -- the life suite's "run_many" tests (run by tests/check_life.c).
 */
#include "life.h"

typedef struct flight {
    int inflight, max_inflight, starts, exits;
    int max_children; /* children alive when a run starts */
} flight;

static void on_start_count(const whelk_pipeline *p, void *ud)
{
    flight *f = ud;
    int c = count_children();

    (void)p;
    if (c > f->max_children)
        f->max_children = c;
    f->starts++;
    if (++f->inflight > f->max_inflight)
        f->max_inflight = f->inflight;
}

static int on_exit_count(const whelk_result *r, const whelk_error *e,
                         void *ud)
{
    flight *f = ud;

    (void)r;
    (void)e;
    f->exits++;
    f->inflight--;
    return 0;
}

#define NMANY 20
START_TEST(test_run_many_order_and_limit)
{
    whelk_pipeline *p[NMANY];
    whelk_result *res[NMANY];
    whelk_error *errs[NMANY];
    flight f;
    size_t failed;
    int i, fds = count_open_fds();

    memset(&f, 0, sizeof f);
    for (i = 0; i < NMANY; i++) {
        char out[32], sl[32], ex[32];

        if (i == 7) {
            p[i] = whelk_pipe(whelk_cmd_new("whelk-no-such-program-7",
                                            (const char *)NULL),
                              (whelk_cmd *)NULL);
        } else {
            snprintf(out, sizeof out, "out:%d\\n", i);
            /* later pipelines finish first: order must come from input */
            snprintf(sl, sizeof sl, "sleep:%d", (NMANY - i) * 5);
            snprintf(ex, sizeof ex, "exit:%d", i % 5 == 0 ? 3 : 0);
            p[i] = HPIPE(out, sl, ex);
        }
        whelk_pipeline_on_start(p[i], on_start_count, &f);
        whelk_pipeline_on_exit(p[i], on_exit_count, &f);
        res[i] = (whelk_result *)&f; /* must be overwritten */
        errs[i] = (whelk_error *)&f;
    }
    failed = whelk_run_many(p, NMANY, 4, res, errs);
    ck_assert_int_eq(failed, 5); /* 0, 5, 10, 15 exit 3; 7 is not found */
    ck_assert_int_eq(f.starts, NMANY);
    ck_assert_int_eq(f.exits, NMANY);
    ck_assert_int_eq(f.inflight, 0);
    ck_assert_msg(f.max_inflight == 4, "at most %d in flight, expected 4",
                  f.max_inflight);
    ck_assert_msg(f.max_children <= 3,
                  "%d children alive when another run started (limit 4)",
                  f.max_children);
    for (i = 0; i < NMANY; i++) {
        char want[32];

        snprintf(want, sizeof want, "%d\n", i);
        if (i == 7) {
            ck_assert_ptr_null(res[i]);
            ck_assert_msg(whelk_error_kind(errs[i]) == WHELK_E_NOTFOUND,
                          "pipeline 7: %s", err_desc(errs[i]));
        } else if (i % 5 == 0) {
            ck_assert_ptr_null(res[i]);
            ck_assert_msg(whelk_error_kind(errs[i]) == WHELK_E_EXIT,
                          "pipeline %d: %s", i, err_desc(errs[i]));
            ck_assert_int_eq(whelk_error_exit_code(errs[i]), 3);
            ASSERT_STDOUT(whelk_error_result(errs[i]), want);
        } else {
            ck_assert_msg(res[i] != NULL && errs[i] == NULL,
                          "pipeline %d: %s", i, err_desc(errs[i]));
            ASSERT_STDOUT(res[i], want);
        }
        whelk_result_free(res[i]);
        whelk_error_free(errs[i]);
        whelk_pipeline_free(p[i]);
    }
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* max_parallel 0 means 1: one at a time. */
/* Every start fails (programs that do not exist): the outcomes come back
 * at once, in order, and nothing is left waiting. */
START_TEST(test_run_many_all_fail_to_start)
{
    whelk_pipeline *ps[5];
    whelk_result *rs[5];
    whelk_error *es[5];
    size_t i, failed;

    for (i = 0; i < 5; i++)
        ps[i] = whelk_pipe(whelk_cmd_new("whelk-no-such-program-xyz",
                                         (const char *)NULL),
                           (whelk_cmd *)NULL);
    failed = whelk_run_many(ps, 5, 2, rs, es);
    ck_assert_uint_eq(failed, 5);
    for (i = 0; i < 5; i++) {
        ck_assert_ptr_null(rs[i]);
        ck_assert_int_eq(whelk_error_kind(es[i]), WHELK_E_NOTFOUND);
        whelk_error_free(es[i]);
        whelk_pipeline_free(ps[i]);
    }
    ck_assert_int_eq(count_children(), 0);
}
END_TEST

START_TEST(test_run_many_serial)
{
    whelk_pipeline *p[4];
    whelk_result *res[4];
    whelk_error *errs[4];
    flight f;
    int i;

    memset(&f, 0, sizeof f);
    for (i = 0; i < 4; i++) {
        p[i] = HPIPE("sleep:20", "out:s\\n");
        whelk_pipeline_on_start(p[i], on_start_count, &f);
        whelk_pipeline_on_exit(p[i], on_exit_count, &f);
    }
    ck_assert_int_eq(whelk_run_many(p, 4, 0, res, errs), 0);
    ck_assert_int_eq(f.max_inflight, 1);
    ck_assert_int_eq(f.max_children, 0);
    for (i = 0; i < 4; i++) {
        ck_assert_ptr_null(errs[i]);
        ASSERT_STDOUT(res[i], "s\n");
        whelk_result_free(res[i]);
        whelk_pipeline_free(p[i]);
    }
    /* nothing to run */
    ck_assert_int_eq(whelk_run_many(p, 0, 4, res, errs), 0);
}
END_TEST

/* The same pipeline may appear several times (it is not modified). */
START_TEST(test_run_many_same_pipeline)
{
    whelk_pipeline *p = HPIPE("lines:3");
    whelk_pipeline *list[6];
    whelk_result *res[6];
    whelk_error *errs[6];
    int i;

    for (i = 0; i < 6; i++)
        list[i] = p;
    ck_assert_int_eq(whelk_run_many(list, 6, 3, res, errs), 0);
    for (i = 0; i < 6; i++) {
        ck_assert_ptr_null(errs[i]);
        ASSERT_STDOUT(res[i], "line 1\nline 2\nline 3\n");
        whelk_result_free(res[i]);
    }
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

void life_many(Suite *s)
{
    TCase *tc;

    tc = life_tcase(s, "many", TEST_TIMEOUT);
    tcase_add_test(tc, test_run_many_order_and_limit);
    tcase_add_test(tc, test_run_many_serial);
    tcase_add_test(tc, test_run_many_all_fail_to_start);
    tcase_add_test(tc, test_run_many_same_pipeline);
}
