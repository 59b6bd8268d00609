/*
 * plan.h -- what one attempt is made of before spawning (plan.c): the
 * resolved paths, environments, descriptors and the streams the loop reads
 * (stream.h).  The plan is opaque outside plan.c: the spawner (run.c), the
 * loop (pump.c) and the modules that drive it read it through the
 * accessors below.  plan.c opens every descriptor in it; the loop closes
 * the streams' read ends and the stdin write end through
 * whelk__proc_close_fd.
 */
#ifndef WHELK_PLAN_H
#define WHELK_PLAN_H

#include "base.h"

struct whelk_stream; /* stream.h */

typedef struct whelk_plan whelk_plan; /* private to plan.c */
struct whelk_child_setup;             /* childsetup.h */

/* Validates p and prepares the attempt; NULL and *err on failure (nothing
 * left open).  deadline_ms (monotonic, -1 none) bounds the opening of
 * redirection files (redir.h): past it, WHELK_E_TIMEOUT. */
WHELK_INTERNAL whelk_plan *whelk__plan(const whelk_pipeline *p,
                                       int64_t deadline_ms, whelk_error **err);
/* Closes the child ends once every stage is spawned. */
WHELK_INTERNAL void whelk__plan_close_child_ends(whelk_plan *pl);
WHELK_INTERNAL void whelk__plan_free(whelk_plan *pl);
/* The error for exec's ENOENT on path (resolved, so it existed) when it is
 * a script whose #! interpreter is missing, or an ELF program whose
 * dynamic loader is: names the interpreter.  NULL when path is neither. */
WHELK_INTERNAL whelk_error *whelk__missing_interpreter(const whelk_cmd *cmd,
                                                       const char *path,
                                                       size_t stage);

/* What a stage is spawned with (run.c): its resolved program path; its
 * environment (NULL: the host's environ); the parent descriptors to
 * install as its 0, 1 and 2 (filter.c takes copies of a filter stage's);
 * its child setup (childsetup.h), or NULL. */
WHELK_INTERNAL const char *whelk__plan_path(const whelk_plan *pl, size_t i);
WHELK_INTERNAL char **whelk__plan_envp(const whelk_plan *pl, size_t i);
WHELK_INTERNAL const int *whelk__plan_fds(const whelk_plan *pl, size_t i);
WHELK_INTERNAL const struct whelk_child_setup *
whelk__plan_setup(const whelk_plan *pl, size_t i);

/* The streams the host reads, *n of them (the loop's, to read and close),
 * and the read end of stream i (-1 once closed). */
WHELK_INTERNAL struct whelk_stream *whelk__plan_streams(whelk_plan *pl,
                                                        size_t *n);
WHELK_INTERNAL int whelk__plan_stream_fd(const whelk_plan *pl, size_t i);

/* The write end of the stages' stdin: the descriptor (-1 when none or
 * closed); whether the host feeds it (WHELK_FEED, hostio.c) rather than
 * the loop writing the bytes given up front (whelk__plan_in_bytes, *len
 * of them, encoded); and taking it to close it (returns it, or -1, and
 * forgets it). */
WHELK_INTERNAL int whelk__plan_in_fd(const whelk_plan *pl);
WHELK_INTERNAL int whelk__plan_feed(const whelk_plan *pl);
WHELK_INTERNAL const unsigned char *whelk__plan_in_bytes(const whelk_plan *pl,
                                                         size_t *len);
WHELK_INTERNAL int whelk__plan_take_in_fd(whelk_plan *pl);

#endif /* WHELK_PLAN_H */
