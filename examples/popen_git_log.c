/*
 * popen_git_log.c -- replace popen("git log --format=%s", "r") + getline:
 * whelk_popen runs the same command without a shell (argv, not a string),
 * without SIGCHLD games or descriptors leaked to other children, and
 * whelk_pclose gives the checked verdict -- which stage failed, its status
 * and its stderr -- instead of a wait status to decode.  git's stderr is
 * captured by default, so it ends up in the error, not on the terminal.
 * A second run asks for a revision that does not exist: pclose says why.
 *
 *   C:       FILE *f = popen("git log --format=%s", "r"); ... pclose(f);
 *   Python:  for line in subprocess.Popen([...], stdout=PIPE).stdout: ...
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <whelk.h>

#include "repo.h"

/* Print the subjects of `git log rev`; the number of lines, or -1 after
 * printing the error. */
static long subjects(whelk_shell *sh, const char *rev)
{
    whelk_pipeline *p = whelk_shell_pipe(
        sh, whelk_shell_cmd(sh, "git", "log", "--format=%s", rev, NULL), NULL);
    whelk_error *err = NULL;
    char *line = NULL;
    size_t cap = 0;
    long n = 0;
    FILE *f = whelk_popen(p, "r", &err);

    if (!f) {
        fprintf(stderr, "git log: %s\n", whelk_error_message(err));
        whelk_error_free(err);
        whelk_pipeline_free(p);
        return -1;
    }
    while (getline(&line, &cap, f) > 0)
        if (++n <= 3)
            printf("  %s", line);
    free(line);
    if (whelk_pclose(f, &err) < 0) {
        printf("  pclose: %s (stage %zu, exit code %d)\n",
               whelk_error_message(err), whelk_error_stage(err),
               whelk_error_exit_code(err));
        whelk_error_free(err);
        n = -1;
    }
    whelk_pipeline_free(p); /* only after pclose: the FILE needs it */
    return n;
}

int main(void)
{
    whelk_shell *sh;
    char msg[32];
    long good, bad;
    int i, status = 1;
    char *dir = make_repo(&sh);

    if (!dir)
        return 1;
    for (i = 2; i <= 10; i++) {
        snprintf(msg, sizeof msg, "commit number %d", i);
        if (git(sh, "commit", "-q", "--allow-empty", "-m", msg, NULL) < 0)
            goto out;
    }
    printf("git log HEAD:\n");
    good = subjects(sh, "HEAD");
    printf("%ld subjects\n", good);
    printf("git log no-such-branch:\n");
    bad = subjects(sh, "no-such-branch");
    status = good == 10 && bad == -1 ? 0 : 1;
out:
    remove_repo(dir, sh);
    return status;
}
