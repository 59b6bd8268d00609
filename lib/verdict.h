/*
 * verdict.h -- from the statuses of a finished run to its outcome
 * (verdict.c): the result, or the error naming the stage that failed with
 * the tail of its stderr, which the loop (pump.c) keeps for it.
 */
#ifndef WHELK_VERDICT_H
#define WHELK_VERDICT_H

#include "buf.h"

/* The stderr tail kept per stage (pump.c), and how much of it an error
 * quotes (its last lines). */
#define WHELK_TAIL_BYTES 2048
#define WHELK_TAIL_LINES 10

/* The outcome of a finished run of p: *r holds every stage's status;
 * fail is the run-wide failure (timeout, decode, abort, io) or NULL, and
 * is taken; tails the per-stage stderr tails; host_head: the host stopped
 * reading before the end of the output, so a SIGPIPE death of the last
 * stage is no failure.  Returns NULL when the run succeeded (*r left to
 * the caller), else the error, which takes *r (set to NULL) unless it is
 * the static NOMEM error. */
WHELK_INTERNAL whelk_error *whelk__verdict(const whelk_pipeline *p,
                                           whelk_result **r, whelk_error *fail,
                                           const whelk_buf *tails,
                                           int host_head);

#endif /* WHELK_VERDICT_H */
