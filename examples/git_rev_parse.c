/*
 * git_rev_parse.c -- the smallest useful wrapper: run `git rev-parse HEAD`,
 * capture its output and use it as a C string.  whelk_shell_sh runs one
 * command with the shell's defaults (here: the repository as cwd and a
 * clean git environment, see repo.h); checking is on, so a failing git is
 * an error carrying a message a person can act on, and the same call on a
 * revision that does not exist shows that message.
 *
 *   Python whelk:  shell.git('rev-parse', 'HEAD').stdout.strip()
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <whelk.h>

#include "repo.h"

int main(void)
{
    whelk_shell *sh;
    whelk_error *err = NULL;
    whelk_result *r;
    char *dir = make_repo(&sh);
    char head[64] = "";
    int status = 1;

    if (!dir)
        return 1;

    /* 1. capture: stdout is kept in the result, NUL-terminated */
    r = whelk_shell_sh(sh, &err, "git", "rev-parse", "HEAD", NULL);
    if (!r) {
        fprintf(stderr, "rev-parse HEAD: %s\n", whelk_error_message(err));
        whelk_error_free(err);
        goto out;
    }
    snprintf(head, sizeof head, "%s", whelk_result_stdout(r, NULL));
    head[strcspn(head, "\n")] = '\0';
    whelk_result_free(r);
    printf("HEAD is %s\n", head);
    if (strlen(head) != 40 && strlen(head) != 64) {
        fprintf(stderr, "unexpected object name \"%s\"\n", head);
        goto out;
    }

    /* 2. a checked failure: git exits 128, and the error says why */
    r = whelk_shell_sh(sh, &err, "git", "rev-parse", "--verify", "no-such-branch",
                       NULL);
    if (r) {
        fprintf(stderr, "rev-parse of a missing branch succeeded?\n");
        whelk_result_free(r);
        goto out;
    }
    printf("no-such-branch: %s, exit code %d\n  %s\n",
           whelk_error_kind_name(whelk_error_kind(err)),
           whelk_error_exit_code(err), whelk_error_message(err));
    status = whelk_error_kind(err) == WHELK_E_EXIT ? 0 : 1;
    whelk_error_free(err);
out:
    remove_repo(dir, sh);
    return status;
}
