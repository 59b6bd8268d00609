/*
 * run.c -- whelk_run, whelk_start and the whelk_proc handle: plan the
 * attempt, spawn every stage into one new process group, pump until the
 * run is over, reach a verdict, and apply the hooks (on_start, on_exit with
 * retry, the shell's error hook).
 */
#include "alloc.h"
#include "buf.h"
#include "names.h"
#include "builder_body.h"
#include "result.h"
#include "errors.h"
#include "plan.h"
#include "spawner.h"
#include "proc_body.h"
#include "verdict.h"
#include "childsetup.h"
#include "filter.h"
#include "keeper.h"
#include "hostio.h"
#include "stop.h"
#include "tee.h"
#include "sys.h"
#include "remote.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

static whelk_error *spawn_error_text(whelk_proc *pr, const whelk_cmd *c,
                                     size_t i, int e);

static void proc_free(whelk_proc *pr)
{
    size_t i;

    if (!pr)
        return;
    if (!pr->finished && pr->stages)
        whelk__proc_teardown(pr);
    whelk__proc_release(pr);
    whelk__keeper_free(pr->keeper); /* after the last reap: see keeper.h */
    whelk__plan_free(pr->plan);
    free(pr->pfds);
    if (pr->epfd >= 0)
        close(pr->epfd);
    if (pr->tfd >= 0)
        close(pr->tfd);
    if (pr->tails)
        for (i = 0; i < pr->n; i++)
            whelk__buf_free(&pr->tails[i]);
    free(pr->tails);
    free(pr->stages);
    whelk__buf_free(&pr->scratch);
    whelk__buf_free(&pr->decoded);
    whelk__host_free(pr->head.host);
    whelk__filters_free(pr->filters);
    whelk__tee_free(pr->tee);
    whelk_result_free(pr->result);
    whelk_error_free(pr->fail);
    whelk__remote_run_free(pr->remote);
    free(pr);
}

static whelk_error *spawn_error(whelk_proc *pr, const whelk_cmd *c, size_t i,
                                int e, int step)
{
    whelk_error *err;
    char where[64];

    if (step)
        err =
            whelk__error_new(whelk__errno_kind(e, WHELK_E_EXEC), e, i, NULL,
                             "cannot start %s%s: %s failed: %s", c->argv[0],
                             whelk__stage_label(where, sizeof where, i, pr->n),
                             whelk__setup_step_name(step), whelk__strerror(e));
    else
        err = spawn_error_text(pr, c, i, e);

    whelk__error_set_command(err, c);
    return err;
}

/* Did someone else reap the group leader (a host ignoring SIGCHLD)? */
static int leader_gone(const whelk_proc *pr)
{
    siginfo_t si;

    return waitid(P_PID, (id_t)pr->pgid, &si, WEXITED | WNOHANG | WNOWAIT) <
               0 &&
           errno == ECHILD;
}

static whelk_error *spawn_error_text(whelk_proc *pr, const whelk_cmd *c,
                                     size_t i, int e)
{
    const char *prog = c->argv[0];

    if (e == EPERM && i > 0 && pr->pgid > 0 && leader_gone(pr))
        return whelk__error_new(
            WHELK_E_IO, ECHILD, i, NULL,
            "cannot start %s in the pipeline's process group: its first "
            "stage was reaped outside libwhelk (the host ignores SIGCHLD, or "
            "called waitpid(-1))",
            prog);
    int kind = whelk__errno_kind(e, WHELK_E_EXEC);

    whelk_error *script;

    if (e == ENOENT && (script = whelk__missing_interpreter(
                            c, whelk__plan_path(pr->plan, i), i)) != NULL)
        return script;
    if (e == ENOENT && c->cwd)
        return whelk__error_new(kind, e, i, NULL, "cannot execute %s in %s: %s",
                                prog, c->cwd, whelk__strerror(e));
    return whelk__error_new(kind, e, i, NULL, "cannot execute %s: %s", prog,
                            whelk__strerror(e));
}

