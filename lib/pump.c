/*
 * pump.c -- the one poll loop of a run.  Each iteration waits for the
 * stdin pipe to take data, output to arrive, a stage to exit (its pidfd)
 * or the next timer event (deadline, kill grace, drain bound), then:
 * writes stdin, reads output (chunk callback -> decode -> capture -> line
 * callback), reaps exited stages with waitpid(pid), and moves the timeout
 * through SIGTERM -> SIGKILL -> bounded drain.  No size or order of input
 * and output can deadlock it, and it needs no thread and no signal handler.
 */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_SYS_PIDFD_H
#include <sys/pidfd.h>
#endif

#define READ_CHUNK (64 * 1024)
#define DRAIN_MS 1000

int64_t whelk__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------- failures */

static void fail(whelk_proc *pr, whelk_error *e)
{
    if (pr->fail)
        whelk_error_free(e);
    else
        pr->fail = e;
}

/* ------------------------------------------------------------- signals */

static int send_pidfd(int pidfd, pid_t pid, int sig)
{
#if defined(HAVE_PIDFD_SEND_SIGNAL)
    if (pidfd >= 0)
        return pidfd_send_signal(pidfd, sig, NULL, 0);
#elif defined(SYS_pidfd_send_signal)
    if (pidfd >= 0)
        return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#endif
    (void)pidfd;
    return kill(pid, sig);
}

int whelk__proc_signal(whelk_proc *pr, int sig)
{
    size_t i;
    int any = 0, rc = 0;

    for (i = 0; i < pr->n; i++)
        any |= pr->stages[i].pid > 0 && !pr->stages[i].reaped;
    /* The group's number cannot be reused while we hold the leader's
     * pidfd (or while a stage is unreaped), so kill(-pgid) is safe. */
    if (pr->pgid > 0 && (any || pr->leader_pidfd >= 0)) {
        if (kill(-pr->pgid, sig) < 0 && errno != ESRCH)
            rc = errno;
        return rc;
    }
    for (i = 0; i < pr->n; i++) {
        whelk_stage *s = &pr->stages[i];
        if (s->pid > 0 && !s->reaped && send_pidfd(s->pidfd, s->pid, sig) < 0 &&
            errno != ESRCH)
            rc = errno;
    }
    return rc;
}

/* ------------------------------------------------------------- reaping */

