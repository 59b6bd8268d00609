/*
 * core/fds.c -- the core suite's "fds" tests (run by tests/check_core.c).
 */
#include "core.h"

START_TEST(test_child_sees_only_std_fds)
{
    int fds[9], pfd[2], i, n = 0;
    struct rlimit rl;
    whelk_result *r;
    whelk_pipeline *p;

    /* inheritable descriptors of every kind, low and high */
    fds[n++] = dup(0);
    fds[n++] = open("/dev/null", O_RDONLY);
    fds[n++] = open(tmpdir, O_RDONLY | O_DIRECTORY);
    ck_assert_int_eq(pipe(pfd), 0);
    fds[n++] = pfd[0];
    fds[n++] = pfd[1];
    fds[n++] = dup2(pfd[0], 100);
    fds[n++] = dup2(pfd[1], 1000);
    /* the highest descriptor the host may have */
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur > 1001 && rl.rlim_cur != RLIM_INFINITY)
        fds[n++] = dup2(pfd[0], (int)(rl.rlim_cur - 1));
    for (i = 0; i < n; i++)
        ck_assert_int_ge(fds[i], 3);

    r = HELPER_OK("fds");
    ASSERT_STDOUT(r, "0 1 2\n");
    whelk_result_free(r);

    /* with stdin bytes, stderr merged, stdout to a file */
    {
        char *f = tmp_path("fds.out");
        char *got;

        p = helper_pipe("fds", "count", (const char *)NULL);
        whelk_pipeline_stdin_bytes(p, "abc", 3);
        whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_TO_STDOUT);
        r = run_ok(p);
        ASSERT_STDOUT(r, "0 1 2\n3\n");
        whelk_result_free(r);
        whelk_pipeline_stdout_file(p, f, 0);
        r = run_ok(p);
        whelk_result_free(r);
        got = slurp(f, NULL);
        ck_assert_str_eq(got, "0 1 2\n3\n");
        free(got);
        free(f);
        whelk_pipeline_free(p);
    }
    for (i = 0; i < n; i++)
        close(fds[i]);
}
END_TEST

START_TEST(test_host_std_fds_closed)
{
    /* the host has no 0, 1, 2: the library's own pipes land there, and
     * the child must still get them as its 0, 1, 2 -- and nothing else */
    int s0 = fcntl(0, F_DUPFD_CLOEXEC, 50), s1 = fcntl(1, F_DUPFD_CLOEXEC, 50),
        s2 = fcntl(2, F_DUPFD_CLOEXEC, 50);
    whelk_pipeline *p;
    whelk_result *r1, *r2;
    whelk_error *err = NULL, *err2 = NULL;

    ck_assert(s0 >= 0 && s1 >= 0 && s2 >= 0);
    close(0);
    close(1);
    close(2);
    p = helper_pipe("count", "out:O", "err:E", "fds", (const char *)NULL);
    whelk_pipeline_stdin_bytes(p, "abcd", 4);
    r1 = whelk_run(p, &err);
    /* and with stdin /dev/null by default */
    whelk_pipeline_free(p);
    p = helper_pipe("count", "fds", "err:E2", (const char *)NULL);
    r2 = whelk_run(p, &err2);
    dup2(s0, 0);
    dup2(s1, 1);
    dup2(s2, 2);
    close(s0);
    close(s1);
    close(s2);

    ck_assert_msg(r1 != NULL, "%s", err_desc(err));
    ASSERT_STDOUT(r1, "4\nO0 1 2\n");
    ASSERT_STDERR(r1, "E");
    ck_assert_msg(r2 != NULL, "%s", err_desc(err2));
    ASSERT_STDOUT(r2, "0\n0 1 2\n");
    ASSERT_STDERR(r2, "E2");
    whelk_result_free(r1);
    whelk_result_free(r2);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_host_std_fds_odd)
{
    /* 0 is write-only, 1 read-only, 2 a directory: none of it matters to
     * a child whose streams are all redirected */
    int s0 = fcntl(0, F_DUPFD_CLOEXEC, 50), s1 = fcntl(1, F_DUPFD_CLOEXEC, 50),
        s2 = fcntl(2, F_DUPFD_CLOEXEC, 50);
    int a = open("/dev/null", O_WRONLY), b = open("/dev/null", O_RDONLY),
        d = open(tmpdir, O_RDONLY | O_DIRECTORY);
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err = NULL;

    ck_assert(s0 >= 0 && s1 >= 0 && s2 >= 0 && a >= 0 && b >= 0 && d >= 0);
    dup2(a, 0);
    dup2(b, 1);
    dup2(d, 2);
    close(a);
    close(b);
    close(d);
    p = helper_pipe("cat", "err:E", "fds", (const char *)NULL);
    whelk_pipeline_stdin_bytes(p, "in", 2);
    r = whelk_run(p, &err);
    dup2(s0, 0);
    dup2(s1, 1);
    dup2(s2, 2);
    close(s0);
    close(s1);
    close(s2);

    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ASSERT_STDOUT(r, "in0 1 2\n");
    ASSERT_STDERR(r, "E");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_run_leaves_host_fds)
{
    /* the host's inheritable fds stay inheritable and open; the run adds
     * no descriptor of its own to the host */
    int fd = open("/dev/null", O_RDONLY);
    char *before, *after;
    whelk_result *r;

    ck_assert_int_ge(fd, 0);
    before = fd_list();
    r = HELPER_OK("out:x", "err:y");
    whelk_result_free(r);
    after = fd_list();
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    free(before);
    free(after);
    close(fd);
}
END_TEST

/* Marks every descriptor >= 3 of the host close-on-exec, so that any
 * inheritable descriptor seen later was made by the library. */
