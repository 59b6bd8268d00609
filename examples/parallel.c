/*
 * parallel.c -- run a list of pipelines with a bounded number in flight,
 * like `xargs -P 4`.  whelk_run_many starts up to max_parallel runs,
 * drives them all from the calling thread with one poll over their
 * descriptors, starts the next as each one ends, and gives every outcome
 * in input order: results[i] or errors[i], exactly one of them set.
 * Eight jobs of 0.2 s each take about 0.4 s four at a time; job 5 fails
 * on purpose, and its error names it without disturbing the others.
 *
 *   Python:  concurrent.futures.ThreadPoolExecutor(4).map(run_job, jobs)
 *            (one thread per job in flight; whelk has no parallel runner)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>
#include <whelk.h>

#define NJOBS 8

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    whelk_pipeline *jobs[NJOBS];
    whelk_result *results[NJOBS];
    whelk_error *errors[NJOBS];
    char script[64];
    size_t i, failed;
    double t0, took;

    for (i = 0; i < NJOBS; i++) {
        snprintf(script, sizeof script,
                 i == 5 ? "sleep 0.2; echo 'job %zu: no' >&2; exit 3"
                        : "sleep 0.2; echo 'job %zu: done'",
                 i);
        jobs[i] = whelk_pipe(whelk_cmd_new("sh", "-c", script, NULL), NULL);
    }
    t0 = now();
    failed = whelk_run_many(jobs, NJOBS, 4, results, errors);
    took = now() - t0;

    for (i = 0; i < NJOBS; i++) {
        if (results[i]) {
            printf("  %zu: %s", i, whelk_result_stdout(results[i], NULL));
            whelk_result_free(results[i]);
        } else {
            printf("  %zu: %s\n", i, whelk_error_message(errors[i]));
            whelk_error_free(errors[i]);
        }
        whelk_pipeline_free(jobs[i]);
    }
    printf("%d jobs of 0.2 s, 4 at a time: %.2f s, %zu failed\n", NJOBS, took,
           failed);
    return failed == 1 && took < 1.5 ? 0 : 1;
}
