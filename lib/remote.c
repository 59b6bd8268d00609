/*
 * remote.c -- the same pipeline, run on another machine (remote.h says
 * how): whelk_remote_ssh / whelk_remote_new / whelk_pipeline_remote, the
 * script the far side runs, and the demultiplexing of what it sends back.
 *
 * The far side's protocol, all on the transport's stderr:
 *   "\n"                         a heartbeat of the watchdog (ignored)
 *   "\nMARK N i\n"               stage i's program is not there
 *   "\nMARK C i\n"               stage i's working directory is not there
 *   "\nMARK X text\n"            the script could not set itself up
 *   "\nMARK E i len\n" + bytes   stage i's stderr, len bytes
 *   "\nMARK S s0 s1 ...\n"       every stage's status ($? of `wait`)
 * MARK is "WHELK" and 16 random hex digits, new for each run.  Anything
 * else on that stream (before the first record) is the transport's own
 * stderr: ssh's warnings and errors, kept for the transport's error.
 *
 * A remote run is a local run of the transport (run.c, pump.c); this file
 * reaches the handle only through proc.h's accessors, and settles the
 * statuses run.c hands it before the verdict.
 */
#include "remote.h"
#include "alloc.h"
#include "buf.h"
#include "builder_body.h"
#include "decode.h"
#include "errors.h"
#include "fault.h"
#include "lines.h"
#include "names.h"
#include "plan.h"
#include "stream.h"
#include "proc.h"
#include "quote.h"
#include "result.h"
#include "tee.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>

#define NOISE_BYTES 2048
#define PERSIST_S "60"

struct whelk_remote {
    int refs;             /* the caller's and each pipeline's (atomic) */
    whelk_cmd *transport; /* whelk_remote_new: the words before the script */
    char *dest;           /* whelk_remote_ssh: user@host */
    char *name;           /* how messages name the far side */
    pthread_mutex_t lock; /* guards the two fields below */
    int decided;          /* ssh: the connection sharing is decided */
    char *ctl_dir;        /* ssh: our ControlPath directory, or NULL */
};

struct whelk_rrun {
    whelk_remote *r;
    whelk_pipeline *p;  /* the caller's: n stages, run there */
    whelk_pipeline lp;  /* what runs here: the transport */
    whelk_cmd *cmdv[1]; /* lp's one command */
    size_t n;
    char mark[24];
    size_t marklen;
    whelk_stream *vs; /* per stage: its stderr, as if read from a pipe */
    whelk_buf acc;    /* mux bytes not parsed yet */
    whelk_buf noise;  /* the transport's own stderr (its tail) */
    int in_body;
    size_t body_stage;
    unsigned long long body_left;
    int *codes; /* from the S record */
    int have_status;
    size_t notfound, badcwd; /* WHELK_NO_STAGE: none */
    char *setup;             /* the X record's text */
    int stopped;
    int live[2]; /* the transport's stdin when p's is not the host's: held
                    open until the run ends, so that its end (and the
                    host's death) reaches the far side as end of input */
};

/* ------------------------------------------------------------ the remote */

static whelk_remote *remote_alloc(void)
{
    whelk_remote *r = whelk__calloc(1, sizeof *r);

    if (!r)
        return NULL;
    r->refs = 1;
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

whelk_remote *whelk_remote_ssh(const char *destination)
{
    whelk_remote *r;

    if (!destination || !*destination || !(r = remote_alloc()))
        return NULL;
    r->dest = whelk__strdup(destination);
    r->name = whelk__strdup(destination);
    if (!r->dest || !r->name) {
        whelk_remote_free(r);
        return NULL;
    }
    return r;
}

whelk_remote *whelk_remote_new(whelk_cmd *transport)
{
    whelk_remote *r;

    if (!WHELK_CMD_OK(transport) || transport->fault.kind || !transport->argc ||
        !(r = remote_alloc())) {
        whelk_cmd_free(transport);
        return NULL;
    }
    r->transport = transport;
    if (!(r->name = whelk__cmd_string(transport))) {
        whelk_remote_free(r);
        return NULL;
    }
    return r;
}

/* Removes our control directory: the sockets in it, then itself. */
static void remove_ctl_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d;
    struct dirent *e;

    if (fd < 0)
        return;
    if (!(d = fdopendir(fd))) {
        close(fd);
        return;
    }
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            (void)unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    (void)rmdir(dir);
}

/* A control path option for dir: "ControlPath=<dir>/%C". */
static char *ctl_path(const char *dir)
{
    whelk_buf b = {0};

    if (whelk__buf_printf(&b, "ControlPath=%s/%%C", dir) < 0)
        return NULL;
    return b.data;
}

/* A pipeline of one command (a failure is remembered, as by whelk_pipe). */
static whelk_pipeline *one_cmd(const char *const *argv)
{
    whelk_pipeline *p = whelk_pipeline_new();

    whelk_pipeline_add(p, whelk_cmd_newv(argv));
    return p;
}