/* One attempt: plan and spawn.  NULL and *err on failure, with every
 * started stage killed and reaped and every descriptor closed. */
static whelk_proc *start_once(whelk_pipeline *p, whelk_error **err)
{
    whelk_pipeline *sp = p; /* what runs here: p, or a remote's transport */
    whelk_proc *pr;
    int64_t deadline;
    size_t i;

    if (p->start_fn)
        p->start_fn(p, p->start_ud);
    pr = whelk__calloc(1, sizeof *pr);
    if (!pr) {
        *err = (whelk_error *)&whelk__nomem_error;
        return NULL;
    }
    pr->p = p;
    pr->n = p->ncmds;
    pr->epfd = pr->tfd = -1;
    pr->deadline_ms = pr->drain_until = pr->timer_armed = -1;
    /* the deadline covers the whole attempt, opening files included */
    deadline = p->timeout_ms ? whelk__now_ms() + p->timeout_ms : -1;
    if (p->remote) {
        if (!(pr->remote = whelk__remote_prepare(p, err)))
            goto fail_quiet;
        sp = whelk__remote_local(pr->remote);
    }
    if (!(pr->plan = whelk__plan(sp, deadline, err)))
        goto fail_quiet;
    if ((*err = whelk__tee_start(p, deadline, &pr->tee)) != NULL)
        goto fail_quiet;
    pr->stages = whelk__calloc(pr->n, sizeof *pr->stages);
    if (!pr->stages) {
        *err = (whelk_error *)&whelk__nomem_error;
        goto fail_quiet;
    }
    for (i = 0; i < pr->n; i++) {
        pr->stages[i].pid = -1;
        pr->stages[i].pidfd = -1;
    }
    pr->tails = whelk__calloc(pr->n, sizeof *pr->tails);
    pr->result = whelk__result_new(pr->n);
    pr->pfds = whelk__calloc(whelk__proc_nfds(pr), sizeof *pr->pfds);
    if (!pr->tails || !pr->result || !pr->pfds) {
        *err = (whelk_error *)&whelk__nomem_error;
        goto fail;
    }
    if (sp->die_with_host) {
        int e = 0;
        if (!(pr->keeper = whelk__keeper_new(&e))) {
            *err = spawn_error(pr, sp->cmds[0], 0, e, 0);
            goto fail;
        }
    }
    for (i = 0; i < sp->ncmds; i++) {
        whelk_stage *s = &pr->stages[i];
        whelk_spawn_req req;
        int e, step = 0;

        if (sp->cmds[i]->filter)
            continue; /* run by the loop (filter.c) */
        req.path = whelk__plan_path(pr->plan, i);
        req.argv = sp->cmds[i]->argv;
        req.envp = whelk__plan_envp(pr->plan, i);
        req.cwd = sp->cmds[i]->cwd;
        req.fds = whelk__plan_fds(pr->plan, i);
        /* the first program makes the group (a filter has no process) */
        req.pgroup = !p->pgroup ? -1 : pr->pgid > 0 ? pr->pgid : 0;
        req.setup = whelk__plan_setup(pr->plan, i);
        req.step = &step;
        e = pr->keeper
                ? whelk__keeper_spawn(pr->keeper, &req, &s->pid, &s->pidfd)
                : whelk__spawn(&req, &s->pid, &s->pidfd);
        if (e) {
            *err = spawn_error(pr, sp->cmds[i], i, e, step);
            goto fail;
        }
        if (p->pgroup && pr->pgid <= 0)
            pr->pgid = s->pid;
    }
    if (pr->remote && whelk__remote_started(pr, err) < 0)
        goto fail;
    if (!pr->remote) {
        int e = whelk__filters_start(pr, &pr->filters);
        if (e) {
            *err = whelk__error_new(
                whelk__errno_kind(e, WHELK_E_IO), e, WHELK_NO_STAGE, NULL,
                "cannot set up a filter stage: %s", whelk__strerror(e));
            goto fail;
        }
    }
    whelk__plan_close_child_ends(pr->plan);
    if (p->timeout_ms)
        pr->deadline_ms = deadline;
    return pr;
fail:
    /* stages already started must not outlive the failed start */
    whelk__proc_teardown(pr);
    pr->finished = 1;
fail_quiet:
    if (pr->remote)
        *err = whelk__remote_start_error(pr->remote, *err);
    proc_free(pr);
    return NULL;
}

