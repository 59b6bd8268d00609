/*
 * render/programs.c -- the render suite's "programs" tests (run by tests/check_render.c).
 */
#include "render.h"

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

void render_programs(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "programs", TEST_TIMEOUT, setup, teardown);
    tcase_add_test(tc, test_relative_program_in_deep_cwd);
    tcase_add_test(tc, test_missing_interpreter_named);
    tcase_add_test(tc, test_missing_dynamic_loader_named);
}
