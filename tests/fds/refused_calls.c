/*
 * fds/refused_calls.c -- the fds suite's "refused_calls" tests (run by tests/check_fds.c).
 */
#include "fds.h"

/* Whether this build starts stages with clone(CLONE_PIDFD) first (the
 * condition of lib/spawn.c). */
#if defined(WHELK_FAST_SPAWN) &&                                               \
    (defined(__x86_64__) || defined(__aarch64__) ||                            \
     (defined(__riscv) && __riscv_xlen == 64))
#define FAST_PATH 1
#else
#define FAST_PATH 0
#endif

/* Slack on every upper time bound (a loaded machine, sanitizers). */
#define SLACK_MS 2500

/* A run that must succeed; its stdout (the caller frees the result). */
static whelk_result *must_run(whelk_pipeline *p, const char *what)
{
    whelk_error *err = NULL;
    whelk_result *r = whelk_run(p, &err);

    EXPECT(r != NULL, "%s: %s", what, err_desc(err));
    return r;
}

/* A sleeping stage with a 300 ms deadline comes back in about 300 ms +
 * the grace, not 8 s. */
static void expect_deadline(int pgroup)
{
    whelk_pipeline *p = HPIPE("sleep:8000");
    whelk_error *err = NULL;
    whelk_result *r;
    int64_t t0, ms;

    whelk_pipeline_pgroup(p, pgroup);
    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 200);
    t0 = now_ms();
    r = whelk_run(p, &err);
    ms = now_ms() - t0;
    EXPECT(r == NULL && whelk_error_kind(err) == WHELK_E_TIMEOUT,
           "pgroup %d: %s", pgroup, err_desc(err));
    EXPECT(ms >= 290 && ms < 300 + 200 + SLACK_MS,
           "pgroup %d: the 300 ms deadline returned after %lld ms", pgroup,
           (long long)ms);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}

/* whelk_proc_kill delivers: the stage dies of that signal, at once. */
static void expect_kill(int pgroup, int stages)
{
    whelk_pipeline *p = stages == 1
                            ? HPIPE("sleep:8000")
                            : whelk_pipe(HCMD("sleep:8000"), HCMD("sleep:8000"),
                                         (whelk_cmd *)NULL);
    whelk_error *err = NULL;
    whelk_proc *pr;
    int64_t t0, ms;
    int rc;

    whelk_pipeline_pgroup(p, pgroup);
    t0 = now_ms();
    pr = whelk_start(p, &err);
    EXPECT(pr != NULL, "start: %s", err_desc(err));
    rc = whelk_proc_kill(pr, SIGUSR1);
    EXPECT(rc == 0, "pgroup %d: whelk_proc_kill: %s", pgroup, strerror(rc));
    EXPECT(whelk_proc_wait(pr, &err) == NULL, "pgroup %d: it finished", pgroup);
    ms = now_ms() - t0;
    EXPECT(whelk_error_kind(err) == WHELK_E_SIGNAL &&
               whelk_error_signal(err) == SIGUSR1,
           "pgroup %d: %s", pgroup, err_desc(err));
    EXPECT(whelk_result_signal(whelk_error_result(err), stages - 1) == SIGUSR1,
           "pgroup %d: the last stage died of %d", pgroup,
           whelk_result_signal(whelk_error_result(err), stages - 1));
    EXPECT(ms < SLACK_MS, "pgroup %d: the killed run took %lld ms", pgroup,
           (long long)ms);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}

