/*
 * plan.c -- everything an attempt needs before anything is spawned:
 * validate the pipeline, resolve each program in PATH, check each cwd,
 * build environments, open redirection files, make the pipes and the
 * streams the host will read.  Any failure releases what was taken and
 * is reported as an error naming what went wrong; nothing is spawned.
 * The plan's body is private to this file (plan.h offers accessors).
 */
#include "alloc.h"
#include "buf.h"
#include "names.h"
#include "fault.h"
#include "builder_body.h"
#include "errors.h"
#include "decode.h"
#include "lines.h"
#include "plan.h"
#include "stream.h"
#include "redir.h"
#include "childsetup.h"
#include "sys.h"
#include "remote.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_PATH "/bin:/usr/bin"

/* Everything made for one attempt before spawning. */
struct whelk_plan {
    size_t n;
    char **paths;        /* resolved program path per stage */
    char ***envp;        /* per stage: NULL = the host's environ */
    int (*child_fds)[3]; /* per stage: parent fds to install as 0, 1, 2 */
    int *owned;          /* fds the plan opened, closed after spawning */
    size_t nowned, ownedcap;
    whelk_stream *streams;
    size_t nstreams;
    int in_fd;         /* our write end for stdin bytes, or -1 */
    whelk_buf in_data; /* encoded stdin bytes (owned copy if converted) */
    const unsigned char *in_ptr;
    size_t in_len;
    int feed; /* WHELK_FEED: in_fd is written by the host (hostio.c) */
    struct whelk_child_setup **setups; /* per stage, or NULL (childsetup.h) */
};

/* ------------------------------------------------------------ PATH search */

/* A descriptor of cwd to resolve relative paths in, made when first
 * needed: *dirfd is -2 until then, AT_FDCWD without a cwd.  Relative to
 * the directory, not a joined string, so that a cwd near PATH_MAX works
 * as `cd cwd && ./tool` does.  0, or an errno value. */
static int cwd_fd(const char *cwd, int *dirfd)
{
    if (*dirfd != -2)
        return 0;
    if (!cwd) {
        *dirfd = AT_FDCWD;
        return 0;
    }
    *dirfd = whelk__fd_high(open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC));
    return *dirfd < 0 ? (*dirfd = -2, errno) : 0;
}

/* Is path (relative to cwd when relative) an executable regular file?
 * 0, or an errno value. */
static int probe(const char *cwd, int *dirfd, const char *path)
{
    struct stat st;
    int at = AT_FDCWD, e;

    if (path[0] != '/') {
        if ((e = cwd_fd(cwd, dirfd)) != 0)
            return e;
        at = *dirfd;
    }
    if (faccessat(at, path, X_OK, AT_EACCESS) < 0)
        return errno;
    if (fstatat(at, path, &st, 0) < 0)
        return errno;
    return S_ISREG(st.st_mode) ? 0 : EACCES;
}

static char *search(const char *prog, const char *path_env, const char *cwd,
                    int *dirfd, int *errnum)
{
    size_t plen = strlen(prog);
    const char *dir = path_env, *end;
    int seen_eacces = 0;
    char *cand;

    if (strchr(prog, '/')) {
        if ((*errnum = probe(cwd, dirfd, prog)) != 0)
            return NULL;
        if (!(cand = whelk__strdup(prog)))
            *errnum = ENOMEM;
        return cand;
    }
    for (;;) {
        size_t dlen;
        int rc;

        end = strchr(dir, ':');
        dlen = end ? (size_t)(end - dir) : strlen(dir);
        if (!(cand = whelk__malloc(dlen + plen + 3))) {
            *errnum = ENOMEM;
            return NULL;
        }
        if (dlen) {
            memcpy(cand, dir, dlen);
        } else {
            cand[0] = '.'; /* an empty entry is the current directory */
            dlen = 1;
        }
        cand[dlen] = '/';
        memcpy(cand + dlen + 1, prog, plen + 1);
        rc = probe(cwd, dirfd, cand);
        if (rc == 0) {
            *errnum = 0;
            return cand;
        }
        free(cand);
        if (rc == ENOMEM || rc == EMFILE || rc == ENFILE) {
            /* the search could not look: not "not found" */
            *errnum = rc;
            return NULL;
        }
        seen_eacces |= rc == EACCES;
        if (!end)
            break;
        dir = end + 1;
    }
    *errnum = seen_eacces ? EACCES : ENOENT;
    return NULL;
}

