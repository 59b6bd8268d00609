/*
 * pipe/redirect.c -- the pipe suite's "redirections" tests (run by tests/check_pipe.c).
 */
#include "pipe.h"

START_TEST(test_stdin_bytes)
{
    whelk_pipeline *p = whelk_pipe(H("cat"), H("cat"), NULL);
    whelk_result *r;

    whelk_pipeline_stdin_bytes(p, "in\0put\n", 7);
    r = run_ok(p);
    {
        size_t len;
        const char *s = whelk_result_stdout(r, &len);
        ASSERT_BYTES(s, len, "in\0put\n", 7);
    }
    whelk_result_free(r);
    /* the bytes stay with the pipeline: a second run gets them again */
    r = run_ok(p);
    {
        size_t len;
        const char *s = whelk_result_stdout(r, &len);
        ASSERT_BYTES(s, len, "in\0put\n", 7);
    }
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stdin_file)
{
    char *in = tmp_path("in put");
    size_t wlen;
    char *text = lines_text(2000, &wlen);
    char *num = xasprintf("%zu\n", wlen);
    whelk_pipeline *p = whelk_pipe(H("cat"), H("count"), NULL);
    whelk_result *r;

    ck_assert_int_eq(write_file(in, text, wlen, 0644), 0);
    whelk_pipeline_stdin_file(p, in);
    r = run_ok_free(p);
    ASSERT_STDOUT(r, num);
    whelk_result_free(r);
    free(in);
    free(text);
    free(num);
}
END_TEST

START_TEST(test_stdin_fd)
{
    char *in = tmp_path("in");
    int fd, before;
    whelk_pipeline *p = whelk_pipe(H("cat"), H("cat"), NULL);
    whelk_result *r;

    ck_assert_int_eq(write_file(in, "from a descriptor\n", 18, 0644), 0);
    fd = open(in, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    before = count_open_fds();
    whelk_pipeline_stdin_fd(p, fd);
    r = run_ok_free(p);
    ASSERT_STDOUT(r, "from a descriptor\n");
    whelk_result_free(r);
    ASSERT_FDS(before);
    /* still the caller's: open, and read to the end by the child */
    ck_assert(fd_is_open(fd));
    ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 18);
    ck_assert_int_eq(close(fd), 0);
    free(in);
}
END_TEST

START_TEST(test_stdin_devnull)
{
    whelk_pipeline *p = whelk_pipe(H("cat"), H("count"), NULL);
    whelk_result *r;

    /* the default */
    r = run_ok(p);
    ASSERT_STDOUT(r, "0\n");
    whelk_result_free(r);
    /* explicitly, replacing bytes set before */
    whelk_pipeline_stdin_bytes(p, "abc", 3);
    whelk_pipeline_stdin(p, WHELK_NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "0\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stdout_file_truncate_append)
{
    char *out = tmp_path("out file");
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_int_eq(write_file(out, "old content, longer\n", 20, 0644), 0);
    p = whelk_pipe(H("out:new\\n"), H("cat"), NULL);
    whelk_pipeline_stdout_file(p, out, 0);
    r = run_ok_free(p);
    ASSERT_STDOUT(r, "");
    whelk_result_free(r);
    ASSERT_FILE(out, "new\n");

    p = whelk_pipe(H("out:A\\n"), H("cat"), NULL);
    whelk_pipeline_stdout_file(p, out, 1);
    r = run_ok(p);
    whelk_result_free(r);
    r = run_ok(p); /* append twice */
    whelk_result_free(r);
    whelk_pipeline_free(p);
    ASSERT_FILE(out, "new\nA\nA\n");

    /* created when missing */
    free(out);
    out = tmp_path("created");
    p = whelk_pipe(H("out:c"), H("cat"), NULL);
    whelk_pipeline_stdout_file(p, out, 1);
    whelk_result_free(run_ok_free(p));
    ASSERT_FILE(out, "c");
    free(out);
}
END_TEST

START_TEST(test_stdout_fd)
{
    char *out = tmp_path("out");
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int before = count_open_fds();
    whelk_pipeline *p = whelk_pipe(H("out:via fd\\n"), H("cat"), NULL);
    whelk_result *r;

    ck_assert_int_ge(fd, 0);
    whelk_pipeline_stdout_fd(p, fd);
    r = run_ok_free(p);
    ASSERT_STDOUT(r, "");
    whelk_result_free(r);
    ASSERT_FDS(before);
    /* the caller still owns it and can go on writing */
    ck_assert_int_eq(write(fd, "Z\n", 2), 2);
    ck_assert_int_eq(close(fd), 0);
    ASSERT_FILE(out, "via fd\nZ\n");
    free(out);
}
END_TEST

START_TEST(test_stdout_devnull)
{
    whelk_pipeline *p = whelk_pipe(H("lines:100"), H("cat"), NULL);
    whelk_result *r;

    whelk_pipeline_stdout(p, WHELK_NULL);
    r = run_ok_free(p);
    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "");
    ASSERT_STATUS(r, 0, 0, 0);
    ASSERT_STATUS(r, 1, 0, 0);
    whelk_result_free(r);
}
END_TEST

START_TEST(test_stdout_to_stderr)
{
    /* 1>&2 in the last stage: its stdout lands in captured stderr, in
     * order with what it writes to stderr itself */
    whelk_pipeline *p = whelk_pipe(H("out:a\\n"),
                                   H("cat", "err:e\\n", "out:z\\n"), NULL);
    whelk_result *r;

    whelk_pipeline_stdout(p, WHELK_TO_STDERR);
    r = run_ok_free(p);
    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "a\ne\nz\n");
    whelk_result_free(r);
}
END_TEST

