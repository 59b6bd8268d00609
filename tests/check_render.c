/*
 * check_render.c -- rendering, decoding and messages (issue 10):
 *
 *   - whelk_pipeline_tostring() run by `sh -c` (and by bash and dash when
 *     they are installed) runs exactly the pipeline and nothing else, for
 *     hostile bytes in argv, environment names and values, working
 *     directories and program paths: the helper's `dump` action reports
 *     the cwd, argv and environment it got, and both must be the same;
 *   - every charset the single-byte table decoder serves decodes exactly
 *     as iconv does, combining sequences included (CP1255, CP1258, TCVN);
 *   - a relative program is found in a working directory whose joined
 *     path is longer than PATH_MAX;
 *   - a script whose #! interpreter is missing names the interpreter;
 *   - an error's message shows the command's working directory.
 *
 * The decoder tests reach lib/decode.c through lib/internal.h.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <check.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

/* ============================================================ dumps */

/* What the helper's `dump` printed: cwd, argv, the environment sorted. */
typedef struct dump {
    char *cwd;
    char **argv;
    size_t argc;
    char **env;
    size_t nenv;
    char *raw;
    char **items;
} dump;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names a shell sets itself (cd, bash): compared only when the command
 * sets or unsets them, or clears the environment. */
static const char *const shell_vars[] = {"PWD", "OLDPWD", "SHLVL", "_", NULL};

static int ignored(const char *entry, const char *const *keep, int cleared)
{
    size_t i, j;

    if (cleared)
        return 0;
    for (i = 0; shell_vars[i]; i++) {
        size_t n = strlen(shell_vars[i]);
        if (strncmp(entry, shell_vars[i], n) != 0 || entry[n] != '=')
            continue;
        for (j = 0; keep && keep[j]; j++)
            if (strcmp(keep[j], shell_vars[i]) == 0)
                return 0;
        return 1;
    }
    return 0;
}

static dump parse_dump(const char *out, size_t len, const char *const *keep,
                       int cleared)
{
    dump d;
    size_t n = 0, i, k = 0;
    char **items;
    char *p;

    memset(&d, 0, sizeof d);
    d.raw = malloc(len + 1);
    ck_assert_ptr_nonnull(d.raw);
    memcpy(d.raw, out, len);
    d.raw[len] = '\0';
    for (i = 0; i < len; i++)
        n += d.raw[i] == '\0';
    ck_assert_msg(len > 0 && d.raw[len - 1] == '\0' && n >= 2,
                  "not a dump (%zu bytes): %s", len, d.raw);
    items = calloc(n, sizeof *items);
    ck_assert_ptr_nonnull(items);
    d.items = items;
    for (p = d.raw, i = 0; i < n; i++, p += strlen(p) + 1)
        items[i] = p;
    d.cwd = items[0];
    d.argc = (size_t)atoi(items[1]);
    ck_assert_uint_le(d.argc + 2, n);
    d.argv = items + 2;
    d.env = items + 2 + d.argc;
    for (i = 0; i < n - 2 - d.argc; i++)
        if (!ignored(d.env[i], keep, cleared))
            d.env[k++] = d.env[i];
    d.nenv = k;
    qsort(d.env, d.nenv, sizeof *d.env, cmp_str);
    return d;
}

static void dump_free(dump *d)
{
    free(d->raw);
    free(d->items);
}

static char *visible(const char *s)
{
    whelk_buf b = {0};

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7F || c == '\\')
            whelk__buf_printf(&b, "\\x%02x", c);
        else
            whelk__buf_add(&b, s, 1);
    }
    whelk__buf_reserve(&b, 1);
    return b.data;
}

static void assert_same_dump(const dump *a, const dump *b, const char *text,
                             const char *shell)
{
    size_t i;

    ck_assert_msg(strcmp(a->cwd, b->cwd) == 0, "%s: cwd [%s] != [%s] for %s",
                  shell, visible(b->cwd), visible(a->cwd), visible(text));
    ck_assert_msg(a->argc == b->argc, "%s: argc %zu != %zu for %s", shell,
                  b->argc, a->argc, visible(text));
    for (i = 0; i < a->argc; i++)
        ck_assert_msg(strcmp(a->argv[i], b->argv[i]) == 0,
                      "%s: argv[%zu] [%s] != [%s] for %s", shell, i,
                      visible(b->argv[i]), visible(a->argv[i]), visible(text));
    for (i = 0; i < a->nenv && i < b->nenv; i++)
        ck_assert_msg(strcmp(a->env[i], b->env[i]) == 0,
                      "%s: env [%s] != [%s] for %s", shell,
                      visible(b->env[i]), visible(a->env[i]), visible(text));
    ck_assert_msg(a->nenv == b->nenv, "%s: %zu env entries != %zu for %s",
                  shell, b->nenv, a->nenv, visible(text));
}

/* The shells the rendering is run by: sh always, bash and dash too. */
static const char *const shells[] = {"/bin/sh", "/bin/bash", "/bin/dash",
                                     NULL};

