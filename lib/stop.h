/*
 * stop.h -- how the library stops a run before its stages end on their
 * own (a deadline, whelk_proc_cancel, a callback returning non-zero), and
 * which stage the error then names.
 */
#ifndef WHELK_STOP_H
#define WHELK_STOP_H

#include "base.h"

/* The first stage still running, after collecting the statuses of stages
 * that have already exited (without blocking); WHELK_NO_STAGE if none.
 * Its status in the result will be the one the stop gives it. */
WHELK_INTERNAL size_t whelk__stop_stage(whelk_proc *pr);

/* Record why the run stopped (unless it already failed): an error of kind
 * and errnum naming stage (or the pipeline, for WHELK_NO_STAGE), with the
 * message "`command` (stage i of n) <what>".  Returns the error recorded
 * (kept by the run), or NULL when the run had already failed. */
WHELK_INTERNAL whelk_error *whelk__stop_fail(whelk_proc *pr, int kind,
                                             int errnum, size_t stage,
                                             const char *what);

/* Stop the run now, as the host's decision (whelk_proc_cancel, and the
 * host giving up on a pull or feed): it ends in WHELK_E_ABORTED (errno
 * ECANCELED) whatever the stages do or have done, naming the first stage
 * still running; nothing more reaches callbacks; the stages get SIGTERM,
 * and SIGKILL after the pipeline's kill grace; once they are reaped the
 * remaining output is dropped.  why ends the message ("was cancelled").
 * Harmless when the run is already stopping (a deadline, an earlier
 * cancel).  Never blocks; the handle's wait or steps finish the stop.
 * Returns 0, or the errno value of a failed signal. */
WHELK_INTERNAL int whelk__proc_cancel(whelk_proc *pr, const char *why);

#endif /* WHELK_STOP_H */
