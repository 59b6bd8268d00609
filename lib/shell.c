/*
 * shell.c -- whelk_shell: defaults that commands and pipelines made through
 * it inherit when they are made (whelk's Shell(**defaults)), and an error
 * hook that sees every error a run made through it returns.
 */
#include "alloc.h"
#include "fault.h"
#include "builder_body.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct whelk_shell {
    whelk_cmd *cmd;       /* env changes, cwd, ok codes */
    whelk_pipeline *pipe; /* check, timeout, decoding, stdin encoding,
                             callbacks, hooks */
    int stdin_enc_set;    /* whelk_shell_stdin_encoding was called: the
                             stdin encoding no longer follows decoding */
};

whelk_shell *whelk_shell_new(void)
{
    whelk_shell *sh = whelk__calloc(1, sizeof *sh);

    if (!sh)
        return NULL;
    sh->cmd = whelk__cmd_alloc();
    sh->pipe = whelk_pipeline_new();
    if (!sh->cmd || !WHELK_PIPE_OK(sh->pipe)) {
        whelk_shell_free(sh);
        return NULL;
    }
    return sh;
}

void whelk_shell_free(whelk_shell *sh)
{
    if (!sh)
        return;
    whelk_cmd_free(sh->cmd);
    whelk_pipeline_free(sh->pipe);
    free(sh);
}

void whelk_shell_setenv(whelk_shell *sh, const char *name, const char *value)
{
    if (sh)
        whelk_cmd_setenv(sh->cmd, name, value);
}

void whelk_shell_clearenv(whelk_shell *sh)
{
    if (sh)
        whelk_cmd_clearenv(sh->cmd);
}

void whelk_shell_chdir(whelk_shell *sh, const char *dir)
{
    if (sh)
        whelk_cmd_chdir(sh->cmd, dir);
}

void whelk_shell_ok_codes(whelk_shell *sh, const int *codes, size_t n)
{
    if (sh)
        whelk_cmd_ok_codes(sh->cmd, codes, n);
}

void whelk_shell_unset_git_env(whelk_shell *sh)
{
    if (sh)
        whelk_cmd_unset_git_env(sh->cmd);
}

void whelk_shell_check(whelk_shell *sh, int on)
{
    if (sh)
        whelk_pipeline_check(sh->pipe, on);
}

void whelk_shell_timeout(whelk_shell *sh, unsigned ms)
{
    if (sh)
        whelk_pipeline_timeout(sh->pipe, ms);
}

void whelk_shell_decode(whelk_shell *sh, int streams, const char *encoding,
                        int policy)
{
    if (!sh)
        return;
    whelk_pipeline_decode(sh->pipe, streams, encoding, policy);
    /* whelk's Shell(encoding=...) encodes input too */
    if ((streams & WHELK_STDOUT) && !sh->stdin_enc_set)
        whelk_pipeline_stdin_encoding(sh->pipe, encoding);
}

void whelk_shell_stdin_encoding(whelk_shell *sh, const char *encoding)
{
    if (!sh)
        return;
    whelk_pipeline_stdin_encoding(sh->pipe, encoding);
    sh->stdin_enc_set = 1;
}

void whelk_shell_on_line(whelk_shell *sh, int streams, whelk_line_fn fn,
                         void *userdata)
{
    if (sh)
        whelk_pipeline_on_line(sh->pipe, streams, fn, userdata);
}

void whelk_shell_on_start(whelk_shell *sh,
                          void (*fn)(const whelk_pipeline *, void *),
                          void *userdata)
{
    if (sh)
        whelk_pipeline_on_start(sh->pipe, fn, userdata);
}

void whelk_shell_on_exit(whelk_shell *sh,
                         int (*fn)(const whelk_result *, const whelk_error *,
                                   void *),
                         void *userdata)
{
    if (sh)
        whelk_pipeline_on_exit(sh->pipe, fn, userdata);
}

void whelk_shell_on_error(whelk_shell *sh,
                          void (*fn)(const whelk_error *, void *),
                          void *userdata)
{
    if (sh) {
        sh->pipe->error_fn = fn;
        sh->pipe->error_ud = userdata;
    }
}

/* The shell's command defaults, applied to a new command. */
static void cmd_defaults(whelk_cmd *cmd, const whelk_shell *sh)
{
    size_t i;

    whelk__fault_copy(&cmd->fault, &sh->cmd->fault);
    if (sh->cmd->clearenv)
        whelk_cmd_clearenv(cmd);
    for (i = 0; i < sh->cmd->nenv; i++)
        whelk_cmd_setenv(cmd, sh->cmd->env[i].name, sh->cmd->env[i].value);
    if (sh->cmd->cwd)
        whelk_cmd_chdir(cmd, sh->cmd->cwd);
    if (sh->cmd->nok)
        whelk_cmd_ok_codes(cmd, sh->cmd->ok_codes, sh->cmd->nok);
}

