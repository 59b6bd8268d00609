/*
 * filter.c -- filter stages: a C function in a pipeline, first, middle or
 * last, run by the run's own loop in the host's thread (DESIGN principle 4:
 * no host code ever runs in a forked child).
 *
 * The loop reads the stage's input when it is readable and the stage's
 * pending output is below FILTER_BOUND, calls the function with each chunk
 * (then once with NULL, 0 at the end), and writes what the function emitted
 * with whelk_filter_write when the output has room.  A function that emits
 * more than FILTER_BOUND in one call (1 KB in, 100 MB out) waits inside
 * whelk_filter_write while the loop runs everything else -- other stages'
 * output, stderr, the deadline -- so the host's memory stays bounded and
 * nothing deadlocks.  A run's filter stages are a struct whelk_filters of
 * this file's; the handle is reached only through proc.h's accessors.
 */
#define _GNU_SOURCE
#include "filter.h"
#include "alloc.h"
#include "buf.h"
#include "builder.h"
#include "fault.h"
#include "proc.h"
#include "plan.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILTER_READ (256 * 1024)
/* The pipes a filter reads and writes are grown to this (best effort). */
#define FILTER_PIPE (1024 * 1024)
#define FILTER_BOUND (256 * 1024)
/* A write into a descriptor that is not ours (a file or the host's own
 * stdout, left blocking) after poll said it has room: at most PIPE_BUF. */
#define FOREIGN_WRITE 4096

struct whelk_filter {
    whelk_proc *pr;
    size_t stage;
    whelk_filter_fn fn;
    void *ud;
    int in_fd, out_fd;
    int out_nb;    /* out_fd is non-blocking (a pipe the run made) */
    char *inbuf;   /* FILTER_READ bytes: what fn is given */
    whelk_buf out; /* emitted, not yet written */
    size_t out_off;
    int in_fn;             /* fn is running: its input is not read */
    int ended;             /* input closed, status decided */
    int code, sig;         /* the status */
    int returned;          /* the non-zero return of fn that ended it */
    int killed;            /* a signal ended it while fn ran */
    int broken;            /* its reader went away */
    struct pollfd *nested; /* pollfds of a wait inside whelk_filter_write */
};

/* One run's filter stages. */
struct whelk_filters {
    whelk_proc *pr;
    size_t n;                /* the run's stages */
    struct whelk_filter **f; /* per stage, NULL for a program */
};

/* ----------------------------------------------------------- the builder */

whelk_cmd *whelk_cmd_new_filter(const char *name, whelk_filter_fn fn,
                                void *userdata)
{
    whelk_cmd *cmd = whelk__cmd_alloc();

    if (!cmd)
        return (whelk_cmd *)&whelk__nomem_cmd;
    whelk__cmd_push(cmd, name); /* NULL: remembered as WHELK_E_INVALID */
    if (name && !*name)
        whelk__fault_set(whelk__cmd_fault(cmd), WHELK_E_INVALID, EINVAL,
                         "a filter stage needs a name");
    if (!fn)
        whelk__fault_set(whelk__cmd_fault(cmd), WHELK_E_INVALID, EINVAL,
                         "the function of filter stage %s is NULL",
                         name ? name : "(null)");
    whelk__cmd_set_filter(cmd, fn, userdata);
    return cmd;
}

/* --------------------------------------------------------------- set-up */

static int is_ours_in(const whelk_pipeline *p, size_t i)
{
    int k = whelk__pipeline_in_kind(p);

    return i > 0 || k == IO_BYTES || k == IO_FEED;
}

static int is_ours_out(const whelk_pipeline *p, size_t i, size_t n)
{
    int k = whelk__pipeline_out_kind(p);

    return i + 1 < n || k == IO_CAPTURE || k == IO_STREAM || k == IO_PULL;
}

/* A copy of the plan's descriptor above 2, close-on-exec. */
static int take_fd(int fd)
{
    return fd < 0 ? -1 : whelk__dup_high(fd);
}

