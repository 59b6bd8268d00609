/*
 * core/redirect.c -- the core suite's "redirects" tests (run by tests/check_core.c).
 */
#include "core.h"

START_TEST(test_stderr_null)
{
    whelk_cmd *c = helper_cmd("out:a", "err:b", "out:c", (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;

    whelk_cmd_stderr(c, WHELK_NULL);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "ac");
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stderr_to_stdout)
{
    whelk_cmd *c =
        helper_cmd("out:a", "err:b", "out:c", "err:d", (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;

    whelk_cmd_stderr(c, WHELK_TO_STDOUT);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "abcd"); /* one pipe: order kept exactly */
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stdout_null)
{
    whelk_pipeline *p =
        helper_pipe("outn:1000000", "err:e", (const char *)NULL);
    whelk_result *r;

    whelk_pipeline_stdout(p, WHELK_NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "e");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stdout_to_stderr)
{
    whelk_pipeline *p =
        helper_pipe("out:a", "err:b", "out:c", (const char *)NULL);
    whelk_result *r;

    whelk_pipeline_stdout(p, WHELK_TO_STDERR);
    r = run_ok(p);
    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "abc");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stdout_file_truncate_append)
{
    char *f = tmp_path("out.txt");
    whelk_pipeline *p;
    whelk_result *r;
    char *got;
    size_t len;

    ck_assert_int_eq(write_file(f, "old contents that are long", 26, 0644), 0);
    p = helper_pipe("out:first\\n", "err:e", (const char *)NULL);
    whelk_pipeline_stdout_file(p, f, 0);
    r = run_ok(p);
    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "e");
    whelk_result_free(r);
    got = slurp(f, &len);
    ck_assert_str_eq(got, "first\n");
    free(got);
    whelk_pipeline_stdout_file(p, f, 1);
    r = run_ok(p);
    whelk_result_free(r);
    got = slurp(f, &len);
    ck_assert_str_eq(got, "first\nfirst\n");
    free(got);
    whelk_pipeline_free(p);
    free(f);
}
END_TEST

START_TEST(test_stdout_file_created)
{
    char *f = tmp_path("new.txt");
    whelk_pipeline *p = helper_pipe("outn:300000", (const char *)NULL);
    whelk_result *r;
    struct stat st;
    char *got;
    size_t len;
    mode_t um = umask(022);

    whelk_pipeline_stdout_file(p, f, 0);
    r = run_ok(p);
    umask(um);
    whelk_result_free(r);
    got = slurp(f, &len);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(len, 300000);
    ck_assert(is_pattern(got, len));
    ck_assert_int_eq(stat(f, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);
    free(got);
    whelk_pipeline_free(p);
    free(f);
}
END_TEST

START_TEST(test_stderr_file_append)
{
    char *f = tmp_path("err.txt");
    whelk_cmd *c = helper_cmd("err:E\\n", "out:o", (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;
    char *got;

    ck_assert_int_eq(write_file(f, "start\n", 6, 0644), 0);
    whelk_cmd_stderr_file(c, f, 1);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "o");
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    got = slurp(f, NULL);
    ck_assert_str_eq(got, "start\nE\n");
    free(got);
    whelk_cmd_stderr_file(c, f, 0);
    r = run_ok(p);
    whelk_result_free(r);
    got = slurp(f, NULL);
    ck_assert_str_eq(got, "E\n");
    free(got);
    whelk_pipeline_free(p);
    free(f);
}
END_TEST

START_TEST(test_stdin_file)
{
    char *f = tmp_path("in.bin");
    size_t n = 3 * MiB + 7, len;
    unsigned char *data = random_bytes(n, 9);
    whelk_pipeline *p = helper_pipe("cat", (const char *)NULL);
    whelk_result *r;
    const char *s;

    ck_assert_int_eq(write_file(f, data, n, 0644), 0);
    whelk_pipeline_stdin_file(p, f);
    r = run_ok(p);
    s = whelk_result_stdout(r, &len);
    ASSERT_BYTES(s, len, (const char *)data, n);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(data);
    free(f);
}
END_TEST

START_TEST(test_stdin_stdout_fds)
{
    char *fin = tmp_path("in"), *fout = tmp_path("out"),
         *ferr = tmp_path("err");
    int in, out, errfd;
    whelk_cmd *c = helper_cmd("cat", "err:to fd", "fds", (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;
    char *got;

    ck_assert_int_eq(write_file(fin, "input\n", 6, 0644), 0);
    in = open(fin, O_RDONLY); /* inheritable on purpose */
    out = open(fout, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    errfd = open(ferr, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert(in >= 0 && out >= 0 && errfd >= 0);
    whelk_cmd_stderr_fd(c, errfd);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    whelk_pipeline_stdin_fd(p, in);
    whelk_pipeline_stdout_fd(p, out);
    r = run_ok(p);
    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    /* the caller keeps its descriptors */
    ck_assert(fd_is_open(in) && fd_is_open(out) && fd_is_open(errfd));
    got = slurp(fout, NULL);
    ck_assert_str_eq(got, "input\n0 1 2\n");
    free(got);
    got = slurp(ferr, NULL);
    ck_assert_str_eq(got, "to fd");
    free(got);
    close(in);
    close(out);
    close(errfd);
    whelk_pipeline_free(p);
    free(fin);
    free(fout);
    free(ferr);
}
END_TEST

/* Point the host's fd to a file for the duration of a run. */
START_TEST(test_inherit)
{
    char *fin = tmp_path("in"), *fout = tmp_path("out");
    int saved0 = fcntl(0, F_DUPFD_CLOEXEC, 100);
    int saved1 = fcntl(1, F_DUPFD_CLOEXEC, 100);
    int saved2 = fcntl(2, F_DUPFD_CLOEXEC, 100);
    whelk_pipeline *p;
    whelk_result *r;
    int fd;
    char *got;

    ck_assert(saved0 >= 0 && saved1 >= 0 && saved2 >= 0);
    ck_assert_int_eq(write_file(fin, "12345", 5, 0644), 0);
    fd = open(fin, O_RDONLY);
    ck_assert_int_eq(dup2(fd, 0), 0);
    close(fd);
    fd = open(fout, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_eq(dup2(fd, 1), 1);
    ck_assert_int_eq(dup2(fd, 2), 2);
    close(fd);

    p = helper_pipe("count", "err:E", (const char *)NULL);
    whelk_pipeline_stdin(p, WHELK_INHERIT);
    whelk_pipeline_stdout(p, WHELK_INHERIT);
    whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_INHERIT);
    r = run_ok(p);

    dup2(saved0, 0);
    dup2(saved1, 1);
    dup2(saved2, 2);
    close(saved0);
    close(saved1);
    close(saved2);

    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    got = slurp(fout, NULL);
    ck_assert_str_eq(got, "5\nE");
    free(got);
    whelk_pipeline_free(p);
    free(fin);
    free(fout);
}
END_TEST

void core_redirect(Suite *s)
{
    TCase *tc;

    tc = core_tcase(s, "redirect", 1);
    tcase_add_test(tc, test_stderr_null);
    tcase_add_test(tc, test_stderr_to_stdout);
    tcase_add_test(tc, test_stdout_null);
    tcase_add_test(tc, test_stdout_to_stderr);
    tcase_add_test(tc, test_stdout_file_truncate_append);
    tcase_add_test(tc, test_stdout_file_created);
    tcase_add_test(tc, test_stderr_file_append);
    tcase_add_test(tc, test_stdin_file);
    tcase_add_test(tc, test_stdin_stdout_fds);
    tcase_add_test(tc, test_inherit);
}
