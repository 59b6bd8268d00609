/*
 * internal.h -- the bodies of libwhelk's handles and the interfaces between
 * the modules of lib/, one per step of the data flow in DESIGN.md:
 *
 *   cmd.c pipeline.c shell.c   builders
 *   plan.c                     validate, resolve PATH, open files, make pipes
 *   spawn.c                    start one stage (clone, posix_spawn, fork)
 *   sys.c                      descriptors above 2; refused kernel calls
 *   pump.c                     the poll loop: stdin, output, pidfds, deadline
 *   decode.c lines.c           bytes -> UTF-8 -> lines (no processes here)
 *   verdict.c                  statuses -> result or error
 *   run.c                      whelk_run / whelk_start / whelk_proc_*, hooks
 *   error.c result.c quote.c   values handed to the caller
 */
#ifndef WHELK_INTERNAL_H
#define WHELK_INTERNAL_H

#include "config.h"

#include <iconv.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "whelk.h"

#define WHELK_INTERNAL __attribute__((visibility("hidden")))

/* ------------------------------------------------------------ allocation */
/* Every allocation of the library goes through these (one place to audit,
 * and the fault-injection tests wrap malloc/realloc at link time). */
WHELK_INTERNAL void *whelk__malloc(size_t n);
WHELK_INTERNAL void *whelk__calloc(size_t n, size_t size);
WHELK_INTERNAL void *whelk__realloc(void *p, size_t n);
/* realloc of an array of n elements of size bytes: NULL (errno ENOMEM, p
 * left as it was) when n * size overflows or memory is exhausted. */
WHELK_INTERNAL void *whelk__reallocarray(void *p, size_t n, size_t size);
WHELK_INTERNAL char *whelk__strdup(const char *s);
WHELK_INTERNAL void *whelk__memdup(const void *p, size_t n);

