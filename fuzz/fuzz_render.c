/*
 * fuzz_render.c -- libFuzzer target for whelk_pipeline_tostring
 * (lib/quote.c), held against POSIX shells: the rendering of a command
 * made of random bytes, run by `sh -c`, must run that command and nothing
 * else.
 *
 * Input layout:
 *   byte 0      bit 0: clear the environment; bits 1..2: how the program
 *               is named (0 and 3: its absolute path, 1: ./name run in
 *               its directory, 2: its bare name found in a PATH the
 *               command sets); bit 3: give the command its directory as
 *               its working directory (forms 1 and 2 always do); bit 4:
 *               run the rendering by bash too (when /bin/bash exists);
 *               bit 5: put a first stage before it ("out:x")
 *   then        fields separated by NUL bytes:
 *                 the directory's name, the program's name (a '/' in
 *                 either becomes '_'; "", "." and ".." become "d", "p");
 *                 then each field by its first byte: 0x01 NAME=VALUE sets
 *                 (NAME up to the first '='), 0x02 NAME unsets, anything
 *                 else is one more argument, whole
 *
 * The program is a symbolic link to the helper child (tests/whelk-helper,
 * built next to this target), made in a directory of that name under a
 * temporary directory; the helper's `dump` action prints its working
 * directory, argv and environment.
 *
 * Properties checked (abort on violation), for every command libwhelk
 * runs successfully:
 *   - `sh -c <rendering>` (and `bash -c`) exits 0 and prints nothing on
 *     stderr, as the run does;
 *   - the helper reports the same working directory, the same argv and the
 *     same environment (as sets; PWD, OLDPWD, SHLVL and _, which shells set
 *     themselves, are compared only when the command clears the
 *     environment or names them).
 * The host environment of the target is reset to PATH=/usr/bin:/bin and
 * LC_ALL=C at start-up.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef HELPER_PATH
#error "build with -DHELPER_PATH=\"/abs/path/to/whelk-helper\""
#endif

#define MAX_INPUT 4096

static char base[] = "/tmp/fuzz_render.XXXXXX";

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void cleanup(void)
{
    nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void init(void)
{
    static int done;

    if (done)
        return;
    done = 1;
    if (!mkdtemp(base))
        abort();
    atexit(cleanup);
    if (clearenv() != 0 || setenv("PATH", "/usr/bin:/bin", 1) != 0 ||
        setenv("LC_ALL", "C", 1) != 0)
        abort();
}

static void show(const char *what, const char *s, size_t len)
{
    size_t i;

    fprintf(stderr, "%s: ", what);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fputc('\n', stderr);
}

/* ------------------------------------------------------------- dumps */

typedef struct dump {
    char **items; /* cwd, argc, argv..., env... (env sorted) */
    size_t n, nenv;
    const char *cwd;
    size_t argc;
} dump;

typedef struct names {
    char *v[64]; /* malloc'd */
    size_t n;
    int cleared;
} names;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ignored(const char *entry, const names *named)
{
    static const char *const shell_vars[] = {"PWD", "OLDPWD", "SHLVL", "_",
                                             NULL};
    size_t i, j;

    if (named->cleared)
        return 0;
    for (i = 0; shell_vars[i]; i++) {
        size_t n = strlen(shell_vars[i]);
        if (strncmp(entry, shell_vars[i], n) != 0 || entry[n] != '=')
            continue;
        for (j = 0; j < named->n; j++)
            if (strcmp(named->v[j], shell_vars[i]) == 0)
                return 0;
        return 1;
    }
    return 0;
}

/* Parses a dump in out[0..len) (kept: the items point into it). */
static int parse(char *out, size_t len, const names *named, dump *d)
{
    size_t i, k, nul = 0;
    char *p;

    memset(d, 0, sizeof *d);
    for (i = 0; i < len; i++)
        nul += out[i] == '\0';
    if (!len || out[len - 1] != '\0' || nul < 2)
        return -1;
    if (!(d->items = calloc(nul, sizeof *d->items)))
        abort();
    for (p = out, i = 0; i < nul; i++, p += strlen(p) + 1)
        d->items[i] = p;
    d->cwd = d->items[0];
    d->argc = (size_t)atoi(d->items[1]);
    if (d->argc + 2 > nul) {
        free(d->items);
        d->items = NULL;
        return -1;
    }
    for (k = i = d->argc + 2; i < nul; i++)
        if (!ignored(d->items[i], named))
            d->items[k++] = d->items[i];
    d->n = k;
    d->nenv = k - d->argc - 2;
    qsort(d->items + d->argc + 2, d->nenv, sizeof *d->items, cmp_str);
    return 0;
}

static int same(const dump *a, const dump *b)
{
    size_t i;

    if (a->n != b->n || a->argc != b->argc)
        return 0;
    for (i = 0; i < a->n; i++)
        if (i != 1 && strcmp(a->items[i], b->items[i]) != 0)
            return 0;
    return 1;
}

/* -------------------------------------------------------------- runs */

/* Runs p; its stdout (malloc'd, in *out) when it succeeded with nothing
 * on stderr, else NULL. */
