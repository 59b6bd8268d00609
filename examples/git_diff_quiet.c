/*
 * git_diff_quiet.c -- a command whose exit code is an answer, not a
 * failure.  `git diff --quiet` exits 0 when the work tree is clean and 1
 * when it has changes; anything else (128: not a repository, a bad
 * revision) is a real error.  whelk_shell_sh_ok declares {0, 1} as
 * success for this one call (whelk_cmd_ok_codes does the same for a
 * command built step by step), so checking stays on for everything else,
 * and the answer is read from whelk_result_exit_code.  The example
 * asks a clean tree, a changed tree, then a bad revision (an error even
 * with the ok codes), and finally shows what plain checking makes of
 * exit code 1.
 *
 *   Python whelk:  changed = not shell.git('diff', '--quiet')
 *                  (whelk leaves checking off unless raise_on_error=True)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <whelk.h>

#include "repo.h"

/* 1: changes, 0: clean, -1: error (printed). */
static int has_changes(whelk_shell *sh, const char *rev)
{
    whelk_error *err = NULL;
    whelk_result *r;
    int code;

    /* {0, 1} count as success for this one call; a NULL rev ends the
     * argument list early */
    r = whelk_shell_sh_ok(sh, &err, WHELK_CODES(0, 1), "git", "diff",
                          "--quiet", rev, NULL);
    if (!r) {
        printf("  error: %s (exit code %d)\n", whelk_error_message(err),
               whelk_error_exit_code(err));
        whelk_error_free(err);
        return -1;
    }
    code = whelk_result_exit_code(r, 0);
    whelk_result_free(r);
    return code;
}

int main(void)
{
    whelk_shell *sh;
    whelk_error *err = NULL;
    whelk_result *r;
    int clean, changed, bad, plain_failed, status = 1;
    char *dir = make_repo(&sh);

    if (!dir)
        return 1;
    printf("clean tree:\n");
    clean = has_changes(sh, NULL);
    printf("  git diff --quiet -> %d\n", clean);

    if (write_file(dir, "README", "Changed.\n") < 0)
        goto out;
    printf("after editing README:\n");
    changed = has_changes(sh, NULL);
    printf("  git diff --quiet -> %d\n", changed);

    printf("a revision that does not exist:\n");
    bad = has_changes(sh, "no-such-revision");

    /* Without ok codes, exit code 1 is a failure like any other. */
    printf("the same question with plain checking:\n");
    r = whelk_shell_sh(sh, &err, "git", "diff", "--quiet", NULL);
    plain_failed = r == NULL && whelk_error_kind(err) == WHELK_E_EXIT;
    if (r) {
        whelk_result_free(r);
    } else {
        printf("  %s: %s\n", whelk_error_kind_name(whelk_error_kind(err)),
               whelk_error_message(err));
        whelk_error_free(err);
    }
    status = clean == 0 && changed == 1 && bad == -1 && plain_failed ? 0 : 1;
out:
    remove_repo(dir, sh);
    return status;
}
