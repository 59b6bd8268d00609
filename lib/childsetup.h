/*
 * childsetup.h -- what a command asks of its child between clone and exec
 * besides descriptors 0-2, cwd and the process group: extra descriptors,
 * resource limits, umask, nice, an identity, and dying with the host.
 *
 * Three sides:
 *   builder  whelk_cmd_fd, _rlimit, _umask, _nice, _user keep a private
 *            whelk_setup in cmd->setup (NULL until one is called, so a
 *            command that uses none of it costs nothing anywhere);
 *   plan     whelk__setup_plan turns it into a whelk_child_setup: plain
 *            arrays, descriptors checked and moved above every target;
 *   child    whelk__child_* perform it with raw system calls only, from
 *            the fast path's clone child and from the fork path's child.
 * The whelk_child_setup body is in childsetup_body.h, for childsetup.c
 * (and the unit tests); the plan and the spawner hold it opaque.
 */
#ifndef WHELK_CHILDSETUP_H
#define WHELK_CHILDSETUP_H

#include "base.h"

struct whelk_setup; /* private to childsetup.c */

typedef struct whelk_child_setup whelk_child_setup; /* childsetup_body.h */

/* The steps a child reports (with an errno value) when one fails. */
enum whelk_setup_step {
    STEP_NONE = 0,
    STEP_FD,     /* dup3 of an extra descriptor */
    STEP_CLOSE,  /* close_range of what the child must not see */
    STEP_RLIMIT, /* prlimit64 */
    STEP_NICE,   /* setpriority */
    STEP_UMASK,  /* umask (cannot fail; listed for completeness) */
    STEP_GROUPS, /* setgroups({gid}) */
    STEP_GID,    /* setgid */
    STEP_UID,    /* setuid */
    STEP_PDEATH, /* prctl(PR_SET_PDEATHSIG) */
    STEP_ORPHAN  /* the host died before the child could be tied to it */
};

/* "setuid" etc., for messages. */
WHELK_INTERNAL const char *whelk__setup_step_name(int step);

/* Frees cmd->setup's body; whelk__setup_dup copies it into dst (NULL src:
 * nothing).  0, or -1 when memory is exhausted (dst left without one). */
WHELK_INTERNAL void whelk__setup_free(struct whelk_setup *s);
WHELK_INTERNAL int whelk__setup_dup(whelk_cmd *dst, const whelk_cmd *src);

/* The child setup of stage i of p, or NULL when the stage needs none
 * (*err stays NULL).  Duplicates of the extra descriptors are added to
 * the plan's owned descriptors with own_fd (closed after spawning).  On
 * failure NULL and *err: WHELK_E_INVALID with EBADF for a host descriptor
 * that is not open, WHELK_E_IO or WHELK_E_NOMEM. */
WHELK_INTERNAL whelk_child_setup *
whelk__setup_plan(const whelk_pipeline *p, size_t i,
                  int (*own_fd)(void *ud, int fd), void *ud, whelk_error **err);
WHELK_INTERNAL void whelk__child_setup_free(whelk_child_setup *cs);

/*
 * In the child, raw system calls only, nothing allocated.  Each returns 0
 * or (step << 16 | errno).
 *   whelk__child_fds      after 0-2 are in place: dup3 every extra
 *                         descriptor onto its target; with close_rest,
 *                         close_range every gap between 3 and the targets
 *                         and above them (the fork path marks them
 *                         close-on-exec itself instead).
 *   whelk__child_creds    limits, nice, umask, then identity, then the
 *                         parent-death signal (after setuid, which clears
 *                         it) and the check that the host still lives.
 */
WHELK_INTERNAL int whelk__child_fds(const whelk_child_setup *cs,
                                    int close_rest);
WHELK_INTERNAL int whelk__child_creds(const whelk_child_setup *cs);
/* The highest target descriptor (2 when none). */
WHELK_INTERNAL int whelk__child_max_fd(const whelk_child_setup *cs);

#endif /* WHELK_CHILDSETUP_H */
