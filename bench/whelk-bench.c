/*
 * whelk-bench.c -- `make bench`: libwhelk side by side with raw
 * posix_spawn, fork and vfork, libpipeline, GLib and Python's subprocess.
 *
 * Without arguments it is the driver: for every section it runs each
 * peer's measurement as a fresh worker process (this program again with
 * --worker, bench/whelk-bench-core for the decoder internals, or python3
 * bench/pybench.py), round-robin over the peers and over several rounds,
 * so that drift of the machine hits every peer alike and no peer inherits
 * another's heap, signal handlers or peak RSS.  It prints one Markdown
 * table per section (median, min-max, spread, ratios), a warning for every
 * row whose rounds spread more than ±15 % around its median, a table of
 * the goals of issues 6 and 15 with PASS/MISS, and, given --ratios FILE
 * that holds an earlier run with the same options, how far each ratio
 * moved since (issue 15: two runs in a row within ±10 %).
 *
 * Ratios are paired: a row's ratio to another row of its section is the
 * median over the rounds of (row's value in round k) / (other row's value
 * in round k), shown with the largest distance of a round's ratio from
 * that median; the goals and the run-to-run comparison use it.  Where two
 * rows do not have a value for each of the same rounds it falls back to
 * the ratio of the medians, marked "(medians)".  Medians, min-max and the
 * spread of the rows' own figures are over the rounds as before.
 *
 *   whelk-bench [--rounds N] [--quick] [--only SECTION,...] [--ratios FILE]
 *
 * The streaming sections (capture, lines, pipeline, e2e) run every peer in
 * two CPU placements, reader and child on one CPU and on two different
 * CPUs (see "placement" below); on a one-CPU machine in the one.  The
 * spawn and many-jobs sections pin every peer, and so its children, to one CPU
 * (section_spawn says why); the lines sections report the best of a few
 * passes in each worker (w_lines says why).
 *
 * Sections whose measurements are short or noisy (spawn, pipeline, many
 * jobs) run more rounds than the default 7 unless --rounds is given.
 *
 * A peer that is not available (libpipeline or GLib not found by
 * configure, no python3 in PATH) is reported as skipped with the reason;
 * nothing is ever installed.
 *
 * A worker prints one line, "OK <value>" in the unit of its section, or
 * "ERR <reason>", and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <iconv.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <whelk.h>

#ifdef BENCH_HAVE_LIBPIPELINE
#include <pipeline.h>
#endif
#ifdef BENCH_HAVE_GLIB
#include <glib.h>
#endif

#include "gen.h"

/* Messages and labels are cut to their buffers on purpose. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#ifndef BENCH_BUILDDIR
#define BENCH_BUILDDIR "."
#endif
#ifndef BENCH_SRCDIR
#define BENCH_SRCDIR "."
#endif

#define CHILD BENCH_BUILDDIR "/bench/nolibc-child"
#define WRITER BENCH_BUILDDIR "/bench/nolibc-writer"
#define CORE BENCH_BUILDDIR "/bench/whelk-bench-core"
#define PYBENCH BENCH_SRCDIR "/bench/pybench.py"

#define GIB (1UL << 30)
#define MIB (1UL << 20)

extern char **environ;

/* ================================================================ common */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
werr(const char *fmt, ...)
{
    va_list ap;

    printf("ERR ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    exit(1);
}

static void __attribute__((noreturn)) wok(double v)
{
    printf("OK %.6g\n", v);
    fflush(stdout);
    exit(0);
}

static unsigned long parse_ul(const char *s)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end)
        werr("bad number: %s", s);
    return v;
}

/* 1 GiB of touched memory kept alive for the whole worker: a big host.
 * Ordinary 4 KiB pages, as a malloc heap usually has (no THP). */
static volatile unsigned char *ballast;

static void make_big(void)
{
    unsigned char *b = malloc(GIB);

    if (!b)
        werr("cannot allocate the 1 GiB ballast");
#ifdef MADV_NOHUGEPAGE
    madvise((void *)(((uintptr_t)b + 4095) & ~(uintptr_t)4095), GIB - 4096,
            MADV_NOHUGEPAGE);
#endif
    memset(b, 1, GIB);
    ballast = b;
}

static int wait_ok(pid_t pid)
{
    int st;

    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* ============================================================ placement */

/*
 * The CPU placement of a streaming worker, `--worker --pin=R,W ...`: the
 * worker (the reader) pins itself to CPU R with sched_setaffinity before
 * anything else, so every child inherits R at spawn; the writer child then
 * pins itself to CPU W (nolibc-writer's "@W" argument) before it writes a
 * byte, and a pipeline's stages go through nolibc-writer's `exec C PATH`
 * trampoline, alternating W, R, W, R.  R == W: everything on one CPU.
 * Without --pin nothing is pinned.  Every peer of a section gets the same
 * pinning, so the ratios compare like with like.
 */
static char writer_pin[16]; /* "@W", or "" when not pinned */
static int pin_r = -1, pin_w = -1;

static void pin_self(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0)
        werr("sched_setaffinity(%d): %s", cpu, strerror(errno));
}

/* The writer's argv for MODE N, with the pin when there is one. */
static char **writer_argv(const char *mode, const char *n)
{
    static char *argv[5];
    int i = 0;

    argv[i++] = WRITER;
    if (writer_pin[0])
        argv[i++] = writer_pin;
    argv[i++] = (char *)mode;
    argv[i++] = (char *)n;
    argv[i] = NULL;
    return argv;
}

/* ============================================================ spawn+wait */

typedef int (*spawn_fn)(void *ctx);

static char *child_argv[] = {CHILD, NULL};

static int sp_whelk(void *ctx)
{
    whelk_error *err = NULL;
    whelk_result *r = whelk_run(ctx, &err);

    if (!r) {
        fprintf(stderr, "whelk_run: %s\n", whelk_error_message(err));
        whelk_error_free(err);
        return -1;
    }
    whelk_result_free(r);
    return 0;
}

static int sp_posix_spawn(void *ctx)
{
    pid_t pid;

    (void)ctx;
    if (posix_spawn(&pid, CHILD, NULL, NULL, child_argv, environ) != 0)
        return -1;
    return wait_ok(pid);
}

static int sp_fork(void *ctx)
{
    pid_t pid = fork();

    (void)ctx;
    if (pid == 0) {
        execve(CHILD, child_argv, environ);
        _exit(127);
    }
    return pid < 0 ? -1 : wait_ok(pid);
}

static int sp_vfork(void *ctx)
{
    pid_t pid = vfork();

    (void)ctx;
    if (pid == 0) {
        execve(CHILD, child_argv, environ);
        _exit(127);
    }
    return pid < 0 ? -1 : wait_ok(pid);
}

/*
 * The steps of libwhelk's fast spawn path (lib/spawn.c, lib/plan.c, the
 * poll loop) added one at a time on top of the bare vfork floor, so that
 * what each guarantee costs is measured, not guessed (section spawn-steps,
 * issue 15).  Step k does everything of the steps below it:
 *   1 clone(CLONE_VM | CLONE_VFORK) on a stack of its own, waitpid
 *   2 every signal blocked around the clone, the child unblocks them
 *   3 the child sets the 62 catchable signals to SIG_DFL
 *   4 CLONE_PIDFD (the pidfd closed once the child has exec'd)
 *   5 the wait through the pidfd: poll, waitid(WNOWAIT), close, wait4
 *   6 setpgid in the child
 *   7 /dev/null opened and closed in the parent, dup3'd onto 0, 1, 2
 *   8 close_range(3, ~0) in the child
 *   9 faccessat + stat of the program in the parent
 */
#if defined(__linux__) && defined(CLONE_PIDFD) && defined(SYS_close_range)
#define HAVE_STEPS 1
static int step, step_null = -1;

struct step_ksig {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

static int step_child(void *arg)
{
    struct step_ksig dfl = {SIG_DFL, 0, NULL, 0};
    unsigned long none = 0;
    int sig, i;

    (void)arg;
    if (step >= 3)
        for (sig = 1; sig <= 64; sig++)
            if (sig != SIGKILL && sig != SIGSTOP)
                syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
    if (step >= 6)
        syscall(SYS_setpgid, 0, 0);
    if (step >= 7)
        for (i = 0; i < 3; i++)
            syscall(SYS_dup3, step_null, i, 0);
    if (step >= 8)
        syscall(SYS_close_range, 3U, ~0U, 0U);
    if (step >= 2)
        syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
    syscall(SYS_execve, CHILD, child_argv, environ);
    syscall(SYS_exit, 127);
    return 127;
}

static int sp_step(void *ctx)
{
    unsigned long all = ~0UL, old;
    char *stack;
    int fd = -1, st;
    pid_t pid;

    (void)ctx;
    if (step >= 9) {
        struct stat sb;
        if (faccessat(AT_FDCWD, CHILD, X_OK, AT_EACCESS) < 0 ||
            stat(CHILD, &sb) < 0)
            return -1;
    }
    if (step >= 7 && (step_null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
        return -1;
    if (!(stack = malloc(32768)))
        return -1;
    if (step >= 2)
        syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof all);
    pid =
        clone(step_child, stack + 32768,
              CLONE_VM | CLONE_VFORK | SIGCHLD | (step >= 4 ? CLONE_PIDFD : 0),
              NULL, &fd);
    if (step >= 2)
        syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof old);
    free(stack);
    if (step >= 7)
        close(step_null);
    if (pid < 0)
        return -1;
    if (step >= 5) {
        struct pollfd pf = {fd, POLLIN, 0};
        siginfo_t si;
        while (poll(&pf, 1, -1) < 0 && errno == EINTR)
            ;
        waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
        close(fd);
        return waitpid(pid, &st, WNOHANG) == pid && WIFEXITED(st) &&
                       WEXITSTATUS(st) == 0
                   ? 0
                   : -1;
    }
    if (step >= 4)
        close(fd);
    return wait_ok(pid);
}
#endif

#ifdef BENCH_HAVE_LIBPIPELINE
static int sp_libpipeline(void *ctx)
{
    pipeline *p = pipeline_new_command_args(CHILD, (void *)0);

    (void)ctx;
    return pipeline_run(p) == 0 ? 0 : -1; /* pipeline_run frees p */
}
#endif

#ifdef BENCH_HAVE_GLIB
static int sp_glib(void *ctx)
{
    GSpawnFlags flags = *(GSpawnFlags *)ctx;
    GError *err = NULL;
    gint status;

    if (!g_spawn_sync(NULL, child_argv, NULL, flags, NULL, NULL, NULL, NULL,
                      &status, &err)) {
        fprintf(stderr, "g_spawn_sync: %s\n", err->message);
        g_error_free(err);
        return -1;
    }
    return status == 0 ? 0 : -1;
}
#endif

/* Seconds of CPU this process and its reaped children have used: on-CPU
 * time, which other load on the machine does not lengthen (the kernel
 * accounts it from the scheduler's runtime, in nanoseconds). */
static double cpu_s(void)
{
    struct rusage self, kids;

    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    return (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec +
                    kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) +
           (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec +
                    kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) *
               1e-6;
}

static int spawn_cpu; /* --cpu: time_spawns measures CPU, not wall time */

/* Microseconds per spawn+wait: iters spawns, or fewer (at least 10) once
 * budget seconds have passed, after a few untimed ones.  With --cpu the
 * microseconds of CPU (parent and child) per spawn+wait. */
static double time_spawns(spawn_fn fn, void *ctx, unsigned long iters,
                          double budget)
{
    unsigned long i;
    double t0, c0;

    for (i = 0; i < 3; i++)
        if (fn(ctx) < 0)
            werr("spawn failed");
    c0 = cpu_s();
    t0 = now_s();
    for (i = 0; i < iters;) {
        if (fn(ctx) < 0)
            werr("spawn failed");
        i++;
        if (i >= 10 && now_s() - t0 > budget)
            break;
    }
    if (spawn_cpu)
        return (cpu_s() - c0) / (double)i * 1e6;
    return (now_s() - t0) / (double)i * 1e6;
}

static void w_spawn(int argc, char **argv)
{
    const char *peer;
    unsigned long iters;
    double budget;
    whelk_pipeline *p = NULL;
    spawn_fn fn = NULL;
    void *ctx = NULL;
    int i;
#ifdef BENCH_HAVE_GLIB
    static GSpawnFlags gflags;
#endif

    if (argc < 3)
        werr("usage: spawn PEER ITERS BUDGET [--big] [--cpu]");
    peer = argv[0];
    iters = parse_ul(argv[1]);
    budget = atof(argv[2]);
    for (i = 3; i < argc; i++)
        if (strcmp(argv[i], "--cpu") == 0)
            spawn_cpu = 1;
    for (i = 3; i < argc; i++)
        if (strcmp(argv[i], "--big") == 0)
            make_big();
    if (strcmp(peer, "whelk-null") == 0 || strcmp(peer, "whelk-capture") == 0) {
        p = whelk_pipe(whelk_cmd_new(CHILD, NULL), NULL);
        if (strcmp(peer, "whelk-null") == 0) {
            whelk_pipeline_stdout(p, WHELK_NULL);
            whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_NULL);
        }
        fn = sp_whelk;
        ctx = p;
    } else if (strcmp(peer, "posix_spawn") == 0) {
        fn = sp_posix_spawn;
    } else if (strcmp(peer, "fork") == 0) {
        fn = sp_fork;
    } else if (strcmp(peer, "vfork") == 0) {
        fn = sp_vfork;
#ifdef HAVE_STEPS
    } else if (strncmp(peer, "step", 4) == 0) {
        step = (int)parse_ul(peer + 4);
        fn = sp_step;
#endif
#ifdef BENCH_HAVE_LIBPIPELINE
    } else if (strcmp(peer, "libpipeline") == 0) {
        fn = sp_libpipeline;
#endif
#ifdef BENCH_HAVE_GLIB
    } else if (strcmp(peer, "glib") == 0 || strcmp(peer, "glib-leave") == 0) {
        gflags = strcmp(peer, "glib") == 0 ? G_SPAWN_DEFAULT
                                           : G_SPAWN_LEAVE_DESCRIPTORS_OPEN;
        fn = sp_glib;
        ctx = &gflags;
#endif
    } else {
        werr("unknown spawn peer %s", peer);
    }
    wok(time_spawns(fn, ctx, iters, budget));
}

