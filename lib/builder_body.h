/*
 * builder_body.h -- the bodies of the builders' handles, whelk_cmd (cmd.c)
 * and whelk_pipeline (pipeline.c, shell.c), for the files that build them
 * and for those that read every field: quote.c renders them, plan.c plans
 * them, run.c, pump.c and remote.c run them.
 * Everything else goes through builder.h.
 */
#ifndef WHELK_BUILDER_BODY_H
#define WHELK_BUILDER_BODY_H

#include "builder.h"
#include "fault.h"

struct whelk_io {
    int kind;
    char *path; /* IO_FILE */
    int append; /* IO_FILE */
    int fd;     /* IO_FD */
};

struct whelk_envop {
    char *name;
    char *value; /* NULL: unset */
};

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

struct whelk_decode_cfg {
    char *encoding; /* NULL: no decoding */
    int policy;
};

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

/* Redirections shared by commands (stderr) and pipelines (stdin, stdout):
 * set a kind, a file (copied) or a caller's descriptor; problems go to f. */
WHELK_INTERNAL void whelk__io_set(whelk_io *io, int kind);
WHELK_INTERNAL void whelk__io_file(whelk_io *io, whelk_fault *f,
                                   const char *path, int append,
                                   const char *what);
WHELK_INTERNAL void whelk__io_fd(whelk_io *io, whelk_fault *f, int fd,
                                 const char *what);

#endif /* WHELK_BUILDER_BODY_H */
