/*
 * keeper.c -- the spawning thread of a run with die_with_host on (see
 * keeper.h for why it exists).  One request at a time, handed over under
 * a mutex: the host thread posts it and waits; the keeper carries it out
 * with whelk__spawn and posts the answer.
 */
#include "keeper.h"
#include "alloc.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

struct whelk_keeper {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const whelk_spawn_req *req; /* posted, not yet carried out */
    int done;                   /* the answer below is ready */
    int rc;
    pid_t pid;
    int pidfd;
    int stop;
    int inline_spawn; /* no thread could be made: spawn in the caller */
};

static void *keeper_main(void *arg)
{
    whelk_keeper *k = arg;

    pthread_mutex_lock(&k->mu);
    for (;;) {
        const whelk_spawn_req *req = k->req;
        pid_t pid = -1;
        int pidfd = -1, rc;

        if (!req && k->stop)
            break;
        if (!req) {
            pthread_cond_wait(&k->cv, &k->mu);
            continue;
        }
        pthread_mutex_unlock(&k->mu);
        rc = whelk__spawn(req, &pid, &pidfd);
        pthread_mutex_lock(&k->mu);
        k->req = NULL;
        k->rc = rc;
        k->pid = pid;
        k->pidfd = pidfd;
        k->done = 1;
        pthread_cond_broadcast(&k->cv);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

whelk_keeper *whelk__keeper_new(int *errnum)
{
    whelk_keeper *k = whelk__calloc(1, sizeof *k);
    sigset_t all, old;
    int rc;

    if (!k) {
        *errnum = ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    /* the thread starts with every signal blocked: no handler of the host
     * runs there, and no signal meant for the host lands there */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&k->thread, NULL, keeper_main, k);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* A seccomp profile that refuses clone3 with EPERM refuses every new
     * thread (glibc falls back to clone only on ENOSYS).  The main thread
     * lives as long as the process, so there the stages may be spawned by
     * the caller itself; any other thread cannot keep the promise. */
    if ((rc == EPERM || rc == ENOSYS) &&
        getpid() == (pid_t)syscall(SYS_gettid)) {
        k->inline_spawn = 1;
        return k;
    }
    if (rc != 0) {
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        free(k);
        *errnum = rc;
        return NULL;
    }
    return k;
}

int whelk__keeper_spawn(whelk_keeper *k, const whelk_spawn_req *req, pid_t *pid,
                        int *pidfd)
{
    int rc;

    if (k->inline_spawn)
        return whelk__spawn(req, pid, pidfd);
    pthread_mutex_lock(&k->mu);
    k->req = req;
    k->done = 0;
    pthread_cond_broadcast(&k->cv);
    while (!k->done)
        pthread_cond_wait(&k->cv, &k->mu);
    rc = k->rc;
    *pid = k->pid;
    *pidfd = k->pidfd;
    pthread_mutex_unlock(&k->mu);
    return rc;
}

void whelk__keeper_free(whelk_keeper *k)
{
    if (!k)
        return;
    if (k->inline_spawn) {
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        free(k);
        return;
    }
    pthread_mutex_lock(&k->mu);
    k->stop = 1;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
}
