/*
 * limits.c -- resource limits and odd programs: descriptors running out at
 * each step of a run of every shape (stages, files, tees, feed and pull,
 * filters, die_with_host, extra descriptors), no processes left for a
 * non-root user (RLIMIT_NPROC), programs that are not programs, and
 * children that misbehave with their pipes.  Every failure must be a
 * clear error with its errno, leaving no descriptor, child or zombie.
 */
#include "core.h"

#include <grp.h>
#include <stdarg.h>

#define HCMD(...) helper_cmd(__VA_ARGS__, (const char *)NULL)

/* ------------------------------------------------ descriptors run out */

/* The k-th descriptor number not open now (k = 0: the lowest free). */
static int nth_free_fd(int k)
{
    int fd, seen = 0;

    for (fd = 0;; fd++)
        if (!fd_is_open(fd) && seen++ == k)
            return fd;
}

/* One attempt of a run shape with RLIMIT_NOFILE lowered: 1 when it
 * succeeded (having checked its output), else 0 with *err set. */
typedef int (*attempt_fn)(whelk_pipeline *p, whelk_error **err, void *arg);

/*
 * Run attempt with the limit lowered so that exactly k more descriptors
 * can be opened, for k = 0 .. max_k, and the limit back between the
 * attempts: every attempt succeeds or fails with WHELK_E_IO or
 * WHELK_E_EXEC and errno EMFILE (never another kind or errno, never a
 * hang), leaves the descriptors as they were and no child; once one
 * succeeds, every later one (more descriptors) succeeds too, and at least
 * one fails and one succeeds.
 */
static void step_emfile(const char *what, whelk_pipeline *p, attempt_fn attempt,
                        void *arg, int max_k)
{
    struct rlimit old, low;
    int k, fds = count_open_fds(), failures = 0, first_ok = -1;

    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    for (k = 0; k <= max_k; k++) {
        whelk_error *err = NULL;
        int ok;

        low = old;
        low.rlim_cur = (rlim_t)nth_free_fd(k);
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
        ok = attempt(p, &err, arg);
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
        if (ok) {
            if (first_ok < 0)
                first_ok = k;
        } else {
            ck_assert_msg(whelk_error_errno(err) == EMFILE &&
                              (whelk_error_kind(err) == WHELK_E_IO ||
                               whelk_error_kind(err) == WHELK_E_EXEC),
                          "%s, k = %d: expected EMFILE, got %s", what, k,
                          err_desc(err));
            ck_assert_msg(first_ok < 0,
                          "%s: k = %d failed after k = %d succeeded: %s", what,
                          k, first_ok, err_desc(err));
            failures++;
        }
        whelk_error_free(err);
        ASSERT_FDS(fds);
        ASSERT_NO_CHILDREN();
    }
    ck_assert_msg(failures > 0, "%s: no step failed", what);
    ck_assert_msg(first_ok >= 0, "%s: no run succeeded with %d free", what,
                  max_k);
}

/* whelk_run; the result's stdout must be want (NULL: not checked). */
static int attempt_run(whelk_pipeline *p, whelk_error **err, void *want)
{
    whelk_result *r = whelk_run(p, err);

    if (!r)
        return 0;
    if (want)
        ASSERT_STDOUT(r, (const char *)want);
    whelk_result_free(r);
    return 1;
}

static void assert_file(const char *path, const char *want)
{
    size_t len;
    char *got = slurp(path, &len);

    ck_assert_msg(got != NULL, "%s: %s", path, strerror(errno));
    ck_assert_msg(len == strlen(want) && memcmp(got, want, len) == 0,
                  "%s holds \"%s\", expected \"%s\"", path, got, want);
    free(got);
}

/* Four stages, stdin bytes, a stage's stderr to a file, two tee files, a
 * deadline: every descriptor setup opens meets EMFILE in turn. */
START_TEST(test_emfile_four_stages_tees)
{
    char *errf = tmp_path("err"), *t1 = tmp_path("t1"), *t2 = tmp_path("t2");
    whelk_cmd *c1 = HCMD("cat", "err:one\\n");
    whelk_pipeline *p;

    whelk_cmd_stderr_file(c1, errf, 0);
    p = whelk_pipe(c1, HCMD("cat"), HCMD("cat", "err:e\\n"), HCMD("count"),
                   (whelk_cmd *)NULL);
    whelk_pipeline_stdin_bytes(p, "hello", 5);
    whelk_pipeline_tee_file(p, t1, 0);
    whelk_pipeline_tee_file(p, t2, 1);
    whelk_pipeline_timeout(p, 60000);
    step_emfile("four stages", p, attempt_run, "5\n", 40);
    assert_file(errf, "one\n");
    assert_file(t1, "5\n");
    whelk_pipeline_free(p);
    free(errf);
    free(t1);
    free(t2);
}
END_TEST