/* Runs text by shell (from the host's cwd); the result must succeed. */
static whelk_result *run_in_shell(const char *shell, const char *text)
{
    whelk_pipeline *p =
        whelk_pipe(whelk_cmd_new(shell, "-c", text, NULL), NULL);
    whelk_error *err = NULL;
    whelk_result *r = whelk_run(p, &err);

    ck_assert_msg(r != NULL, "%s -c %s: %s", shell, visible(text),
                  err_desc(err));
    whelk_pipeline_free(p);
    return r;
}

/* p's last stage dumps: p and each shell's run of its rendering must
 * give the same dump.  keep: shell-set names the command sets or unsets;
 * cleared: it clears the environment. */
static void assert_renders_same(whelk_pipeline *p, const char *const *keep,
                                int cleared)
{
    char *text = whelk_pipeline_tostring(p);
    whelk_result *r = run_ok(p);
    size_t len, i;
    const char *out = whelk_result_stdout(r, &len);
    dump want = parse_dump(out, len, keep, cleared);

    ck_assert_ptr_nonnull(text);
    for (i = 0; shells[i]; i++) {
        whelk_result *sr;
        dump got;
        if (i && access(shells[i], X_OK) != 0)
            continue;
        sr = run_in_shell(shells[i], text);
        out = whelk_result_stdout(sr, &len);
        got = parse_dump(out, len, keep, cleared);
        assert_same_dump(&want, &got, text, shells[i]);
        dump_free(&got);
        whelk_result_free(sr);
    }
    dump_free(&want);
    whelk_result_free(r);
    free(text);
}

/* ========================================================= rendering */

static char *scratch; /* a fresh directory per test */
static char *marker;  /* a file any injected command would create */

static void setup(void)
{
    scratch = make_tmpdir();
    marker = path_join(scratch, "PWNED");
}

static void teardown(void)
{
    rm_rf(scratch);
    free(scratch);
    free(marker);
}

static void assert_no_marker(const char *what)
{
    ck_assert_msg(!path_exists(marker), "%s ran an injected command", what);
}

/* Environment names a shell must not read as code or as options. */
static const char *const hostile_names[] = {
    "X;touch PWNED;Y", "$(touch PWNED)", "`touch PWNED`", "a b", "-u", "-i",
    "--", "-", "A\nB", "1X", "a.b", "caf\xc3\xa9", "\xff", "X|touch PWNED",
    "UID", "RANDOM", "SHELLOPTS", "IFS", "PATH ", "'", "\"", "*", "~", "#",
    "BASH_ENV", "ENV", NULL};

START_TEST(test_render_env_names)
{
    const char *name = hostile_names[_i];
    int variant;

    for (variant = 0; variant < 3; variant++) {
        whelk_cmd *c = helper_cmd("dump", NULL);
        whelk_pipeline *p;
        char *v = xasprintf("v;touch %s", marker);
        int cleared = variant == 2;

        if (cleared)
            whelk_cmd_clearenv(c);
        whelk_cmd_setenv(c, name, v);
        /* and one more name to set after it, and one to unset */
        whelk_cmd_setenv(c, "WHELK_NEXT", "n x");
        if (variant == 1)
            whelk_cmd_setenv(c, "HOME", NULL);
        whelk_cmd_chdir(c, scratch);
        p = whelk_pipe(c, NULL);
        assert_renders_same(p, NULL, cleared);
        assert_no_marker(name);
        whelk_pipeline_free(p);
        free(v);
    }
}
END_TEST

/* The names in the issue, through `sh -c` with the marker relative to the
 * working directory. */
START_TEST(test_render_env_name_injection)
{
    whelk_cmd *c = helper_cmd("dump", NULL);
    whelk_pipeline *p;
    const char *const keep[] = {NULL};

    whelk_cmd_setenv(c, "X;touch PWNED;Y", "1");
    whelk_cmd_chdir(c, scratch);
    p = whelk_pipe(c, NULL);
    assert_renders_same(p, keep, 0);
    assert_no_marker("X;touch PWNED;Y");
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_render_name_with_equals_is_invalid)
{
    static const char *const bad[] = {"A=B", "=", "", "=A", NULL};
    size_t i;

    for (i = 0; bad[i]; i++) {
        whelk_cmd *c = helper_cmd("out:x", NULL);
        whelk_pipeline *p;
        whelk_error *err;

        whelk_cmd_setenv(c, bad[i], "v");
        p = whelk_pipe(c, NULL);
        err = run_fail(p, WHELK_E_INVALID);
        ck_assert_int_eq(whelk_error_errno(err), EINVAL);
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }
}
END_TEST

/* A symlink to the helper at dir/name; malloc'd path. */
static char *helper_link(const char *dir, const char *name)
{
    char *path = path_join(dir, name);

    ck_assert_msg(symlink(HELPER, path) == 0, "symlink %s: %s", path,
                  strerror(errno));
    return path;
}

