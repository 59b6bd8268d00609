/*
 * docker_exec.c -- a container as the far side: any command that runs a
 * POSIX sh command line given as its last argument is a transport, here
 * `docker exec -i CONTAINER sh -c`.  The pipeline keeps its guarantees:
 * per-stage statuses, stderr per stage, a timeout, a program missing in
 * the image reported as WHELK_E_NOTFOUND naming the transport, and a
 * missing container or docker binary as WHELK_E_TRANSPORT.
 *
 *   docker_exec CONTAINER        e.g. docker_exec web
 *
 * Built by `make`; not run by `make check` (it needs docker).
 *
 *   shell:   docker exec -i web sh -c 'ps -o pid,comm | sort -k2 | head'
 */
#include <stdio.h>
#include <whelk.h>

int main(int argc, char **argv)
{
    whelk_remote *box;
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err = NULL;
    size_t i;

    if (argc != 2) {
        fprintf(stderr, "usage: docker_exec CONTAINER\n");
        return 2;
    }
    box = whelk_remote_new(
        whelk_cmd_new("docker", "exec", "-i", argv[1], "sh", "-c", NULL));
    p = whelk_pipe(whelk_cmd_new("ps", "-o", "pid,comm", NULL),
                   whelk_cmd_new("sort", "-k2", NULL),
                   whelk_cmd_new("head", "-n", "20", NULL), NULL);
    whelk_pipeline_remote(p, box);
    whelk_remote_free(box);
    whelk_pipeline_timeout(p, 10000);

    r = whelk_run(p, &err);
    if (!r) {
        /* WHELK_E_TRANSPORT: no docker, no such container;
         * WHELK_E_NOTFOUND: the image has no ps */
        fprintf(stderr, "%s: %s\n", whelk_error_kind_name(whelk_error_kind(err)),
                whelk_error_message(err));
        whelk_error_free(err);
        whelk_pipeline_free(p);
        return 1;
    }
    fputs(whelk_result_stdout(r, NULL), stdout);
    for (i = 0; i < whelk_result_ncmds(r); i++)
        printf("stage %zu: exit %d\n", i, whelk_result_exit_code(r, i));
    whelk_result_free(r);
    whelk_pipeline_free(p);
    return 0;
}
