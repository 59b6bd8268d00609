/*
 * check_fds.c -- the host's descriptors and the kernel's refusals (issue
 * 10, first two sections):
 *
 *   - Library descriptors never sit at 0, 1 or 2.  With any of the 7
 *     combinations of the host's fds 0, 1, 2 closed and two runs in flight
 *     (one in a second thread, one a whelk_start handle with its epoll and
 *     timer descriptors made), a child given WHELK_INHERIT or the default
 *     /dev/null gets /dev/null or the host's own descriptor, never a pipe,
 *     pidfd, epoll or timer descriptor of another run, and nothing above 2;
 *     the runs in flight finish intact.
 *   - Restricted kernels: under a seccomp filter answering EPERM for
 *     close_range, for clone with CLONE_PIDFD, for pidfd_open, for
 *     pidfd_send_signal (each alone and all together, clone3 answering
 *     ENOSYS or EPERM), commands and pipelines run, exec errors come back,
 *     a 300 ms deadline holds with process groups on and off, and
 *     whelk_proc_kill delivers its signal.  A filter that notifies a
 *     supervisor thread counts the refused calls: each is tried once per
 *     process, not once per stage.
 *
 * Every case runs in a process forked from the test (its descriptors are
 * closed there, its filter installed there), which reports a failure as a
 * message on a pipe and a non-zero exit status.  Nothing sleeps to
 * synchronise: the runs in flight say "ready" through a line callback and
 * end when the test closes their stdin.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "config.h"

/* Whether this build starts stages with clone(CLONE_PIDFD) first (the
 * condition of lib/spawn.c). */
#if defined(WHELK_FAST_SPAWN) &&                                               \
    (defined(__x86_64__) || defined(__aarch64__) ||                            \
     (defined(__riscv) && __riscv_xlen == 64))
#define FAST_PATH 1
#else
#define FAST_PATH 0
#endif

#define HPIPE(...) helper_pipe(__VA_ARGS__, (const char *)NULL)
#define HCMD(...) helper_cmd(__VA_ARGS__, (const char *)NULL)

/* Slack on every upper time bound (a loaded machine, sanitizers). */
#define SLACK_MS 2500

/* ------------------------------------------------- the forked case */

/* Where a forked case reports its first failure. */
static int report_fd = -1;

/* In a forked case: on failure, say why on the report pipe and exit 1. */
#define EXPECT(cond, ...)                                                      \
    do {                                                                       \
        if (!(cond))                                                           \
            fail_case(__LINE__, #cond, __VA_ARGS__);                           \
    } while (0)

static void fail_case(int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void fail_case(int line, const char *cond, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    int n = snprintf(msg, sizeof msg, "line %d: %s: ", line, cond);

    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof msg)
        vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    (void)!write(report_fd, msg, strlen(msg));
    _exit(1);
}

/* Runs fn(arg) in a forked process; the test fails with its message
 * unless it returns (exit status 0). */
static void in_forked_case(void (*fn)(int), int arg)
{
    char msg[2048];
    size_t len = 0;
    int pfd[2], st;
    ssize_t n;
    pid_t pid;

    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(pfd[0]);
        /* above 2: the case closes the host's standard descriptors */
        report_fd = fcntl(pfd[1], F_DUPFD_CLOEXEC, 10);
        close(pfd[1]);
        fn(arg);
        _exit(0);
    }
    close(pfd[1]);
    while (len < sizeof msg - 1 &&
           ((n = read(pfd[0], msg + len, sizeof msg - 1 - len)) > 0 ||
            (n < 0 && errno == EINTR)))
        if (n > 0)
            len += (size_t)n;
    msg[len] = '\0';
    close(pfd[0]);
    while (waitpid(pid, &st, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "case %d: %s (status 0x%x)", arg, len ? msg : "no message",
                  st);
}

/* A pipe of the test, both ends above 2 and close-on-exec. */
static void high_pipe(int fds[2])
{
    int i, raw[2];

    EXPECT(pipe2(raw, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
    for (i = 0; i < 2; i++) {
        fds[i] = fcntl(raw[i], F_DUPFD_CLOEXEC, 10);
        EXPECT(fds[i] >= 10, "F_DUPFD: %s", strerror(errno));
        close(raw[i]);
    }
}

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

/* ------------------------------------------------ seccomp: refusals */

#if defined(__x86_64__)
#define FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FILTER_ARCH AUDIT_ARCH_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define FILTER_ARCH AUDIT_ARCH_RISCV64
#else
#error "the seccomp tests need the audit arch of this machine"
#endif

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

enum {
    R_CLOSE_RANGE = 1,
    R_CLONE_PIDFD = 2,
    R_PIDFD_OPEN = 4,
    R_PIDFD_SIGNAL = 8
};
#define R_ALL (R_CLOSE_RANGE | R_CLONE_PIDFD | R_PIDFD_OPEN | R_PIDFD_SIGNAL)

typedef struct rule {
    long nr;
    unsigned mask;   /* 0: any call; else only when args[0] has these bits */
    unsigned action; /* SECCOMP_RET_* */
} rule;

/* A filter: each rule in order, everything else allowed. */
static size_t build_filter(struct sock_filter *f, const rule *rules, size_t n)
{
    size_t k = 0, i;

    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, arch));
    f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                                          FILTER_ARCH, 1, 0);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, nr));
    for (i = 0; i < n; i++) {
        if (!rules[i].mask) {
            f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                                                  (unsigned)rules[i].nr, 0, 1);
            f[k++] =
                (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, rules[i].action);
            continue;
        }
        f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                                              (unsigned)rules[i].nr, 0, 4);
        /* the low 32 bits of args[0] (little-endian) */
        f[k++] = (struct sock_filter)BPF_STMT(
            BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
        f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K,
                                              rules[i].mask, 0, 1);
        f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, rules[i].action);
        f[k++] = (struct sock_filter)BPF_STMT(
            BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    }
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    return k;
}

