/*
 * life/hostile_threads.c -- the life suite's "hostile threads" tests (run by
 * tests/check_life.c): a host whose other threads fire signals at the
 * thread driving a run (handlers without SA_RESTART, every ~100 us), spawn
 * and reap children of their own, and open and close descriptors the
 * whole time; and a host whose stderr is a pipe nobody reads, or nobody
 * reads any more, while a remote stage writes its stderr there.  Every
 * byte must arrive, every status be right, no descriptor leak into a
 * child or out of a run, no child be left, and the host must neither die
 * of SIGPIPE nor wait past a deadline.
 */
#include "life.h"

#include <spawn.h>
#include <sys/stat.h>

extern char **environ;

#ifndef MiB
#define MiB (1024 * 1024)
#endif

/* ------------------------------------------------------------ the storm */

/* SIGUSR1 with a handler installed without SA_RESTART: every blocking
 * call of the library in the target threads fails with EINTR. */
static int interrupts; /* atomic: the handler runs in several threads */

static void on_usr1(int sig)
{
    int e = errno;

    (void)sig;
    __atomic_fetch_add(&interrupts, 1, __ATOMIC_RELAXED);
    errno = e;
}

#define MAX_TARGETS 8

typedef struct storm {
    pthread_t th;
    pthread_t targets[MAX_TARGETS];
    int ntargets;
    pthread_mutex_t mu; /* held while firing: a target is never gone */
    int stop;
    struct sigaction old;
} storm;

static void *storm_main(void *arg)
{
    storm *s = arg;
    unsigned i = 0;

    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        /* pacing, not synchronisation: a signal every ~100 us */
        struct timespec pace = {0, 100000};
        pthread_mutex_lock(&s->mu);
        (void)pthread_kill(s->targets[i++ % (unsigned)s->ntargets], SIGUSR1);
        pthread_mutex_unlock(&s->mu);
        nanosleep(&pace, NULL);
    }
    return NULL;
}

/* Install the handler and start firing at the calling thread (and at the
 * threads added with storm_target). */
static void storm_start(storm *s)
{
    struct sigaction sa;

    memset(s, 0, sizeof *s);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART */
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, &s->old), 0);
    __atomic_store_n(&interrupts, 0, __ATOMIC_RELAXED);
    pthread_mutex_init(&s->mu, NULL);
    s->targets[0] = pthread_self();
    s->ntargets = 1;
    ck_assert_int_eq(pthread_create(&s->th, NULL, storm_main, s), 0);
}

/* Fire at these n threads instead (n > 0; the caller's, running until
 * the next retarget or storm_stop). */
static void storm_retarget(storm *s, const pthread_t *th, int n)
{
    int i;

    ck_assert(n > 0 && n <= MAX_TARGETS);
    pthread_mutex_lock(&s->mu);
    for (i = 0; i < n; i++)
        s->targets[i] = th[i];
    s->ntargets = n;
    pthread_mutex_unlock(&s->mu);
}

static void storm_stop(storm *s, int min_interrupts)
{
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
    pthread_join(s->th, NULL);
    pthread_mutex_destroy(&s->mu);
    sigaction(SIGUSR1, &s->old, NULL);
    ck_assert_msg(__atomic_load_n(&interrupts, __ATOMIC_RELAXED) >=
                      min_interrupts,
                  "only %d interrupts reached the running threads",
                  __atomic_load_n(&interrupts, __ATOMIC_RELAXED));
}

static void assert_bytes_out(const whelk_result *r, const char *want, size_t n)
{
    size_t len;
    const char *s = whelk_result_stdout(r, &len);

    ASSERT_BYTES(s, len, want, n);
}

static whelk_result *wait_ok(whelk_proc *pr)
{
    whelk_error *err = NULL;
    whelk_result *r = whelk_proc_wait(pr, &err);

    ck_assert_msg(r != NULL, "%s", err_desc(err));
    return r;
}

/* ---------------------------------------- one thread, every entry point */

static int pass_through(whelk_filter *out, const void *data, size_t len,
                        void *ud)
{
    (void)ud;
    return data && whelk_filter_write(out, data, len) < 0;
}

/*
 * whelk_run with big transfers through three stages, redirection files
 * and a tee file, a filter stage, whelk_run_many, die_with_host (its
 * spawning thread), a failing stage and a deadline: all under the storm.
 */
