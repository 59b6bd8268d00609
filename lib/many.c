/*
 * many.c -- whelk_run_many: run a list of pipelines with at most N in
 * flight (like `xargs -P`), from one thread and one poll over the
 * descriptors of every run in flight, and give each outcome in input
 * order.  It drives the runs' own loop (pump.c) directly: no epoll or
 * timer descriptors are made per run.
 */
#include "alloc.h"
#include "errors.h"
#include "proc.h"
#include "hostio.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

typedef struct slot {
    whelk_proc *pr;
    size_t index; /* into pipelines[] */
    size_t first; /* its first pollfd */
} slot;

/* Start pipelines[k]; its outcome goes straight to the arrays if it
 * cannot start.  1 if it is now in flight. */
static int launch(whelk_pipeline *const *pipelines, size_t k, slot *sl,
                  whelk_result **results, whelk_error **errors)
{
    results[k] = NULL;
    errors[k] = NULL;
    sl->pr = whelk_start(pipelines[k], &errors[k]);
    sl->index = k;
    if (sl->pr)
        whelk__host_detach(sl->pr); /* no handle: nobody pulls or feeds */
    return sl->pr != NULL;
}

/* The pollfd arrays: every run's slots in its own layout (pump.c reads
 * them back), and the live descriptors alone, which is what poll gets:
 * poll fails with EINVAL past RLIMIT_NOFILE entries, -1 slots included. */
typedef struct pollset {
    struct pollfd *all, *live;
    size_t *map; /* live[j] is all[map[j]] */
    size_t cap;
} pollset;

static int pollset_grow(pollset *ps, size_t n)
{
    struct pollfd *a, *l;
    size_t *m;

    if (n <= ps->cap && ps->all)
        return 0;
    if (!n)
        n = 1;
    if ((a = whelk__reallocarray(ps->all, n, sizeof *a)) != NULL)
        ps->all = a;
    if ((l = whelk__reallocarray(ps->live, n, sizeof *l)) != NULL)
        ps->live = l;
    if ((m = whelk__reallocarray(ps->map, n, sizeof *m)) != NULL)
        ps->map = m;
    if (!a || !l || !m)
        return -1;
    ps->cap = n;
    return 0;
}

/* poll the live descriptors of all[0..n) and give the answers back to
 * all[]; -1 when poll failed other than by EINTR. */
static int poll_live(pollset *ps, size_t n, int wait)
{
    size_t i, nlive = 0;
    int rc;

    for (i = 0; i < n; i++) {
        ps->all[i].revents = 0;
        if (ps->all[i].fd >= 0) {
            ps->live[nlive] = ps->all[i];
            ps->map[nlive++] = i;
        }
    }
    rc = poll(ps->live, nlive, wait);
    if (rc < 0)
        return errno == EINTR ? 0 : -1; /* EINTR: look at the timers */
    for (i = 0; rc > 0 && i < nlive; i++)
        ps->all[ps->map[i]].revents = ps->live[i].revents;
    return 0;
}

size_t whelk_run_many(whelk_pipeline *const *pipelines, size_t n,
                      size_t max_parallel, whelk_result **results,
                      whelk_error **errors)
{
    slot *act;
    pollset ps = {NULL, NULL, NULL, 0};
    size_t nact = 0, next = 0, failed = 0, i;

    if (!max_parallel)
        max_parallel = 1;
    if (max_parallel > n)
        max_parallel = n ? n : 1;
    if (!(act = whelk__calloc(max_parallel, sizeof *act))) {
        for (i = 0; i < n; i++) {
            results[i] = NULL;
            errors[i] = (whelk_error *)&whelk__nomem_error;
        }
        return n;
    }
    while (next < n || nact) {
        size_t nfds = 0;
        int wait = -1, each = 0;

        while (nact < max_parallel && next < n) {
            if (launch(pipelines, next, &act[nact], results, errors))
                nact++;
            else
                failed++;
            next++;
        }
        if (!nact)
            continue; /* every start failed: nothing to wait for */
        for (i = 0; i < nact; i++)
            nfds += whelk__proc_nfds(act[i].pr);
        if (pollset_grow(&ps, nfds) < 0) {
            each = 1;
        } else {
            nfds = 0;
            for (i = 0; i < nact; i++) {
                act[i].first = nfds;
                wait = whelk__proc_pollfds(act[i].pr, ps.all + nfds, wait);
                nfds += whelk__proc_nfds(act[i].pr);
            }
            each = poll_live(&ps, nfds, wait) < 0;
        }
        for (i = 0; i < nact;) {
            slot *sl = &act[i];
            size_t k = sl->index;
            whelk_proc *again;
            /* each: no memory for one poll (or it failed): step each run
             * on its own instead, a busier wait */
            int done = each ? whelk__pump(sl->pr, 10)
                            : whelk__proc_handle(sl->pr, ps.all + sl->first);
            if (!done) {
                i++;
                continue;
            }
            /* the on_exit hook's retry is a new attempt in the same slot,
             * driven by this loop with the others */
            again = whelk__proc_conclude(sl->pr, &results[k], &errors[k]);
            if (again) {
                whelk__host_detach(again);
                sl->pr = again;
                i++;
                continue;
            }
            failed += results[k] == NULL;
            *sl = act[--nact];
        }
    }
    free(act);
    free(ps.all);
    free(ps.live);
    free(ps.map);
    return failed;
}
