/*
 * check_host.c -- the host drives the data (issue 12): WHELK_PULL stdout
 * read through the handle (read, read_line, peek), WHELK_FEED stdin written
 * through it (write, close_stdin), the FILE streams and whelk_popen.
 *
 * Everything through the public API against tests/whelk-helper.  No test
 * sleeps to synchronise: where a test needs output to be incomplete, the
 * helper waits for a byte from a pipe of the test (readn:1), written only
 * after the test has seen the first part.
 *
 * The runner and fixtures; the tests are in tests/host/<topic>.c, one
 * file per topic, sharing tests/host/host.h.
 */
#include "host/host.h"

/* -------------------------------------------------------------- helpers */

static int fds_before;

static void setup(void)
{
    fds_before = count_open_fds();
}

/* No descriptor left open, no zombie left behind. */
void assert_clean(void)
{
    char *list = fd_list();
    ck_assert_msg(count_open_fds() == fds_before, "fds left: %s", list);
    free(list);
    ck_assert_int_eq(count_zombie_children(), 0);
}

whelk_proc *start_ok(whelk_pipeline *p)
{
    whelk_error *err = NULL;
    whelk_proc *pr = whelk_start(p, &err);

    ck_assert_msg(pr != NULL, "start: %s", err_desc(err));
    return pr;
}

void wait_ok(whelk_proc *pr)
{
    whelk_error *err = NULL;
    whelk_result *r = whelk_proc_wait(pr, &err);

    ck_assert_msg(r != NULL, "wait: %s", err_desc(err));
    whelk_result_free(r);
}

/* A pipeline of helper actions with stdout pulled. */
whelk_pipeline *pull_pipe(whelk_cmd *first, ...)
{
    whelk_pipeline *p = whelk_pipeline_new();
    whelk_cmd *c = first;
    va_list ap;

    va_start(ap, first);
    while (c) {
        whelk_pipeline_add(p, c);
        c = va_arg(ap, whelk_cmd *);
    }
    va_end(ap);
    whelk_pipeline_stdout(p, WHELK_PULL);
    return p;
}

/* ------------------------------------------------------------- suite */

TCase *host_tcase(Suite *s, const char *name, int timeout)
{
    return add_tcase(s, name, timeout, setup, NULL);
}

static Suite *host_suite(void)
{
    Suite *s = suite_create("host");

    host_pull(s);
    host_feed(s);
    host_streams(s);
    host_filters(s);
    host_tee(s);

    return s;
}

int main(void)
{
    return run_suite(host_suite());
}
