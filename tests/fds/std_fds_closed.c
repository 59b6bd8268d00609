/*
 * fds/std_fds_closed.c -- the fds suite's "std_fds_closed" tests (run by tests/check_fds.c).
 */
#include "fds.h"

/* What /proc/<pid>/fd/<fd> names ("" when it is not open). */
static void fd_target(pid_t pid, int fd, char *buf, size_t size)
{
    char path[64];
    ssize_t n;

    if (pid)
        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
    else
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    n = readlink(path, buf, size - 1);
    buf[n < 0 ? 0 : n] = '\0';
}

/* The descriptors open in process pid, as "0 1 2". */
static void fd_numbers(pid_t pid, char *buf, size_t size)
{
    char path[64];
    int fd, used = 0;

    buf[0] = '\0';
    for (fd = 0; fd < 1024; fd++) {
        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
        if (access(path, F_OK) == 0 && used < (int)size - 12) {
            used += snprintf(buf + used, size - (size_t)used, "%s%d",
                             used ? " " : "", fd);
            if (fd > 2 && used < (int)size - 2) {
                char what[PATH_MAX];
                fd_target(pid, fd, what, sizeof what);
                used +=
                    snprintf(buf + used, size - (size_t)used, " (%s)", what);
            }
        }
    }
}

/* ------------------------------------ descriptors of the library at 0-2 */

/* A run in flight: the helper says "ready", then copies its stdin (a pipe
 * of the test, whose write end the test closes to end it). */
typedef struct flight {
    int in[2];    /* the run's stdin: [0] to the child, [1] the test's */
    int ready[2]; /* the line callback writes a byte on [1] */
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err;
} flight;

static int on_ready(const whelk_line *line, void *ud)
{
    flight *f = ud;

    if (line->len == 5 && memcmp(line->text, "ready", 5) == 0)
        (void)!write(f->ready[1], "r", 1);
    return 0;
}

static void flight_init(flight *f)
{
    high_pipe(f->in);
    high_pipe(f->ready);
    f->p = HPIPE("out:ready\\n", "cat");
    whelk_pipeline_stdin_fd(f->p, f->in[0]);
    whelk_pipeline_on_line(f->p, WHELK_STDOUT, on_ready, f);
    whelk_pipeline_timeout(f->p, 120000); /* a timer armed */
    f->r = NULL;
    f->err = NULL;
}

static void *flight_thread(void *arg)
{
    flight *f = arg;

    f->r = whelk_run(f->p, &f->err);
    return NULL;
}

static void flight_wait_ready(flight *f)
{
    char c;
    ssize_t n;

    do
        n = read(f->ready[0], &c, 1);
    while (n < 0 && errno == EINTR);
    EXPECT(n == 1, "the run in flight never said ready");
}

/* Feed the end of its input and close it: the run can finish. */
static void flight_end(flight *f)
{
    EXPECT(write(f->in[1], "intact\n", 7) == 7, "write: %s", strerror(errno));
    close(f->in[1]);
}

static void flight_check(flight *f, const char *who)
{
    const char *out;

    EXPECT(f->r != NULL, "the run in %s failed: %s", who, err_desc(f->err));
    out = whelk_result_stdout(f->r, NULL);
    EXPECT(strcmp(out, "ready\nintact\n") == 0, "the run in %s gave \"%s\"",
           who, out);
    EXPECT(whelk_result_exit_code(f->r, 0) == 0, "exit %d",
           whelk_result_exit_code(f->r, 0));
    whelk_result_free(f->r);
    whelk_pipeline_free(f->p);
    close(f->in[0]);
    close(f->ready[0]);
    close(f->ready[1]);
}

/* Wait until the helper has opened and closed the FIFO fifo (its touch
 * action): it has started, past its own start-up. */
static void wait_touched(const char *fifo)
{
    char c;
    ssize_t n;
    int fd = open(fifo, O_RDONLY | O_CLOEXEC), hi;

    EXPECT(fd >= 0, "open %s: %s", fifo, strerror(errno));
    hi = fcntl(fd, F_DUPFD_CLOEXEC, 10); /* not on a closed 0, 1, 2 */
    close(fd);
    EXPECT(hi >= 10, "F_DUPFD: %s", strerror(errno));
    do
        n = read(hi, &c, 1);
    while (n < 0 && errno == EINTR);
    EXPECT(n == 0, "the FIFO gave %zd", n);
    close(hi);
}

/* Start a helper that waits to be killed; once it has started, check what
 * its 0, 1, 2 are and that it has nothing else, then kill it.  The
 * default child lists its descriptors too (the helper's fds). */
