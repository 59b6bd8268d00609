/*
 * many.c -- whelk_run_many: run a list of pipelines with at most N in
 * flight (like `xargs -P`), from one thread and one poll over the
 * descriptors of every run in flight, and give each outcome in input
 * order.  It drives the runs' own loop (pump.c) directly: no epoll or
 * timer descriptors are made per run.
 */
#include "internal.h"
#include "hostio.h"

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

size_t whelk_run_many(whelk_pipeline *const *pipelines, size_t n,
                      size_t max_parallel, whelk_result **results,
                      whelk_error **errors)
{
    slot *act;
    struct pollfd *fds = NULL;
    size_t nact = 0, next = 0, failed = 0, cap = 0, i;

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
        int wait = -1;

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
        if (nfds > cap) {
            struct pollfd *v = whelk__realloc(fds, nfds * sizeof *v);
            if (!v) {
                /* step each run on its own instead (a busier wait) */
                for (i = 0; i < nact; i++)
                    whelk__pump(act[i].pr, 10);
            } else {
                fds = v;
                cap = nfds;
            }
        }
        if (fds && nfds <= cap) {
            nfds = 0;
            for (i = 0; i < nact; i++) {
                act[i].first = nfds;
                wait = whelk__proc_pollfds(act[i].pr, fds + nfds, wait);
                nfds += whelk__proc_nfds(act[i].pr);
            }
            if (poll(fds, nfds, wait) < 0)
                for (i = 0; i < nfds; i++)
                    fds[i].revents = 0; /* EINTR: look at the timers */
        }
        for (i = 0; i < nact;) {
            slot *sl = &act[i];
            int done = nfds <= cap ? whelk__proc_handle(sl->pr, fds + sl->first)
                                   : whelk__pump(sl->pr, 0);
            if (done) {
                size_t k = sl->index;
                results[k] = whelk_proc_wait(sl->pr, &errors[k]);
                failed += results[k] == NULL;
                *sl = act[--nact];
                continue;
            }
            i++;
        }
    }
    free(act);
    free(fds);
    return failed;
}