static void reap(whelk_proc *pr, whelk_stage *s, int block)
{
    int status;
    pid_t r;

    do
        r = waitpid(s->pid, &status, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return;
    s->reaped = 1;
    if (r < 0) {
        /* ECHILD: the host ignores SIGCHLD and the kernel reaped it. */
        s->st.known = 0;
    } else if (WIFEXITED(status)) {
        s->st.known = 1;
        s->st.code = WEXITSTATUS(status);
        s->st.sig = 0;
    } else {
        s->st.known = 1;
        s->st.code = -1;
        s->st.sig = WTERMSIG(status);
    }
    if (s->pidfd >= 0 && s->pidfd != pr->leader_pidfd)
        close(s->pidfd);
    else if (s->pidfd >= 0 && pr->epfd >= 0)
        /* kept open (it pins the group's number), but an exited process's
         * pidfd is always readable: out of whelk_proc_fd's set */
        epoll_ctl(pr->epfd, EPOLL_CTL_DEL, s->pidfd, NULL);
    s->pidfd = -1;
}

static int all_reaped(const whelk_proc *pr)
{
    size_t i;

    for (i = 0; i < pr->n; i++)
        if (!pr->stages[i].reaped)
            return 0;
    return 1;
}

/* ------------------------------------------------------------ delivery */

typedef struct emit_ctx {
    whelk_proc *pr;
    const whelk_stream *s;
} emit_ctx;

static int emit_line(const char *text, size_t len, unsigned flags, void *vctx)
{
    emit_ctx *c = vctx;
    whelk_line line;

    line.stage = c->s->stage;
    line.stream = c->s->which;
    line.text = text;
    line.len = len;
    line.flags = flags;
    return c->pr->p->line_fn(&line, c->pr->p->line_ud);
}

static void abort_run(whelk_proc *pr, const whelk_stream *s, const char *what)
{
    char *cmd = whelk__cmd_string(pr->p->cmds[s->stage]);
    whelk_error *e;

    char where[64];

    pr->aborted = 1;
    e = whelk__error_new(
        WHELK_E_ABORTED, 0, s->stage, NULL,
        "`%s`%s: the run was stopped by the %s callback", cmd ? cmd : "?",
        whelk__stage_label(where, sizeof where, s->stage, pr->n), what);
    if (e != &whelk__nomem_error) {
        e->command = cmd;
        cmd = NULL;
    }
    free(cmd);
    fail(pr, e);
    whelk__proc_signal(pr, SIGKILL);
}

static void keep_tail(whelk_buf *t, const char *data, size_t len)
{
    if (len >= WHELK_TAIL_BYTES) {
        data += len - WHELK_TAIL_BYTES;
        len = WHELK_TAIL_BYTES;
        t->len = 0;
    } else if (t->len + len > 2 * WHELK_TAIL_BYTES) {
        size_t drop = t->len + len - WHELK_TAIL_BYTES;
        memmove(t->data, t->data + drop, t->len - drop);
        t->len -= drop;
    }
    if (whelk__buf_add(t, data, len) < 0)
        t->len = 0; /* the tail is best effort */
}

static int capture(whelk_proc *pr, const whelk_stream *s, const char *data,
                   size_t len)
{
    whelk_buf *b =
        s->which == WHELK_STDOUT ? &pr->result->out : &pr->result->err;
    size_t limit = pr->p->capture_limit;

    if (s->which == WHELK_STDERR)
        keep_tail(&pr->tails[s->stage], data, len);
    if (limit && b->len + len > limit) {
        pr->result->truncated |= s->which;
        len = b->len < limit ? limit - b->len : 0;
    }
    return whelk__buf_add(b, data, len);
}

static void decode_failed(whelk_proc *pr, const whelk_stream *s, uint64_t off)
{
    char *cmd = whelk__cmd_string(pr->p->cmds[s->stage]);
    char where[64];
    whelk_error *e = whelk__error_new(
        WHELK_E_DECODE, EILSEQ, s->stage, NULL,
        "%s of `%s`%s: invalid %s at byte offset %llu",
        s->which == WHELK_STDOUT ? "stdout" : "stderr", cmd ? cmd : "?",
        whelk__stage_label(where, sizeof where, s->stage, pr->n),
        whelk__decoder_name(s->dec), (unsigned long long)off);

    if (e != &whelk__nomem_error) {
        e->command = cmd;
        cmd = NULL;
    }
    free(cmd);
    fail(pr, e);
    pr->aborted = 1;
    whelk__proc_signal(pr, SIGKILL);
}

/* Everything that happens to bytes read from a stream (eof: the stream
 * ended, data may be empty).  Returns -1 when the run must stop. */
static int deliver(whelk_proc *pr, whelk_stream *s, char *data, size_t len,
                   int eof)
{
    const whelk_pipeline *p = pr->p;
    char *text = data;
    size_t tlen = len;

    if (s->chunk_cb && (len || eof)) {
        whelk_chunk c;
        c.stage = s->stage;
        c.stream = s->which;
        c.data = len ? data : NULL;
        c.len = len;
        c.eof = 0;
        if (len && p->chunk_fn(&c, p->chunk_ud) != 0)
            goto aborted_chunk;
        c.eof = eof;
        if (eof && (c.data = NULL, c.len = 0, p->chunk_fn(&c, p->chunk_ud)))
            goto aborted_chunk;
    }
    if (s->dec) {
        uint64_t bad;
        int rc;
        pr->decoded.len = 0;
        rc = whelk__decode(s->dec, data, len, eof, &pr->decoded, &bad);
        if (rc == -1) {
            decode_failed(pr, s, bad);
            return -1;
        }
        if (rc < 0)
            goto nomem;
        text = pr->decoded.data;
        tlen = pr->decoded.len;
    }
    if (s->keep && tlen && capture(pr, s, text, tlen) < 0)
        goto nomem;
    if (s->line_cb) {
        emit_ctx ctx = {pr, s};
        int rc =
            tlen ? whelk__split(&s->split, text, tlen, emit_line, &ctx) : 0;
        if (rc == 0 && eof)
            rc = whelk__split_eof(&s->split, emit_line, &ctx);
        if (rc == -2)
            goto nomem;
        if (rc != 0) {
            abort_run(pr, s, "line");
            return -1;
        }
    }
    return 0;
aborted_chunk:
    abort_run(pr, s, "chunk");
    return -1;
nomem:
    fail(pr, (whelk_error *)&whelk__nomem_error);
    pr->aborted = 1;
    whelk__proc_signal(pr, SIGKILL);
    return -1;
}

static void close_stream(whelk_stream *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

/* One read from a readable stream. */
static void read_stream(whelk_proc *pr, whelk_stream *s)
{
    int plain = s->keep && !s->dec && !s->line_cb && !s->chunk_cb &&
                !pr->p->capture_limit && s->which == WHELK_STDOUT;
    whelk_buf *into = plain ? &pr->result->out : &pr->scratch;
    ssize_t n;

    if (pr->aborted) {
        /* stopped: nothing more is read or given to callbacks */
        close_stream(s);
        return;
    }
    if (plain ? whelk__buf_reserve(into, READ_CHUNK) < 0
              : (into->len = 0, whelk__buf_reserve(into, READ_CHUNK) < 0)) {
        fail(pr, (whelk_error *)&whelk__nomem_error);
        pr->aborted = 1;
        whelk__proc_signal(pr, SIGKILL);
        return;
    }
    n = read(s->fd, into->data + into->len, READ_CHUNK);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n < 0) {
        int e = errno;
        char where[64];
        fail(pr,
             whelk__error_set_command(
                 whelk__error_new(
                     WHELK_E_IO, e, s->stage, NULL, "reading the output%s: %s",
                     whelk__stage_label(where, sizeof where, s->stage, pr->n),
                     whelk__strerror(e)),
                 pr->p->cmds[s->stage]));
        close_stream(s);
        return;
    }
    s->offset += (uint64_t)n;
    if (plain) {
        into->len += (size_t)n;
        into->data[into->len] = '\0';
        if (n == 0)
            close_stream(s);
        return;
    }
    if (deliver(pr, s, into->data, (size_t)n, n == 0) < 0 || n == 0)
        close_stream(s);
}

/* ---------------------------------------------------------------- stdin */

/* write(2) that cannot kill the host with SIGPIPE: SIGPIPE is blocked in
 * this thread for the call and a SIGPIPE it raised is consumed. */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len)
{
    sigset_t pipeset, old, pending;
    int was_pending, e;
    ssize_t n;

    sigemptyset(&pipeset);
    sigaddset(&pipeset, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipeset, &old);
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE);
    n = write(fd, buf, len);
    e = errno;
    if (n < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipeset, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return n;
}

