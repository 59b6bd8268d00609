/*
 * pump.c -- the one poll loop of a run.  Each iteration waits for the
 * stdin pipe to take data, output to arrive, a stage to exit (its pidfd)
 * or the next timer event (deadline, kill grace, drain bound), then:
 * writes stdin, reads output (chunk callback -> decode -> capture -> line
 * callback), reaps exited stages with waitpid(pid), and moves the timeout
 * through SIGTERM -> SIGKILL -> bounded drain.  No size or order of input
 * and output can deadlock it, and it needs no thread and no signal handler.
 */
#include "buf.h"
#include "names.h"
#include "result.h"
#include "errors.h"
#include "quote.h"
#include "decode.h"
#include "lines.h"
#include "plan.h"
#include "stream.h"
#include "proc_body.h"
#include "verdict.h"
#include "filter.h"
#include "hostio.h"
#include "tee.h"
#include "stop.h"
#include "sys.h"
#include "remote.h"
#include "builder_body.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FIRST_READ (4 * 1024)
#define READ_CHUNK (64 * 1024)
#define BIG_READ (1024 * 1024)
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

int whelk__proc_signal(whelk_proc *pr, int sig)
{
    size_t i;
    int any = 0, rc = 0;

    whelk__filters_signal(pr->filters, sig);
    for (i = 0; i < pr->n; i++)
        any |= pr->stages[i].pid > 0 && !pr->stages[i].reaped;
    /* The group's number cannot be reused while a member lives or its
     * leader is an unreaped zombie, so kill(-pgid) reaches only the run. */
    if (pr->pgid > 0 && (any || pr->leader_zombie)) {
        if (kill(-pr->pgid, sig) < 0 && errno != ESRCH)
            rc = errno;
        return rc;
    }
    /* last stage first: a stage blocked reading its upstream would
     * otherwise see the end of its input, and exit, before its signal */
    for (i = pr->n; i-- > 0;) {
        whelk_stage *s = &pr->stages[i];
        if (s->pid > 0 && !s->reaped &&
            whelk__pidfd_kill(s->pidfd, s->pid, sig) < 0 && errno != ESRCH)
            rc = errno;
    }
    return rc;
}

/* A descriptor leaves whelk_proc_fd's epoll set before it is closed: the
 * set holds the open file, which a process the host forked meanwhile may
 * keep alive, and a closed pidfd or stream at its end would then wake the
 * host's loop for ever. */