/* The path to exec for prog: prog itself when it holds a '/', else the
 * first executable regular file in path_env's directories; relative paths
 * are probed in cwd (NULL: ours).  NULL with *errnum (ENOENT, EACCES,
 * ENOMEM, ...). */
static char *resolve(const char *prog, const char *path_env, const char *cwd,
                     int *errnum)
{
    int dirfd = -2;
    char *found = search(prog, path_env, cwd, &dirfd, errnum);

    if (dirfd >= 0)
        close(dirfd);
    return found;
}

/* ------------------------------------------------ scripts that cannot run */

/* Appends s to b with bytes a person cannot see escaped (\r, \xHH). */
static int add_visible(whelk_buf *b, const char *s, size_t n)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r')
            rc = whelk__buf_addstr(b, "\\r");
        else if (c < 0x20 || c == 0x7F)
            rc = whelk__buf_printf(b, "\\x%02X", c);
        else
            rc = whelk__buf_add(b, s + i, 1);
    }
    return rc;
}

/* pread of exactly n bytes at off; 0 or -1. */
static int read_at(int fd, void *buf, size_t n, off_t off)
{
    ssize_t r;

    do
        r = pread(fd, buf, n, off);
    while (r < 0 && errno == EINTR);
    return r == (ssize_t)n ? 0 : -1;
}

/* The dynamic loader an ELF file of this machine's byte order names
 * (PT_INTERP) in buf; its length, or 0 when there is none. */
#define ELF_INTERP(Ehdr, Phdr)                                                 \
    do {                                                                       \
        Ehdr eh;                                                               \
        Phdr ph;                                                               \
        size_t i, len;                                                         \
        if (read_at(fd, &eh, sizeof eh, 0) < 0 ||                              \
            eh.e_phentsize != sizeof ph || eh.e_phnum > 256)                   \
            return 0;                                                          \
        for (i = 0; i < eh.e_phnum; i++) {                                     \
            if (read_at(fd, &ph, sizeof ph,                                    \
                        (off_t)(eh.e_phoff + i * sizeof ph)) < 0)              \
                return 0;                                                      \
            if (ph.p_type != PT_INTERP)                                        \
                continue;                                                      \
            len = ph.p_filesz < size ? (size_t)ph.p_filesz : size - 1;         \
            if (read_at(fd, buf, len, (off_t)ph.p_offset) < 0)                 \
                return 0;                                                      \
            buf[len] = '\0';                                                   \
            return strlen(buf);                                                \
        }                                                                      \
        return 0;                                                              \
    } while (0)

static size_t elf_interp(int fd, const unsigned char *id, char *buf,
                         size_t size)
{
    static const union {
        uint16_t u;
        unsigned char b[2];
    } order = {1};
    unsigned char native = order.b[0] ? ELFDATA2LSB : ELFDATA2MSB;

    if (memcmp(id, ELFMAG, SELFMAG) != 0 || id[EI_DATA] != native)
        return 0;
    if (id[EI_CLASS] == ELFCLASS64)
        ELF_INTERP(Elf64_Ehdr, Elf64_Phdr);
    if (id[EI_CLASS] == ELFCLASS32)
        ELF_INTERP(Elf32_Ehdr, Elf32_Phdr);
    return 0;
}

