/*
 * redir.c -- opening redirection files inside the run's deadline.
 *
 * open(2) of a FIFO blocks until the other end is opened, and nothing can
 * interrupt it but a signal the library may not use.  Under a deadline the
 * file is therefore opened with O_NONBLOCK, which returns at once, and the
 * wait for the peer is done here, bounded: a reader waits in poll(2) for
 * the first bytes (or a writer that came and went), a writer retries the
 * open while it fails with ENXIO (no reader yet), backing off to 50 ms.
 * O_NONBLOCK is cleared before the descriptor is handed to a stage.
 * whelk__await_fd is the same bounded wait for any descriptor (tee.c
 * waits with it for a tee destination to take bytes).
 */
#include "redir.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#define FLAGS (O_CLOEXEC | O_NOCTTY)

static int is_fifo(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
}

int whelk__left_ms(int64_t deadline_ms)
{
    int64_t left = deadline_ms - whelk__now_ms();

    if (deadline_ms < 0)
        return -1;
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

int whelk__await_fd(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        struct pollfd pf = {fd, events, 0};
        int r = poll(&pf, 1, whelk__left_ms(deadline_ms));

        if (r > 0)
            return 0;
        if (r == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (errno != EINTR)
            return -1;
    }
}

int whelk__open_redir(const char *path, int flags, int64_t deadline_ms)
{
    int fd, backoff = 1, fl;
    struct stat st;

    if (deadline_ms < 0) {
        do
            fd = open(path, flags | FLAGS, 0666);
        while (fd < 0 && errno == EINTR);
        return fd;
    }
    for (;;) {
        int wait;

        fd = open(path, flags | FLAGS | O_NONBLOCK, 0666);
        if (fd >= 0)
            break;
        if (errno == EINTR)
            continue;
        /* ENXIO: a FIFO opened for writing has no reader yet (a device
         * without its hardware says the same, and is not waited for) */
        if (errno != ENXIO || (flags & O_ACCMODE) == O_RDONLY || !is_fifo(path))
            return -1;
        if ((wait = whelk__left_ms(deadline_ms)) == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        (void)poll(NULL, 0, wait < backoff ? wait : backoff);
        backoff = backoff >= 25 ? 50 : backoff * 2;
    }
    if (((flags & O_ACCMODE) == O_RDONLY && fstat(fd, &st) == 0 &&
         S_ISFIFO(st.st_mode) &&
         whelk__await_fd(fd, POLLIN, deadline_ms) < 0) ||
        (fl = fcntl(fd, F_GETFL)) < 0 ||
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}
