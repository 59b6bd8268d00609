/*
 * hostio.h -- the host drives the data (hostio.c): WHELK_PULL stdout read
 * through the handle (read, read_line, peek), WHELK_FEED stdin written
 * through it (write, close_stdin), and the FILE streams over both.
 *
 * The loop (pump.c) stays the one loop of the run: while the host waits in
 * a read or a write, hostio.c runs it, and the loop hands pulled text and
 * stdin readiness back through the hooks below.  A run without WHELK_PULL
 * or WHELK_FEED never calls them (the head's host stays NULL, proc_head.h).
 */
#ifndef WHELK_HOSTIO_H
#define WHELK_HOSTIO_H

#include "base.h"
#include "buf.h"

struct whelk_host; /* private to hostio.c */

/* pump.c: the stdin descriptor the loop should poll for room, or -1.  A fed
 * stdin is polled only while the host waits to write or encoded bytes are
 * left to write. */
WHELK_INTERNAL int whelk__host_feed_fd(const whelk_proc *pr);

/* pump.c: poll said the fed stdin has room (or its reader is gone): write
 * what is left of encoded bytes, then note the room for a waiting write. */
WHELK_INTERNAL void whelk__host_feed_ready(whelk_proc *pr);

/* pump.c: whether the loop reads the pulled stream now (the host waits in
 * a read, peek or write).  Otherwise it is left in the pipe. */
WHELK_INTERNAL int whelk__host_pulling(const whelk_proc *pr);

/* pump.c: text (decoded, if decoding is on) read from the pulled stream,
 * kept for the host's next read.  0, or -1 (ENOMEM). */
WHELK_INTERNAL int whelk__host_pulled(whelk_proc *pr, const char *text,
                                      size_t len);

/* pump.c: the buffer a plain pulled stream (not decoded, nothing else
 * reading it) is read straight into, with room made for want more bytes
 * where that costs no growth: the caller reserves want, reads after its
 * len, adds what it read to len and NUL-terminates.  NULL (ENOMEM). */
WHELK_INTERNAL whelk_buf *whelk__host_pull_buf(whelk_proc *pr, size_t want);

/* run.c, many.c: nobody will pull or feed any more (whelk_proc_wait, or a
 * run without a handle): unread output is discarded by closing its pipe,
 * which makes the host the pipeline's `head` (a SIGPIPE death of the last
 * stage is then no failure), and the fed stdin is closed once what was
 * taken is written. */
WHELK_INTERNAL void whelk__host_detach(whelk_proc *pr);

/* run.c: free the host state of a handle (NULL is fine). */
WHELK_INTERNAL void whelk__host_free(struct whelk_host *h);

#endif /* WHELK_HOSTIO_H */
