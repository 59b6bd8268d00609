/*
 * demo.c -- libwhelk in three moves: capture a command's output (git),
 * let checking turn a failed command into an error with a message a person
 * can act on (sh -c 'exit 3'), and report a program that does not exist as
 * an error in the parent, not as exit status 127.
 *
 *   whelk_sh(&err, "git", "--version", NULL)   ~ shell.git('--version')
 */
#include <stdio.h>
#include <stdlib.h>
#include <whelk.h>

static void show_error(const char *what, whelk_error *err)
{
    printf("%-28s -> %s (errno %d)\n   %s\n", what,
           whelk_error_kind_name(whelk_error_kind(err)), whelk_error_errno(err),
           whelk_error_message(err));
    whelk_error_free(err);
}

int main(void)
{
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_pipeline *p;

    /* 1. a captured result */
    r = whelk_sh(&err, "git", "--version", NULL);
    if (r) {
        printf("%-28s -> exit %d, stdout: %s", "git --version",
               whelk_result_exit_code(r, 0), whelk_result_stdout(r, NULL));
        whelk_result_free(r);
    } else {
        show_error("git --version", err);
    }

    /* 2. a checked failure: the error carries status, command and stderr */
    r = whelk_sh(&err, "sh", "-c", "echo 'something broke' >&2; exit 3", NULL);
    if (!r)
        show_error("sh -c '...; exit 3'", err);
    whelk_result_free(r);

    /* 3. a missing program: an error before anything runs */
    r = whelk_sh(&err, "no-such-program-whelk", "--help", NULL);
    if (!r)
        show_error("no-such-program-whelk", err);
    whelk_result_free(r);

    /* 4. a pipeline, with every stage's status */
    p = whelk_pipe(whelk_cmd_new("sh", "-c", "printf 'b\\na\\nc\\n'", NULL),
                   whelk_cmd_new("sort", NULL), NULL);
    r = whelk_run(p, &err);
    if (r) {
        char *text = whelk_pipeline_tostring(p);
        printf("%-28s -> statuses %d %d, stdout: %s", text,
               whelk_result_exit_code(r, 0), whelk_result_exit_code(r, 1),
               whelk_result_stdout(r, NULL));
        free(text);
        whelk_result_free(r);
    } else {
        show_error("pipeline", err);
    }
    whelk_pipeline_free(p);
    return 0;
}
