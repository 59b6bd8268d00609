/*
 * spawn.c -- start one stage: the child's descriptors placed on 0, 1, 2,
 * everything else closed (O(1), close_range), every signal at its default
 * disposition, an empty signal mask, the cwd and process group set.  An
 * exec or chdir failure comes back as an errno value in the parent;
 * nothing is printed and no exit status is invented.
 *
 * Three ways, the first the process may use (sys.h decides once per
 * process which facilities a kernel or seccomp profile refuses):
 *   fast   clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD): the child borrows
 *          the parent's memory on a stack of its own until it execs (vfork
 *          speed, whatever the size of the host), does only async-signal-
 *          safe system calls, and reports a failure through shared memory.
 *          It resets the 62 catchable signals with one rt_sigaction each
 *          (half of what glibc's posix_spawn does: it asks before it sets).
 *          The pidfd comes with the clone, for free.  Not used once clone
 *          with CLONE_PIDFD or close_range was refused (ENOSYS or EPERM:
 *          Linux < 5.9, seccomp), nor when --disable-fast-spawn chose so.
 *   posix  glibc's posix_spawn (addchdir_np, addclosefrom_np, SETSIGDEF,
 *          SETSIGMASK, SETPGROUP), then pidfd_open unless refused.
 *   fork   _Fork and exec, the same steps with plain system calls, for a
 *          process whose seccomp profile refuses clone3 with EPERM: glibc's
 *          posix_spawn then fails (it falls back to clone only on ENOSYS).
 *          It copies the host's page tables: the price of that profile.
 */
#include "alloc.h"
#include "spawner.h"
#include "childsetup.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

static void wait_for(pid_t pid)
{
    int st;

    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
}

/* ---------------------------------------------------------- posix_spawn */