START_TEST(test_storm_run_entry_points)
{
    size_t n = 4 * MiB, len, i, nf;
    char *in = pattern_bytes(n), *got;
    char *fin = tmp_path("in"), *fout = tmp_path("out"),
         *ftee = tmp_path("tee");
    int fds = count_open_fds();
    whelk_pipeline *p, *many[8];
    whelk_result *r, *rs[8];
    whelk_error *err, *es[8];
    storm st;
    int64_t t0, dt;

    ck_assert_int_eq(write_file(fin, in, n, 0644), 0);
    storm_start(&st);

    /* bytes in, through three stages, stdout and stderr captured */
    p = whelk_pipe(HCMD("cat"), HCMD("cat"), HCMD("cat", "errn:1048576"),
                   (whelk_cmd *)NULL);
    whelk_pipeline_stdin_bytes(p, in, n);
    r = run_ok(p);
    assert_bytes_out(r, in, n);
    whelk_result_stderr(r, &len);
    ck_assert_uint_eq(len, MiB);
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* files opened, written and teed under EINTR */
    p = whelk_pipe(HCMD("cat"), HCMD("cat"), (whelk_cmd *)NULL);
    whelk_pipeline_stdin_file(p, fin);
    whelk_pipeline_stdout_file(p, fout, 0);
    whelk_pipeline_timeout(p, 60000);
    whelk_result_free(run_ok(p));
    got = slurp(fout, &len);
    ASSERT_BYTES(got, len, in, n);
    free(got);
    whelk_pipeline_free(p);
    p = HPIPE("cat");
    whelk_pipeline_stdin_file(p, fin);
    whelk_pipeline_tee_file(p, ftee, 0);
    whelk_pipeline_timeout(p, 60000);
    r = run_ok(p);
    assert_bytes_out(r, in, n);
    whelk_result_free(r);
    got = slurp(ftee, &len);
    ASSERT_BYTES(got, len, in, n);
    free(got);
    whelk_pipeline_free(p);

    /* a filter stage between two programs */
    p = whelk_pipe(HCMD("cat"),
                   whelk_cmd_new_filter("same", pass_through, NULL),
                   HCMD("cat"), (whelk_cmd *)NULL);
    whelk_pipeline_stdin_bytes(p, in, n);
    r = run_ok(p);
    assert_bytes_out(r, in, n);
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* die_with_host: the stages are spawned by the run's own thread */
    p = whelk_pipe(HCMD("cat"), HCMD("cat"), (whelk_cmd *)NULL);
    whelk_pipeline_die_with_host(p, 1);
    whelk_pipeline_stdin_bytes(p, in, MiB);
    r = run_ok(p);
    assert_bytes_out(r, in, MiB);
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* many at once, each status its own */
    for (i = 0; i < 8; i++) {
        char code[16];
        snprintf(code, sizeof code, "exit:%zu", i % 3);
        many[i] = whelk_pipe(HCMD("outn:1000000", code), HCMD("count"),
                             (whelk_cmd *)NULL);
        whelk_pipeline_check(many[i], 0);
    }
    nf = whelk_run_many(many, 8, 3, rs, es);
    ck_assert_uint_eq(nf, 0);
    for (i = 0; i < 8; i++) {
        ck_assert_msg(rs[i] != NULL, "run %zu: %s", i, err_desc(es[i]));
        ASSERT_STDOUT(rs[i], "1000000\n");
        ck_assert_int_eq(whelk_result_exit_code(rs[i], 0), (int)(i % 3));
        ck_assert_int_eq(whelk_result_exit_code(rs[i], 1), 0);
        whelk_result_free(rs[i]);
        whelk_pipeline_free(many[i]);
    }

    /* a failure is still the right failure */
    p = whelk_pipe(HCMD("lines:1000"), HCMD("cat", "exit:3"),
                   (whelk_cmd *)NULL);
    err = run_fail(p, WHELK_E_EXIT);
    ck_assert_int_eq(whelk_error_exit_code(err), 3);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    /* and a deadline is kept, not stretched by the interruptions */
    p = HPIPE("out:x\\n", "sleep:30000");
    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 200);
    t0 = now_ms();
    err = run_fail(p, WHELK_E_TIMEOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 300 && dt < 300 + 200 + SLACK_MS, "%lld ms",
                  (long long)dt);
    ASSERT_STDOUT(whelk_error_result(err), "x\n");
    whelk_error_free(err);
    whelk_pipeline_free(p);

    storm_stop(&st, 100);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
    free(in);
    free(fin);
    free(fout);
    free(ftee);
}
END_TEST

