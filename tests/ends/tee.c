/*
 * ends/tee.c -- a deadline covers a run's tees (issue 10's "a deadline
 * covers the whole run"): opening a tee file that is a FIFO without a
 * reader, and writing to a destination that stops reading -- a FIFO, a
 * caller's blocking or non-blocking pipe, a fed pipeline -- end at the
 * deadline with WHELK_E_TIMEOUT, leaving no child and no descriptor.  Run
 * by tests/check_ends.c.
 *
 * No test sleeps to synchronise: a reader that "stops reading" is a
 * descriptor the test holds open and never reads, and the helper writes
 * more than a pipe holds.
 */
#include "ends.h"

#include <termios.h>

#define DEADLINE_MS 300
/* More than the run's stdout pipe holds once grown (1 MiB) and a tee
 * destination's pipe: the helper must block writing. */
#define BIG_N 4000000
#define BIG "outn:4000000"

static char *fifo; /* a FIFO in the test's directory */
static int base_fds;

static void setup(void)
{
    tmp_setup();
    fifo = tmp_path("fifo");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    base_fds = count_open_fds();
}

static void teardown(void)
{
    free(fifo);
    fifo = NULL;
    tmp_teardown();
}

/* Runs p, which must time out at its deadline of DEADLINE_MS (not before,
 * not much after).  Returns the error (the caller frees it). */
static whelk_error *run_to_deadline(whelk_pipeline *p)
{
    whelk_error *err;
    int64_t t0 = now_ms(), dt;

    whelk_pipeline_timeout(p, DEADLINE_MS);
    err = run_fail(p, WHELK_E_TIMEOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= DEADLINE_MS, "gave up after %lld ms, before the "
                  "deadline", (long long)dt);
    ck_assert_msg(dt < DEADLINE_MS + SLACK_MS, "took %lld ms", (long long)dt);
    ck_assert_int_eq(whelk_error_errno(err), ETIMEDOUT);
    return err;
}

/* A run stopped at its deadline while its tee would not take bytes: the
 * helper, blocked writing its stdout, is the stage named, killed by the
 * deadline's SIGTERM; the output read before is in the error's result. */
static void expect_stalled_timeout(whelk_pipeline *p)
{
    whelk_error *err = run_to_deadline(p);
    const whelk_result *res = whelk_error_result(err);
    const char *out;
    size_t len;

    ck_assert_msg(res != NULL, "%s", err_desc(err));
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_int_eq(whelk_error_signal(err), SIGTERM);
    ck_assert_int_eq(whelk_result_signal(res, 0), SIGTERM);
    out = whelk_result_stdout(res, &len);
    ck_assert(is_pattern(out, len));
    ck_assert_uint_lt(len, BIG_N);
    whelk_error_free(err);
}

/* ------------------------------------------------------------- opening */

START_TEST(test_tee_fifo_without_reader_times_out)
{
    whelk_pipeline *p = helper_pipe("out:x", NULL);
    whelk_error *err;

    whelk_pipeline_tee_file(p, fifo, 0);
    err = run_to_deadline(p);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
    ck_assert_uint_eq(whelk_error_stage(err), WHELK_NO_STAGE);
    ck_assert_msg(contains(whelk_error_message(err), fifo), "%s",
                  whelk_error_message(err));
    ck_assert_ptr_null(whelk_error_result(err)); /* nothing ran */
    whelk_error_free(err);
    ck_assert_int_eq(count_open_fds(), base_fds);
}
END_TEST

/* A tee file opened before the FIFO's open timed out is closed too. */
START_TEST(test_tee_fifo_second_of_two_times_out)
{
    char *file = tmp_path("copy");
    whelk_pipeline *p = helper_pipe("out:x", NULL);
    whelk_error *err;

    whelk_pipeline_tee_file(p, file, 0);
    whelk_pipeline_tee_file(p, fifo, 1);
    err = run_to_deadline(p);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
    ck_assert_ptr_null(whelk_error_result(err));
    whelk_error_free(err);
    ck_assert(path_exists(file)); /* opened, then closed */
    ck_assert_int_eq(count_open_fds(), base_fds);
    free(file);
}
END_TEST

typedef struct reader {
    const char *path;
    size_t bytes;
    int ok;
} reader;

/* Opens the FIFO for reading (waiting for the run to open it for writing)
 * and reads it to the end. */
static void *read_fifo(void *arg)
{
    reader *rd = arg;

    rd->ok = read_to_end(rd->path, &rd->bytes) == 0;
    return NULL;
}

/* With a reader the FIFO tee gets every byte, under a deadline (the tee
 * is written without blocking) and without one (opened as sh opens it). */
