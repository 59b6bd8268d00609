/*
 * libpipeline/differ.c -- the libpipeline suite's "differ" tests (run by tests/check_libpipeline.c).
 */
#include "libpipeline.h"

START_TEST(test_missing_program_differs)
{
    /* touch:MARK | no-such-program */
    char *mark = tmp_path("mark");
    char *touch = xasprintf("touch:%s", mark);
    static const char *const missing = "whelk-test-no-such-program";
    int before = count_open_fds();
    whelk_pipeline *wp;
    whelk_error *err = NULL;
    whelk_result *r;
    pipeline *lp;
    stderr_trap trap;
    struct sigaction old_chld;
    int *statuses = NULL, nst = 0;
    char *text;

    /* libwhelk: an error in the parent, before anything is spawned */
    wp = whelk_pipe(whelk_cmd_new(HELPER, touch, NULL),
                    whelk_cmd_new(missing, NULL), NULL);
    whelk_pipeline_check(wp, 0); /* not even with checking off */
    r = whelk_run(wp, &err);
    ck_assert_ptr_null(r);
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_NOTFOUND, "%s",
                  err_desc(err));
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_errno(err), ENOENT);
    ck_assert_msg(contains(whelk_error_message(err), missing), "%s",
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(wp);
    ck_assert_msg(!path_exists(mark), "libwhelk spawned stage 0");
    ck_assert_int_eq(count_children(), 0);
    ck_assert_int_eq(count_open_fds(), before);

    /* libpipeline: stage 0 runs, the missing one is a child that prints
     * "can't execute" and exits 255, like any program exiting 255 */
    lp = pipeline_new_commands(pipecmd_new_args(HELPER, touch, NULL),
                               pipecmd_new(missing), NULL);
    pipeline_want_infile(lp, "/dev/null");
    pipeline_want_outfile(lp, "/dev/null");
    ck_assert_int_eq(sigaction(SIGCHLD, NULL, &old_chld), 0);
    trap_stderr(&trap, "libpipeline-stderr");
    pipeline_start(lp);
    pipeline_wait_all(lp, &statuses, &nst);
    text = untrap_stderr(&trap);
    sigaction(SIGCHLD, &old_chld, NULL);
    ck_assert_int_eq(nst, 2);
    ck_assert(WIFEXITED(statuses[0]) && WEXITSTATUS(statuses[0]) == 0);
    ck_assert_msg(WIFEXITED(statuses[1]) && WEXITSTATUS(statuses[1]) == 255,
                  "libpipeline status of the missing program: %#x",
                  statuses[1]);
    ck_assert_msg(contains(text, missing), "libpipeline's stderr: %s", text);
    ck_assert_msg(path_exists(mark), "libpipeline did not run stage 0");
    free(statuses);
    pipeline_free(lp);
    free(text);
    free(touch);
    free(mark);
}
END_TEST

START_TEST(test_unopenable_output_differs)
{
    char *bad = tmp_path("no/such/dir/out");
    char *mark = tmp_path("mark");
    char *touch = xasprintf("touch:%s", mark);
    char *errpath = tmp_path("child-stderr");
    whelk_pipeline *wp;
    whelk_error *err = NULL;
    int pfd[2], status, errfd;
    pid_t pid;
    ssize_t got;
    char buf[16];
    char *text;

    /* libwhelk: an error value, the host goes on, nothing spawned */
    wp = whelk_pipe(whelk_cmd_new(HELPER, touch, NULL), NULL);
    whelk_pipeline_stdout_file(wp, bad, 0);
    ck_assert_ptr_null(whelk_run(wp, &err));
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_IO, "%s", err_desc(err));
    ck_assert_int_eq(whelk_error_errno(err), ENOENT);
    ck_assert_msg(contains(whelk_error_message(err), bad), "%s",
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(wp);
    ck_assert(!path_exists(mark));

    /* libpipeline calls exit() in the host: only in a throwaway process.
     * The child reports through a pipe if pipeline_start ever returns. */
    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    errfd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(errfd, 0);
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        pipeline *lp;

        close(pfd[0]);
        dup2(errfd, 2);
        lp = pipeline_new_commands(pipecmd_new_args(HELPER, touch, NULL),
                                   NULL);
        pipeline_want_infile(lp, "/dev/null");
        pipeline_want_outfile(lp, bad);
        pipeline_start(lp);
        (void)!write(pfd[1], "returned", 8);
        pipeline_wait(lp);
        _exit(0);
    }
    close(pfd[1]);
    close(errfd);
    do
        got = read(pfd[0], buf, sizeof buf);
    while (got < 0 && errno == EINTR);
    close(pfd[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(got == 0, "pipeline_start returned (%zd bytes)", got);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0,
                  "the host process of libpipeline: status %#x", status);
    text = slurp(errpath, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(contains(text, bad), "libpipeline printed: %s", text);
    free(text);
    free(errpath);
    free(touch);
    free(mark);
    free(bad);
}
END_TEST

void libpipeline_differ(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "differ", TEST_TIMEOUT, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_missing_program_differs);
    tcase_add_test(tc, test_unopenable_output_differs);
}
