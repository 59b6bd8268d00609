/*
 * pager.c -- show text through the user's pager, as git does with $PAGER
 * and core.pager.  Such a setting is a command string ("less -R", "vim -R
 * -c 'set ft=diff' -"), and libwhelk runs it without a shell:
 * whelk_cmd_new_argstr splits it with sh's quoting -- single and double
 * quotes, backslashes -- and expands nothing ($HOME stays $HOME, *.c stays
 * *.c).  A string that only a shell could run ("diff-so-fancy | less") is
 * an error the run reports, never a guess; run that one with sh -c if you
 * trust it.
 *
 * The pager gets the terminal: its stdout and stderr are the host's, and
 * it stays in the terminal's foreground process group
 * (whelk_pipeline_pgroup off) so that it can read keys.  Like git, the
 * example sets LESS=FRX unless the user has a LESS of their own.
 *
 * Usage: pager ['pager command']   (default: $PAGER, else cat)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <whelk.h>

/* Runs text through the pager command string: 0, or -1 (printed). */
static int page(const char *pager, const char *text)
{
    whelk_cmd *cmd = whelk_cmd_new_argstr(pager);
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err = NULL;

    if (!getenv("LESS"))
        whelk_cmd_setenv(cmd, "LESS", "FRX");
    p = whelk_pipe(cmd, NULL);
    whelk_pipeline_stdin_bytes(p, text, strlen(text));
    whelk_pipeline_stdout(p, WHELK_INHERIT);
    whelk_cmd_stderr(cmd, WHELK_INHERIT);
    whelk_pipeline_pgroup(p, 0);
    fflush(stdout); /* our own buffered output first */
    r = whelk_run(p, &err);
    whelk_pipeline_free(p);
    if (!r) {
        printf("pager \"%s\": %s: %s\n", pager,
               whelk_error_kind_name(whelk_error_kind(err)),
               whelk_error_message(err));
        whelk_error_free(err);
        return -1;
    }
    whelk_result_free(r);
    return 0;
}

int main(int argc, char **argv)
{
    const char *pager = argc > 1 ? argv[1] : getenv("PAGER");
    char text[2048];
    size_t used = 0;
    int i, ok;

    if (!pager || !*pager)
        pager = "cat";
    for (i = 1; i <= 20; i++)
        used += (size_t)snprintf(text + used, sizeof text - used,
                                 "line %d of the text to page\n", i);
    if (page(pager, text) < 0)
        return 1;

    /* quoting, and nothing expanded: sed gets its script as one word,
     * $HOME included */
    ok = page("sed -e 's/^/  $HOME | /'", "quoted\n") == 0;
    /* what needs a shell is refused, with a message saying so */
    ok &= page("cat | less", text) < 0;
    ok &= page("less 'unterminated", text) < 0;
    return ok ? 0 : 1;
}