static void check_child(const char *host[3], const char *fifo, int closed,
                        int inherit)
{
    char what[PATH_MAX], nums[1024], *touch = xasprintf("touch:%s", fifo);
    whelk_error *err = NULL;
    whelk_pipeline *p;
    whelk_proc *pr;
    pid_t pid;
    int i;

    if (inherit) {
        p = HPIPE(touch, "sleep:60000");
        whelk_pipeline_stdin(p, WHELK_INHERIT);
        whelk_pipeline_stdout(p, WHELK_INHERIT);
        whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_INHERIT);
    } else {
        p = HPIPE("fds", touch, "sleep:60000");
    }
    free(touch);
    pr = whelk_start(p, &err);
    EXPECT(pr != NULL, "start: %s", err_desc(err));
    wait_touched(fifo);
    pid = whelk_proc_pid(pr, 0);
    fd_numbers(pid, nums, sizeof nums);
    EXPECT(strcmp(nums, "0 1 2") == 0,
           "%s child of closed set %d has descriptors %s",
           inherit ? "inheriting" : "default", closed, nums);
    for (i = 0; i < 3; i++) {
        const char *want;

        fd_target(pid, i, what, sizeof what);
        if (inherit)
            want = closed & (1 << i) ? "/dev/null" : host[i];
        else if (i == 0)
            want = "/dev/null";
        else
            want = NULL; /* a pipe of its own run */
        if (want)
            EXPECT(strcmp(what, want) == 0,
                   "%s child, host fds %d closed: its fd %d is \"%s\", "
                   "expected \"%s\"",
                   inherit ? "inheriting" : "default", closed, i, what, want);
        else
            EXPECT(strncmp(what, "pipe:", 5) == 0,
                   "default child, host fds %d closed: its fd %d is \"%s\"",
                   closed, i, what);
    }
    EXPECT(whelk_proc_kill(pr, SIGKILL) == 0, "kill");
    EXPECT(whelk_proc_wait(pr, &err) == NULL, "it was killed");
    EXPECT(whelk_error_kind(err) == WHELK_E_SIGNAL, "%s", err_desc(err));
    if (!inherit) {
        const char *out = whelk_result_stdout(whelk_error_result(err), NULL);
        EXPECT(strcmp(out, "0 1 2\n") == 0, "the child listed \"%s\"", out);
    }
    whelk_error_free(err);
    whelk_pipeline_free(p);
}

/* Installs a filter refusing every newer call with EPERM, clone3 too:
 * this thread then spawns by fork and exec (defined below). */
static void refuse_all(void);

/* Bits 0-2 of arg: the host descriptors 0, 1, 2 to close.  Bit 3: after
 * the thread's run has started, refuse every newer call in this thread
 * (the handle and the children then start by fork and exec). */
static void case_closed_std(int arg)
{
    int closed = arg & 7;
    char host[3][PATH_MAX];
    const char *hostp[3];
    flight th, hd;
    whelk_error *err = NULL;
    whelk_proc *pr;
    pthread_t tid;
    char *dir = make_tmpdir(), *fifo = path_join(dir, "started");
    int i, pfd;

    EXPECT(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
    for (i = 0; i < 3; i++) {
        fd_target(0, i, host[i], sizeof host[i]);
        hostp[i] = host[i];
        if (closed & (1 << i))
            close(i);
    }
    /* a run in flight in a second thread */
    flight_init(&th);
    EXPECT(pthread_create(&tid, NULL, flight_thread, &th) == 0, "thread");
    flight_wait_ready(&th);
    if (arg & 8)
        refuse_all();
    /* and a handle, with its epoll and timer descriptors */
    flight_init(&hd);
    pr = whelk_start(hd.p, &err);
    EXPECT(pr != NULL, "start: %s", err_desc(err));
    pfd = whelk_proc_fd(pr);
    EXPECT(pfd > 2, "whelk_proc_fd gave %d", pfd);
    for (i = 0; i < 3; i++)
        if (closed & (1 << i)) {
            char what[PATH_MAX];
            fd_target(0, i, what, sizeof what);
            EXPECT(!fd_is_open(i),
                   "host fd %d was closed, the library put \"%s\" there", i,
                   what);
        }

    check_child(hostp, fifo, closed, 1);
    check_child(hostp, fifo, closed, 0);
    /* a child started while these run holds no descriptor of theirs */

    flight_end(&th);
    EXPECT(pthread_join(tid, NULL) == 0, "join");
    flight_check(&th, "the thread");
    flight_end(&hd);
    hd.r = whelk_proc_wait(pr, &hd.err);
    flight_check(&hd, "the handle");
    for (i = 0; i < 3; i++)
        if (closed & (1 << i))
            EXPECT(!fd_is_open(i), "the library left fd %d open", i);
    EXPECT(count_children() == 0, "%d children left", count_children());
    rm_rf(dir);
    free(dir);
    free(fifo);
}

START_TEST(test_closed_std_fds_runs_in_flight)
{
    /* _i: 1..7, the set of closed host descriptors; 9..15, the same with
     * every newer call refused */
    in_forked_case(case_closed_std, _i);
}
END_TEST

static void refuse_all(void)
{
    rule rules[8];

    install_filter(rules, refusal_rules(rules, R_ALL, EPERM), 0);
}

void fds_std_fds_closed(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "std fds closed", TEST_TIMEOUT, NULL, NULL);
    tcase_add_loop_test(tc, test_closed_std_fds_runs_in_flight, 1, 8);
    tcase_add_loop_test(tc, test_closed_std_fds_runs_in_flight, 9, 16);
}