/* Redirection files everywhere. */
START_TEST(test_emfile_files)
{
    char *in = tmp_path("in"), *out = tmp_path("out"), *err = tmp_path("e");
    whelk_cmd *c2 = HCMD("cat", "err:two\\n");
    whelk_pipeline *p;

    ck_assert_int_eq(write_file(in, "abc", 3, 0644), 0);
    whelk_cmd_stderr_file(c2, err, 1);
    p = whelk_pipe(HCMD("cat"), c2, HCMD("count"), (whelk_cmd *)NULL);
    whelk_pipeline_stdin_file(p, in);
    whelk_pipeline_stdout_file(p, out, 0);
    step_emfile("files", p, attempt_run, NULL, 30);
    assert_file(out, "3\n");
    whelk_pipeline_free(p);
    free(in);
    free(out);
    free(err);
}
END_TEST

/* The host feeds and pulls through a handle; the limit stays low from
 * the start to the verdict. */
static int attempt_feed_pull(whelk_pipeline *p, whelk_error **err, void *arg)
{
    whelk_proc *pr = whelk_start(p, err);
    char buf[64];
    size_t got = 0;
    ssize_t n;
    whelk_result *r;

    (void)arg;
    if (!pr)
        return 0;
    ck_assert_int_eq(whelk_proc_write(pr, "hello", 5, -1), 5);
    ck_assert_int_eq(whelk_proc_close_stdin(pr), 0);
    while ((n = whelk_proc_read(pr, buf + got, sizeof buf - 1 - got, -1)) > 0)
        got += (size_t)n;
    ck_assert_int_eq(n, 0);
    buf[got] = '\0';
    r = whelk_proc_wait(pr, err);
    if (!r)
        return 0;
    ck_assert_str_eq(buf, "5\n");
    whelk_result_free(r);
    return 1;
}

START_TEST(test_emfile_feed_pull)
{
    whelk_pipeline *p = whelk_pipe(HCMD("cat"), HCMD("cat", "err:e\\n"),
                                   HCMD("count"), (whelk_cmd *)NULL);

    whelk_pipeline_stdin(p, WHELK_FEED);
    whelk_pipeline_stdout(p, WHELK_PULL);
    step_emfile("feed and pull", p, attempt_feed_pull, NULL, 30);
    whelk_pipeline_free(p);
}
END_TEST

/* The same through FILE streams. */
static int attempt_streams(whelk_pipeline *p, whelk_error **err, void *arg)
{
    whelk_proc *pr = whelk_start(p, err);
    FILE *in, *out;
    char buf[64];
    whelk_result *r;

    (void)arg;
    if (!pr)
        return 0;
    in = whelk_proc_stdin_stream(pr);
    out = whelk_proc_stdout_stream(pr);
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_ge(fputs("hello", in), 0);
    ck_assert_int_eq(fclose(in), 0);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, out));
    ck_assert_int_eq(fclose(out), 0);
    r = whelk_proc_wait(pr, err);
    if (!r)
        return 0;
    ck_assert_str_eq(buf, "5\n");
    whelk_result_free(r);
    return 1;
}

START_TEST(test_emfile_streams)
{
    whelk_pipeline *p =
        whelk_pipe(HCMD("cat"), HCMD("count"), (whelk_cmd *)NULL);

    whelk_pipeline_stdin(p, WHELK_FEED);
    whelk_pipeline_stdout(p, WHELK_PULL);
    step_emfile("streams", p, attempt_streams, NULL, 30);
    whelk_pipeline_free(p);
}
END_TEST

/* popen "r" and "w". */
static int attempt_popen_r(whelk_pipeline *p, whelk_error **err, void *arg)
{
    FILE *f = whelk_popen(p, "r", err);
    char buf[64];

    (void)arg;
    if (!f)
        return 0;
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    if (whelk_pclose(f, err) != 0)
        return 0;
    ck_assert_str_eq(buf, "x\n");
    return 1;
}

static int attempt_popen_w(whelk_pipeline *p, whelk_error **err, void *arg)
{
    FILE *f = whelk_popen(p, "w", err);

    (void)arg;
    if (!f)
        return 0;
    ck_assert_int_ge(fputs("hello", f), 0);
    return whelk_pclose(f, err) == 0;
}

START_TEST(test_emfile_popen)
{
    whelk_pipeline *p =
        whelk_pipe(HCMD("out:x\\n"), HCMD("cat"), (whelk_cmd *)NULL);
    whelk_pipeline *w =
        whelk_pipe(HCMD("cat"), HCMD("drain"), (whelk_cmd *)NULL);

    step_emfile("popen r", p, attempt_popen_r, NULL, 24);
    step_emfile("popen w", w, attempt_popen_w, NULL, 24);
    whelk_pipeline_free(p);
    whelk_pipeline_free(w);
}
END_TEST

/* die_with_host: the run's spawning thread. */
START_TEST(test_emfile_die_with_host)
{
    whelk_pipeline *p =
        whelk_pipe(HCMD("cat"), HCMD("count"), (whelk_cmd *)NULL);

    whelk_pipeline_stdin_bytes(p, "hello", 5);
    whelk_pipeline_die_with_host(p, 1);
    step_emfile("die_with_host", p, attempt_run, "5\n", 30);
    whelk_pipeline_free(p);
}
END_TEST