/* env(1) takes any word holding '=' as an assignment, even after --. */
START_TEST(test_render_program_with_equals)
{
    char *dir = path_join(scratch, "a=b"), *prog;
    whelk_cmd *c;
    whelk_pipeline *p;
    int variant;

    ck_assert_int_eq(mkdir(dir, 0755), 0);
    prog = helper_link(dir, "-t=o");
    for (variant = 0; variant < 4; variant++) {
        const char *argv0 = variant == 1 ? "a=b/-t=o" : prog;
        c = whelk_cmd_new(argv0, "dump", "exit:0", "a=b", "-i", NULL);
        if (variant != 2)
            whelk_cmd_clearenv(c);
        whelk_cmd_setenv(c, "A", "1");
        if (variant >= 2)
            whelk_cmd_setenv(c, "HOME", NULL);
        if (variant == 3)
            whelk_cmd_setenv(c, "-x", "y");
        whelk_cmd_chdir(c, scratch);
        p = whelk_pipe(c, NULL);
        assert_renders_same(p, NULL, variant != 2);
        whelk_pipeline_free(p);
    }
    /* found in PATH by a name that holds '=' and starts with '-' */
    c = whelk_cmd_new("-t=o", "dump", NULL);
    whelk_cmd_setenv(c, "PATH", dir);
    whelk_cmd_setenv(c, "HOME", NULL);
    p = whelk_pipe(c, NULL);
    assert_renders_same(p, NULL, 0);
    whelk_pipeline_free(p);
    free(prog);
    free(dir);
}
END_TEST

/* A program named like a shell builtin or keyword is the program in
 * PATH, not the shell's: `eval` would run its arguments as code, and bash
 * runs `%1` (quoted or not) as `fg %1`. */
static const char *const builtin_names[] = {
    "eval", "exec", "source", "command", "trap", "[",  "test",
    "echo", "printf", "cd", "set",    "let",     "read", "if", "!",
    "{",    "time", "coproc", "kill", "type",    "alias", "%1", "%PWD=x",
    "%",    "-",    "--",     "-i",   NULL};

START_TEST(test_render_builtin_program_names)
{
    const char *name = builtin_names[_i];
    char *bin = path_join(scratch, "bin"), *prog;
    char *inject = xasprintf(";touch %s", marker);
    whelk_pipeline *p;
    int variant;

    ck_assert_int_eq(mkdir(bin, 0755), 0);
    prog = helper_link(bin, name);
    for (variant = 0; variant < 3; variant++) {
        whelk_cmd *c = whelk_cmd_new(name, "dump", "exit:0", inject, "]", "}",
                                     NULL);
        if (variant < 2) {
            whelk_cmd_setenv(c, "PATH", bin);
        } else {
            /* no assignment: the program found in the host's PATH */
            char *path = xasprintf("%s:%s", bin, getenv("PATH"));
            ck_assert_int_eq(setenv("PATH", path, 1), 0);
            free(path);
        }
        if (variant)
            whelk_cmd_setenv(c, "HOME", NULL);
        p = whelk_pipe(c, NULL);
        assert_renders_same(p, NULL, 0);
        assert_no_marker(name);
        whelk_pipeline_free(p);
    }
    free(prog);
    free(inject);
    free(bin);
}
END_TEST

/* Working directories: relative with CDPATH set, starting with '-', a
 * '..' after a symlink (chdir(2) resolves it physically), hostile bytes. */
START_TEST(test_render_cwd_forms)
{
    static const char *const dirs[] = {
        "-x", "rel", "-", "l/..", "d i'r $(touch PWNED)", "nl\nx", "\xff", NULL};
    char *elsewhere = path_join(scratch, "elsewhere");
    char *target = path_join(scratch, "t/u");
    size_t i;

    ck_assert_int_eq(chdir(scratch), 0);
    ck_assert_int_eq(mkdir("elsewhere", 0755), 0);
    ck_assert_int_eq(mkdir("elsewhere/rel", 0755), 0);
    ck_assert_int_eq(mkdir("t", 0755), 0);
    ck_assert_int_eq(mkdir("t/u", 0755), 0);
    ck_assert_int_eq(symlink(target, "l"), 0);
    ck_assert_int_eq(setenv("CDPATH", elsewhere, 1), 0);
    for (i = 0; dirs[i]; i++) {
        whelk_cmd *c = helper_cmd("dump", NULL);
        whelk_pipeline *p;
        char *abs = path_join(scratch, dirs[i]);

        if (strcmp(dirs[i], "l/..") != 0)
            ck_assert_int_eq(mkdir(dirs[i], 0755), 0);
        whelk_cmd_chdir(c, dirs[i]);
        p = whelk_pipe(c, NULL);
        assert_renders_same(p, NULL, 0);
        whelk_pipeline_free(p);
        /* the same as one stage of two, in a subshell */
        c = helper_cmd("dump", NULL);
        whelk_cmd_chdir(c, i % 2 ? abs : dirs[i]);
        p = whelk_pipe(helper_cmd("out:x", NULL), c, NULL);
        assert_renders_same(p, NULL, 0);
        whelk_pipeline_free(p);
        free(abs);
    }
    assert_no_marker("cwd");
    free(elsewhere);
    free(target);
}
END_TEST