/* Stops the master connection our runs started, then removes its
 * directory. */
static void stop_sharing(whelk_remote *r)
{
    char *cp = ctl_path(r->ctl_dir);

    if (cp) {
        const char *argv[] = {"ssh",  "-o", cp,      "-O",
                              "exit", "--", r->dest, NULL};
        whelk_pipeline *p = one_cmd(argv);
        whelk_result *res;
        whelk_pipeline_stdout(p, WHELK_NULL);
        whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_NULL);
        whelk_pipeline_check(p, 0);
        whelk_pipeline_timeout(p, 10000);
        res = whelk_run(p, NULL);
        whelk_result_free(res);
        whelk_pipeline_free(p);
        free(cp);
    }
    remove_ctl_dir(r->ctl_dir);
}

void whelk_remote_free(whelk_remote *r)
{
    if (!r || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (r->ctl_dir) {
        stop_sharing(r);
        free(r->ctl_dir);
    }
    whelk_cmd_free(r->transport);
    free(r->dest);
    free(r->name);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

void whelk_pipeline_remote(whelk_pipeline *p, const whelk_remote *remote)
{
    whelk_remote *r = (whelk_remote *)remote; /* shared, never changed */

    if (!WHELK_PIPE_OK(p))
        return;
    if (!r) {
        /* never run locally what was meant for another machine */
        whelk__fault_set(&p->fault, WHELK_E_INVALID, EINVAL,
                         "the remote is NULL (or could not be made)");
        return;
    }
    __atomic_add_fetch(&r->refs, 1, __ATOMIC_ACQ_REL);
    whelk_remote_free(p->remote);
    p->remote = r;
}

/* ------------------------------------------------- ssh connection sharing */

/* Does `ssh -G dest` say the user's config shares connections already? */
static int user_shares(const whelk_remote *r)
{
    const char *argv[] = {"ssh", "-G", "--", r->dest, NULL};
    whelk_pipeline *p = one_cmd(argv);
    whelk_result *res;
    const char *out;
    int shares = 1; /* when in doubt, leave the user's setup alone */

    whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_NULL);
    whelk_pipeline_timeout(p, 10000);
    res = whelk_run(p, NULL);
    whelk_pipeline_free(p);
    if (!res)
        return shares;
    out = whelk_result_stdout(res, NULL);
    shares =
        !strstr(out, "\ncontrolmaster false\n") ||
        (strstr(out, "\ncontrolpath ") && !strstr(out, "\ncontrolpath none\n"));
    whelk_result_free(res);
    return shares;
}

/* Makes the private directory for our control sockets: 0700, in
 * $XDG_RUNTIME_DIR when it is short enough for a socket path, else /tmp. */
static char *make_ctl_dir(void)
{
    const char *base = getenv("XDG_RUNTIME_DIR");
    whelk_buf b = {0};

    if (!base || base[0] != '/' || strlen(base) > 40)
        base = "/tmp";
    if (whelk__buf_printf(&b, "%s/whelk-ssh.XXXXXX", base) < 0)
        return NULL;
    if (!mkdtemp(b.data)) {
        whelk__buf_free(&b);
        return NULL;
    }
    return b.data;
}

static int is_host_stdin(int kind)
{
    return kind != IO_NULL && kind != IO_FILE;
}

/* The words of the transport, before the script.  host_stdin: the
 * pipeline's stdin comes from the host, so its end cannot tell the far
 * side that the transport died: such runs get a connection of their own
 * (no sharing), whose end the far side's heartbeat notices. */
static int transport_words(whelk_remote *r, whelk_cmd *c, int host_stdin)
{
    size_t i;

    if (r->transport) {
        for (i = 1; i < r->transport->argc; i++)
            whelk__cmd_push(c, r->transport->argv[i]);
        return 0;
    }
    pthread_mutex_lock(&r->lock);
    if (!r->decided) {
        r->decided = 1;
        if (!user_shares(r))
            r->ctl_dir = make_ctl_dir();
    }
    pthread_mutex_unlock(&r->lock);
    whelk__cmd_push(c, "-o");
    whelk__cmd_push(c, "BatchMode=yes");
    if (host_stdin) {
        whelk__cmd_push(c, "-o");
        whelk__cmd_push(c, "ControlPath=none");
    } else if (r->ctl_dir) {
        char *cp = ctl_path(r->ctl_dir);
        if (!cp)
            return -1;
        whelk__cmd_push(c, "-o");
        whelk__cmd_push(c, "ControlMaster=auto");
        whelk__cmd_push(c, "-o");
        whelk__cmd_push(c, cp);
        whelk__cmd_push(c, "-o");
        whelk__cmd_push(c, "ControlPersist=" PERSIST_S);
        free(cp);
    }
    whelk__cmd_push(c, "--");
    whelk__cmd_push(c, r->dest);
    return 0;
}

/* ------------------------------------------------------------ the script */

/* stderr bytes that come back framed */
static int framed(const whelk_cmd *c)
{
    int k = c->err.kind;
    return k == IO_CAPTURE || k == IO_STREAM || k == IO_INHERIT || k == IO_FD;
}

typedef struct gen {
    whelk_buf *b;
    int bad;
    const char *mark;
} gen;

static void put(gen *g, const char *s)
{
    g->bad |= whelk__buf_addstr(g->b, s) < 0;
}

static void putq(gen *g, const char *w, int cmdword)
{
    g->bad |= whelk__quote(g->b, w, cmdword) < 0;
}

static void putf(gen *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void putf(gen *g, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    put(g, tmp);
}

static const char *path_of(const whelk_cmd *c)
{
    size_t i;

    for (i = 0; i < c->nenv; i++)
        if (strcmp(c->env[i].name, "PATH") == 0 && c->env[i].value)
            return c->env[i].value;
    return NULL;
}

/* Is every program there, and every working directory? */
static void gen_checks(gen *g, const whelk_pipeline *p)
{
    size_t i;

    for (i = 0; i < p->ncmds; i++) {
        const whelk_cmd *c = p->cmds[i];
        const char *path = path_of(c);
        if (c->cwd) {
            put(g, "(cd -- ");
            putq(g, c->cwd, 0);
            putf(g,
                 ") >/dev/null 2>&1 || { printf '\\n%s C %zu\\n' >&2; "
                 "exit 0; }\n",
                 g->mark, i);
        }
        put(g, "(");
        if (c->cwd) {
            put(g, "cd -- ");
            putq(g, c->cwd, 0);
            put(g, " && ");
        }
        if (path && !strchr(c->argv[0], '/')) {
            put(g, "PATH=");
            putq(g, path, 0);
            put(g, " && ");
        }
        if (strchr(c->argv[0], '/')) {
            put(g, "[ -e ");
            putq(g, c->argv[0], 0);
            put(g, " ]");
        } else {
            put(g, "command -v ");
            putq(g, c->argv[0], 0);
        }
        putf(g,
             ") >/dev/null 2>&1 || { printf '\\n%s N %zu\\n' >&2; exit 0; }\n",
             g->mark, i);
    }
}

/* exec [env ...] program args: never a function or a builtin there */
static void gen_command(gen *g, const whelk_cmd *c)
{
    size_t i;

    if (c->cwd) {
        put(g, "cd -- ");
        putq(g, c->cwd, 0);
        put(g, " && ");
    }
    put(g, "exec ");
    if (c->clearenv || c->nenv) {
        put(g, c->clearenv ? "env -i " : "env ");
        for (i = 0; i < c->nenv && !c->clearenv; i++) {
            if (c->env[i].value)
                continue;
            put(g, "-u ");
            putq(g, c->env[i].name, 0);
            put(g, " ");
        }
        for (i = 0; i < c->nenv; i++) {
            whelk_buf kv = {0};
            if (!c->env[i].value)
                continue;
            if (whelk__buf_printf(&kv, "%s=%s", c->env[i].name,
                                  c->env[i].value) < 0) {
                g->bad = 1;
                continue;
            }
            putq(g, kv.data, 0);
            put(g, " ");
            whelk__buf_free(&kv);
        }
    }
    for (i = 0; i < c->argc; i++) {
        if (i)
            put(g, " ");
        putq(g, c->argv[i], i == 0);
    }
}

/* " 2>> 'path'": op is "<", ">" or "2>" */
static void gen_file(gen *g, const char *op, const whelk_io *io)
{
    put(g, " ");
    put(g, op);
    if (io->append && op[strlen(op) - 1] == '>')
        put(g, ">");
    put(g, " ");
    putq(g, io->path, 0);
}

static void gen_stage(gen *g, const whelk_pipeline *p, size_t i)
{
    const whelk_cmd *c = p->cmds[i];
    size_t last = p->ncmds - 1;
    int ek = c->err.kind;

    put(g, "(");
    gen_command(g, c);
    put(g, ")");
    /* stderr first, so that the shell's own complaints (a redirection
     * file it cannot open) are the stage's stderr */
    if (framed(c))
        putf(g, " 2>\"$d/e%zu\"", i);
    else if (ek == IO_FILE)
        gen_file(g, "2>", &c->err);
    else if (ek == IO_NULL)
        put(g, " 2>/dev/null");
    if (i > 0)
        putf(g, " <\"$d/f%zu\"", i);
    else if (p->in.kind == IO_FILE)
        gen_file(g, "<", &p->in);
    else if (p->in.kind == IO_NULL)
        put(g, " </dev/null");
    else
        put(g, " <&3");
    put(g, " 3<&-");
    if (i < last)
        putf(g, " >\"$d/f%zu\"", i + 1);
    else if (p->out.kind == IO_FILE)
        gen_file(g, ">", &p->out);
    else if (p->out.kind == IO_NULL)
        put(g, " >/dev/null");
    if (ek == IO_TO_STDOUT)
        put(g, " 2>&1");
    if (i == last && p->out.kind == IO_TO_STDERR)
        put(g, " >&2");
    putf(g, " &\np%zu=$!\n", i);
}

static void gen_pids(gen *g, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        putf(g, "%s$p%zu", i ? " " : "", i);
}

/* The watchdog: a heartbeat byte on the transport's stderr every second
 * and, when the pipeline's stdin is not the host's, a `cat` of the
 * transport's stdin (a pipe the host holds open until the run ends).
 * When the heartbeat cannot be written or the cat ends, the transport is
 * gone (a timeout, a kill, the host died) and every process of the run
 * there is stopped: TERM, the grace, KILL -- to the process group when
 * the script leads one (sshd makes each session its own), else to each
 * stage. */
static void gen_watchdog(gen *g, const whelk_pipeline *p)
{
    unsigned grace = (p->grace_ms + 999) / 1000;
    int trip = !is_host_stdin(p->in.kind);

    put(g, "(z= c=\n"
           "trap 'kill $z $c 2>/dev/null; exit 0' USR1\n"
           "trap '' PIPE\n");
    if (trip)
        put(g, "cat <&3 >/dev/null 2>&1 & c=$!\n");
    put(g, "while :; do sleep 1 </dev/null >/dev/null 2>&1 & z=$!; "
           "wait \"$z\"; printf '\\n' >&2 || break; ");
    if (trip)
        put(g, "kill -s 0 \"$c\" 2>/dev/null || break; ");
    put(g, "done\n"
           "trap '' TERM USR1\n"
           "if kill -s 0 -- -$$ 2>/dev/null; then g=-$$; else g=\"");
    gen_pids(g, p->ncmds);
    putf(g,
         "\"; fi\n"
         "kill -s TERM -- $g 2>/dev/null\n"
         "sleep %u </dev/null >/dev/null 2>&1\n"
         "kill -s KILL -- $g 2>/dev/null) </dev/null >/dev/null%s &\n"
         "w=$!\n",
         grace ? grace : 1, trip ? "" : " 3<&-");
}

static int make_script(whelk_rrun *rr, whelk_buf *b)
{
    const whelk_pipeline *p = rr->p;
    gen g = {b, 0, rr->mark};
    size_t i, n = p->ncmds;

    gen_checks(&g, p);
    /* No EXIT trap: bash runs it from its handler of a deadly signal, and
     * a forked child has that handler and the trap until it resets them.
     * The watchdog is stopped with USR1, which can reach it in that window
     * (the stages ended before it ran): it then removed $d, and with it
     * the stages' stderr, before the E records were sent.  So $d is
     * removed by this shell only, where it stops or ends. */
    putf(&g,
         "d=$(mktemp -d \"${TMPDIR:-/tmp}/whelk.XXXXXX\") || { printf "
         "'\\n%s X cannot make a temporary directory\\n' >&2; exit 0; }\n"
         "trap 'rm -rf \"$d\"; exit 129' HUP\n"
         "trap 'rm -rf \"$d\"; exit 143' TERM\n"
         "trap 'rm -rf \"$d\"; exit 141' PIPE\n",
         rr->mark);
    put(&g, "exec 3<&0\n");
    if (n > 1) {
        put(&g, "mkfifo");
        for (i = 1; i < n; i++)
            putf(&g, " \"$d/f%zu\"", i);
        putf(&g,
             " || { printf '\\n%s X mkfifo failed\\n' >&2; rm -rf \"$d\"; "
             "exit 0; }\n",
             rr->mark);
    }
    for (i = 0; i < n; i++)
        gen_stage(&g, p, i);
    gen_watchdog(&g, p);
    for (i = 0; i < n; i++)
        putf(&g, "wait \"$p%zu\"; s%zu=$?\n", i, i);
    put(&g, "kill -s USR1 \"$w\" 2>/dev/null; wait \"$w\"\n");
    for (i = 0; i < n; i++)
        if (framed(p->cmds[i]))
            putf(&g,
                 "if [ -s \"$d/e%zu\" ]; then printf '\\n%s E %zu %%d\\n' "
                 "$(wc -c <\"$d/e%zu\") >&2; cat \"$d/e%zu\" >&2; fi\n",
                 i, rr->mark, i, i, i);
    put(&g, "rm -rf \"$d\"\n");
    putf(&g, "printf '\\n%s S", rr->mark);
    for (i = 0; i < n; i++)
        put(&g, " %d");
    put(&g, "\\n'");
    for (i = 0; i < n; i++)
        putf(&g, " \"$s%zu\"", i);
    put(&g, " >&2\n");
    return g.bad ? -1 : 0;
}

/* ------------------------------------------------------------ an attempt */

static void new_mark(whelk_rrun *rr)
{
    unsigned char rnd[8];
    size_t i;

    if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
        struct timespec ts;
        uint64_t x;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = (uint64_t)ts.tv_nsec * 2654435761u ^ (uint64_t)ts.tv_sec ^
            ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)rr;
        memcpy(rnd, &x, sizeof rnd);
    }
    memcpy(rr->mark, "WHELK", 5);
    for (i = 0; i < sizeof rnd; i++)
        snprintf(rr->mark + 5 + 2 * i, 3, "%02x", rnd[i]);
    rr->marklen = strlen(rr->mark);
}

