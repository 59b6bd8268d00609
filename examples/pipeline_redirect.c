/*
 * pipeline_redirect.c -- a three-stage pipeline with the redirections a
 * shell script would use, and the same pipeline as the shell reads it.
 * Input bytes are fed to the first stage, which runs with LC_ALL=C, talks
 * on stderr and has that stderr appended to a log file (2>>); the middle
 * stage's stderr is merged into its stdout and so flows down the pipe
 * into the last stage (2>&1, as in the shell); the last stage's stderr
 * goes to /dev/null and its stdout to a file (>).  whelk_pipeline_tostring
 * renders all of it with every word quoted, and the example proves the
 * quoting by running that text with `sh -c` and comparing the file it
 * writes with the one libwhelk wrote.  Every stage's exit status is in
 * the result.
 *
 *   Python whelk:  pipe(pipe.sort(input=...) | pipe.uniq('-c', stderr=STDOUT)
 *                       | pipe.sed(...))   (whelk redirects less than this)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <whelk.h>

/* The whole file at path (malloc'd, NUL-terminated), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    size_t n;

    if (!f)
        return NULL;
    buf = calloc(1, 65536);
    n = buf ? fread(buf, 1, 65535, f) : 0;
    (void)n;
    fclose(f);
    return buf;
}

int main(void)
{
    static const char fruit[] = "pear\napple\npear\nfig\napple\npear\n";
    char dir[] = "/tmp/whelk-redirect.XXXXXX";
    char out[64], log[64];
    whelk_pipeline *p;
    whelk_cmd *sort, *uniq, *sed;
    whelk_result *r;
    whelk_error *err = NULL;
    char *text = NULL, *by_whelk = NULL, *by_sh = NULL, *logged = NULL;
    int status = 1;

    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    snprintf(out, sizeof out, "%s/counts.txt", dir);
    snprintf(log, sizeof log, "%s/pipeline.log", dir);

    sort = whelk_cmd_new("sh", "-c", "echo sorting >&2; sort", NULL);
    whelk_cmd_setenv(sort, "LC_ALL", "C");
    whelk_cmd_stderr_file(sort, log, 1);          /* 2>> log */
    uniq = whelk_cmd_new("sh", "-c", "echo 'uniq: counted' >&2; uniq -c",
                         NULL);
    whelk_cmd_stderr(uniq, WHELK_TO_STDOUT);      /* 2>&1, down the pipe */
    sed = whelk_cmd_new("sed", "s/^ *//", NULL);
    whelk_cmd_stderr(sed, WHELK_NULL);            /* 2>/dev/null */
    p = whelk_pipe(sort, uniq, sed, NULL);
    whelk_pipeline_stdin_bytes(p, fruit, strlen(fruit));
    whelk_pipeline_stdout_file(p, out, 0);        /* > out */

    text = whelk_pipeline_tostring(p);
    printf("the pipeline:\n  %s\n", text ? text : "?");

    r = whelk_run(p, &err);
    if (!r) {
        fprintf(stderr, "run: %s\n", whelk_error_message(err));
        whelk_error_free(err);
        goto out;
    }
    printf("statuses: %d %d %d\n", whelk_result_exit_code(r, 0),
           whelk_result_exit_code(r, 1), whelk_result_exit_code(r, 2));
    whelk_result_free(r);
    by_whelk = slurp(out);
    printf("%s, written by libwhelk:\n%s", out, by_whelk ? by_whelk : "?\n");

    /* The rendered text is a shell command that does the same thing. */
    r = whelk_sh(&err, "sh", "-c", text, NULL);
    if (!r) {
        fprintf(stderr, "sh -c: %s\n", whelk_error_message(err));
        whelk_error_free(err);
        goto out;
    }
    whelk_result_free(r);
    by_sh = slurp(out);
    logged = slurp(log);
    printf("written by sh -c: %s\n",
           by_whelk && by_sh && strcmp(by_whelk, by_sh) == 0 ? "the same bytes"
                                                             : "DIFFERENT");
    printf("%s, appended to by both runs:\n%s", log, logged ? logged : "?\n");
    status = by_whelk && by_sh && strcmp(by_whelk, by_sh) == 0 && logged &&
                     strcmp(logged, "sorting\nsorting\n") == 0 &&
                     strstr(by_whelk, "uniq: counted")
                 ? 0
                 : 1;
out:
    free(text);
    free(by_whelk);
    free(by_sh);
    free(logged);
    whelk_pipeline_free(p);
    whelk_result_free(whelk_sh(NULL, "rm", "-rf", "--", dir, NULL));
    return status;
}