/* Bytes with NUL on stdin: printf with octal escapes, not bash's <(...). */
START_TEST(test_render_stdin_with_nul)
{
    static const char data[] = "a\0b%s\\n'\0$(touch PWNED)\n\0";
    whelk_pipeline *p =
        whelk_pipe(helper_cmd("cat", NULL), helper_cmd("cat", NULL), NULL);
    char *text;
    whelk_result *r;
    size_t i, len, slen;
    const char *out;

    whelk_pipeline_stdin_bytes(p, data, sizeof data);
    text = whelk_pipeline_tostring(p);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(chdir(scratch), 0);
    r = run_ok(p);
    out = whelk_result_stdout(r, &len);
    ck_assert_uint_eq(len, sizeof data);
    for (i = 0; shells[i]; i++) {
        whelk_result *sr;
        if (i && access(shells[i], X_OK) != 0)
            continue;
        sr = run_in_shell(shells[i], text);
        ck_assert_msg(memcmp(whelk_result_stdout(sr, &slen), out, len) == 0 &&
                          slen == len,
                      "%s: %s", shells[i], visible(text));
        whelk_result_free(sr);
    }
    assert_no_marker("stdin");
    whelk_result_free(r);
    free(text);
    whelk_pipeline_free(p);
}
END_TEST

/* More than 256 bytes are shown shortened, in a form no shell runs. */
START_TEST(test_render_long_stdin_runs_nothing)
{
    char data[400];
    char *text, *cmd;
    size_t i;
    whelk_pipeline *p = whelk_pipe(helper_cmd("cat", NULL), NULL);

    ck_assert_int_eq(chdir(scratch), 0);
    for (i = 0; i < sizeof data; i++)
        data[i] = "$(touch PWNED)\0`touch PWNED`;<("[i % 31];
    for (i = 0; i < 2; i++) {
        size_t k;
        whelk_pipeline_stdin_bytes(p, data, i ? 300 : sizeof data);
        if (i)
            data[5] = 'x';
        text = whelk_pipeline_tostring(p);
        ck_assert_ptr_nonnull(text);
        for (k = 0; shells[k]; k++) {
            whelk_pipeline *sp;
            whelk_error *err;
            if (k && access(shells[k], X_OK) != 0)
                continue;
            cmd = xasprintf("%s", shells[k]);
            sp = whelk_pipe(whelk_cmd_new(cmd, "-c", text, NULL), NULL);
            err = run_fail(sp, WHELK_E_EXIT);
            whelk_error_free(err);
            whelk_pipeline_free(sp);
            free(cmd);
        }
        free(text);
    }
    assert_no_marker("long stdin");
    whelk_pipeline_free(p);
}
END_TEST

static int upper(whelk_filter *out, const void *data, size_t len, void *ud)
{
    (void)ud;
    return data ? whelk_filter_write(out, data, len) : 0;
}

/* A filter stage is a C function: no shell can run it, and none may run
 * a program of its name in its place.  The rendering is refused whole. */
START_TEST(test_render_filter_stage_runs_nothing)
{
    static const char *const names[] = {"X;touch PWNED", "cat", "eval",
                                        "touch PWNED", "$(touch PWNED)", NULL};
    size_t i, k;

    ck_assert_int_eq(chdir(scratch), 0);
    for (i = 0; names[i]; i++) {
        whelk_cmd *f = whelk_cmd_new_filter(names[i], upper, NULL);
        whelk_pipeline *p;
        char *text;

        whelk_cmd_chdir(f, scratch);
        whelk_cmd_setenv(f, "A B", "1");
        p = whelk_pipe(helper_cmd("out:x", NULL), f,
                       helper_cmd("cat", "touch:PWNED", NULL), NULL);
        text = whelk_pipeline_tostring(p);
        ck_assert_ptr_nonnull(text);
        for (k = 0; shells[k]; k++) {
            whelk_pipeline *sp;
            if (k && access(shells[k], X_OK) != 0)
                continue;
            sp = whelk_pipe(whelk_cmd_new(shells[k], "-c", text, NULL), NULL);
            whelk_error_free(run_fail(sp, WHELK_E_EXIT));
            whelk_pipeline_free(sp);
            ck_assert_msg(!path_exists("PWNED"), "%s ran part of %s",
                          shells[k], text);
        }
        free(text);
        whelk_pipeline_free(p);
    }
}
END_TEST

/* Pseudo-random hostile bytes (no NUL) of length up to max. */
static char *random_word(unsigned *seed, size_t max, int no_slash)
{
    static const char pool[] = "=;|&$`'\"\\ \t\n*?[]{}()<>!#~-.%/:,@+^aZ_09";
    size_t n = (size_t)(rand_r(seed) % (int)max), i;
    char *w = malloc(n + 1);

    ck_assert_ptr_nonnull(w);
    for (i = 0; i < n; i++) {
        int r = rand_r(seed);
        char c = r & 1 ? pool[(r >> 1) % (int)(sizeof pool - 1)]
                       : (char)(1 + (r >> 1) % 255);
        if (no_slash && c == '/')
            c = '_';
        w[i] = c;
    }
    w[n] = '\0';
    return w;
}

/* Random commands: hostile argv, env names and values, a working
 * directory and a program name, all made of random bytes. */
