/*
 * proc_body.h -- the body of the run handle whelk_proc, for the files that
 * own it: run.c makes it, spawns its stages and opens its epoll and timer
 * descriptors; pump.c drives it (the loop, reaping, signalling, stopping).
 * hostio.c, which drives it from the host's side, sees only its head
 * (proc_head.h).  Every other file sees
 * whelk_proc opaque and goes through proc.h.
 */
#ifndef WHELK_PROC_BODY_H
#define WHELK_PROC_BODY_H

#include <poll.h>

#include "buf.h"
#include "proc_head.h"
#include "status.h"

typedef struct whelk_stage {
    pid_t pid;
    int pidfd; /* -1 when none or closed */
    int reaped;
    whelk_status st;
} whelk_stage;

enum whelk_phase { PH_RUNNING, PH_TERM, PH_KILL };

struct whelk_proc {
    whelk_proc_head head; /* first: hostio.c reads it (proc_head.h) */
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
    struct whelk_keeper *keeper;   /* die_with_host: the spawning thread */
    struct whelk_filters *filters; /* filter stages (filter.c), or NULL */
    struct whelk_teerun *tee;      /* open tee destinations (tee.c) */
    struct whelk_rrun *remote; /* a remote run's state (remote.h), or NULL */
};

#endif /* WHELK_PROC_BODY_H */
