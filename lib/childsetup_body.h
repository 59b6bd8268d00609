/*
 * childsetup_body.h -- the body of whelk_child_setup (childsetup.c): the
 * plain arrays the child reads between clone and exec.  Only childsetup.c
 * (and the unit tests, through internal.h) see it.
 */
#ifndef WHELK_CHILDSETUP_BODY_H
#define WHELK_CHILDSETUP_BODY_H

#include "childsetup.h"

/* One extra descriptor: the child sees src as dst. */
typedef struct whelk_fdmap {
    int dst; /* >= 3 */
    int src; /* above every dst of the command (the plan's duplicate) */
} whelk_fdmap;

typedef struct whelk_rlim {
    int resource;
    unsigned long long soft, hard;
} whelk_rlim;

/* Everything a child does for its command, in the order it is done. */
struct whelk_child_setup {
    whelk_fdmap *fds; /* sorted by dst, distinct dsts */
    size_t nfds;
    whelk_rlim *rlims;
    size_t nrlims;
    int has_nice, nice_inc;
    int has_umask;
    unsigned umask;
    int has_user;
    uid_t uid;
    gid_t gid;
    int die_with_host; /* PR_SET_PDEATHSIG SIGKILL, then getppid check */
    pid_t host_pid;    /* the parent the child must have (set at spawn) */
};

#endif /* WHELK_CHILDSETUP_BODY_H */
