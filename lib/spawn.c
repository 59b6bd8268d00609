/*
 * spawn.c -- start one stage: the child's descriptors placed on 0, 1, 2,
 * everything else closed (O(1), close_range), every signal at its default
 * disposition, an empty signal mask, the cwd and process group set.  An
 * exec or chdir failure comes back as an errno value in the parent;
 * nothing is printed and no exit status is invented.
 *
 * Two paths:
 *   fast   clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD): the child borrows
 *          the parent's memory on a stack of its own until it execs (vfork
 *          speed, whatever the size of the host), does only async-signal-
 *          safe system calls, and reports a failure through shared memory.
 *          It resets the 62 catchable signals with one rt_sigaction each
 *          (half of what glibc's posix_spawn does: it asks before it sets).
 *          The pidfd comes with the clone, for free.
 *   posix  glibc's posix_spawn (addchdir_np, addclosefrom_np, SETSIGDEF,
 *          SETSIGMASK, SETPGROUP) and pidfd_open, when the fast path is
 *          unavailable (no CLONE_PIDFD or close_range: Linux < 5.9), or
 *          chosen at configure time (--disable-fast-spawn).
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef HAVE_SYS_PIDFD_H
#include <sys/pidfd.h>
#endif

extern char **environ;

/* A pidfd for pid, or -1 with errno (ENOSYS on old kernels). */
static int open_pidfd(pid_t pid)
{
#if defined(HAVE_PIDFD_OPEN)
    return pidfd_open(pid, 0);
#elif defined(SYS_pidfd_open)
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

static int spawn_posix(const whelk_spawn_req *req, pid_t *pid, int *pidfd)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t all, none;
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    int rc, i;

    *pidfd = -1;
    if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
        return rc;
    if ((rc = posix_spawnattr_init(&at)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return rc;
    }
    for (i = 0; i < 3 && rc == 0; i++)
        rc = posix_spawn_file_actions_adddup2(&fa, req->fds[i], i);
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
    if (rc != 0)
        return rc;
    *pidfd = open_pidfd(*pid);
    /* ESRCH: it already exited and a host ignoring SIGCHLD let the kernel
     * reap it; waitpid will say so.  ENOSYS: no pidfds, waitpid polling. */
    if (*pidfd < 0 && errno != ENOSYS && errno != ESRCH)
        return errno; /* the caller kills and reaps *pid */
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
    volatile int err; /* set by the child when it cannot exec */
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
    if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
        goto fail;
    if (req->cwd && syscall(SYS_chdir, req->cwd) < 0)
        goto fail;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
    syscall(SYS_execve, req->path, req->argv, req->envp ? req->envp : environ);
fail:
    c->err = errno ? errno : EINVAL;
    syscall(SYS_exit, 127);
    return 127;
}

/* -1: the fast path is not available here (use posix_spawn); else as
 * whelk__spawn. */
static int spawn_fast(const whelk_spawn_req *req, pid_t *pid, int *pidfd)
{
    unsigned long all = ~0UL, old;
    child_ctx ctx;
    char *stack;
    int fd = -1, saved_errno = errno, e;
    pid_t p;

    if (!(stack = whelk__malloc(CHILD_STACK)))
        return ENOMEM;
    ctx.req = req;
    ctx.err = 0;
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
    if (p < 0) {
        errno = saved_errno;
        return e == EINVAL || e == ENOSYS ? -1 : e;
    }
    if (ctx.err) {
        int st;
        while (waitpid(p, &st, 0) < 0 && errno == EINTR)
            ;
        if (fd >= 0)
            close(fd);
        errno = saved_errno;
        return ctx.err == ENOSYS ? -1 : ctx.err;
    }
    *pid = p;
    *pidfd = fd;
    errno = saved_errno;
    return 0;
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

    return rc == -1 ? spawn_posix(req, pid, pidfd) : rc;
}