/* A filter stage in the middle: its pipes are the loop's. */
static int upper(whelk_filter *out, const void *data, size_t len, void *ud)
{
    char buf[256];
    size_t i;

    (void)ud;
    if (!data)
        return 0;
    for (i = 0; i < len && i < sizeof buf; i++)
        buf[i] = (char)(((const char *)data)[i] ^ 0x20);
    return whelk_filter_write(out, buf, i) < 0;
}

START_TEST(test_emfile_filter)
{
    whelk_pipeline *p =
        whelk_pipe(HCMD("cat"), whelk_cmd_new_filter("upper", upper, NULL),
                   HCMD("cat"), (whelk_cmd *)NULL);

    whelk_pipeline_stdin_bytes(p, "hello", 5);
    step_emfile("filter", p, attempt_run, "HELLO", 30);
    whelk_pipeline_free(p);
}
END_TEST

/* An extra descriptor for the child (childsetup moves it). */
START_TEST(test_emfile_extra_fd)
{
    int pfd[2], fd, held[8], nheld = 0;
    whelk_cmd *c = HCMD("writefd:5:hi", "out:x\\n");
    whelk_pipeline *p;

    /* descriptor 5 of the child must stay below every limit tried */
    while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0 && fd <= 5)
        held[nheld++] = fd;
    ck_assert_int_gt(fd, 5);
    held[nheld++] = fd;
    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    whelk_cmd_fd(c, 5, pfd[1]);
    whelk_cmd_rlimit(c, RLIMIT_CORE, 0, 0);
    p = whelk_pipe(c, HCMD("cat"), (whelk_cmd *)NULL);
    step_emfile("extra fd", p, attempt_run, "x\n", 30);
    whelk_pipeline_free(p);
    close(pfd[1]);
    close(pfd[0]);
    while (nheld > 0)
        close(held[--nheld]);
}
END_TEST

/* Lines streamed to a callback, stderr into stdout. */
static int count_line(const whelk_line *l, void *ud)
{
    (void)l;
    ++*(int *)ud;
    return 0;
}

START_TEST(test_emfile_stream)
{
    int lines = 0;
    whelk_cmd *c = HCMD("lines:3", "err:e\\n");
    whelk_pipeline *p;

    whelk_cmd_stderr(c, WHELK_TO_STDOUT);
    p = whelk_pipe(c, HCMD("cat"), (whelk_cmd *)NULL);
    whelk_pipeline_stdout(p, WHELK_STREAM);
    whelk_pipeline_on_line(p, WHELK_STDOUT, count_line, &lines);
    step_emfile("stream", p, attempt_run, NULL, 30);
    whelk_pipeline_free(p);
}
END_TEST

/* The program is found through a relative PATH entry, in the command's
 * cwd: the search opens that directory, and running out of descriptors
 * there is EMFILE, not "command not found". */
START_TEST(test_emfile_path_search)
{
    char *bin = tmp_path("bin"), *tool = tmp_path("bin/tool");
    whelk_cmd *c = whelk_cmd_new("tool", "out:x\\n", NULL);
    whelk_pipeline *p;

    ck_assert_int_eq(mkdir(bin, 0755), 0);
    ck_assert_int_eq(symlink(HELPER, tool), 0);
    whelk_cmd_setenv(c, "PATH", "bin");
    whelk_cmd_chdir(c, tmpdir);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    step_emfile("relative PATH", p, attempt_run, "x\n", 16);
    whelk_pipeline_free(p);
    free(bin);
    free(tool);
}
END_TEST

/* The same pipeline on "another machine" through the sh -c transport:
 * the remote run's own pipes, mux and watchdog meet EMFILE in turn. */
START_TEST(test_emfile_remote)
{
    whelk_remote *r = whelk_remote_new(whelk_cmd_new("sh", "-c", NULL));
    whelk_pipeline *p =
        whelk_pipe(HCMD("cat", "err:one\\n"), HCMD("cat"),
                   HCMD("count", "err:e\\n"), (whelk_cmd *)NULL);

    ck_assert_ptr_nonnull(r);
    whelk_pipeline_stdin_bytes(p, "hello", 5);
    whelk_pipeline_remote(p, r);
    step_emfile("remote", p, attempt_run, "5\n", 40);
    whelk_pipeline_free(p);
    whelk_remote_free(r);
}
END_TEST

/* Descriptors run out after the start: the loop must finish the run
 * with what it holds, whatever the shape; an on_exit retry, which plans
 * anew (with the descriptors the first attempt gave back), succeeds or
 * fails with EMFILE as a value (fail_ok). */
static int retry_once(const whelk_result *r, const whelk_error *e, void *ud)
{
    (void)r;
    (void)e;
    return (*(int *)ud)++ == 0 ? WHELK_RETRY : 0;
}

