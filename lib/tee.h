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

struct whelk_tees; /* private to tee.c */

/* pipeline.c: free the tee list of a pipeline (NULL is fine). */
WHELK_INTERNAL void whelk__tees_free(struct whelk_tees *t);

/* pipeline.c: a copy of the list for whelk_pipeline_dup; NULL for NULL, or
 * (*bad set) when memory is exhausted. */
WHELK_INTERNAL struct whelk_tees *whelk__tees_dup(const struct whelk_tees *t,
                                                  int *bad);

/* run.c: open the run's tee destinations (before spawning).  NULL when
 * all is well (pr->tee set when there are tees), or the error. */
WHELK_INTERNAL whelk_error *whelk__tee_start(whelk_proc *pr);

/* pump.c: bytes read from the last stage's stdout (raw, before decoding);
 * eof: the stream ended (its fed pipelines get end of file). */
WHELK_INTERNAL void whelk__tee_copy(whelk_proc *pr, const char *data,
                                    size_t len, int eof);

/* run.c: close what the run opened for its tees. */
WHELK_INTERNAL void whelk__tee_free(whelk_proc *pr);

#endif /* WHELK_TEE_H */