/* The transport command: its words, the script; its env and cwd. */
static whelk_cmd *make_transport(whelk_rrun *rr)
{
    whelk_remote *r = rr->r;
    const whelk_cmd *t = r->transport;
    whelk_cmd *c = whelk__cmd_alloc();
    whelk_buf script = {0};
    size_t i;

    if (!c)
        return NULL;
    whelk__cmd_push(c, t ? t->argv[0] : "ssh");
    if (transport_words(r, c, is_host_stdin(rr->p->in.kind)) < 0 ||
        make_script(rr, &script) < 0) {
        whelk__buf_free(&script);
        whelk_cmd_free(c);
        return NULL;
    }
    whelk__cmd_push(c, script.data);
    whelk__buf_free(&script);
    if (t) {
        for (i = 0; i < t->nenv; i++)
            whelk_cmd_setenv(c, t->env[i].name, t->env[i].value);
        if (t->clearenv)
            whelk_cmd_clearenv(c);
        if (t->cwd)
            whelk_cmd_chdir(c, t->cwd);
    }
    whelk__io_set(&c->err, IO_STREAM); /* the mux */
    if (c->fault.kind) {
        whelk_cmd_free(c);
        return NULL;
    }
    return c;
}

/* Stage i's stderr as pump.c would read it from a pipe.  0, or the errno
 * of a decoder that could not be made. */