START_TEST(test_render_random_commands)
{
    unsigned seed = 0x5eed0000u + (unsigned)_i;
    int round;

    for (round = 0; round < 8; round++) {
        char *dname = random_word(&seed, 12, 1), *pname;
        char *dir, *prog;
        whelk_cmd *c;
        whelk_pipeline *p;
        int cleared = rand_r(&seed) % 3 == 0, k, n;
        int form = rand_r(&seed) % 3;

        /* the directory and program exist: names no file system refuses */
        if (!*dname || !strcmp(dname, ".") || !strcmp(dname, "..")) {
            free(dname);
            dname = xasprintf("d%d", round);
        }
        pname = random_word(&seed, 12, 1);
        if (!*pname || !strcmp(pname, ".") || !strcmp(pname, "..")) {
            free(pname);
            pname = xasprintf("p%d", round);
        }
        if (form == 2) {
            char *colon; /* PATH=dir */
            while ((colon = strchr(dname, ':')) != NULL)
                *colon = '_';
        }
        dir = path_join(scratch, dname);
        if (mkdir(dir, 0755) != 0)
            ck_assert_int_eq(errno, EEXIST);
        prog = path_join(dir, pname);
        if (symlink(HELPER, prog) != 0)
            ck_assert_int_eq(errno, EEXIST);
        if (form == 0) {
            c = whelk_cmd_new(prog, "dump", "exit:0", NULL);
        } else if (form == 1) {
            char *rel = path_join(".", pname);
            c = whelk_cmd_new(rel, "dump", "exit:0", NULL);
            free(rel);
        } else {
            c = whelk_cmd_new(pname, "dump", "exit:0", NULL);
        }
        n = rand_r(&seed) % 5;
        for (k = 0; k < n; k++) {
            char *w = random_word(&seed, 16, 0);
            whelk_cmd_arg(c, w);
            free(w);
        }
        if (cleared)
            whelk_cmd_clearenv(c);
        n = rand_r(&seed) % 4;
        for (k = 0; k < n; k++) {
            char *name = random_word(&seed, 8, 0), *value;
            char *eq;
            while ((eq = strchr(name, '=')) != NULL)
                *eq = '_';
            value = random_word(&seed, 12, 0);
            if (*name)
                whelk_cmd_setenv(c, name, rand_r(&seed) % 4 ? value : NULL);
            free(name);
            free(value);
        }
        if (form == 2)
            whelk_cmd_setenv(c, "PATH", dir);
        whelk_cmd_chdir(c, dir);
        p = whelk_pipe(c, NULL);
        assert_renders_same(p, NULL, cleared);
        whelk_pipeline_free(p);
        free(dname);
        free(pname);
        free(dir);
        free(prog);
    }
    assert_no_marker("random");
}
END_TEST

/* ========================================================== decoding */

/* iconv's own conversion of in[0..len) to UTF-8; 0 if it rejects it. */
static int iconv_all(const char *enc, const void *in, size_t len,
                     whelk_buf *out)
{
    iconv_t cd = iconv_open("UTF-8", enc);
    char *ip = (char *)in;
    size_t left = len;
    int ok = 1;

    ck_assert_msg(cd != (iconv_t)-1, "iconv_open %s", enc);
    while (ok && left) {
        char *op;
        size_t room, before;
        ck_assert_int_eq(whelk__buf_reserve(out, left * 4 + 16), 0);
        op = out->data + out->len;
        before = room = out->cap - out->len - 1;
        if (iconv(cd, &ip, &left, &op, &room) == (size_t)-1 && errno != E2BIG)
            ok = 0;
        out->len += before - room;
    }
    if (ok) {
        char *op;
        size_t room;
        ck_assert_int_eq(whelk__buf_reserve(out, 64), 0);
        op = out->data + out->len;
        room = out->cap - out->len - 1;
        iconv(cd, NULL, NULL, &op, &room);
        out->len = (size_t)(op - out->data);
    }
    iconv_close(cd);
    return ok;
}

/* Decodes in whole, STRICT; 0 or -1. */
static int whelk_all(const char *enc, const void *in, size_t len,
                     whelk_buf *out, int *table)
{
    int e = 0, rc;
    uint64_t bad = 0;
    whelk_decoder *d = whelk__decoder_new(enc, WHELK_DECODE_STRICT, &e);

    ck_assert_msg(d != NULL, "decoder %s: %d", enc, e);
    *table = whelk__decoder_is_table(d);
    rc = whelk__decode(d, in, len, 1, out, &bad);
    whelk__decoder_free(d);
    return rc;
}

/* For one charset: every byte alone, then every pair of bytes iconv takes
 * alone (a letter and a combining mark after it among them), decoded by
 * libwhelk and by iconv.  Returns whether libwhelk decoded by table. */