/*
 * The host drives the data under the storm: 8 MiB fed through
 * `cat | cat` while pulling its output with short timeouts, 100000 lines
 * read one by one (timeouts 0 and -1), and popen's FILE.
 */
START_TEST(test_storm_host_driven)
{
    size_t n = 8 * MiB, off = 0, got = 0;
    char *in = pattern_bytes(n), *out = malloc(n + 1);
    int fds = count_open_fds();
    whelk_pipeline *p;
    whelk_error *err = NULL;
    whelk_proc *pr;
    whelk_line l;
    storm st;
    long i = 0, calls = 0;
    int rc;
    char want[64], buf[64];
    FILE *f;

    ck_assert_ptr_nonnull(out);
    storm_start(&st);

    p = whelk_pipe(HCMD("cat"), HCMD("cat"), (whelk_cmd *)NULL);
    whelk_pipeline_stdin(p, WHELK_FEED);
    whelk_pipeline_stdout(p, WHELK_PULL);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "%s", err_desc(err));
    while (off < n) {
        ssize_t k = whelk_proc_write(pr, in + off,
                                     n - off > 100000 ? 100000 : n - off, 5);
        ck_assert_msg(k >= 0 || errno == EAGAIN, "write: %s", strerror(errno));
        if (k > 0)
            off += (size_t)k;
        for (;;) {
            ssize_t m = whelk_proc_read(pr, out + got, n + 1 - got, 0);
            if (m < 0) {
                ck_assert_msg(errno == EAGAIN, "read: %s", strerror(errno));
                break;
            }
            ck_assert_int_gt(m, 0); /* no end of output before stdin ends */
            got += (size_t)m;
        }
    }
    ck_assert_int_eq(whelk_proc_close_stdin(pr), 0);
    for (;;) {
        ssize_t m = whelk_proc_read(pr, out + got, n + 1 - got, -1);
        ck_assert_msg(m >= 0, "read: %s", strerror(errno));
        if (m == 0)
            break;
        got += (size_t)m;
    }
    ASSERT_BYTES(out, got, in, n);
    whelk_result_free(wait_ok(pr));
    whelk_pipeline_free(p);

    p = whelk_pipe(HCMD("lines:100000"), HCMD("cat"), (whelk_cmd *)NULL);
    whelk_pipeline_stdout(p, WHELK_PULL);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "%s", err_desc(err));
    while ((rc = whelk_proc_read_line(pr, &l, calls++ % 2 ? 0 : -1)) != 0) {
        if (rc < 0) {
            ck_assert_msg(errno == EAGAIN, "read_line: %s", strerror(errno));
            continue;
        }
        snprintf(want, sizeof want, "line %ld", ++i);
        ck_assert_str_eq(l.text, want);
        ck_assert_uint_eq(l.flags, 0);
    }
    ck_assert_int_eq(i, 100000);
    whelk_result_free(wait_ok(pr));
    whelk_pipeline_free(p);

    p = HPIPE("lines:20000");
    f = whelk_popen(p, "r", &err);
    ck_assert_msg(f != NULL, "%s", err_desc(err));
    i = 0;
    while (fgets(buf, sizeof buf, f)) {
        snprintf(want, sizeof want, "line %ld\n", ++i);
        ck_assert_str_eq(buf, want);
    }
    ck_assert(!ferror(f));
    ck_assert_int_eq(i, 20000);
    ck_assert_msg(whelk_pclose(f, &err) == 0, "%s", err_desc(err));
    whelk_pipeline_free(p);

    storm_stop(&st, 100);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
    free(in);
    free(out);
}
END_TEST