static void low_after_start(const char *what, whelk_pipeline *p,
                            const char *want, int fail_ok)
{
    struct rlimit old, low;
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;
    int fds = count_open_fds();

    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "%s: %s", what, err_desc(err));
    low = old;
    low.rlim_cur = (rlim_t)nth_free_fd(0);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    r = whelk_proc_wait(pr, &err);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    if (r) {
        ASSERT_STDOUT(r, want);
    } else {
        ck_assert_msg(fail_ok && whelk_error_errno(err) == EMFILE, "%s: %s",
                      what, err_desc(err));
    }
    whelk_result_free(r);
    whelk_error_free(err);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
}

START_TEST(test_emfile_after_start)
{
    char *t = tmp_path("tee");
    whelk_remote *rem = whelk_remote_new(whelk_cmd_new("sh", "-c", NULL));
    whelk_pipeline *p;
    int calls = 0;

    p = whelk_pipe(HCMD("lines:1000"), HCMD("cat", "err:e\\n"), HCMD("count"),
                   (whelk_cmd *)NULL);
    whelk_pipeline_tee_file(p, t, 0);
    whelk_pipeline_timeout(p, 60000);
    whelk_pipeline_die_with_host(p, 1);
    low_after_start("tee, deadline, die_with_host", p, "8893\n", 0);
    whelk_pipeline_free(p);

    p = whelk_pipe(HCMD("out:hello"),
                   whelk_cmd_new_filter("upper", upper, NULL), HCMD("cat"),
                   (whelk_cmd *)NULL);
    low_after_start("filter", p, "HELLO", 0);
    whelk_pipeline_free(p);

    p = whelk_pipe(HCMD("out:hello"), HCMD("count"), (whelk_cmd *)NULL);
    whelk_pipeline_remote(p, rem);
    low_after_start("remote", p, "5\n", 0);
    whelk_pipeline_free(p);

    p = whelk_pipe(HCMD("out:hello"), HCMD("count"), (whelk_cmd *)NULL);
    whelk_pipeline_on_exit(p, retry_once, &calls);
    low_after_start("retry", p, "5\n", 1);
    ck_assert_int_eq(calls, 2);
    whelk_pipeline_free(p);
    whelk_remote_free(rem);
    free(t);
}
END_TEST

/* The same in whelk_run_many and a host's own poll loop on
 * whelk_proc_step: a line callback lowers the limit while every run is
 * in flight; they all finish. */
static int lower_on_line(const whelk_line *l, void *ud)
{
    struct rlimit low;

    (void)l;
    if (!*(int *)ud) {
        *(int *)ud = 1;
        ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &low), 0);
        low.rlim_cur = (rlim_t)nth_free_fd(0);
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    }
    return 0;
}

START_TEST(test_emfile_during_many_and_step)
{
    struct rlimit old;
    whelk_pipeline *ps[4];
    whelk_result *rs[4];
    whelk_error *es[4];
    whelk_proc *pr;
    whelk_result *r;
    whelk_error *err = NULL;
    int lowered = 0, fds = count_open_fds(), done = 0;
    size_t i;

    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    for (i = 0; i < 4; i++) {
        ps[i] = whelk_pipe(HCMD("lines:300", "err:e\\n"), HCMD("cat"),
                           HCMD("count"), (whelk_cmd *)NULL);
        whelk_pipeline_stdin_bytes(ps[i], "x", 1);
    }
    whelk_pipeline_stdout(ps[0], WHELK_STREAM);
    whelk_pipeline_on_line(ps[0], WHELK_STDERR, lower_on_line, &lowered);
    ck_assert_uint_eq(whelk_run_many(ps, 4, 4, rs, es), 0);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    ck_assert(lowered);
    for (i = 1; i < 4; i++) {
        ASSERT_STDOUT(rs[i], "2592\n");
        whelk_result_free(rs[i]);
    }
    whelk_result_free(rs[0]);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();

    lowered = 0;
    pr = whelk_start(ps[0], &err);
    ck_assert_msg(pr != NULL, "%s", err_desc(err));
    while (!done) {
        done = whelk_proc_step(pr, 1000);
        ck_assert_int_ge(done, 0);
    }
    r = whelk_proc_wait(pr, &err);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert(lowered);
    whelk_result_free(r);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
    for (i = 0; i < 4; i++)
        whelk_pipeline_free(ps[i]);
}
END_TEST

/* A daemon host (0, 1 and 2 closed): every descriptor the library makes
 * lands low first and is moved above 2, a second descriptor at each step
 * that can be the one refused.  Each run still ends in EMFILE or
 * success, leaving 0, 1 and 2 closed and nothing else open. */