/* Installs the filter on the calling thread (and what it spawns); the
 * listener descriptor when a rule notifies, else 0. */
static int install_filter(const rule *rules, size_t n, int notify)
{
    struct sock_filter f[64];
    struct sock_fprog prog;
    long rc;

    prog.len = (unsigned short)build_filter(f, rules, n);
    prog.filter = f;
    EXPECT(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs: %s",
           strerror(errno));
    rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                 notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &prog);
    EXPECT(rc >= 0, "seccomp: %s", strerror(errno));
    return (int)rc;
}

static unsigned errno_action(int e)
{
    return SECCOMP_RET_ERRNO | ((unsigned)e & SECCOMP_RET_DATA);
}

/* The rules of a set of R_* refusals (EPERM), clone3 answering clone3_err. */
static size_t refusal_rules(rule *r, int set, int clone3_err)
{
    size_t n = 0;

    if (set & R_CLOSE_RANGE)
        r[n++] = (rule){SYS_close_range, 0, errno_action(EPERM)};
    if (set & R_CLONE_PIDFD)
        r[n++] = (rule){SYS_clone, CLONE_PIDFD, errno_action(EPERM)};
    if (set & R_PIDFD_OPEN)
        r[n++] = (rule){SYS_pidfd_open, 0, errno_action(EPERM)};
    if (set & R_PIDFD_SIGNAL)
        r[n++] = (rule){SYS_pidfd_send_signal, 0, errno_action(EPERM)};
    r[n++] = (rule){SYS_clone3, 0, errno_action(clone3_err)};
    return n;
}

static void refuse_all(void)
{
    rule rules[8];

    install_filter(rules, refusal_rules(rules, R_ALL, EPERM), 0);
}

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

static Suite *fds_suite(void)
{
    Suite *s = suite_create("fds");
    TCase *tc = tcase_create("std fds closed");

    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_loop_test(tc, test_closed_std_fds_runs_in_flight, 1, 8);
    tcase_add_loop_test(tc, test_closed_std_fds_runs_in_flight, 9, 16);
    suite_add_tcase(s, tc);

    tc = tcase_create("refused calls");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_loop_test(tc, test_refused_calls_fall_back, 0, 2 * NSETS);
    tcase_add_loop_test(tc, test_fallback_decided_once, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(fds_suite());
}