static int check_charset(const char *enc)
{
    unsigned char valid[256], *pairs;
    size_t nvalid = 0, i, j, k = 0;
    whelk_buf a = {0}, b = {0};
    int table = 0, rc;

    for (i = 0; i < 256; i++) {
        unsigned char c = (unsigned char)i;
        int ok = iconv_all(enc, &c, 1, &b);
        rc = whelk_all(enc, &c, 1, &a, &table);
        ck_assert_msg((rc == 0) == ok, "%s: byte 0x%02zx: iconv %s, libwhelk %s",
                      enc, i, ok ? "takes it" : "refuses it",
                      rc == 0 ? "takes it" : "refuses it");
        if (ok) {
            ck_assert_msg(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
                          "%s: byte 0x%02zx decodes unlike iconv", enc, i);
            valid[nvalid++] = c;
        }
        a.len = b.len = 0;
    }
    pairs = malloc(nvalid * nvalid * 2 + 1);
    ck_assert_ptr_nonnull(pairs);
    for (i = 0; i < nvalid; i++)
        for (j = 0; j < nvalid; j++) {
            pairs[k++] = valid[i];
            pairs[k++] = valid[j];
        }
    if (iconv_all(enc, pairs, k, &b)) {
        rc = whelk_all(enc, pairs, k, &a, &table);
        ck_assert_msg(rc == 0, "%s: libwhelk refuses pairs iconv takes", enc);
        if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
            /* find the first pair that differs, for the message */
            for (i = 0; i + 1 < k; i += 2) {
                whelk_buf x = {0}, y = {0};
                int same;
                iconv_all(enc, pairs + i, 2, &y);
                whelk_all(enc, pairs + i, 2, &x, &table);
                same = x.len == y.len && !memcmp(x.data, y.data, x.len);
                whelk__buf_free(&x);
                whelk__buf_free(&y);
                ck_assert_msg(same, "%s: bytes %02x %02x decode unlike iconv",
                              enc, pairs[i], pairs[i + 1]);
            }
            ck_abort_msg("%s: pairs decode unlike iconv", enc);
        }
    }
    free(pairs);
    whelk__buf_free(&a);
    whelk__buf_free(&b);
    return table;
}

/* Every name `iconv -l` lists whose decoder is a table, and the charsets
 * that compose, decode as iconv does. */
START_TEST(test_decode_table_charsets_match_iconv)
{
    static const char *const composing[] = {"CP1255", "CP1258", "TCVN5712-1",
                                            NULL};
    whelk_error *err = NULL;
    whelk_result *r = whelk_sh(&err, "iconv", "-l", NULL);
    const char *list;
    char *copy, *tok, *save = NULL;
    size_t ntable = 0, i;

    ck_assert_msg(r != NULL, "iconv -l: %s", err_desc(err));
    list = whelk_result_stdout(r, NULL);
    copy = strdup(list);
    ck_assert_ptr_nonnull(copy);
    for (tok = strtok_r(copy, " ,\n", &save); tok;
         tok = strtok_r(NULL, " ,\n", &save)) {
        size_t n = strlen(tok);
        int e = 0;
        whelk_decoder *d;
        while (n && tok[n - 1] == '/')
            tok[--n] = '\0';
        if (!n)
            continue;
        d = whelk__decoder_new(tok, WHELK_DECODE_STRICT, &e);
        if (!d)
            continue; /* a name iconv lists but cannot convert to UTF-8 */
        if (whelk__decoder_is_table(d)) {
            ntable++;
            ck_assert(check_charset(tok));
        }
        whelk__decoder_free(d);
    }
    /* ISO-8859-*, CP125x, KOI8-*, ... and their aliases */
    ck_assert_msg(ntable >= 50, "only %zu table charsets", ntable);
    for (i = 0; composing[i]; i++)
        check_charset(composing[i]);
    free(copy);
    whelk_result_free(r);
}
END_TEST

/* The same through a run: 'A' then U+0301 as CP1258 is U+00C1, one
 * character, as iconv gives it; across reads too. */