/* ============================================================== capture */

/* A streaming worker's optional third argument, PASSES (at least 1). */
static unsigned long passes_arg(int argc, char **argv)
{
    unsigned long passes = argc > 2 ? parse_ul(argv[2]) : 1;

    if (passes < 1)
        werr("bad PASSES %s", argv[2]);
    return passes;
}

/* One pass: PEER captures the N bytes of the writer started with WARGV;
 * the seconds it took. */
static double capture_pass(const char *peer, char **wargv, unsigned long n)
{
    size_t got = 0;
    double t0, dt;

    if (strcmp(peer, "whelk") == 0) {
        whelk_pipeline *p =
            whelk_pipe(whelk_cmd_newv((const char *const *)wargv), NULL);
        whelk_error *err = NULL;
        whelk_result *r;
        t0 = now_s();
        r = whelk_run(p, &err);
        dt = now_s() - t0;
        if (!r)
            werr("whelk_run: %s", whelk_error_message(err));
        whelk_result_stdout(r, &got);
        whelk_result_free(r);
        whelk_pipeline_free(p);
    } else if (strcmp(peer, "raw") == 0) {
        /* the loop a careful programmer writes: 64 KiB reads straight into
         * a buffer that doubles */
        posix_spawn_file_actions_t fa;
        int fds[2];
        pid_t pid;
        char *buf = NULL;
        size_t cap = 0;
        ssize_t k;
        t0 = now_s();
        if (pipe2(fds, O_CLOEXEC) < 0)
            werr("pipe2: %s", strerror(errno));
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        if (posix_spawn(&pid, WRITER, &fa, NULL, wargv, environ) != 0)
            werr("posix_spawn failed");
        posix_spawn_file_actions_destroy(&fa);
        close(fds[1]);
        for (;;) {
            if (cap - got < 65536) {
                cap = cap ? cap * 2 : 65536 * 4;
                if (!(buf = realloc(buf, cap)))
                    werr("out of memory");
            }
            k = read(fds[0], buf + got, 65536);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                break;
            got += (size_t)k;
        }
        close(fds[0]);
        if (wait_ok(pid) < 0)
            werr("writer failed");
        dt = now_s() - t0;
        free(buf);
#ifdef BENCH_HAVE_GLIB
    } else if (strcmp(peer, "glib") == 0) {
        gchar *out = NULL;
        GError *err = NULL;
        gint status;
        t0 = now_s();
        if (!g_spawn_sync(NULL, wargv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                          NULL, &status, &err))
            werr("g_spawn_sync: %s", err->message);
        dt = now_s() - t0;
        got = strlen(out); /* the writer writes no NUL */
        g_free(out);
#endif
    } else {
        werr("unknown capture peer %s", peer);
    }
    if (got != n)
        werr("captured %zu bytes, expected %lu", got, n);
    return dt;
}

/*
 * `capture PEER BYTES [PASSES]`: GB/s of the best of PASSES captures in
 * this process.  Most of a big capture's time is the kernel faulting in
 * the buffer's fresh pages, and on a VM that cost is bimodal: the same
 * 264 k faults of a 1 GiB capture took 0.55 or 0.80 s of system time,
 * the raw loop's as well as libwhelk's (RESULTS.md, "Capture").  A pass
 * after the first reuses memory this process just freed.
 */
static void w_capture(int argc, char **argv)
{
    unsigned long n, passes = 1, i;
    char nbuf[32] = "";
    char **wargv = writer_argv("fill", nbuf);
    double best = -1;

    if (argc < 2)
        werr("usage: capture PEER BYTES [PASSES]");
    n = parse_ul(argv[1]);
    passes = passes_arg(argc, argv);
    snprintf(nbuf, sizeof nbuf, "%lu", n);
    for (i = 0; i < passes; i++) {
        double dt = capture_pass(argv[0], wargv, n);
        if (best < 0 || dt < best)
            best = dt;
    }
    wok((double)n / best / 1e9);
}

/* ================================================================ lines */

typedef struct counter {
    unsigned long lines, bytes;
} counter;

static int count_line(const whelk_line *l, void *ud)
{
    counter *c = ud;

    c->lines++;
    c->bytes += l->len;
    return 0;
}

static unsigned long lines_per_block(unsigned long *bytes)
{
    static unsigned char blk[GEN_LINES_BLOCK];
    unsigned long k;

    *bytes = gen_lines(blk, sizeof blk, &k);
    return k;
}

static pid_t spawn_writer(char *const *wargv, int *rfd)
{
    posix_spawn_file_actions_t fa;
    int fds[2];
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0)
        werr("pipe2: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    if (posix_spawn(&pid, WRITER, &fa, NULL, wargv, environ) != 0)
        werr("posix_spawn failed");
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    *rfd = fds[0];
    return pid;
}

/* The reference: read() 64 KiB at a time, memchr for each newline. */
static void raw_lines(int fd, counter *c)
{
    static char buf[65536];
    unsigned long partial = 0;
    ssize_t k;

    for (;;) {
        char *p, *end, *nl;
        k = read(fd, buf, sizeof buf);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        p = buf;
        end = buf + k;
        while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            c->lines++;
            c->bytes += partial + (unsigned long)(nl - p);
            partial = 0;
            p = nl + 1;
        }
        partial += (unsigned long)(end - p);
    }
}

/*
 * Peak RSS of this process in MiB.  getrusage's ru_maxrss is not enough on
 * its own: execve folds the peak of the image it replaces into it, and a
 * worker started with vfork semantics replaced its spawner's, so it never
 * reads lower than the driver's own peak.  VmHWM of /proc/self/status is
 * the peak of this image alone; ru_maxrss is the fallback.
 */
static double peak_rss_mib(void)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    struct rusage ru;

    if (f) {
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "VmHWM:", 6) == 0) {
                fclose(f);
                return strtod(line + 6, NULL) / 1024.0;
            }
        fclose(f);
    }
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* One pass: PEER reads the N lines of the writer started with WARGV. */
static void lines_pass(const char *peer, char **wargv, unsigned long n)
{
    counter c = {0, 0};

    if (strcmp(peer, "whelk") == 0 || strcmp(peer, "whelk-nocb") == 0) {
        whelk_pipeline *p =
            whelk_pipe(whelk_cmd_newv((const char *const *)wargv), NULL);
        whelk_error *err = NULL;
        whelk_result *r;
        whelk_pipeline_stdout(p, WHELK_STREAM);
        if (strcmp(peer, "whelk") == 0)
            whelk_pipeline_on_line(p, WHELK_STDOUT, count_line, &c);
        r = whelk_run(p, &err);
        if (!r)
            werr("whelk_run: %s", whelk_error_message(err));
        whelk_result_free(r);
        whelk_pipeline_free(p);
        if (strcmp(peer, "whelk-nocb") == 0)
            c.lines = n;
    } else if (strcmp(peer, "whelk-pull") == 0) {
        /* the host pulls the lines through the handle (issue 12) */
        whelk_pipeline *p =
            whelk_pipe(whelk_cmd_newv((const char *const *)wargv), NULL);
        whelk_error *err = NULL;
        whelk_result *r;
        whelk_proc *pr;
        whelk_line line;
        int k;
        whelk_pipeline_stdout(p, WHELK_PULL);
        if (!(pr = whelk_start(p, &err)))
            werr("whelk_start: %s", whelk_error_message(err));
        while ((k = whelk_proc_read_line(pr, &line, -1)) == 1) {
            c.lines++;
            c.bytes += line.len;
        }
        if (k < 0)
            werr("whelk_proc_read_line: %s", strerror(errno));
        if (!(r = whelk_proc_wait(pr, &err)))
            werr("whelk_proc_wait: %s", whelk_error_message(err));
        whelk_result_free(r);
        whelk_pipeline_free(p);
    } else if (strcmp(peer, "whelk-getline") == 0) {
        /* getline over whelk_proc_stdout_stream (issue 12) */
        whelk_pipeline *p =
            whelk_pipe(whelk_cmd_newv((const char *const *)wargv), NULL);
        whelk_error *err = NULL;
        whelk_result *r;
        whelk_proc *pr;
        char *line = NULL;
        size_t cap = 0;
        ssize_t k;
        FILE *f;
        whelk_pipeline_stdout(p, WHELK_PULL);
        if (!(pr = whelk_start(p, &err)))
            werr("whelk_start: %s", whelk_error_message(err));
        if (!(f = whelk_proc_stdout_stream(pr)))
            werr("whelk_proc_stdout_stream: %s", strerror(errno));
        while ((k = getline(&line, &cap, f)) > 0) {
            c.lines++;
            c.bytes += (unsigned long)k - 1;
        }
        free(line);
        fclose(f);
        if (!(r = whelk_proc_wait(pr, &err)))
            werr("whelk_proc_wait: %s", whelk_error_message(err));
        whelk_result_free(r);
        whelk_pipeline_free(p);
    } else if (strcmp(peer, "raw") == 0) {
        int fd;
        pid_t pid = spawn_writer(wargv, &fd);
        raw_lines(fd, &c);
        close(fd);
        if (wait_ok(pid) < 0)
            werr("writer failed");
    } else if (strcmp(peer, "getline") == 0) {
        char cmd[512], *line = NULL;
        size_t cap = 0;
        ssize_t k;
        FILE *f;
        snprintf(cmd, sizeof cmd, "exec '%s' %s lines %lu", WRITER, writer_pin,
                 n);
        if (!(f = popen(cmd, "r")))
            werr("popen: %s", strerror(errno));
        while ((k = getline(&line, &cap, f)) > 0) {
            c.lines++;
            c.bytes += (unsigned long)k - 1;
        }
        free(line);
        if (pclose(f) != 0)
            werr("writer failed");
#ifdef BENCH_HAVE_LIBPIPELINE
    } else if (strcmp(peer, "libpipeline") == 0) {
        pipecmd *cmd = pipecmd_new(WRITER);
        pipeline *p;
        const char *line;
        int i;
        for (i = 1; wargv[i]; i++)
            pipecmd_arg(cmd, wargv[i]);
        p = pipeline_new_commands(cmd, (void *)0);
        pipeline_want_out(p, -1);
        pipeline_start(p);
        while ((line = pipeline_readline(p)) != NULL) {
            c.lines++;
            c.bytes += strlen(line) - 1;
        }
        if (pipeline_wait(p) != 0)
            werr("writer failed");
        pipeline_free(p);
#endif
    } else {
        werr("unknown lines peer %s", peer);
    }
    if (c.lines != n)
        werr("counted %lu lines, expected %lu", c.lines, n);
}

