/*
 * setup/limits_ids.c -- the setup suite's "limits_ids" tests (run by tests/check_setup.c).
 */
#include "setup.h"

/* ===================================================================== */
/* Limits, umask, nice                                                   */
/* ===================================================================== */

START_TEST(test_rlimit)
{
    whelk_cmd *c = H("rlimit:NOFILE", "rlimit:CORE", "fds");
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err;
    char *open_max;
    long nr_open;

    whelk_cmd_rlimit(c, RLIMIT_NOFILE, 64, 128);
    whelk_cmd_rlimit(c, RLIMIT_CORE, 1, 1);
    whelk_cmd_rlimit(c, RLIMIT_CORE, 0, 0); /* a later call wins */
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "64 128\n0 0\n0 1 2\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* bad arguments */
    c = H("exit:0");
    whelk_cmd_rlimit(c, 9999, 1, 1);
    p = whelk_pipe(c, NULL);
    whelk_error_free(run_fail(p, WHELK_E_INVALID));
    whelk_pipeline_free(p);
    c = H("exit:0");
    whelk_cmd_rlimit(c, RLIMIT_CORE, 2, 1);
    p = whelk_pipe(c, NULL);
    whelk_error_free(run_fail(p, WHELK_E_INVALID));
    whelk_pipeline_free(p);

    /* above fs.nr_open even root cannot go: the child's step fails */
    open_max = slurp("/proc/sys/fs/nr_open", NULL);
    ck_assert_ptr_nonnull(open_max);
    nr_open = atol(open_max);
    free(open_max);
    c = H("exit:0");
    whelk_cmd_rlimit(c, RLIMIT_NOFILE, (unsigned long long)nr_open + 1,
                     (unsigned long long)nr_open + 1);
    p = whelk_pipe(c, NULL);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_int_eq(whelk_error_errno(err), EPERM);
    ck_assert_msg(contains(whelk_error_message(err), "resource limit"), "%s",
                  whelk_error_message(err));
    ck_assert_int_eq(count_children(), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_umask)
{
    char *dir = make_tmpdir(), *file = path_join(dir, "f"), *touch;
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_result *r;
    struct stat st;
    mode_t old = umask(022);

    touch = xasprintf("touch:%s", file);
    c = helper_cmd("umask", touch, (const char *)NULL);
    whelk_cmd_umask(c, 027);
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "027\n");
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* without it, the host's */
    p = whelk_pipe(H("umask"), NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "022\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    c = H("umask");
    whelk_cmd_umask(c, 01000);
    p = whelk_pipe(c, NULL);
    whelk_error_free(run_fail(p, WHELK_E_INVALID));
    whelk_pipeline_free(p);
    umask(old);
    free(touch);
    free(file);
    rm_rf(dir);
    free(dir);
}
END_TEST

static int clamp_nice(int v)
{
    return v < -20 ? -20 : v > 19 ? 19 : v;
}

static void check_nice(int inc, int want)
{
    whelk_cmd *c = H("nice");
    whelk_pipeline *p;
    whelk_result *r;
    char *s = xasprintf("%d\n", want);

    whelk_cmd_nice(c, inc);
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, s);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(s);
}

START_TEST(test_nice)
{
    int cur;

    errno = 0;
    cur = getpriority(PRIO_PROCESS, 0);
    ck_assert_int_eq(errno, 0);
    check_nice(3, clamp_nice(cur + 3));
    check_nice(100, 19);
    check_nice(0, cur);
}
END_TEST

START_TEST(test_nice_negative_root)
{
    int cur;

    NEED_ROOT();
    errno = 0;
    cur = getpriority(PRIO_PROCESS, 0);
    ck_assert_int_eq(errno, 0);
    check_nice(-4, clamp_nice(cur - 4));
}
END_TEST

START_TEST(test_user_drop_root)
{
    char *dir, *file, *touch, *sub, *helper;
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err;
    struct stat st;

    NEED_ROOT();
    dir = make_tmpdir_in("/tmp");
    ck_assert_int_eq(chmod(dir, 0777), 0);
    helper = helper_copy(dir);
    file = path_join(dir, "made");
    touch = xasprintf("touch:%s", file);
    c = whelk_cmd_new(helper, "ids", touch, NULL);
    whelk_cmd_user(c, 65534, 65533);
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    /* one group only: root's supplementary groups are gone */
    ASSERT_STDOUT(r, "65534 65533 65533\n");
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_eq(st.st_uid, 65534);
    ck_assert_int_eq(st.st_gid, 65533);
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* the working directory is entered as that user */
    sub = path_join(dir, "private");
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    c = whelk_cmd_new(helper, "pwd", NULL);
    whelk_cmd_user(c, 65534, 65534);
    whelk_cmd_chdir(c, sub);
    p = whelk_pipe(c, NULL);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_int_eq(whelk_error_errno(err), EACCES);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(sub);
    free(touch);
    free(file);
    free(helper);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(test_user_not_root_eperm)
{
    /* a host that is not root: a child process of the test drops to
     * nobody, then asks for root; the answer is an error value */
    pid_t pid;
    int st;

    NEED_ROOT();
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        whelk_cmd *c;
        whelk_pipeline *p;
        whelk_error *err = NULL;
        whelk_result *r;
        int ok;

        if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
            _exit(2);
        c = whelk_cmd_new("/bin/true", NULL);
        whelk_cmd_user(c, 0, 0);
        p = whelk_pipe(c, NULL);
        r = whelk_run(p, &err);
        ok = !r && whelk_error_kind(err) == WHELK_E_EXEC &&
             whelk_error_errno(err) == EPERM &&
             contains(whelk_error_message(err), "setgroups");
        if (!ok)
            fprintf(stderr, "got %s\n", err_desc(err));
        whelk_error_free(err);
        whelk_result_free(r);
        whelk_pipeline_free(p);
        _exit(ok ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
}
END_TEST

void setup_limits_ids(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "limits-ids", TEST_TIMEOUT, NULL, NULL);
    tcase_add_test(tc, test_rlimit);
    tcase_add_test(tc, test_umask);
    tcase_add_test(tc, test_nice);
    tcase_add_test(tc, test_nice_negative_root);
    tcase_add_test(tc, test_user_drop_root);
    tcase_add_test(tc, test_user_not_root_eperm);
}
