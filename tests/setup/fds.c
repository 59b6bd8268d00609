/*
 * setup/fds.c -- the setup suite's "fds" tests (run by tests/check_setup.c).
 */
#include "setup.h"

/* ===================================================================== */
/* Extra descriptors: whelk_cmd_fd                                       */
/* ===================================================================== */

/* Everything readable from fd now (the writers are closed), malloc'd. */
static char *read_all(int fd)
{
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    ssize_t n;

    ck_assert_ptr_nonnull(buf);
    while ((n = read(fd, buf + len, cap - len - 1)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        ck_assert_int_ge(n, 0);
        len += (size_t)n;
        if (len + 1 == cap)
            ck_assert_ptr_nonnull(buf = realloc(buf, cap *= 2));
    }
    buf[len] = '\0';
    return buf;
}

START_TEST(test_fd_write_and_read)
{
    int out[2], in[2], before = count_open_fds();
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_result *r;
    char *got;

    ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
    ck_assert_int_eq(write(in[1], "from the host", 13), 13);
    close(in[1]);
    /* a status pipe on 3 (gpg --status-fd 3), data to read on 5 */
    c = H("writefd:3:status\\n", "readfd:5", "fds");
    whelk_cmd_fd(c, 3, out[1]);
    whelk_cmd_fd(c, 5, in[0]);
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "from the host0 1 2 3 5\n");
    whelk_result_free(r);
    /* the caller keeps its descriptors, and nothing else is left open */
    ck_assert(fd_is_open(out[1]) && fd_is_open(in[0]));
    close(out[1]);
    close(in[0]);
    got = read_all(out[0]);
    ck_assert_str_eq(got, "status\n");
    free(got);
    close(out[0]);
    ck_assert_int_eq(count_open_fds(), before);
    whelk_pipeline_free(p);
}
END_TEST

/* Makes a pipe whose write end is exactly want (which must be free or is
 * saved in *saved); its read end, moved above 200, is returned. */
static int pipe_at(int want, int *saved)
{
    int fds[2], rd, wr;

    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    rd = fcntl(fds[0], F_DUPFD_CLOEXEC, 200);
    wr = fcntl(fds[1], F_DUPFD_CLOEXEC, 200);
    close(fds[0]);
    close(fds[1]);
    ck_assert(rd >= 200 && wr >= 200);
    *saved = fd_is_open(want) ? fcntl(want, F_DUPFD_CLOEXEC, 300) : -1;
    ck_assert_int_eq(dup3(wr, want, O_CLOEXEC), want);
    close(wr);
    return rd;
}

static void restore_fd(int fd, int saved)
{
    if (saved >= 0) {
        ck_assert_int_eq(dup3(saved, fd, O_CLOEXEC), fd);
        close(saved);
    } else {
        close(fd);
    }
}

START_TEST(test_fd_crossed)
{
    /* host 40 as child 41 and host 41 as child 40, at once (the shape of
     * 3 -> 4 and 4 -> 3; Check itself talks on the test's fd 3) */
    int s40, s41, r40 = pipe_at(40, &s40), r41 = pipe_at(41, &s41);
    whelk_cmd *c = H("writefd:40:to-child-40", "writefd:41:to-child-41",
                     "fds");
    whelk_pipeline *p;
    whelk_result *r;
    char *a, *b;

    whelk_cmd_fd(c, 41, 40);
    whelk_cmd_fd(c, 40, 41);
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "0 1 2 40 41\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    restore_fd(40, s40);
    restore_fd(41, s41);
    a = read_all(r40);
    b = read_all(r41);
    ck_assert_str_eq(a, "to-child-41"); /* host 40 was the child's 41 */
    ck_assert_str_eq(b, "to-child-40");
    free(a);
    free(b);
    close(r40);
    close(r41);
}
END_TEST

