/*
 * remote.h -- running a pipeline on another machine through a transport
 * (ssh, docker exec, sh -c): the interface between remote.c and the run
 * (run.c, pump.c, verdict.c).
 *
 * A remote run is a local run of ONE process, the transport, given a
 * generated POSIX sh script as its last argument.  The script checks that
 * every program exists there, runs the stages with fifos between them,
 * keeps each stage's stderr in a private `mktemp -d` directory, and at the
 * end writes framed records on its stderr: each stage's stderr (length
 * prefixed) and every stage's exit status.  A watchdog on the far side
 * writes a heartbeat byte on that stderr every second; when the write
 * fails (the transport died: a timeout, a cancel, the host gone) it kills
 * the run's processes there.  The host reads the transport's stderr as
 * one "mux" stream and demultiplexes it into per-stage streams, so the
 * result looks like a local n-stage run.
 */
#ifndef WHELK_REMOTE_H
#define WHELK_REMOTE_H

#include "base.h"

struct whelk_stream; /* stream.h */
struct whelk_status; /* status.h */

/* The state of one remote attempt (owned by its whelk_proc). */
typedef struct whelk_rrun whelk_rrun;

/* Validates p (a pipeline with a remote) and prepares an attempt: the
 * local one-stage pipeline that runs the transport.  NULL and *err on
 * failure. */
WHELK_INTERNAL whelk_rrun *whelk__remote_prepare(whelk_pipeline *p,
                                                 whelk_error **err);
/* The local pipeline to plan and spawn (owned by rr). */
WHELK_INTERNAL whelk_pipeline *whelk__remote_local(whelk_rrun *rr);
/* Turns a failure to plan or spawn the transport into the remote's own
 * error (WHELK_E_TRANSPORT naming the transport); returns the new error
 * and frees e. */
WHELK_INTERNAL whelk_error *whelk__remote_start_error(whelk_rrun *rr,
                                                      whelk_error *e);
/* Called once the transport is spawned: stages 1..n-1 have no local
 * process, the stdout stream is the last stage's, the stderr stream is
 * the mux.  0, or -1 with *err. */
WHELK_INTERNAL int whelk__remote_started(whelk_proc *pr, whelk_error **err);
/* Bytes of the mux stream (eof: it ended).  -1 when the run must stop. */
WHELK_INTERNAL int whelk__remote_demux(whelk_proc *pr, char *data, size_t len,
                                       int eof);
/* Before the verdict (run.c): st, the statuses of the n stages as the loop
 * collected them (stage 0's is the transport's), become the ones the far
 * side reported; stop_sig is the signal the library stopped the run with
 * (SIGTERM, SIGKILL; 0: it did not), which stages without a reported
 * status then show.  Then whelk__remote_failure: the failure of the
 * transport (given its own status), a missing program or a bad cwd
 * there, or NULL. */
WHELK_INTERNAL void whelk__remote_settle(const whelk_rrun *rr,
                                         struct whelk_status *st, int stop_sig);
WHELK_INTERNAL whelk_error *
whelk__remote_failure(whelk_rrun *rr, const struct whelk_status *transport);
WHELK_INTERNAL void whelk__remote_run_free(whelk_rrun *rr);

/* Delivers bytes of stream s as pump.c does for a stream it reads
 * (decode, capture, lines, callbacks).  -1 when the run must stop. */
WHELK_INTERNAL int whelk__deliver(whelk_proc *pr, struct whelk_stream *s,
                                  char *data, size_t len, int eof);
/* Checks the pipeline's builder faults and stages before planning. */
WHELK_INTERNAL whelk_error *whelk__plan_validate(const whelk_pipeline *p);

#endif /* WHELK_REMOTE_H */