START_TEST(test_tee_fifo_with_reader)
{
    int with_deadline;

    for (with_deadline = 0; with_deadline < 2; with_deadline++) {
        whelk_pipeline *p = helper_pipe(BIG, NULL);
        reader rd = {fifo, 0, 0};
        pthread_t t;
        whelk_result *r;
        const char *out;
        size_t len;

        ck_assert_int_eq(pthread_create(&t, NULL, read_fifo, &rd), 0);
        whelk_pipeline_tee_file(p, fifo, 0);
        if (with_deadline)
            whelk_pipeline_timeout(p, 60000);
        r = run_ok(p);
        pthread_join(t, NULL);
        ck_assert(rd.ok);
        ck_assert_uint_eq(rd.bytes, BIG_N);
        out = whelk_result_stdout(r, &len);
        ck_assert_uint_eq(len, BIG_N);
        ck_assert(is_pattern(out, len));
        whelk_result_free(r);
        whelk_pipeline_free(p);
    }
    ck_assert_int_eq(count_open_fds(), base_fds);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* -------------------------------------------------------------- writing */

/* The FIFO has a reader (the test) that never reads. */
START_TEST(test_tee_fifo_reader_stops_times_out)
{
    int rfd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    whelk_pipeline *p = helper_pipe(BIG, NULL);

    ck_assert_int_ge(rfd, 0);
    whelk_pipeline_tee_file(p, fifo, 0);
    expect_stalled_timeout(p);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
    close(rfd);
    ck_assert_int_eq(count_open_fds(), base_fds);
}
END_TEST

/* A caller's pipe that nobody reads, blocking or not: the library neither
 * blocks in write(2) past the deadline nor spins on EAGAIN, and leaves the
 * descriptor's flags alone; what it wrote is the output's beginning. */
START_TEST(test_tee_fd_stalled_times_out)
{
    int nonblock;

    for (nonblock = 0; nonblock < 2; nonblock++) {
        whelk_pipeline *p = helper_pipe(BIG, NULL);
        int fds[2], fl;
        char *buf = malloc(1 << 20);
        ssize_t n;

        ck_assert_ptr_nonnull(buf);
        ck_assert_int_eq(pipe2(fds, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0)),
                         0);
        fl = fcntl(fds[1], F_GETFL);
        whelk_pipeline_tee_fd(p, fds[1]);
        expect_stalled_timeout(p);
        whelk_pipeline_free(p);
        ASSERT_NO_CHILDREN();
        ck_assert_int_eq(fcntl(fds[1], F_GETFL), fl);
        close(fds[1]);
        n = read(fds[0], buf, 1 << 20);
        ck_assert_int_gt(n, 0);
        ck_assert(is_pattern(buf, (size_t)n));
        close(fds[0]);
        free(buf);
    }
    ck_assert_int_eq(count_open_fds(), base_fds);
}
END_TEST

/* A caller's blocking terminal that nobody reads (a pty whose master the
 * test holds and never reads): poll(2) says a terminal has room when it
 * has any, and a blocking write of PIPE_BUF bytes then waits for a reader
 * for ever.  The run must still end at its deadline, the terminal's flags
 * left alone.  Repeated: whether the last write fits is a matter of the
 * terminal's buffer sizes. */
START_TEST(test_tee_fd_tty_stalled_times_out)
{
    int round;

    for (round = 0; round < 6; round++) {
        whelk_pipeline *p = helper_pipe(BIG, NULL);
        int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), s, fl;

        ck_assert_int_ge(m, 0);
        ck_assert_int_eq(grantpt(m), 0);
        ck_assert_int_eq(unlockpt(m), 0);
        s = open(ptsname(m), O_WRONLY | O_NOCTTY | O_CLOEXEC);
        ck_assert_int_ge(s, 0);
        fl = fcntl(s, F_GETFL);
        whelk_pipeline_tee_fd(p, s);
        expect_stalled_timeout(p);
        whelk_pipeline_free(p);
        ASSERT_NO_CHILDREN();
        ck_assert_int_eq(fcntl(s, F_GETFL), fl);
        close(s);
        close(m);
    }
    ck_assert_int_eq(count_open_fds(), base_fds);
}
END_TEST

/* A terminal the caller opened read-only is not written through an open
 * file of the run's own: the write fails (EBADF) and the tee is dropped,
 * as for any descriptor not open for writing. */
START_TEST(test_tee_fd_tty_read_only_not_written)
{
    whelk_pipeline *p = helper_pipe("out:hello", NULL);
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK), s;
    whelk_result *r;
    char buf[16];

    ck_assert_int_ge(m, 0);
    ck_assert_int_eq(grantpt(m), 0);
    ck_assert_int_eq(unlockpt(m), 0);
    s = open(ptsname(m), O_RDONLY | O_NOCTTY | O_CLOEXEC);
    ck_assert_int_ge(s, 0);
    whelk_pipeline_tee_fd(p, s);
    r = run_ok(p);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "hello");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    errno = 0;
    ck_assert_int_eq(read(m, buf, sizeof buf), -1);
    ck_assert_int_eq(errno, EAGAIN);
    close(s);
    close(m);
    ck_assert_int_eq(count_open_fds(), base_fds);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* A pty's master is written as itself (opened anew it would be the master
 * of a new pty): the bytes reach its slave. */