START_TEST(test_emfile_std_fds_closed)
{
    int saved[3], i;
    whelk_pipeline *p =
        whelk_pipe(HCMD("cat", "err:e\\n"), HCMD("count"), (whelk_cmd *)NULL);
    whelk_pipeline *fp = whelk_pipe(HCMD("cat"), HCMD("cat", "err:e\\n"),
                                    HCMD("count"), (whelk_cmd *)NULL);
    whelk_pipeline *dp =
        whelk_pipe(HCMD("cat"), HCMD("count"), (whelk_cmd *)NULL);

    whelk_pipeline_stdin_bytes(p, "hello", 5);
    whelk_pipeline_timeout(p, 60000);
    whelk_pipeline_stdin(fp, WHELK_FEED);
    whelk_pipeline_stdout(fp, WHELK_PULL);
    whelk_pipeline_stdin_bytes(dp, "hello", 5);
    whelk_pipeline_die_with_host(dp, 1);
    for (i = 0; i < 3; i++) {
        saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
        close(i);
    }
    step_emfile("0-2 closed", p, attempt_run, "5\n", 30);
    step_emfile("0-2 closed, feed and pull", fp, attempt_feed_pull, NULL, 30);
    step_emfile("0-2 closed, die_with_host", dp, attempt_run, "5\n", 30);
    for (i = 0; i < 3; i++)
        ck_assert_msg(!fd_is_open(i), "the library left fd %d open", i);
    for (i = 0; i < 3; i++)
        if (saved[i] >= 0) {
            dup2(saved[i], i);
            close(saved[i]);
        }
    whelk_pipeline_free(p);
    whelk_pipeline_free(fp);
    whelk_pipeline_free(dp);
}
END_TEST

/* Run fn(arg) in a child of the test and assert that it returned NULL
 * (else its text is the failure); the child's changes die with it. */
static void in_child(const char *(*fn)(void *), void *arg)
{
    int pfd[2], st;
    char msg[512];
    ssize_t n;
    pid_t pid;

    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        const char *why = fn(arg);
        if (why)
            (void)!write(pfd[1], why, strlen(why));
        _exit(why ? 1 : 0);
    }
    close(pfd[1]);
    n = read(pfd[0], msg, sizeof msg - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(pfd[0]);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st,
                  msg);
}

/* Decoding with few descriptors free: glibc's iconv_open reads its
 * configuration from files once per process, when first called, and with
 * no descriptor says only EINVAL; the run must not call a known encoding
 * unknown.  Each k runs in a fresh child, which has not used iconv yet
 * (after such a failure glibc knows no encoding for the rest of the
 * process).  The k that reaches the decoder fails with EMFILE. */
struct decode_try {
    whelk_pipeline *p;
    int k, ok;
};

static const char *decode_one(void *arg)
{
    static char why[512];
    struct decode_try *t = arg;
    struct rlimit old, low;
    whelk_error *err = NULL;
    whelk_result *r;
    int fds = count_open_fds();

    if (getrlimit(RLIMIT_NOFILE, &old) < 0)
        return "getrlimit";
    low = old;
    low.rlim_cur = (rlim_t)nth_free_fd(t->k);
    if (setrlimit(RLIMIT_NOFILE, &low) < 0)
        return "setrlimit";
    r = whelk_run(t->p, &err);
    if (setrlimit(RLIMIT_NOFILE, &old) < 0)
        return "setrlimit back";
    if (r ? t->ok == 0
          : whelk_error_errno(err) != EMFILE ||
                whelk_error_kind(err) != WHELK_E_IO || t->ok == 1) {
        snprintf(why, sizeof why, "k = %d: %s", t->k,
                 r ? "succeeded" : err_desc(err));
        return why;
    }
    whelk_result_free(r);
    whelk_error_free(err);
    if (count_open_fds() != fds || count_children() != 0)
        return "descriptors or children left";
    return NULL;
}

START_TEST(test_emfile_decode)
{
    struct decode_try t = {NULL, 0, -1};

    t.p = helper_pipe("out:x\\n", (const char *)NULL);
    whelk_pipeline_decode(t.p, WHELK_STDOUT | WHELK_STDERR, "LATIN1",
                          WHELK_DECODE_REPLACE);
    for (t.k = 0; t.k <= 12; t.k++)
        in_child(decode_one, &t);
    t.ok = 1; /* k = 13 descriptors are enough */
    in_child(decode_one, &t);
    whelk_pipeline_free(t.p);
}
END_TEST

/* A tee file the host writes past its own RLIMIT_FSIZE: the kernel
 * answers EFBIG and raises SIGXFSZ, whose default kills the host.  The
 * host lives; the tee took what fitted; the run's own output is whole. */
START_TEST(test_tee_file_past_fsize)
{
    struct rlimit old, low;
    char *t = tmp_path("tee");
    whelk_pipeline *p = helper_pipe("outn:1048576", (const char *)NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    struct stat st;
    sigset_t pending;
    size_t len;

    whelk_pipeline_tee_file(p, t, 0);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    low = old;
    low.rlim_cur = 65536;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &low), 0);
    r = whelk_run(p, &err);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    if (r) {
        whelk_result_stdout(r, &len);
        ck_assert_uint_eq(len, 1048576);
    } else {
        ck_assert_msg(whelk_error_errno(err) == EFBIG, "%s", err_desc(err));
    }
    ck_assert_int_eq(stat(t, &st), 0);
    ck_assert_int_le(st.st_size, 65536);
    ck_assert_int_eq(sigpending(&pending), 0);
    ck_assert_msg(!sigismember(&pending, SIGXFSZ), "a SIGXFSZ is pending");
    whelk_result_free(r);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(t);
}
END_TEST