static void close_stdin(whelk_plan *pl)
{
    if (pl->in_fd >= 0) {
        close(pl->in_fd);
        pl->in_fd = -1;
    }
}

static void write_stdin(whelk_proc *pr)
{
    whelk_plan *pl = pr->plan;
    size_t left = pl->in_len - pr->in_off;
    ssize_t n;

    if (left == 0) {
        close_stdin(pl);
        return;
    }
    n = write_nosigpipe(pl->in_fd, pl->in_ptr + pr->in_off,
                        left > (1u << 20) ? (1u << 20) : left);
    if (n < 0) {
        /* EPIPE: the reader is gone, which is its business, not an error */
        if (errno != EAGAIN && errno != EINTR)
            close_stdin(pl);
        return;
    }
    pr->in_off += (size_t)n;
    if (pr->in_off == pl->in_len)
        close_stdin(pl);
}

/* --------------------------------------------------------------- timers */

static void on_timer(whelk_proc *pr, int64_t now)
{
    if (pr->deadline_ms < 0 || now < pr->deadline_ms)
        return;
    if (pr->phase == PH_RUNNING) {
        char *cmd = whelk_pipeline_tostring(pr->p);
        whelk_error *e = whelk__error_new(
            WHELK_E_TIMEOUT, ETIMEDOUT, WHELK_NO_STAGE, NULL,
            "`%s` timed out after %u ms", cmd ? cmd : "?", pr->p->timeout_ms);
        if (e != &whelk__nomem_error) {
            e->command = cmd;
            cmd = NULL;
        }
        free(cmd);
        fail(pr, e);
        pr->timed_out = 1;
        whelk__proc_signal(pr, SIGTERM);
        pr->phase = PH_TERM;
        pr->deadline_ms = now + pr->p->grace_ms;
    } else if (pr->phase == PH_TERM) {
        whelk__proc_signal(pr, SIGKILL);
        pr->phase = PH_KILL;
        pr->deadline_ms = -1;
        pr->drain_until = now + DRAIN_MS;
    }
}

