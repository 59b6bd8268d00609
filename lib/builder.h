/*
 * builder.h -- the bodies of the builders' handles, whelk_cmd (cmd.c) and
 * whelk_pipeline (pipeline.c, shell.c), read by the run that plans and
 * renders them, and the helpers the builders share.
 */
#ifndef WHELK_BUILDER_H
#define WHELK_BUILDER_H

#include <stdarg.h>

#include "fault.h"

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
typedef struct whelk_io {
    int kind;
    char *path; /* IO_FILE */
    int append; /* IO_FILE */
    int fd;     /* IO_FD */
} whelk_io;

typedef struct whelk_envop {
    char *name;
    char *value; /* NULL: unset */
} whelk_envop;

/* whelk_cmd_dup (cmd.c) copies each field by name: a new field must be
 * copied there too. */
struct whelk_cmd {
    char **argv; /* NULL-terminated */
    size_t argc, argcap;
    whelk_envop *env;
    size_t nenv;
    int clearenv;
    char *cwd;
    whelk_io err; /* stderr */
    int *ok_codes;
    size_t nok;
    struct whelk_setup *setup; /* child setup (childsetup.c), or NULL */
    whelk_fault fault;
    whelk_filter_fn filter; /* a filter stage (filter.c): no program */
    void *filter_ud;
};

typedef struct whelk_decode_cfg {
    char *encoding; /* NULL: no decoding */
    int policy;
} whelk_decode_cfg;

/* whelk_pipeline_dup (pipeline.c) copies this by value, then copies each
 * field that owns memory: a new owning field must be copied there too. */
struct whelk_pipeline {
    whelk_cmd **cmds;
    size_t ncmds, cmdcap;
    whelk_io in;
    unsigned char *in_data; /* IO_BYTES */
    size_t in_len;
    char *in_encoding;
    whelk_io out;
    int check;
    int pgroup;
    size_t capture_limit;
    size_t max_line;
    unsigned timeout_ms, grace_ms;
    int line_streams;
    whelk_line_fn line_fn;
    void *line_ud;
    int chunk_streams;
    whelk_chunk_fn chunk_fn;
    void *chunk_ud;
    whelk_decode_cfg decode[2]; /* [0] stdout, [1] stderr */
    void (*start_fn)(const whelk_pipeline *, void *);
    void *start_ud;
    int (*exit_fn)(const whelk_result *, const whelk_error *, void *);
    void *exit_ud;
    void (*error_fn)(const whelk_error *, void *); /* from a shell */
    void *error_ud;
    int die_with_host;    /* stages spawned by a keeper thread (keeper.c) */
    whelk_remote *remote; /* NULL: here; else shared, see remote.c */
    whelk_fault fault;
    struct whelk_tees *tees; /* tee destinations (tee.c), or NULL */
};

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
/* Redirections shared by commands (stderr) and pipelines (stdin, stdout):
 * set a kind, a file (copied) or a caller's descriptor; problems go to f. */
WHELK_INTERNAL void whelk__io_set(whelk_io *io, int kind);
WHELK_INTERNAL void whelk__io_file(whelk_io *io, whelk_fault *f,
                                   const char *path, int append,
                                   const char *what);
WHELK_INTERNAL void whelk__io_fd(whelk_io *io, whelk_fault *f, int fd,
                                 const char *what);
/* 0, or the cmd's fault is set. */
WHELK_INTERNAL void whelk__cmd_push(whelk_cmd *cmd, const char *arg);
/* whelk_shell_sh's body (shell.c); sh may be NULL (whelk_sh). */
WHELK_INTERNAL whelk_result *whelk__sh_va(whelk_shell *sh, whelk_error **err,
                                          const char *program, va_list ap);

#endif /* WHELK_BUILDER_H */