void whelk__proc_close_fd(whelk_proc *pr, int fd)
{
    if (pr->epfd >= 0)
        (void)epoll_ctl(pr->epfd, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
}

/* ------------------------------------------------------------- reaping */

static void set_status(whelk_status *st, int exited, int value)
{
    st->known = 1;
    st->code = exited ? value : -1;
    st->sig = exited ? 0 : value;
}

static void close_pidfd(whelk_proc *pr, whelk_stage *s)
{
    if (s->pidfd >= 0)
        whelk__proc_close_fd(pr, s->pidfd);
    s->pidfd = -1;
}

/* Collect a stage's status if it has exited (block: wait for it).  The
 * group leader's status is read with WNOWAIT and the zombie kept until
 * whelk__proc_release, so that its number keeps naming our group.
 * from_pidfd: its pidfd said it exited. */
static void reap(whelk_proc *pr, whelk_stage *s, int block, int from_pidfd)
{
    int flags = WEXITED | (block ? 0 : WNOHANG);
    int leader = pr->pgid > 0 && s->pid == pr->pgid;
    siginfo_t si;
    int r;

    memset(&si, 0, sizeof si);
    do
        r = waitid(P_PID, (id_t)s->pid, &si, flags | (leader ? WNOWAIT : 0));
    while (r < 0 && errno == EINTR);
    if (r == 0 && si.si_pid == 0) {
        /* not waitable yet although its pidfd is readable (a tracer
         * holds the zombie): watch it by polling waitid instead */
        if (from_pidfd)
            close_pidfd(pr, s);
        return;
    }
    s->reaped = 1;
    close_pidfd(pr, s);
    if (r < 0) {
        /* ECHILD: reaped outside the library (SIGCHLD ignored, or a
         * waitpid(-1) in the host) */
        s->st.known = 0;
        return;
    }
    set_status(&s->st, si.si_code == CLD_EXITED, si.si_status);
    pr->leader_zombie |= leader;
}

void whelk__proc_release(whelk_proc *pr)
{
    int st;

    if (!pr->leader_zombie)
        return;
    /* WNOHANG: the zombie is there unless a host broke the rules and reaped
     * it (waitpid(-1)); then its number may name another child of the host,
     * which must be neither waited for nor reaped while still running */
    while (waitpid(pr->pgid, &st, WNOHANG) < 0 && errno == EINTR)
        ;
    pr->leader_zombie = 0;
}

void whelk__proc_reap_exited(whelk_proc *pr)
{
    size_t i;

    for (i = 0; i < pr->n; i++)
        if (pr->stages[i].pid > 0 && !pr->stages[i].reaped)
            reap(pr, &pr->stages[i], 0, 0);
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

/* A callback returned value (non-zero): the run stops at once (SIGKILL),
 * and the error names the first stage still running, as a cancel would,
 * and keeps value for whelk_error_callback_value -- unless the run had
 * already failed (a deadline, a cancel), whose error stands. */
static void abort_run(whelk_proc *pr, const char *what, int value)
{
    char why[64];

    snprintf(why, sizeof why, "was stopped by the %s callback", what);
    whelk__error_set_callback_value(
        whelk__stop_fail(pr, WHELK_E_ABORTED, ECANCELED, whelk__stop_stage(pr),
                         why),
        value);
    pr->aborted = 1;
    whelk__proc_signal(pr, SIGKILL);
    pr->phase = PH_KILL;
    pr->deadline_ms = -1;
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
    if (pr->result->truncated & s->which)
        return 0;
    if (limit && b->len + len > limit) {
        size_t keep = b->len < limit ? limit - b->len : 0;
        /* decoded text is cut at a character boundary */
        while (s->dec && keep && ((unsigned char)data[keep] & 0xC0) == 0x80)
            keep--;
        pr->result->truncated |= s->which;
        len = keep;
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

    fail(pr, whelk__error_take_command(e, cmd));
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
    uint64_t bad = 0;
    int invalid = 0, rc;

    if (s->mux)
        return whelk__remote_demux(pr, data, len, eof);
    /* a tee waits for room until the deadline; not at all once stopping */
    if (pr->tee && s->which == WHELK_STDOUT && s->stage == pr->n - 1)
        whelk__tee_copy(pr->tee, pr, data, len, eof, whelk__proc_until(pr));
    if (s->chunk_cb && (len || eof)) {
        whelk_chunk c = {s->stage, s->which, data, len, 0};
        if (len && (rc = p->chunk_fn(&c, p->chunk_ud)) != 0)
            goto aborted_chunk;
        if (eof) {
            c.data = NULL;
            c.len = 0;
            c.eof = 1;
            if ((rc = p->chunk_fn(&c, p->chunk_ud)) != 0)
                goto aborted_chunk;
        }
    }
    if (s->dec) {
        pr->decoded.len = 0;
        rc = whelk__decode(s->dec, data, len, eof, &pr->decoded, &bad);
        if (rc == -2)
            goto nomem;
        invalid = rc == -1;
        text = pr->decoded.data;
        tlen = pr->decoded.len;
    }
    /* text is what decoded before any invalid byte: it is kept and its
     * lines delivered before a STRICT failure stops the run */
    if (s->pull && tlen && whelk__host_pulled(pr, text, tlen) < 0)
        goto nomem;
    if (s->keep && tlen && capture(pr, s, text, tlen) < 0)
        goto nomem;
    if (s->line_cb) {
        rc = tlen ? whelk__split(&s->split, text, tlen, p->line_fn, p->line_ud)
                  : 0;
        if (rc == 0 && eof && !invalid)
            rc = whelk__split_eof(&s->split, p->line_fn, p->line_ud);
        if (rc == -2)
            goto nomem;
        if (rc != 0) {
            abort_run(pr, "line", s->split.stop_value);
            return -1;
        }
    }
    if (invalid) {
        decode_failed(pr, s, bad);
        return -1;
    }
    return 0;
aborted_chunk:
    abort_run(pr, "chunk", rc);
    return -1;
nomem:
    fail(pr, (whelk_error *)&whelk__nomem_error);
    pr->aborted = 1;
    whelk__proc_signal(pr, SIGKILL);
    return -1;
}

int whelk__deliver(whelk_proc *pr, whelk_stream *s, char *data, size_t len,
                   int eof)
{
    return deliver(pr, s, data, len, eof);
}

static void close_stream(whelk_proc *pr, whelk_stream *s)
{
    if (s->fd >= 0) {
        whelk__proc_close_fd(pr, s->fd);
        s->fd = -1;
    }
}

/* One read from a readable stream.  Plain captured stdout is read straight
 * into the result; everything else through the scratch buffer and
 * deliver().  Reads grow with the stream: FIRST_READ until a read fills
 * it, so that the many runs whose output is small or empty allocate a few
 * KiB and not 64 KiB per stream (on the result too); then READ_CHUNK; a
 * stream that fills that is a big one: its pipe is grown to 1 MiB (fewer
 * wake-ups for writer and reader) and plain capture and pull read it
 * 1 MiB at a time. */
static void read_stream(whelk_proc *pr, whelk_stream *s)
{
    int plain = s->keep && !s->dec && !s->line_cb && !s->chunk_cb &&
                !pr->p->capture_limit && s->which == WHELK_STDOUT && !pr->tee;
    /* a plain pulled stream is read straight into the host's buffer */
    int direct = s->pull && !s->dec && !s->keep && !s->line_cb &&
                 !s->chunk_cb && !s->mux && !pr->tee;
    size_t want = s->size == 0         ? FIRST_READ
                  : s->size == 1       ? READ_CHUNK
                  : (plain || s->pull) ? BIG_READ
                                       : READ_CHUNK;
    whelk_buf *into = plain    ? &pr->result->out
                      : direct ? whelk__host_pull_buf(pr, want)
                               : &pr->scratch;
    ssize_t n;

    if (pr->aborted) {
        /* stopped: nothing more is read or given to callbacks */
        close_stream(pr, s);
        return;
    }
    if (!plain && !direct)
        into->len = 0;
    if (!into || whelk__buf_reserve(into, want) < 0) {
        fail(pr, (whelk_error *)&whelk__nomem_error);
        pr->aborted = 1;
        whelk__proc_signal(pr, SIGKILL);
        return;
    }
    n = read(s->fd, into->data + into->len, want);
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
        close_stream(pr, s);
        return;
    }
    if ((size_t)n == want && s->size < 2 && ++s->size == 2)
        /* best effort: EPERM past the user's pipe quota */
        (void)fcntl(s->fd, F_SETPIPE_SZ, BIG_READ);
    s->offset += (uint64_t)n;
    if (plain || direct) {
        into->len += (size_t)n;
        into->data[into->len] = '\0';
        if (n == 0)
            close_stream(pr, s);
        return;
    }
    if (deliver(pr, s, into->data, (size_t)n, n == 0) < 0 || n == 0)
        close_stream(pr, s);
}

/* ---------------------------------------------------------------- stdin */

/* The signal a failed write raised in the writer, by its errno: EPIPE
 * (no reader), EFBIG (past the host's RLIMIT_FSIZE); else 0. */
static int write_signal(int errnum)
{
    return errnum == EPIPE ? SIGPIPE : errnum == EFBIG ? SIGXFSZ : 0;
}

/* write(2) that cannot kill the host with SIGPIPE or SIGXFSZ (a tee file
 * past the host's RLIMIT_FSIZE): both are blocked in this thread for the
 * call and one it raised is consumed; the write fails with EPIPE or
 * EFBIG. */
ssize_t whelk__write_nosigpipe(int fd, const void *buf, size_t len)
{
    sigset_t pipeset, old, pending;
    int sig, e;
    ssize_t n;

    sigemptyset(&pipeset);
    sigaddset(&pipeset, SIGPIPE);
    sigaddset(&pipeset, SIGXFSZ);
    pthread_sigmask(SIG_BLOCK, &pipeset, &old);
    sigpending(&pending);
    n = write(fd, buf, len);
    e = errno;
    sig = n < 0 ? write_signal(e) : 0;
    if (sig && !sigismember(&pending, sig)) {
        struct timespec zero = {0, 0};
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        while (sigtimedwait(&one, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return n;
}

void whelk__proc_close_stdin(whelk_proc *pr)
{
    int fd = whelk__plan_take_in_fd(pr->plan);

    if (fd >= 0)
        whelk__proc_close_fd(pr, fd);
}

static void write_stdin(whelk_proc *pr)
{
    size_t len;
    const unsigned char *in = whelk__plan_in_bytes(pr->plan, &len);
    size_t left = len - pr->in_off;
    ssize_t n;

    if (left == 0) {
        whelk__proc_close_stdin(pr);
        return;
    }
    n = whelk__write_nosigpipe(whelk__plan_in_fd(pr->plan), in + pr->in_off,
                               left > (1u << 20) ? (1u << 20) : left);
    if (n < 0) {
        /* EPIPE: the reader is gone, which is its business, not an error */
        if (errno != EAGAIN && errno != EINTR)
            whelk__proc_close_stdin(pr);
        return;
    }
    pr->in_off += (size_t)n;
    if (pr->in_off == len)
        whelk__proc_close_stdin(pr);
}

/* --------------------------------------------------------------- timers */

static void on_timer(whelk_proc *pr, int64_t now)
{
    if (pr->deadline_ms < 0 || now < pr->deadline_ms)
        return;
    if (pr->phase == PH_RUNNING) {
        char why[64];
        snprintf(why, sizeof why, "timed out after %u ms", pr->p->timeout_ms);
        whelk__stop_fail(pr, WHELK_E_TIMEOUT, ETIMEDOUT, whelk__stop_stage(pr),
                         why);
        pr->timed_out = 1;
        whelk__proc_signal(pr, SIGTERM);
        pr->phase = PH_TERM;
        pr->deadline_ms = now + pr->p->grace_ms;
    } else if (pr->phase == PH_TERM) {
        whelk__proc_signal(pr, SIGKILL);
        pr->phase = PH_KILL;
        pr->deadline_ms = -1; /* the drain starts once all are reaped */
    }
}

/* ----------------------------------------------------------------- loop */

static int streams_open(const whelk_proc *pr)
{
    size_t i, ns;
    const whelk_stream *st = whelk__plan_streams(pr->plan, &ns);

    for (i = 0; i < ns; i++)
        if (st[i].fd >= 0)
            return 1;
    return 0;
}

/* Close every stream; unless the run was stopped, the bytes already read
 * are flushed first (decoder, partial last line, end-of-stream chunk). */
static void close_streams(whelk_proc *pr)
{
    size_t i, ns;
    whelk_stream *st = whelk__plan_streams(pr->plan, &ns);

    for (i = 0; i < ns; i++) {
        whelk_stream *s = &st[i];
        char none = '\0';
        if (s->fd >= 0 && !pr->aborted)
            deliver(pr, s, &none, 0, 1);
        close_stream(pr, s);
    }
}

/* The run is over: reaped, and its output read to the end (or given up). */
static int check_done(whelk_proc *pr, int64_t now)
{
    if (!all_reaped(pr))
        return 0;
    whelk__proc_close_stdin(pr);
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

/* Stages without a pidfd (old kernels, a tracer) are polled with waitid
 * at a growing interval, 1 to 50 ms; grow: this is a new wait. */
static void update_backoff(whelk_proc *pr, int grow)
{
    size_t i;
    int nopidfd = 0;

    for (i = 0; i < pr->n; i++)
        nopidfd |= pr->stages[i].pid > 0 && !pr->stages[i].reaped &&
                   pr->stages[i].pidfd < 0;
    if (!nopidfd)
        pr->nopidfd_backoff = 0;
    else if (!pr->nopidfd_backoff)
        pr->nopidfd_backoff = 1;
    else if (grow)
        pr->nopidfd_backoff =
            pr->nopidfd_backoff >= 25 ? 50 : pr->nopidfd_backoff * 2;
}

/* Fill fds (whelk__proc_nfds slots) with what the run waits for. */
static void fill_pollfds(whelk_proc *pr, struct pollfd *fds)
{
    size_t i, ns;
    const whelk_stream *st = whelk__plan_streams(pr->plan, &ns);
    size_t in_slot = ns, pid_slot = ns + 1;

    for (i = 0; i < ns; i++) {
        fds[i].fd = st[i].fd; /* -1 is ignored by poll */
        fds[i].events = POLLIN;
        fds[i].revents = 0;
    }
    fds[in_slot].fd = whelk__plan_feed(pr->plan) ? whelk__host_feed_fd(pr)
                                                 : whelk__plan_in_fd(pr->plan);
    fds[in_slot].events = POLLOUT;
    fds[in_slot].revents = 0;
    for (i = 0; i < pr->n; i++) {
        const whelk_stage *s = &pr->stages[i];
        fds[pid_slot + i].fd = s->reaped ? -1 : s->pidfd;
        fds[pid_slot + i].events = POLLIN;
        fds[pid_slot + i].revents = 0;
    }
    whelk__filters_fill(pr->filters, pr->n, fds + pid_slot + pr->n);
}

size_t whelk__proc_nfds(const whelk_proc *pr)
{
    size_t ns;

    (void)whelk__plan_streams(pr->plan, &ns);
    return ns + 1 + pr->n * (1 + WHELK_FILTER_SLOTS);
}

int whelk__proc_pollfds(whelk_proc *pr, struct pollfd *fds, int timeout_ms)
{
    fill_pollfds(pr, fds);
    update_backoff(pr, 1);
    return next_wait(pr, whelk__now_ms(), timeout_ms);
}

/* Act on what poll reported in fds (filled by fill_pollfds; rc is poll's
 * return value), then on the timers.  1 when the run is over. */
static int handle(whelk_proc *pr, const struct pollfd *fds, int rc)
{
    size_t i, ns;
    whelk_stream *st = whelk__plan_streams(pr->plan, &ns);
    size_t in_slot = ns, pid_slot = ns + 1;
    int64_t now;

    if (rc > 0) {
        for (i = 0; i < ns; i++)
            if (fds[i].revents && st[i].fd >= 0 &&
                (!st[i].pull || whelk__host_pulling(pr)))
                read_stream(pr, &st[i]);
        if (fds[in_slot].revents && whelk__plan_in_fd(pr->plan) >= 0) {
            if (whelk__plan_feed(pr->plan))
                whelk__host_feed_ready(pr);
            else
                write_stdin(pr);
        }
        whelk__filters_handle(pr->filters, fds + pid_slot + pr->n);
    }
    for (i = 0; i < pr->n; i++) {
        whelk_stage *s = &pr->stages[i];
        int ready = rc > 0 && fds[pid_slot + i].revents;
        if (s->pid > 0 && !s->reaped && (s->pidfd < 0 || ready))
            reap(pr, s, 0, ready);
    }
    now = whelk__now_ms();
    on_timer(pr, now);
    return check_done(pr, now);
}

int whelk__proc_handle(whelk_proc *pr, const struct pollfd *fds)
{
    size_t i, n = whelk__proc_nfds(pr);
    int rc = 0, was = pr->head.in_loop, done;

    if (pr->finished)
        return 1;
    for (i = 0; i < n; i++)
        rc += fds[i].revents != 0;
    pr->head.in_loop = 1;
    done = handle(pr, fds, rc);
    pr->head.in_loop = was;
    return done;
}

static int pump(whelk_proc *pr, struct pollfd *fds, int timeout_ms);

int whelk__pump(whelk_proc *pr, int timeout_ms)
{
    return whelk__pump_fds(pr, pr->pfds, timeout_ms);
}

int whelk__pump_fds(whelk_proc *pr, struct pollfd *fds, int timeout_ms)
{
    int was = pr->head.in_loop, done;

    pr->head.in_loop = 1; /* callbacks run: calls on this handle are refused */
    done = pump(pr, fds, timeout_ms);
    pr->head.in_loop = was;
    return done;
}

/* The longest a degraded poll (poll_in_pieces) sleeps between looks, ms. */
#define PIECES_NAP_MS 10

/*
 * poll(2) refuses more entries than RLIMIT_NOFILE allows descriptors
 * (EINVAL), counting the -1 placeholders, and can fail for want of kernel
 * memory: a host that lowered its limit during the run, or a run whose
 * slots outnumber that limit.  Then look at the entries in pieces the
 * limit allows, without waiting, and when none is ready nap (at most
 * wait ms, at most PIECES_NAP_MS) and look once more: slower, but the run
 * goes on and ends, and the loop never spins.  poll's return value.
 */
static int poll_in_pieces(struct pollfd *fds, size_t nfds, int wait)
{
    struct rlimit rl;
    size_t piece = nfds, off;
    int round, total = 0;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < piece)
        piece = rl.rlim_cur > 0 ? (size_t)rl.rlim_cur : 1;
    for (round = 0; round < 2; round++) {
        for (off = 0; off < nfds; off += piece) {
            size_t k = nfds - off < piece ? nfds - off : piece;
            int rc = poll(fds + off, k, 0);
            total += rc > 0 ? rc : 0;
        }
        if (total > 0 || wait == 0 || round == 1)
            break;
        (void)poll(NULL, 0,
                   wait < 0 || wait > PIECES_NAP_MS ? PIECES_NAP_MS : wait);
    }
    return total;
}

static int pump(whelk_proc *pr, struct pollfd *fds, int timeout_ms)
{
    int64_t now = whelk__now_ms();
    int rc, wait;

    if (pr->finished || check_done(pr, now))
        return 1;
    fill_pollfds(pr, fds);
    update_backoff(pr, 1);
    if (pr->tfd >= 0 && pr->timer_armed >= 0 && now >= pr->timer_armed) {
        uint64_t ticks; /* consume the expiry that made whelk_proc_fd
                           readable; nothing to do if it raced */
        if (read(pr->tfd, &ticks, sizeof ticks) < 0)
            ticks = 0;
    }
    wait = next_wait(pr, now, timeout_ms);
    rc = poll(fds, whelk__proc_nfds(pr), wait);
    if (rc < 0 && errno != EINTR)
        rc = poll_in_pieces(fds, whelk__proc_nfds(pr), wait);
    return handle(pr, fds, rc);
}

void whelk__proc_teardown(whelk_proc *pr)
{
    size_t i;

    pr->aborted = 1; /* nothing more reaches a callback */
    whelk__proc_signal(pr, SIGKILL);
    for (i = 0; i < pr->n; i++)
        if (pr->stages[i].pid > 0 && !pr->stages[i].reaped)
            reap(pr, &pr->stages[i], 1, 0);
    if (pr->plan) {
        close_streams(pr);
        whelk__proc_close_stdin(pr);
    }
    whelk__proc_release(pr);
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
        update_backoff(pr, 0);
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

/* ------------------------------------------------------------ accessors */

const whelk_pipeline *whelk__proc_pipeline(const whelk_proc *pr)
{
    return pr->p;
}

size_t whelk__proc_nstages(const whelk_proc *pr)
{
    return pr->n;
}

size_t whelk__proc_live_stage(const whelk_proc *pr)
{
    size_t i;

    for (i = 0; i < pr->n; i++)
        if (pr->stages[i].pid > 0 && !pr->stages[i].reaped)
            return i;
    return WHELK_NO_STAGE;
}

int whelk__proc_failed(const whelk_proc *pr)
{
    return pr->fail != NULL;
}

void whelk__proc_fail(whelk_proc *pr, whelk_error *e)
{
    fail(pr, e);
}

int whelk__proc_finished(const whelk_proc *pr)
{
    return pr->finished;
}

int whelk__proc_stopping(const whelk_proc *pr)
{
    return pr->aborted || pr->phase != PH_RUNNING;
}

int64_t whelk__proc_until(const whelk_proc *pr)
{
    return whelk__proc_stopping(pr) ? whelk__now_ms() : pr->deadline_ms;
}

int whelk__proc_terminate(whelk_proc *pr)
{
    int rc;

    pr->aborted = 1;
    rc = whelk__proc_signal(pr, SIGTERM);
    pr->phase = PH_TERM;
    pr->deadline_ms = whelk__now_ms() + pr->p->grace_ms;
    if (pr->tfd >= 0)
        whelk__proc_arm(pr);
    return rc;
}

whelk_plan *whelk__proc_plan(const whelk_proc *pr)
{
    return pr->plan;
}

int whelk__proc_stage_reaped(const whelk_proc *pr, size_t i)
{
    return pr->stages[i].reaped;
}

void whelk__proc_stage_noproc(whelk_proc *pr, size_t i)
{
    pr->stages[i].pid = -1;
    pr->stages[i].pidfd = -1;
}

void whelk__proc_stage_ended(whelk_proc *pr, size_t i, int code, int sig)
{
    whelk_stage *s = &pr->stages[i];

    s->reaped = 1;
    s->st.known = 1;
    s->st.code = code;
    s->st.sig = sig;
}

void whelk__proc_stage_far(whelk_proc *pr, size_t i)
{
    pr->stages[i].pid = -1;
    pr->stages[i].pidfd = -1;
    pr->stages[i].reaped = 1;
}

struct whelk_rrun *whelk__proc_remote(const whelk_proc *pr)
{
    return pr->remote;
}

int whelk__proc_has_timer(const whelk_proc *pr)
{
    return pr->tfd >= 0;
}