/* ----------------------------------------------------------------- loop */

static int streams_open(const whelk_proc *pr)
{
    size_t i;

    for (i = 0; i < pr->plan->nstreams; i++)
        if (pr->plan->streams[i].fd >= 0)
            return 1;
    return 0;
}

static void close_streams(whelk_proc *pr)
{
    size_t i;

    for (i = 0; i < pr->plan->nstreams; i++)
        close_stream(&pr->plan->streams[i]);
}

/* The run is over: reaped, and its output read to the end (or given up). */
static int check_done(whelk_proc *pr, int64_t now)
{
    if (!all_reaped(pr))
        return 0;
    close_stdin(pr->plan);
    if (pr->aborted) {
        close_streams(pr);
    } else if (streams_open(pr)) {
        if (!pr->timed_out)
            return 0; /* without a deadline, output is read to its end */
        if (pr->drain_until < 0)
            pr->drain_until = now + DRAIN_MS;
        if (now < pr->drain_until)
            return 0;
        close_streams(pr);
    }
    if (pr->timed_out || pr->aborted)
        whelk__proc_signal(pr, SIGKILL); /* grandchildren left in the group */
    pr->finished = 1;
    return 1;
}

/* Milliseconds until the next timer event, or -1. */
static int next_wait(const whelk_proc *pr, int64_t now, int timeout_ms)
{
    int64_t t = -1, cands[3];
    size_t i;

    cands[0] = pr->deadline_ms;
    cands[1] = pr->drain_until;
    cands[2] = pr->nopidfd_backoff ? now + pr->nopidfd_backoff : -1;
    for (i = 0; i < 3; i++)
        if (cands[i] >= 0 && (t < 0 || cands[i] < t))
            t = cands[i];
    if (t >= 0) {
        int64_t d = t > now ? t - now : 0;
        if (timeout_ms < 0 || d < timeout_ms)
            timeout_ms = d > 1000000 ? 1000000 : (int)d;
    }
    return timeout_ms;
}

