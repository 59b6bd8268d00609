/*
 * pipeline.c -- the pipeline builder: stages, stdin and stdout, checking,
 * callbacks, decoding, hooks and limits.  Like cmd.c, problems are
 * remembered in p->fault and reported by the run.
 */
#include "alloc.h"
#include "fault.h"
#include "builder_body.h"
#include "tee.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define NOMEM(p)                                                               \
    whelk__fault_set(&(p)->fault, WHELK_E_NOMEM, ENOMEM, "out of memory")

const struct whelk_pipeline whelk__nomem_pipeline = {
    .fault = {WHELK_E_NOMEM, ENOMEM, (char *)"out of memory"},
};

whelk_pipeline *whelk_pipeline_new(void)
{
    whelk_pipeline *p = whelk__calloc(1, sizeof *p);

    if (!p)
        return (whelk_pipeline *)&whelk__nomem_pipeline;
    p->in.kind = IO_NULL;
    p->in.fd = -1;
    p->out.kind = IO_CAPTURE;
    p->out.fd = -1;
    p->check = 1;
    p->pgroup = 1;
    p->max_line = 1024 * 1024;
    p->grace_ms = 2000;
    return p;
}

void whelk_pipeline_add(whelk_pipeline *p, whelk_cmd *cmd)
{
    if (!WHELK_PIPE_OK(p)) {
        whelk_cmd_free(cmd);
        return;
    }
    if (!WHELK_CMD_OK(cmd)) {
        NOMEM(p);
        return;
    }
    if (p->ncmds == p->cmdcap) {
        size_t cap = p->cmdcap ? p->cmdcap * 2 : 4;
        whelk_cmd **v = whelk__reallocarray(p->cmds, cap, sizeof *v);
        if (!v) {
            whelk_cmd_free(cmd);
            NOMEM(p);
            return;
        }
        p->cmds = v;
        p->cmdcap = cap;
    }
    p->cmds[p->ncmds++] = cmd;
}

whelk_pipeline *whelk__pipe_va(whelk_cmd *first, va_list ap)
{
    whelk_pipeline *p = whelk_pipeline_new();
    whelk_cmd *c;

    whelk_pipeline_add(p, first);
    if (first)
        while ((c = va_arg(ap, whelk_cmd *)) != NULL)
            whelk_pipeline_add(p, c);
    return p;
}

whelk_pipeline *whelk_pipe(whelk_cmd *first, ...)
{
    whelk_pipeline *p;
    va_list ap;

    va_start(ap, first);
    p = whelk__pipe_va(first, ap);
    va_end(ap);
    return p;
}

size_t whelk_pipeline_ncmds(const whelk_pipeline *p)
{
    return p ? p->ncmds : 0;
}

whelk_cmd *whelk_pipeline_cmd(whelk_pipeline *p, size_t stage)
{
    return p && stage < p->ncmds ? p->cmds[stage] : NULL;
}

static void drop_input(whelk_pipeline *p)
{
    free(p->in_data);
    p->in_data = NULL;
    p->in_len = 0;
}

void whelk_pipeline_stdin_bytes(whelk_pipeline *p, const void *data, size_t len)
{
    unsigned char *copy;

    if (!WHELK_PIPE_OK(p))
        return;
    if (!data && len) {
        whelk__fault_set(&p->fault, WHELK_E_INVALID, EINVAL,
                         "stdin data is NULL");
        return;
    }
    if (!(copy = whelk__memdup(data ? data : "", len))) {
        NOMEM(p);
        return;
    }
    drop_input(p);
    whelk__io_set(&p->in, IO_BYTES);
    p->in_data = copy;
    p->in_len = len;
}

void whelk_pipeline_stdin_file(whelk_pipeline *p, const char *path)
{
    if (!WHELK_PIPE_OK(p))
        return;
    drop_input(p);
    whelk__io_file(&p->in, &p->fault, path, 0, "stdin file");
}

void whelk_pipeline_stdin_fd(whelk_pipeline *p, int fd)
{
    if (!WHELK_PIPE_OK(p))
        return;
    drop_input(p);
    whelk__io_fd(&p->in, &p->fault, fd, "stdin");
}

void whelk_pipeline_stdin(whelk_pipeline *p, int dest)
{
    if (!WHELK_PIPE_OK(p))
        return;
    if (dest != WHELK_NULL && dest != WHELK_INHERIT && dest != WHELK_FEED) {
        whelk__fault_set(&p->fault, WHELK_E_INVALID, EINVAL,
                         "invalid stdin source %d", dest);
        return;
    }
    drop_input(p);
    whelk__io_set(&p->in, dest);
}