/* ------------------------------------------------ processes run out */

/*
 * In a child of the test that became nobody (RLIMIT_NPROC binds only a
 * user without CAP_SYS_RESOURCE), run p with the soft RLIMIT_NPROC at
 * lim = 0 .. 8, then unlimited again: each run succeeds with stdout want
 * or fails with errno EAGAIN (clone, fork or the run's spawning thread
 * refused), leaving the descriptors as they were and no child; lim = 0
 * fails (that user has this process already), the last run succeeds.
 * Other processes of nobody on the machine only move where the runs start
 * to succeed.  Returns NULL, or what went wrong (static).
 */
static const char *nproc_runs(whelk_pipeline *p, const char *want)
{
    static char why[512];
    struct rlimit old, low;
    int lim, fds = count_open_fds();

    if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
        return "cannot become nobody";
    if (getrlimit(RLIMIT_NPROC, &old) < 0)
        return "getrlimit";
    for (lim = 0; lim <= 9; lim++) {
        whelk_error *err = NULL;
        whelk_result *r;
        size_t len;
        const char *out;

        low = old;
        if (lim < 9)
            low.rlim_cur = (rlim_t)lim;
        if (setrlimit(RLIMIT_NPROC, &low) < 0)
            return "setrlimit";
        r = whelk_run(p, &err);
        if (setrlimit(RLIMIT_NPROC, &old) < 0)
            return "setrlimit back";
        if (r) {
            out = whelk_result_stdout(r, &len);
            if (lim == 0 || strcmp(out, want) != 0) {
                snprintf(why, sizeof why, "lim %d: ran, stdout \"%s\"", lim,
                         out);
                return why;
            }
        } else if (whelk_error_errno(err) != EAGAIN ||
                   whelk_error_kind(err) != WHELK_E_EXEC || lim == 9) {
            snprintf(why, sizeof why, "lim %d: %s", lim, err_desc(err));
            return why;
        }
        whelk_result_free(r);
        whelk_error_free(err);
        if (count_open_fds() != fds || count_children() != 0) {
            char *l = fd_list();
            snprintf(why, sizeof why,
                     "lim %d: %d fds (%d before: %s), "
                     "%d children",
                     lim, count_open_fds(), fds, l, count_children());
            free(l);
            return why;
        }
    }
    return NULL;
}

struct nproc_try {
    whelk_pipeline *p;
    const char *want;
};

static const char *nproc_one(void *arg)
{
    struct nproc_try *t = arg;

    return nproc_runs(t->p, t->want);
}

/* Run nproc_runs in a child of the test (it changes its user for good);
 * frees p. */
static void nproc_in_child(whelk_pipeline *p, const char *want)
{
    struct nproc_try t = {p, want};
    size_t i;

    /* a sanitized helper's leak check at exit needs a thread of its own,
     * which the limit it inherits can refuse */
    for (i = 0; i < whelk_pipeline_ncmds(p); i++)
        whelk_cmd_setenv(whelk_pipeline_cmd(p, i), "ASAN_OPTIONS",
                         "detect_leaks=0");

    /* only root can become a user whose process count binds: every test
     * run of this suite is root's (make check in the project's CI) */
    ck_assert_msg(geteuid() == 0, "the RLIMIT_NPROC tests need root");
    in_child(nproc_one, &t);
    whelk_pipeline_free(p);
}

/* EAGAIN is transient: on_exit sees the failed start (its error, no
 * result), gives the processes back and asks for a retry, which runs.
 * With lim 2 the first stage starts and the second cannot: the first
 * is stopped and reaped before the retry. */
static int nproc_retry_hook(const whelk_result *r, const whelk_error *e,
                            void *ud)
{
    struct rlimit *old = ud;

    if (r || !e || whelk_error_errno(e) != EAGAIN)
        return 0;
    (void)setrlimit(RLIMIT_NPROC, old);
    return WHELK_RETRY;
}

static const char *nproc_retry(void *arg)
{
    static char why[512];
    whelk_pipeline *p = arg;
    struct rlimit old, low;
    int lim, fds = count_open_fds();

    if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
        return "cannot become nobody";
    if (getrlimit(RLIMIT_NPROC, &old) < 0)
        return "getrlimit";
    whelk_pipeline_on_exit(p, nproc_retry_hook, &old);
    for (lim = 0; lim <= 4; lim++) {
        whelk_error *err = NULL;
        whelk_result *r;

        low = old;
        low.rlim_cur = (rlim_t)lim;
        if (setrlimit(RLIMIT_NPROC, &low) < 0)
            return "setrlimit";
        r = whelk_run(p, &err);
        if (setrlimit(RLIMIT_NPROC, &old) < 0)
            return "setrlimit back";
        if (!r || strcmp(whelk_result_stdout(r, NULL), "3\n") != 0) {
            snprintf(why, sizeof why, "lim %d: %s", lim, err_desc(err));
            return why;
        }
        whelk_result_free(r);
        if (count_open_fds() != fds || count_children() != 0)
            return "descriptors or children left";
    }
    return NULL;
}