static int make_streams(whelk_rrun *rr)
{
    const whelk_pipeline *p = rr->p;
    const whelk_decode_cfg *dc = &p->decode[1];
    size_t i;

    for (i = 0; i < rr->n; i++) {
        whelk_stream *s = &rr->vs[i];
        int k = p->cmds[i]->err.kind;
        s->fd = -1;
        s->stage = i;
        s->which = WHELK_STDERR;
        if (k != IO_CAPTURE && k != IO_STREAM)
            continue;
        s->keep = k == IO_CAPTURE;
        s->line_cb = p->line_fn && (p->line_streams & WHELK_STDERR);
        s->chunk_cb = p->chunk_fn && (p->chunk_streams & WHELK_STDERR);
        s->split.max_line = p->max_line;
        s->split.line.stage = i;
        s->split.line.stream = WHELK_STDERR;
        if (dc->encoding) {
            int e;
            s->split.utf8 = 1;
            if (!(s->dec = whelk__decoder_new(dc->encoding, dc->policy, &e)))
                return e;
        }
    }
    return 0;
}

/* A pipe above 2, close-on-exec. */
static int make_live(whelk_rrun *rr)
{
    int i;

    if (pipe2(rr->live, O_CLOEXEC) < 0) {
        rr->live[0] = rr->live[1] = -1;
        return -1;
    }
    for (i = 0; i < 2; i++) {
        rr->live[i] = whelk__fd_high(rr->live[i]);
        if (rr->live[i] < 0)
            return -1;
    }
    return 0;
}