/* The error hook of a shell sees every error before it is returned. */
static whelk_result *give(whelk_pipeline *p, whelk_result *r, whelk_error *e,
                          whelk_error **err)
{
    if (e && p && p->error_fn)
        p->error_fn(e, p->error_ud);
    if (err)
        *err = e;
    else
        whelk_error_free(e);
    return r;
}

static whelk_error *invalid_null(void)
{
    return whelk__error_new(WHELK_E_INVALID, EINVAL, WHELK_NO_STAGE, NULL,
                            "the pipeline is NULL");
}

/* start_once until it succeeds or on_exit lets a failure stand. */
static whelk_proc *start_retrying(whelk_pipeline *p, whelk_error **err)
{
    for (;;) {
        whelk_proc *pr = start_once(p, err);
        if (pr)
            return pr;
        if (!p->exit_fn || p->exit_fn(NULL, *err, p->exit_ud) != WHELK_RETRY)
            return NULL;
        whelk_error_free(*err);
        *err = NULL;
    }
}

whelk_proc *whelk_start(whelk_pipeline *p, whelk_error **err)
{
    whelk_error *e = NULL;
    whelk_proc *pr;

    if (err)
        *err = NULL;
    if (!p) {
        give(p, NULL, invalid_null(), err);
        return NULL;
    }
    pr = start_retrying(p, &e);
    if (!pr)
        give(p, NULL, e, err);
    return pr;
}

whelk_proc *whelk__proc_conclude(whelk_proc *pr, whelk_result **r,
                                 whelk_error **err)
{
    whelk_pipeline *p = pr->p;
    whelk_error *e, *fail;
    whelk_result *res;
    size_t i;

    for (i = 0; i < pr->n; i++)
        pr->result->st[i] = pr->stages[i].st;
    if (pr->remote) {
        whelk_status transport = pr->result->st[0];
        int stop_sig = !pr->timed_out && !pr->aborted        ? 0
                       : pr->aborted || pr->phase == PH_KILL ? SIGKILL
                                                             : SIGTERM;
        whelk__remote_settle(pr->remote, pr->result->st, stop_sig);
        if (!pr->fail)
            pr->fail = whelk__remote_failure(pr->remote, &transport);
    }
    whelk__buf_fit(&pr->result->out);
    whelk__buf_fit(&pr->result->err);
    fail = pr->fail;
    pr->fail = NULL; /* the verdict takes it */
    e = whelk__verdict(p, &pr->result, fail, pr->tails, pr->head.host_head);
    /* a filter's function failed its stage: what it returned */
    if (e && whelk_error_kind(e) == WHELK_E_EXIT &&
        whelk_error_stage(e) < pr->n)
        whelk__error_set_callback_value(
            e, whelk__filter_returned(pr->filters, whelk_error_stage(e)));
    res = e ? NULL : pr->result;
    if (!e)
        pr->result = NULL;
    proc_free(pr);
    if (p->exit_fn && p->exit_fn(e ? whelk_error_result(e) : res, e,
                                 p->exit_ud) == WHELK_RETRY) {
        whelk_result_free(res);
        whelk_error_free(e);
        e = NULL;
        res = NULL;
        if ((pr = start_retrying(p, &e)) != NULL)
            return pr;
    }
    *r = give(p, res, e, err);
    return NULL;
}

static whelk_error *invalid_busy(void)
{
    return whelk__error_new(WHELK_E_INVALID, EINVAL, WHELK_NO_STAGE, NULL,
                            "a callback of this run cannot wait for it");
}

