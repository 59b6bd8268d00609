/*
 * git_hook_env.c -- hook hygiene.  When git runs a hook it exports GIT_DIR,
 * GIT_INDEX_FILE (and, depending on the command, GIT_WORK_TREE,
 * GIT_PREFIX, GIT_CONFIG_PARAMETERS...) to it.  A tool started from a hook
 * that runs `git` in some other repository passes them on, and every such
 * `git` then works on the hook's repository, whatever its cwd or -C says.
 * whelk_cmd_unset_git_env (or whelk_shell_unset_git_env for every command
 * of a shell) unsets, for the child only, everything `git rev-parse
 * --local-env-vars` lists.
 *
 * The example makes two repositories, A and B, sets in its own environment
 * what git gives a hook running in A, and asks `git rev-parse
 * --absolute-git-dir` in B twice: as is (the answer is A's .git: wrong)
 * and with the variables unset (B's .git).
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <whelk.h>

#include "repo.h"

/* The git directory `git rev-parse` finds from dir, or NULL. */
static char *git_dir_seen_from(const char *dir, int hygiene)
{
    whelk_cmd *cmd =
        whelk_cmd_new("git", "rev-parse", "--absolute-git-dir", NULL);
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err = NULL;
    char *line = NULL;

    whelk_cmd_chdir(cmd, dir);
    if (hygiene)
        whelk_cmd_unset_git_env(cmd);
    p = whelk_pipe(cmd, NULL);
    r = whelk_run(p, &err);
    whelk_pipeline_free(p);
    if (!r) {
        fprintf(stderr, "%s\n", whelk_error_message(err));
        whelk_error_free(err);
        return NULL;
    }
    line = whelk_result_stdout_line(r, NULL); /* $(git rev-parse ...) */
    whelk_result_free(r);
    return line;
}

int main(void)
{
    whelk_shell *sh_a = NULL, *sh_b = NULL;
    char *a = make_repo(&sh_a), *b = make_repo(&sh_b);
    char git_a[PATH_MAX], git_b[PATH_MAX], index_a[PATH_MAX + 8];
    char *naive = NULL, *clean = NULL;
    int status = 1;

    if (!a || !b)
        goto out;
    snprintf(git_a, sizeof git_a, "%s/.git", a);
    snprintf(git_b, sizeof git_b, "%s/.git", b);
    snprintf(index_a, sizeof index_a, "%s/index", git_a);

    /* what a pre-commit hook of A finds in its environment */
    setenv("GIT_DIR", git_a, 1);
    setenv("GIT_INDEX_FILE", index_a, 1);

    naive = git_dir_seen_from(b, 0);
    clean = git_dir_seen_from(b, 1);
    printf("asked in B, as inherited:   %s\n", naive ? naive : "(failed)");
    printf("asked in B, with hygiene:   %s\n", clean ? clean : "(failed)");
    if (naive && clean && strcmp(naive, git_a) == 0 &&
        strcmp(clean, git_b) == 0) {
        printf("the inherited GIT_DIR pointed B's git at A; unset, it did "
               "not\n");
        status = 0;
    } else {
        fprintf(stderr, "expected %s, then %s\n", git_a, git_b);
    }
    unsetenv("GIT_DIR");
    unsetenv("GIT_INDEX_FILE");
out:
    free(naive);
    free(clean);
    remove_repo(a, sh_a);
    remove_repo(b, sh_b);
    return status;
}