/* A FIFO's writer: 1 MiB of the pattern, then the end. */
static void *fifo_writer(void *arg)
{
    const char *path = arg;
    size_t n = MiB, off = 0;
    char *d = pattern_bytes(n);
    int fd;

    do
        fd = open(path, O_WRONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    while (fd >= 0 && off < n) {
        ssize_t k = write(fd, d + off, n - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    if (fd >= 0)
        close(fd);
    free(d);
    return NULL;
}

/*
 * The rest of the paths under the storm: a FIFO opened inside the
 * deadline (with a writer, and with nobody: WHELK_E_TIMEOUT), a run teeing
 * into another run's fed stdin, and a remote run (`sh -c`) with its
 * multiplexed stderr and far statuses.
 */
START_TEST(test_storm_fifo_tee_proc_remote)
{
    size_t n = 3 * MiB, len;
    char *in = pattern_bytes(n), *ff = tmp_path("fifo");
    int fds = count_open_fds();
    whelk_pipeline *p, *dp;
    whelk_remote *rm;
    whelk_result *r;
    whelk_error *err = NULL;
    whelk_proc *dst;
    pthread_t th;
    storm st;
    char want[32];

    ck_assert_int_eq(mkfifo(ff, 0600), 0);
    storm_start(&st);

    ck_assert_int_eq(pthread_create(&th, NULL, fifo_writer, ff), 0);
    p = HPIPE("count");
    whelk_pipeline_stdin_file(p, ff);
    whelk_pipeline_timeout(p, 60000);
    r = run_ok(p);
    ASSERT_STDOUT(r, "1048576\n");
    whelk_result_free(r);
    pthread_join(th, NULL);
    whelk_pipeline_timeout(p, 200); /* nobody opens it now */
    whelk_error_free(run_fail(p, WHELK_E_TIMEOUT));
    whelk_pipeline_free(p);

    dp = HPIPE("count");
    whelk_pipeline_stdin(dp, WHELK_FEED);
    dst = whelk_start(dp, &err);
    ck_assert_msg(dst != NULL, "%s", err_desc(err));
    p = HPIPE("cat");
    whelk_pipeline_tee_proc(p, dst);
    whelk_pipeline_stdin_bytes(p, in, n);
    r = run_ok(p);
    assert_bytes_out(r, in, n);
    whelk_result_free(r);
    r = wait_ok(dst);
    snprintf(want, sizeof want, "%zu\n", n);
    ASSERT_STDOUT(r, want);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    whelk_pipeline_free(dp);

    rm = whelk_remote_new(whelk_cmd_new("sh", "-c", NULL));
    ck_assert_ptr_nonnull(rm);
    p = whelk_pipe(HCMD("cat", "errn:300000"), HCMD("cat", "exit:4"),
                   (whelk_cmd *)NULL);
    whelk_pipeline_remote(p, rm);
    whelk_remote_free(rm);
    whelk_pipeline_check(p, 0);
    whelk_pipeline_stdin_bytes(p, in, n);
    r = run_ok(p);
    assert_bytes_out(r, in, n);
    whelk_result_stderr(r, &len);
    ck_assert_uint_eq(len, 300000);
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 0);
    ck_assert_int_eq(whelk_result_exit_code(r, 1), 4);
    whelk_result_free(r);
    whelk_pipeline_free(p);

    storm_stop(&st, 100);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
    free(in);
    free(ff);
}
END_TEST

/* ------------------------------------------- several threads, all hostile */

/*
 * Four threads run pipelines under the storm while a fifth opens and
 * closes descriptors of its own the whole time (inheritable, as a
 * careless host makes them) and checks each is still its own when it
 * closes it (a library closing a number twice would close it under that
 * thread), and a sixth starts children of its own with posix_spawn and
 * reaps each with waitpid(pid).  Every stage sees exactly 0, 1 and 2,
 * every byte and status is exact, and the host threads lose nothing.
 */
#define RUNNERS 4
#define RUNS 10

typedef struct runner {
    int id;
    char why[512];
} runner;

static int hostile_stop;
static pthread_barrier_t runners_done;

static void *runner_main(void *arg)
{
    runner *j = arg;
    int i;

    for (i = 0; i < RUNS && !j->why[0]; i++) {
        size_t n = (size_t)(j->id + 1) * 300000 + (size_t)i * 4099, len;
        char *in = pattern_bytes(n), code[16], *want;
        whelk_pipeline *p;
        whelk_result *r;
        whelk_error *err = NULL;
        const char *out;

        snprintf(code, sizeof code, "exit:%d", (j->id + i) % 4);
        /* cat | count | fds: the last stage says what it was given */
        p = whelk_pipe(helper_cmd("cat", (const char *)NULL),
                       helper_cmd("count", (const char *)NULL),
                       helper_cmd("fds", "cat", code, (const char *)NULL),
                       (whelk_cmd *)NULL);
        whelk_pipeline_check(p, 0);
        whelk_pipeline_stdin_bytes(p, in, n);
        r = whelk_run(p, &err);
        want = xasprintf("0 1 2\n%zu\n", n);
        if (!r) {
            snprintf(j->why, sizeof j->why, "runner %d run %d: %s", j->id, i,
                     err_desc(err));
        } else if (strcmp(out = whelk_result_stdout(r, &len), want) != 0) {
            snprintf(j->why, sizeof j->why,
                     "runner %d run %d: stdout \"%s\", expected \"%s\"", j->id,
                     i, out, want);
        } else if (whelk_result_exit_code(r, 0) != 0 ||
                   whelk_result_exit_code(r, 1) != 0 ||
                   whelk_result_exit_code(r, 2) != (j->id + i) % 4) {
            snprintf(j->why, sizeof j->why,
                     "runner %d run %d: statuses %d %d %d", j->id, i,
                     whelk_result_exit_code(r, 0), whelk_result_exit_code(r, 1),
                     whelk_result_exit_code(r, 2));
        }
        free(want);
        free(in);
        whelk_result_free(r);
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }
    pthread_barrier_wait(&runners_done);
    return NULL;
}

typedef struct churner {
    long rounds;
    char why[256];
} churner;

static void *churner_main(void *arg)
{
    churner *c = arg;

    while (!c->why[0] && (c->rounds < 2000 ||
                          !__atomic_load_n(&hostile_stop, __ATOMIC_ACQUIRE))) {
        int pf[2], k;
        struct stat before[2], now;

        if (pipe(pf) < 0) { /* inheritable on purpose */
            snprintf(c->why, sizeof c->why, "pipe: %s", strerror(errno));
            break;
        }
        for (k = 0; k < 2; k++)
            fstat(pf[k], &before[k]);
        for (k = 0; k < 2; k++) {
            if (fstat(pf[k], &now) < 0 || now.st_ino != before[k].st_ino ||
                now.st_dev != before[k].st_dev)
                snprintf(c->why, sizeof c->why,
                         "round %ld: fd %d is no longer this thread's pipe "
                         "(%s)",
                         c->rounds, pf[k], strerror(errno));
            else if (close(pf[k]) < 0)
                snprintf(c->why, sizeof c->why, "round %ld: close(%d): %s",
                         c->rounds, pf[k], strerror(errno));
        }
        c->rounds++;
    }
    return NULL;
}

typedef struct spawner {
    int spawns;
    char why[256];
} spawner;

static void *spawner_main(void *arg)
{
    spawner *sp = arg;

    while (!sp->why[0] && (sp->spawns < 50 ||
                           !__atomic_load_n(&hostile_stop, __ATOMIC_ACQUIRE))) {
        int code = 10 + sp->spawns % 50, st = 0, rc;
        char act[16];
        char *argv[3];
        pid_t pid, got;

        snprintf(act, sizeof act, "exit:%d", code);
        argv[0] = (char *)HELPER;
        argv[1] = act;
        argv[2] = NULL;
        if ((rc = posix_spawn(&pid, HELPER, NULL, NULL, argv, environ)) != 0) {
            snprintf(sp->why, sizeof sp->why, "posix_spawn: %s", strerror(rc));
            break;
        }
        do
            got = waitpid(pid, &st, 0);
        while (got < 0 && errno == EINTR);
        if (got != pid || !WIFEXITED(st) || WEXITSTATUS(st) != code)
            snprintf(sp->why, sizeof sp->why,
                     "own child %d: waitpid %d (%s), status 0x%x, expected "
                     "exit %d",
                     (int)pid, (int)got, got < 0 ? strerror(errno) : "-", st,
                     code);
        sp->spawns++;
    }
    return NULL;
}

START_TEST(test_storm_threads_spawner_fd_churn)
{
    pthread_t th[RUNNERS], ch, sp;
    runner jobs[RUNNERS];
    churner cj;
    spawner sj;
    storm st;
    pthread_t self;
    int i, fds = count_open_fds();

    ck_assert_int_eq(pthread_barrier_init(&runners_done, NULL, RUNNERS + 1), 0);
    memset(&cj, 0, sizeof cj);
    memset(&sj, 0, sizeof sj);
    __atomic_store_n(&hostile_stop, 0, __ATOMIC_RELEASE);
    storm_start(&st);
    ck_assert_int_eq(pthread_create(&ch, NULL, churner_main, &cj), 0);
    ck_assert_int_eq(pthread_create(&sp, NULL, spawner_main, &sj), 0);
    for (i = 0; i < RUNNERS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].id = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, runner_main, &jobs[i]),
                         0);
    }
    storm_retarget(&st, th, RUNNERS);
    /* the runners wait at the barrier once done: the storm leaves them
     * before they end, so it never fires at a joined thread */
    pthread_barrier_wait(&runners_done);
    self = pthread_self();
    storm_retarget(&st, &self, 1);
    for (i = 0; i < RUNNERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&runners_done);
    __atomic_store_n(&hostile_stop, 1, __ATOMIC_RELEASE);
    pthread_join(ch, NULL);
    pthread_join(sp, NULL);
    storm_stop(&st, 100);
    for (i = 0; i < RUNNERS; i++)
        ck_assert_msg(!jobs[i].why[0], "%s", jobs[i].why);
    ck_assert_msg(!cj.why[0], "%s", cj.why);
    ck_assert_msg(!sj.why[0], "%s", sj.why);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* ------------------------------------------ a host that reaps everything */

