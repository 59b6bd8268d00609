/*
 * cmd.c -- the command builder: argv, environment changes, cwd, stderr and
 * the exit codes that count as success.  Nothing here can fail loudly: the
 * first problem is remembered in cmd->fault and reported by the run.
 */
#include "alloc.h"
#include "fault.h"
#include "builder_body.h"
#include "childsetup.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const struct whelk_cmd whelk__nomem_cmd = {
    .fault = {WHELK_E_NOMEM, ENOMEM, (char *)"out of memory"},
};

whelk_cmd *whelk__cmd_alloc(void)
{
    whelk_cmd *cmd = whelk__calloc(1, sizeof *cmd);

    if (!cmd)
        return NULL;
    cmd->argv = whelk__calloc(8, sizeof *cmd->argv);
    if (!cmd->argv) {
        free(cmd);
        return NULL;
    }
    cmd->argcap = 8;
    cmd->err.kind = IO_CAPTURE;
    cmd->err.fd = -1;
    return cmd;
}

void whelk__cmd_push(whelk_cmd *cmd, const char *arg)
{
    char *copy;

    if (!arg) {
        whelk__fault_set(&cmd->fault, WHELK_E_INVALID, EINVAL,
                         "argument %zu of a command is NULL", cmd->argc);
        return;
    }
    if (cmd->argc + 1 >= cmd->argcap) {
        char **v = whelk__reallocarray(cmd->argv, cmd->argcap * 2, sizeof *v);
        if (!v)
            goto nomem;
        cmd->argv = v;
        cmd->argcap *= 2;
    }
    copy = whelk__strdup(arg);
    if (!copy)
        goto nomem;
    cmd->argv[cmd->argc++] = copy;
    cmd->argv[cmd->argc] = NULL;
    return;
nomem:
    whelk__fault_set(&cmd->fault, WHELK_E_NOMEM, ENOMEM, "out of memory");
}

whelk_cmd *whelk__cmd_new_va(const char *program, va_list ap)
{
    whelk_cmd *cmd = whelk__cmd_alloc();
    const char *a;

    if (!cmd)
        return (whelk_cmd *)&whelk__nomem_cmd;
    whelk__cmd_push(cmd, program);
    if (program)
        while ((a = va_arg(ap, const char *)) != NULL)
            whelk__cmd_push(cmd, a);
    return cmd;
}

whelk_cmd *whelk_cmd_new(const char *program, ...)
{
    va_list ap;
    whelk_cmd *cmd;

    va_start(ap, program);
    cmd = whelk__cmd_new_va(program, ap);
    va_end(ap);
    return cmd;
}

whelk_cmd *whelk_cmd_newv(const char *const *argv)
{
    whelk_cmd *cmd = whelk__cmd_alloc();
    size_t i;

    if (!cmd)
        return (whelk_cmd *)&whelk__nomem_cmd;
    if (!argv || !argv[0]) {
        whelk__fault_set(&cmd->fault, WHELK_E_INVALID, EINVAL,
                         "a command needs a program: argv is empty");
        return cmd;
    }
    for (i = 0; argv[i]; i++)
        whelk__cmd_push(cmd, argv[i]);
    return cmd;
}

void whelk_cmd_arg(whelk_cmd *cmd, const char *arg)
{
    if (WHELK_CMD_OK(cmd))
        whelk__cmd_push(cmd, arg);
}

void whelk_cmd_setenv(whelk_cmd *cmd, const char *name, const char *value)
{
    whelk_envop *ops;
    char *n, *v = NULL;
    size_t i;

    if (!WHELK_CMD_OK(cmd))
        return;
    if (!name || !*name || strchr(name, '=')) {
        whelk__fault_set(&cmd->fault, WHELK_E_INVALID, EINVAL,
                         "invalid environment variable name \"%s\"%s",
                         name ? name : "(null)",
                         name && *name ? ": it holds '='" : "");
        return;
    }
    n = whelk__strdup(name);
    if (value)
        v = whelk__strdup(value);
    if (!n || (value && !v))
        goto nomem;
    for (i = 0; i < cmd->nenv; i++) {
        if (strcmp(cmd->env[i].name, name) == 0) {
            free(n);
            free(cmd->env[i].value);
            cmd->env[i].value = v;
            return;
        }
    }
    ops = whelk__reallocarray(cmd->env, cmd->nenv + 1, sizeof *ops);
    if (!ops)
        goto nomem;
    cmd->env = ops;
    cmd->env[cmd->nenv].name = n;
    cmd->env[cmd->nenv].value = v;
    cmd->nenv++;
    return;
nomem:
    free(n);
    free(v);
    whelk__fault_set(&cmd->fault, WHELK_E_NOMEM, ENOMEM, "out of memory");
}