START_TEST(test_decode_cp1258_composes)
{
    whelk_pipeline *p =
        whelk_pipe(helper_cmd("out:A\\xEC e\\xEC\\n", "sleep:0", "out:A",
                              "out:\\xEC", NULL),
                   NULL);
    whelk_result *r;

    whelk_pipeline_decode(p, WHELK_STDOUT, "CP1258", WHELK_DECODE_STRICT);
    r = run_ok(p);
    ck_assert_str_eq(whelk_result_stdout(r, NULL),
                     "\xC3\x81 \xC3\xA9\n\xC3\x81");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

/* =========================================================== programs */

/* A directory path just short of PATH_MAX, made one mkdirat at a time:
 * chdir(2) takes it, dir + "/./tool" is too long for one path.  The
 * lengths of its components are kept for rm_deep. */
static size_t deep_len[64];
static size_t deep_n;

static char *deep_dir(const char *base, size_t want)
{
    char name[200];
    whelk_buf path = {0};
    int fd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(whelk__buf_addstr(&path, base), 0);
    deep_n = 0;
    while (path.len < want) {
        size_t n = want - path.len - 1;
        int next;
        if (n > sizeof name - 1)
            n = sizeof name - 1;
        if (n == 0)
            n = 1;
        memset(name, 'd', n);
        name[n] = '\0';
        ck_assert_int_eq(mkdirat(fd, name, 0755), 0);
        next = openat(fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(next, 0);
        close(fd);
        fd = next;
        ck_assert_uint_lt(deep_n, 64);
        deep_len[deep_n++] = n;
        ck_assert_int_eq(whelk__buf_printf(&path, "/%s", name), 0);
    }
    close(fd);
    return path.data;
}

/* Removes what deep_dir made under base, and file in its deepest
 * directory, one descriptor at a time (rm -r would need the long path). */
static void rm_deep(const char *base, const char *file)
{
    int fds[65];
    char name[200];
    size_t i;

    fds[0] = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(fds[0], 0);
    for (i = 0; i < deep_n; i++) {
        memset(name, 'd', deep_len[i]);
        name[deep_len[i]] = '\0';
        fds[i + 1] = openat(fds[i], name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fds[i + 1], 0);
    }
    ck_assert_int_eq(unlinkat(fds[deep_n], file, 0), 0);
    for (i = deep_n; i > 0; i--) {
        close(fds[i]);
        memset(name, 'd', deep_len[i - 1]);
        name[deep_len[i - 1]] = '\0';
        ck_assert_int_eq(unlinkat(fds[i - 1], name, AT_REMOVEDIR), 0);
    }
    close(fds[0]);
}

START_TEST(test_relative_program_in_deep_cwd)
{
    char *dir = deep_dir(scratch, PATH_MAX - 4);
    char *tool = path_join(dir, "tool");
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_uint_lt(strlen(dir), PATH_MAX);
    ck_assert_uint_ge(strlen(dir) + strlen("/./tool"), PATH_MAX);
    /* the symlink is made relative to its directory, as the test asks */
    {
        int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(symlinkat(HELPER, fd, "tool"), 0);
        close(fd);
    }
    c = whelk_cmd_new("./tool", "out:ran", NULL);
    whelk_cmd_chdir(c, dir);
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "ran");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* found through a relative PATH entry too */
    c = whelk_cmd_new("tool", "out:ran", NULL);
    whelk_cmd_setenv(c, "PATH", ".");
    whelk_cmd_chdir(c, dir);
    p = whelk_pipe(c, NULL);
    r = run_ok(p);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "ran");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* and a missing one is still ENOENT */
    c = whelk_cmd_new("./nosuch", NULL);
    whelk_cmd_chdir(c, dir);
    p = whelk_pipe(c, NULL);
    whelk_error_free(run_fail(p, WHELK_E_NOTFOUND));
    whelk_pipeline_free(p);
    rm_deep(scratch, "tool");
    free(tool);
    free(dir);
}
END_TEST

START_TEST(test_missing_interpreter_named)
{
    static const struct {
        const char *text, *named;
    } scripts[] = {
        {"#!/nonexistent/interp -x\necho hi\n", "/nonexistent/interp"},
        {"#! /nonexistent/python3\n", "/nonexistent/python3"},
        {"#!/bin/sh\r\necho hi\r\n", "/bin/sh\\r"},
    };
    size_t i;

    for (i = 0; i < sizeof scripts / sizeof scripts[0]; i++) {
        char *path = path_join(scratch, "tool.sh");
        whelk_cmd *c;
        whelk_pipeline *p;
        whelk_error *err;
        const char *msg;
        int rel;

        ck_assert_int_eq(write_file(path, scripts[i].text,
                                    strlen(scripts[i].text), 0755),
                         0);
        for (rel = 0; rel < 2; rel++) {
            c = whelk_cmd_new(rel ? "./tool.sh" : path, NULL);
            if (rel)
                whelk_cmd_chdir(c, scratch);
            p = whelk_pipe(c, NULL);
            err = run_fail(p, WHELK_E_EXEC);
            msg = whelk_error_message(err);
            ck_assert_int_eq(whelk_error_errno(err), ENOENT);
            ck_assert_msg(contains(msg, scripts[i].named) &&
                              contains(msg, "interpreter"),
                          "message does not name the interpreter %s: %s",
                          scripts[i].named, msg);
            whelk_error_free(err);
            whelk_pipeline_free(p);
        }
        free(path);
    }
}
END_TEST

/* A copy of the helper whose dynamic loader (PT_INTERP) names a file that
 * does not exist: exec fails with ENOENT although the program is there. */
START_TEST(test_missing_dynamic_loader_named)
{
    size_t len, i;
    char *bin = slurp(HELPER, &len), *path = path_join(scratch, "tool");
    char *want = NULL;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)bin;
    whelk_pipeline *p;
    whelk_error *err;

    ck_assert_ptr_nonnull(bin);
    ck_assert_msg(len > sizeof *eh && memcmp(bin, ELFMAG, SELFMAG) == 0 &&
                      bin[EI_CLASS] == ELFCLASS64,
                  "the helper is not a 64-bit ELF file");
    for (i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph =
            (const Elf64_Phdr *)(bin + eh->e_phoff + i * sizeof *ph);
        char *interp, *slash;
        if (ph->p_type != PT_INTERP)
            continue;
        interp = bin + ph->p_offset;
        slash = strrchr(interp, '/');
        ck_assert_ptr_nonnull(slash);
        slash[1] = slash[1] == 'X' ? 'Y' : 'X';
        want = strdup(interp);
    }
    ck_assert_msg(want != NULL, "the helper has no dynamic loader");
    ck_assert_int_eq(write_file(path, bin, len, 0755), 0);
    p = whelk_pipe(whelk_cmd_new(path, "out:x", NULL), NULL);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_int_eq(whelk_error_errno(err), ENOENT);
    ck_assert_msg(contains(whelk_error_message(err), want) &&
                      contains(whelk_error_message(err), "dynamic loader"),
                  "message does not name the loader %s: %s", want,
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(want);
    free(path);
    free(bin);
}
END_TEST