/*
 * libpipeline's way: a SIGCHLD handler (here without SA_RESTART) that
 * reaps every child with waitpid(-1, WNOHANG).  The library cannot keep a
 * status someone else took; what whelk.h promises is a result, or
 * WHELK_E_IO with ECHILD (the output read kept in its result), or the
 * run's own failure -- never a hang, a wrong status or a leak.  Four
 * threads run at once.  A guard: it passes on the code before.
 */
static void reap_all(int sig)
{
    int e = errno;

    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = e;
}

/* "" when r/err is one of the outcomes allowed, else what was wrong: a
 * result (stdout out unless NULL, stage 0 exiting code), the failure kind,
 * or WHELK_E_IO with ECHILD -- whose result, when the run had started
 * (a later stage cannot join the group of a first one already reaped),
 * still holds the output read. */
static const char *reaped_outcome(const whelk_result *r, const whelk_error *err,
                                  int kind, const char *out, int code)
{
    static __thread char why[512];
    const whelk_result *got = r ? r : whelk_error_result(err);

    why[0] = '\0';
    if (!r && whelk_error_kind(err) != kind &&
        !(whelk_error_kind(err) == WHELK_E_IO &&
          whelk_error_errno(err) == ECHILD))
        snprintf(why, sizeof why, "%s", err_desc(err));
    else if (out && got && strcmp(whelk_result_stdout(got, NULL), out) != 0)
        snprintf(why, sizeof why, "stdout \"%s\", expected \"%s\"",
                 whelk_result_stdout(got, NULL), out);
    else if (out && !got && whelk_error_kind(err) != WHELK_E_IO)
        snprintf(why, sizeof why, "no result: %s", err_desc(err));
    else if (r && whelk_result_exit_code(r, 0) != code)
        snprintf(why, sizeof why, "exit code %d, expected %d",
                 whelk_result_exit_code(r, 0), code);
    return why;
}

