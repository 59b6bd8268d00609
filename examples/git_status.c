/*
 * git_status.c -- parse `git status --porcelain=v1 -z` into entries.  The
 * -z format separates entries with NUL bytes and never quotes paths, so it
 * is the one to parse; the captured stdout may hold NUL bytes, and
 * whelk_result_stdout gives its length for exactly that.  Each entry is
 * "XY path", and a rename or copy (X is R or C) is followed by one more
 * NUL-terminated field, the path it came from.  The example makes a
 * repository with a modified, a staged, a renamed, an untracked file and
 * one whose name holds a space and a newline, and prints what it parsed.
 *
 *   Python whelk:  shell.git('status', '--porcelain=v1', '-z').stdout.split('\0')
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <whelk.h>

#include "repo.h"

struct entry {
    char x, y;        /* index and work tree status letters */
    const char *path; /* points into the result's stdout */
    const char *from; /* the old path of a rename or copy, else NULL */
};

/* Split len bytes of -z output into at most max entries; returns how
 * many, or -1 if the output is malformed. */
static int parse_status(const char *out, size_t len, struct entry *e, int max)
{
    const char *p = out, *end = out + len;
    int n = 0;

    while (p < end) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        if (!nul || nul - p < 4 || p[2] != ' ' || n == max)
            return -1;
        e[n].x = p[0];
        e[n].y = p[1];
        e[n].path = p + 3;
        e[n].from = NULL;
        p = nul + 1;
        if (e[n].x == 'R' || e[n].x == 'C') {
            if (!(nul = memchr(p, '\0', (size_t)(end - p))))
                return -1;
            e[n].from = p;
            p = nul + 1;
        }
        n++;
    }
    return n;
}

/* The path as C would write it, so the newline shows. */
static void print_path(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '\n')
            fputs("\\n", stdout);
        else
            putchar(*s);
    }
    putchar('"');
}

int main(void)
{
    whelk_shell *sh;
    whelk_error *err = NULL;
    whelk_result *r = NULL;
    struct entry e[16];
    const char *out;
    size_t len;
    int i, n, status = 1;
    char *dir = make_repo(&sh);

    if (!dir)
        return 1;
    if (write_file(dir, "old-name", "to be renamed\n") < 0 ||
        git(sh, "add", "old-name", NULL) < 0 ||
        git(sh, "commit", "-q", "-m", "second commit", NULL) < 0 ||
        write_file(dir, "README", "A throwaway repository, modified.\n") < 0 ||
        write_file(dir, "staged.txt", "new and staged\n") < 0 ||
        git(sh, "add", "staged.txt", NULL) < 0 ||
        git(sh, "mv", "old-name", "new-name", NULL) < 0 ||
        write_file(dir, "untracked.txt", "nobody added me\n") < 0 ||
        write_file(dir, "odd name\nwith newline", "quoted without -z\n") < 0)
        goto out;

    r = whelk_shell_sh(sh, &err, "git", "status", "--porcelain=v1", "-z", NULL);
    if (!r) {
        fprintf(stderr, "git status: %s\n", whelk_error_message(err));
        whelk_error_free(err);
        goto out;
    }
    out = whelk_result_stdout(r, &len);
    n = parse_status(out, len, e, 16);
    if (n < 0) {
        fprintf(stderr, "could not parse %zu bytes of git status\n", len);
        goto out;
    }
    printf("%d entries in %zu bytes:\n", n, len);
    for (i = 0; i < n; i++) {
        printf("  index %c  worktree %c  ", e[i].x, e[i].y);
        print_path(e[i].path);
        if (e[i].from) {
            fputs(" (from ", stdout);
            print_path(e[i].from);
            putchar(')');
        }
        putchar('\n');
    }
    /* README modified, staged.txt added, a rename, two untracked files */
    status = n == 5 ? 0 : 1;
out:
    whelk_result_free(r);
    remove_repo(dir, sh);
    return status;
}