static int spawn_posix(const whelk_spawn_req *req, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t all, none;
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    int rc, i;

    if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
        return rc;
    if ((rc = posix_spawnattr_init(&at)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return rc;
    }
    for (i = 0; i < 3 && rc == 0; i++)
        rc = posix_spawn_file_actions_adddup2(&fa, req->fds[i], i);
    /* glibc closes by listing /proc/self/fd when close_range is refused */
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (rc == 0 && req->cwd)
        rc = posix_spawn_file_actions_addchdir_np(&fa, req->cwd);
    sigfillset(&all);
    sigemptyset(&none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(&at, &all);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(&at, &none);
    if (rc == 0 && req->pgroup >= 0) {
        flags |= POSIX_SPAWN_SETPGROUP;
        rc = posix_spawnattr_setpgroup(&at, req->pgroup);
    }
    if (rc == 0)
        rc = posix_spawnattr_setflags(&at, flags);
    if (rc == 0)
        rc = posix_spawn(pid, req->path, &fa, &at, req->argv,
                         req->envp ? req->envp : environ);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* Did posix_spawn fail with errnum because clone3 is refused with it?  A
 * clone3 without arguments cannot make a process: the kernel answers
 * EINVAL, a filter its errno (ENOSYS glibc handles itself). */
static int clone3_refused_with(int errnum)
{
#ifdef SYS_clone3
    if (errnum == ENOSYS || errnum == EINVAL)
        return 0;
    return syscall(SYS_clone3, NULL, (size_t)0) < 0 && errno == errnum;
#else
    (void)errnum;
    return 0;
#endif
}

/* ----------------------------------------------------------------- fork */

/* What a forked child writes on its error pipe before an errno value:
 * close_range was refused, which the parent records for the process. */
#define NOTE_NO_CLOSE_RANGE (-1)

/* In the forked child: every descriptor from lo up close-on-exec (the
 * error pipe must stay open until execve).  0, or -1 with errno. */
static int cloexec_from(int lo, int errfd)
{
    union {
        struct dirent64 d;
        char bytes[4096];
    } buf;
    long n;
    int dir;

#ifdef SYS_close_range
    if (!whelk__refused(WHELK_FAC_CLOSE_RANGE) &&
        syscall(SYS_close_range, (unsigned)lo, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return 0;
    if (whelk__is_refusal(errno)) {
        int note = NOTE_NO_CLOSE_RANGE;
        (void)!write(errfd, &note, sizeof note);
    }
#endif
    /* refused, or a kernel before 5.11: list the open descriptors */
    dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return -1;
    while ((n = syscall(SYS_getdents64, dir, buf.bytes, sizeof buf)) > 0) {
        long off = 0;
        while (off < n) {
            const struct dirent64 *d =
                (const struct dirent64 *)(void *)(buf.bytes + off);
            const char *c = d->d_name;
            int fd = 0;
            off += d->d_reclen;
            if (*c < '0' || *c > '9')
                continue;
            while (*c >= '0' && *c <= '9')
                fd = fd * 10 + (*c++ - '0');
            if (fd >= lo && fd != dir)
                (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
    }
    close(dir);
    return n < 0 ? -1 : 0;
}

/* The forked child: never returns. */
static void fork_child(const whelk_spawn_req *req, int errfd)
{
    struct sigaction dfl;
    sigset_t none;
    int sig, i, e;

    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            (void)sigaction(sig, &dfl, NULL);
    if (req->pgroup >= 0 && setpgid(0, req->pgroup) < 0)
        goto fail;
    /* the plan keeps every source above 2, so dup2 never sees fd == i */
    for (i = 0; i < 3; i++)
        if (dup2(req->fds[i], i) < 0)
            goto fail;
    if (cloexec_from(3, errfd) < 0)
        goto fail;
    if (req->setup) {
        /* the error pipe must not sit on a target (it stays close-on-exec) */
        int hi = whelk__child_max_fd(req->setup), moved;
        if (errfd <= hi) {
            if ((moved = fcntl(errfd, F_DUPFD_CLOEXEC, hi + 1)) < 0) {
                e = (STEP_FD << 16) | errno; /* on the pipe still open */
                goto report;
            }
            errfd = moved;
        }
        /* everything above 2 is close-on-exec now: no gap to close */
        if ((e = whelk__child_fds(req->setup, 0)) != 0 ||
            (e = whelk__child_creds(req->setup)) != 0)
            goto report;
    }
    if (req->cwd && chdir(req->cwd) < 0)
        goto fail;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(req->path, req->argv, req->envp ? req->envp : environ);
fail:
    e = errno;
report:
    (void)!write(errfd, &e, sizeof e);
    _exit(127);
}

static int spawn_fork(const whelk_spawn_req *req, pid_t *pid)
{
    sigset_t all, old;
    int ep[2], e;
    ssize_t n;
    pid_t p;

    if (pipe2(ep, O_CLOEXEC) < 0)
        return errno;
    ep[0] = whelk__fd_high(ep[0]);
    e = errno;
    ep[1] = whelk__fd_high(ep[1]);
    if (ep[0] < 0 || ep[1] < 0) {
        e = ep[0] < 0 ? e : errno;
        if (ep[0] >= 0)
            close(ep[0]);
        if (ep[1] >= 0)
            close(ep[1]);
        return e;
    }
    /* no handler of the host may run in the child before its reset */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    p = _Fork(); /* no atfork handler: no host code in the child */
    if (p == 0)
        fork_child(req, ep[1]);
    e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(ep[1]);
    if (p < 0) {
        close(ep[0]);
        return e;
    }
    for (;;) {
        do
            n = read(ep[0], &e, sizeof e);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof e || e != NOTE_NO_CLOSE_RANGE)
            break;
        whelk__refuse(WHELK_FAC_CLOSE_RANGE);
    }
    close(ep[0]);
    if (n == (ssize_t)sizeof e) {
        wait_for(p);
        if (req->step) /* a child-setup failure: (step << 16) | errno */
            *req->step = e >> 16;
        return e & 0xffff;
    }
    *pid = p;
    return 0;
}

/* The fast path is built where its raw system calls are known to fit:
 * 64-bit Linux on x86_64, aarch64 and riscv64 (an 8-byte kernel sigset;
 * the all-zero SIG_DFL sigaction has the same meaning in every layout). */
#if defined(WHELK_FAST_SPAWN) && defined(__linux__) && defined(CLONE_PIDFD) && \
    defined(SYS_close_range) && defined(SYS_rt_sigaction) &&                   \
    defined(SYS_dup3) && __SIZEOF_LONG__ == 8 &&                               \
    (defined(__x86_64__) || defined(__aarch64__) ||                            \
     (defined(__riscv) && __riscv_xlen == 64))

#define CHILD_STACK (32 * 1024)

/* The kernel's struct sigaction, for raw rt_sigaction. */
struct ksigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

typedef struct child_ctx {
    const whelk_spawn_req *req;
    volatile int err;     /* set by the child when it cannot exec */
    volatile int refused; /* set by the child: close_range was refused */
} child_ctx;

/* Runs in the child, in the parent's memory, with every signal blocked.
 * Only raw system calls: no allocation, no locks, no stdio. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)
__attribute__((no_sanitize("address", "undefined")))
#endif
static int
child_main(void *arg)
{
    child_ctx *c = arg;
    const whelk_spawn_req *req = c->req;
    struct ksigaction dfl = {SIG_DFL, 0, NULL, 0};
    unsigned long none = 0;
    int sig, i;

    /* Handlers and SIG_IGN alike back to SIG_DFL (execve keeps SIG_IGN). */
    for (sig = 1; sig <= 64; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
    if (req->pgroup >= 0 && syscall(SYS_setpgid, 0, req->pgroup) < 0)
        goto fail;
    /* the plan keeps every source above 2, so dup3 never sees fd == i */
    for (i = 0; i < 3; i++)
        if (syscall(SYS_dup3, req->fds[i], i, 0) < 0)
            goto fail;
    if (req->setup) {
        /* extra descriptors, the gaps closed, limits, ids: one word back */
        int r = whelk__child_fds(req->setup, 1);
        if (!r)
            r = whelk__child_creds(req->setup);
        if (r) {
            c->refused = (r >> 16) == STEP_CLOSE &&
                         ((r & 0xffff) == ENOSYS || (r & 0xffff) == EPERM);
            c->err = r;
            syscall(SYS_exit, 127);
            return 127;
        }
    } else if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
        /* ENOSYS or a seccomp EPERM: the parent starts this stage, and
         * every later one, another way */
        c->refused = errno == ENOSYS || errno == EPERM;
        goto fail;
    }
    if (req->cwd && syscall(SYS_chdir, req->cwd) < 0)
        goto fail;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
    syscall(SYS_execve, req->path, req->argv, req->envp ? req->envp : environ);
fail:
    c->err = errno ? errno : EINVAL;
    syscall(SYS_exit, 127);
    return 127;
}

/* -1: the fast path is not available in this process (the refusal is
 * recorded, nothing was left running); else as whelk__spawn. */
static int spawn_fast(const whelk_spawn_req *req, pid_t *pid, int *pidfd)
{
    unsigned long all = ~0UL, old;
    child_ctx ctx;
    char *stack;
    int fd = -1, saved_errno = errno, e;
    pid_t p;

    if (whelk__refused(WHELK_FAC_CLONE_PIDFD) ||
        whelk__refused(WHELK_FAC_CLOSE_RANGE))
        return -1;
    if (!(stack = whelk__malloc(CHILD_STACK)))
        return ENOMEM;
    ctx.req = req;
    ctx.err = 0;
    ctx.refused = 0;
    /* Block everything, glibc's internal signals too, so that no handler
     * of the host runs in the child while it shares the host's memory. */
    if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof all) < 0) {
        free(stack);
        errno = saved_errno;
        return -1;
    }
    p = clone(child_main, stack + CHILD_STACK,
              CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &ctx, &fd);
    e = errno;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof old);
    free(stack);
    errno = saved_errno;
    if (p < 0) {
        /* EINVAL: a kernel without CLONE_PIDFD; ENOSYS, EPERM: seccomp */
        if (e != EINVAL && !whelk__is_refusal(e))
            return e;
        whelk__refuse(WHELK_FAC_CLONE_PIDFD);
        return -1;
    }
    if (ctx.err) {
        wait_for(p);
        if (fd >= 0)
            close(fd);
        errno = saved_errno;
        if (!ctx.refused) {
            if (req->step) /* a child-setup failure: (step << 16) | errno */
                *req->step = ctx.err >> 16;
            return ctx.err & 0xffff;
        }
        whelk__refuse(WHELK_FAC_CLOSE_RANGE);
        return -1;
    }
    *pid = p;
    *pidfd = whelk__fd_high(fd); /* the host may have closed 0, 1 or 2 */
    e = errno;
    errno = saved_errno;
    /* the caller kills and reaps *pid */
    return *pidfd < 0 && fd >= 0 ? e : 0;
}
#else
static int spawn_fast(const whelk_spawn_req *req, pid_t *pid, int *pidfd)
{
    (void)req;
    (void)pid;
    (void)pidfd;
    return -1;
}
#endif

int whelk__spawn(const whelk_spawn_req *req, pid_t *pid, int *pidfd)
{
    int rc = spawn_fast(req, pid, pidfd);

    if (rc != -1)
        return rc;
    *pidfd = -1;
    /* posix_spawn cannot set limits, nice, umask, ids or the parent-death
     * signal: a command with a child setup takes the fork path's way */
    if (whelk__refused(WHELK_FAC_CLONE3) || req->setup) {
        rc = spawn_fork(req, pid);
    } else {
        rc = spawn_posix(req, pid);
        if (rc != 0 && clone3_refused_with(rc)) {
            /* nothing was started: glibc could not make the process */
            whelk__refuse(WHELK_FAC_CLONE3);
            rc = spawn_fork(req, pid);
        }
    }
    if (rc != 0)
        return rc;
    *pidfd = whelk__pidfd_open(*pid);
    /* ESRCH: it already exited and a host ignoring SIGCHLD let the kernel
     * reap it; waitpid will say so.  ENOSYS: no pidfds here, waitid
     * polling. */
    if (*pidfd < 0 && errno != ENOSYS && errno != ESRCH)
        return errno; /* the caller kills and reaps *pid */
    return 0;
}
