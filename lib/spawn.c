/*
 * spawn.c -- start one stage: posix_spawn with the child's descriptors
 * placed on 0, 1, 2, everything else closed (closefrom, O(1)), every
 * signal at its default disposition, an empty signal mask, the cwd and
 * process group set.  An exec or chdir failure comes back as an errno
 * value in the parent; nothing is printed and no exit status is invented.
 */
#include "internal.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
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

int whelk__spawn(const whelk_spawn_req *req, pid_t *pid, int *pidfd)
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
    if (*pidfd < 0 && errno != ENOSYS)
        return errno; /* the caller kills and reaps *pid */
    return 0;
}