int whelk__filters_start(whelk_proc *pr, struct whelk_filters **out)
{
    const whelk_pipeline *p = whelk__proc_pipeline(pr);
    size_t i, n = whelk__proc_nstages(pr);
    struct whelk_filters *fs;
    int any = 0;

    *out = NULL;
    for (i = 0; i < n; i++)
        any |= whelk__cmd_filter(whelk__pipeline_cmd(p, i), NULL) != NULL;
    if (!any)
        return 0;
    if (!(fs = *out = whelk__calloc(1, sizeof *fs)))
        return ENOMEM;
    fs->pr = pr;
    fs->n = n;
    if (!(fs->f = whelk__calloc(n, sizeof *fs->f)))
        return ENOMEM;
    for (i = 0; i < n; i++) {
        void *ud;
        whelk_filter_fn fn = whelk__cmd_filter(whelk__pipeline_cmd(p, i), &ud);
        const int *fds;
        struct whelk_filter *f;
        if (!fn)
            continue;
        if (!(f = fs->f[i] = whelk__calloc(1, sizeof *f)))
            return ENOMEM;
        f->pr = pr;
        f->stage = i;
        f->fn = fn;
        f->ud = ud;
        f->in_fd = f->out_fd = -1;
        if (!(f->inbuf = whelk__malloc(FILTER_READ)))
            return ENOMEM;
        fds = whelk__plan_fds(whelk__proc_plan(pr), i);
        f->in_fd = take_fd(fds[0]);
        if (f->in_fd < 0)
            return errno;
        f->out_fd = take_fd(fds[1]);
        if (f->out_fd < 0)
            return errno;
        /* the pipes the run made are the filter's alone: non-blocking; a
         * caller's descriptor is left as it is */
        if (is_ours_in(p, i)) {
            (void)fcntl(f->in_fd, F_SETFL, O_NONBLOCK);
            (void)fcntl(f->in_fd, F_SETPIPE_SZ, FILTER_PIPE);
        }
        if (is_ours_out(p, i, n)) {
            f->out_nb = fcntl(f->out_fd, F_SETFL, O_NONBLOCK) == 0;
            (void)fcntl(f->out_fd, F_SETPIPE_SZ, FILTER_PIPE);
        }
        whelk__proc_stage_noproc(pr, i);
    }
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

void whelk__filters_free(struct whelk_filters *fs)
{
    size_t i;

    if (!fs)
        return;
    for (i = 0; fs->f && i < fs->n; i++) {
        struct whelk_filter *f = fs->f[i];
        if (!f)
            continue;
        close_fd(&f->in_fd);
        close_fd(&f->out_fd);
        free(f->inbuf);
        free(f->nested);
        whelk__buf_free(&f->out);
        free(f);
    }
    free(fs->f);
    free(fs);
}

/* ------------------------------------------------------------ life cycle */

static size_t pending(const struct whelk_filter *f)
{
    return f->out.len - f->out_off;
}

/* The stage is over once its input is closed and its output written (or
 * given up): its descriptors are closed and its status is "reaped". */
static void settle(struct whelk_filter *f)
{
    if (!f->ended || f->in_fn || whelk__proc_stage_reaped(f->pr, f->stage))
        return;
    if (pending(f) && f->out_fd >= 0 && !f->sig)
        return;
    close_fd(&f->out_fd);
    f->out.len = f->out_off = 0;
    whelk__proc_stage_ended(f->pr, f->stage, f->sig ? -1 : f->code, f->sig);
}

/* End the stage's input with a status: upstream sees a reader gone. */
static void end(struct whelk_filter *f, int code, int sig)
{
    if (f->ended)
        return;
    f->ended = 1;
    close_fd(&f->in_fd);
    /* an exit status is a byte: other returns are 1 */
    f->code = code >= 0 && code <= 255 ? code : 1;
    f->sig = sig;
    settle(f);
}

/* Write what is pending; 0, or -1 once the reader is gone. */
static int flush(struct whelk_filter *f)
{
    while (pending(f) && f->out_fd >= 0) {
        size_t n = pending(f);
        ssize_t k;
        if (!f->out_nb && n > FOREIGN_WRITE)
            n = FOREIGN_WRITE;
        k = whelk__write_nosigpipe(f->out_fd, f->out.data + f->out_off, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno == EAGAIN)
            return 0;
        if (k < 0) {
            /* EPIPE: the reader went away, as for a program that gets
             * SIGPIPE: the stage ends with it */
            f->broken = 1;
            f->out.len = f->out_off = 0;
            close_fd(&f->out_fd);
            if (f->in_fn) {
                f->killed = SIGPIPE;
            } else if (f->ended) {
                f->sig = SIGPIPE; /* it was flushing its last output */
                settle(f);
            } else {
                end(f, 0, SIGPIPE);
            }
            return -1;
        }
        f->out_off += (size_t)k;
        if (!f->out_nb)
            break; /* one write per readiness */
    }
    if (!pending(f))
        f->out.len = f->out_off = 0;
    return 0;
}

/* One read of the input, given to the function. */
static void feed(struct whelk_filter *f)
{
    ssize_t n;
    int rc;

    do
        n = read(f->in_fd, f->inbuf, FILTER_READ);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        return;
    f->in_fn = 1;
    rc = f->fn(f, n > 0 ? f->inbuf : NULL, n > 0 ? (size_t)n : 0, f->ud);
    f->in_fn = 0;
    if (f->killed) {
        end(f, 0, f->killed);
    } else if (rc != 0 || n <= 0) {
        f->returned = f->ended ? 0 : rc;
        end(f, rc, 0);
    } else {
        settle(f);
    }
}

void whelk__filters_fill(const struct whelk_filters *fs, size_t n,
                         struct pollfd *fds)
{
    size_t i;

    for (i = 0; i < n; i++) {
        struct pollfd *in = &fds[WHELK_FILTER_SLOTS * i], *out = in + 1;
        const struct whelk_filter *f = fs ? fs->f[i] : NULL;
        in->fd = out->fd = -1;
        in->events = POLLIN;
        out->events = POLLOUT;
        in->revents = out->revents = 0;
        if (!f)
            continue;
        if (!f->in_fn && !f->ended && pending(f) < FILTER_BOUND)
            in->fd = f->in_fd;
        if (pending(f))
            out->fd = f->out_fd;
    }
}

void whelk__filters_handle(struct whelk_filters *fs, const struct pollfd *fds)
{
    size_t i;

    if (!fs)
        return;
    for (i = 0; i < fs->n; i++) {
        const struct pollfd *in = &fds[WHELK_FILTER_SLOTS * i], *out = in + 1;
        struct whelk_filter *f = fs->f[i];
        if (!f)
            continue;
        if (out->revents && out->fd >= 0 && out->fd == f->out_fd)
            (void)flush(f);
        if (in->revents && in->fd >= 0 && in->fd == f->in_fd && !f->in_fn &&
            !f->ended)
            feed(f);
        settle(f);
    }
}

int whelk__filter_returned(const struct whelk_filters *fs, size_t stage)
{
    const struct whelk_filter *f = fs && stage < fs->n ? fs->f[stage] : NULL;

    return f ? f->returned : 0;
}

void whelk__filters_signal(struct whelk_filters *fs, int sig)
{
    size_t i;

    if (!fs || (sig != SIGKILL && sig != SIGTERM && sig != SIGINT &&
                sig != SIGHUP && sig != SIGPIPE))
        return;
    for (i = 0; i < fs->n; i++) {
        struct whelk_filter *f = fs->f[i];
        if (!f || whelk__proc_stage_reaped(fs->pr, i))
            continue;
        if (f->in_fn) {
            f->killed = sig; /* whelk_filter_write fails; ends on return */
            continue;
        }
        f->ended = 0; /* a stage still flushing dies of it too */
        close_fd(&f->out_fd);
        end(f, 0, sig);
    }
}

/* ---------------------------------------------------------- the output */

int whelk_filter_write(whelk_filter *f, const void *data, size_t len)
{
    const char *p = data;

    if (!f || (!data && len) || !f->in_fn) {
        errno = EINVAL;
        return -1;
    }
    while (len) {
        size_t take;
        if (f->killed || f->broken || f->out_fd < 0) {
            errno = f->broken ? EPIPE : ECANCELED;
            return -1;
        }
        if (pending(f) >= FILTER_BOUND) {
            /* full: write, and wait for room while the loop goes on */
            if (flush(f) < 0)
                continue;
            if (pending(f) >= FILTER_BOUND) {
                whelk_proc *pr = f->pr;
                if (!f->nested &&
                    !(f->nested = whelk__calloc(whelk__proc_nfds(pr),
                                                sizeof *f->nested))) {
                    errno = ENOMEM;
                    return -1;
                }
                if (whelk__pump_fds(pr, f->nested, -1) && pending(f)) {
                    errno = ECANCELED; /* the run is over */
                    return -1;
                }
                continue;
            }
        }
        if (!pending(f) && f->out_nb) {
            /* nothing waiting: straight into the pipe, no copy */
            ssize_t k = whelk__write_nosigpipe(f->out_fd, p, len);
            if (k > 0) {
                p += k;
                len -= (size_t)k;
                continue;
            }
            if (k < 0 && errno != EAGAIN && errno != EINTR) {
                /* the reader went away: the stage ends with SIGPIPE */
                f->broken = 1;
                close_fd(&f->out_fd);
                f->killed = SIGPIPE;
                continue;
            }
        }
        take = FILTER_BOUND - pending(f);
        if (take > len)
            take = len;
        if (f->out_off && f->out.len + take >= f->out.cap) {
            /* move what waits to the front rather than grow the buffer:
             * it never holds more than FILTER_BOUND */
            memmove(f->out.data, f->out.data + f->out_off, pending(f));
            f->out.len -= f->out_off;
            f->out_off = 0;
        }
        if (whelk__buf_add(&f->out, p, take) < 0) {
            errno = ENOMEM;
            return -1;
        }
        p += take;
        len -= take;
    }
    return 0;
}