typedef struct reaped_job {
    int id;
    char why[600];
} reaped_job;

static void *reaped_main(void *arg)
{
    reaped_job *j = arg;
    int i;

    for (i = 0; i < 6 && !j->why[0]; i++) {
        whelk_pipeline *p;
        whelk_result *r;
        whelk_error *err = NULL;
        whelk_proc *pr;
        whelk_line l;
        const char *why;
        int64_t t0 = now_ms(), dt;
        long nl = 0;

        /* captured, checked off: exit 5 is a status, not a failure */
        p = whelk_pipe(helper_cmd("lines:1000", (const char *)NULL),
                       helper_cmd("count", "exit:5", (const char *)NULL),
                       (whelk_cmd *)NULL);
        whelk_pipeline_check(p, 0);
        r = whelk_run(p, &err);
        why = reaped_outcome(r, err, -1, "8893\n", 0);
        if (!why[0] && r && whelk_result_exit_code(r, 1) != 5)
            why = "the last stage's exit code is not 5";
        if (why[0])
            snprintf(j->why, sizeof j->why, "thread %d capture %d: %s", j->id,
                     i, why);
        whelk_result_free(r);
        whelk_error_free(err);
        whelk_pipeline_free(p);

        /* a deadline still ends the run on time */
        p = whelk_pipe(
            helper_cmd("out:x\\n", "sleep:30000", (const char *)NULL),
            (whelk_cmd *)NULL);
        whelk_pipeline_timeout(p, 200);
        whelk_pipeline_kill_grace(p, 200);
        err = NULL;
        t0 = now_ms();
        r = whelk_run(p, &err);
        dt = now_ms() - t0;
        why = reaped_outcome(r, err, WHELK_E_TIMEOUT, NULL, 0);
        if (!j->why[0] && (r || why[0] || dt > 200 + 200 + DRAIN_MS + SLACK_MS))
            snprintf(j->why, sizeof j->why,
                     "thread %d timeout %d: %s after %lld ms", j->id, i,
                     r ? "a result" : why, (long long)dt);
        whelk_result_free(r);
        whelk_error_free(err);
        whelk_pipeline_free(p);

        /* pulled line by line, then waited for */
        p = whelk_pipe(helper_cmd("lines:2000", (const char *)NULL),
                       (whelk_cmd *)NULL);
        whelk_pipeline_stdout(p, WHELK_PULL);
        err = NULL;
        pr = whelk_start(p, &err);
        if (!pr) {
            if (!j->why[0])
                snprintf(j->why, sizeof j->why, "thread %d start: %s", j->id,
                         err_desc(err));
        } else {
            int rc;
            while ((rc = whelk_proc_read_line(pr, &l, -1)) > 0)
                nl++;
            r = whelk_proc_wait(pr, &err);
            why = reaped_outcome(r, err, -1, NULL, 0);
            if (!j->why[0] && (rc < 0 || nl != 2000 || why[0]))
                snprintf(j->why, sizeof j->why,
                         "thread %d pull %d: %ld lines (%s), %s", j->id, i, nl,
                         rc < 0 ? strerror(errno) : "end", why);
            whelk_result_free(r);
        }
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }
    return NULL;
}

