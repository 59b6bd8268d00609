/*
 * tee.c -- tee and connect: the bytes the loop reads from a run's stdout
 * are also written, in the same loop and in order, to files, descriptors
 * and the stdin of other running pipelines (whelk_pipeline_tee_file,
 * _tee_fd, _tee_proc).  A destination that stops reading (EPIPE) is
 * dropped, as `tee -p` does; the others go on.  At the end of the output,
 * every fed pipeline's stdin is closed, so it finishes like the rest of a
 * shell pipeline `a | tee f | b`.
 */
#include "tee.h"
#include "alloc.h"
#include "builder.h"
#include "errors.h"
#include "fault.h"
#include "names.h"
#include "proc.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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

/* One run's open destinations. */
struct whelk_teerun {
    const struct whelk_tees *t; /* the pipeline's list */
    size_t n;
    int *fds;  /* per destination: the descriptor written, -1 for a proc */
    int *open; /* the run opened it (closed at the end) */
    int *dead; /* it stopped reading: dropped */
};

/* ------------------------------------------------------------ builders */

static tee_dst *add(whelk_pipeline *p)
{
    struct whelk_tees *t = p->tees;

    if (!t && !(t = p->tees = whelk__calloc(1, sizeof *t)))
        goto nomem;
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
    whelk__fault_set(&p->fault, WHELK_E_NOMEM, ENOMEM, "out of memory");
    return NULL;
}

void whelk_pipeline_tee_file(whelk_pipeline *p, const char *path, int append)
{
    tee_dst *d;
    char *copy;

    if (!WHELK_PIPE_OK(p))
        return;
    if (!path) {
        whelk__fault_set(&p->fault, WHELK_E_INVALID, EINVAL,
                         "tee file path is NULL");
        return;
    }
    if (!(copy = whelk__strdup(path))) {
        whelk__fault_set(&p->fault, WHELK_E_NOMEM, ENOMEM, "out of memory");
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
        whelk__fault_set(&p->fault, WHELK_E_INVALID, EINVAL,
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
        whelk__fault_set(&p->fault, WHELK_E_INVALID, EINVAL,
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

whelk_error *whelk__tee_start(const whelk_pipeline *p,
                              struct whelk_teerun **run)
{
    const struct whelk_tees *t = p->tees;
    struct whelk_teerun *r;
    int k = p->out.kind;
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
        !(r->dead = whelk__calloc(t->n, sizeof *r->dead)))
        return (whelk_error *)&whelk__nomem_error;
    r->t = t;
    r->n = t->n;
    for (i = 0; i < t->n; i++) {
        const tee_dst *d = &t->d[i];
        r->fds[i] = -1;
        if (d->kind == TEE_FD) {
            r->fds[i] = d->fd;
        } else if (d->kind == TEE_FILE) {
            int fd =
                whelk__fd_high(open(d->path,
                                    O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY |
                                        (d->append ? O_APPEND : O_TRUNC),
                                    0666));
            if (fd < 0) {
                int e = errno;
                return whelk__error_new(whelk__errno_kind(e, WHELK_E_IO), e,
                                        WHELK_NO_STAGE, NULL,
                                        "cannot open %s for writing (tee): %s",
                                        d->path, whelk__strerror(e));
            }
            r->fds[i] = fd;
            r->open[i] = 1;
        }
    }
    return NULL;
}

void whelk__tee_free(struct whelk_teerun *r)
{
    size_t i;

    if (!r)
        return;
    for (i = 0; r->fds && i < r->n; i++)
        if (r->open && r->open[i] && r->fds[i] >= 0)
            close(r->fds[i]);
    free(r->fds);
    free(r->open);
    free(r->dead);
    free(r);
}

/* All of data to fd; -1 when the reader is gone or the write failed. */
static int put_fd(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t k = whelk__write_nosigpipe(fd, data, len);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue; /* a caller's non-blocking descriptor: retry */
        if (k < 0)
            return -1;
        data += k;
        len -= (size_t)k;
    }
    return 0;
}

/* All of data into a running pipeline's stdin (its loop runs meanwhile). */
static int put_proc(whelk_proc *dst, const char *data, size_t len)
{
    while (len) {
        ssize_t k = whelk_proc_write(dst, data, len, -1);
        if (k < 0)
            return -1;
        data += k;
        len -= (size_t)k;
    }
    return 0;
}

void whelk__tee_copy(struct whelk_teerun *r, const char *data, size_t len,
                     int eof)
{
    const struct whelk_tees *t = r->t;
    size_t i;

    for (i = 0; i < r->n; i++) {
        const tee_dst *d = &t->d[i];
        if (r->dead[i])
            continue;
        if (len && (d->kind == TEE_PROC ? put_proc(d->dst, data, len)
                                        : put_fd(r->fds[i], data, len)) < 0)
            r->dead[i] = 1; /* it stopped reading: dropped, like tee -p */
        if (eof && d->kind == TEE_PROC) {
            (void)whelk_proc_close_stdin(d->dst);
            r->dead[i] = 1;
        }
    }
}
