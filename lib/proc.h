/*
 * proc.h -- the run handle whelk_proc as the rest of lib/ sees it: opaque
 * (its body is in proc_body.h, for the files that own it), driven by the
 * loop (pump.c) and concluded by run.c.  run.c opens and registers its
 * descriptors (epoll, timerfd, pidfds at spawn); pump.c closes them
 * through whelk__proc_close_fd.
 */
#ifndef WHELK_PROC_H
#define WHELK_PROC_H

#include <poll.h>

#include "base.h"

struct whelk_plan; /* plan.h */
struct whelk_rrun; /* remote.h */

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
/* Close the stages' stdin write end (the plan's), if still open, through
 * whelk__proc_close_fd: the bytes given up front are written, or the host
 * closed a fed stdin (hostio.c). */
WHELK_INTERNAL void whelk__proc_close_stdin(whelk_proc *pr);
/* Collect the status of every stage that has exited, without blocking. */
WHELK_INTERNAL void whelk__proc_reap_exited(whelk_proc *pr);
/* Kill (SIGKILL) and reap every unreaped stage, close every stream. */
WHELK_INTERNAL void whelk__proc_teardown(whelk_proc *pr);
/* Reap the group leader left as a zombie (after the last group kill). */
WHELK_INTERNAL void whelk__proc_release(whelk_proc *pr);
/* Set the timerfd of whelk_proc_fd to the next event of the run. */
WHELK_INTERNAL void whelk__proc_arm(whelk_proc *pr);
WHELK_INTERNAL int whelk__proc_signal(whelk_proc *pr, int sig);
/* write(2) that cannot raise SIGPIPE or SIGXFSZ in the host (EPIPE or
 * EFBIG instead). */
WHELK_INTERNAL ssize_t whelk__write_nosigpipe(int fd, const void *buf,
                                              size_t len);
/* After a run is over (run.c): its outcome (verdict.h), after the on_exit
 * hook.  A handle to the next attempt when the hook asked for a retry
 * (started: the caller drives it like the first); else NULL with *r set,
 * or the error in *err (freed if err is NULL), the shell's error hook
 * applied.  Frees pr. */
WHELK_INTERNAL whelk_proc *
whelk__proc_conclude(whelk_proc *pr, whelk_result **r, whelk_error **err);

/* Accessors (pump.c): what the modules that stop a run (stop.c) read and
 * change of the handle. */
/* The pipeline the run was started from. */
WHELK_INTERNAL const whelk_pipeline *whelk__proc_pipeline(const whelk_proc *pr);
/* Its number of stages. */
WHELK_INTERNAL size_t whelk__proc_nstages(const whelk_proc *pr);
/* The first stage whose process is not reaped yet (filter stages have
 * none), or WHELK_NO_STAGE. */
WHELK_INTERNAL size_t whelk__proc_live_stage(const whelk_proc *pr);
/* Whether the run has failed already (its first failure is recorded). */
WHELK_INTERNAL int whelk__proc_failed(const whelk_proc *pr);
/* Record e as the run's failure, unless one is recorded already: e is then
 * freed.  The first failure wins. */
WHELK_INTERNAL void whelk__proc_fail(whelk_proc *pr, whelk_error *e);
/* The loop saw the end of the run (the handle's wait has not yet given its
 * outcome). */
WHELK_INTERNAL int whelk__proc_finished(const whelk_proc *pr);
/* The run is being stopped already (a deadline, an abort, a cancel). */
WHELK_INTERNAL int whelk__proc_stopping(const whelk_proc *pr);
/* How long a write on the run's behalf into a destination of the host may
 * wait for room (CLOCK_MONOTONIC ms): the run's deadline (-1: none), or
 * now once the run is stopping. */
WHELK_INTERNAL int64_t whelk__proc_until(const whelk_proc *pr);
/* What filter stages (filter.c) read and change of the handle: the plan
 * they take their descriptors from; whether stage i's status is
 * collected; stage i has no process (a filter runs in the loop); stage i
 * ended with that status (code -1 when signalled, sig 0 when exited),
 * collected as a reaped child's would be. */
WHELK_INTERNAL struct whelk_plan *whelk__proc_plan(const whelk_proc *pr);
WHELK_INTERNAL int whelk__proc_stage_reaped(const whelk_proc *pr, size_t i);
WHELK_INTERNAL void whelk__proc_stage_noproc(whelk_proc *pr, size_t i);
WHELK_INTERNAL void whelk__proc_stage_ended(whelk_proc *pr, size_t i, int code,
                                            int sig);
/* What a remote run (remote.c) reads and changes of the handle: its
 * state; stage i runs on the far side (no process here, its status is
 * reported by the far side: whelk__remote_settle). */
WHELK_INTERNAL struct whelk_rrun *whelk__proc_remote(const whelk_proc *pr);
WHELK_INTERNAL void whelk__proc_stage_far(whelk_proc *pr, size_t i);
/* Whether the handle has its timer descriptor (whelk_proc_fd made it):
 * whelk__proc_arm then keeps it set to the next event. */
WHELK_INTERNAL int whelk__proc_has_timer(const whelk_proc *pr);
/* Stop the run now, as an abort: nothing more reaches callbacks, the
 * stages get SIGTERM and, after the pipeline's kill grace, SIGKILL.
 * Returns 0, or the errno value of a failed signal. */
WHELK_INTERNAL int whelk__proc_terminate(whelk_proc *pr);

#endif /* WHELK_PROC_H */