void whelk_cmd_clearenv(whelk_cmd *cmd)
{
    size_t i;

    if (!WHELK_CMD_OK(cmd))
        return;
    for (i = 0; i < cmd->nenv; i++) {
        free(cmd->env[i].name);
        free(cmd->env[i].value);
    }
    cmd->nenv = 0;
    cmd->clearenv = 1;
}

void whelk_cmd_chdir(whelk_cmd *cmd, const char *dir)
{
    char *d = NULL;

    if (!WHELK_CMD_OK(cmd))
        return;
    if (dir && !(d = whelk__strdup(dir))) {
        whelk__fault_set(&cmd->fault, WHELK_E_NOMEM, ENOMEM, "out of memory");
        return;
    }
    free(cmd->cwd);
    cmd->cwd = d;
}

/* The variables that tie a git process to one repository, as `git rev-parse
 * --local-env-vars` prints them (git 2.39): a program run from a git hook
 * inherits them. */
static const char *const git_local_env[] = {
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_OBJECT_DIRECTORY",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_GRAFT_FILE",
    "GIT_INDEX_FILE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE",
    "GIT_PREFIX",
    "GIT_INTERNAL_SUPER_PREFIX",
    "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR",
};

void whelk_cmd_unset_git_env(whelk_cmd *cmd)
{
    size_t i;

    for (i = 0; i < sizeof git_local_env / sizeof git_local_env[0]; i++)
        whelk_cmd_setenv(cmd, git_local_env[i], NULL);
}

void whelk__io_set(whelk_io *io, int kind)
{
    free(io->path);
    io->path = NULL;
    io->kind = kind;
    io->fd = -1;
    io->append = 0;
}

void whelk__io_file(whelk_io *io, whelk_fault *f, const char *path, int append,
                    const char *what)
{
    char *copy;

    if (!path) {
        whelk__fault_set(f, WHELK_E_INVALID, EINVAL, "%s path is NULL", what);
        return;
    }
    if (!(copy = whelk__strdup(path))) {
        whelk__fault_set(f, WHELK_E_NOMEM, ENOMEM, "out of memory");
        return;
    }
    whelk__io_set(io, IO_FILE);
    io->path = copy;
    io->append = append != 0;
}

void whelk__io_fd(whelk_io *io, whelk_fault *f, int fd, const char *what)
{
    if (fd < 0) {
        whelk__fault_set(f, WHELK_E_INVALID, EINVAL, "invalid %s descriptor %d",
                         what, fd);
        return;
    }
    whelk__io_set(io, IO_FD);
    io->fd = fd;
}

void whelk_cmd_stderr(whelk_cmd *cmd, int dest)
{
    if (!WHELK_CMD_OK(cmd))
        return;
    switch (dest) {
    case WHELK_CAPTURE:
    case WHELK_STREAM:
    case WHELK_NULL:
    case WHELK_INHERIT:
    case WHELK_TO_STDOUT: whelk__io_set(&cmd->err, dest); return;
    default:
        whelk__fault_set(&cmd->fault, WHELK_E_INVALID, EINVAL,
                         "invalid stderr destination %d", dest);
    }
}

void whelk_cmd_stderr_file(whelk_cmd *cmd, const char *path, int append)
{
    if (WHELK_CMD_OK(cmd))
        whelk__io_file(&cmd->err, &cmd->fault, path, append, "stderr file");
}

void whelk_cmd_stderr_fd(whelk_cmd *cmd, int fd)
{
    if (WHELK_CMD_OK(cmd))
        whelk__io_fd(&cmd->err, &cmd->fault, fd, "stderr");
}

