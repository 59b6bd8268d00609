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
 *
 * The runner and fixtures; the tests are in tests/fds/<topic>.c, one
 * file per topic, sharing tests/fds/fds.h.
 */
#include "fds/fds.h"

/* ------------------------------------------------- the forked case */

/* Where a forked case reports its first failure. */
static int report_fd = -1;

void fail_case(int line, const char *cond, const char *fmt, ...)
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
void in_forked_case(void (*fn)(int), int arg)
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
void high_pipe(int fds[2])
{
    int i, raw[2];

    EXPECT(pipe2(raw, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
    for (i = 0; i < 2; i++) {
        fds[i] = fcntl(raw[i], F_DUPFD_CLOEXEC, 10);
        EXPECT(fds[i] >= 10, "F_DUPFD: %s", strerror(errno));
        close(raw[i]);
    }
}

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
int install_filter(const rule *rules, size_t n, int notify)
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
size_t refusal_rules(rule *r, int set, int clone3_err)
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

static Suite *fds_suite(void)
{
    Suite *s = suite_create("fds");

    fds_std_fds_closed(s);
    fds_refused_calls(s);

    return s;
}

int main(void)
{
    return run_suite(fds_suite());
}