/* The RLIMIT_NPROC tests run as nobody: a copy of the helper in a
 * directory under /tmp that nobody may enter (helper_copy says why). */
static char *nproc_dir, *nproc_helper;

static void nproc_setup(void)
{
    ck_assert_msg(geteuid() == 0, "the RLIMIT_NPROC tests need root");
    ck_assert_ptr_nonnull(nproc_dir = make_tmpdir_in("/tmp"));
    ck_assert_int_eq(chmod(nproc_dir, 0755), 0);
    nproc_helper = helper_copy(nproc_dir);
}

static void nproc_teardown(void)
{
    rm_rf(nproc_dir);
    free(nproc_dir);
    free(nproc_helper);
    nproc_dir = nproc_helper = NULL;
}

static whelk_cmd *nproc_cmd(const char *first, ...)
{
    whelk_cmd *c = whelk_cmd_new(nproc_helper, (const char *)NULL);
    va_list ap;
    const char *a;

    ck_assert_ptr_nonnull(c);
    va_start(ap, first);
    for (a = first; a; a = va_arg(ap, const char *))
        whelk_cmd_arg(c, a);
    va_end(ap);
    return c;
}
#define NCMD(...) nproc_cmd(__VA_ARGS__, (const char *)NULL)

START_TEST(test_nproc_retry)
{
    whelk_pipeline *p;
    size_t i;

    nproc_setup();
    p = whelk_pipe(NCMD("out:abc"), NCMD("cat"), NCMD("count"),
                   (whelk_cmd *)NULL);
    for (i = 0; i < whelk_pipeline_ncmds(p); i++)
        whelk_cmd_setenv(whelk_pipeline_cmd(p, i), "ASAN_OPTIONS",
                         "detect_leaks=0");
    in_child(nproc_retry, p);
    whelk_pipeline_free(p);
    nproc_teardown();
}
END_TEST

START_TEST(test_nproc_three_stages)
{
    whelk_pipeline *p;

    nproc_setup();
    p = whelk_pipe(NCMD("out:abc"), NCMD("cat", "err:e\\n"), NCMD("count"),
                   (whelk_cmd *)NULL);

    whelk_pipeline_stdin_bytes(p, "in", 2);
    nproc_in_child(p, "3\n");
    nproc_teardown();
}
END_TEST

/* The same with the child setup (the fork way on the fallback), and with
 * die_with_host (a spawning thread counts as a process). */
START_TEST(test_nproc_setup)
{
    whelk_cmd *c;
    whelk_pipeline *p;

    nproc_setup();
    c = NCMD("out:abc");
    whelk_cmd_umask(c, 077);
    p = whelk_pipe(c, NCMD("count"), (whelk_cmd *)NULL);
    nproc_in_child(p, "3\n");
    nproc_teardown();
}
END_TEST

START_TEST(test_nproc_die_with_host)
{
    whelk_pipeline *p;

    nproc_setup();
    p = whelk_pipe(NCMD("out:abc"), NCMD("count"), (whelk_cmd *)NULL);

    whelk_pipeline_die_with_host(p, 1);
    nproc_in_child(p, "3\n");
    nproc_teardown();
}
END_TEST

/* ------------------------------------------------------ odd programs */

/* A program path that is a symlink loop: found (it is there), cannot be
 * started: WHELK_E_EXEC with ELOOP, nothing spawned. */
START_TEST(test_exec_symlink_loop)
{
    char *a = tmp_path("loop-a"), *b = tmp_path("loop-b");
    whelk_pipeline *p;
    whelk_error *err;

    ck_assert_int_eq(symlink(b, a), 0);
    ck_assert_int_eq(symlink(a, b), 0);
    p = whelk_pipe(whelk_cmd_new(a, (const char *)NULL), (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_msg(whelk_error_errno(err) == ELOOP, "%s", err_desc(err));
    ck_assert_msg(contains(whelk_error_message(err), a), "%s", err_desc(err));
    ASSERT_NO_CHILDREN();
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(a);
    free(b);
}
END_TEST

/* A program named with a trailing slash: a file is not a directory. */
START_TEST(test_exec_trailing_slash)
{
    char *prog = xasprintf("%s/", HELPER);
    whelk_pipeline *p =
        whelk_pipe(whelk_cmd_new(prog, "out:x", NULL), (whelk_cmd *)NULL);
    whelk_error *err = run_fail(p, WHELK_E_EXEC);

    ck_assert_msg(whelk_error_errno(err) == ENOTDIR, "%s", err_desc(err));
    ASSERT_NO_CHILDREN();
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(prog);
}
END_TEST

/* PATH entries of 4 KiB (longer than PATH_MAX with the name) are passed
 * over as sh passes them; a PATH of nothing else finds nothing. */
START_TEST(test_path_long_entries)
{
    size_t n = 4096;
    char *longdir = malloc(n + 1), *path, *dir = tmp_path("bin");
    char *tool = tmp_path("bin/tool");
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err;

    memset(longdir, 'd', n);
    longdir[0] = '/';
    longdir[n] = '\0';
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(symlink(HELPER, tool), 0);
    path = xasprintf("%s:%s:%s", longdir, longdir, dir);
    c = whelk_cmd_new("tool", "out:found", NULL);
    whelk_cmd_setenv(c, "PATH", path);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "found");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    c = whelk_cmd_new("tool", NULL);
    whelk_cmd_setenv(c, "PATH", longdir);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_NOTFOUND);
    ck_assert_int_eq(whelk_error_errno(err), ENOENT);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
    free(path);
    free(longdir);
    free(dir);
    free(tool);
}
END_TEST