/* What every refusal case runs. */
static void run_everything(const char *dir)
{
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err = NULL;
    char want[64], *path;
    size_t len;
    int stray, i;

    /* a descriptor of the host without close-on-exec: no child gets it */
    stray = fcntl(1, F_DUPFD, 20);
    EXPECT(stray >= 20, "dup: %s", strerror(errno));

    p = HPIPE("out:hi\\n", "fds");
    r = must_run(p, "one command");
    EXPECT(strcmp(whelk_result_stdout(r, NULL), "hi\n0 1 2\n") == 0,
           "one command gave \"%s\"", whelk_result_stdout(r, NULL));
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* with a child setup (an extra descriptor) the child still sees only
     * what it was given */
    p = HPIPE("fds");
    whelk_cmd_fd(whelk_pipeline_cmd(p, 0), 7, stray);
    r = must_run(p, "an extra descriptor");
    EXPECT(strcmp(whelk_result_stdout(r, NULL), "0 1 2 7\n") == 0,
           "with fd 7 given the child listed \"%s\"",
           whelk_result_stdout(r, NULL));
    whelk_result_free(r);
    whelk_pipeline_free(p);

    free(lines_text(1000, &len));
    snprintf(want, sizeof want, "%zu\n", len);
    p = whelk_pipe(HCMD("lines:1000"), HCMD("cat"), HCMD("count"),
                   (whelk_cmd *)NULL);
    r = must_run(p, "a pipeline");
    EXPECT(strcmp(whelk_result_stdout(r, NULL), want) == 0,
           "the pipeline gave \"%s\", expected \"%s\"",
           whelk_result_stdout(r, NULL), want);
    for (i = 0; i < 3; i++)
        EXPECT(whelk_result_exit_code(r, (size_t)i) == 0, "stage %d", i);
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* die_with_host: where clone3 is refused with EPERM no thread can be
     * made; this process's only thread is its main thread, which spawns
     * the stages itself */
    p = HPIPE("out:kept\\n");
    whelk_pipeline_die_with_host(p, 1);
    r = must_run(p, "die_with_host");
    EXPECT(strcmp(whelk_result_stdout(r, NULL), "kept\n") == 0,
           "die_with_host gave \"%s\"", whelk_result_stdout(r, NULL));
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* an exec failure still comes back as an errno value */
    path = path_join(dir, "not-a-program");
    EXPECT(write_file(path, "garbage\n", 8, 0755) == 0, "write_file");
    p = whelk_pipe(whelk_cmd_new(path, (const char *)NULL), (whelk_cmd *)NULL);
    EXPECT(whelk_run(p, &err) == NULL, "garbage ran");
    EXPECT(whelk_error_kind(err) == WHELK_E_EXEC &&
               whelk_error_errno(err) == ENOEXEC,
           "%s", err_desc(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(path);

    for (i = 0; i < 2; i++) {
        expect_deadline(i);
        expect_kill(i, 1);
        expect_kill(i, 2);
    }
    close(stray);
    EXPECT(count_children() == 0, "%d children left", count_children());
}

/* _i: which refusals (index into the table) and clone3's answer. */
static const int refusal_sets[] = {R_CLOSE_RANGE, R_CLONE_PIDFD, R_PIDFD_OPEN,
                                   R_PIDFD_SIGNAL, R_ALL};
#define NSETS (int)(sizeof refusal_sets / sizeof refusal_sets[0])

static void case_refused(int which)
{
    int set = refusal_sets[which % NSETS];
    int clone3_err = which < NSETS ? ENOSYS : EPERM;
    char *dir = make_tmpdir();
    rule rules[8];

    install_filter(rules, refusal_rules(rules, set, clone3_err), 0);
    run_everything(dir);
    rm_rf(dir);
    free(dir);
}

START_TEST(test_refused_calls_fall_back)
{
    in_forked_case(case_refused, _i);
}
END_TEST

/* ------------------------------------- seccomp: decided once, counted */

/* Calls the supervisor saw, by rule. */
enum {
    C_CLONE_PIDFD,
    C_CLONE3,
    C_CLOSE_RANGE,
    C_PIDFD_OPEN,
    C_PIDFD_SIGNAL,
    NCOUNTS
};

typedef struct supervisor {
    int listen[2]; /* the listener descriptor is passed on this pipe */
    int allow_clone_pidfd;
    int counts[NCOUNTS];
} supervisor;

static void *supervise(void *arg)
{
    supervisor *sv = arg;
    int fd;

    if (read(sv->listen[0], &fd, sizeof fd) != sizeof fd)
        return NULL;
    for (;;) {
        struct seccomp_notif req;
        struct seccomp_notif_resp resp;
        int c = -1;

        memset(&req, 0, sizeof req);
        if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
            if (errno == EINTR || errno == ENOENT)
                continue;
            return NULL;
        }
        if (req.data.nr == SYS_clone)
            c = C_CLONE_PIDFD;
        else if (req.data.nr == SYS_clone3)
            c = C_CLONE3;
        else if (req.data.nr == SYS_close_range)
            c = C_CLOSE_RANGE;
        else if (req.data.nr == SYS_pidfd_open)
            c = C_PIDFD_OPEN;
        else if (req.data.nr == SYS_pidfd_send_signal)
            c = C_PIDFD_SIGNAL;
        if (c >= 0)
            __atomic_add_fetch(&sv->counts[c], 1, __ATOMIC_SEQ_CST);
        memset(&resp, 0, sizeof resp);
        resp.id = req.id;
        if (c == C_CLONE_PIDFD && sv->allow_clone_pidfd)
            resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        else
            resp.error = -EPERM;
        (void)ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    }
}

static void counts_now(supervisor *sv, int *c)
{
    int i;

    for (i = 0; i < NCOUNTS; i++)
        c[i] = __atomic_load_n(&sv->counts[i], __ATOMIC_SEQ_CST);
}

/* A few runs of every kind: stages spawned, waited for, signalled. */
static void batch(void)
{
    whelk_pipeline *p;
    whelk_result *r;

    p = HPIPE("out:x");
    r = must_run(p, "one command");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    p = whelk_pipe(HCMD("lines:10"), HCMD("count"), (whelk_cmd *)NULL);
    r = must_run(p, "a pipeline");
    EXPECT(strcmp(whelk_result_stdout(r, NULL), "71\n") == 0, "\"%s\"",
           whelk_result_stdout(r, NULL));
    whelk_result_free(r);
    whelk_pipeline_free(p);
    expect_kill(0, 2);
}

/* Does a filter of the environment (a container's) refuse call c already?
 * Then it never reaches the supervisor.  Each probe makes nothing: the
 * kernel itself answers EINVAL, or closes no descriptor.  0, or the errno
 * value of the refusal. */
static int env_refusal(int c)
{
    long rc = 0;
    int fd;

    errno = 0;
    switch (c) {
    case C_CLONE_PIDFD: /* legacy clone cannot have both: EINVAL */
        rc = syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID, 0, NULL,
                     NULL, 0);
        return rc < 0 && errno != EINVAL ? errno : 0;
    case C_CLONE3: /* no arguments: EINVAL */
        rc = syscall(SYS_clone3, NULL, (size_t)0);
        return rc < 0 && errno != EINVAL ? errno : 0;
    case C_CLOSE_RANGE: /* a descriptor nobody has */
        rc = syscall(SYS_close_range, ~0U, ~0U, 0U);
        return rc < 0 ? errno : 0;
    default: /* pidfd_open, then pidfd_send_signal of signal 0 */
        fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
        if (fd < 0)
            return errno;
        if (c == C_PIDFD_SIGNAL)
            rc = syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0);
        close(fd);
        return rc < 0 ? errno : 0;
    }
}