void whelk_pipeline_stdin_encoding(whelk_pipeline *p, const char *encoding)
{
    char *e = NULL;

    if (!WHELK_PIPE_OK(p))
        return;
    if (encoding && !(e = whelk__strdup(encoding))) {
        NOMEM(p);
        return;
    }
    free(p->in_encoding);
    p->in_encoding = e;
}

void whelk_pipeline_stdout(whelk_pipeline *p, int dest)
{
    if (!WHELK_PIPE_OK(p))
        return;
    switch (dest) {
    case WHELK_CAPTURE:
    case WHELK_STREAM:
    case WHELK_NULL:
    case WHELK_INHERIT:
    case WHELK_PULL:
    case WHELK_TO_STDERR: whelk__io_set(&p->out, dest); return;
    default:
        whelk__fault_set(&p->fault, WHELK_E_INVALID, EINVAL,
                         "invalid stdout destination %d", dest);
    }
}

void whelk_pipeline_stdout_file(whelk_pipeline *p, const char *path, int append)
{
    if (WHELK_PIPE_OK(p))
        whelk__io_file(&p->out, &p->fault, path, append, "stdout file");
}

void whelk_pipeline_stdout_fd(whelk_pipeline *p, int fd)
{
    if (WHELK_PIPE_OK(p))
        whelk__io_fd(&p->out, &p->fault, fd, "stdout");
}

void whelk_pipeline_check(whelk_pipeline *p, int on)
{
    if (WHELK_PIPE_OK(p))
        p->check = on != 0;
}

void whelk_pipeline_capture_limit(whelk_pipeline *p, size_t bytes)
{
    if (WHELK_PIPE_OK(p))
        p->capture_limit = bytes;
}

void whelk_pipeline_pgroup(whelk_pipeline *p, int on)
{
    if (WHELK_PIPE_OK(p))
        p->pgroup = on != 0;
}

void whelk_pipeline_timeout(whelk_pipeline *p, unsigned ms)
{
    if (WHELK_PIPE_OK(p))
        p->timeout_ms = ms;
}

void whelk_pipeline_die_with_host(whelk_pipeline *p, int on)
{
    if (WHELK_PIPE_OK(p))
        p->die_with_host = on != 0;
}

void whelk_pipeline_kill_grace(whelk_pipeline *p, unsigned ms)
{
    if (WHELK_PIPE_OK(p))
        p->grace_ms = ms;
}

static int valid_streams(whelk_pipeline *p, int streams)
{
    if (streams & ~(WHELK_STDOUT | WHELK_STDERR)) {
        whelk__fault_set(&p->fault, WHELK_E_INVALID, EINVAL,
                         "invalid stream bits %d", streams);
        return 0;
    }
    return 1;
}

void whelk_pipeline_on_line(whelk_pipeline *p, int streams, whelk_line_fn fn,
                            void *userdata)
{
    if (!WHELK_PIPE_OK(p) || !valid_streams(p, streams))
        return;
    p->line_fn = fn;
    p->line_streams = fn ? streams : 0;
    p->line_ud = userdata;
}

void whelk_pipeline_on_chunk(whelk_pipeline *p, int streams, whelk_chunk_fn fn,
                             void *userdata)
{
    if (!WHELK_PIPE_OK(p) || !valid_streams(p, streams))
        return;
    p->chunk_fn = fn;
    p->chunk_streams = fn ? streams : 0;
    p->chunk_ud = userdata;
}

void whelk_pipeline_max_line(whelk_pipeline *p, size_t bytes)
{
    if (!WHELK_PIPE_OK(p))
        return;
    if (!bytes) {
        whelk__fault_set(&p->fault, WHELK_E_INVALID, EINVAL,
                         "max_line must be at least 1 byte");
        return;
    }
    p->max_line = bytes;
}

void whelk_pipeline_decode(whelk_pipeline *p, int streams, const char *encoding,
                           int policy)
{
    int i;

    if (!WHELK_PIPE_OK(p) || !valid_streams(p, streams))
        return;
    if (policy != WHELK_DECODE_STRICT && policy != WHELK_DECODE_REPLACE) {
        whelk__fault_set(&p->fault, WHELK_E_INVALID, EINVAL,
                         "invalid decoding policy %d", policy);
        return;
    }
    for (i = 0; i < 2; i++) {
        char *e = NULL;
        if (!(streams & (1 << i)))
            continue;
        if (encoding && !(e = whelk__strdup(encoding))) {
            NOMEM(p);
            return;
        }
        free(p->decode[i].encoding);
        p->decode[i].encoding = e;
        p->decode[i].policy = policy;
    }
}

