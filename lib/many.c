/*
 * many.c -- whelk_run_many: run a list of pipelines with at most N in
 * flight (like `xargs -P`), from one thread and one poll over the runs'
 * descriptors, and give each outcome in input order.
 */
#include "internal.h"

#include <poll.h>
#include <stdlib.h>

size_t whelk_run_many(whelk_pipeline *const *pipelines, size_t n,
                      size_t max_parallel, whelk_result **results,
                      whelk_error **errors)
{
    whelk_proc **act;
    size_t *idx, nact = 0, next = 0, failed = 0, i;
    struct pollfd *fds;

    if (!max_parallel)
        max_parallel = 1;
    if (max_parallel > n)
        max_parallel = n ? n : 1;
    act = whelk__calloc(max_parallel, sizeof *act);
    idx = whelk__calloc(max_parallel, sizeof *idx);
    fds = whelk__calloc(max_parallel, sizeof *fds);
    if (!act || !idx || !fds) {
        free(act);
        free(idx);
        free(fds);
        for (i = 0; i < n; i++) {
            results[i] = NULL;
            errors[i] = (whelk_error *)&whelk__nomem_error;
        }
        return n;
    }
    while (next < n || nact) {
        int wait_ms = -1;

        while (nact < max_parallel && next < n) {
            whelk_error *e = NULL;
            whelk_proc *pr = whelk_start(pipelines[next], &e);
            results[next] = NULL;
            errors[next] = NULL;
            if (!pr) {
                errors[next++] = e;
                failed++;
                continue;
            }
            act[nact] = pr;
            idx[nact++] = next++;
        }
        for (i = 0; i < nact; i++) {
            fds[i].fd = whelk_proc_fd(act[i]);
            fds[i].events = POLLIN;
            fds[i].revents = 0;
            wait_ms = fds[i].fd < 0 ? 10 : wait_ms;
        }
        /* each handle's fd wakes us for data, exits and deadlines; a
         * handle without one (descriptors ran out) is stepped every 10 ms */
        if (nact)
            poll(fds, nact, wait_ms);
        for (i = 0; i < nact;) {
            if ((fds[i].fd < 0 || fds[i].revents) &&
                whelk_proc_step(act[i], 0) == 1) {
                size_t k = idx[i];
                results[k] = whelk_proc_wait(act[i], &errors[k]);
                failed += results[k] == NULL;
                act[i] = act[nact - 1];
                idx[i] = idx[nact - 1];
                fds[i] = fds[nact - 1];
                nact--;
                continue;
            }
            i++;
        }
    }
    free(act);
    free(idx);
    free(fds);
    return failed;
}
