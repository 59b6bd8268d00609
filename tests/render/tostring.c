/*
 * render/tostring.c -- the render suite's "tostring" tests (run by tests/check_render.c).
 */
#include "render.h"

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

void render_tostring(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "tostring", 2 * TEST_TIMEOUT, setup, teardown);
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
}