/* A growable byte buffer, always NUL-terminated when data != NULL. */
typedef struct whelk_buf {
    char *data;
    size_t len, cap;
} whelk_buf;
/* 0 on success, -1 (ENOMEM) on failure; the buffer is unchanged then. */
WHELK_INTERNAL int whelk__buf_reserve(whelk_buf *b, size_t extra);
WHELK_INTERNAL int whelk__buf_add(whelk_buf *b, const void *data, size_t n);
WHELK_INTERNAL int whelk__buf_addstr(whelk_buf *b, const char *s);
WHELK_INTERNAL int whelk__buf_printf(whelk_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
WHELK_INTERNAL void whelk__buf_free(whelk_buf *b);

/* Thread-safe, locale-independent description of an errno value. */
WHELK_INTERNAL const char *whelk__strerror(int errnum);
/* "SIGKILL" etc. */
WHELK_INTERNAL const char *whelk__signame(int sig);

/* -------------------------------------------------------- builder errors */
/* The first problem a builder met, reported by the run that uses it. */
typedef struct whelk_fault {
    int kind; /* 0: none */
    int errnum;
    char *message; /* NULL when the message itself could not be made */
} whelk_fault;
WHELK_INTERNAL void whelk__fault_set(whelk_fault *f, int kind, int errnum,
                                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
WHELK_INTERNAL void whelk__fault_copy(whelk_fault *dst, const whelk_fault *src);
WHELK_INTERNAL void whelk__fault_clear(whelk_fault *f);

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
/* whelk_shell_sh's body; sh may be NULL (whelk_sh). */
WHELK_INTERNAL whelk_result *whelk__sh_va(whelk_shell *sh, whelk_error **err,
                                          const char *program, va_list ap);
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

/* ---------------------------------------------------------------- result */
typedef struct whelk_status {
    int code;  /* exit code, -1 if signalled or unknown */
    int sig;   /* terminating signal, 0 if exited */
    int known; /* 0: the status could not be collected */
} whelk_status;

struct whelk_result {
    size_t n;
    whelk_status *st;
    whelk_buf out, err;
    int truncated;
};
WHELK_INTERNAL whelk_result *whelk__result_new(size_t n);

struct whelk_error {
    int kind;
    int errnum;
    size_t stage;
    int exit_code;
    int sig;
    char *message;
    char *command;
    whelk_result *result;
};
/* Make an error; never returns NULL (falls back to a static NOMEM error).
 * Takes ownership of result. */
WHELK_INTERNAL whelk_error *whelk__error_new(int kind, int errnum, size_t stage,
                                             whelk_result *result,
                                             const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
WHELK_INTERNAL whelk_error *whelk__error_from_fault(const whelk_fault *f);
/* Gives e the shell-quoted command (best effort); returns e. */
WHELK_INTERNAL whelk_error *whelk__error_set_command(whelk_error *e,
                                                     const whelk_cmd *cmd);
/* Gives e the malloc'd command string cmd (NULL: none), or frees cmd when
 * e cannot take it (the static NOMEM error, or a command already set);
 * returns e. */
WHELK_INTERNAL whelk_error *whelk__error_take_command(whelk_error *e,
                                                      char *cmd);
/* The one errno -> error kind rule: ENOMEM is WHELK_E_NOMEM, a shortage of
 * descriptors (EMFILE, ENFILE) is WHELK_E_IO, anything else is kind (what
 * the failed step is: WHELK_E_IO for a pipe, read, write or file,
 * WHELK_E_EXEC for starting a program). */
WHELK_INTERNAL int whelk__errno_kind(int errnum, int kind);
/* " (stage 2 of 3)" for a pipeline, "" for one command: how every
 * message names a stage (counting from 1, for people). */
WHELK_INTERNAL const char *whelk__stage_label(char *buf, size_t size,
                                              size_t stage, size_t n);
WHELK_INTERNAL extern const whelk_error whelk__nomem_error;

/* ----------------------------------------------------------------- quote */
/* A malloc'd rendering of one command, or NULL. */
WHELK_INTERNAL char *whelk__cmd_string(const whelk_cmd *cmd);
/* Append word to b, quoted for sh when it needs it (cmdword: in command
 * position); 0 or -1.  remote.c quotes the script of a remote run with it. */
WHELK_INTERNAL int whelk__quote(whelk_buf *b, const char *word, int cmdword);

/* ---------------------------------------------------------------- decode */
typedef struct whelk_decoder whelk_decoder;
/* Opens a decoder from encoding to UTF-8; NULL with *errnum (EINVAL for an
 * unknown encoding, ENOMEM). */
WHELK_INTERNAL whelk_decoder *whelk__decoder_new(const char *encoding,
                                                 int policy, int *errnum);
/* Converts len bytes (eof: no more after these).  Output is appended to
 * out.  Returns 0, -1 with *bad_offset set (the stream offset of the first
 * invalid byte) under STRICT, or -2 on ENOMEM. */
WHELK_INTERNAL int whelk__decode(whelk_decoder *d, const char *in, size_t len,
                                 int eof, whelk_buf *out, uint64_t *bad_offset);
/* Whether the source is UTF-8 itself (validation only, no conversion). */
WHELK_INTERNAL int whelk__decoder_is_utf8(const whelk_decoder *d);
/* Whether the source is decoded by table lookup (a stateless single-byte
 * charset that iconv converts byte by byte exactly as the table does). */
WHELK_INTERNAL int whelk__decoder_is_table(const whelk_decoder *d);
WHELK_INTERNAL const char *whelk__decoder_name(const whelk_decoder *d);
WHELK_INTERNAL void whelk__decoder_free(whelk_decoder *d);
/* Length of the longest valid UTF-8 prefix of s[0..len). */
WHELK_INTERNAL size_t whelk__utf8_valid_prefix(const unsigned char *s,
                                               size_t len);
/* Converts UTF-8 text to encoding (for stdin).  0, or an errno value with
 * *bad_offset set for EILSEQ. */
WHELK_INTERNAL int whelk__encode(const char *encoding, const void *in,
                                 size_t len, whelk_buf *out,
                                 size_t *bad_offset);
/* The iconv name of encoding ("locale" resolved). */
WHELK_INTERNAL const char *whelk__charset(const char *encoding);

/* ----------------------------------------------------------------- lines */
typedef struct whelk_splitter {
    whelk_buf pending; /* a partial line */
    size_t max_line;
    int cut_pending; /* the pending bytes continue a cut line */
    int utf8;        /* cut long lines at character boundaries */
    whelk_line line; /* what fn is given: the owner sets stage and stream */
} whelk_splitter;
/* Gives each complete line of data to fn (with s->line filled in); data is
 * modified during the call (a NUL is put after each line) and restored.
 * Returns 0, 1 when fn returned non-zero (whatever its value), or -2 on
 * ENOMEM.  whelk__split_eof flushes a last line without its newline. */
WHELK_INTERNAL int whelk__split(whelk_splitter *s, char *data, size_t len,
                                whelk_line_fn fn, void *ud);
WHELK_INTERNAL int whelk__split_eof(whelk_splitter *s, whelk_line_fn fn,
                                    void *ud);
WHELK_INTERNAL void whelk__splitter_free(whelk_splitter *s);

/* ----------------------------------------------------------------- plan */
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

/* ----------------------------------------------------------------- spawn */
typedef struct whelk_spawn_req {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *cwd;
    const int *fds; /* [3] */
    int pgroup;     /* -1: none; 0: new group; >0: join it */
    const struct whelk_child_setup *setup; /* childsetup.h, or NULL */
    int *step; /* NULL, or set to the failed child-setup step (or 0) */
} whelk_spawn_req;
/* Starts one process.  0 with *pid (and *pidfd, or -1) set, or an errno
 * value of the failure (exec, chdir, fork). */
WHELK_INTERNAL int whelk__spawn(const whelk_spawn_req *req, pid_t *pid,
                                int *pidfd);

/* ------------------------------------------------------------------ proc */
typedef struct whelk_stage {
    pid_t pid;
    int pidfd; /* -1 when none or closed */
    int reaped;
    whelk_status st;
} whelk_stage;

enum whelk_phase { PH_RUNNING, PH_TERM, PH_KILL };

struct whelk_proc {
    whelk_pipeline *p;
    whelk_plan *plan;
    whelk_stage *stages;
    size_t n;
    pid_t pgid;
    int leader_zombie; /* stage 0 exited, its status read, left unreaped:
                          while it is a zombie the group's number cannot be
                          reused, so kill(-pgid) is safe (reaped at free) */
    whelk_result *result;
    whelk_error *fail; /* first run-wide failure (timeout, decode, abort, io) */
    int phase;
    int64_t deadline_ms; /* next timer event (monotonic ms), -1 none */
    int64_t drain_until; /* after the stages are reaped */
    int timed_out;
    int aborted;
    int finished;
    int epfd, tfd;       /* lazily made by whelk_proc_fd */
    struct pollfd *pfds; /* nstreams + n + 1 slots, made at start */
    whelk_buf scratch;   /* read buffer */
    whelk_buf decoded;   /* decoder output */
    whelk_buf *tails;    /* per stage: last bytes of captured stderr */
    int nopidfd_backoff;
    size_t in_off;                 /* stdin bytes written */
    int64_t timer_armed;           /* what tfd is set to */
    struct whelk_host *host;       /* pull and feed state (hostio.c), or NULL */
    struct whelk_keeper *keeper;   /* die_with_host: the spawning thread */
    struct whelk_filter **filters; /* per stage (filter.c), or NULL */
    struct whelk_teerun *tee;      /* open tee destinations (tee.c) */
    int in_loop;   /* the loop is running: calls on the handle from its
                      callbacks are refused */
    int host_head; /* the host stopped pulling before the end of output:
                      a SIGPIPE death of the last stage is no failure */
    struct whelk_rrun *remote; /* a remote run's state (remote.h), or NULL */
};

WHELK_INTERNAL int64_t whelk__now_ms(void);
/* One iteration of the loop; returns 1 when finished. */
WHELK_INTERNAL int whelk__pump(whelk_proc *pr, int timeout_ms);
/* The same with the caller's pollfd array of whelk__proc_nfds slots: a wait
 * inside the loop (a filter's whelk_filter_write waiting for room). */
WHELK_INTERNAL int whelk__pump_fds(whelk_proc *pr, struct pollfd *fds,
                                   int timeout_ms);
/* The same loop for a caller that polls many runs at once: the number of
 * pollfd slots a run needs; fill them (returns timeout_ms lowered to the
 * run's next timer event); act on poll's answer (1 when finished). */
WHELK_INTERNAL size_t whelk__proc_nfds(const whelk_proc *pr);
WHELK_INTERNAL int whelk__proc_pollfds(whelk_proc *pr, struct pollfd *fds,
                                       int timeout_ms);
WHELK_INTERNAL int whelk__proc_handle(whelk_proc *pr, const struct pollfd *fds);
/* Close a descriptor of the run, taking it out of whelk_proc_fd's epoll
 * set first (a process the host forked may hold the same open file). */
WHELK_INTERNAL void whelk__proc_close_fd(whelk_proc *pr, int fd);
/* Collect the status of every stage that has exited, without blocking. */
WHELK_INTERNAL void whelk__proc_reap_exited(whelk_proc *pr);
/* Kill (SIGKILL) and reap every unreaped stage, close every stream. */
WHELK_INTERNAL void whelk__proc_teardown(whelk_proc *pr);
/* Reap the group leader left as a zombie (after the last group kill). */
WHELK_INTERNAL void whelk__proc_release(whelk_proc *pr);
/* Set the timerfd of whelk_proc_fd to the next event of the run. */
WHELK_INTERNAL void whelk__proc_arm(whelk_proc *pr);
WHELK_INTERNAL int whelk__proc_signal(whelk_proc *pr, int sig);
/* write(2) that cannot raise SIGPIPE in the host (EPIPE instead). */
WHELK_INTERNAL ssize_t whelk__write_nosigpipe(int fd, const void *buf,
                                              size_t len);
/* After a run is over (run.c): its outcome, after the on_exit hook.  A
 * handle to the next attempt when the hook asked for a retry (started: the
 * caller drives it like the first); else NULL with *r set, or the error
 * in *err (freed if err is NULL), the shell's error hook applied.  Frees
 * pr. */
WHELK_INTERNAL whelk_proc *
whelk__proc_conclude(whelk_proc *pr, whelk_result **r, whelk_error **err);
/* Statuses -> error (or NULL when the run succeeded).  Takes the result
 * into the error when failing, else leaves it in pr. */
WHELK_INTERNAL whelk_error *whelk__verdict(whelk_proc *pr);

#define WHELK_TAIL_BYTES 2048
#define WHELK_TAIL_LINES 10

#endif /* WHELK_INTERNAL_H */
