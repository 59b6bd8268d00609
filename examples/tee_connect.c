/*
 * tee_connect.c -- one output into several places at once:
 *
 *     seq 1 100000 | tee numbers.txt | (sort -rn | head -n 3)    and kept
 *
 * The output of seq is captured by the host, copied into a file, and fed
 * to a second pipeline started beside it -- all by the run's one loop, in
 * this program's thread.  The second pipeline is started first with its
 * stdin WHELK_FEED; whelk_pipeline_tee_proc connects the two and closes
 * its stdin at the end of the output, then the host waits for it.
 *
 *   libpipeline:  pipeline_connect(src, sink, NULL); pipeline_pump(src, sink, NULL)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <whelk.h>

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    whelk_pipeline *src, *sink;
    whelk_proc *sp;
    whelk_error *err = NULL;
    whelk_result *r, *rs;
    size_t len;
    FILE *f;
    long lines = 0;
    int c, status = 1;

    snprintf(path, sizeof path, "%s/whelk-tee-%ld.txt",
             tmp && *tmp ? tmp : "/tmp", (long)getpid());
    sink = whelk_pipe(whelk_cmd_new("sort", "-rn", NULL),
                      whelk_cmd_new("head", "-n", "3", NULL), NULL);
    whelk_pipeline_stdin(sink, WHELK_FEED);
    if (!(sp = whelk_start(sink, &err)))
        goto fail;
    src = whelk_pipe(whelk_cmd_new("seq", "1", "100000", NULL), NULL);
    whelk_pipeline_tee_file(src, path, 0);
    whelk_pipeline_tee_proc(src, sp);
    r = whelk_run(src, &err);
    whelk_pipeline_free(src);
    rs = whelk_proc_wait(sp, r ? &err : NULL);
    if (!r || !rs) {
        whelk_result_free(r);
        whelk_result_free(rs);
        goto fail;
    }
    whelk_result_stdout(r, &len);
    printf("captured: %zu bytes\n", len);
    printf("sort -rn | head -n 3:\n%s", whelk_result_stdout(rs, NULL));
    if ((f = fopen(path, "r")) != NULL) {
        while ((c = getc(f)) != EOF)
            lines += c == '\n';
        fclose(f);
    }
    printf("%s: %ld lines\n", path, lines);
    status = lines == 100000 &&
                     strcmp(whelk_result_stdout(rs, NULL),
                            "100000\n99999\n99998\n") == 0
                 ? 0
                 : 1;
    whelk_result_free(r);
    whelk_result_free(rs);
    remove(path);
    whelk_pipeline_free(sink);
    return status;
fail:
    fprintf(stderr, "%s\n", whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(sink);
    remove(path);
    return 1;
}
