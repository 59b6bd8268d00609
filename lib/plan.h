/*
 * plan.h -- what one attempt is made of before spawning (plan.c): the
 * resolved paths, environments, descriptors and the streams the loop reads.
 * plan.c opens every descriptor in it; the loop (pump.c) closes the
 * streams' read ends and the stdin write end through whelk__proc_close_fd.
 */
#ifndef WHELK_PLAN_H
#define WHELK_PLAN_H

#include "decode.h"
#include "lines.h"

/* One output the host reads. */
typedef struct whelk_stream {
    int fd;       /* our read end, -1 when closed */
    size_t stage; /* the writer */
    int which;    /* WHELK_STDOUT / WHELK_STDERR as delivered */
    int keep;     /* captured into the result */
    whelk_decoder *dec;
    whelk_splitter split;
    uint64_t offset; /* bytes read so far (decode offsets) */
    int line_cb, chunk_cb;
    int grown; /* its pipe was enlarged (a big stream) */
    int pull;  /* WHELK_PULL: read only while the host waits (hostio.c) */
    int mux;   /* a remote transport's stderr: goes to remote.c's demux */
} whelk_stream;

/* Everything made for one attempt before spawning. */
typedef struct whelk_plan {
    size_t n;
    char **paths;        /* resolved program path per stage */
    char ***envp;        /* per stage: NULL = the host's environ */
    int (*child_fds)[3]; /* per stage: parent fds to install as 0, 1, 2 */
    int *owned;          /* fds the plan opened, closed after spawning */
    size_t nowned, ownedcap;
    whelk_stream *streams;
    size_t nstreams;
    int in_fd;         /* our write end for stdin bytes, or -1 */
    whelk_buf in_data; /* encoded stdin bytes (owned copy if converted) */
    const unsigned char *in_ptr;
    size_t in_len;
    int feed; /* WHELK_FEED: in_fd is written by the host (hostio.c) */
    struct whelk_child_setup **setups; /* per stage, or NULL (childsetup.h) */
} whelk_plan;
/* Validates p and prepares the attempt; NULL and *err on failure (nothing
 * left open).  deadline_ms (monotonic, -1 none) bounds the opening of
 * redirection files (redir.h): past it, WHELK_E_TIMEOUT. */
WHELK_INTERNAL whelk_plan *whelk__plan(const whelk_pipeline *p,
                                       int64_t deadline_ms, whelk_error **err);
/* Closes the child ends once every stage is spawned. */
WHELK_INTERNAL void whelk__plan_close_child_ends(whelk_plan *pl);
WHELK_INTERNAL void whelk__plan_free(whelk_plan *pl);
/* The error for exec's ENOENT on path (resolved, so it existed) when it is
 * a script whose #! interpreter is missing, or an ELF program whose
 * dynamic loader is: names the interpreter.  NULL when path is neither. */
WHELK_INTERNAL whelk_error *whelk__missing_interpreter(const whelk_cmd *cmd,
                                                       const char *path,
                                                       size_t stage);

#endif /* WHELK_PLAN_H */
