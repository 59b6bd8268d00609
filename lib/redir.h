/*
 * redir.h -- opening a redirection file (stdin_file, stdout_file,
 * stderr_file) inside the run's deadline: a FIFO whose other end nobody
 * opens must not hold the run past it -- and the bounded wait for a
 * descriptor that opening uses.
 */
#ifndef WHELK_REDIR_H
#define WHELK_REDIR_H

#include "base.h"

/* open(path, flags | O_CLOEXEC | O_NOCTTY, 0666), retried on EINTR.
 * Without a deadline (deadline_ms < 0) it blocks as open(2) does: a FIFO
 * waits for its other end, as in sh.  With one (CLOCK_MONOTONIC ms, see
 * whelk__now_ms) it never blocks past it: the file is opened with
 * O_NONBLOCK; a FIFO opened for reading is handed over once a writer has
 * written to it or closed it, one opened for writing once a reader has
 * opened it (ENXIO retried until then); O_NONBLOCK is then cleared.
 * Returns the descriptor, or -1 with errno (ETIMEDOUT: the deadline passed
 * first). */
WHELK_INTERNAL int whelk__open_redir(const char *path, int flags,
                                     int64_t deadline_ms);

/* Wait until fd is ready for events (POLLIN, POLLOUT; an error or hangup
 * counts as ready: the next read or write reports it), no later than
 * deadline_ms (CLOCK_MONOTONIC ms; < 0: as long as it takes).  A deadline
 * already passed still looks once, without waiting.  EINTR is retried.
 * Returns 0 when ready, or -1 with errno (ETIMEDOUT: the deadline came
 * first). */
/* Milliseconds left until deadline_ms (CLOCK_MONOTONIC, see whelk__now_ms)
 * as a poll(2) timeout: -1 when there is no deadline (deadline_ms < 0), 0
 * once it has passed, at most INT_MAX. */
WHELK_INTERNAL int whelk__left_ms(int64_t deadline_ms);
WHELK_INTERNAL int whelk__await_fd(int fd, short events, int64_t deadline_ms);

#endif /* WHELK_REDIR_H */