whelk_rrun *whelk__remote_prepare(whelk_pipeline *p, whelk_error **err)
{
    whelk_rrun *rr;
    int rc;

    if ((*err = whelk__plan_validate(p)) != NULL)
        return NULL;
    for (rc = 0; (size_t)rc < p->ncmds; rc++)
        if (p->cmds[rc]->filter) {
            *err = whelk__error_new(
                WHELK_E_INVALID, EINVAL, (size_t)rc, NULL,
                "%s is a filter stage: a C function of this program cannot "
                "run on %s",
                p->cmds[rc]->argv[0], p->remote->name);
            return NULL;
        }
    if (!(rr = whelk__calloc(1, sizeof *rr))) {
        *err = (whelk_error *)&whelk__nomem_error;
        return NULL;
    }
    rr->r = p->remote;
    rr->p = p;
    rr->n = p->ncmds;
    rr->notfound = rr->badcwd = WHELK_NO_STAGE;
    rr->live[0] = rr->live[1] = -1;
    new_mark(rr);
    rr->vs = whelk__calloc(rr->n, sizeof *rr->vs);
    rr->codes = whelk__calloc(rr->n, sizeof *rr->codes);
    if (!rr->vs || !rr->codes || !(rr->cmdv[0] = make_transport(rr)) ||
        (rc = make_streams(rr)) == ENOMEM) {
        whelk__remote_run_free(rr);
        *err = (whelk_error *)&whelk__nomem_error;
        return NULL;
    }
    if (rc) {
        *err = whelk__encoding_error(p->decode[1].encoding, rc);
        whelk__remote_run_free(rr);
        return NULL;
    }
    /* the local pipeline: p's settings, the transport as its one stage;
     * files and /dev/null are opened there, by the script */
    rr->lp = *p;
    rr->lp.cmds = rr->cmdv;
    rr->lp.ncmds = rr->lp.cmdcap = 1;
    rr->lp.remote = NULL;
    memset(&rr->lp.fault, 0, sizeof rr->lp.fault);
    if (is_host_stdin(p->in.kind)) {
        /* the data's end is not the host's: the transport must die with
         * the host, so that the far side's heartbeat notices */
        rr->lp.die_with_host = 1;
    } else {
        if (make_live(rr) < 0) {
            *err = whelk__error_new(WHELK_E_IO, errno, WHELK_NO_STAGE, NULL,
                                    "cannot make a pipe: %s",
                                    whelk__strerror(errno));
            whelk__remote_run_free(rr);
            return NULL;
        }
        rr->lp.in.kind = IO_FD;
        rr->lp.in.fd = rr->live[0];
        rr->lp.in.path = NULL;
    }
    if (p->out.kind == IO_FILE || p->out.kind == IO_NULL ||
        p->out.kind == IO_TO_STDERR)
        rr->lp.out.kind = IO_NULL;
    return rr;
}