/* ========================================================== messages */

START_TEST(test_message_names_cwd)
{
    whelk_cmd *c =
        helper_cmd("err:fatal: not a git repository\\n", "exit:128", NULL);
    whelk_pipeline *p;
    whelk_error *err;
    char *want;

    whelk_cmd_chdir(c, scratch);
    p = whelk_pipe(c, NULL);
    err = run_fail(p, WHELK_E_EXIT);
    want = xasprintf("cd %s && ", scratch);
    ck_assert_msg(strncmp(whelk_error_command(err), want, strlen(want)) == 0,
                  "command: %s", whelk_error_command(err));
    ck_assert_msg(contains(whelk_error_message(err), want) &&
                      contains(whelk_error_message(err),
                               "not a git repository"),
                  "message: %s", whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);

    /* a stage of a pipeline with a cwd of its own */
    c = helper_cmd("drain", "exit:3", NULL);
    whelk_cmd_chdir(c, scratch);
    p = whelk_pipe(helper_cmd("out:x", NULL), c, NULL);
    err = run_fail(p, WHELK_E_EXIT);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_msg(contains(whelk_error_message(err), want),
                  "message: %s", whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(want);
}
END_TEST

/* A message's command runs as the stage did: `sh -c` of it dumps the
 * same. */
START_TEST(test_message_command_runs_as_stage)
{
    char *dir = path_join(scratch, "it's here");
    whelk_cmd *c = helper_cmd("dump", "exit:7", NULL);
    whelk_pipeline *p;
    whelk_error *err;
    const whelk_result *r;
    whelk_result *sr;
    size_t len, slen;
    const char *out, *sout;

    ck_assert_int_eq(mkdir(dir, 0755), 0);
    whelk_cmd_chdir(c, dir);
    whelk_cmd_setenv(c, "A B", "c");
    p = whelk_pipe(c, NULL);
    err = run_fail(p, WHELK_E_EXIT);
    r = whelk_error_result(err);
    out = whelk_result_stdout(r, &len);
    {
        whelk_pipeline *sp = whelk_pipe(
            whelk_cmd_new("sh", "-c", whelk_error_command(err), NULL), NULL);
        whelk_pipeline_check(sp, 0);
        sr = run_ok(sp);
        whelk_pipeline_free(sp);
    }
    ck_assert_int_eq(whelk_result_exit_code(sr, 0), 7);
    sout = whelk_result_stdout(sr, &slen);
    {
        dump a = parse_dump(out, len, NULL, 0), b = parse_dump(sout, slen, NULL, 0);
        assert_same_dump(&a, &b, whelk_error_command(err), "sh");
        dump_free(&a);
        dump_free(&b);
    }
    whelk_result_free(sr);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(dir);
}
END_TEST

/* ===================================================================== */

static Suite *render_suite(void)
{
    Suite *s = suite_create("render");
    TCase *tc;

    tc = tcase_create("tostring");
    tcase_set_timeout(tc, 2 * TEST_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);
    tcase_add_loop_test(tc, test_render_env_names, 0,
                        sizeof hostile_names / sizeof hostile_names[0] - 1);
    tcase_add_test(tc, test_render_env_name_injection);
    tcase_add_test(tc, test_render_name_with_equals_is_invalid);
    tcase_add_test(tc, test_render_program_with_equals);
    tcase_add_loop_test(tc, test_render_builtin_program_names, 0,
                        sizeof builtin_names / sizeof builtin_names[0] - 1);
    tcase_add_test(tc, test_render_cwd_forms);
    tcase_add_test(tc, test_render_stdin_with_nul);
    tcase_add_test(tc, test_render_long_stdin_runs_nothing);
    tcase_add_test(tc, test_render_filter_stage_runs_nothing);
    tcase_add_loop_test(tc, test_render_random_commands, 0, 16);

    tc = tcase_create("decode");
    tcase_set_timeout(tc, 4 * TEST_TIMEOUT);
    suite_add_tcase(s, tc);
    tcase_add_test(tc, test_decode_table_charsets_match_iconv);
    tcase_add_test(tc, test_decode_cp1258_composes);

    tc = tcase_create("programs");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);
    tcase_add_test(tc, test_relative_program_in_deep_cwd);
    tcase_add_test(tc, test_missing_interpreter_named);
    tcase_add_test(tc, test_missing_dynamic_loader_named);

    tc = tcase_create("messages");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);
    tcase_add_test(tc, test_message_names_cwd);
    tcase_add_test(tc, test_message_command_runs_as_stage);

    return s;
}

int main(void)
{
    return run_suite(render_suite());
}
