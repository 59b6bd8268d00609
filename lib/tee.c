/*
 * tee.c -- tee and connect: the bytes the loop reads from a run's stdout
 * are also written, in the same loop and in order, to files, descriptors
 * and the stdin of other running pipelines (whelk_pipeline_tee_file,
 * _tee_fd, _tee_proc).  A destination that stops reading (EPIPE) is
 * dropped, as `tee -p` does; the others go on.  At the end of the output,
 * every fed pipeline's stdin is closed, so it finishes like the rest of a
 * shell pipeline `a | tee f | b`.
 *
 * The run's deadline covers its tees: a tee file is opened inside it (a
 * FIFO without a reader, redir.c), and a write waits for a destination to
 * take bytes no longer than the deadline.  A destination that has not
 * taken its bytes by then is dropped (a fed pipeline gets end of file),
 * and the loop times the run out as usual; once the run is stopping (a
 * deadline, a cancel, an abort), a destination that is not ready at once
 * is dropped.  Without a deadline a destination that stops reading holds
 * the run, as tee holds a shell pipeline.  So that no write can block past
 * the deadline, a tee file that is not a regular file is written without
 * blocking (O_NONBLOCK on the run's own open file), and a caller's
 * blocking descriptor that is not a regular file gets at most PIPE_BUF
 * bytes a write, each after poll(2) said it has room (a terminal, where
 * that does not hold, is opened anew and written without blocking).
 */
#include "tee.h"
#include "alloc.h"
#include "builder.h"
#include "errors.h"
#include "fault.h"
#include "names.h"
#include "proc.h"
#include "redir.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

enum { TEE_FILE, TEE_FD, TEE_PROC };

typedef struct tee_dst {
    int kind;
    char *path; /* TEE_FILE */
    int append;
    int fd;          /* TEE_FD */
    whelk_proc *dst; /* TEE_PROC */
} tee_dst;

struct whelk_tees {
    tee_dst *d;
    size_t n, cap;
};

/* How a descriptor is written without blocking past the deadline. */
enum {
    PUT_PLAIN, /* a regular file or block device: write(2) as it comes */
    PUT_NB,    /* non-blocking: write, and wait for room on EAGAIN */
    PUT_CHUNK  /* a caller's blocking pipe, socket, terminal...: wait for
                  room, then at most PIPE_BUF bytes a write */
};

/* One run's open destinations. */
struct whelk_teerun {
    const struct whelk_tees *t; /* the pipeline's list */
    size_t n;
    int *fds;  /* per destination: the descriptor written, -1 for a proc */
    int *open; /* the run opened it (closed at the end) */
    int *dead; /* it stopped reading, or did not keep up: dropped */
    int *how;  /* PUT_* for a descriptor */
};

/* ------------------------------------------------------------ builders */

static tee_dst *add(whelk_pipeline *p)
{
    struct whelk_tees *t = whelk__pipeline_tees(p);

    if (!t) {
        if (!(t = whelk__calloc(1, sizeof *t)))
            goto nomem;
        whelk__pipeline_set_tees(p, t);
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4;
        tee_dst *v = whelk__realloc(t->d, cap * sizeof *v);
        if (!v)
            goto nomem;
        t->d = v;
        t->cap = cap;
    }
    memset(&t->d[t->n], 0, sizeof t->d[t->n]);
    t->d[t->n].fd = -1;
    return &t->d[t->n++];
nomem:
    whelk__fault_set(whelk__pipeline_fault(p), WHELK_E_NOMEM, ENOMEM,
                     "out of memory");
    return NULL;
}

void whelk_pipeline_tee_file(whelk_pipeline *p, const char *path, int append)
{
    tee_dst *d;
    char *copy;

    if (!WHELK_PIPE_OK(p))
        return;
    if (!path) {
        whelk__fault_set(whelk__pipeline_fault(p), WHELK_E_INVALID, EINVAL,
                         "tee file path is NULL");
        return;
    }
    if (!(copy = whelk__strdup(path))) {
        whelk__fault_set(whelk__pipeline_fault(p), WHELK_E_NOMEM, ENOMEM,
                         "out of memory");
        return;
    }
    if (!(d = add(p))) {
        free(copy);
        return;
    }
    d->kind = TEE_FILE;
    d->path = copy;
    d->append = append != 0;
}

void whelk_pipeline_tee_fd(whelk_pipeline *p, int fd)
{
    tee_dst *d;

    if (!WHELK_PIPE_OK(p))
        return;
    if (fd < 0) {
        whelk__fault_set(whelk__pipeline_fault(p), WHELK_E_INVALID, EINVAL,
                         "invalid tee descriptor %d", fd);
        return;
    }
    if ((d = add(p)) != NULL) {
        d->kind = TEE_FD;
        d->fd = fd;
    }
}

