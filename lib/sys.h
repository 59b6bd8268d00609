/*
 * sys.h -- what libwhelk asks of the kernel beyond POSIX, in one place:
 * every descriptor the library makes is kept above 2, and the newer Linux
 * calls (clone with CLONE_PIDFD, clone3, close_range, pidfd_open,
 * pidfd_send_signal) are used until the kernel, a seccomp profile or an
 * emulator refuses one (ENOSYS or EPERM), after which this process uses
 * the older way for good: posix_spawn or fork, waitid polling, kill(pid).
 */
#ifndef WHELK_SYS_H
#define WHELK_SYS_H

#include <sys/types.h>

#include "base.h"

/* Facilities a host may refuse. */
enum whelk_facility {
    WHELK_FAC_CLONE_PIDFD,  /* clone(CLONE_PIDFD): the fast spawn path */
    WHELK_FAC_CLOSE_RANGE,  /* close_range (the fast path's child needs it) */
    WHELK_FAC_CLONE3,       /* clone3, without which glibc's posix_spawn
                               fails unless the refusal is ENOSYS */
    WHELK_FAC_PIDFD_OPEN,   /* pidfds for posix_spawn'ed children */
    WHELK_FAC_PIDFD_SIGNAL, /* pidfd_send_signal */
};

/* 1 once fac has been refused in this process, else 0. */
WHELK_INTERNAL int whelk__refused(int fac);
/* Records that fac was refused: from now on this process does without it.
 * Thread-safe; recording it again changes nothing. */
WHELK_INTERNAL void whelk__refuse(int fac);
/* Does errnum mean "not available here" (ENOSYS, or EPERM from seccomp)? */
WHELK_INTERNAL int whelk__is_refusal(int errnum);

/* The one rule for descriptors the library makes: fd itself when it is
 * above 2 (or negative: a failed call, errno kept); else a close-on-exec
 * duplicate above 2, fd being closed.  -1 with errno when that duplicate
 * cannot be made (fd is closed then too).  No call that makes a
 * descriptor takes a floor, so for the few instructions between that call
 * and this one another thread of a host that closed 0, 1 or 2 could see
 * it there; a run in flight never leaves one there. */
WHELK_INTERNAL int whelk__fd_high(int fd);
/* A close-on-exec duplicate of fd above 2 (fd stays open).  -1 with errno;
 * EMFILE, not fcntl's EINVAL, when RLIMIT_NOFILE allows no descriptor
 * above 2. */
WHELK_INTERNAL int whelk__dup_high(int fd);

/* A pidfd (close-on-exec, above 2) for our unreaped child pid, or -1 with
 * errno: ESRCH when it is already gone, ENOSYS when pidfd_open is refused
 * in this process (the caller then polls with waitid). */
WHELK_INTERNAL int whelk__pidfd_open(pid_t pid);

/* Sends sig to our unreaped child pid, through its pidfd when it has one
 * (pidfd >= 0) and pidfd_send_signal is allowed, else with kill(pid):
 * safe as long as the child is not reaped, since until then its number
 * cannot be reused.  0, or -1 with errno (ESRCH: already gone). */
WHELK_INTERNAL int whelk__pidfd_kill(int pidfd, pid_t pid, int sig);

#endif /* WHELK_SYS_H */
