/*
 * redir.h -- opening a redirection file (stdin_file, stdout_file,
 * stderr_file) inside the run's deadline: a FIFO whose other end nobody
 * opens must not hold the run past it.
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

#endif /* WHELK_REDIR_H */