/*
 * The writer's lines read by a peer: `lines PEER NLINES [PASSES]`.
 * mode: LINES_TIME ns per line, LINES_RSS peak RSS of this process in MiB
 * (one pass), LINES_CPU ns of CPU (reader and writer) per line.
 *
 * With PASSES > 1 the figure is the best of that many passes in this
 * process.  On two CPUs one pass's time is bimodal: when the reader keeps
 * up with the writer it sleeps on an empty pipe after every read and the
 * writer pays for waking it on every write, and a pass's time depends on
 * how often that happens, which is scheduler luck, and is more often the
 * faster the reader is (RESULTS.md, "Line callbacks on two CPUs").  The
 * best of a few short passes measures each peer in the mode it can reach.
 */
enum { LINES_TIME, LINES_RSS, LINES_CPU };
static void w_lines(int argc, char **argv, int mode)
{
    unsigned long n, passes = 1, i;
    char nbuf[32] = "";
    char **wargv = writer_argv("lines", nbuf);
    double best = -1;

    if (argc < 2)
        werr("usage: lines PEER NLINES [PASSES]");
    n = parse_ul(argv[1]);
    if (mode != LINES_RSS)
        passes = passes_arg(argc, argv);
    snprintf(nbuf, sizeof nbuf, "%lu", n);
    for (i = 0; i < passes; i++) {
        double t0 = now_s(), c0 = cpu_s(), v;
        lines_pass(argv[0], wargv, n);
        v = mode == LINES_CPU ? cpu_s() - c0 : now_s() - t0;
        if (best < 0 || v < best)
            best = v;
    }
    if (mode == LINES_RSS)
        wok(peak_rss_mib());
    wok(best / (double)n * 1e9);
}

/* ============================================================ pipelines */

/* PROG's path in PATH (the pinned stages exec it through the trampoline,
 * which does no PATH search), or werr. */
static char *which(const char *prog)
{
    const char *path = getenv("PATH");
    char *copy, *dir, *save = NULL, *found = NULL;
    char buf[4096];

    if (!path || !(copy = strdup(path)))
        werr("no PATH to find %s in", prog);
    for (dir = strtok_r(copy, ":", &save); dir && !found;
         dir = strtok_r(NULL, ":", &save)) {
        snprintf(buf, sizeof buf, "%s/%s", *dir ? dir : ".", prog);
        if (access(buf, X_OK) == 0)
            found = strdup(buf);
    }
    free(copy);
    if (!found)
        werr("%s not found in PATH", prog);
    return found;
}

/* A filter stage that passes its input on unchanged. */
static int copy_filter(whelk_filter *out, const void *data, size_t len,
                       void *ud)
{
    (void)ud;
    return len && whelk_filter_write(out, data, len) < 0 ? 1 : 0;
}

/* rss: report the peak RSS of this process (MiB) instead of the time */
static void w_pipeline(int argc, char **argv, int rss)
{
    const char *peer;
    char *plain[4][5] = {{"head", "-c", NULL, "/dev/zero", NULL},
                         {"cat", NULL},
                         {"cat", NULL},
                         {"wc", "-c", NULL}};
    char *pinned[4][8], cpus[2][16];
    char *(*stages)[8] = pinned;
    char out[64] = "";
    double t0, dt;
    unsigned long expect;
    int i, j;

    if (argc < 3)
        werr("usage: pipeline PEER SIZE BYTES");
    peer = argv[0];
    plain[0][2] = argv[1];
    expect = parse_ul(argv[2]);
    /* the stages, pinned or not; no PATH search in the trampoline, so the
     * programs are found before the clock starts */
    snprintf(cpus[0], sizeof cpus[0], "%d", pin_w);
    snprintf(cpus[1], sizeof cpus[1], "%d", pin_r);
    for (i = 0; i < 4; i++) {
        int k = 0;
        if (pin_r >= 0) {
            pinned[i][k++] = WRITER;
            pinned[i][k++] = "exec";
            pinned[i][k++] = cpus[i % 2]; /* W, R, W, R */
            pinned[i][k++] = which(plain[i][0]);
        } else {
            pinned[i][k++] = plain[i][0];
        }
        for (j = 1; plain[i][j]; j++)
            pinned[i][k++] = plain[i][j];
        pinned[i][k] = NULL;
    }
    t0 = now_s();
    if (strcmp(peer, "whelk") == 0 || strcmp(peer, "whelk-filter") == 0) {
        /* whelk-filter: the first cat is a C filter in the host's loop */
        whelk_pipeline *p =
            whelk_pipe(whelk_cmd_newv((const char *const *)stages[0]),
                       strcmp(peer, "whelk") == 0
                           ? whelk_cmd_newv((const char *const *)stages[1])
                           : whelk_cmd_new_filter("copy", copy_filter, NULL),
                       whelk_cmd_newv((const char *const *)stages[2]),
                       whelk_cmd_newv((const char *const *)stages[3]), NULL);
        whelk_error *err = NULL;
        whelk_result *r = whelk_run(p, &err);
        if (!r)
            werr("whelk_run: %s", whelk_error_message(err));
        dt = now_s() - t0;
        snprintf(out, sizeof out, "%s", whelk_result_stdout(r, NULL));
        whelk_result_free(r);
        whelk_pipeline_free(p);
    } else if (strcmp(peer, "raw") == 0) {
        /* a hand-written chain: pipes, posix_spawnp, read, waitpid */
        pid_t pids[4];
        int in = -1, fds[2], bad = 0;
        size_t got = 0;
        ssize_t k;
        for (i = 0; i < 4; i++) {
            posix_spawn_file_actions_t fa;
            if (pipe2(fds, O_CLOEXEC) < 0)
                werr("pipe2: %s", strerror(errno));
            posix_spawn_file_actions_init(&fa);
            if (in >= 0)
                posix_spawn_file_actions_adddup2(&fa, in, 0);
            posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
            if (posix_spawnp(&pids[i], stages[i][0], &fa, NULL, stages[i],
                             environ) != 0)
                werr("posix_spawnp %s failed", stages[i][0]);
            posix_spawn_file_actions_destroy(&fa);
            close(fds[1]);
            if (in >= 0)
                close(in);
            in = fds[0];
        }
        while ((k = read(in, out + got, sizeof out - 1 - got)) > 0 ||
               (k < 0 && errno == EINTR))
            if (k > 0)
                got += (size_t)k;
        out[got] = '\0';
        close(in);
        for (i = 0; i < 4; i++)
            bad |= wait_ok(pids[i]) < 0;
        if (bad)
            werr("a stage failed");
        dt = now_s() - t0;
    } else {
        werr("unknown pipeline peer %s", peer);
    }
    if (strtoul(out, NULL, 10) != expect)
        werr("wc -c said %s", out);
    wok(rss ? peak_rss_mib() : dt);
}

/* ========================================================= decoding e2e */

/* Bytes of UTF-8 that n bytes of the writer's latin1 stream decode to. */
static unsigned long latin1_decoded_len(unsigned long n)
{
    static unsigned char blk[GEN_TEXT_BLOCK];
    unsigned long i, high_blk = 0, high_rem = 0;

    gen_text(0, blk, sizeof blk, GEN_SEED);
    for (i = 0; i < sizeof blk; i++) {
        high_blk += blk[i] >= 0x80;
        if (i < n % sizeof blk)
            high_rem += blk[i] >= 0x80;
    }
    return n + (n / sizeof blk) * high_blk + high_rem;
}

/* GB/s of input through a whole run that decodes it: what users see. */
static void w_e2e(int argc, char **argv)
{
    const char *peer, *kind;
    unsigned long n, expect;
    char nbuf[32] = "";
    size_t got = 0;
    double t0, dt;

    if (argc < 3)
        werr("usage: e2e PEER latin1|utf8 BYTES");
    peer = argv[0];
    kind = argv[1];
    n = parse_ul(argv[2]);
    snprintf(nbuf, sizeof nbuf, "%lu", n);
    expect = strcmp(kind, "latin1") == 0 ? latin1_decoded_len(n) : n;
    t0 = now_s();
    if (strncmp(peer, "whelk", 5) == 0) {
        whelk_pipeline *p = whelk_pipe(
            whelk_cmd_newv((const char *const *)writer_argv(kind, nbuf)), NULL);
        whelk_error *err = NULL;
        whelk_result *r;
        if (strcmp(peer, "whelk-decode") == 0)
            whelk_pipeline_decode(p, WHELK_STDOUT,
                                  strcmp(kind, "latin1") == 0 ? "ISO-8859-1"
                                                              : "UTF-8",
                                  WHELK_DECODE_STRICT);
        else
            expect = n; /* bytes as they are */
        r = whelk_run(p, &err);
        if (!r)
            werr("whelk_run: %s", whelk_error_message(err));
        dt = now_s() - t0;
        whelk_result_stdout(r, &got);
        whelk_result_free(r);
        whelk_pipeline_free(p);
    } else if (strcmp(peer, "raw-iconv") == 0) {
        /* 64 KiB reads, each converted by iconv into a growing buffer */
        char **wargv = writer_argv(kind, nbuf);
        static char in[65536 + 16];
        size_t have = 0, cap = 0;
        char *buf = NULL;
        iconv_t cd = iconv_open(
            "UTF-8", strcmp(kind, "latin1") == 0 ? "ISO-8859-1" : "UTF-8");
        int fd;
        pid_t pid;
        ssize_t k;
        if (cd == (iconv_t)-1)
            werr("iconv_open: %s", strerror(errno));
        pid = spawn_writer(wargv, &fd);
        for (;;) {
            char *ip = in, *op;
            size_t il, ol;
            k = read(fd, in + have, 65536);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                break;
            il = have + (size_t)k;
            if (cap - got < il * 4) {
                while (cap - got < il * 4)
                    cap = cap ? cap * 2 : 1 << 20;
                if (!(buf = realloc(buf, cap)))
                    werr("out of memory");
            }
            op = buf + got;
            ol = cap - got;
            if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 && errno != EINVAL)
                werr("iconv: %s", strerror(errno));
            got = (size_t)(op - buf);
            memmove(in, ip, il); /* a sequence split across reads */
            have = il;
        }
        close(fd);
        if (wait_ok(pid) < 0)
            werr("writer failed");
        iconv_close(cd);
        dt = now_s() - t0;
        free(buf);
    } else {
        werr("unknown e2e peer %s", peer);
    }
    if (got != expect)
        werr("got %zu bytes, expected %lu", got, expect);
    wok((double)n / dt / 1e9);
}

/* ============================================================ many jobs */

