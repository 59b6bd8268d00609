/*
 * check_ends.c -- the ends of a run (issue 10): whelk_proc_cancel and
 * callbacks that stop a run (WHELK_E_ABORTED, ECANCELED), bounded ends
 * when a process that left the group holds the pipes, what a timeout or
 * an abort names, a deadline that covers opening redirection files (FIFOs
 * without a peer, open interrupted by a signal), whelk_run_many under
 * retries and descriptor exhaustion, whelk_proc_fd after the host forks,
 * calls a callback may not make on its own run, and a deadline that covers
 * a run's tees (opening a FIFO, writing to a destination that stopped
 * reading).
 *
 * Everything goes through the public API against tests/whelk-helper.  No
 * test sleeps to synchronise: ordering comes from the children's output,
 * pipes the test holds, and the library's own blocking calls.  Times are
 * only bounds, with a generous slack.
 *
 * The runner and fixtures; the tests are in tests/ends/<topic>.c, one
 * file per topic, sharing tests/ends/ends.h.
 */
#include "ends/ends.h"

/* The error's status is the status of the stage it names in its result. */
void assert_status_agrees(const whelk_error *err)
{
    const whelk_result *res = whelk_error_result(err);
    size_t st = whelk_error_stage(err);

    ck_assert_ptr_nonnull(res);
    ck_assert_msg(st < whelk_result_ncmds(res), "no stage named: %s",
                  err_desc(err));
    ck_assert_int_eq(whelk_error_signal(err), whelk_result_signal(res, st));
    ck_assert_int_eq(whelk_error_exit_code(err),
                     whelk_result_exit_code(res, st));
}

/* ------------------------------------------------------------- suite */

TCase *ends_tcase(Suite *s, const char *name, int timeout)
{
    return add_tcase(s, name, timeout, NULL, NULL);
}

static Suite *ends_suite(void)
{
    Suite *s = suite_create("ends");

    ends_stop(s);
    ends_names(s);
    ends_many(s);
    ends_fifo(s);
    ends_reentry(s);
    ends_tee(s);

    return s;
}

int main(void)
{
    return run_suite(ends_suite());
}