static char *run(whelk_pipeline *p, size_t *len, whelk_error **errp)
{
    whelk_error *err = NULL;
    whelk_result *r;
    const char *o;
    size_t elen;
    char *copy;

    whelk_pipeline_timeout(p, 20000);
    r = whelk_run(p, &err);
    *errp = err;
    if (!r)
        return NULL;
    o = whelk_result_stdout(r, len);
    whelk_result_stderr(r, &elen);
    copy = elen ? NULL : malloc(*len + 1);
    if (copy)
        memcpy(copy, o, *len);
    whelk_result_free(r);
    return copy;
}

static char *safe_name(const uint8_t *s, size_t n, const char *dflt,
                       int no_colon)
{
    char *w = malloc(n + 2), *c;

    if (!w)
        abort();
    memcpy(w, s, n);
    w[n] = '\0';
    for (c = w; *c; c++)
        if (*c == '/' || (no_colon && *c == ':'))
            *c = '_';
    if (!*w || !strcmp(w, ".") || !strcmp(w, "..") || n > 200)
        strcpy(w, dflt);
    return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *f[128];
    size_t flen[128], nf = 0, i, wantlen, gotlen;
    unsigned flags;
    int form, k;
    char *dname, *pname, *dir, *prog, *text, *want;
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_error *err;
    names named;
    dump wd;

    if (size < 1 || size > MAX_INPUT)
        return 0;
    init();
    flags = data[0];
    form = (flags >> 1) & 3;
    /* fields */
    {
        const uint8_t *s = data + 1, *end = data + size;
        while (s <= end && nf < 128) {
            const uint8_t *z = memchr(s, 0, (size_t)(end - s));
            f[nf] = s;
            flen[nf++] = z ? (size_t)(z - s) : (size_t)(end - s);
            if (!z)
                break;
            s = z + 1;
        }
    }
    if (nf < 2)
        return 0;
    dname = safe_name(f[0], flen[0], "d", form == 2);
    pname = safe_name(f[1], flen[1], "p", 0);
    if (asprintf(&dir, "%s/%s", base, dname) < 0 ||
        asprintf(&prog, "%s/%s", dir, pname) < 0)
        abort();
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        abort();
    if (symlink(HELPER_PATH, prog) != 0 && errno != EEXIST)
        abort();

    if (form == 1) {
        char *rel;
        if (asprintf(&rel, "./%s", pname) < 0)
            abort();
        c = whelk_cmd_new(rel, "dump", "exit:0", NULL);
        free(rel);
    } else {
        c = whelk_cmd_new(form == 2 ? pname : prog, "dump", "exit:0", NULL);
    }
    memset(&named, 0, sizeof named);
    named.cleared = flags & 1;
    if (named.cleared)
        whelk_cmd_clearenv(c);
    for (i = 2; i < nf; i++) {
        char *w = strndup((const char *)f[i], flen[i]);
        if (!w)
            abort();
        if ((w[0] == 1 || w[0] == 2) && w[1] && w[1] != '=' &&
            named.n < 64) {
            char *eq = strchr(w + 1, '=');
            if (w[0] == 1 && eq) {
                *eq = '\0';
                whelk_cmd_setenv(c, w + 1, eq + 1);
            } else if (w[0] == 2 && !eq) {
                whelk_cmd_setenv(c, w + 1, NULL);
            } else {
                whelk_cmd_arg(c, w);
                free(w);
                continue;
            }
            if (!(named.v[named.n++] = strdup(w + 1)))
                abort();
        } else {
            whelk_cmd_arg(c, w);
        }
        free(w);
    }
    if (form == 2)
        whelk_cmd_setenv(c, "PATH", dir);
    if (form == 1 || form == 2 || (flags & 8))
        whelk_cmd_chdir(c, dir);
    p = flags & 32 ? whelk_pipe(whelk_cmd_new(HELPER_PATH, "out:x", NULL), c,
                                NULL)
                   : whelk_pipe(c, NULL);

    want = run(p, &wantlen, &err);
    text = whelk_pipeline_tostring(p);
    if (!text)
        abort();
    if (want && parse(want, wantlen, &named, &wd) == 0) {
        static const char *const shells[] = {"/bin/sh", "/bin/bash"};
        for (k = 0; k < 2; k++) {
            whelk_pipeline *sp;
            whelk_error *serr;
            char *got;
            dump gd;
            if (k == 1 && (!(flags & 16) || access(shells[1], X_OK) != 0))
                continue;
            sp = whelk_pipe(whelk_cmd_new(shells[k], "-c", text, NULL), NULL);
            got = run(sp, &gotlen, &serr);
            if (!got || parse(got, gotlen, &named, &gd) != 0 ||
                !same(&wd, &gd)) {
                show("rendering", text, strlen(text));
                show(shells[k], whelk_error_message(serr),
                     strlen(whelk_error_message(serr)));
                show("libwhelk's dump", want, wantlen);
                if (got)
                    show("the shell's dump", got, gotlen);
                abort();
            }
            free(gd.items);
            free(got);
            whelk_error_free(serr);
            whelk_pipeline_free(sp);
        }
        free(wd.items);
    } else if (want) {
        show("not a dump", want, wantlen);
        abort();
    }
    free(want);
    whelk_error_free(err);
    for (i = 0; i < named.n; i++)
        free(named.v[i]);
    free(text);
    whelk_pipeline_free(p);
    free(dname);
    free(pname);
    free(dir);
    free(prog);
    return 0;
}