/* Arguments and environment each below the per-string limit but together
 * over ARG_MAX: E2BIG from the exec, an error in the parent, in a middle
 * stage too (the first is stopped and reaped). */
START_TEST(test_exec_e2big_total)
{
    size_t n = 100 * 1024, i;
    char *val = malloc(n + 1);
    int fds = count_open_fds();
    whelk_cmd *args = HCMD("out:x"), *envs = HCMD("cat");
    whelk_pipeline *p;
    whelk_error *err;

    memset(val, 'v', n);
    val[n] = '\0';
    for (i = 0; i < 48; i++) { /* 4.8 MiB: past ARG_MAX for an 8 MiB stack */
        char name[16];
        snprintf(name, sizeof name, "BIG%zu", i);
        whelk_cmd_arg(args, val);
        whelk_cmd_setenv(envs, name, val);
    }
    p = whelk_pipe(args, (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_msg(whelk_error_errno(err) == E2BIG, "%s", err_desc(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);

    p = whelk_pipe(HCMD("outn:100000"), envs, HCMD("count"), (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_msg(whelk_error_errno(err) == E2BIG &&
                      whelk_error_stage(err) == 1,
                  "%s", err_desc(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
    free(val);
}
END_TEST

/* ----------------------------------------------- children that misbehave */

/* 100 MiB on stderr and 16 MiB on stdout, both captured with a limit of
 * 4 KiB: the run ends, keeps 4 KiB of each (truncated), and the host's
 * memory does not grow with the output. */
START_TEST(test_capture_limit_huge_stderr)
{
    struct rusage before, after;
    whelk_pipeline *p =
        whelk_pipe(HCMD("errn:104857600", "outn:8388608"),
                   HCMD("cat", "outn:8388608", "errn:64"), (whelk_cmd *)NULL);
    whelk_result *r;
    const char *s;
    size_t len;

    whelk_pipeline_capture_limit(p, 4096);
    ck_assert_int_eq(getrusage(RUSAGE_SELF, &before), 0);
    r = run_ok(p);
    ck_assert_int_eq(getrusage(RUSAGE_SELF, &after), 0);
    s = whelk_result_stdout(r, &len);
    ck_assert_uint_eq(len, 4096);
    ck_assert(is_pattern(s, len));
    s = whelk_result_stderr(r, &len);
    ck_assert_uint_le(len, 2 * 4096);
    ck_assert(whelk_result_truncated(r));
    ck_assert_msg(after.ru_maxrss - before.ru_maxrss < 32 * 1024,
                  "the host grew by %ld KiB",
                  after.ru_maxrss - before.ru_maxrss);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

void core_limits(Suite *s)
{
    TCase *tc = core_tcase(s, "limits", 1);

    tcase_add_test(tc, test_emfile_four_stages_tees);
    tcase_add_test(tc, test_emfile_files);
    tcase_add_test(tc, test_emfile_feed_pull);
    tcase_add_test(tc, test_emfile_streams);
    tcase_add_test(tc, test_emfile_popen);
    tcase_add_test(tc, test_emfile_die_with_host);
    tcase_add_test(tc, test_emfile_filter);
    tcase_add_test(tc, test_emfile_extra_fd);
    tcase_add_test(tc, test_emfile_stream);
    tcase_add_test(tc, test_emfile_path_search);
    tcase_add_test(tc, test_emfile_after_start);
    tcase_add_test(tc, test_emfile_during_many_and_step);
    tcase_add_test(tc, test_emfile_std_fds_closed);
    tcase_add_test(tc, test_tee_file_past_fsize);
    tcase_add_test(tc, test_emfile_remote);
    tcase_add_test(tc, test_emfile_decode);
    tcase_add_test(tc, test_exec_symlink_loop);
    tcase_add_test(tc, test_exec_trailing_slash);
    tcase_add_test(tc, test_path_long_entries);
    tcase_add_test(tc, test_exec_e2big_total);
    tcase_add_test(tc, test_capture_limit_huge_stderr);
    tcase_add_test(tc, test_nproc_three_stages);
    tcase_add_test(tc, test_nproc_setup);
    tcase_add_test(tc, test_nproc_die_with_host);
    tcase_add_test(tc, test_nproc_retry);
}
