/*
 * proc.h -- the run handle whelk_proc: its body, the loop (pump.c) that
 * drives it and the conclusion of a run (run.c, verdict.c).  run.c opens
 * and registers its descriptors (epoll, timerfd, pidfds at spawn); pump.c
 * closes them through whelk__proc_close_fd.
 */
#ifndef WHELK_PROC_H
#define WHELK_PROC_H

#include <poll.h>

#include "buf.h"
#include "status.h"

typedef struct whelk_stage {
    pid_t pid;
    int pidfd; /* -1 when none or closed */
    int reaped;
    whelk_status st;
} whelk_stage;

enum whelk_phase { PH_RUNNING, PH_TERM, PH_KILL };

struct whelk_proc {
    whelk_pipeline *p;
    struct whelk_plan *plan;
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

#endif /* WHELK_PROC_H */