START_TEST(test_tee_fd_pty_master_reaches_slave)
{
    whelk_pipeline *p = helper_pipe("out:hello\\n", NULL);
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), s;
    struct termios raw;
    whelk_result *r;
    char buf[16];
    ssize_t n;

    ck_assert_int_ge(m, 0);
    ck_assert_int_eq(grantpt(m), 0);
    ck_assert_int_eq(unlockpt(m), 0);
    s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(tcgetattr(s, &raw), 0);
    cfmakeraw(&raw);
    ck_assert_int_eq(tcsetattr(s, TCSANOW, &raw), 0);
    whelk_pipeline_tee_fd(p, m);
    r = run_ok(p);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    n = read(s, buf, sizeof buf);
    ck_assert_int_eq(n, 6);
    ck_assert(memcmp(buf, "hello\n", 6) == 0);
    close(s);
    close(m);
    ck_assert_int_eq(count_open_fds(), base_fds);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* A fed pipeline that does not read its stdin: the writes into it end at
 * the deadline, and its stdin is closed (it would see end of file). */
START_TEST(test_tee_proc_stalled_times_out)
{
    whelk_pipeline *dst = helper_pipe("sleep:60000", NULL);
    whelk_pipeline *p = helper_pipe(BIG, NULL);
    whelk_error *err = NULL;
    whelk_proc *d;

    whelk_pipeline_stdin(dst, WHELK_FEED);
    d = whelk_start(dst, &err);
    ck_assert_msg(d != NULL, "%s", err_desc(err));
    whelk_pipeline_tee_proc(p, d);
    expect_stalled_timeout(p);
    errno = 0;
    ck_assert_int_eq(whelk_proc_write(d, "x", 1, 0), -1);
    ck_assert_int_eq(errno, EBADF); /* its stdin was closed */
    ck_assert_int_eq(whelk_proc_cancel(d), 0);
    ck_assert_ptr_null(whelk_proc_wait(d, &err));
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_ABORTED, "%s",
                  err_desc(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    whelk_pipeline_free(dst);
    ck_assert_int_eq(count_open_fds(), base_fds);
    ASSERT_NO_CHILDREN();
}
END_TEST

static int stop_at_first_line(const whelk_line *line, void *ud)
{
    (void)line;
    (void)ud;
    return 5;
}

/* A fed pipeline sees the end of its input when the run feeding it is
 * stopped -- a cancel, a callback stopping it -- as it does at a deadline,
 * and as `b` does in `a | tee f | b` when `a` dies: else it waits for
 * ever. */
START_TEST(test_tee_proc_src_stopped_closes_dst)
{
    int how;

    for (how = 0; how < 2; how++) {
        whelk_pipeline *dst = helper_pipe("count", NULL);
        whelk_pipeline *p =
            helper_pipe(how == 1 ? "out:x\\n" : "out:x", "sleep:60000", NULL);
        whelk_error *err = NULL;
        whelk_result *r;
        whelk_proc *d, *pr;

        whelk_pipeline_stdin(dst, WHELK_FEED);
        d = whelk_start(dst, &err);
        ck_assert_msg(d != NULL, "%s", err_desc(err));
        whelk_pipeline_tee_proc(p, d);
        if (how == 0) { /* cancelled */
            pr = whelk_start(p, &err);
            ck_assert_msg(pr != NULL, "%s", err_desc(err));
            ck_assert_int_eq(whelk_proc_cancel(pr), 0);
            ck_assert_ptr_null(whelk_proc_wait(pr, &err));
        } else { /* stopped by its line callback */
            whelk_pipeline_on_line(p, WHELK_STDOUT, stop_at_first_line, NULL);
            ck_assert_ptr_null(whelk_run(p, &err));
            ck_assert_int_eq(whelk_error_callback_value(err), 5);
        }
        ck_assert_msg(whelk_error_kind(err) == WHELK_E_ABORTED, "%d: %s", how,
                      err_desc(err));
        whelk_error_free(err);
        err = NULL;
        errno = 0;
        ck_assert_msg(whelk_proc_write(d, "y", 1, 0) == -1 && errno == EBADF,
                      "%d: the fed pipeline's stdin is still open", how);
        r = whelk_proc_wait(d, &err);
        ck_assert_msg(r != NULL, "%s", err_desc(err));
        whelk_result_free(r);
        whelk_pipeline_free(p);
        whelk_pipeline_free(dst);
        ASSERT_NO_CHILDREN();
    }
    ck_assert_int_eq(count_open_fds(), base_fds);
}
END_TEST

void ends_tee(Suite *s)
{
    TCase *tc = add_tcase(s, "tee", 30, setup, teardown);

    tcase_add_test(tc, test_tee_fifo_without_reader_times_out);
    tcase_add_test(tc, test_tee_fifo_second_of_two_times_out);
    tcase_add_test(tc, test_tee_fifo_with_reader);
    tcase_add_test(tc, test_tee_fifo_reader_stops_times_out);
    tcase_add_test(tc, test_tee_fd_stalled_times_out);
    tcase_add_test(tc, test_tee_proc_stalled_times_out);
    tcase_add_test(tc, test_tee_fd_tty_stalled_times_out);
    tcase_add_test(tc, test_tee_fd_tty_read_only_not_written);
    tcase_add_test(tc, test_tee_fd_pty_master_reaches_slave);
    tcase_add_test(tc, test_tee_proc_src_stopped_closes_dst);
}
