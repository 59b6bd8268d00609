/*
 * builder.h -- the builders' handles, whelk_cmd (cmd.c) and whelk_pipeline
 * (pipeline.c, shell.c), as the rest of lib/ sees them: opaque, with the
 * few accessors the modules that only look at a pipeline or set one
 * field need (stop.c, verdict.c, hostio.c, argstr.c, childsetup.c,
 * filter.c, tee.c), and the helpers the builders share.  Their bodies are
 * in builder_body.h, for the files that build them and the ones that read
 * every field (quote.c renders, plan.c plans, run.c,
 * pump.c and remote.c run them).
 */
#ifndef WHELK_BUILDER_H
#define WHELK_BUILDER_H

#include <stdarg.h>

#include "base.h"

struct whelk_fault; /* fault.h */
struct whelk_setup; /* private to childsetup.c */
struct whelk_tees;  /* private to tee.c */

/* Where a stream goes. */
enum whelk_io_kind {
    IO_CAPTURE = WHELK_CAPTURE,
    IO_NULL = WHELK_NULL,
    IO_INHERIT = WHELK_INHERIT,
    IO_TO_STDOUT = WHELK_TO_STDOUT,
    IO_TO_STDERR = WHELK_TO_STDERR,
    IO_STREAM = WHELK_STREAM,
    IO_PULL = WHELK_PULL,
    IO_FEED = WHELK_FEED,
    IO_FILE = 100,
    IO_FD,
    IO_BYTES
};
typedef struct whelk_io whelk_io;       /* a redirection (builder_body.h) */
typedef struct whelk_envop whelk_envop; /* an env change (builder_body.h) */
typedef struct whelk_decode_cfg whelk_decode_cfg;

/* Read-only placeholders that constructors return when memory is
 * exhausted, so that `whelk_pipe(whelk_cmd_new(...), whelk_cmd_new(...),
 * NULL)` never sees a NULL in the middle of its list.  Setters ignore
 * them, *_free accepts them, and a run reports WHELK_E_NOMEM. */
WHELK_INTERNAL extern const struct whelk_cmd whelk__nomem_cmd;
WHELK_INTERNAL extern const struct whelk_pipeline whelk__nomem_pipeline;
#define WHELK_CMD_OK(c) ((c) != NULL && (c) != &whelk__nomem_cmd)
#define WHELK_PIPE_OK(p) ((p) != NULL && (p) != &whelk__nomem_pipeline)

/* NULL when memory is exhausted (internal callers check). */
WHELK_INTERNAL whelk_cmd *whelk__cmd_alloc(void);
/* The va_list forms of whelk_cmd_new and whelk_pipe (never NULL). */
WHELK_INTERNAL whelk_cmd *whelk__cmd_new_va(const char *program, va_list ap);
WHELK_INTERNAL whelk_pipeline *whelk__pipe_va(whelk_cmd *first, va_list ap);
/* 0, or the cmd's fault is set. */
WHELK_INTERNAL void whelk__cmd_push(whelk_cmd *cmd, const char *arg);
/* Stage i of p (i < the number of commands). */
WHELK_INTERNAL const whelk_cmd *whelk__pipeline_cmd(const whelk_pipeline *p,
                                                    size_t i);
/* Whether a stage's failure fails the run (whelk_pipeline_check). */
WHELK_INTERNAL int whelk__pipeline_checks(const whelk_pipeline *p);
/* The line limit of whelk_pipeline_max_line (0: none). */
WHELK_INTERNAL size_t whelk__pipeline_max_line(const whelk_pipeline *p);
/* The encoding of stdin bytes (whelk_pipeline_stdin_encoding), or
 * NULL: none. */
WHELK_INTERNAL const char *whelk__pipeline_in_encoding(const whelk_pipeline *p);
/* Whether code is a success exit code of cmd (0, or its ok codes). */
WHELK_INTERNAL int whelk__cmd_code_ok(const whelk_cmd *cmd, int code);
/* The fault of cmd, for the setters and constructors of other modules
 * (argstr.c, childsetup.c). */
WHELK_INTERNAL struct whelk_fault *whelk__cmd_fault(whelk_cmd *cmd);
/* cmd's child setup (childsetup.c's, NULL until one of its setters made
 * it), and giving cmd one (it takes s). */
WHELK_INTERNAL struct whelk_setup *whelk__cmd_setup(const whelk_cmd *cmd);
WHELK_INTERNAL void whelk__cmd_set_setup(whelk_cmd *cmd, struct whelk_setup *s);
/* Whether p's stages die with the host (whelk_pipeline_die_with_host). */
WHELK_INTERNAL int whelk__pipeline_die_with_host(const whelk_pipeline *p);
/* The fault of p, for the setters of other modules (tee.c). */
WHELK_INTERNAL struct whelk_fault *whelk__pipeline_fault(whelk_pipeline *p);
/* p's tee list (tee.c's, NULL until a tee setter made it), and giving p
 * one (it takes t). */
WHELK_INTERNAL struct whelk_tees *whelk__pipeline_tees(const whelk_pipeline *p);
WHELK_INTERNAL void whelk__pipeline_set_tees(whelk_pipeline *p,
                                             struct whelk_tees *t);
/* p's deadline in ms (whelk_pipeline_timeout; 0: none). */
WHELK_INTERNAL unsigned whelk__pipeline_timeout_ms(const whelk_pipeline *p);
/* Where p's stdin comes from and its stdout goes (enum whelk_io_kind). */
WHELK_INTERNAL int whelk__pipeline_in_kind(const whelk_pipeline *p);
WHELK_INTERNAL int whelk__pipeline_out_kind(const whelk_pipeline *p);
/* A filter stage's function and its userdata (filter.c): set on a new
 * command; read back (NULL: cmd runs a program; ud may be NULL). */
WHELK_INTERNAL void whelk__cmd_set_filter(whelk_cmd *cmd, whelk_filter_fn fn,
                                          void *ud);
WHELK_INTERNAL whelk_filter_fn whelk__cmd_filter(const whelk_cmd *cmd,
                                                 void **ud);
/* whelk_shell_sh's body (shell.c); sh may be NULL (whelk_sh). */
WHELK_INTERNAL whelk_result *whelk__sh_va(whelk_shell *sh, whelk_error **err,
                                          const char *program, va_list ap);

#endif /* WHELK_BUILDER_H */
