/*
 * jobserver.c -- pass a descriptor to a child: the GNU make jobserver.
 * A build driver that runs several `make`s at once hands each the same
 * pipe of job tokens, so that together they run at most N jobs.  The
 * tokens are bytes in a pipe; make finds it through MAKEFLAGS
 * (--jobserver-auth=R,W) and expects the two ends on descriptors R and W.
 * whelk_cmd_fd puts the host's pipe ends there -- on 3 and 4 in the child,
 * whatever their numbers in the host -- and the child still sees nothing
 * else of the host.
 *
 * The example writes 3 tokens (plus the implicit one every make has: 4
 * jobs), runs make on a small Makefile in a temporary directory, and then
 * checks that make gave every token back and never said "jobserver
 * unavailable".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <whelk.h>

#define TOKENS 3

int main(void)
{
    char dir[] = "/tmp/whelk-jobserver.XXXXXX", path[64], buf[16];
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err = NULL;
    whelk_cmd *make;
    int js[2], status = 1;
    ssize_t back;
    FILE *f;

    if (!mkdtemp(dir) || pipe2(js, O_CLOEXEC) < 0)
        return 1;
    snprintf(path, sizeof path, "%s/Makefile", dir);
    if (!(f = fopen(path, "w")))
        return 1;
    fputs("all: a b c d e f\n"
          "a b c d e f:\n"
          "\t@echo built $@\n",
          f);
    fclose(f);
    if (write(js[1], "+++", TOKENS) != TOKENS)
        return 1;

    make = whelk_cmd_new("make", "-s", "-C", dir, NULL);
    whelk_cmd_setenv(make, "MAKEFLAGS", " -j4 --jobserver-auth=3,4");
    whelk_cmd_fd(make, 3, js[0]); /* the host keeps its ends */
    whelk_cmd_fd(make, 4, js[1]);
    p = whelk_pipe(make, NULL);
    r = whelk_run(p, &err);
    whelk_pipeline_free(p);
    if (!r) {
        fprintf(stderr, "%s\n", whelk_error_message(err));
        whelk_error_free(err);
        goto out;
    }
    fputs(whelk_result_stdout(r, NULL), stdout);

    /* every token is back in the pipe, and make used it */
    fcntl(js[0], F_SETFL, O_NONBLOCK);
    back = read(js[0], buf, sizeof buf);
    printf("tokens given back: %zd of %d\n", back, TOKENS);
    if (strstr(whelk_result_stderr(r, NULL), "jobserver unavailable"))
        fprintf(stderr, "make did not see the jobserver: %s",
                whelk_result_stderr(r, NULL));
    else if (back == TOKENS)
        status = 0;
    whelk_result_free(r);
out:
    snprintf(path, sizeof path, "%s/Makefile", dir);
    unlink(path);
    rmdir(dir);
    close(js[0]);
    close(js[1]);
    return status;
}