void whelk_cmd_ok_codes(whelk_cmd *cmd, const int *codes, size_t n)
{
    int *c = NULL;

    if (!WHELK_CMD_OK(cmd))
        return;
    if (n && !codes) {
        whelk__fault_set(&cmd->fault, WHELK_E_INVALID, EINVAL,
                         "ok codes are NULL");
        return;
    }
    if (n && !(c = whelk__memdup(codes, n * sizeof *codes))) {
        whelk__fault_set(&cmd->fault, WHELK_E_NOMEM, ENOMEM, "out of memory");
        return;
    }
    free(cmd->ok_codes);
    cmd->ok_codes = c;
    cmd->nok = n;
}

/* A copy of n bytes, or NULL with *bad set (n == 0 or src NULL: NULL). */
static void *dup_bytes(const void *src, size_t n, int *bad)
{
    void *c;

    if (!src || !n)
        return NULL;
    if (!(c = whelk__memdup(src, n)))
        *bad = 1;
    return c;
}

static char *dup_str(const char *s, int *bad)
{
    return s ? dup_bytes(s, strlen(s) + 1, bad) : NULL;
}

whelk_cmd *whelk_cmd_dup(const whelk_cmd *src)
{
    whelk_cmd *cmd;
    size_t i;
    int bad = 0;

    if (src == &whelk__nomem_cmd)
        return (whelk_cmd *)&whelk__nomem_cmd;
    if (!(cmd = whelk__cmd_alloc()))
        return (whelk_cmd *)&whelk__nomem_cmd;
    if (!src) {
        whelk__fault_set(&cmd->fault, WHELK_E_INVALID, EINVAL,
                         "whelk_cmd_dup of a NULL command");
        return cmd;
    }
    whelk__fault_copy(&cmd->fault, &src->fault); /* the original's first */
    for (i = 0; i < src->argc; i++)
        whelk__cmd_push(cmd, src->argv[i]);
    cmd->clearenv = src->clearenv;
    for (i = 0; i < src->nenv; i++)
        whelk_cmd_setenv(cmd, src->env[i].name, src->env[i].value);
    cmd->cwd = dup_str(src->cwd, &bad);
    cmd->err = src->err;
    cmd->err.path = dup_str(src->err.path, &bad);
    cmd->ok_codes =
        dup_bytes(src->ok_codes, src->nok * sizeof *src->ok_codes, &bad);
    cmd->nok = cmd->ok_codes ? src->nok : 0;
    if (whelk__setup_dup(cmd, src) < 0)
        bad = 1;
    cmd->filter = src->filter; /* a filter stage stays one */
    cmd->filter_ud = src->filter_ud;
    cmd->filter = src->filter;
    cmd->filter_ud = src->filter_ud;
    if (bad)
        whelk__fault_set(&cmd->fault, WHELK_E_NOMEM, ENOMEM, "out of memory");
    return cmd;
}

void whelk_cmd_free(whelk_cmd *cmd)
{
    size_t i;

    if (!WHELK_CMD_OK(cmd))
        return;
    for (i = 0; i < cmd->argc; i++)
        free(cmd->argv[i]);
    free(cmd->argv);
    whelk_cmd_clearenv(cmd);
    free(cmd->env);
    free(cmd->cwd);
    free(cmd->err.path);
    free(cmd->ok_codes);
    whelk__setup_free(cmd->setup);
    whelk__fault_clear(&cmd->fault);
    free(cmd);
}

/* ------------------------------------------------------------ accessors */

int whelk__cmd_code_ok(const whelk_cmd *cmd, int code)
{
    size_t i;

    if (!cmd->nok)
        return code == 0;
    for (i = 0; i < cmd->nok; i++)
        if (cmd->ok_codes[i] == code)
            return 1;
    return 0;
}

whelk_fault *whelk__cmd_fault(whelk_cmd *cmd)
{
    return &cmd->fault;
}

struct whelk_setup *whelk__cmd_setup(const whelk_cmd *cmd)
{
    return cmd->setup;
}

void whelk__cmd_set_setup(whelk_cmd *cmd, struct whelk_setup *s)
{
    cmd->setup = s;
}

void whelk__cmd_set_filter(whelk_cmd *cmd, whelk_filter_fn fn, void *ud)
{
    cmd->filter = fn;
    cmd->filter_ud = ud;
}

whelk_filter_fn whelk__cmd_filter(const whelk_cmd *cmd, void **ud)
{
    if (ud)
        *ud = cmd->filter_ud;
    return cmd->filter;
}
