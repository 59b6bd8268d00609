/*
 * pager_feed.c -- a program that writes its own long output through a
 * pager, as git and man do: whelk_popen(pager, "w") and fprintf.  The
 * pager is $PAGER split into words (no shell), `less -FRX` when unset;
 * `make check` runs this example with PAGER=cat.  The pager's stdout is
 * the host's (WHELK_INHERIT, as with popen); if the reader quits early
 * (q in less), fprintf fails with EPIPE -- never SIGPIPE in the program --
 * and the program stops writing.  whelk_pclose says how the pager ended.
 *
 *   C:       FILE *f = popen(getenv("PAGER"), "w"); fprintf(f, ...); pclose(f);
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <whelk.h>

/* $PAGER as words (split on blanks), or less -FRX. */
static whelk_cmd *pager_cmd(void)
{
    const char *env = getenv("PAGER");
    char *copy, *word, *save = NULL;
    whelk_cmd *cmd = NULL;

    if (!env || !*env)
        return whelk_cmd_new("less", "-FRX", NULL);
    if (!(copy = strdup(env)))
        return whelk_cmd_new("cat", NULL);
    for (word = strtok_r(copy, " \t", &save); word;
         word = strtok_r(NULL, " \t", &save)) {
        if (!cmd)
            cmd = whelk_cmd_new(word, NULL);
        else
            whelk_cmd_arg(cmd, word);
    }
    free(copy);
    return cmd ? cmd : whelk_cmd_new("cat", NULL);
}

int main(void)
{
    whelk_pipeline *p = whelk_pipe(pager_cmd(), NULL);
    whelk_error *err = NULL;
    FILE *f;
    int i, status = 0;

    whelk_pipeline_stdout(p, WHELK_INHERIT);
    whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_INHERIT);
    if (!(f = whelk_popen(p, "w", &err))) {
        fprintf(stderr, "pager: %s\n", whelk_error_message(err));
        whelk_error_free(err);
        whelk_pipeline_free(p);
        return 1;
    }
    for (i = 1; i <= 200; i++)
        if (fprintf(f, "%3d: the program's own output, through the pager\n",
                    i) < 0) {
            if (errno == EPIPE)
                break; /* the reader quit: stop writing */
            status = 1;
            break;
        }
    if (whelk_pclose(f, &err) < 0) {
        fprintf(stderr, "pager: %s\n", whelk_error_message(err));
        whelk_error_free(err);
        status = 1;
    }
    whelk_pipeline_free(p);
    return status;
}
