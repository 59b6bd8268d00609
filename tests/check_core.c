/*
 * check_core.c -- the core suite: running one command safely (issue 2).
 * The runner and fixtures; the tests are in tests/core/<topic>.c, one file
 * per topic, sharing tests/core/core.h.
 *
 * Everything is tested through the public API (whelk.h) against the helper
 * child tests/whelk-helper, whose action language is documented at the top
 * of tests/whelk-helper.c.  Only the exact-message tests run `sh`, which
 * every POSIX system has, because the messages quote a real command line.
 *
 * No test sleeps to synchronise: ordering comes from pipes, waitid(WNOWAIT)
 * and the blocking calls of the library itself.
 */
#include "core/core.h"

/* ----------------------------------------------------------- fixtures */

whelk_result *helper_ok_(whelk_pipeline *p)
{
    whelk_result *r;

    ck_assert_ptr_nonnull(p);
    r = run_ok(p);
    whelk_pipeline_free(p);
    return r;
}

/* Temporary directories: each test case gets a base directory (common.h's
 * tmp_parent), made and removed by an unchecked fixture in the runner
 * process, and each test a directory inside it (tmp_setup).  A failed
 * assertion ends the forked test process without its teardown; the base
 * directory goes all the same.  The host variables tests change are
 * restored by teardown (for CK_FORK=no). */
static char *saved_path, *saved_home;

void base_setup(void)
{
    tmp_parent = make_tmpdir();
    ck_assert_ptr_nonnull(tmp_parent);
}

void base_teardown(void)
{
    rm_rf(tmp_parent);
    free(tmp_parent);
    tmp_parent = NULL;
}

void tmp_env_setup(void)
{
    tmp_setup();
    saved_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
}

static void restore_env(const char *name, char **saved)
{
    if (*saved)
        setenv(name, *saved, 1);
    else
        unsetenv(name);
    free(*saved);
    *saved = NULL;
}

void tmp_env_teardown(void)
{
    tmp_teardown();
    restore_env("PATH", &saved_path);
    restore_env("HOME", &saved_home);
}

/* Link (or copy) the helper into the tmpdir under name; returns the path. */
char *install_helper(const char *name)
{
    char *dst = tmp_path(name);

    ck_assert_msg(symlink(HELPER, dst) == 0, "symlink %s: %s", dst,
                  strerror(errno));
    return dst;
}

/* The host must keep the default SIGPIPE disposition for these tests to
 * mean anything: a library that writes to a closed pipe kills the test. */
void assert_sigpipe_default(void)
{
    struct sigaction sa;

    ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
    ck_assert_msg(sa.sa_handler == SIG_DFL, "SIGPIPE is not SIG_DFL");
}

void assert_no_pending_sigpipe(void)
{
    sigset_t pending, mask;

    ck_assert_int_eq(sigpending(&pending), 0);
    ck_assert_msg(!sigismember(&pending, SIGPIPE), "a SIGPIPE is pending");
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &mask), 0);
    ck_assert_msg(!sigismember(&mask, SIGPIPE), "SIGPIPE left blocked");
}

/* ============================================================ suite */

TCase *core_tcase(Suite *s, const char *name, int tmp)
{
    TCase *tc = add_tcase(s, name, TEST_TIMEOUT, tmp ? tmp_env_setup : NULL,
                          tmp ? tmp_env_teardown : NULL);

    if (tmp)
        tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
    return tc;
}

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");

    core_capture(s);
    core_big(s);
    core_checking(s);
    core_spawn_errors(s);
    core_invalid(s);
    core_env(s);
    core_redirect(s);
    core_fds(s);
    core_signals(s);
    core_stress(s);
    core_api(s);
    core_limits(s);

    return s;
}

int main(void)
{
    return run_suite(core_suite());
}