START_TEST(test_sigchld_reaper_threads)
{
    struct sigaction sa, old;
    pthread_t th[4];
    reaped_job jobs[4];
    int i, fds = count_open_fds();

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = reap_all;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NOCLDSTOP; /* and no SA_RESTART */
    ck_assert_int_eq(sigaction(SIGCHLD, &sa, &old), 0);
    for (i = 0; i < 4; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].id = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, reaped_main, &jobs[i]),
                         0);
    }
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    sigaction(SIGCHLD, &old, NULL);
    for (i = 0; i < 4; i++)
        ck_assert_msg(!jobs[i].why[0], "%s", jobs[i].why);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* ------------------------------------- a remote stage's stderr, the host's */

static whelk_pipeline *remote_err_pipe(whelk_cmd *c)
{
    whelk_remote *rm = whelk_remote_new(whelk_cmd_new("sh", "-c", NULL));
    whelk_pipeline *p = whelk_pipe(c, (whelk_cmd *)NULL);

    ck_assert_ptr_nonnull(rm);
    whelk_pipeline_remote(p, rm);
    whelk_remote_free(rm);
    return p;
}

/*
 * The host's stderr is a pipe whose reader is gone (`host 2>&1 | head`),
 * SIGPIPE at its default: a remote stage writing to the inherited stderr
 * kills no one here.  A local stage would die of SIGPIPE itself; the
 * library writing for a far one must not pass that death to the host.
 */