whelk_pipeline *whelk__remote_local(whelk_rrun *rr)
{
    return &rr->lp;
}

whelk_error *whelk__remote_start_error(whelk_rrun *rr, whelk_error *e)
{
    whelk_error *t;

    /* the transport could not be found or started here; other failures
     * (a pipe, stdin's encoding) are the pipeline's own */
    if (!e || e == &whelk__nomem_error ||
        (whelk_error_kind(e) != WHELK_E_NOTFOUND &&
         whelk_error_kind(e) != WHELK_E_EXEC))
        return e;
    t = whelk__error_new(WHELK_E_TRANSPORT, whelk_error_errno(e),
                         WHELK_NO_STAGE, NULL,
                         "cannot start the transport to %s: %s", rr->r->name,
                         whelk_error_message(e));
    if (t != &whelk__nomem_error)
        t = whelk__error_take_command(t, whelk__strdup(rr->r->name));
    whelk_error_free(e);
    return t;
}

int whelk__remote_started(whelk_proc *pr, whelk_error **err)
{
    whelk_rrun *rr = whelk__proc_remote(pr);
    size_t i, ns, n = whelk__proc_nstages(pr);
    whelk_stream *st = whelk__plan_streams(whelk__proc_plan(pr), &ns);

    (void)err;
    if (rr->live[0] >= 0) { /* the transport has it now */
        close(rr->live[0]);
        rr->live[0] = -1;
    }
    for (i = 1; i < n; i++)
        whelk__proc_stage_far(pr, i); /* the far side reports its status */
    for (i = 0; i < ns; i++) {
        whelk_stream *s = &st[i];
        if (s->which == WHELK_STDOUT) {
            s->stage = n - 1;
            s->split.line.stage = n - 1;
        } else {
            s->mux = 1;
            s->keep = s->line_cb = s->chunk_cb = 0;
            whelk__decoder_free(s->dec);
            s->dec = NULL;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ the demux */

static void add_noise(whelk_rrun *rr, const char *data, size_t len)
{
    whelk_buf *b = &rr->noise;

    if (!len)
        return;
    if (len > NOISE_BYTES) {
        data += len - NOISE_BYTES;
        len = NOISE_BYTES;
    }
    if (b->len + len > NOISE_BYTES) {
        size_t drop = b->len + len - NOISE_BYTES;
        if (drop > b->len)
            drop = b->len;
        memmove(b->data, b->data + drop, b->len - drop);
        b->len -= drop;
    }
    (void)whelk__buf_add(b, data, len); /* best effort */
}

/* Stage i's stderr bytes: where its stderr goes on this side. */
static int route(whelk_proc *pr, size_t i, char *data, size_t len, int eof)
{
    whelk_rrun *rr = whelk__proc_remote(pr);
    const whelk_cmd *c = rr->p->cmds[i];
    char none = '\0';

    switch (c->err.kind) {
    case IO_CAPTURE:
    case IO_STREAM:
        if (!len && !eof)
            return 0;
        return whelk__deliver(pr, &rr->vs[i], len ? data : &none, len, eof);
    /* a reader gone or too slow for the deadline drops the bytes, as a
     * tee does; the host never gets SIGPIPE nor waits past the deadline */
    case IO_INHERIT:
        (void)whelk__tee_put_fd(2, data, len, whelk__proc_until(pr));
        return 0;
    case IO_FD:
        (void)whelk__tee_put_fd(c->err.fd, data, len, whelk__proc_until(pr));
        return 0;
    default: return 0;
    }
}

static int parse_ull(const char **s, unsigned long long *v)
{
    char *end;

    errno = 0;
    *v = strtoull(*s, &end, 10);
    if (end == *s || errno)
        return -1;
    *s = end;
    return 0;
}

/* One record "K args" (without its newline). */
static void record(whelk_rrun *rr, const char *t, size_t len)
{
    char line[64];
    const char *s = t + 2;
    unsigned long long v;
    size_t i;

    if (len < 1)
        return;
    if (t[0] == 'X') {
        free(rr->setup);
        rr->setup =
            whelk__memdup(t + (len > 2 ? 2 : len), len > 2 ? len - 2 : 0);
        return;
    }
    if (t[0] == 'S') {
        for (i = 0; i < rr->n; i++) {
            while (*s == ' ')
                s++;
            if (s > t + len || parse_ull(&s, &v) < 0)
                return;
            rr->codes[i] = (int)(v & 0xff);
        }
        rr->have_status = 1;
        return;
    }
    if (len >= sizeof line)
        return;
    memcpy(line, t, len);
    line[len] = '\0';
    s = line + 2;
    if (len < 3 || parse_ull(&s, &v) < 0 || v >= rr->n)
        return;
    if (line[0] == 'N' && rr->notfound == WHELK_NO_STAGE)
        rr->notfound = (size_t)v;
    else if (line[0] == 'C' && rr->badcwd == WHELK_NO_STAGE)
        rr->badcwd = (size_t)v;
    else if (line[0] == 'E') {
        unsigned long long size;
        while (*s == ' ')
            s++;
        if (parse_ull(&s, &size) < 0)
            return;
        rr->body_stage = (size_t)v;
        rr->body_left = size;
        rr->in_body = 1;
        if (!size) {
            rr->in_body = 0;
        }
    }
}

/* Parse what has arrived; returns -1 when the run must stop. */
static int parse(whelk_proc *pr)
{
    whelk_rrun *rr = whelk__proc_remote(pr);
    whelk_buf *a = &rr->acc;
    size_t pos = 0;
    char pat[32];
    size_t patlen;
    int rc = 0;

    pat[0] = '\n';
    memcpy(pat + 1, rr->mark, rr->marklen);
    pat[1 + rr->marklen] = ' ';
    patlen = rr->marklen + 2;
    while (pos < a->len && rc == 0) {
        char *at, *hdr, *nl;
        if (rr->in_body) {
            size_t k = a->len - pos;
            if (k > rr->body_left)
                k = (size_t)rr->body_left;
            rc = route(pr, rr->body_stage, a->data + pos, k, 0);
            pos += k;
            rr->body_left -= k;
            if (!rr->body_left) {
                rr->in_body = 0;
                if (rc == 0)
                    rc = route(pr, rr->body_stage, a->data + pos, 0, 1);
            }
            continue;
        }
        at = memmem(a->data + pos, a->len - pos, pat, patlen);
        if (!at) {
            size_t keep = a->len - pos < patlen ? a->len - pos : patlen - 1;
            add_noise(rr, a->data + pos, a->len - pos - keep);
            pos = a->len - keep;
            break;
        }
        add_noise(rr, a->data + pos, (size_t)(at - (a->data + pos)));
        pos = (size_t)(at - a->data);
        hdr = at + patlen;
        nl = memchr(hdr, '\n', a->len - (size_t)(hdr - a->data));
        if (!nl)
            break; /* the rest of the record is still on its way */
        record(rr, hdr, (size_t)(nl - hdr));
        pos = (size_t)(nl + 1 - a->data);
    }
    memmove(a->data, a->data + pos, a->len - pos);
    a->len -= pos;
    a->data[a->len] = '\0';
    return rc;
}

int whelk__remote_demux(whelk_proc *pr, char *data, size_t len, int eof)
{
    whelk_rrun *rr = whelk__proc_remote(pr);
    int rc;

    if (rr->stopped)
        return -1;
    if (whelk__buf_add(&rr->acc, len ? data : "", len) < 0) {
        rr->stopped = 1;
        return -1;
    }
    rc = parse(pr);
    if (rc == 0 && eof) {
        if (rr->in_body) {
            rr->in_body = 0;
            rc = route(pr, rr->body_stage, NULL, 0, 1);
        }
        add_noise(rr, rr->acc.data, rr->acc.len);
        rr->acc.len = 0;
    }
    if (rc)
        rr->stopped = 1;
    return rc ? -1 : 0;
}

/* ------------------------------------------------------------ the verdict */

static void set_code(whelk_status *st, int code)
{
    st->known = 1;
    /* a POSIX shell reports a death by signal n as 128+n */
    if (code > 128 && code < 128 + 65) {
        st->code = -1;
        st->sig = code - 128;
    } else {
        st->code = code;
        st->sig = 0;
    }
}

/* The tail of the transport's own stderr, trimmed, for a message. */
static const char *noise_text(whelk_rrun *rr)
{
    whelk_buf *b = &rr->noise;
    size_t s = 0;

    if (!b->data)
        return "";
    while (b->len &&
           (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == ' ' ||
            b->data[b->len - 1] == '\r'))
        b->len--;
    b->data[b->len] = '\0';
    while (s < b->len && (b->data[s] == '\n' || b->data[s] == '\r'))
        s++;
    return b->data + s;
}

/* A program or a working directory missing there. */
static whelk_error *missing(const whelk_rrun *rr, size_t i, int cwd)
{
    const whelk_cmd *c = rr->p->cmds[i];
    char buf[64];
    const char *where = whelk__stage_label(buf, sizeof buf, i, rr->n);
    whelk_error *e;

    if (cwd)
        e = whelk__error_new(WHELK_E_EXEC, ENOENT, i, NULL,
                             "cannot change directory to %s on %s%s", c->cwd,
                             rr->r->name, where);
    else
        e = whelk__error_new(WHELK_E_NOTFOUND, ENOENT, i, NULL,
                             "%s: command not found on %s%s", c->argv[0],
                             rr->r->name, where);
    return whelk__error_set_command(e, c);
}

static whelk_error *transport_error(whelk_rrun *rr, const whelk_status *ts)
{
    const char *noise = noise_text(rr);
    char how[64];
    whelk_error *e;

    if (!ts->known)
        snprintf(how, sizeof how, "its status is unknown");
    else if (ts->sig)
        snprintf(how, sizeof how, "killed by signal %d", ts->sig);
    else
        snprintf(how, sizeof how, "exit status %d", ts->code);
    if (rr->setup)
        e = whelk__error_new(WHELK_E_TRANSPORT, EIO, WHELK_NO_STAGE, NULL,
                             "%s: the remote side could not set up the run: "
                             "%s",
                             rr->r->name, rr->setup);
    else
        e = whelk__error_new(WHELK_E_TRANSPORT, ECONNABORTED, WHELK_NO_STAGE,
                             NULL,
                             "the transport to %s failed (%s) before the run "
                             "reported its statuses%s%s",
                             rr->r->name, how, *noise ? ": " : "", noise);
    if (e != &whelk__nomem_error) {
        whelk__error_set_status(e, ts->known ? ts->code : -1,
                                ts->known ? ts->sig : 0);
        e = whelk__error_take_command(e, whelk__strdup(rr->r->name));
    }
    return e;
}

void whelk__remote_settle(const whelk_rrun *rr, whelk_status *st, int stop_sig)
{
    whelk_status ts = st[0], none = {-1, 0, 1}, stopped = {-1, 0, 1};
    size_t i;

    if (stop_sig) {
        /* a run the library stopped: its stages report the signal the
         * transport was given (ssh, a shell, exit on a TERM with a code) */
        stopped.sig = ts.known && ts.sig ? ts.sig : stop_sig;
    }
    for (i = 0; i < rr->n; i++) {
        if (rr->have_status)
            set_code(&st[i], rr->codes[i]);
        else
            st[i] = stopped.sig ? stopped : none;
    }
}

whelk_error *whelk__remote_failure(whelk_rrun *rr,
                                   const whelk_status *transport)
{
    if (rr->notfound != WHELK_NO_STAGE)
        return missing(rr, rr->notfound, 0);
    if (rr->badcwd != WHELK_NO_STAGE)
        return missing(rr, rr->badcwd, 1);
    if (!rr->have_status)
        return transport_error(rr, transport);
    return NULL;
}

void whelk__remote_run_free(whelk_rrun *rr)
{
    size_t i;

    if (!rr)
        return;
    if (rr->vs)
        for (i = 0; i < rr->n; i++) {
            whelk__decoder_free(rr->vs[i].dec);
            whelk__splitter_free(&rr->vs[i].split);
        }
    free(rr->vs);
    free(rr->codes);
    whelk_cmd_free(rr->cmdv[0]);
    whelk__buf_free(&rr->acc);
    whelk__buf_free(&rr->noise);
    free(rr->setup);
    if (rr->live[0] >= 0)
        close(rr->live[0]);
    if (rr->live[1] >= 0)
        close(rr->live[1]);
    free(rr);
}