static void w_many(int argc, char **argv)
{
    const char *peer;
    unsigned long n, i;
    double t0, dt;

    if (argc < 2)
        werr("usage: many PEER NJOBS [PARALLEL]");
    peer = argv[0];
    n = parse_ul(argv[1]);
    if (strcmp(peer, "whelk") == 0 || strcmp(peer, "whelk-capture") == 0) {
        unsigned long par = argc > 2 ? parse_ul(argv[2]) : 1;
        whelk_pipeline **ps = calloc(n, sizeof *ps);
        whelk_result **rs = calloc(n, sizeof *rs);
        whelk_error **es = calloc(n, sizeof *es);
        size_t failed;
        if (!ps || !rs || !es)
            werr("out of memory");
        for (i = 0; i < n; i++) {
            ps[i] = whelk_pipe(whelk_cmd_new(CHILD, NULL), NULL);
            if (strcmp(peer, "whelk") == 0) {
                whelk_pipeline_stdout(ps[i], WHELK_NULL);
                whelk_cmd_stderr(whelk_pipeline_cmd(ps[i], 0), WHELK_NULL);
            }
        }
        t0 = now_s();
        failed = whelk_run_many(ps, n, par, rs, es);
        dt = now_s() - t0;
        if (failed)
            werr("%zu jobs failed: %s", failed, whelk_error_message(es[0]));
        for (i = 0; i < n; i++) {
            whelk_result_free(rs[i]);
            whelk_pipeline_free(ps[i]);
        }
        free(ps);
        free(rs);
        free(es);
    } else if (strcmp(peer, "raw") == 0) {
        t0 = now_s();
        for (i = 0; i < n; i++)
            if (sp_posix_spawn(NULL) < 0)
                werr("spawn failed");
        dt = now_s() - t0;
    } else if (strcmp(peer, "raw-par") == 0) {
        /* what the machine gives to N in flight: posix_spawn, and
         * waitpid(-1) (fine here: the worker has no other children) */
        unsigned long par = argc > 2 ? parse_ul(argv[2]) : 2, live = 0;
        int st;
        t0 = now_s();
        for (i = 0; i < n || live;) {
            pid_t pid;
            if (i < n && live < par) {
                if (posix_spawn(&pid, CHILD, NULL, NULL, child_argv, environ))
                    werr("spawn failed");
                i++;
                live++;
                continue;
            }
            if (waitpid(-1, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
                werr("a job failed");
            live--;
        }
        dt = now_s() - t0;
    } else {
        werr("unknown many peer %s", peer);
    }
    wok(dt * 1e3);
}

static int worker(int argc, char **argv)
{
    alarm(600); /* a hung peer must not hang `make bench` */
    if (argc > 0 && strncmp(argv[0], "--pin=", 6) == 0) {
        if (sscanf(argv[0] + 6, "%d,%d", &pin_r, &pin_w) != 2 || pin_r < 0 ||
            pin_w < 0)
            werr("bad %s", argv[0]);
        pin_self(pin_r);
        snprintf(writer_pin, sizeof writer_pin, "@%d", pin_w);
        argc--;
        argv++;
    }
    if (argc < 1)
        werr("no worker given");
    if (strcmp(argv[0], "spawn") == 0)
        w_spawn(argc - 1, argv + 1);
    else if (strcmp(argv[0], "capture") == 0)
        w_capture(argc - 1, argv + 1);
    else if (strcmp(argv[0], "lines") == 0)
        w_lines(argc - 1, argv + 1, LINES_TIME);
    else if (strcmp(argv[0], "rss") == 0)
        w_lines(argc - 1, argv + 1, LINES_RSS);
    else if (strcmp(argv[0], "lines-cpu") == 0)
        w_lines(argc - 1, argv + 1, LINES_CPU);
    else if (strcmp(argv[0], "pipeline") == 0)
        w_pipeline(argc - 1, argv + 1, 0);
    else if (strcmp(argv[0], "pipeline-rss") == 0)
        w_pipeline(argc - 1, argv + 1, 1);
    else if (strcmp(argv[0], "e2e") == 0)
        w_e2e(argc - 1, argv + 1);
    else if (strcmp(argv[0], "many") == 0)
        w_many(argc - 1, argv + 1);
    werr("unknown worker %s", argv[0]);
}

/* ================================================================ driver */

#define MAXR 32
#define MAXARGS 12

enum { TIME, RATE }; /* lower is better / higher is better */

typedef struct peer {
    const char *label;
    const char *argv[MAXARGS]; /* argv[0] NULL: skipped */
    const char *skip;          /* why it is skipped */
    int place;                 /* index into places[], -1: not pinned */
    double v[MAXR];            /* the values, in the order of the rounds */
    int rd[MAXR];              /* the round each value was measured in */
    int nv;
    char err[256];
    double med, min, max;
} peer;

typedef struct section {
    const char *key;
    char title[256];
    const char *unit;
    int sense; /* TIME or RATE */
    peer peers[24];
    int npeers;  /* entries of peers[]: rows times nplace */
    int nplace;  /* placements per row: 1, or nplaces for a placed section */
    int placed;  /* each row runs in every placement */
    int pin_one; /* not placed: every row pinned, with its children, to the
                    first placement's reader CPU */
    int steps;   /* rows are steps: a column of each row's median minus the
                    one above instead of best vs best and libwhelk vs peer */
    int ref;     /* the reference row of the ratio column */
    int main;    /* the libwhelk row compared with every peer */
    int rounds;
} section;

/* Row i of s in placement k (k = 0 for an unplaced section). */
#define ROW(s, i, k) (&(s)->peers[(i) * (s)->nplace + (k)])
#define NROWS(s) ((s)->npeers / (s)->nplace)

/* An argv element replaced by the placement's --pin=R,W (dropped in a
 * section without placements). */
static const char PIN[] = "<pin>";

/* The placements: reader and writer CPUs.  Two CPUs of the driver's own
 * affinity mask, or one placement on a one-CPU machine. */
typedef struct place {
    int r, w;
    char label[64];  /* "one CPU", "two CPUs" */
    char detail[96]; /* which CPUs */
} place;
static place places[2];
static int nplaces;

/* A row's spread: its largest distance from its median, in % of it. */
#define SPREAD_WARN 15.0
static char warnings[64][200];
static int nwarnings;

static section sec; /* the section being run */

typedef struct goal {
    char what[160];
    char measured[64];
    char bestof[64];
    char target[32];
    int state; /* 1 pass, 0 miss, -1 not measured */
    char margin[64];
} goal;

static goal goals[48];
static int ngoals;
static int rounds = 7;
static int rounds_fixed; /* --rounds or --quick: the same for every section */
static int quick;
static const char *only;
static char self_exe[4096];
static char python[4096];
static const char *python_skip;
static char python_version[64];

#ifdef BENCH_HAVE_LIBPIPELINE
#define LIBPIPELINE_SKIP NULL
#else
#define LIBPIPELINE_SKIP                                                       \
    "libpipeline not found by configure (Debian: apt-get install "             \
    "libpipeline-dev pkg-config, then ./configure)"
#endif
#ifdef BENCH_HAVE_GLIB
#define GLIB_SKIP NULL
#else
#define GLIB_SKIP                                                              \
    "GLib not found by configure (Debian: apt-get install libglib2.0-dev "     \
    "pkg-config, then ./configure)"
#endif

static int wanted(const char *key)
{
    const char *p = only;
    size_t n = strlen(key);

    if (!only)
        return 1;
    while ((p = strstr(p, key)) != NULL) {
        if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return 1;
        p += n;
    }
    return 0;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* Add a row: label, skip reason (NULL: available), then argv, NULL; in a
 * placed section one peer per placement, PIN in argv made --pin=R,W. */
static void add(section *s, const char *label, const char *skip, ...)
{
    const char *args[MAXARGS];
    va_list ap;
    const char *a;
    int n = 0, k, i, j;

    va_start(ap, skip);
    while ((a = va_arg(ap, const char *)) != NULL && n < MAXARGS - 1)
        args[n++] = a;
    va_end(ap);
    for (k = 0; k < s->nplace; k++) {
        peer *p = &s->peers[s->npeers++];
        memset(p, 0, sizeof *p);
        p->label = label;
        p->skip = skip;
        p->place = s->placed ? k : -1;
        for (i = j = 0; i < n; i++) {
            if (args[i] != PIN)
                p->argv[j++] = args[i];
            else if (s->placed)
                p->argv[j++] = fmt("--pin=%d,%d", places[k].r, places[k].w);
            else if (s->pin_one)
                p->argv[j++] = fmt("--pin=%d,%d", places[0].r, places[0].r);
        }
        p->argv[j] = NULL;
        if (skip)
            p->argv[0] = NULL;
    }
}
static char *fmt(const char *f, ...)
{
    va_list ap;
    char *s;

    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0)
        s = NULL;
    va_end(ap);
    if (!s) {
        perror("whelk-bench");
        exit(2);
    }
    return s;
}

/* Run one worker; 0 and *v, or -1 with the reason in err. */
static int run_worker(const char *const *argv, double *v, char *err,
                      size_t errlen, char *text, size_t textlen)
{
    posix_spawn_file_actions_t fa;
    char out[512];
    size_t got = 0;
    ssize_t k;
    int fds[2], st;
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe2: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    k = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (k != 0) {
        close(fds[0]);
        snprintf(err, errlen, "cannot run %s: %s", argv[0], strerror((int)k));
        return -1;
    }
    while ((k = read(fds[0], out + got, sizeof out - 1 - got)) > 0 ||
           (k < 0 && errno == EINTR))
        if (k > 0)
            got += (size_t)k;
    out[got] = '\0';
    close(fds[0]);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (strncmp(out, "OK ", 3) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        *v = strtod(out + 3, NULL);
        if (text) {
            out[strcspn(out, "\n")] = '\0';
            snprintf(text, textlen, "%s", out + 3);
        }
        return 0;
    }
    out[strcspn(out, "\n")] = '\0';
    if (strncmp(out, "ERR ", 4) == 0)
        snprintf(err, errlen, "%s", out + 4);
    else if (WIFSIGNALED(st))
        snprintf(err, errlen, "worker killed by signal %d", WTERMSIG(st));
    else
        snprintf(err, errlen, "worker failed (status %d): %s",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void stats(peer *p)
{
    double v[MAXR];

    if (!p->nv)
        return;
    memcpy(v, p->v, sizeof v);
    qsort(v, (size_t)p->nv, sizeof *v, cmp_double);
    p->min = v[0];
    p->max = v[p->nv - 1];
    p->med = p->nv % 2 ? v[p->nv / 2] : (v[p->nv / 2 - 1] + v[p->nv / 2]) / 2;
}

static int ok(const peer *p)
{
    return !p->skip && !p->err[0] && p->nv > 0;
}

/* Round-robin: every round runs every peer once, starting one further on
 * each round. */
static void run_section(section *s)
{
    int r, i;

    fprintf(stderr, "== %s\n", s->title);
    for (r = 0; r < s->rounds; r++) {
        for (i = 0; i < s->npeers; i++) {
            peer *p = &s->peers[(i + r) % s->npeers];
            double v;
            if (!p->argv[0] || p->err[0])
                continue;
            if (run_worker(p->argv, &v, p->err, sizeof p->err, NULL, 0) < 0) {
                fprintf(stderr, "   %-44s %-8s FAILED: %s\n", p->label,
                        p->place >= 0 ? places[p->place].label : "", p->err);
                continue;
            }
            p->rd[p->nv] = r;
            p->v[p->nv++] = v;
            fprintf(stderr, "   round %d/%d  %-44s %-8s %10.4g %s\n", r + 1,
                    s->rounds, p->label,
                    p->place >= 0 ? places[p->place].label : "", v, s->unit);
        }
    }
    for (i = 0; i < s->npeers; i++)
        stats(&s->peers[i]);
}

static const char *num(double v)
{
    static char bufs[8][32];
    static int k;
    char *b = bufs[k++ % 8];

    if (v >= 1000)
        snprintf(b, 32, "%.0f", v);
    else if (v >= 100)
        snprintf(b, 32, "%.1f", v);
    else if (v >= 10)
        snprintf(b, 32, "%.2f", v);
    else
        snprintf(b, 32, "%.3f", v);
    return b;
}

static const char *ratio(double r)
{
    static char bufs[4][32];
    static int k;
    char *b = bufs[k++ % 4];

    snprintf(b, 32, r < 0.1 ? "%.2gx" : "%.2fx", r);
    return b;
}

/* The best run of a peer: its fastest time or highest rate.  Other load
 * on the machine only ever makes a run slower, so the ratio of the bests
 * is the better estimate on a busy machine; the goals use the medians. */
static double best(const section *s, const peer *p)
{
    return s->sense == TIME ? p->min : p->max;
}

/* Largest distance of a run from the median, in % of the median. */
static double spread(const peer *p)
{
    double up = p->max / p->med - 1, down = 1 - p->min / p->med;

    return (up > down ? up : down) * 100;
}

static const char *spread_cell(const peer *p)
{
    static char bufs[4][64];
    static int k;
    char *b = bufs[k++ % 4];

    snprintf(b, 64, "%s - %s (±%.0f%%%s)", num(p->min), num(p->max), spread(p),
             spread(p) > SPREAD_WARN ? " !" : "");
    return b;
}

/*
 * The ratio of row a to row b of one section, paired by round (issue 15):
 * every round runs every peer once, so a's value of round k over b's value
 * of round k is one ratio measured under that round's conditions, and the
 * row's ratio is the median of these per-round ratios, with their spread
 * (the largest distance of a round's ratio from that median, in % of it).
 * Where a and b do not have a value for each of the same rounds, pairing is
 * impossible and the ratio falls back to the ratio of the medians (paired
 * 0, spread -1).  Never call it with rows of two sections: their rounds are
 * not the same rounds.
 */
typedef struct pratio {
    double r;      /* median of the per-round ratios, or of the medians */
    double spread; /* % of r; -1 when not paired */
    int paired;
} pratio;

static pratio pair_ratio(const peer *a, const peer *b)
{
    pratio q = {a->med / b->med, -1, 0};
    double x[MAXR], up, down;
    int i, j;

    if (a->nv != b->nv || a->nv < 1)
        return q;
    for (i = 0; i < a->nv; i++) {
        for (j = 0; j < b->nv && b->rd[j] != a->rd[i]; j++)
            ;
        if (j == b->nv)
            return q;
        x[i] = a->v[i] / b->v[j];
    }
    qsort(x, (size_t)a->nv, sizeof *x, cmp_double);
    q.r = a->nv % 2 ? x[a->nv / 2] : (x[a->nv / 2 - 1] + x[a->nv / 2]) / 2;
    up = x[a->nv - 1] / q.r - 1;
    down = 1 - x[0] / q.r;
    q.spread = (up > down ? up : down) * 100;
    q.paired = 1;
    return q;
}

/* A ratio cell: "1.23x ±4%" paired ("!" over ±15 %, like a row's
 * spread), "1.23x (medians)" when not. */
static const char *pratio_cell(const pratio *q)
{
    static char bufs[4][48];
    static int k;
    char *b = bufs[k++ % 4];

    if (q->paired)
        snprintf(b, 48, "%s ±%.0f%%%s", ratio(q->r), q->spread,
                 q->spread > SPREAD_WARN ? " !" : "");
    else
        snprintf(b, 48, "%s (medians)", ratio(q->r));
    return b;
}

/* The paired ratio cell of row p to the reference row ref: "1.00x" for
 * the reference itself. */
static const char *ref_cell(const peer *p, const peer *ref)
{
    pratio q;

    if (p == ref)
        return "1.00x";
    q = pair_ratio(p, ref);
    return pratio_cell(&q);
}

/* A row whose spread is over ±15 %: a warning under the table, on
 * standard error and in the summary, so that nobody quotes it.  1 if it
 * warned. */
static int check_spread(const section *s, const peer *p)
{
    char *w;

    if (!ok(p) || spread(p) <= SPREAD_WARN || nwarnings >= 64)
        return 0;
    w = warnings[nwarnings++];
    snprintf(w, sizeof warnings[0], "%s: %s%s%s: ±%.0f%%", s->key, p->label,
             p->place >= 0 ? ", " : "",
             p->place >= 0 ? places[p->place].label : "", spread(p));
    fprintf(stderr, "WARNING: spread over ±%.0f%% of the median: %s\n",
            SPREAD_WARN, w);
    return 1;
}

/* ------------------------------------------------ run-to-run comparison */

/*
 * Every ratio of a row to its section's reference (paired, see pair_ratio)
 * is kept, and at the end written to a file (--ratios FILE; `make bench`
 * uses bench/last-ratios.tsv in the build tree).  When that file already
 * holds a run made with the same options, the new ratios are compared with
 * it first: `make bench` twice in a row says whether every ratio
 * reproduced within ±10 % (issue 15).  The file is tab-separated text: a
 * header "# format 2\toptions\tdate", then lines
 * "section\tplacement\trow\tpaired|medians\tratio\tspread\tratio of bests".
 * Format 1 (a header "# options\tdate", ratios of medians) is another
 * statistic: such a file counts as no previous run.  Bump RATIOS_FORMAT
 * whenever the statistic or the columns change.
 */
#define REPRO 10.0
#define RATIOS_FORMAT "format 2"
typedef struct kept {
    char key[32], place[32], label[128];
    double r, sp, rb; /* paired ratio and its spread, ratio of the bests */
    int paired;       /* 0: r is the ratio of the medians, sp -1 */
} kept;
static kept ratios_now[256], ratios_then[256];
static int nnow, nthen;
static const char *ratios_path;
static char options[512]; /* the options of this run, for the header */
static char then_date[600];
static char run_date[64];

static double best(const section *s, const peer *p);

static void keep_ratio(const section *s, const peer *p, const peer *ref)
{
    kept *k;
    pratio pr;

    if (nnow >= 256)
        return;
    k = &ratios_now[nnow++];
    snprintf(k->key, sizeof k->key, "%s", s->key);
    snprintf(k->place, sizeof k->place, "%s",
             p->place >= 0 ? places[p->place].label : "-");
    snprintf(k->label, sizeof k->label, "%s", p->label);
    pr = pair_ratio(p, ref);
    k->r = pr.r;
    k->sp = pr.spread;
    k->paired = pr.paired;
    k->rb = best(s, p) / best(s, ref);
}

/* The previous run's ratios, if its options were the same as ours. */
static void read_ratios(void)
{
    char line[512];
    FILE *f;

    if (!ratios_path || !(f = fopen(ratios_path, "r")))
        return;
    if (!fgets(line, sizeof line, f) ||
        strncmp(line, "# " RATIOS_FORMAT "\t", strlen(RATIOS_FORMAT) + 3)) {
        snprintf(then_date, sizeof then_date,
                 "an older whelk-bench's file: ratios of medians, not paired "
                 "ratios, not compared");
        fclose(f);
        return;
    }
    line[strcspn(line, "\n")] = '\0';
    {
        char *opts = line + strlen(RATIOS_FORMAT) + 3;
        char *tab = strchr(opts, '\t');
        if (tab) {
            *tab = '\0';
            snprintf(then_date, sizeof then_date, "%s", tab + 1);
        }
        if (strcmp(opts, options) != 0) {
            snprintf(then_date, sizeof then_date, "other options: %s", opts);
            fclose(f);
            return;
        }
    }
    while (nthen < 256 && fgets(line, sizeof line, f)) {
        kept *k = &ratios_then[nthen];
        char *a = strtok(line, "\t"), *b = strtok(NULL, "\t"),
             *c = strtok(NULL, "\t"), *d = strtok(NULL, "\t"),
             *e = strtok(NULL, "\t"), *g = strtok(NULL, "\t"),
             *h = strtok(NULL, "\t\n");
        if (!a || !b || !c || !d || !e || !g || !h)
            continue;
        snprintf(k->key, sizeof k->key, "%s", a);
        snprintf(k->place, sizeof k->place, "%s", b);
        snprintf(k->label, sizeof k->label, "%s", c);
        k->paired = strcmp(d, "paired") == 0;
        k->r = strtod(e, NULL);
        k->sp = strtod(g, NULL);
        k->rb = strtod(h, NULL);
        nthen++;
    }
    fclose(f);
}

static void write_ratios(const char *date)
{
    FILE *f;
    int i;

    if (!ratios_path)
        return;
    if (!(f = fopen(ratios_path, "w"))) {
        fprintf(stderr, "whelk-bench: cannot write %s: %s\n", ratios_path,
                strerror(errno));
        return;
    }
    fprintf(f, "# %s\t%s\t%s\n", RATIOS_FORMAT, options, date);
    for (i = 0; i < nnow; i++)
        fprintf(f, "%s\t%s\t%s\t%s\t%.6g\t%.3g\t%.6g\n", ratios_now[i].key,
                ratios_now[i].place, ratios_now[i].label,
                ratios_now[i].paired ? "paired" : "medians", ratios_now[i].r,
                ratios_now[i].sp, ratios_now[i].rb);
    fclose(f);
}

/* A kept ratio as a cell: its paired spread, or "(medians)". */
static const char *kept_cell(const kept *k)
{
    pratio q;

    q.r = k->r;
    q.spread = k->sp;
    q.paired = k->paired;
    return pratio_cell(&q);
}

static void print_comparison(void)
{
    static char missed[4096];
    size_t len = 0;
    int i, j, n = 0, bad = 0, badb = 0, other = 0;

    printf("\n### Reproducibility: ratios against the previous run\n\n");
    if (!ratios_path) {
        printf("Not compared (no --ratios file).\n");
        return;
    }
    if (!nthen) {
        printf("No previous run with the same options in %s%s%s%s: run it "
               "again to compare.\n",
               ratios_path, then_date[0] ? " (" : "", then_date,
               then_date[0] ? ")" : "");
        return;
    }
    printf("Each row's paired ratio to its reference row (the median over "
           "the rounds of the two rows' ratio in the same round, ± the "
           "largest distance of a round's ratio from it) against the same "
           "ratio in the previous run with the same options (%s, %s), and "
           "the same for the ratio of the best runs.  Goal of issue 15: "
           "every one within ±%.0f%%.\n\n",
           ratios_path, then_date, REPRO);
    printf("| section | placement | row | previous | this run | change | "
           "change of the bests |\n");
    printf("|---|---|---|---:|---:|---:|---:|\n");
    missed[0] = '\0';
    for (i = 0; i < nnow; i++)
        for (j = 0; j < nthen; j++) {
            const kept *a = &ratios_now[i], *b = &ratios_then[j];
            double d, db;
            int miss;
            if (strcmp(a->key, b->key) || strcmp(a->place, b->place) ||
                strcmp(a->label, b->label))
                continue;
            db = (a->rb / b->rb - 1) * 100;
            if (a->paired != b->paired) {
                /* two different statistics: not a comparison */
                other++;
                printf("| %s | %s | %s | %s | %s | not compared | |\n", a->key,
                       a->place, a->label, kept_cell(b), kept_cell(a));
                break;
            }
            d = (a->r / b->r - 1) * 100;
            miss = d > REPRO || d < -REPRO;
            n++;
            bad += miss;
            badb += db > REPRO || db < -REPRO;
            printf("| %s | %s | %s | %s | %s | %+.1f%%%s | %+.1f%%%s |\n",
                   a->key, a->place, a->label, kept_cell(b), kept_cell(a), d,
                   miss ? " !" : "", db, db > REPRO || db < -REPRO ? " !" : "");
            if (miss && len < sizeof missed) {
                int placed = strcmp(a->place, "-") != 0;
                len += (size_t)snprintf(
                    missed + len, sizeof missed - len, "%s%s%s%s%s: %s %+.1f%%",
                    bad > 1 ? "; " : "", a->key, placed ? " (" : "",
                    placed ? a->place : "", placed ? ")" : "", a->label, d);
            }
            break;
        }
    printf("\n%d of %d paired ratios within ±%.0f%% of the previous run "
           "(%d of %d ratios of the best runs)",
           n - bad, n, REPRO, n - badb, n);
    if (other)
        printf("; %d not compared (paired in one run, a ratio of medians in "
               "the other)",
               other);
    if (bad)
        printf(".  Not within ±%.0f%% (a noisy machine or a real "
               "change): %s.\n",
               REPRO, missed);
    else
        printf(".\n");
}

static void print_placed(const section *s)
{
    int i, k;

    printf("| peer |");
    for (k = 0; k < s->nplace; k++)
        printf(" %s: median | min - max (spread) | vs %s |", places[k].label,
               ROW(s, s->ref, 0)->label);
    printf("\n|---|");
    for (k = 0; k < s->nplace; k++)
        printf("---:|---:|---:|");
    printf("\n");
    for (i = 0; i < NROWS(s); i++) {
        printf("| %s |", ROW(s, i, 0)->label);
        for (k = 0; k < s->nplace; k++) {
            const peer *p = ROW(s, i, k), *ref = ROW(s, s->ref, k);
            if (p->skip)
                printf(" skipped | %s | |", p->skip);
            else if (!ok(p))
                printf(" FAILED | %s | |", p->err);
            else
                printf(" %s | %s | %s |", num(p->med), spread_cell(p),
                       ok(ref) ? ref_cell(p, ref) : "-");
            if (ok(p) && ok(ref) && i != s->ref)
                keep_ratio(s, p, ref);
        }
        printf("\n");
    }
}

/* A section of steps: each row's median, ratio to the floor, and what
 * the step added to the row above it. */
static void print_steps(const section *s)
{
    const peer *ref = ROW(s, s->ref, 0);
    int i;

    printf("| step | median | min - max (spread) | vs %s | added by the "
           "step |\n",
           ref->label);
    printf("|---|---:|---:|---:|---:|\n");
    for (i = 0; i < NROWS(s); i++) {
        const peer *p = ROW(s, i, 0), *above = i ? ROW(s, i - 1, 0) : NULL;
        if (!ok(p)) {
            printf("| %s | %s | %s | | |\n", p->label,
                   p->skip ? "skipped" : "FAILED", p->skip ? p->skip : p->err);
            continue;
        }
        printf("| %s | %s | %s | %s |", p->label, num(p->med), spread_cell(p),
               ok(ref) ? ref_cell(p, ref) : "-");
        if (above && ok(above))
            printf(" %+.1f |\n", p->med - above->med);
        else
            printf(" |\n");
        if (ok(ref) && i != s->ref)
            keep_ratio(s, p, ref);
    }
}

static void print_plain(const section *s)
{
    const peer *ref = ROW(s, s->ref, 0), *m = ROW(s, s->main, 0);
    int i;

    if (s->steps) {
        print_steps(s);
        return;
    }

    printf("| peer | median | min - max (spread) | vs %s | best vs best | "
           "libwhelk vs peer |\n",
           ref->label);
    printf("|---|---:|---:|---:|---:|---:|\n");
    for (i = 0; i < NROWS(s); i++) {
        const peer *p = ROW(s, i, 0);
        if (p->skip) {
            printf("| %s | skipped | %s | | | |\n", p->label, p->skip);
            continue;
        }
        if (!ok(p)) {
            printf("| %s | FAILED | %s | | | |\n", p->label, p->err);
            continue;
        }
        printf("| %s | %s | %s | ", p->label, num(p->med), spread_cell(p));
        if (ok(ref))
            printf("%s | %s |", ref_cell(p, ref),
                   ratio(best(s, p) / best(s, ref)));
        else
            printf("- | - |");
        if (ok(ref) && i != s->ref)
            keep_ratio(s, p, ref);
        if (ok(m) && i != s->main)
            printf(" %s |\n", ratio(pair_ratio(m, p).r));
        else
            printf(" |\n");
    }
}

/* The last n warnings, "; "-separated, without the section key. */
static const char *spread_list(int n)
{
    static char buf[2048];
    size_t len = 0;
    int i;

    buf[0] = '\0';
    for (i = nwarnings - n; i < nwarnings && len < sizeof buf; i++) {
        const char *w = strchr(warnings[i], ':');
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s",
                                i > nwarnings - n ? "; " : "",
                                w ? w + 2 : warnings[i]);
    }
    return buf;
}

static void print_section(const section *s)
{
    int i, n;

    printf("\n### %s\n\n", s->title);
    printf("%s, %d rounds, median, min - max and the spread (the largest "
           "distance of a round from the median).  %s.",
           s->unit, s->rounds,
           s->sense == TIME ? "Lower is better; ratios are of times"
                            : "Higher is better; ratios are of rates");
    printf("  A ratio is paired: the median over the rounds of the row's "
           "value over the other row's value in the same round, ± the "
           "largest distance of a round's ratio from it.");
    if (s->placed && nplaces > 1)
        printf("  Placements: %s; %s.", places[0].detail, places[1].detail);
    else if (s->placed)
        printf("  Placement: %s.", places[0].detail);
    else if (s->pin_one)
        printf("  Pinned: the worker on CPU %d, and so the children it "
               "starts.",
               places[0].r);
    else
        printf("  Not pinned.");
    printf("\n\n");
    if (s->placed)
        print_placed(s);
    else
        print_plain(s);
    for (i = 0, n = 0; i < s->npeers; i++)
        n += check_spread(s, &s->peers[i]);
    if (n)
        printf("\n> **WARNING**: %d row%s spread over ±%.0f%% of %s median "
               "(a noisy machine, do not quote): %s.\n",
               n, n > 1 ? "s" : "", SPREAD_WARN, n > 1 ? "their" : "its",
               spread_list(n));
    fflush(stdout);
}

/* A goal on the paired ratio a/b of two rows of the section being run (or
 * on a's median alone when b is NULL): le != 0 means measured <= target
 * passes. */
static void add_goal(const char *what, const peer *a, const peer *b,
                     double target, int le, const char *unit)
{
    goal *g = &goals[ngoals++];
    double v, bv;

    snprintf(g->what, sizeof g->what, "%s", what);
    snprintf(g->target, sizeof g->target, "%s %g%s", le ? "<=" : ">=", target,
             unit);
    if (!ok(a) || (b && !ok(b))) {
        g->state = -1;
        snprintf(g->measured, sizeof g->measured, "not measured");
        snprintf(g->margin, sizeof g->margin, "%s",
                 !ok(a) ? (a->skip ? "skipped" : "failed")
                        : (b->skip ? "peer skipped" : "peer failed"));
        return;
    }
    if (b) {
        pratio q = pair_ratio(a, b);
        v = q.r;
        if (q.paired)
            snprintf(g->measured, sizeof g->measured, "%.3g%s ±%.0f%%%s", v,
                     unit, q.spread, q.spread > SPREAD_WARN ? " !" : "");
        else
            snprintf(g->measured, sizeof g->measured, "%.3g%s (medians)", v,
                     unit);
    } else {
        v = a->med;
        snprintf(g->measured, sizeof g->measured, "%.3g%s", v, unit);
    }
    bv = b ? best(&sec, a) / best(&sec, b) : best(&sec, a);
    snprintf(g->bestof, sizeof g->bestof, "%.3g%s", bv, unit);
    g->state = le ? v <= target : v >= target;
    if (g->state)
        snprintf(g->margin, sizeof g->margin, "PASS");
    else
        snprintf(g->margin, sizeof g->margin, "MISS by %.0f%%",
                 le ? (v / target - 1) * 100 : (1 - v / target) * 100);
}

static void print_goals(void)
{
    int i;

    printf("\n### Goals of issues 6 and 15 (paired ratios, measured side by "
           "side)\n\n");
    printf("A ratio goal is judged on the paired ratio: the median over the "
           "rounds of the two rows' ratio in the same round (± the largest "
           "distance of a round's ratio from it); a goal on one row on its "
           "median.\n\n");
    printf("| goal | measured | bests | target | result (on the measured) "
           "|\n");
    printf("|---|---:|---:|---:|---|\n");
    for (i = 0; i < ngoals; i++)
        printf("| %s | %s | %s | %s | %s |\n", goals[i].what, goals[i].measured,
               goals[i].state < 0 ? "" : goals[i].bestof, goals[i].target,
               goals[i].margin);
    printf("\n### Spread\n\n");
    if (!nwarnings)
        printf("Every row's rounds were within ±%.0f%% of its median.\n",
               SPREAD_WARN);
    else
        printf("%d row%s spread more than ±%.0f%% around %s median (a noisy "
               "machine; do not quote %s):\n\n",
               nwarnings, nwarnings > 1 ? "s" : "", SPREAD_WARN,
               nwarnings > 1 ? "their" : "its", nwarnings > 1 ? "them" : "it");
    for (i = 0; i < nwarnings; i++)
        printf("- %s\n", warnings[i]);
}

/* The placements: the first two CPUs this process may run on. */
static void find_places(void)
{
    cpu_set_t set;
    int c, found[2], n = 0;

    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (c = 0; c < CPU_SETSIZE && n < 2; c++)
            if (CPU_ISSET(c, &set))
                found[n++] = c;
    if (n == 0)
        found[n++] = 0;
    places[0].r = places[0].w = found[0];
    snprintf(places[0].label, sizeof places[0].label, "one CPU");
    snprintf(places[0].detail, sizeof places[0].detail,
             "one CPU = reader and child both on CPU %d", found[0]);
    nplaces = 1;
    if (n == 2) {
        places[1].r = found[0];
        places[1].w = found[1];
        snprintf(places[1].label, sizeof places[1].label, "two CPUs");
        snprintf(places[1].detail, sizeof places[1].detail,
                 "two CPUs = reader on CPU %d, child on CPU %d", found[0],
                 found[1]);
        nplaces = 2;
    }
}

static void find_python(void)
{
    const char *path = getenv("PATH");
    char *copy, *dir, *save = NULL;
    static char reason[512];

    python_skip = "python3 not found in PATH";
    if (!path)
        return;
    copy = fmt("%s", path);
    for (dir = strtok_r(copy, ":", &save); dir;
         dir = strtok_r(NULL, ":", &save)) {
        snprintf(python, sizeof python, "%s/python3", *dir ? dir : ".");
        if (access(python, X_OK) == 0) {
            const char *argv[] = {python, PYBENCH, "version", NULL};
            double v;
            char err[256];
            python_skip = NULL;
            if (run_worker(argv, &v, err, sizeof err, python_version,
                           sizeof python_version) < 0) {
                snprintf(reason, sizeof reason, "%s %s failed: %s", python,
                         PYBENCH, err);
                python_skip = reason;
            }
            break;
        }
    }
    free(copy);
}

/* Other work on the machine spoils timings: say how busy it was. */
static const char *loadavg(void)
{
    static char buf[64];
    FILE *f = fopen("/proc/loadavg", "r");

    snprintf(buf, sizeof buf, "?");
    if (f) {
        if (fgets(buf, sizeof buf, f))
            buf[strcspn(buf, "\n")] = '\0';
        fclose(f);
    }
    return buf;
}

static void print_machine(void)
{
    struct utsname u;
    char line[512], model[256] = "?", thp[128] = "?";
    FILE *f;
    time_t t = time(NULL);

    uname(&u);
    if ((f = fopen("/proc/cpuinfo", "r")) != NULL) {
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0) {
                char *c = strchr(line, ':');
                snprintf(model, sizeof model, "%s", c ? c + 2 : line);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        fclose(f);
    }
    if ((f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r")) !=
        NULL) {
        if (fgets(thp, sizeof thp, f))
            thp[strcspn(thp, "\n")] = '\0';
        fclose(f);
    }
    strftime(run_date, sizeof run_date, "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
    printf("## libwhelk benchmarks (`make bench`)\n\n");
    printf("- date: %s\n", run_date);
    printf("- machine: Linux %s %s, %ld CPUs, %s\n", u.release, u.machine,
           sysconf(_SC_NPROCESSORS_ONLN), model);
    printf("- glibc %s; libwhelk %s; transparent hugepages: %s\n",
           gnu_get_libc_version(), whelk_version(NULL), thp);
#ifdef BENCH_HAVE_GLIB
    printf("- GLib %u.%u.%u (compiled against)", GLIB_MAJOR_VERSION,
           GLIB_MINOR_VERSION, GLIB_MICRO_VERSION);
#else
    printf("- GLib: skipped (%s)", GLIB_SKIP);
#endif
#ifdef BENCH_HAVE_LIBPIPELINE
    printf("; libpipeline: found by configure");
#else
    printf("; libpipeline: skipped (%s)", LIBPIPELINE_SKIP);
#endif
    if (python_skip)
        printf("; Python: skipped (%s)\n", python_skip);
    else
        printf("; Python %s (%s)\n", python_version, python);
    printf("- load average at start: %s\n", loadavg());
    if (nplaces > 1)
        printf("- placements of the streaming sections (every peer alike): "
               "%s; %s; a pipeline's stages alternate child CPU, reader CPU; "
               "the spawn and many-jobs sections run parent and children on "
               "CPU %d; memory and in-memory decoding sections are not "
               "pinned\n",
               places[0].detail, places[1].detail, places[0].r);
    else
        printf("- placements: this process may run on one CPU only, so the "
               "streaming sections have one placement (%s)\n",
               places[0].detail);
    printf("- rounds: %d%s%s; every measurement is a fresh worker process, "
           "peers interleaved round-robin\n",
           rounds,
           rounds_fixed ? "" : " (more for the short or noisy sections)",
           quick ? " (--quick: reduced sizes, not for the record)" : "");
    fflush(stdout);
}

/* ------------------------------------------------------------- sections */

static void new_section(const char *key, const char *unit, int sense,
                        int placed)
{
    memset(&sec, 0, sizeof sec);
    sec.key = key;
    sec.unit = unit;
    sec.sense = sense;
    sec.rounds = rounds;
    sec.placed = placed;
    sec.nplace = placed ? nplaces : 1;
}

/* add_goal for rows a and b (b < 0: a alone) of a section, in each of its
 * placements. */
static void add_goals(const char *what, int a, int b, double target, int le,
                      const char *unit)
{
    int k;

    for (k = 0; k < sec.nplace; k++)
        add_goal(sec.placed ? fmt("%s (%s)", what, places[k].label) : what,
                 ROW(&sec, a, k), b < 0 ? NULL : ROW(&sec, b, k), target, le,
                 unit);
}

/* More rounds for a section whose runs are cheap or noisy. */
static void more_rounds(int n)
{
    if (!rounds_fixed && sec.rounds < n)
        sec.rounds = n < MAXR ? n : MAXR;
}

/* big: in a parent with 1 GiB of touched memory; cpu: on-CPU time of
 * parent and child instead of wall time. */
static void section_spawn(int big, int cpu)
{
    const char *iters = quick ? "100" : "300";
    const char *budget = big ? (quick ? "0.3" : "1.0") : "5";
    const char *b = big ? "--big" : cpu ? "--cpu" : NULL;
    const char *W = self_exe;

    new_section(big   ? "spawn-big"
                : cpu ? "spawn-cpu"
                      : "spawn",
                cpu ? "microseconds of CPU (parent and child) per spawn+wait"
                    : "microseconds per spawn+wait",
                TIME, 0);
    /* Every row pinned, with the children it starts, to one CPU.
     * Unpinned, a spawned child may start on the other CPU, and whether it
     * does is scheduler luck that cost ~70 us per spawn on a VM (a wake-up
     * of an idle CPU each way): the rows' rounds were bimodal, ~45 or
     * ~120 us. */
    sec.pin_one = 1;
    snprintf(sec.title, sizeof sec.title,
             "1%s. spawn+wait of a static no-libc child, %s (up to %s spawns "
             "per round%s)%s",
             big   ? "b"
             : cpu ? "c"
                   : "a",
             big ? "parent with 1 GiB of touched memory" : "small parent",
             iters, big ? ", at least 10 or 1 s" : "",
             cpu ? ": on-CPU time, which other load on the machine does not "
                   "lengthen"
                 : "");
    sec.main = 0;
    add(&sec, "libwhelk whelk_run, std fds /dev/null", NULL, W, "--worker", PIN,
        "spawn", "whelk-null", iters, budget, b, NULL);
    add(&sec, "libwhelk whelk_run, default capture", NULL, W, "--worker", PIN,
        "spawn", "whelk-capture", iters, budget, b, NULL);
    sec.ref = NROWS(&sec);
    add(&sec, "floor: bare vfork + execve + waitpid", NULL, W, "--worker", PIN,
        "spawn", "vfork", iters, budget, b, NULL);
    add(&sec, "posix_spawn + waitpid", NULL, W, "--worker", PIN, "spawn",
        "posix_spawn", iters, budget, b, NULL);
    add(&sec, "fork + execve + waitpid", NULL, W, "--worker", PIN, "spawn",
        "fork", iters, budget, b, NULL);
    add(&sec, "libpipeline pipeline_run", LIBPIPELINE_SKIP, W, "--worker", PIN,
        "spawn", "libpipeline", iters, budget, b, NULL);
    add(&sec, "GLib g_spawn_sync", GLIB_SKIP, W, "--worker", PIN, "spawn",
        "glib", iters, budget, b, NULL);
    add(&sec, "GLib g_spawn_sync LEAVE_DESCRIPTORS_OPEN", GLIB_SKIP, W,
        "--worker", PIN, "spawn", "glib-leave", iters, budget, b, NULL);
    add(&sec, "Python subprocess.run", python_skip, python, PYBENCH, PIN,
        "spawn", CHILD, iters, budget, b, NULL);
    more_rounds(big ? 9 : 15);
    run_section(&sec);
    print_section(&sec);
    add_goals(big   ? "spawn+wait, 1 GiB parent: whelk_run (std fds /dev/null) "
                      "/ vfork floor"
              : cpu ? "spawn+wait, small parent, on-CPU time: whelk_run (std "
                      "fds /dev/null) / vfork floor"
                    : "spawn+wait, small parent: whelk_run (std fds /dev/null) "
                      "/ vfork floor",
              0, sec.ref, 1.10, 1, "x");
}

/* What each step of libwhelk's spawn costs above the floor, in CPU time
 * (the rows of sp_step). */
static void section_steps(void)
{
    static const char *const labels[] = {
        "floor: bare vfork + execve + waitpid",
        "1 clone(CLONE_VM|CLONE_VFORK), own stack, waitpid",
        "2 + every signal blocked around the clone (no host handler can run "
        "in the child)",
        "3 + the child sets 62 signals to SIG_DFL (every signal at default, "
        "SIG_IGN too)",
        "4 + CLONE_PIDFD (a pidfd for the run)",
        "5 + the wait through the pidfd: poll, waitid WNOWAIT, close, wait4",
        "6 + setpgid (own process group)",
        "7 + /dev/null opened, dup3 onto 0, 1, 2 (std fds /dev/null)",
        "8 + close_range(3, ~0) (every other fd closed)",
        "9 + faccessat + stat of the program (not found: an error before "
        "anything runs)",
        "libwhelk whelk_run, std fds /dev/null (all of it, with the plan, "
        "allocation, the result)"};
    const char *iters = quick ? "300" : "1000", *W = self_exe;
    int i;

    new_section("spawn-steps", "microseconds per spawn+wait", TIME, 0);
    sec.pin_one = 1; /* as in section_spawn */
    snprintf(sec.title, sizeof sec.title,
             "1d. what each guarantee of spawn+wait costs: libwhelk's steps "
             "added one at a time to the floor (up to %s spawns per round)",
             iters);
    sec.steps = 1;
    add(&sec, labels[0], NULL, W, "--worker", PIN, "spawn", "vfork", iters, "5",
        NULL);
    for (i = 1; i <= 9; i++)
#ifdef HAVE_STEPS
        add(&sec, labels[i], NULL, W, "--worker", PIN, "spawn",
            fmt("step%d", i), iters, "5", NULL);
#else
        add(&sec, labels[i], "needs Linux with CLONE_PIDFD and close_range",
            NULL);
#endif
    add(&sec, labels[10], NULL, W, "--worker", PIN, "spawn", "whelk-null",
        iters, "5", NULL);
    sec.ref = 0;
    sec.main = 10;
    run_section(&sec);
    print_section(&sec);
}

static void section_capture(void)
{
    unsigned long n = quick ? 64 * MIB : 256 * MIB;
    const char *ns = fmt("%lu", n), *W = self_exe, *P = "3";

    new_section("capture", "GB/s captured", RATE, 1);
    snprintf(sec.title, sizeof sec.title,
             "2. capture of a %lu MiB stream from a static writer child, the "
             "best of %s passes in each worker (w_capture says why)",
             n / MIB, P);
    add(&sec, "libwhelk whelk_run (default capture)", NULL, W, "--worker", PIN,
        "capture", "whelk", ns, P, NULL);
    add(&sec, "raw 64 KiB read loop, doubling buffer", NULL, W, "--worker", PIN,
        "capture", "raw", ns, P, NULL);
    add(&sec, "GLib g_spawn_sync", GLIB_SKIP, W, "--worker", PIN, "capture",
        "glib", ns, P, NULL);
    add(&sec, "Python subprocess.run(capture_output=True)", python_skip, python,
        PYBENCH, PIN, "capture", WRITER, ns, P, NULL);
    sec.main = 0;
    sec.ref = 1;
    run_section(&sec);
    print_section(&sec);
    add_goals("capture: whelk_run / raw read loop", 0, 1, 0.9, 0, "x");
    add_goals("capture: whelk_run / GLib g_spawn_sync", 0, 2, 2, 0, "x");
    add_goals("capture: whelk_run / Python subprocess.run", 0, 3, 2, 0, "x");
}

/* Passes per worker of the lines sections (w_lines says why). */
#define LINE_PASSES "5"

/* cpu: nanoseconds of CPU (reader and writer) per line instead of wall
 * time, the figure other load does not lengthen. */
static void section_lines(int cpu)
{
    unsigned long n = quick ? 200000 : 2000000;
    const char *ns = fmt("%lu", n), *W = self_exe, *P = LINE_PASSES;
    const char *w = cpu ? "lines-cpu" : "lines";

    new_section(cpu ? "lines-cpu" : "lines",
                cpu ? "nanoseconds of CPU (reader and writer) per line"
                    : "nanoseconds per line",
                TIME, 1);
    snprintf(sec.title, sizeof sec.title,
             "3%s. line callbacks over %lu lines (16 bytes on average) from a "
             "static writer child, the best of %s passes in each worker%s",
             cpu ? "c" : "a", n, P,
             cpu ? ": on-CPU time, which other load on the machine does not "
                   "lengthen"
                 : "");
    add(&sec, "libwhelk on_line, WHELK_STREAM", NULL, W, "--worker", PIN, w,
        "whelk", ns, P, NULL);
    add(&sec, "raw read() + memchr loop", NULL, W, "--worker", PIN, w, "raw",
        ns, P, NULL);
    add(&sec, "libwhelk whelk_proc_read_line (WHELK_PULL)", NULL, W, "--worker",
        PIN, w, "whelk-pull", ns, P, NULL);
    add(&sec, "popen + getline", NULL, W, "--worker", PIN, w, "getline", ns, P,
        NULL);
    add(&sec, "libpipeline pipeline_readline", LIBPIPELINE_SKIP, W, "--worker",
        PIN, w, "libpipeline", ns, P, NULL);
    add(&sec, "getline over whelk_proc_stdout_stream (WHELK_PULL)", NULL, W,
        "--worker", PIN, w, "whelk-getline", ns, P, NULL);
    sec.main = 0;
    sec.ref = 1;
    run_section(&sec);
    print_section(&sec);
    add_goals(cpu ? "lines, on-CPU time: on_line / raw read+memchr"
                  : "lines: on_line / raw read+memchr",
              0, 1, 1.15, 1, "x");
    /* issue 12: pulling costs no more than the callbacks; getline over the
     * stream no more than popen + getline */
    add_goals(cpu ? "lines, on-CPU time: whelk_proc_read_line / on_line"
                  : "lines: whelk_proc_read_line / on_line",
              2, 0, 1.15, 1, "x");
    add_goals(cpu ? "lines, on-CPU time: getline on whelk_proc_stdout_stream "
                    "/ popen + getline"
                  : "lines: getline on whelk_proc_stdout_stream / popen + "
                    "getline",
              5, 3, 1.0, 1, "x");
}

static void section_rss(void)
{
    unsigned long bytes, k = lines_per_block(&bytes);
    unsigned long total = quick ? 128 * MIB : GIB;
    unsigned long n = (total / bytes) * k;
    const char *ns = fmt("%lu", n), *W = self_exe;

    new_section("rss", "peak RSS of the reading process (VmHWM), MiB", TIME, 0);
    snprintf(sec.title, sizeof sec.title,
             "3b. peak memory while streaming %lu MiB (%lu lines), each in a "
             "fresh process",
             n / k * bytes / MIB, n);
    sec.rounds = rounds < 3 ? rounds : 3;
    add(&sec, "libwhelk on_line, WHELK_STREAM", NULL, W, "--worker", "rss",
        "whelk", ns, NULL);
    add(&sec, "libwhelk WHELK_STREAM, no callback", NULL, W, "--worker", "rss",
        "whelk-nocb", ns, NULL);
    add(&sec, "raw read() + memchr loop (the process's floor)", NULL, W,
        "--worker", "rss", "raw", ns, NULL);
    add(&sec,
        fmt("libwhelk C filter stage (copy) in `head -c %lu | [copy] | cat | "
            "wc -c`",
            n / k * bytes),
        NULL, W, "--worker", "pipeline-rss", "whelk-filter",
        fmt("%lu", n / k * bytes), fmt("%lu", n / k * bytes), NULL);
    sec.main = 0;
    sec.ref = 2;
    run_section(&sec);
    print_section(&sec);
    /* the goal is on the worst run, not the median */
    sec.peers[0].med = sec.peers[0].min = sec.peers[0].max;
    add_goals(fmt("streaming %lu MiB with WHELK_STREAM: peak RSS (worst run)",
                  n / k * bytes / MIB),
              0, -1, 16, 1, " MiB");
    sec.peers[3].med = sec.peers[3].min = sec.peers[3].max;
    add_goals(fmt("%lu MiB through a C filter stage: peak RSS (worst run)",
                  n / k * bytes / MIB),
              3, -1, 16, 1, " MiB");
}

static void section_pipeline(void)
{
    const char *size = quick ? "128M" : "1G";
    unsigned long n = quick ? 128 * MIB : GIB;
    const char *ns = fmt("%lu", n), *W = self_exe;

    new_section("pipeline", "seconds", TIME, 1);
    snprintf(sec.title, sizeof sec.title,
             "4. pipeline `head -c %s /dev/zero | cat | cat | wc -c`", size);
    add(&sec, "libwhelk whelk_run (4 stages)", NULL, W, "--worker", PIN,
        "pipeline", "whelk", size, ns, NULL);
    add(&sec, "hand-written posix_spawnp chain", NULL, W, "--worker", PIN,
        "pipeline", "raw", size, ns, NULL);
    add(&sec, "libwhelk whelk_run, a C filter stage (copy) for the first cat",
        NULL, W, "--worker", PIN, "pipeline", "whelk-filter", size, ns, NULL);
    sec.main = 0;
    sec.ref = 1;
    /* a 3% goal on a 2-CPU machine running 4 busy processes */
    more_rounds(11);
    run_section(&sec);
    print_section(&sec);
    add_goals("pipeline: whelk_run / posix_spawn chain", 0, 1, 1.03, 1, "x");
    /* issue 12: a C filter moves >= 0.8x the bytes per second of a cat */
    add_goals("pipeline: C filter stage / a third cat (time)", 2, 0, 1.25, 1,
              "x");
}

static void section_decode(void)
{
    unsigned long n = quick ? 32 * MIB : 256 * MIB;
    const char *ns = fmt("%lu", n);

    new_section("decode", "GB/s of input", RATE, 0);
    snprintf(sec.title, sizeof sec.title,
             "5a. decoding in memory, %lu MiB in 64 KiB chunks (Latin-1: ~5%% "
             "high bytes; UTF-8: ~5%% multibyte characters)",
             n / MIB);
    add(&sec, "libwhelk decoder, ISO-8859-1 -> UTF-8", NULL, CORE, "decode",
        "whelk-latin1", ns, NULL);
    add(&sec, "glibc iconv, ISO-8859-1 -> UTF-8", NULL, CORE, "decode",
        "iconv-latin1", ns, NULL);
    add(&sec, "libwhelk decoder, UTF-8 validation (+copy)", NULL, CORE,
        "decode", "whelk-utf8", ns, NULL);
    add(&sec, "libwhelk whelk__utf8_valid_prefix", NULL, CORE, "decode",
        "prefix-utf8", ns, NULL);
    add(&sec, "libwhelk decoder, UTF-8 validation, pure ASCII", NULL, CORE,
        "decode", "whelk-ascii", ns, NULL);
    add(&sec, "glibc iconv, UTF-8 -> UTF-8", NULL, CORE, "decode", "iconv-utf8",
        ns, NULL);
    sec.main = 0;
    sec.ref = 1;
    run_section(&sec);
    print_section(&sec);
    add_goals("decoding Latin-1: libwhelk decoder / glibc iconv", 0, 1, 3, 0,
              "x");
    add_goals("UTF-8 validation (decoder), ASCII-heavy", 2, -1, 1, 0, " GB/s");
}

static void section_e2e(void)
{
    unsigned long n = quick ? 32 * MIB : 256 * MIB;
    const char *ns = fmt("%lu", n), *W = self_exe;

    new_section("e2e", "GB/s of input", RATE, 1);
    snprintf(sec.title, sizeof sec.title,
             "5b. decoding end to end: whelk_run capturing %lu MiB from a "
             "static writer child",
             n / MIB);
    add(&sec, "libwhelk whelk_run, decode ISO-8859-1", NULL, W, "--worker", PIN,
        "e2e", "whelk-decode", "latin1", ns, NULL);
    add(&sec, "raw read loop + iconv, ISO-8859-1", NULL, W, "--worker", PIN,
        "e2e", "raw-iconv", "latin1", ns, NULL);
    add(&sec, "libwhelk whelk_run, Latin-1 bytes undecoded", NULL, W,
        "--worker", PIN, "e2e", "whelk-bytes", "latin1", ns, NULL);
    add(&sec, "libwhelk whelk_run, decode UTF-8", NULL, W, "--worker", PIN,
        "e2e", "whelk-decode", "utf8", ns, NULL);
    add(&sec, "raw read loop + iconv, UTF-8", NULL, W, "--worker", PIN, "e2e",
        "raw-iconv", "utf8", ns, NULL);
    sec.main = 0;
    sec.ref = 1;
    run_section(&sec);
    print_section(&sec);
}

static void section_many(void)
{
    unsigned long n = quick ? 200 : 1000;
    const char *ns = fmt("%lu", n), *W = self_exe;
    int i;

    new_section("many", "milliseconds for all jobs", TIME, 0);
    /* pinned as the spawn sections are (section_spawn says why): unpinned,
     * a worker's 1000 jobs took 58-137 ms from one worker to the next */
    sec.pin_one = 1;
    snprintf(sec.title, sizeof sec.title, "6. %lu short jobs (static child)",
             n);
    add(&sec, "libwhelk whelk_run_many N=2, std fds /dev/null", NULL, W,
        "--worker", PIN, "many", "whelk", ns, "2", NULL);
    add(&sec, "libwhelk whelk_run_many N=4, std fds /dev/null", NULL, W,
        "--worker", PIN, "many", "whelk", ns, "4", NULL);
    add(&sec, "libwhelk whelk_run_many N=1, std fds /dev/null", NULL, W,
        "--worker", PIN, "many", "whelk", ns, "1", NULL);
    add(&sec, "libwhelk whelk_run_many N=4, default capture", NULL, W,
        "--worker", PIN, "many", "whelk-capture", ns, "4", NULL);
    add(&sec, "raw loop: posix_spawn + waitpid, one at a time", NULL, W,
        "--worker", PIN, "many", "raw", ns, NULL);
    add(&sec, "raw: posix_spawn, 2 in flight, waitpid(-1)", NULL, W, "--worker",
        PIN, "many", "raw-par", ns, "2", NULL);
    sec.main = 0;
    sec.ref = 4;
    more_rounds(15);
    run_section(&sec);
    print_section(&sec);
    for (i = 0; i < 2; i++)
        add_goals(i ? "many short jobs: whelk_run_many N=4 / raw loop"
                    : "many short jobs: whelk_run_many N=2 / raw loop",
                  i, 4, 1.1, 1, "x");
}

static void usage(void)
{
    fprintf(stderr,
            "usage: whelk-bench [--rounds N] [--quick] [--only LIST] "
            "[--ratios FILE]\n"
            "sections: spawn spawn-big spawn-cpu spawn-steps capture lines "
            "lines-cpu rss pipeline decode e2e many\n");
    exit(2);
}

int main(int argc, char **argv)
{
    ssize_t k;
    int i;
    double t0 = now_s();

    if (argc > 1 && strcmp(argv[1], "--worker") == 0)
        return worker(argc - 2, argv + 2);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
            rounds_fixed = 1;
            if (rounds < 1 || rounds > MAXR)
                usage();
        } else if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
            if (!rounds_fixed)
                rounds = 3;
            rounds_fixed = 1;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--ratios") == 0 && i + 1 < argc) {
            ratios_path = argv[++i];
        } else {
            usage();
        }
    }
    /* what makes two runs comparable */
    snprintf(options, sizeof options, "rounds %s%s%s%s",
             rounds_fixed ? fmt("%d", rounds) : "default",
             quick ? " --quick" : "", only ? " --only " : "", only ? only : "");
    k = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (k <= 0) {
        perror("whelk-bench: /proc/self/exe");
        return 2;
    }
    self_exe[k] = '\0';
    if (access(CHILD, X_OK) || access(WRITER, X_OK) || access(CORE, X_OK)) {
        fprintf(stderr, "whelk-bench: build the helpers first (make bench)\n");
        return 2;
    }
    find_places();
    find_python();
    print_machine();
    read_ratios();
    if (wanted("spawn"))
        section_spawn(0, 0);
    if (wanted("spawn-big"))
        section_spawn(1, 0);
    if (wanted("spawn-cpu"))
        section_spawn(0, 1);
    if (wanted("spawn-steps"))
        section_steps();
    if (wanted("capture"))
        section_capture();
    if (wanted("lines"))
        section_lines(0);
    if (wanted("lines-cpu"))
        section_lines(1);
    if (wanted("rss"))
        section_rss();
    if (wanted("pipeline"))
        section_pipeline();
    if (wanted("decode"))
        section_decode();
    if (wanted("e2e"))
        section_e2e();
    if (wanted("many"))
        section_many();
    print_goals();
    print_comparison();
    write_ratios(run_date);
    printf("\nWhole run: %.0f s; load average at the end: %s.\n", now_s() - t0,
           loadavg());
    return 0;
}