START_TEST(test_fd_several_stages_and_gaps)
{
    int pp[2], before = count_open_fds();
    whelk_cmd *a = H("fds"), *b = H("cat", "fds");
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_int_eq(pipe2(pp, O_CLOEXEC), 0);
    /* gaps below, between and above: only these are seen */
    whelk_cmd_fd(a, 12, pp[0]);
    whelk_cmd_fd(a, 3, pp[1]);
    whelk_cmd_fd(a, 7, pp[1]);
    whelk_cmd_fd(a, 7, pp[0]); /* a later call for 7 wins */
    p = whelk_pipe(a, b, NULL);
    r = run_ok(p);
    /* stage 1 gets no extra descriptor */
    ASSERT_STDOUT(r, "0 1 2 3 7 12\n0 1 2\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    close(pp[0]);
    close(pp[1]);
    ck_assert_int_eq(count_open_fds(), before);
}
END_TEST

START_TEST(test_fd_host_std_source)
{
    /* a source among 0-2 of the host: the host's stdin as the child's 3 */
    int in[2], saved = fcntl(0, F_DUPFD_CLOEXEC, 100);
    whelk_cmd *c = H("readfd:3");
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_int_ge(saved, 0);
    ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
    ck_assert_int_eq(write(in[1], "stdin of the host", 17), 17);
    close(in[1]);
    ck_assert_int_eq(dup2(in[0], 0), 0);
    close(in[0]);
    whelk_cmd_fd(c, 3, 0);
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "stdin of the host");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    ck_assert_int_eq(dup2(saved, 0), 0);
    close(saved);
}
END_TEST

START_TEST(test_fd_invalid)
{
    char *dir = make_tmpdir(), *marker = path_join(dir, "ran"), *touch;
    whelk_pipeline *p;
    whelk_error *err;
    whelk_cmd *c;
    int closed = 900;

    ck_assert(!fd_is_open(closed));
    touch = xasprintf("touch:%s", marker);
    c = helper_cmd(touch, (const char *)NULL);
    whelk_cmd_fd(c, 2, 1);
    p = whelk_pipe(c, NULL);
    err = run_fail(p, WHELK_E_INVALID);
    ck_assert_int_eq(whelk_error_errno(err), EINVAL);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    c = helper_cmd(touch, (const char *)NULL);
    whelk_cmd_fd(c, 3, -1);
    p = whelk_pipe(c, NULL);
    err = run_fail(p, WHELK_E_INVALID);
    ck_assert_int_eq(whelk_error_errno(err), EBADF);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    /* not open when the run starts: before anything runs, even stage 0 */
    c = helper_cmd(touch, (const char *)NULL);
    p = whelk_pipe(H("exit:0"), c, NULL);
    whelk_cmd_fd(c, 4, closed);
    err = run_fail(p, WHELK_E_INVALID);
    ck_assert_int_eq(whelk_error_errno(err), EBADF);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_msg(contains(whelk_error_message(err), "900"), "%s",
                  whelk_error_message(err));
    ck_assert_int_eq(count_children(), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ck_assert(!path_exists(marker));

    /* a target the limit of open files does not allow */
    c = helper_cmd(touch, (const char *)NULL);
    whelk_cmd_fd(c, 1 << 30, 1);
    p = whelk_pipe(c, NULL);
    err = run_fail(p, WHELK_E_INVALID);
    ck_assert_int_eq(whelk_error_errno(err), EINVAL);
    ck_assert_msg(contains(whelk_error_message(err), "RLIMIT_NOFILE"), "%s",
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ck_assert(!path_exists(marker));
    free(touch);
    free(marker);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(test_setup_is_copied_by_dup)
{
    int pp[2];
    whelk_cmd *a = H("umask", "fds"), *b;
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_int_eq(pipe2(pp, O_CLOEXEC), 0);
    whelk_cmd_umask(a, 077);
    whelk_cmd_fd(a, 6, pp[1]);
    b = whelk_cmd_dup(a);
    whelk_cmd_free(a);
    p = whelk_pipe(b, NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "077\n0 1 2 6\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    close(pp[0]);
    close(pp[1]);
}
END_TEST

void setup_fds(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "fds", TEST_TIMEOUT, NULL, NULL);
    tcase_add_test(tc, test_fd_write_and_read);
    tcase_add_test(tc, test_fd_crossed);
    tcase_add_test(tc, test_fd_several_stages_and_gaps);
    tcase_add_test(tc, test_fd_host_std_source);
    tcase_add_test(tc, test_fd_invalid);
    tcase_add_test(tc, test_setup_is_copied_by_dup);
}
