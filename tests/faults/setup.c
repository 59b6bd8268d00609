/*
 * faults/setup.c -- the faults suite's "setup" tests (run by tests/check_faults.c).
 */
#include "faults.h"

/* Issue 13: a command from a string, copied, with an extra descriptor,
 * a limit and a umask, in a pipeline whose stages die with the host (a
 * keeper thread spawns them: its own allocations are not counted). */
static char setup_words[4096];

static enum outcome scen_setup(void)
{
    whelk_cmd *t, *c;
    whelk_pipeline *p;
    whelk_result *r = NULL;
    whelk_error *err = NULL;
    enum outcome o = OUT_WRONG;
    const char *s;
    size_t len;

    ARM();
    t = whelk_cmd_new_argstr(setup_words);
    whelk_cmd_umask(t, 027);
    whelk_cmd_rlimit(t, RLIMIT_CORE, 0, 0);
    whelk_cmd_fd(t, 5, 2);
    c = whelk_cmd_dup(t);
    whelk_cmd_free(t);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    whelk_pipeline_die_with_host(p, 1);
    r = whelk_run(p, &err);
    DISARM();
    if (!r) {
        EXPECT(injected, "undisturbed run: %s", err_desc(err));
        o = expect_nomem(err);
        goto out;
    }
    s = whelk_result_stdout(r, &len);
    if (EXPECT(same_bytes(s, len, "027\n0 1 2 5\na b"), "stdout \"%s\"", s))
        o = injected ? OUT_RECOVERED : OUT_NORMAL;
out:
    whelk_result_free(r);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    return o;
}

START_TEST(test_nomem_setup)
{
    tally t;

    set_build(BUILD_ABS);
    snprintf(setup_words, sizeof setup_words, "'%s' umask fds 'out:a b'",
             HELPER);
    t = sweep("child setup (argstr, dup, fd, rlimit, umask, die_with_host)",
              scen_setup);
    ck_assert_int_gt(t.n, 10);
}
END_TEST

void faults_setup(TCase *tc)
{
    tcase_add_test(tc, test_nomem_setup);
}
