/*
 * repo.h -- scaffolding for the git examples, not part of what they teach:
 * a throwaway repository in a new temporary directory (git init, a user,
 * one commit) and the whelk_shell every git command of an example runs
 * through.  The shell runs git in the repository, in the C locale, and
 * blind to the user's and the system's git configuration and to GIT_DIR
 * and friends inherited from a calling git, so the examples behave the
 * same on every machine that has git.  Your own program would make its
 * shell the same way, minus the temporary directory.
 */
#ifndef WHELK_EXAMPLE_REPO_H
#define WHELK_EXAMPLE_REPO_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <whelk.h>

/* A shell whose commands run in dir, isolated from the host's git setup. */
static whelk_shell *repo_shell(const char *dir)
{
    static const char *const unset[] = {"XDG_CONFIG_HOME", "GIT_DIR",
                                        "GIT_WORK_TREE", "GIT_INDEX_FILE",
                                        "GIT_OBJECT_DIRECTORY", NULL};
    whelk_shell *sh = whelk_shell_new();
    size_t i;

    if (!sh)
        return NULL;
    whelk_shell_chdir(sh, dir);
    whelk_shell_setenv(sh, "LC_ALL", "C");
    whelk_shell_setenv(sh, "HOME", dir); /* no ~/.gitconfig */
    whelk_shell_setenv(sh, "GIT_CONFIG_NOSYSTEM", "1");
    for (i = 0; unset[i]; i++)
        if (getenv(unset[i]))
            whelk_shell_setenv(sh, unset[i], NULL); /* NULL: unset */
    return sh;
}

/* Run `git args... NULL` through sh: 0, or -1 after printing the error.
 * (whelk_shell_sh is the one-liner; this builds the command argument by
 * argument because a C function cannot pass its own ... on.) */
static int git(whelk_shell *sh, ...)
{
    whelk_cmd *cmd = whelk_shell_cmd(sh, "git", NULL);
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err = NULL;
    const char *arg;
    va_list ap;

    va_start(ap, sh);
    while ((arg = va_arg(ap, const char *)) != NULL)
        whelk_cmd_arg(cmd, arg);
    va_end(ap);
    p = whelk_shell_pipe(sh, cmd, NULL);
    r = whelk_run(p, &err);
    whelk_pipeline_free(p);
    if (!r) {
        fprintf(stderr, "git failed: %s\n", whelk_error_message(err));
        whelk_error_free(err);
        return -1;
    }
    whelk_result_free(r);
    return 0;
}

/* Write text to dir/name (created or truncated): 0, or -1. */
static int write_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    FILE *f;
    int rc;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!(f = fopen(path, "w"))) {
        perror(path);
        return -1;
    }
    rc = fputs(text, f) < 0;
    rc |= fclose(f) != 0;
    return rc ? -1 : 0;
}

/* Remove the repository and free what make_repo returned. */
static void remove_repo(char *dir, whelk_shell *sh)
{
    if (dir)
        whelk_result_free(whelk_sh(NULL, "rm", "-rf", "--", dir, NULL));
    free(dir);
    whelk_shell_free(sh);
}

/*
 * A new repository with one commit (README), in a new directory under
 * $TMPDIR or /tmp.  Returns the directory (malloc'd) and sets *shp to the
 * shell for it; NULL on failure (nothing left behind).
 */
static char *make_repo(whelk_shell **shp)
{
    const char *tmp = getenv("TMPDIR");
    size_t n = strlen(tmp && *tmp ? tmp : "/tmp") + 32;
    char *dir = malloc(n);
    whelk_shell *sh = NULL;

    *shp = NULL;
    if (!dir)
        return NULL;
    snprintf(dir, n, "%s/whelk-example.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        free(dir);
        return NULL;
    }
    if (!(sh = repo_shell(dir)) ||
        git(sh, "-c", "init.defaultBranch=main", "init", "-q", NULL) < 0 ||
        git(sh, "config", "user.name", "libwhelk example", NULL) < 0 ||
        git(sh, "config", "user.email", "example@libwhelk.invalid", NULL) < 0 ||
        git(sh, "config", "commit.gpgsign", "false", NULL) < 0 ||
        write_file(dir, "README", "A throwaway repository.\n") < 0 ||
        git(sh, "add", "README", NULL) < 0 ||
        git(sh, "commit", "-q", "-m", "first commit", NULL) < 0) {
        remove_repo(dir, sh);
        return NULL;
    }
    *shp = sh;
    return dir;
}

#endif /* WHELK_EXAMPLE_REPO_H */
