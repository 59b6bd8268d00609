/*
 * keeper.h -- the spawning thread of a run with die_with_host on.
 *
 * PR_SET_PDEATHSIG fires when the *thread* that spawned a child exits, not
 * when its process does: stages spawned by a short-lived host thread (or a
 * thread driving whelk_run_many) would be killed while the host lives.
 * Such a run therefore has a thread of its own, the keeper, that spawns
 * its stages and lives exactly until the run is over (every stage reaped):
 * it dies before that only with the whole process.  The host thread waits
 * for each spawn; the keeper has every signal blocked.
 *
 * Where no thread can be made because a seccomp profile refuses clone3
 * with EPERM (glibc's pthread_create needs it then), a run driven from the
 * main thread spawns its stages itself (the main thread lives as long as
 * the process); from any other thread the run fails with that errno.
 */
#ifndef WHELK_KEEPER_H
#define WHELK_KEEPER_H

#include "spawner.h"

typedef struct whelk_keeper whelk_keeper;

/* A new keeper thread, or NULL with *errnum (EAGAIN, ENOMEM, or EPERM
 * when no thread can be made and the caller is not the main thread). */
WHELK_INTERNAL whelk_keeper *whelk__keeper_new(int *errnum);
/* whelk__spawn(req, pid, pidfd), carried out by the keeper thread. */
WHELK_INTERNAL int whelk__keeper_spawn(whelk_keeper *k,
                                       const whelk_spawn_req *req, pid_t *pid,
                                       int *pidfd);
/* Ends and joins the thread: call it once no stage it spawned is alive
 * (a zombie kept unreaped is harmless).  NULL is fine. */
WHELK_INTERNAL void whelk__keeper_free(whelk_keeper *k);

#endif /* WHELK_KEEPER_H */
