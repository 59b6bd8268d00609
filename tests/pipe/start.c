/*
 * pipe/start.c -- the pipe suite's "cannot start" tests (run by tests/check_pipe.c).
 */
#include "pipe.h"

START_TEST(test_missing_middle_program)
{
    char *mark = tmp_path("mark");
    char *touch = touch_action(mark);
    int before = count_open_fds();
    whelk_pipeline *p =
        whelk_pipe(H(touch, "cat"),
                   whelk_cmd_new("whelk-test-no-such-program", "x", NULL),
                   H("cat"), NULL);
    whelk_error *err = run_fail(p, WHELK_E_NOTFOUND);

    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_errno(err), ENOENT);
    ck_assert_msg(contains(whelk_error_message(err),
                           "whelk-test-no-such-program"),
                  "message: %s", whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ck_assert_msg(!path_exists(mark), "stage 0 was spawned");
    ASSERT_NO_CHILDREN();
    ASSERT_FDS(before);
    free(mark);
    free(touch);
}
END_TEST

START_TEST(test_exec_error_middle_stops_started)
{
    /* found and executable, but not a program: the exec fails after
     * stage 0 has started, blocked on a pipe the test keeps open; it must
     * be stopped and reaped, and nothing may leak */
    static const char junk[] = "\x7f"
                               "ELF\x02\x01junk that is no program";
    char *bad = tmp_path("not-a-program");
    int pfd[2], before;
    whelk_pipeline *p;
    whelk_error *err;

    ck_assert_int_eq(write_file(bad, junk, sizeof junk - 1, 0755), 0);
    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    before = count_open_fds();
    p = whelk_pipe(H("cat"), whelk_cmd_new(bad, NULL), H("cat"), NULL);
    whelk_pipeline_stdin_fd(p, pfd[0]);
    /* a library that missed the failure would wait for stage 0 forever:
     * let it fail with a timeout instead of hanging the suite */
    whelk_pipeline_timeout(p, 30000);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_errno(err), ENOEXEC);
    ck_assert_msg(contains(whelk_error_message(err), bad), "message: %s",
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
    ASSERT_FDS(before);
    ck_assert(fd_is_open(pfd[0]) && fd_is_open(pfd[1]));
    close(pfd[0]);
    close(pfd[1]);
    free(bad);
}
END_TEST

START_TEST(test_bad_cwd_middle)
{
    char *mark = tmp_path("mark");
    char *touch = touch_action(mark);
    char *dir = tmp_path("no-such-dir");
    int before = count_open_fds();
    whelk_cmd *mid = H("cat");
    whelk_pipeline *p = whelk_pipe(H(touch), mid, H("cat"), NULL);
    whelk_error *err;

    whelk_cmd_chdir(mid, dir);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_errno(err), ENOENT);
    ck_assert_msg(contains(whelk_error_message(err), dir), "message: %s",
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ck_assert_msg(!path_exists(mark), "stage 0 was spawned");
    ASSERT_NO_CHILDREN();
    ASSERT_FDS(before);
    free(mark);
    free(touch);
    free(dir);
}
END_TEST

/* Unopenable redirection files: WHELK_E_IO naming the path, nothing
 * spawned, nothing leaked. */
static void unopenable(int which)
{
    char *mark = tmp_path("mark");
    char *touch = touch_action(mark);
    char *bad = tmp_path(which == 2 ? "" : "no/such/dir/file");
    int before = count_open_fds();
    whelk_cmd *mid = H("cat");
    whelk_pipeline *p = whelk_pipe(H(touch), mid, H("cat"), NULL);
    whelk_error *err;

    if (which == 0)
        whelk_pipeline_stdin_file(p, bad);
    else if (which == 1)
        whelk_pipeline_stdout_file(p, bad, 0);
    else
        whelk_cmd_stderr_file(mid, bad, 1); /* a directory */
    err = run_fail(p, WHELK_E_IO);
    ck_assert_int_eq(whelk_error_errno(err), which == 2 ? EISDIR : ENOENT);
    ck_assert_msg(contains(whelk_error_message(err), bad),
                  "message does not name %s: %s", bad,
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ck_assert_msg(!path_exists(mark), "a stage was spawned");
    ASSERT_NO_CHILDREN();
    ASSERT_FDS(before);
    free(mark);
    free(touch);
    free(bad);
}

START_TEST(test_unopenable_stdout_file)
{
    unopenable(1);
}
END_TEST

START_TEST(test_unopenable_stdin_file)
{
    unopenable(0);
}
END_TEST

START_TEST(test_unopenable_stderr_file)
{
    unopenable(2);
}
END_TEST

void pipe_start(Suite *s)
{
    TCase *tc;

    tc = pipe_tcase(s, "start", 1);
    tcase_add_test(tc, test_missing_middle_program);
    tcase_add_test(tc, test_exec_error_middle_stops_started);
    tcase_add_test(tc, test_bad_cwd_middle);
    tcase_add_test(tc, test_unopenable_stdout_file);
    tcase_add_test(tc, test_unopenable_stdin_file);
    tcase_add_test(tc, test_unopenable_stderr_file);
}