void whelk_pipeline_tee_proc(whelk_pipeline *p, whelk_proc *dst)
{
    tee_dst *d;

    if (!WHELK_PIPE_OK(p))
        return;
    if (!dst) {
        whelk__fault_set(whelk__pipeline_fault(p), WHELK_E_INVALID, EINVAL,
                         "the tee's pipeline is NULL");
        return;
    }
    if ((d = add(p)) != NULL) {
        d->kind = TEE_PROC;
        d->dst = dst;
    }
}

void whelk__tees_free(struct whelk_tees *t)
{
    size_t i;

    if (!t)
        return;
    for (i = 0; i < t->n; i++)
        free(t->d[i].path);
    free(t->d);
    free(t);
}

struct whelk_tees *whelk__tees_dup(const struct whelk_tees *t, int *bad)
{
    struct whelk_tees *c;
    size_t i;

    if (!t)
        return NULL;
    if (!(c = whelk__calloc(1, sizeof *c)) ||
        !(c->d = whelk__calloc(t->n ? t->n : 1, sizeof *c->d))) {
        free(c);
        *bad = 1;
        return NULL;
    }
    c->n = c->cap = t->n;
    for (i = 0; i < t->n; i++) {
        c->d[i] = t->d[i];
        if (t->d[i].path && !(c->d[i].path = whelk__strdup(t->d[i].path)))
            *bad = 1;
    }
    return c;
}

/* ---------------------------------------------------------------- runs */

/* PUT_* for fd; own: the run opened it, and may make it non-blocking. */
static int put_how(int fd, int own)
{
    struct stat st;
    int fl = fcntl(fd, F_GETFL);

    if (fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
        return PUT_PLAIN;
    if (fl >= 0 && (fl & O_NONBLOCK))
        return PUT_NB;
    if (own && fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0)
        return PUT_NB;
    return PUT_CHUNK;
}

/* A caller's blocking terminal fd opened anew, non-blocking: poll(2) says
 * a terminal has room when it has any, and a blocking write of even a few
 * bytes then waits for all of them, for ever if nobody reads; its own open
 * file lets the run write it without blocking and without touching the
 * flags of the caller's.  -1 for anything else, or when it cannot be
 * opened (it is then written PUT_CHUNK). */
static int reopen_tty(int fd)
{
    char path[32];
    int nfd, fl = fcntl(fd, F_GETFL);

    unsigned ptn;

    /* one the caller cannot write through is not made writable; a pty's
     * master opened anew would be the master of a new pty */
    if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY || !isatty(fd) ||
        ioctl(fd, TIOCGPTN, &ptn) == 0)
        return -1;
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    do
        nfd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    while (nfd < 0 && errno == EINTR);
    return nfd < 0 ? -1 : whelk__fd_high(nfd);
}

/* Open the tee file of d for a run of p inside its deadline; the
 * descriptor, or -1 and *err. */
static int open_file(const whelk_pipeline *p, const tee_dst *d,
                     int64_t deadline_ms, whelk_error **err)
{
    int fd = whelk__fd_high(whelk__open_redir(
        d->path, O_WRONLY | O_CREAT | (d->append ? O_APPEND : O_TRUNC),
        deadline_ms));
    int e = errno;

    if (fd >= 0)
        return fd;
    if (e == ETIMEDOUT && deadline_ms >= 0)
        *err =
            whelk__error_new(WHELK_E_TIMEOUT, ETIMEDOUT, WHELK_NO_STAGE, NULL,
                             "cannot open %s for writing (tee): timed out "
                             "after %u ms waiting for its other end",
                             d->path, whelk__pipeline_timeout_ms(p));
    else
        *err = whelk__error_new(whelk__errno_kind(e, WHELK_E_IO), e,
                                WHELK_NO_STAGE, NULL,
                                "cannot open %s for writing (tee): %s", d->path,
                                whelk__strerror(e));
    return -1;
}

whelk_error *whelk__tee_start(const whelk_pipeline *p, int64_t deadline_ms,
                              struct whelk_teerun **run)
{
    const struct whelk_tees *t = whelk__pipeline_tees(p);
    struct whelk_teerun *r;
    whelk_error *err = NULL;
    int k = whelk__pipeline_out_kind(p);
    size_t i;