/* which 0: everything refused through the supervisor, clone3 too (the
 * fork way); 1: only close_range and pidfd_send_signal refused, clone with
 * CLONE_PIDFD counted and allowed (the fast child reports the refusal,
 * posix_spawn and pidfd_open follow). */
static void case_once(int which)
{
    static const char *names[NCOUNTS] = {"clone(CLONE_PIDFD)", "clone3",
                                         "close_range", "pidfd_open",
                                         "pidfd_send_signal"};
    supervisor sv;
    pthread_t tid;
    rule rules[8];
    size_t n = 0;
    int first[NCOUNTS], later[NCOUNTS], pre[NCOUNTS], i, fd;

    for (i = 0; i < NCOUNTS; i++)
        pre[i] = env_refusal(i);
    memset(&sv, 0, sizeof sv);
    high_pipe(sv.listen);
    sv.allow_clone_pidfd = which == 1;
    /* the supervisor thread exists before the filter: it is not filtered */
    EXPECT(pthread_create(&tid, NULL, supervise, &sv) == 0, "thread");
    rules[n++] = (rule){SYS_clone, CLONE_PIDFD, SECCOMP_RET_USER_NOTIF};
    rules[n++] = (rule){SYS_close_range, 0, SECCOMP_RET_USER_NOTIF};
    rules[n++] = (rule){SYS_pidfd_send_signal, 0, SECCOMP_RET_USER_NOTIF};
    if (which == 0) {
        rules[n++] = (rule){SYS_clone3, 0, SECCOMP_RET_USER_NOTIF};
        rules[n++] = (rule){SYS_pidfd_open, 0, SECCOMP_RET_USER_NOTIF};
    }
    fd = install_filter(rules, n, 1);
    EXPECT(write(sv.listen[1], &fd, sizeof fd) == sizeof fd, "pass fd");

    batch();
    counts_now(&sv, first);
    for (i = 0; i < 4; i++)
        batch();
    counts_now(&sv, later);

    /* (a call the environment refuses itself never reaches the supervisor:
     * none of it is counted) */
    /* the fast path is tried once in the process, whatever refused it */
    EXPECT(first[C_CLONE_PIDFD] == (pre[C_CLONE_PIDFD] ? 0 : FAST_PATH),
           "clone(CLONE_PIDFD) tried %d times", first[C_CLONE_PIDFD]);
    if (which == 0) {
        /* glibc's clone3 for posix_spawn, then the library's probe */
        EXPECT(first[C_CLONE3] == (pre[C_CLONE3] ? 0 : 2),
               "clone3 tried %d times", first[C_CLONE3]);
        /* the first forked child found it refused (unless clone3 is
         * ENOSYS already: glibc's posix_spawn works then, see below) */
        if (pre[C_CLONE3] != ENOSYS)
            EXPECT(first[C_CLOSE_RANGE] == (pre[C_CLOSE_RANGE] ? 0 : 1),
                   "close_range tried %d times", first[C_CLOSE_RANGE]);
        EXPECT(first[C_PIDFD_OPEN] == (pre[C_PIDFD_OPEN] ? 0 : 1),
               "pidfd_open tried %d times", first[C_PIDFD_OPEN]);
    } else {
        /* a pidfd from pidfd_open; signalled once, refused */
        EXPECT(first[C_PIDFD_SIGNAL] ==
                   (pre[C_PIDFD_OPEN] || pre[C_PIDFD_SIGNAL] ? 0 : 1),
               "pidfd_send_signal tried %d times", first[C_PIDFD_SIGNAL]);
    }
    for (i = 0; i < NCOUNTS; i++) {
        /* glibc's posix_spawn asks close_range in every child itself */
        if (i == C_CLOSE_RANGE && (which == 1 || pre[C_CLONE3] == ENOSYS))
            continue;
        EXPECT(later[i] == first[i],
               "%s: %d calls in the first batch, %d after four more", names[i],
               first[i], later[i]);
    }
}

START_TEST(test_fallback_decided_once)
{
    in_forked_case(case_once, _i);
}
END_TEST

void fds_refused_calls(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "refused calls", TEST_TIMEOUT, NULL, NULL);
    tcase_add_loop_test(tc, test_refused_calls_fall_back, 0, 2 * NSETS);
    tcase_add_loop_test(tc, test_fallback_decided_once, 0, 2);
}
