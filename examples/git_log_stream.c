/*
 * git_log_stream.c -- read `git log` line by line as it arrives, without
 * keeping it: stdout goes to WHELK_STREAM (given to the callback, not kept
 * in the result, so memory stays flat however long the history is) and
 * whelk_pipeline_on_line delivers each line without its newline, tagged
 * with the stage and stream that wrote it.  Decoding with the REPLACE
 * policy guarantees the callback valid UTF-8 even if an old commit message
 * is not.  A second run shows the other half of streaming: the callback
 * returns non-zero after three lines, the run stops at once (git is
 * killed and reaped) and reports WHELK_E_ABORTED.
 *
 *   Python whelk:  shell.git('log', '--format=%h %s', output_callback=cb)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <whelk.h>

#include "repo.h"

struct count {
    size_t lines; /* lines seen */
    size_t stop;  /* stop after this many (0: never) */
};

static int on_line(const whelk_line *line, void *userdata)
{
    struct count *c = userdata;

    c->lines++;
    if (c->lines <= 3)
        printf("  [stage %zu, %s] %s%s\n", line->stage,
               line->stream == WHELK_STDOUT ? "stdout" : "stderr", line->text,
               line->flags & WHELK_LINE_NO_EOL ? " (no newline at the end)" : "");
    else if (c->lines == 4)
        printf("  ...\n");
    return c->stop && c->lines >= c->stop; /* non-zero stops the run */
}

static whelk_pipeline *git_log(whelk_shell *sh, struct count *c)
{
    whelk_pipeline *p = whelk_shell_pipe(
        sh, whelk_shell_cmd(sh, "git", "log", "--format=%h %s", NULL), NULL);

    whelk_pipeline_stdout(p, WHELK_STREAM);
    whelk_pipeline_decode(p, WHELK_STDOUT, "UTF-8", WHELK_DECODE_REPLACE);
    whelk_pipeline_on_line(p, WHELK_STDOUT | WHELK_STDERR, on_line, c);
    return p;
}

int main(void)
{
    whelk_shell *sh;
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_pipeline *p;
    struct count all = {0, 0}, three = {0, 3};
    char msg[32];
    size_t kept;
    int i, status = 1;
    char *dir = make_repo(&sh);

    if (!dir)
        return 1;
    for (i = 2; i <= 20; i++) {
        snprintf(msg, sizeof msg, "commit number %d", i);
        if (git(sh, "commit", "-q", "--allow-empty", "-m", msg, NULL) < 0)
            goto out;
    }

    /* 1. every line, none kept */
    printf("git log, streamed:\n");
    p = git_log(sh, &all);
    r = whelk_run(p, &err);
    whelk_pipeline_free(p);
    if (!r) {
        fprintf(stderr, "git log: %s\n", whelk_error_message(err));
        whelk_error_free(err);
        goto out;
    }
    whelk_result_stdout(r, &kept);
    printf("%zu lines; the result kept %zu bytes of stdout\n", all.lines, kept);
    whelk_result_free(r);

    /* 2. stop after three lines */
    printf("git log, stopped by the callback:\n");
    p = git_log(sh, &three);
    r = whelk_run(p, &err);
    whelk_pipeline_free(p);
    if (r) {
        fprintf(stderr, "the callback did not stop the run\n");
        whelk_result_free(r);
        goto out;
    }
    printf("%s: %s\n", whelk_error_kind_name(whelk_error_kind(err)),
           whelk_error_message(err));
    status = all.lines == 20 && three.lines == 3 &&
                     whelk_error_kind(err) == WHELK_E_ABORTED
                 ? 0
                 : 1;
    whelk_error_free(err);
out:
    remove_repo(dir, sh);
    return status;
}
