/*
 * filter_progress.c -- a C function as a stage of a pipeline:
 *
 *     seq 1 300000 | [count bytes, print progress] | gzip -c | gzip -dc | wc -l
 *
 * The filter passes its input through unchanged and prints a progress line
 * every 256 KiB.  It runs in this program's own loop (never in a forked
 * child): no pipe to a helper process, no thread.  Backpressure keeps its
 * memory bounded whatever the sizes.  A second run shows a filter that
 * gives up: it returns 2 after the first chunk, seq gets SIGPIPE as with a
 * program that stopped reading, and the run fails naming the filter.
 *
 *   libpipeline:  pipecmd_new_function("progress", fn, NULL, data)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <whelk.h>

struct progress {
    size_t bytes, next;
};

static int progress(whelk_filter *out, const void *data, size_t len, void *ud)
{
    struct progress *pg = ud;

    if (!len) {
        printf("  done: %zu bytes\n", pg->bytes);
        return 0;
    }
    pg->bytes += len;
    if (pg->bytes >= pg->next) {
        printf("  %zu bytes...\n", pg->bytes);
        pg->next += 256 * 1024;
    }
    return whelk_filter_write(out, data, len) == 0 ? 0 : 1;
}

static int give_up(whelk_filter *out, const void *data, size_t len, void *ud)
{
    (void)out;
    (void)data;
    (void)len;
    (void)ud;
    return 2;
}

int main(void)
{
    struct progress pg = {0, 256 * 1024};
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_pipeline *p;
    int status = 1;

    p = whelk_pipe(whelk_cmd_new("seq", "1", "300000", NULL),
                   whelk_cmd_new_filter("progress", progress, &pg),
                   whelk_cmd_new("gzip", "-c", NULL),
                   whelk_cmd_new("gzip", "-dc", NULL),
                   whelk_cmd_new("wc", "-l", NULL), NULL);
    r = whelk_run(p, &err);
    whelk_pipeline_free(p);
    if (!r) {
        fprintf(stderr, "%s\n", whelk_error_message(err));
        whelk_error_free(err);
        return 1;
    }
    printf("wc -l: %s", whelk_result_stdout(r, NULL));
    status = atoi(whelk_result_stdout(r, NULL)) == 300000 ? 0 : 1;
    whelk_result_free(r);

    p = whelk_pipe(whelk_cmd_new("seq", "1", "10000000", NULL),
                   whelk_cmd_new_filter("give-up", give_up, NULL),
                   whelk_cmd_new("wc", "-l", NULL), NULL);
    r = whelk_run(p, &err);
    whelk_pipeline_free(p);
    if (r) {
        fprintf(stderr, "the filter did not fail the run\n");
        whelk_result_free(r);
        return 1;
    }
    printf("%s\n", whelk_error_message(err));
    if (whelk_error_stage(err) != 1 || whelk_error_exit_code(err) != 2)
        status = 1;
    whelk_error_free(err);
    return status;
}
