/*
 * sys.c -- descriptors above 2, and the capability cache: which of the
 * newer Linux calls this process may use, decided once per process by the
 * first refusal (see sys.h).
 */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef HAVE_SYS_PIDFD_H
#include <sys/pidfd.h>
#endif

/* The library's one global: a bit per facility of enum whelk_facility,
 * set by the first refusal and never cleared (write-once per bit), so
 * that a refused call is not tried again on every spawn.  It describes
 * the process (its kernel and seccomp filters, which can only grow
 * stricter), not any run, and two threads that find the same refusal
 * at once record the same bit. */
static unsigned refused_facilities;

int whelk__refused(int fac)
{
    return (__atomic_load_n(&refused_facilities, __ATOMIC_ACQUIRE) >> fac) & 1U;
}

void whelk__refuse(int fac)
{
    __atomic_fetch_or(&refused_facilities, 1U << fac, __ATOMIC_ACQ_REL);
}

int whelk__is_refusal(int errnum)
{
    return errnum == ENOSYS || errnum == EPERM;
}

int whelk__dup_high(int fd)
{
    int hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);

    /* EINVAL for an open fd: the floor 3 is at or above the limit */
    if (hi < 0 && errno == EINVAL && fcntl(fd, F_GETFD) >= 0)
        errno = EMFILE;
    return hi;
}

int whelk__fd_high(int fd)
{
    int hi, e;

    if (fd < 0 || fd > 2)
        return fd;
    hi = whelk__dup_high(fd);
    e = errno;
    close(fd);
    errno = e;
    return hi;
}

int whelk__pidfd_open(pid_t pid)
{
    int fd;

    if (whelk__refused(WHELK_FAC_PIDFD_OPEN)) {
        errno = ENOSYS;
        return -1;
    }
#if defined(HAVE_PIDFD_OPEN)
    fd = pidfd_open(pid, 0);
#elif defined(SYS_pidfd_open)
    fd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    fd = -1;
    errno = ENOSYS;
#endif
    if (fd < 0 && whelk__is_refusal(errno)) {
        whelk__refuse(WHELK_FAC_PIDFD_OPEN);
        errno = ENOSYS;
        return -1;
    }
    return whelk__fd_high(fd);
}

int whelk__pidfd_kill(int pidfd, pid_t pid, int sig)
{
    int rc, e;

    if (pidfd < 0 || whelk__refused(WHELK_FAC_PIDFD_SIGNAL))
        return kill(pid, sig);
#if defined(HAVE_PIDFD_SEND_SIGNAL)
    rc = pidfd_send_signal(pidfd, sig, NULL, 0);
#elif defined(SYS_pidfd_send_signal)
    rc = (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#else
    rc = -1;
    errno = ENOSYS;
#endif
    if (rc == 0 || !whelk__is_refusal(errno))
        return rc;
    /* EPERM is also the honest answer for a child that became another
     * user (a set-user-ID program): then kill is refused alike, and
     * pidfd_send_signal stays in use */
    e = errno;
    rc = kill(pid, sig);
    if (e == ENOSYS || rc == 0 || errno != EPERM)
        whelk__refuse(WHELK_FAC_PIDFD_SIGNAL);
    return rc;
}