static whelk_cmd *shell_cmd_va(whelk_shell *sh, const char *program, va_list ap)
{
    whelk_cmd *cmd = whelk__cmd_new_va(program, ap);

    if (sh && WHELK_CMD_OK(cmd))
        cmd_defaults(cmd, sh);
    return cmd;
}

whelk_cmd *whelk_shell_cmd(whelk_shell *sh, const char *program, ...)
{
    whelk_cmd *cmd;
    va_list ap;

    va_start(ap, program);
    cmd = shell_cmd_va(sh, program, ap);
    va_end(ap);
    return cmd;
}

static void apply_defaults(whelk_pipeline *p, const whelk_shell *sh)
{
    const whelk_pipeline *d = sh->pipe;
    int i;

    whelk__fault_copy(&p->fault, &d->fault);
    p->check = d->check;
    p->timeout_ms = d->timeout_ms;
    p->grace_ms = d->grace_ms;
    for (i = 0; i < 2; i++)
        if (d->decode[i].encoding)
            whelk_pipeline_decode(p, 1 << i, d->decode[i].encoding,
                                  d->decode[i].policy);
    if (d->in_encoding)
        whelk_pipeline_stdin_encoding(p, d->in_encoding);
    if (d->line_fn)
        whelk_pipeline_on_line(p, d->line_streams, d->line_fn, d->line_ud);
    p->start_fn = d->start_fn;
    p->start_ud = d->start_ud;
    p->exit_fn = d->exit_fn;
    p->exit_ud = d->exit_ud;
    p->error_fn = d->error_fn;
    p->error_ud = d->error_ud;
}

whelk_pipeline *whelk_shell_pipe(whelk_shell *sh, whelk_cmd *first, ...)
{
    whelk_pipeline *p;
    va_list ap;

    va_start(ap, first);
    p = whelk__pipe_va(first, ap);
    va_end(ap);
    if (WHELK_PIPE_OK(p) && sh)
        apply_defaults(p, sh);
    return p;
}

/* How one call checks, when it says (whelk_sh_ok, whelk_sh_unchecked). */
typedef struct one_call {
    int check;
    const int *codes;
    size_t n;
} one_call;

static whelk_result *sh_call(whelk_shell *sh, whelk_error **err,
                             const one_call *how, const char *program,
                             va_list ap)
{
    whelk_cmd *cmd = shell_cmd_va(sh, program, ap);
    whelk_pipeline *p;
    whelk_result *r;

    if (how && how->check)
        whelk_cmd_ok_codes(cmd, how->codes, how->n);
    p = whelk_shell_pipe(sh, cmd, (whelk_cmd *)NULL);
    if (how)
        whelk_pipeline_check(p, how->check);
    r = whelk_run(p, err);
    whelk_pipeline_free(p);
    return r;
}

whelk_result *whelk__sh_va(whelk_shell *sh, whelk_error **err,
                           const char *program, va_list ap)
{
    return sh_call(sh, err, NULL, program, ap);
}

whelk_result *whelk_shell_sh(whelk_shell *sh, whelk_error **err,
                             const char *program, ...)
{
    whelk_result *r;
    va_list ap;

    va_start(ap, program);
    r = whelk__sh_va(sh, err, program, ap);
    va_end(ap);
    return r;
}

whelk_result *whelk_sh_ok(whelk_error **err, const int *codes, size_t n,
                          const char *program, ...)
{
    one_call how = {1, codes, n};
    whelk_result *r;
    va_list ap;

    va_start(ap, program);
    r = sh_call(NULL, err, &how, program, ap);
    va_end(ap);
    return r;
}

whelk_result *whelk_sh_unchecked(whelk_error **err, const char *program, ...)
{
    one_call how = {0, NULL, 0};
    whelk_result *r;
    va_list ap;

    va_start(ap, program);
    r = sh_call(NULL, err, &how, program, ap);
    va_end(ap);
    return r;
}

whelk_result *whelk_shell_sh_ok(whelk_shell *sh, whelk_error **err,
                                const int *codes, size_t n, const char *program,
                                ...)
{
    one_call how = {1, codes, n};
    whelk_result *r;
    va_list ap;

    va_start(ap, program);
    r = sh_call(sh, err, &how, program, ap);
    va_end(ap);
    return r;
}

whelk_result *whelk_shell_sh_unchecked(whelk_shell *sh, whelk_error **err,
                                       const char *program, ...)
{
    one_call how = {0, NULL, 0};
    whelk_result *r;
    va_list ap;

    va_start(ap, program);
    r = sh_call(sh, err, &how, program, ap);
    va_end(ap);
    return r;
}