void whelk_pipeline_on_start(whelk_pipeline *p,
                             void (*fn)(const whelk_pipeline *, void *),
                             void *userdata)
{
    if (WHELK_PIPE_OK(p)) {
        p->start_fn = fn;
        p->start_ud = userdata;
    }
}

void whelk_pipeline_on_exit(whelk_pipeline *p,
                            int (*fn)(const whelk_result *, const whelk_error *,
                                      void *),
                            void *userdata)
{
    if (WHELK_PIPE_OK(p)) {
        p->exit_fn = fn;
        p->exit_ud = userdata;
    }
}

static char *dup_str(const char *s, int *bad)
{
    char *c;

    if (!s)
        return NULL;
    if (!(c = whelk__strdup(s)))
        *bad = 1;
    return c;
}

whelk_pipeline *whelk_pipeline_dup(const whelk_pipeline *src)
{
    whelk_pipeline *p;
    size_t i;
    int bad = 0;

    if (src == &whelk__nomem_pipeline)
        return (whelk_pipeline *)&whelk__nomem_pipeline;
    p = whelk_pipeline_new();
    if (!WHELK_PIPE_OK(p))
        return p;
    if (!src) {
        whelk__fault_set(&p->fault, WHELK_E_INVALID, EINVAL,
                         "whelk_pipeline_dup of a NULL pipeline");
        return p;
    }
    /* Every setting by value, then a copy of each owned pointer: a field
     * that owns memory must be listed here (see struct whelk_pipeline). */
    *p = *src;
    p->cmds = NULL;
    p->ncmds = p->cmdcap = 0;
    p->in.path = dup_str(src->in.path, &bad);
    p->in_data = NULL;
    if (src->in_data &&
        !(p->in_data = whelk__memdup(src->in_data, src->in_len)))
        bad = 1;
    p->in_encoding = dup_str(src->in_encoding, &bad);
    p->out.path = dup_str(src->out.path, &bad);
    for (i = 0; i < 2; i++)
        p->decode[i].encoding = dup_str(src->decode[i].encoding, &bad);
    p->tees = whelk__tees_dup(src->tees, &bad);
    memset(&p->fault, 0, sizeof p->fault);
    whelk__fault_copy(&p->fault, &src->fault);
    p->remote = NULL; /* shared: the copy takes its own reference */
    if (src->remote)
        whelk_pipeline_remote(p, src->remote);
    for (i = 0; i < src->ncmds; i++)
        whelk_pipeline_add(p, whelk_cmd_dup(src->cmds[i]));
    if (bad)
        NOMEM(p);
    return p;
}

void whelk_pipeline_free(whelk_pipeline *p)
{
    size_t i;

    if (!WHELK_PIPE_OK(p))
        return;
    for (i = 0; i < p->ncmds; i++)
        whelk_cmd_free(p->cmds[i]);
    free(p->cmds);
    free(p->in.path);
    free(p->in_data);
    free(p->in_encoding);
    free(p->out.path);
    free(p->decode[0].encoding);
    free(p->decode[1].encoding);
    whelk__tees_free(p->tees);
    whelk_remote_free(p->remote);
    whelk__fault_clear(&p->fault);
    free(p);
}

/* ------------------------------------------------------------ accessors */

const whelk_cmd *whelk__pipeline_cmd(const whelk_pipeline *p, size_t i)
{
    return p->cmds[i];
}

int whelk__pipeline_checks(const whelk_pipeline *p)
{
    return p->check;
}

size_t whelk__pipeline_max_line(const whelk_pipeline *p)
{
    return p->max_line;
}

const char *whelk__pipeline_in_encoding(const whelk_pipeline *p)
{
    return p->in_encoding;
}

int whelk__pipeline_die_with_host(const whelk_pipeline *p)
{
    return p->die_with_host;
}

int whelk__pipeline_in_kind(const whelk_pipeline *p)
{
    return p->in.kind;
}

int whelk__pipeline_out_kind(const whelk_pipeline *p)
{
    return p->out.kind;
}

whelk_fault *whelk__pipeline_fault(whelk_pipeline *p)
{
    return &p->fault;
}

struct whelk_tees *whelk__pipeline_tees(const whelk_pipeline *p)
{
    return p->tees;
}

void whelk__pipeline_set_tees(whelk_pipeline *p, struct whelk_tees *t)
{
    p->tees = t;
}

unsigned whelk__pipeline_timeout_ms(const whelk_pipeline *p)
{
    return p->timeout_ms;
}