START_TEST(test_stderr_file_truncate_append)
{
    char *path = tmp_path("err log");
    whelk_cmd *mid = H("drain", "err:one\\n");
    whelk_pipeline *p = whelk_pipe(H("out:x", "err:zero\\n"), mid, H("cat"),
                                   NULL);
    whelk_result *r;

    ck_assert_int_eq(write_file(path, "stale stale stale\n", 18, 0644), 0);
    whelk_cmd_stderr_file(mid, path, 0);
    r = run_ok(p);
    ASSERT_STDERR(r, "zero\n"); /* stage 1's went to the file */
    whelk_result_free(r);
    ASSERT_FILE(path, "one\n");
    whelk_cmd_stderr_file(mid, path, 1);
    whelk_result_free(run_ok(p));
    whelk_result_free(run_ok(p));
    ASSERT_FILE(path, "one\none\none\n");
    whelk_pipeline_free(p);
    free(path);
}
END_TEST

START_TEST(test_stderr_fd)
{
    char *path = tmp_path("err");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int before = count_open_fds();
    whelk_cmd *mid = H("drain", "err:to fd\\n");
    whelk_result *r;

    ck_assert_int_ge(fd, 0);
    whelk_cmd_stderr_fd(mid, fd);
    r = run_ok_free(whelk_pipe(H("out:x"), mid, H("cat"), NULL));
    ASSERT_STDERR(r, "");
    ASSERT_STDOUT(r, "");
    whelk_result_free(r);
    ASSERT_FDS(before);
    ck_assert_int_eq(write(fd, "Z\n", 2), 2);
    ck_assert_int_eq(close(fd), 0);
    ASSERT_FILE(path, "to fd\nZ\n");
    free(path);
}
END_TEST

START_TEST(test_stderr_devnull)
{
    whelk_cmd *first = H("err:zero\\n", "out:x");
    whelk_result *r;

    whelk_cmd_stderr(first, WHELK_NULL);
    r = run_ok_free(whelk_pipe(first, H("cat", "err:one\\n"), NULL));
    ASSERT_STDERR(r, "one\n");
    ASSERT_STDOUT(r, "x");
    whelk_result_free(r);
}
END_TEST

START_TEST(test_stderr_to_stdout_last)
{
    whelk_cmd *last = H("cat", "err:E\\n", "out:z");
    whelk_result *r;

    whelk_cmd_stderr(last, WHELK_TO_STDOUT);
    r = run_ok_free(whelk_pipe(H("out:x\\n", "err:s0\\n"), last, NULL));
    ASSERT_STDOUT(r, "x\nE\nz");
    ASSERT_STDERR(r, "s0\n");
    whelk_result_free(r);
}
END_TEST

START_TEST(test_caller_fds_stay_open)
{
    char *inp = tmp_path("in"), *outp = tmp_path("out"), *errp = tmp_path("err");
    int in, out, errfd, before, i;
    whelk_cmd *mid;
    whelk_pipeline *p;

    ck_assert_int_eq(write_file(inp, "data\n", 5, 0644), 0);
    in = open(inp, O_RDONLY | O_CLOEXEC);
    out = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    errfd = open(errp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert(in >= 0 && out >= 0 && errfd >= 0);
    before = count_open_fds();
    mid = H("cat", "err:e\\n");
    whelk_cmd_stderr_fd(mid, errfd);
    p = whelk_pipe(H("cat"), mid, H("cat"), NULL);
    whelk_pipeline_stdin_fd(p, in);
    whelk_pipeline_stdout_fd(p, out);
    for (i = 0; i < 2; i++) {
        whelk_result *r = run_ok(p);

        ASSERT_STDOUT(r, "");
        whelk_result_free(r);
        ASSERT_FDS(before);
        ck_assert(fd_is_open(in) && fd_is_open(out) && fd_is_open(errfd));
        ck_assert_int_eq(lseek(in, 0, SEEK_SET), 0);
    }
    whelk_pipeline_free(p);
    ck_assert_int_eq(write(out, "!", 1), 1);
    ck_assert_int_eq(write(errfd, "!", 1), 1);
    ck_assert_int_eq(close(in), 0);
    ck_assert_int_eq(close(out), 0);
    ck_assert_int_eq(close(errfd), 0);
    ASSERT_FILE(outp, "data\ndata\n!");
    ASSERT_FILE(errp, "e\ne\n!");
    free(inp);
    free(outp);
    free(errp);
}
END_TEST

void pipe_redirect(Suite *s)
{
    TCase *tc;

    tc = pipe_tcase(s, "redirect", 1);
    tcase_add_test(tc, test_stdin_bytes);
    tcase_add_test(tc, test_stdin_file);
    tcase_add_test(tc, test_stdin_fd);
    tcase_add_test(tc, test_stdin_devnull);
    tcase_add_test(tc, test_stdout_file_truncate_append);
    tcase_add_test(tc, test_stdout_fd);
    tcase_add_test(tc, test_stdout_devnull);
    tcase_add_test(tc, test_stdout_to_stderr);
    tcase_add_test(tc, test_stderr_file_truncate_append);
    tcase_add_test(tc, test_stderr_fd);
    tcase_add_test(tc, test_stderr_devnull);
    tcase_add_test(tc, test_stderr_to_stdout_last);
    tcase_add_test(tc, test_caller_fds_stay_open);
}