whelk_result *whelk_proc_wait(whelk_proc *pr, whelk_error **err)
{
    whelk_result *r = NULL;

    if (err)
        *err = NULL;
    if (!pr)
        return give(NULL, NULL, invalid_null(), err);
    if (pr->head.in_loop) {
        /* from a callback of this run: the handle stays the running
         * loop's, and no hook of the pipeline is called */
        return give(NULL, NULL, invalid_busy(), err);
    }
    for (;;) {
        whelk__host_detach(pr); /* unread output is discarded */
        while (!whelk__pump(pr, -1))
            ;
        if (!(pr = whelk__proc_conclude(pr, &r, err)))
            return r;
    }
}

whelk_result *whelk_run(whelk_pipeline *p, whelk_error **err)
{
    whelk_proc *pr = whelk_start(p, err);

    return pr ? whelk_proc_wait(pr, err) : NULL;
}

whelk_result *whelk_sh(whelk_error **err, const char *program, ...)
{
    whelk_result *r;
    va_list ap;

    va_start(ap, program);
    r = whelk__sh_va(NULL, err, program, ap);
    va_end(ap);
    return r;
}

/* -------------------------------------------------------- the handle */

int whelk_proc_step(whelk_proc *pr, int timeout_ms)
{
    int done;

    if (!pr || pr->head.in_loop) {
        errno = EINVAL;
        return -1;
    }
    done = whelk__pump(pr, timeout_ms);
    if (pr->tfd >= 0)
        whelk__proc_arm(pr);
    return done;
}

int whelk_proc_kill(whelk_proc *pr, int sig)
{
    if (!pr)
        return EINVAL;
    return whelk__proc_signal(pr, sig);
}

int whelk_proc_cancel(whelk_proc *pr)
{
    if (!pr)
        return EINVAL;
    return whelk__proc_cancel(pr, "was cancelled");
}

pid_t whelk_proc_pid(const whelk_proc *pr, size_t stage)
{
    return pr && stage < pr->n ? pr->stages[stage].pid : -1;
}

static int watch(int epfd, int fd, unsigned events)
{
    struct epoll_event ev;

    if (fd < 0)
        return 0;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.fd = fd;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int whelk_proc_fd(const whelk_proc *cpr)
{
    /* the handle is the caller's, not const: the descriptors are made on
     * first use, so that runs nobody polls never pay for them */
    whelk_proc *pr = (whelk_proc *)cpr;
    size_t i, ns;
    int ok = 1;

    if (!pr)
        return -1;
    if (pr->epfd >= 0)
        return pr->epfd;
    if (pr->filters)
        return -1; /* their interest changes: drive them with step timeouts */
    pr->epfd = whelk__fd_high(epoll_create1(EPOLL_CLOEXEC));
    pr->tfd = whelk__fd_high(
        timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (pr->epfd < 0 || pr->tfd < 0)
        ok = 0;
    (void)whelk__plan_streams(pr->plan, &ns);
    for (i = 0; ok && i < ns; i++)
        ok = watch(pr->epfd, whelk__plan_stream_fd(pr->plan, i), EPOLLIN) == 0;
    /* a fed stdin is written by the host itself, not the loop */
    if (ok && !whelk__plan_feed(pr->plan))
        ok = watch(pr->epfd, whelk__plan_in_fd(pr->plan), EPOLLOUT) == 0;
    for (i = 0; ok && i < pr->n; i++)
        if (!pr->stages[i].reaped)
            ok = watch(pr->epfd, pr->stages[i].pidfd, EPOLLIN) == 0;
    if (ok)
        ok = watch(pr->epfd, pr->tfd, EPOLLIN) == 0;
    if (!ok) {
        if (pr->epfd >= 0)
            close(pr->epfd);
        if (pr->tfd >= 0)
            close(pr->tfd);
        pr->epfd = pr->tfd = -1;
        return -1;
    }
    whelk__proc_arm(pr);
    return pr->epfd;
}
