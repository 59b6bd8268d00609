/*
 * tee.h -- tee and connect (tee.c): one run's stdout copied, as it is read,
 * to more destinations -- a file, a descriptor, the stdin of another
 * running pipeline (libpipeline's pipeline_connect + pipeline_pump) --
 * besides its own destination (capture, callbacks or the host's pull).
 * The copies are made by the run's one loop, from the bytes it reads.
 */
#ifndef WHELK_TEE_H
#define WHELK_TEE_H

#include "base.h"

struct whelk_tees;   /* a pipeline's tee list, private to tee.c */
struct whelk_teerun; /* one run's open destinations, private to tee.c */

/* pipeline.c: free the tee list of a pipeline (NULL is fine). */
WHELK_INTERNAL void whelk__tees_free(struct whelk_tees *t);

/* pipeline.c: a copy of the list for whelk_pipeline_dup; NULL for NULL, or
 * (*bad set) when memory is exhausted. */
WHELK_INTERNAL struct whelk_tees *whelk__tees_dup(const struct whelk_tees *t,
                                                  int *bad);

/* run.c: open the tee destinations of a run of p (before spawning) into
 * *run (left NULL when p has none), a tee file inside deadline_ms (the
 * run's deadline, CLOCK_MONOTONIC ms; -1 none: a FIFO without a reader
 * then waits, as in sh).  NULL when all is well, or the error
 * (WHELK_E_TIMEOUT when the deadline passed first); *run then holds what
 * was opened, for whelk__tee_free.  p must outlive *run. */
WHELK_INTERNAL whelk_error *whelk__tee_start(const whelk_pipeline *p,
                                             int64_t deadline_ms,
                                             struct whelk_teerun **run);

/* pump.c: bytes read from the last stage's stdout of src (raw, before
 * decoding); eof: the stream ended (its fed pipelines get end of file).
 * Waits for a destination to take them no later than until
 * (CLOCK_MONOTONIC ms; -1: as long as it takes); one that did not is
 * dropped (a fed pipeline's stdin closed).  Writing into a fed pipeline
 * runs its loop, whose callbacks may stop src: the copy stops then. */
WHELK_INTERNAL void whelk__tee_copy(struct whelk_teerun *r, whelk_proc *src,
                                    const char *data, size_t len, int eof,
                                    int64_t until);

/* run.c: close what the run opened for its tees and free r (NULL is
 * fine). */
WHELK_INTERNAL void whelk__tee_free(struct whelk_teerun *r);

/* remote.c: all of data to the caller's descriptor fd (a far stage's
 * stderr sent to WHELK_INHERIT or whelk_cmd_stderr_fd), written as a tee
 * descriptor is: never raising SIGPIPE in the host, its flags left alone,
 * waiting for room no later than until (CLOCK_MONOTONIC ms; -1: as long as
 * it takes).  0, or -1 when the reader is gone, the write failed or the
 * time passed (ETIMEDOUT). */
WHELK_INTERNAL int whelk__tee_put_fd(int fd, const char *data, size_t len,
                                     int64_t until);

#endif /* WHELK_TEE_H */