    if (!t || !t->n)
        return NULL;
    if (k != IO_CAPTURE && k != IO_STREAM && k != IO_PULL)
        return whelk__error_new(WHELK_E_INVALID, EINVAL, WHELK_NO_STAGE, NULL,
                                "a tee needs the pipeline's stdout read by "
                                "the library (WHELK_CAPTURE, WHELK_STREAM "
                                "or WHELK_PULL)");
    if (!(r = *run = whelk__calloc(1, sizeof *r)) ||
        !(r->fds = whelk__calloc(t->n, sizeof *r->fds)) ||
        !(r->open = whelk__calloc(t->n, sizeof *r->open)) ||
        !(r->dead = whelk__calloc(t->n, sizeof *r->dead)) ||
        !(r->how = whelk__calloc(t->n, sizeof *r->how)))
        return (whelk_error *)&whelk__nomem_error;
    r->t = t;
    r->n = t->n;
    for (i = 0; i < t->n; i++) {
        const tee_dst *d = &t->d[i];
        int own;
        r->fds[i] = -1;
        if (d->kind == TEE_FD) {
            r->fds[i] = d->fd;
            r->how[i] = put_how(d->fd, 0);
            if (r->how[i] == PUT_CHUNK && (own = reopen_tty(d->fd)) >= 0) {
                r->fds[i] = own; /* a terminal: see reopen_tty */
                r->open[i] = 1;
                r->how[i] = PUT_NB;
            }
        } else if (d->kind == TEE_FILE) {
            if ((r->fds[i] = open_file(p, d, deadline_ms, &err)) < 0)
                return err;
            r->open[i] = 1;
            r->how[i] = put_how(r->fds[i], 1);
        }
    }
    return NULL;
}

void whelk__tee_free(struct whelk_teerun *r)
{
    size_t i;

    if (!r)
        return;
    for (i = 0; i < r->n; i++) {
        if (r->open[i] && r->fds[i] >= 0)
            close(r->fds[i]);
        /* the run is over, however it ended (a cancel, an abort, a failure
         * to start): a fed pipeline not yet given end of file gets it */
        if (r->t->d[i].kind == TEE_PROC && !r->dead[i])
            (void)whelk_proc_close_stdin(r->t->d[i].dst);
    }
    free(r->fds);
    free(r->open);
    free(r->dead);
    free(r->how);
    free(r);
}

/* All of data to fd, written the way how says, waiting for room no later
 * than until; -1 when the reader is gone, the write failed or the time
 * passed (ETIMEDOUT). */
static int put_fd(int fd, int how, const char *data, size_t len, int64_t until)
{
    while (len) {
        size_t n = how == PUT_CHUNK && len > PIPE_BUF ? PIPE_BUF : len;
        ssize_t k;

        if (how == PUT_CHUNK && whelk__await_fd(fd, POLLOUT, until) < 0)
            return -1;
        k = whelk__write_nosigpipe(fd, data, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno == EAGAIN &&
            whelk__await_fd(fd, POLLOUT, until) == 0)
            continue; /* room now */
        if (k < 0)
            return -1;
        data += k;
        len -= (size_t)k;
    }
    return 0;
}

int whelk__tee_put_fd(int fd, const char *data, size_t len, int64_t until)
{
    return put_fd(fd, put_how(fd, 0), data, len, until);
}

/* All of data into a running pipeline's stdin (its loop runs meanwhile),
 * no later than until; -1 when it stopped reading, the time passed or src
 * was stopped meanwhile (by a callback of dst). */
static int put_proc(whelk_proc *src, whelk_proc *dst, const char *data,
                    size_t len, int64_t until)
{
    while (len) {
        ssize_t k;

        if (whelk__proc_stopping(src))
            return -1;
        k = whelk_proc_write(dst, data, len, whelk__left_ms(until));
        if (k < 0)
            return -1;
        data += k;
        len -= (size_t)k;
    }
    return 0;
}

void whelk__tee_copy(struct whelk_teerun *r, whelk_proc *src, const char *data,
                     size_t len, int eof, int64_t until)
{
    const struct whelk_tees *t = r->t;
    size_t i;

    for (i = 0; i < r->n; i++) {
        const tee_dst *d = &t->d[i];
        int failed;
        if (r->dead[i])
            continue;
        failed =
            len && (d->kind == TEE_PROC
                        ? put_proc(src, d->dst, data, len, until)
                        : put_fd(r->fds[i], r->how[i], data, len, until)) < 0;
        if (failed)
            r->dead[i] = 1; /* stopped reading (dropped, like tee -p), or
                               did not keep up with the deadline */
        if (d->kind == TEE_PROC && (eof || failed)) {
            /* its input is over: it finishes like `b` in `a | tee f | b` */
            (void)whelk_proc_close_stdin(d->dst);
            r->dead[i] = 1;
        }
    }
}
