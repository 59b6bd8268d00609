/*
 * filter.h -- filter stages (filter.c): a C function as a stage of a
 * pipeline, run in the host's own loop, never in a forked child.
 *
 * A filter stage has no process: its "stdin" is the read end of the pipe
 * (or file) the stage before it writes, its "stdout" the write end of the
 * pipe the stage after it reads (or the pipeline's stdout).  The loop
 * (pump.c) polls both through the hooks below, reads the input, calls the
 * function, and writes what it emits; a stage whose output cannot keep up
 * stops reading its input (backpressure).  When the function returns
 * non-zero, or its input ends, the stage ends as a program would: its
 * input is closed (upstream gets EPIPE/SIGPIPE), its output flushed and
 * closed, and its status (the value returned) is reaped like a child's.
 */
#ifndef WHELK_FILTER_H
#define WHELK_FILTER_H

#include <poll.h>

#include "base.h"

/* Slots of the pollfd array per stage that a filter may use (input and
 * output); program stages leave theirs unused (fd -1). */
#define WHELK_FILTER_SLOTS 2

struct whelk_filters; /* one run's filter stages, private to filter.c */

/* run.c: set the filter stages of pr up once the plan is made, before its
 * child ends are closed: their descriptors are taken from the plan
 * (whelk__plan_fds), their stages marked as having no process.  *out is
 * left NULL when pr has none; else it is set first, so that a failure
 * leaves nothing half made that whelk__filters_free does not clean.  0, or
 * an errno value. */
WHELK_INTERNAL int whelk__filters_start(whelk_proc *pr,
                                        struct whelk_filters **out);

/* run.c: release a run's filter stages (closes what is still open; NULL is
 * fine). */
WHELK_INTERNAL void whelk__filters_free(struct whelk_filters *fs);

/* pump.c: fill the filter slots (WHELK_FILTER_SLOTS * n from fds, n the
 * run's number of stages; fs NULL: a run without filters, all unused). */
WHELK_INTERNAL void whelk__filters_fill(const struct whelk_filters *fs,
                                        size_t n, struct pollfd *fds);

/* pump.c: act on what poll reported in the filter slots (NULL is fine). */
WHELK_INTERNAL void whelk__filters_handle(struct whelk_filters *fs,
                                          const struct pollfd *fds);

/* run.c: the non-zero value the function of filter stage `stage` returned,
 * which ended that stage (its status is that value as an exit code,
 * 1..255); 0 when the stage is not a filter or ended otherwise (NULL is
 * fine). */
WHELK_INTERNAL int whelk__filter_returned(const struct whelk_filters *fs,
                                          size_t stage);

/* pump.c: a signal sent to the run: SIGKILL, SIGTERM, SIGINT, SIGHUP and
 * SIGPIPE end the running filters as if it had killed them (NULL is
 * fine). */
WHELK_INTERNAL void whelk__filters_signal(struct whelk_filters *fs, int sig);

#endif /* WHELK_FILTER_H */
