/*
 * spawner.h -- start one stage (spawn.c): clone, posix_spawn or fork.
 */
#ifndef WHELK_SPAWNER_H
#define WHELK_SPAWNER_H

#include "base.h"

typedef struct whelk_spawn_req {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *cwd;
    const int *fds; /* [3] */
    int pgroup;     /* -1: none; 0: new group; >0: join it */
    const struct whelk_child_setup *setup; /* childsetup.h, or NULL */
    int *step; /* NULL, or set to the failed child-setup step (or 0) */
} whelk_spawn_req;
/* Starts one process.  0 with *pid (and *pidfd, or -1) set, or an errno
 * value of the failure (exec, chdir, fork). */
WHELK_INTERNAL int whelk__spawn(const whelk_spawn_req *req, pid_t *pid,
                                int *pidfd);

#endif /* WHELK_SPAWNER_H */