int whelk__pump(whelk_proc *pr, int timeout_ms)
{
    whelk_plan *pl = pr->plan;
    size_t nfds = 0, i, ns = pl->nstreams, in_slot = (size_t)-1;
    struct pollfd stackfds[16], *fds = stackfds;
    size_t want = ns + pr->n + 1;
    int64_t now = whelk__now_ms();
    int nopidfd = 0, rc;

    if (pr->finished)
        return 1;
    if (check_done(pr, now))
        return 1;
    if (want > 16 && !(fds = whelk__malloc(want * sizeof *fds))) {
        fail(pr, (whelk_error *)&whelk__nomem_error);
        pr->aborted = 1;
        whelk__proc_signal(pr, SIGKILL);
        fds = stackfds;
        want = 0;
    }
    for (i = 0; want && i < ns; i++) {
        fds[nfds].fd = pl->streams[i].fd; /* -1 is ignored by poll */
        fds[nfds].events = POLLIN;
        fds[nfds++].revents = 0;
    }
    if (want && pl->in_fd >= 0) {
        in_slot = nfds;
        fds[nfds].fd = pl->in_fd;
        fds[nfds].events = POLLOUT;
        fds[nfds++].revents = 0;
    }
    for (i = 0; want && i < pr->n; i++) {
        whelk_stage *s = &pr->stages[i];
        fds[nfds].fd = s->reaped ? -1 : s->pidfd;
        fds[nfds].events = POLLIN;
        fds[nfds++].revents = 0;
        nopidfd |= !s->reaped && s->pidfd < 0;
    }
    if (nopidfd) {
        /* no pidfds (old kernel): poll waitpid with a growing interval */
        pr->nopidfd_backoff = pr->nopidfd_backoff ? pr->nopidfd_backoff * 2 : 1;
        if (pr->nopidfd_backoff > 50)
            pr->nopidfd_backoff = 50;
    } else {
        pr->nopidfd_backoff = 0;
    }
    if (pr->tfd >= 0) {
        uint64_t ticks;
        if (read(pr->tfd, &ticks, sizeof ticks) < 0) {
            /* not expired: nothing to consume */
        }
    }
    rc = poll(fds, nfds, next_wait(pr, now, timeout_ms));
    if (rc > 0) {
        for (i = 0; i < ns; i++)
            if (fds[i].revents && pl->streams[i].fd >= 0)
                read_stream(pr, &pl->streams[i]);
        if (in_slot != (size_t)-1 && fds[in_slot].revents && pl->in_fd >= 0)
            write_stdin(pr);
    }
    for (i = 0; i < pr->n; i++) {
        whelk_stage *s = &pr->stages[i];
        size_t slot = nfds - pr->n + i;
        if (!s->reaped && (s->pidfd < 0 || (rc > 0 && fds[slot].revents)))
            reap(pr, s, 0);
    }
    if (fds != stackfds)
        free(fds);
    now = whelk__now_ms();
    on_timer(pr, now);
    return check_done(pr, now);
}

void whelk__proc_teardown(whelk_proc *pr)
{
    size_t i;

    whelk__proc_signal(pr, SIGKILL);
    for (i = 0; i < pr->n; i++)
        if (pr->stages[i].pid > 0 && !pr->stages[i].reaped)
            reap(pr, &pr->stages[i], 1);
    if (pr->plan) {
        close_streams(pr);
        close_stdin(pr->plan);
    }
}

void whelk__proc_arm(whelk_proc *pr)
{
    struct itimerspec its;
    int64_t now = whelk__now_ms(), at;
    int wait;

    memset(&its, 0, sizeof its);
    if (pr->finished) {
        at = 0; /* readable at once, so an event loop calls step again */
    } else {
        wait = next_wait(pr, now, -1);
        at = wait < 0 ? -1 : now + wait;
    }
    if (at == pr->timer_armed)
        return;
    pr->timer_armed = at;
    if (at >= 0) {
        int64_t rel = at > now ? at - now : 0;
        its.it_value.tv_sec = (time_t)(rel / 1000);
        its.it_value.tv_nsec = (long)(rel % 1000) * 1000000 + 1;
    }
    timerfd_settime(pr->tfd, 0, &its, NULL);
}