static void cloexec_all(void)
{
    char *list = fd_list(), *p = list;

    ck_assert_ptr_nonnull(list);
    while (*p) {
        int fd = (int)strtol(p, &p, 10);

        if (fd >= 3)
            fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
        while (*p == ' ')
            p++;
    }
    free(list);
}

/* The host's descriptors >= 3 without FD_CLOEXEC, as "5 7" ("" if none). */
static void inheritable_fds(char *out, size_t size)
{
    char *list = fd_list(), *p = list;
    size_t used = 0;

    out[0] = '\0';
    while (p && *p) {
        int fd = (int)strtol(p, &p, 10), fl = fcntl(fd, F_GETFD);

        if (fd >= 3 && fl >= 0 && !(fl & FD_CLOEXEC))
            used += (size_t)snprintf(out + used, size - used, "%s%d",
                                     used ? " " : "", fd);
        while (*p == ' ')
            p++;
    }
    free(list);
}

struct cloexec_ctx {
    int calls;
    int open_during; /* descriptors of the host during the run */
    char leaked[256];
};

static int cloexec_on_line(const whelk_line *line, void *userdata)
{
    struct cloexec_ctx *ctx = userdata;

    (void)line;
    if (ctx->calls++ == 0) {
        ctx->open_during = count_open_fds();
        inheritable_fds(ctx->leaked, sizeof ctx->leaked);
    }
    return 0;
}

START_TEST(test_library_fds_cloexec)
{
    /* while a run is in progress (pipes for stdin, stdout and stderr, a
     * pidfd, whatever else the library holds), every descriptor it made
     * is close-on-exec: a fork+exec elsewhere in the host cannot leak it */
    size_t n = 2 * MiB;
    unsigned char *in = random_bytes(n, 11);
    struct cloexec_ctx ctx;
    whelk_pipeline *p = helper_pipe("out:first\\n", "err:e\\n", "drain",
                                    "lines:3", (const char *)NULL);
    whelk_result *r;
    int before;

    cloexec_all();
    before = count_open_fds();
    memset(&ctx, 0, sizeof ctx);
    whelk_pipeline_stdin_bytes(p, in, n);
    whelk_pipeline_on_line(p, WHELK_STDOUT | WHELK_STDERR, cloexec_on_line,
                           &ctx);
    r = run_ok(p);
    ck_assert_int_ge(ctx.calls, 1);
    /* the check saw the library's descriptors, not an idle host */
    ck_assert_msg(ctx.open_during > before,
                  "no descriptor open during the run");
    ck_assert_msg(ctx.leaked[0] == '\0', "inheritable during the run: %s",
                  ctx.leaked);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(in);
}
END_TEST

struct runner {
    int stop;
    int runs, failures;
    char why[256];
};

static void *run_loop(void *arg)
{
    struct runner *rn = arg;
    unsigned char data[100000];

    memset(data, 'x', sizeof data);
    while (!__atomic_load_n(&rn->stop, __ATOMIC_SEQ_CST)) {
        whelk_pipeline *p = helper_pipe("count", "err:e", (const char *)NULL);
        whelk_error *err = NULL;
        whelk_result *r;

        whelk_pipeline_stdin_bytes(p, data, sizeof data);
        r = whelk_run(p, &err);
        if (!r || strcmp(whelk_result_stdout(r, NULL), "100000\n") != 0) {
            rn->failures++;
            snprintf(rn->why, sizeof rn->why, "%s", err_desc(err));
        }
        whelk_error_free(err);
        whelk_result_free(r);
        whelk_pipeline_free(p);
        rn->runs++;
    }
    return NULL;
}

START_TEST(test_foreign_spawn_during_runs)
{
    /* another thread of the host starts its own children with plain
     * posix_spawn (no closefrom) while runs are in progress: they must
     * not inherit any descriptor of the library */
    struct runner rn;
    pthread_t th;
    int i;

    cloexec_all();
    memset(&rn, 0, sizeof rn);
    ck_assert_int_eq(pthread_create(&th, NULL, run_loop, &rn), 0);
    for (i = 0; i < 200; i++) {
        char *argv[] = {(char *)HELPER, (char *)"fds", NULL};
        posix_spawn_file_actions_t fa;
        int pfd[2], status;
        char buf[256];
        ssize_t got, len = 0;
        pid_t pid;

        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
        ck_assert_int_eq(posix_spawn(&pid, HELPER, &fa, NULL, argv, environ),
                         0);
        posix_spawn_file_actions_destroy(&fa);
        close(pfd[1]);
        while ((got = read(pfd[0], buf + len, sizeof buf - 1 - (size_t)len)) >
               0)
            len += got;
        close(pfd[0]);
        buf[len] = '\0';
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(strcmp(buf, "0 1 2\n") == 0, "foreign child %d saw: %s",
                      i, buf);
    }
    __atomic_store_n(&rn.stop, 1, __ATOMIC_SEQ_CST);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_msg(rn.failures == 0, "%d of %d runs failed: %s", rn.failures,
                  rn.runs, rn.why);
    ck_assert_int_gt(rn.runs, 0);
}
END_TEST

void core_fds(Suite *s)
{
    TCase *tc;

    tc = core_tcase(s, "fds", 1);
    tcase_add_test(tc, test_child_sees_only_std_fds);
    tcase_add_test(tc, test_host_std_fds_closed);
    tcase_add_test(tc, test_host_std_fds_odd);
    tcase_add_test(tc, test_run_leaves_host_fds);
    tcase_add_test(tc, test_library_fds_cloexec);
    tcase_add_test(tc, test_foreign_spawn_during_runs);
}