START_TEST(test_remote_stderr_to_broken_host_stderr)
{
    whelk_cmd *c = HCMD("err:lost\\n", "errn:200000", "out:kept\\n");
    whelk_pipeline *p;
    whelk_result *r;
    int pf[2], saved = dup(2), fds;

    ck_assert(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
    whelk_cmd_stderr(c, WHELK_INHERIT);
    p = remote_err_pipe(c);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_eq(pipe2(pf, O_CLOEXEC), 0);
    close(pf[0]);
    ck_assert_int_eq(dup2(pf[1], 2), 2);
    close(pf[1]);
    fds = count_open_fds();
    r = run_ok(p); /* alive */
    ASSERT_STDOUT(r, "kept\n");
    whelk_result_free(r);
    ck_assert_int_eq(dup2(saved, 2), 2);
    close(saved);
    fds--; /* saved */
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
    whelk_pipeline_free(p);
}
END_TEST

/*
 * whelk_cmd_stderr_fd of a remote stage to a pipe nobody reads: 1 MiB
 * cannot fit, and the run's deadline still holds -- the run comes back
 * with WHELK_E_TIMEOUT on time instead of the host blocking in write(2).
 */
START_TEST(test_remote_stderr_fd_full_pipe_deadline)
{
    whelk_cmd *c = HCMD("errn:1048576", "out:x");
    whelk_pipeline *p;
    whelk_error *err;
    int pf[2], fds = count_open_fds(), blocking;
    int64_t t0, dt;

    ck_assert_int_eq(pipe2(pf, O_CLOEXEC), 0);
    whelk_cmd_stderr_fd(c, pf[1]);
    p = remote_err_pipe(c);
    whelk_pipeline_timeout(p, 500);
    whelk_pipeline_kill_grace(p, 200);
    for (blocking = 1; blocking >= 0; blocking--) {
        /* a blocking fd first, then the same pipe O_NONBLOCK */
        if (!blocking)
            ck_assert_int_eq(fcntl(pf[1], F_SETFL, O_NONBLOCK), 0);
        t0 = now_ms();
        err = run_fail(p, WHELK_E_TIMEOUT);
        dt = now_ms() - t0;
        ck_assert_msg(dt >= 500 && dt < 500 + 200 + DRAIN_MS + SLACK_MS,
                      "the run took %lld ms", (long long)dt);
        whelk_error_free(err);
        /* the caller's flags are left alone */
        ck_assert_int_eq(fcntl(pf[1], F_GETFL) & O_NONBLOCK,
                         blocking ? 0 : O_NONBLOCK);
    }
    close(pf[0]);
    close(pf[1]);
    whelk_pipeline_free(p);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
}
END_TEST

typedef struct drainer {
    int fd;
    char *data;
    size_t len, cap;
} drainer;

static void *drainer_main(void *arg)
{
    drainer *d = arg;
    ssize_t k;

    for (;;) {
        if (d->len + 65536 > d->cap) {
            d->cap = (d->cap + 65536) * 2;
            d->data = realloc(d->data, d->cap);
            if (!d->data)
                return NULL;
        }
        k = read(d->fd, d->data + d->len, 65536);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return NULL;
        d->len += (size_t)k;
    }
}

/*
 * The same descriptor O_NONBLOCK, read by a host thread at its own pace,
 * under the storm: every byte of the far stage's stderr arrives, in order
 * (a full pipe is waited for, not a reason to drop bytes).
 */
START_TEST(test_remote_stderr_fd_nonblocking_exact)
{
    size_t n = 4 * MiB;
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_result *r;
    drainer d;
    pthread_t th;
    storm st;
    int pf[2];
    char *want = pattern_bytes(n), act[32];

    snprintf(act, sizeof act, "errn:%zu", n);
    c = HCMD(act, "out:x");
    ck_assert_int_eq(pipe2(pf, O_CLOEXEC), 0);
    ck_assert_int_eq(fcntl(pf[1], F_SETFL, O_NONBLOCK), 0);
    whelk_cmd_stderr_fd(c, pf[1]);
    p = remote_err_pipe(c);
    whelk_pipeline_timeout(p, 60000);
    memset(&d, 0, sizeof d);
    d.fd = pf[0];
    ck_assert_int_eq(pthread_create(&th, NULL, drainer_main, &d), 0);
    storm_start(&st);
    r = run_ok(p);
    storm_stop(&st, 1);
    ASSERT_STDOUT(r, "x");
    whelk_result_free(r);
    close(pf[1]); /* the drainer sees the end */
    pthread_join(th, NULL);
    close(pf[0]);
    ck_assert_ptr_nonnull(d.data);
    ASSERT_BYTES(d.data, d.len, want, n);
    free(d.data);
    free(want);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

void life_hostile_threads(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "hostile_threads", TEST_TIMEOUT, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_storm_run_entry_points);
    tcase_add_test(tc, test_storm_host_driven);
    tcase_add_test(tc, test_storm_fifo_tee_proc_remote);
    tcase_add_test(tc, test_storm_threads_spawner_fd_churn);
    tcase_add_test(tc, test_sigchld_reaper_threads);
    tc = life_tcase(s, "hostile_remote_stderr", 30);
    tcase_add_test(tc, test_remote_stderr_to_broken_host_stderr);
    tcase_add_test(tc, test_remote_stderr_fd_full_pipe_deadline);
    tcase_add_test(tc, test_remote_stderr_fd_nonblocking_exact);
}