whelk_error *whelk__missing_interpreter(const whelk_cmd *cmd, const char *path,
                                        size_t stage)
{
    char head[256], loader[256];
    const char *interp = NULL, *stop = NULL;
    whelk_buf who = {0};
    whelk_error *e;
    ssize_t n;
    int dirfd = -2, fd, at = AT_FDCWD;

    if (path[0] != '/') {
        if (cwd_fd(cmd->cwd, &dirfd) != 0)
            return NULL;
        at = dirfd;
    }
    fd = whelk__fd_high(
        openat(at, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (dirfd >= 0)
        close(dirfd);
    if (fd < 0)
        return NULL;
    do
        n = pread(fd, head, sizeof head - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n >= 3 && head[0] == '#' && head[1] == '!') {
        head[n] = '\0';
        for (interp = head + 2; *interp == ' ' || *interp == '\t'; interp++)
            ;
        for (stop = interp; *stop && !strchr(" \t\n", *stop); stop++)
            ;
    } else if (n >= EI_NIDENT) {
        interp = loader;
        stop = loader + elf_interp(fd, (const unsigned char *)head, loader,
                                   sizeof loader);
    }
    close(fd);
    if (!interp || stop == interp)
        return NULL;
    if (add_visible(&who, interp, (size_t)(stop - interp)) < 0 ||
        whelk__buf_reserve(&who, 1) < 0) {
        whelk__buf_free(&who);
        return (whelk_error *)&whelk__nomem_error;
    }
    e = whelk__error_new(WHELK_E_EXEC, ENOENT, stage, NULL,
                         interp == loader
                             ? "cannot execute %s: its dynamic loader %s (the "
                               "ELF interpreter it was built for) was not "
                               "found: %s"
                             : "cannot execute %s: its interpreter %s (on its "
                               "#! line) was not found: %s",
                         cmd->argv[0], who.data, whelk__strerror(ENOENT));
    whelk__buf_free(&who);
    return e;
}

/* The PATH a command's program is looked up in: its own when it sets one,
 * else the host's (also after whelk_cmd_clearenv or an unset PATH). */
static const char *search_path(const whelk_cmd *cmd)
{
    size_t i;
    const char *host;

    for (i = 0; i < cmd->nenv; i++)
        if (strcmp(cmd->env[i].name, "PATH") == 0 && cmd->env[i].value)
            return cmd->env[i].value;
    host = getenv("PATH");
    return host ? host : DEFAULT_PATH;
}

/* ----------------------------------------------------------- environment */

static int env_overridden(const whelk_cmd *cmd, const char *entry)
{
    size_t i, n;

    for (i = 0; i < cmd->nenv; i++) {
        n = strlen(cmd->env[i].name);
        if (strncmp(entry, cmd->env[i].name, n) == 0 && entry[n] == '=')
            return 1;
    }
    return 0;
}

/* A NULL-terminated array: host entries are borrowed, set entries are
 * allocated after the array in the same block.  NULL: use environ. */
static char **build_env(const whelk_cmd *cmd, int *errnum)
{
    size_t nhost = 0, nset = 0, bytes = 0, i, k = 0;
    char **envp, *s;

    *errnum = 0;
    if (!cmd->clearenv && cmd->nenv == 0)
        return NULL;
    if (!cmd->clearenv && environ)
        while (environ[nhost])
            nhost++;
    for (i = 0; i < cmd->nenv; i++) {
        if (cmd->env[i].value) {
            nset++;
            bytes += strlen(cmd->env[i].name) + strlen(cmd->env[i].value) + 2;
        }
    }
    envp = whelk__malloc((nhost + nset + 1) * sizeof *envp + bytes);
    if (!envp) {
        *errnum = ENOMEM;
        return NULL;
    }
    for (i = 0; i < nhost; i++)
        if (!env_overridden(cmd, environ[i]))
            envp[k++] = environ[i];
    s = (char *)(envp + nhost + nset + 1);
    for (i = 0; i < cmd->nenv; i++) {
        size_t a, b;
        if (!cmd->env[i].value)
            continue;
        a = strlen(cmd->env[i].name);
        b = strlen(cmd->env[i].value);
        envp[k++] = s;
        memcpy(s, cmd->env[i].name, a);
        s[a] = '=';
        memcpy(s + a + 1, cmd->env[i].value, b + 1);
        s += a + b + 2;
    }
    envp[k] = NULL;
    return envp;
}

/* ---------------------------------------------------------- descriptors */

typedef struct builder {
    whelk_plan *pl;
    const whelk_pipeline *p;
    int devnull;
    int64_t deadline_ms; /* of the run: opening files waits no longer */
    whelk_error *err;
} builder;

static int own(whelk_plan *pl, int fd)
{
    if (pl->nowned == pl->ownedcap) {
        size_t cap = pl->ownedcap ? pl->ownedcap * 2 : 16;
        int *v = whelk__realloc(pl->owned, cap * sizeof *v);
        if (!v)
            return -1;
        pl->owned = v;
        pl->ownedcap = cap;
    }
    pl->owned[pl->nowned++] = fd;
    return 0;
}

static int own_fd(void *pl, int fd)
{
    return own(pl, fd);
}

/* The child setup of every stage that asks for one (childsetup.h). */
static whelk_error *plan_setups(const whelk_pipeline *p, whelk_plan *pl)
{
    whelk_error *err = NULL;
    size_t i;

    for (i = 0; i < p->ncmds; i++) {
        whelk_child_setup *cs = whelk__setup_plan(p, i, own_fd, pl, &err);
        if (err)
            return whelk__error_set_command(err, p->cmds[i]);
        if (!cs)
            continue;
        if (!pl->setups &&
            !(pl->setups = whelk__calloc(pl->n, sizeof *pl->setups))) {
            whelk__child_setup_free(cs);
            return (whelk_error *)&whelk__nomem_error;
        }
        pl->setups[i] = cs;
    }
    return NULL;
}

static void io_error(builder *b, int errnum, const char *what)
{
    if (!b->err)
        b->err = whelk__error_new(whelk__errno_kind(errnum, WHELK_E_IO), errnum,
                                  WHELK_NO_STAGE, NULL, "%s: %s", what,
                                  whelk__strerror(errnum));
}

/* A descriptor the plan owns until the stages are spawned; -1 on error. */
static int keep(builder *b, int fd, const char *what)
{
    if (fd < 0 || (fd = whelk__fd_high(fd)) < 0) {
        io_error(b, errno, what);
        return -1;
    }
    if (own(b->pl, fd) < 0) {
        close(fd);
        io_error(b, ENOMEM, what);
        return -1;
    }
    return fd;
}

static int devnull(builder *b)
{
    if (b->devnull < 0)
        b->devnull = keep(b, open("/dev/null", O_RDWR | O_CLOEXEC),
                          "cannot open /dev/null");
    return b->devnull;
}

/* The host's descriptor fd, shared with a child: duplicated above 2 so it
 * can be placed anywhere.  A closed std descriptor of the host becomes
 * /dev/null for an inheriting child; a closed caller fd is an error. */
static int borrow(builder *b, int fd, int is_inherit)
{
    int d;

    if (fd > 2 && !is_inherit) {
        if (fcntl(fd, F_GETFD) < 0) {
            char what[64];
            snprintf(what, sizeof what, "descriptor %d", fd);
            io_error(b, errno, what);
            return -1;
        }
        return fd;
    }
    d = whelk__dup_high(fd);
    if (d < 0 && errno == EBADF && is_inherit)
        return devnull(b);
    if (d < 0) {
        char what[64];
        snprintf(what, sizeof what, "descriptor %d", fd);
        io_error(b, errno, what);
        return -1;
    }
    return keep(b, d, "descriptor");
}

static int open_file(builder *b, const char *path, int flags)
{
    int fd = whelk__open_redir(path, flags, b->deadline_ms);

    if (fd < 0 && errno == ETIMEDOUT && b->deadline_ms >= 0) {
        if (!b->err)
            b->err = whelk__error_new(
                WHELK_E_TIMEOUT, ETIMEDOUT, WHELK_NO_STAGE, NULL,
                "cannot open %s for %s: timed out after %u ms waiting for "
                "its other end",
                path, (flags & O_ACCMODE) == O_RDONLY ? "reading" : "writing",
                b->p->timeout_ms);
        return -1;
    }
    if (fd < 0) {
        int e = errno;
        if (!b->err)
            b->err = whelk__error_new(
                whelk__errno_kind(e, WHELK_E_IO), e, WHELK_NO_STAGE, NULL,
                "cannot open %s for %s: %s", path,
                (flags & O_ACCMODE) == O_RDONLY ? "reading" : "writing",
                whelk__strerror(e));
        return -1;
    }
    return keep(b, fd, path);
}

static int out_flags(int append)
{
    return O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
}

/* A pipe: the child's end is owned by the plan; ours is returned in *mine. */
static int make_pipe(builder *b, int child_reads, int *mine)
{
    int fds[2], child;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        io_error(b, errno, "cannot make a pipe");
        return -1;
    }
    if ((fds[0] = whelk__fd_high(fds[0])) < 0 ||
        (fds[1] = whelk__fd_high(fds[1])) < 0) {
        int e = errno;
        if (fds[0] >= 0)
            close(fds[0]);
        if (fds[1] >= 0)
            close(fds[1]);
        io_error(b, e, "cannot make a pipe");
        return -1;
    }
    child = child_reads ? fds[0] : fds[1];
    *mine = child_reads ? fds[1] : fds[0];
    if (own(b->pl, child) < 0) {
        close(fds[0]);
        close(fds[1]);
        io_error(b, ENOMEM, "cannot make a pipe");
        return -1;
    }
    return child;
}

/* A stream the host reads: our end of a fresh pipe. */
static int add_stream(builder *b, size_t stage, int which, int keep_it)
{
    const whelk_pipeline *p = b->p;
    whelk_plan *pl = b->pl;
    whelk_stream *s = &pl->streams[pl->nstreams];
    const whelk_decode_cfg *dc = &p->decode[which == WHELK_STDOUT ? 0 : 1];
    int mine, child = make_pipe(b, 0, &mine);

    if (child < 0)
        return -1;
    pl->nstreams++;
    memset(s, 0, sizeof *s);
    s->fd = mine;
    s->stage = stage;
    s->which = which;
    s->keep = keep_it;
    s->line_cb = p->line_fn && (p->line_streams & which);
    s->chunk_cb = p->chunk_fn && (p->chunk_streams & which);
    s->split.max_line = p->max_line;
    s->split.line.stage = stage;
    s->split.line.stream = which;
    if (dc->encoding) {
        int e;
        s->split.utf8 = 1; /* decoded text is UTF-8 */
        s->dec = whelk__decoder_new(dc->encoding, dc->policy, &e);
        if (!s->dec) {
            if (!b->err)
                b->err = whelk__encoding_error(dc->encoding, e);
            return -1;
        }
    }
    return child;
}

/* Source for stage 0's stdin. */
static int plan_stdin(builder *b)
{
    const whelk_pipeline *p = b->p;
    whelk_plan *pl = b->pl;
    int mine, child;

    switch (p->in.kind) {
    case IO_INHERIT: return borrow(b, 0, 1);
    case IO_FILE: return open_file(b, p->in.path, O_RDONLY);
    case IO_FD: return borrow(b, p->in.fd, 0);
    case IO_BYTES:
    case IO_FEED:
        child = make_pipe(b, 1, &mine);
        if (child < 0)
            return -1;
        if (fcntl(mine, F_SETFL, O_NONBLOCK) < 0) {
            close(mine);
            io_error(b, errno, "cannot make a pipe");
            return -1;
        }
        pl->in_fd = mine;
        pl->feed = p->in.kind == IO_FEED;
        return child;
    default: return devnull(b);
    }
}

/* Destination of the last stage's stdout, other than a stream or 1>&2. */
static int plan_stdout(builder *b)
{
    const whelk_io *o = &b->p->out;

    switch (o->kind) {
    case IO_INHERIT: return borrow(b, 1, 1);
    case IO_FILE: return open_file(b, o->path, out_flags(o->append));
    case IO_FD: return borrow(b, o->fd, 0);
    default: return devnull(b);
    }
}

static int plan_stderr(builder *b, size_t i, int child_stdout)
{
    const whelk_io *e = &b->p->cmds[i]->err;

    switch (e->kind) {
    case IO_CAPTURE:
    case IO_STREAM:
        return add_stream(b, i, WHELK_STDERR, e->kind == IO_CAPTURE);
    case IO_TO_STDOUT: return child_stdout;
    case IO_INHERIT: return borrow(b, 2, 1);
    case IO_FILE: return open_file(b, e->path, out_flags(e->append));
    case IO_FD: return borrow(b, e->fd, 0);
    default: return devnull(b);
    }
}

static int plan_fds(builder *b)
{
    const whelk_pipeline *p = b->p;
    whelk_plan *pl = b->pl;
    size_t i, n = p->ncmds, last = n - 1;
    int(*fds)[3] = pl->child_fds;
    int next_in;

    if ((next_in = plan_stdin(b)) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        fds[i][0] = next_in;
        if (i < last) {
            int mine;
            fds[i][1] = make_pipe(b, 0, &mine);
            if (fds[i][1] < 0)
                return -1;
            /* the read end goes to the next stage: hand it to the plan */
            if (own(pl, mine) < 0) {
                close(mine);
                io_error(b, ENOMEM, "cannot make a pipe");
                return -1;
            }
            next_in = mine;
        } else if (p->out.kind == IO_TO_STDERR) {
            fds[i][1] = -1; /* set from stderr below */
        } else if (p->out.kind == IO_CAPTURE || p->out.kind == IO_STREAM) {
            fds[i][1] =
                add_stream(b, i, WHELK_STDOUT, p->out.kind == IO_CAPTURE);
        } else if (p->out.kind == IO_PULL) {
            /* the host reads it: no callbacks, no capture */
            fds[i][1] = add_stream(b, i, WHELK_STDOUT, 0);
            if (fds[i][1] >= 0) {
                whelk_stream *s = &pl->streams[pl->nstreams - 1];
                s->pull = 1;
                s->line_cb = s->chunk_cb = 0;
            }
        } else {
            fds[i][1] = plan_stdout(b);
        }
        if (p->cmds[i]->filter) {
            fds[i][2] = devnull(b); /* a filter writes no stderr */
            if (i == last && p->out.kind == IO_TO_STDERR)
                fds[i][1] = fds[i][2];
        } else if (i == last && p->out.kind == IO_TO_STDERR) {
            fds[i][2] = plan_stderr(b, i, -1);
            fds[i][1] = fds[i][2];
        } else if (fds[i][1] >= 0) {
            fds[i][2] = plan_stderr(b, i, fds[i][1]);
        }
        if (fds[i][1] < 0 || fds[i][2] < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ validation */

static whelk_error *stage_fault(const whelk_pipeline *p, size_t i,
                                const whelk_fault *f)
{
    whelk_error *e = whelk__error_from_fault(f);

    whelk__error_set_stage(e, i);
    return whelk__error_set_command(e, p->cmds[i]);
}

whelk_error *whelk__plan_validate(const whelk_pipeline *p)
{
    size_t i;

    if (p->fault.kind)
        return whelk__error_from_fault(&p->fault);
    if (!p->ncmds)
        return whelk__error_new(WHELK_E_INVALID, EINVAL, WHELK_NO_STAGE, NULL,
                                "the pipeline has no command");
    for (i = 0; i < p->ncmds; i++) {
        const whelk_cmd *c = p->cmds[i];
        if (c->fault.kind)
            return stage_fault(p, i, &c->fault);
        if (!c->argc || !c->argv[0][0]) {
            char where[64];
            return whelk__error_new(
                WHELK_E_INVALID, EINVAL, i, NULL, "the program name is empty%s",
                whelk__stage_label(where, sizeof where, i, p->ncmds));
        }
    }
    if (p->out.kind == IO_TO_STDERR &&
        p->cmds[p->ncmds - 1]->err.kind == IO_TO_STDOUT)
        return whelk__error_new(WHELK_E_INVALID, EINVAL, p->ncmds - 1, NULL,
                                "stdout into stderr and stderr into stdout "
                                "of the last stage go nowhere");
    return NULL;
}

static whelk_error *check_cwd(const whelk_cmd *c, size_t i)
{
    struct stat st;
    int e = 0;

    if (!c->cwd)
        return NULL;
    if (stat(c->cwd, &st) < 0)
        e = errno;
    else if (!S_ISDIR(st.st_mode))
        e = ENOTDIR;
    else if (access(c->cwd, X_OK) < 0)
        e = errno;
    if (!e)
        return NULL;
    return whelk__error_new(whelk__errno_kind(e, WHELK_E_EXEC), e, i, NULL,
                            "cannot change directory to %s: %s", c->cwd,
                            whelk__strerror(e));
}

static whelk_error *resolve_stage(whelk_plan *pl, const whelk_cmd *c, size_t i)
{
    const char *prog = c->argv[0], *path = search_path(c);
    int e;

    pl->paths[i] = resolve(prog, path, c->cwd, &e);
    if (pl->paths[i])
        return NULL;
    if (e == ENOMEM)
        return (whelk_error *)&whelk__nomem_error;
    if (e == EMFILE || e == ENFILE) {
        int in_path = !strchr(prog, '/');
        return whelk__error_new(
            WHELK_E_IO, e, i, NULL, "cannot look for %s%s%s%s: %s", prog,
            in_path ? " in PATH (" : "", in_path ? path : "",
            in_path ? ")" : "", whelk__strerror(e));
    }
    if (e == ENOENT && !strchr(prog, '/'))
        return whelk__error_new(WHELK_E_NOTFOUND, e, i, NULL,
                                "%s: command not found in PATH (%s)", prog,
                                path);
    return whelk__error_new(e == ENOENT ? WHELK_E_NOTFOUND : WHELK_E_EXEC, e, i,
                            NULL, "cannot execute %s: %s", prog,
                            whelk__strerror(e));
}

static whelk_error *encode_stdin(const whelk_pipeline *p, whelk_plan *pl)
{
    size_t bad = 0;
    int e;

    if (p->in.kind == IO_FEED && p->in_encoding) {
        /* fed bytes are encoded as they come (hostio.c): check the name */
        e = whelk__encode(p->in_encoding, "", 0, &pl->in_data, &bad);
        whelk__buf_free(&pl->in_data);
        return e ? whelk__encoding_error(p->in_encoding, e) : NULL;
    }
    if (p->in.kind != IO_BYTES)
        return NULL;
    if (!p->in_encoding) {
        pl->in_ptr = p->in_data;
        pl->in_len = p->in_len;
        return NULL;
    }
    e = whelk__encode(p->in_encoding, p->in_data, p->in_len, &pl->in_data,
                      &bad);
    if (e && e != EILSEQ)
        return whelk__encoding_error(p->in_encoding, e);
    if (e)
        return whelk__error_new(WHELK_E_DECODE, e, WHELK_NO_STAGE, NULL,
                                "stdin: the text is not valid UTF-8 or cannot "
                                "be encoded as %s, at byte offset %zu",
                                p->in_encoding, bad);
    pl->in_ptr = (const unsigned char *)pl->in_data.data;
    pl->in_len = pl->in_data.len;
    return NULL;
}

whelk_plan *whelk__plan(const whelk_pipeline *p, int64_t deadline_ms,
                        whelk_error **err)
{
    whelk_plan *pl;
    builder b;
    size_t i, n;
    int e;

    if ((*err = whelk__plan_validate(p)) != NULL)
        return NULL;
    n = p->ncmds;
    pl = whelk__calloc(1, sizeof *pl);
    if (!pl) {
        *err = (whelk_error *)&whelk__nomem_error;
        return NULL;
    }
    pl->n = n;
    pl->in_fd = -1;
    pl->paths = whelk__calloc(n, sizeof *pl->paths);
    pl->envp = whelk__calloc(n, sizeof *pl->envp);
    pl->child_fds = whelk__calloc(n, sizeof *pl->child_fds);
    pl->streams = whelk__calloc(n + 1, sizeof *pl->streams);
    if (!pl->paths || !pl->envp || !pl->child_fds || !pl->streams) {
        *err = (whelk_error *)&whelk__nomem_error;
        goto fail;
    }
    if ((*err = encode_stdin(p, pl)) != NULL)
        goto fail;
    for (i = 0; i < n; i++) {
        const whelk_cmd *c = p->cmds[i];
        if (c->filter)
            continue; /* run by the loop: no program, cwd or environment */
        if ((*err = check_cwd(c, i)) || (*err = resolve_stage(pl, c, i))) {
            whelk__error_set_command(*err, c);
            goto fail;
        }
        pl->envp[i] = build_env(c, &e);
        if (e) {
            *err = (whelk_error *)&whelk__nomem_error;
            goto fail;
        }
    }
    if ((*err = plan_setups(p, pl)) != NULL)
        goto fail;
    b.pl = pl;
    b.p = p;
    b.devnull = -1;
    b.deadline_ms = deadline_ms;
    b.err = NULL;
    if (plan_fds(&b) < 0) {
        *err = b.err ? b.err : (whelk_error *)&whelk__nomem_error;
        goto fail;
    }
    return pl;
fail:
    whelk__plan_free(pl);
    return NULL;
}

void whelk__plan_close_child_ends(whelk_plan *pl)
{
    size_t i;

    for (i = 0; i < pl->nowned; i++)
        close(pl->owned[i]);
    pl->nowned = 0;
}

void whelk__plan_free(whelk_plan *pl)
{
    size_t i;

    if (!pl)
        return;
    whelk__plan_close_child_ends(pl);
    free(pl->owned);
    for (i = 0; i < pl->n; i++) {
        if (pl->paths)
            free(pl->paths[i]);
        if (pl->envp)
            free(pl->envp[i]);
    }
    if (pl->streams) {
        for (i = 0; i < pl->nstreams; i++) {
            whelk_stream *s = &pl->streams[i];
            if (s->fd >= 0)
                close(s->fd);
            whelk__decoder_free(s->dec);
            whelk__splitter_free(&s->split);
        }
    }
    if (pl->in_fd >= 0)
        close(pl->in_fd);
    if (pl->setups)
        for (i = 0; i < pl->n; i++)
            whelk__child_setup_free(pl->setups[i]);
    free(pl->setups);
    whelk__buf_free(&pl->in_data);
    free(pl->paths);
    free(pl->envp);
    free(pl->child_fds);
    free(pl->streams);
    free(pl);
}

/* ------------------------------------------------------------ accessors */

const char *whelk__plan_path(const whelk_plan *pl, size_t i)
{
    return pl->paths[i];
}

char **whelk__plan_envp(const whelk_plan *pl, size_t i)
{
    return pl->envp[i];
}

const int *whelk__plan_fds(const whelk_plan *pl, size_t i)
{
    return pl->child_fds[i];
}

const struct whelk_child_setup *whelk__plan_setup(const whelk_plan *pl,
                                                  size_t i)
{
    return pl->setups ? pl->setups[i] : NULL;
}

whelk_stream *whelk__plan_streams(whelk_plan *pl, size_t *n)
{
    *n = pl->nstreams;
    return pl->streams;
}

int whelk__plan_stream_fd(const whelk_plan *pl, size_t i)
{
    return pl->streams[i].fd;
}

int whelk__plan_in_fd(const whelk_plan *pl)
{
    return pl->in_fd;
}

int whelk__plan_feed(const whelk_plan *pl)
{
    return pl->feed;
}

const unsigned char *whelk__plan_in_bytes(const whelk_plan *pl, size_t *len)
{
    *len = pl->in_len;
    return pl->in_ptr;
}

int whelk__plan_take_in_fd(whelk_plan *pl)
{
    int fd = pl->in_fd;

    pl->in_fd = -1;
    return fd;
}
