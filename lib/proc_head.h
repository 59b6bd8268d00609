/*
 * proc_head.h -- the first member of every whelk_proc body: the fields the
 * host's side of the handle (hostio.c) reads and writes on its per-line
 * path, without a call.  For hostio.c and the handle's owners
 * (proc_body.h); every other file sees whelk_proc opaque (proc.h).
 */
#ifndef WHELK_PROC_HEAD_H
#define WHELK_PROC_HEAD_H

#include "proc.h"

struct whelk_host; /* private to hostio.c */

typedef struct whelk_proc_head {
    struct whelk_host *host; /* pull and feed state (hostio.c), or NULL */
    int in_loop;   /* the loop is running: calls on the handle from its
                      callbacks are refused */
    int host_head; /* the host stopped pulling before the end of output:
                      a SIGPIPE death of the last stage is no failure */
} whelk_proc_head;

/* The head of pr: a pointer to a struct points to its first member. */
static inline whelk_proc_head *whelk__proc_head(whelk_proc *pr)
{
    return (whelk_proc_head *)(void *)pr;
}

static inline const whelk_proc_head *whelk__proc_chead(const whelk_proc *pr)
{
    return (const whelk_proc_head *)(const void *)pr;
}

#endif /* WHELK_PROC_HEAD_H */
