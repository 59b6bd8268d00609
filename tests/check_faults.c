/*
 * check_faults.c -- allocation failure injected at every allocation site
 * (issue 5).
 *
 * The binary is linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,
 * so every call to those functions from objects linked into it -- the
 * library (libwhelk-core), tests/common.c and Check itself -- lands in the
 * __wrap_* functions below.  They count only while a flag is armed, and
 * only in the arming thread, around the libwhelk calls under test; the Nth
 * counted allocation fails with ENOMEM.
 *
 * A sweep runs one scenario for N = 1, 2, 3, ... until a run completes with
 * no failure injected, so that every allocation the scenario makes has
 * failed once.  At each N the outcome must be one of:
 *   NOMEM        the call returns an error of kind WHELK_E_NOMEM, errno
 *                ENOMEM;
 *   NULL object  a constructor documented to return NULL only when memory
 *                is exhausted did so (whelk_pipe, whelk_pipeline_new);
 *   RECOVERED    exactly the outcome of an undisturbed run: the allocation
 *                was one the library can do without (the stderr tail of a
 *                message, the command line of a timeout message);
 * and nothing may leak: no descriptor (fds 0..1023 compared one by one),
 * no child (count_children), no heap byte (mallinfo2; each iteration runs
 * in a thread of its own, whose malloc cache returns to the arena when it
 * ends).  A sweep goes on past a wrong outcome and reports every failing
 * allocation at the end, so one run shows every site that misbehaves.
 *
 * Memory is also checked by running the binary under valgrind:
 *   CK_FORK=no valgrind --leak-check=full --errors-for-leak-kinds=definite \
 *       --error-exitcode=1 ./tests/check_faults
 * (with CK_FORK=no the iterations run in the test's own thread and the
 * heap comparison is left to valgrind).
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"

/* ------------------------------------------------------- the injector */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

/* volatile: the compiler assumes malloc reads no program variable and
 * would otherwise move or drop the stores around a direct call. */
static __thread volatile int armed;    /* count this thread's allocations */
static __thread volatile long counted; /* allocations counted since arming */
static __thread volatile long fail_at; /* the one that fails (1-based) */
static __thread volatile int injected; /* a failure was injected */

static int inject(void)
{
    if (!armed)
        return 0;
    if (++counted != fail_at)
        return 0;
    injected = 1;
    errno = ENOMEM;
    return 1;
}

void *__wrap_malloc(size_t n)
{
    return inject() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return inject() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return inject() ? NULL : __real_realloc(p, n);
}

#define ARM() (armed = 1)
#define DISARM() (armed = 0)

/* ------------------------------------------------------------ issues */

/* Problems found by a sweep, kept so that it can go on and report every
 * failing allocation at once.  Only the sweeping thread writes them (an
 * iteration's thread is joined before the next starts). */
static char issue_text[16384];
static size_t issue_len;
static int nissues;
static const char *cur_sweep = "";
static long cur_n;

static void issue(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void issue(const char *fmt, ...)
{
    va_list ap;
    int n;

    nissues++;
    if (issue_len + 200 >= sizeof issue_text)
        return;
    n = snprintf(issue_text + issue_len, sizeof issue_text - issue_len,
                 "\n  [%s, allocation %ld failed] ", cur_sweep, cur_n);
    if (n > 0)
        issue_len += (size_t)n;
    va_start(ap, fmt);
    n = vsnprintf(issue_text + issue_len, sizeof issue_text - issue_len, fmt,
                  ap);
    va_end(ap);
    if (n > 0)
        issue_len += (size_t)n;
    if (issue_len >= sizeof issue_text)
        issue_len = sizeof issue_text - 1;
}

/* Records a problem when cond is false; evaluates to cond. */
#define EXPECT(cond, ...) ((cond) ? 1 : (issue(__VA_ARGS__), 0))

/* ------------------------------------------------------------ helpers */

/* Heap bytes in use by glibc's allocator. */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks;
}

/* Lines given to the callback, per stream, into fixed buffers: the
 * callback runs armed, inside the library, and must not allocate. */
typedef struct lines {
    char text[2][4096]; /* [0] stdout, [1] stderr */
    size_t len[2];
    int n[2];
    int bad;
} lines;

static int collect_line(const whelk_line *l, void *ud)
{
    lines *c = ud;
    int s = l->stream == WHELK_STDERR;

    if (c->len[s] + l->len + 2 > sizeof c->text[s]) {
        c->bad++;
        return 0;
    }
    memcpy(c->text[s] + c->len[s], l->text, l->len);
    c->len[s] += l->len;
    c->text[s][c->len[s]++] = '\n';
    c->text[s][c->len[s]] = '\0';
    c->n[s]++;
    return 0;
}

static int same_bytes(const char *got, size_t len, const char *want)
{
    return got && len == strlen(want) && memcmp(got, want, len) == 0 &&
           got[len] == '\0';
}

/* What one run under injection came to. */
enum outcome {
    OUT_NORMAL,      /* undisturbed */
    OUT_NOMEM,       /* WHELK_E_NOMEM */
    OUT_NULL_OBJECT, /* a constructor returned NULL */
    OUT_RECOVERED,   /* the undisturbed outcome despite the failure */
    OUT_WRONG        /* anything else (an issue was recorded) */
};

/* A scenario builds and runs under injection (arming itself around the
 * library calls only), checks its outcome, frees everything. */
typedef enum outcome (*scenario_fn)(void);

/* The error must be WHELK_E_NOMEM with ENOMEM and a message. */
static enum outcome expect_nomem(const whelk_error *err)
{
    if (!EXPECT(err != NULL, "a failed call gave no error"))
        return OUT_WRONG;
    if (!EXPECT(whelk_error_kind(err) == WHELK_E_NOMEM &&
                    whelk_error_errno(err) == ENOMEM,
                "expected WHELK_E_NOMEM, got %s", err_desc(err)))
        return OUT_WRONG;
    EXPECT(whelk_error_message(err)[0] != '\0', "NOMEM without a message");
    return OUT_NOMEM;
}

/* ------------------------------------------------------- iterations */

/*
 * One iteration runs in a thread of its own that ends with it: a thread's
 * malloc cache (tcache) goes back to the arena when it exits, so the heap
 * bytes in use before and after compare exactly.  With CK_FORK=no (the
 * valgrind run) iterations run in the test's own thread.
 */
typedef struct iter {
    scenario_fn fn;
    long fail_at;
    long counted;
    int injected;
    enum outcome o;
} iter;

static void *iter_main(void *arg)
{
    iter *it = arg;

    fail_at = it->fail_at;
    counted = 0;
    injected = 0;
    it->o = it->fn();
    DISARM();
    it->counted = counted;
    it->injected = injected;
    fail_at = 0;
    return NULL;
}

static int in_threads(void)
{
    const char *f = getenv("CK_FORK");

    return !f || strcmp(f, "no") != 0;
}

static void run_iter(iter *it)
{
    pthread_t th;

    if (!in_threads()) {
        iter_main(it);
        return;
    }
    ck_assert_int_eq(pthread_create(&th, NULL, iter_main, it), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
}

#define MAXFD 1024

static void fd_snapshot(unsigned char *open_)
{
    int fd;

    for (fd = 0; fd < MAXFD; fd++)
        open_[fd] = (unsigned char)fd_is_open(fd);
}

/* Compares descriptors with the snapshot; records and repairs every
 * difference, so that the next iteration starts from the same state. */
static void fd_compare(const unsigned char *before)
{
    int fd;

    for (fd = 0; fd < MAXFD; fd++) {
        int now = fd_is_open(fd);

        if (before[fd] && !now) {
            int nul = open("/dev/null", O_RDWR);
            issue("descriptor %d, open before the call, was closed by it",
                  fd);
            if (nul >= 0 && nul != fd) {
                dup2(nul, fd);
                close(nul);
            }
        } else if (!before[fd] && now) {
            issue("descriptor %d was left open (leaked)", fd);
            close(fd);
        }
    }
}

typedef struct tally {
    long n; /* allocations of a complete, undisturbed run */
    int nomem, null_object, recovered, wrong;
    char recovered_at[256];
} tally;

static void note(tally *t, enum outcome o, long n)
{
    size_t used;

    switch (o) {
    case OUT_NOMEM: t->nomem++; break;
    case OUT_NULL_OBJECT: t->null_object++; break;
    case OUT_RECOVERED:
        t->recovered++;
        used = strlen(t->recovered_at);
        if (used + 24 < sizeof t->recovered_at)
            snprintf(t->recovered_at + used, sizeof t->recovered_at - used,
                     "%s%ld", used ? "," : "", n);
        break;
    default: t->wrong++; break;
    }
}

/*
 * Runs fn undisturbed twice (a warm-up for the iconv modules and other
 * state the C library makes once), then with allocation N failing for
 * N = 1, 2, ... until no failure is injected.  Fails the test with every
 * issue found.
 */
static tally sweep(const char *name, scenario_fn fn)
{
    static unsigned char before[MAXFD];
    tally t;
    iter it;
    long n;

    memset(&t, 0, sizeof t);
    issue_len = 0;
    issue_text[0] = '\0';
    nissues = 0;
    cur_sweep = name;
    cur_n = 0;
    for (n = 0; n < 2; n++) {
        memset(&it, 0, sizeof it);
        it.fn = fn;
        run_iter(&it);
        ck_assert_msg(it.o == OUT_NORMAL && nissues == 0,
                      "%s: the undisturbed run is wrong:%s", name,
                      issue_text);
    }
    for (n = 1;; n++) {
        size_t heap;
        int children;

        ck_assert_msg(n < 100000, "%s: no end to the allocations", name);
        cur_n = n;
        fd_snapshot(before);
        heap = heap_in_use();
        memset(&it, 0, sizeof it);
        it.fn = fn;
        it.fail_at = n;
        run_iter(&it);
        fd_compare(before);
        children = count_children();
        EXPECT(children == 0, "%d children left", children);
        if (in_threads())
            EXPECT(heap_in_use() == heap,
                   "%zu heap bytes in use after, %zu before",
                   heap_in_use(), heap);
        if (!it.injected) {
            ck_assert_msg(it.o == OUT_NORMAL,
                          "%s: the undisturbed run (%ld allocations) went "
                          "wrong:%s",
                          name, it.counted, issue_text);
            t.n = it.counted;
            break;
        }
        if (it.o == OUT_NORMAL) {
            issue("the scenario saw no effect of the failure");
            it.o = OUT_WRONG;
        }
        note(&t, it.o, n);
    }
    printf("faults: %s: %ld allocations; failing each gave NOMEM %d, NULL "
           "object %d, recovered %d%s%s%s, wrong %d\n",
           name, t.n, t.nomem, t.null_object, t.recovered,
           t.recovered ? " (at " : "", t.recovered_at,
           t.recovered ? ")" : "", t.wrong);
    fflush(stdout);
    ck_assert_msg(nissues == 0, "%s: %d issue(s):%s", name, nissues,
                  issue_text);
    /* every injected iteration was accounted for (the undisturbed count
     * t.n may differ by one or two: how output arrives in reads decides
     * whether a partial line needs its buffer) */
    ck_assert_int_eq(t.nomem + t.null_object + t.recovered, n - 1);
    ck_assert_msg(t.nomem > 0, "%s: no failure was reported as NOMEM", name);
    return t;
}

/* ======================================================== scenarios */

/*
 * How scenarios build their commands and pipelines:
 *   BUILD_ABS   whelk_cmd_new(HELPER, ...) and whelk_pipe(c0, c1, NULL),
 *               as the issue's example reads;
 *   BUILD_PATH  the program found in PATH ("whelk-helper", with the
 *               command's own PATH set to the helper's directory) and the
 *               stages added with whelk_pipeline_new/whelk_pipeline_add:
 *               a second route through the builders and the PATH search.
 */
enum build { BUILD_ABS, BUILD_PATH };
static enum build build_mode;
static char helper_dir[4096];
static const char *helper_name;

static void set_build(enum build b)
{
    const char *slash = strrchr(HELPER, '/');

    ck_assert_ptr_nonnull(slash);
    ck_assert_int_lt((long)(slash - HELPER), (long)sizeof helper_dir);
    memcpy(helper_dir, HELPER, (size_t)(slash - HELPER));
    helper_dir[slash - HELPER] = '\0';
    helper_name = slash + 1;
    build_mode = b;
}

/* A helper command with the given actions (up to 8, then NULL). */
static whelk_cmd *mk_cmd(const char *first, ...)
{
    const char *argv[10];
    const char *a;
    size_t n = 0;
    va_list ap;
    whelk_cmd *c;

    argv[n++] = build_mode == BUILD_ABS ? HELPER : helper_name;
    va_start(ap, first);
    for (a = first; a && n < 9; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    c = whelk_cmd_newv(argv);
    if (build_mode == BUILD_PATH)
        whelk_cmd_setenv(c, "PATH", helper_dir);
    return c;
}

/* A pipeline of one or two commands. */
static whelk_pipeline *mk_pipe(whelk_cmd *a, whelk_cmd *b, int two)
{
    whelk_pipeline *p;

    if (build_mode == BUILD_ABS)
        return two ? whelk_pipe(a, b, (whelk_cmd *)NULL)
                   : whelk_pipe(a, (whelk_cmd *)NULL);
    p = whelk_pipeline_new();
    whelk_pipeline_add(p, a);
    if (two)
        whelk_pipeline_add(p, b);
    return p;
}

/*
 * The main scenario of issue 5: commands + a pipeline + setters + whelk_run
 * of a two-stage pipeline with stdin bytes, a line callback, ISO-8859-1
 * decoding of both streams, an env change, and a failing exit.
 */
static const char latin1_in[] = "caf\xe9\nna\xefve\nend\n";
#define UTF8_OUT "caf\xc3\xa9\nna\xc3\xafve\nend\n"

static enum outcome scen_pipeline(void)
{
    whelk_cmd *c0, *c1;
    whelk_pipeline *p;
    whelk_result *r = NULL;
    whelk_error *err = NULL;
    const whelk_result *res;
    lines got;
    enum outcome o = OUT_WRONG;
    size_t len;
    const char *s;
    int ok = 1;

    memset(&got, 0, sizeof got);
    ARM();
    c0 = mk_cmd("cat", (const char *)NULL);
    c1 = mk_cmd("cat", "env:WHELK_FAULT", "err:boom \xff\\n", "exit:3",
                (const char *)NULL);
    whelk_cmd_setenv(c1, "WHELK_FAULT", "on");
    whelk_cmd_arg(c0, "exit:0");
    p = mk_pipe(c0, c1, 1);
    whelk_pipeline_stdin_bytes(p, latin1_in, sizeof latin1_in - 1);
    whelk_pipeline_on_line(p, WHELK_STDOUT | WHELK_STDERR, collect_line, &got);
    whelk_pipeline_decode(p, WHELK_STDOUT | WHELK_STDERR, "ISO-8859-1",
                          WHELK_DECODE_REPLACE);
    if (p)
        r = whelk_run(p, &err);
    DISARM();

    if (!p) {
        EXPECT(injected, "the pipeline constructor returned NULL");
        return OUT_NULL_OBJECT;
    }
    if (!EXPECT(r == NULL,
                "the run succeeded, but stage 1 exits 3: %zu stage(s), "
                "stdout \"%s\"",
                whelk_result_ncmds(r), whelk_result_stdout(r, NULL)))
        goto out;
    if (whelk_error_kind(err) != WHELK_E_EXIT) {
        EXPECT(injected, "undisturbed run: %s", err_desc(err));
        o = expect_nomem(err);
        goto out;
    }
    /* the outcome of an undisturbed run, byte for byte */
    res = whelk_error_result(err);
    ok &= EXPECT(whelk_error_exit_code(err) == 3 && whelk_error_stage(err) == 1,
                 "wrong failure: %s", err_desc(err));
    ok &= EXPECT(res && whelk_result_exit_code(res, 0) == 0 &&
                     whelk_result_exit_code(res, 1) == 3,
                 "wrong statuses");
    s = whelk_result_stdout(res, &len);
    ok &= EXPECT(same_bytes(s, len, UTF8_OUT "on\n"), "stdout \"%s\"", s);
    s = whelk_result_stderr(res, &len);
    ok &= EXPECT(same_bytes(s, len, "boom \xc3\xbf\n"), "stderr \"%s\"", s);
    ok &= EXPECT(!got.bad && got.n[0] == 4 &&
                     strcmp(got.text[0], UTF8_OUT "on\n") == 0,
                 "stdout lines (%d): \"%s\"", got.n[0], got.text[0]);
    ok &= EXPECT(got.n[1] == 1 && strcmp(got.text[1], "boom \xc3\xbf\n") == 0,
                 "stderr lines (%d): \"%s\"", got.n[1], got.text[1]);
    ok &= EXPECT(contains(whelk_error_message(err), "exited with status 3"),
                 "message: %s", whelk_error_message(err));
    /* only the best-effort stderr tail of the message may be missing */
    if (!injected)
        ok &= EXPECT(contains(whelk_error_message(err), "boom"),
                     "no stderr tail: %s", whelk_error_message(err));
    if (ok)
        o = injected ? OUT_RECOVERED : OUT_NORMAL;
out:
    whelk_result_free(r);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    return o;
}

/* whelk_sh: one command with the defaults. */
static enum outcome scen_sh(void)
{
    whelk_error *err = NULL;
    whelk_result *r;
    enum outcome o;
    const char *s;
    size_t len;
    int ok = 1;

    ARM();
    r = whelk_sh(&err, build_mode == BUILD_ABS ? HELPER : helper_name,
                 "out:x\\n", "err:y\\n", (const char *)NULL);
    DISARM();
    if (!r) {
        EXPECT(injected, "undisturbed run: %s", err_desc(err));
        o = expect_nomem(err);
        whelk_error_free(err);
        return o;
    }
    s = whelk_result_stdout(r, &len);
    ok &= EXPECT(same_bytes(s, len, "x\n"), "stdout \"%s\"", s);
    s = whelk_result_stderr(r, &len);
    ok &= EXPECT(same_bytes(s, len, "y\n"), "stderr \"%s\"", s);
    ok &= EXPECT(err == NULL, "a result and an error");
    whelk_result_free(r);
    return !ok ? OUT_WRONG : injected ? OUT_RECOVERED : OUT_NORMAL;
}

/* A run that times out: the error keeps the output read before. */
static enum outcome scen_timeout(void)
{
    whelk_pipeline *p;
    whelk_error *err = NULL;
    whelk_result *r = NULL;
    const whelk_result *res;
    enum outcome o = OUT_WRONG;
    const char *s;
    size_t len;
    int ok = 1;

    ARM();
    p = mk_pipe(mk_cmd("out:before\\n", "sleep:30000", (const char *)NULL),
                NULL, 0);
    whelk_pipeline_timeout(p, 150);
    whelk_pipeline_kill_grace(p, 100);
    if (p)
        r = whelk_run(p, &err);
    DISARM();
    if (!p) {
        EXPECT(injected, "the pipeline constructor returned NULL");
        return OUT_NULL_OBJECT;
    }
    if (!EXPECT(r == NULL, "the run succeeded"))
        goto out;
    if (whelk_error_kind(err) != WHELK_E_TIMEOUT) {
        EXPECT(injected, "undisturbed run: %s", err_desc(err));
        o = expect_nomem(err);
        goto out;
    }
    res = whelk_error_result(err);
    s = whelk_result_stdout(res, &len);
    ok &= EXPECT(res != NULL, "a timeout without its result");
    ok &= EXPECT(same_bytes(s, len, "before\n"), "stdout \"%s\"", s);
    ok &= EXPECT(whelk_result_signal(res, 0) == SIGTERM, "signal %d",
                 whelk_result_signal(res, 0));
    ok &= EXPECT(contains(whelk_error_message(err), "timed out"), "%s",
                 whelk_error_message(err));
    /* the command line in the message is best effort */
    if (!injected)
        ok &= EXPECT(contains(whelk_error_message(err), "sleep:30000"), "%s",
                     whelk_error_message(err));
    if (ok)
        o = injected ? OUT_RECOVERED : OUT_NORMAL;
out:
    whelk_result_free(r);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    return o;
}

/* The asynchronous handle: whelk_start, whelk_proc_fd in a poll loop,
 * whelk_proc_wait; with a cwd, a cleared environment and cut lines. */
static enum outcome scen_async(void)
{
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_proc *pr = NULL;
    whelk_result *r = NULL;
    whelk_error *err = NULL;
    lines got;
    enum outcome o = OUT_WRONG;
    const char *s;
    size_t len;
    int fd, ok = 1;

    memset(&got, 0, sizeof got);
    ARM();
    c = mk_cmd("pwd", "env:K", "out:abcdefghij", "exit:0", (const char *)NULL);
    whelk_cmd_chdir(c, "/");
    whelk_cmd_clearenv(c);
    whelk_cmd_setenv(c, "K", "v");
    if (build_mode == BUILD_PATH)
        whelk_cmd_setenv(c, "PATH", helper_dir);
    p = mk_pipe(c, NULL, 0);
    whelk_pipeline_max_line(p, 4);
    whelk_pipeline_on_line(p, WHELK_STDOUT, collect_line, &got);
    if (p)
        pr = whelk_start(p, &err);
    if (pr) {
        fd = whelk_proc_fd(pr);
        for (;;) {
            struct pollfd pfd = {fd, POLLIN, 0};
            if (fd >= 0 && poll(&pfd, 1, 20000) != 1)
                break;
            if (whelk_proc_step(pr, fd >= 0 ? 0 : 1000) == 1)
                break;
        }
        r = whelk_proc_wait(pr, &err);
    }
    DISARM();
    if (!p) {
        EXPECT(injected, "the pipeline constructor returned NULL");
        return OUT_NULL_OBJECT;
    }
    if (!r) {
        EXPECT(injected, "undisturbed run: %s", err_desc(err));
        o = expect_nomem(err);
        goto out;
    }
    s = whelk_result_stdout(r, &len);
    ok &= EXPECT(same_bytes(s, len, "/\nv\nabcdefghij"), "stdout \"%s\"", s);
    /* pieces of at most 4 bytes: "/", "v", "abcd" "efgh" "ij" */
    ok &= EXPECT(!got.bad && got.n[0] == 5 &&
                     strcmp(got.text[0], "/\nv\nabcd\nefgh\nij\n") == 0,
                 "lines (%d): \"%s\"", got.n[0], got.text[0]);
    ok &= EXPECT(err == NULL, "a result and an error");
    if (ok)
        o = injected ? OUT_RECOVERED : OUT_NORMAL;
out:
    whelk_result_free(r);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    return o;
}

/* whelk_run_many: three pipelines, two at a time, one failing. */
static enum outcome scen_many(void)
{
    static const char *const want[3] = {"0\n", "1\n",
                                        "line 1\nline 2\nline 3\n"};
    whelk_pipeline *p[3];
    whelk_result *res[3] = {NULL, NULL, NULL};
    whelk_error *errs[3] = {NULL, NULL, NULL};
    size_t failed = 0, nerrs = 0;
    int i, nomem = 0, ok = 1, built;

    ARM();
    p[0] = mk_pipe(mk_cmd("out:0\\n", (const char *)NULL), NULL, 0);
    p[1] = mk_pipe(mk_cmd("out:1\\n", "exit:2", (const char *)NULL), NULL, 0);
    p[2] = mk_pipe(mk_cmd("lines:3", (const char *)NULL),
                   mk_cmd("cat", (const char *)NULL), 1);
    built = p[0] && p[1] && p[2];
    if (built)
        failed = whelk_run_many(p, 3, 2, res, errs);
    DISARM();
    if (!built) {
        EXPECT(injected, "the pipeline constructor returned NULL");
        for (i = 0; i < 3; i++)
            whelk_pipeline_free(p[i]);
        return OUT_NULL_OBJECT;
    }
    for (i = 0; i < 3; i++) {
        const whelk_result *r = res[i];
        const char *s;
        size_t len;

        ok &= EXPECT((res[i] == NULL) != (errs[i] == NULL),
                     "pipeline %d: not exactly one of result and error", i);
        nerrs += errs[i] != NULL;
        if (errs[i] && whelk_error_kind(errs[i]) == WHELK_E_NOMEM) {
            EXPECT(injected, "undisturbed NOMEM");
            ok &= expect_nomem(errs[i]) == OUT_NOMEM;
            nomem++;
            continue;
        }
        if (i == 1) {
            ok &= EXPECT(whelk_error_kind(errs[1]) == WHELK_E_EXIT,
                         "pipeline 1: %s", err_desc(errs[1]));
            r = whelk_error_result(errs[1]);
        } else {
            ok &= EXPECT(res[i] != NULL, "pipeline %d: %s", i,
                         err_desc(errs[i]));
        }
        s = whelk_result_stdout(r, &len);
        ok &= EXPECT(same_bytes(s, len, want[i]), "pipeline %d: \"%s\"", i,
                     s);
    }
    ok &= EXPECT(failed == nerrs, "%zu failures counted, %zu errors", failed,
                 nerrs);
    for (i = 0; i < 3; i++) {
        whelk_result_free(res[i]);
        whelk_error_free(errs[i]);
        whelk_pipeline_free(p[i]);
    }
    if (!ok)
        return OUT_WRONG;
    return nomem ? OUT_NOMEM : injected ? OUT_RECOVERED : OUT_NORMAL;
}

/* Issue 13: a command from a string, copied, with an extra descriptor,
 * a limit and a umask, in a pipeline whose stages die with the host (a
 * keeper thread spawns them: its own allocations are not counted). */
static char setup_words[4096];

static enum outcome scen_setup(void)
{
    whelk_cmd *t, *c;
    whelk_pipeline *p;
    whelk_result *r = NULL;
    whelk_error *err = NULL;
    enum outcome o = OUT_WRONG;
    const char *s;
    size_t len;

    ARM();
    t = whelk_cmd_new_argstr(setup_words);
    whelk_cmd_umask(t, 027);
    whelk_cmd_rlimit(t, RLIMIT_CORE, 0, 0);
    whelk_cmd_fd(t, 5, 2);
    c = whelk_cmd_dup(t);
    whelk_cmd_free(t);
    p = whelk_pipe(c, (whelk_cmd *)NULL);
    whelk_pipeline_die_with_host(p, 1);
    r = whelk_run(p, &err);
    DISARM();
    if (!r) {
        EXPECT(injected, "undisturbed run: %s", err_desc(err));
        o = expect_nomem(err);
        goto out;
    }
    s = whelk_result_stdout(r, &len);
    if (EXPECT(same_bytes(s, len, "027\n0 1 2 5\na b"), "stdout \"%s\"", s))
        o = injected ? OUT_RECOVERED : OUT_NORMAL;
out:
    whelk_result_free(r);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    return o;
}

/* ============================================================ tests */

/* Keeps the compiler from eliding an allocation the test makes. */
static void *volatile sink;

START_TEST(test_injector_counts_only_when_armed)
{
    void *a, *b, *c;

    /* not armed: nothing fails */
    fail_at = 1;
    counted = 0;
    injected = 0;
    sink = a = malloc(10);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(counted, 0);
    /* armed: the 2nd allocation fails, with ENOMEM */
    fail_at = 2;
    ARM();
    sink = b = calloc(1, 10);
    errno = 0;
    sink = c = realloc(a, 20);
    DISARM();
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(injected, 1);
    ck_assert_int_eq(counted, 2);
    free(a);
    free(b);
    fail_at = 0;
}
END_TEST

START_TEST(test_nomem_pipeline)
{
    tally t;

    set_build(BUILD_ABS);
    t = sweep("pipeline (whelk_pipe, absolute path)", scen_pipeline);
    ck_assert_int_gt(t.n, 20);
}
END_TEST

START_TEST(test_nomem_pipeline_path)
{
    tally t;

    set_build(BUILD_PATH);
    t = sweep("pipeline (whelk_pipeline_add, PATH)", scen_pipeline);
    ck_assert_int_gt(t.n, 20);
}
END_TEST

START_TEST(test_nomem_sh)
{
    set_build(BUILD_ABS);
    sweep("whelk_sh (absolute path)", scen_sh);
}
END_TEST

/* The host's PATH, kept while a test changes it (static: still reachable
 * if a failed assertion leaves the test early under CK_FORK=no). */
static char old_path[8192];
static int had_path;

static void restore_path(void)
{
    if (had_path)
        setenv("PATH", old_path, 1);
    else
        unsetenv("PATH");
}

START_TEST(test_nomem_sh_path)
{
    static char path[8192 + 4096];
    const char *old = getenv("PATH");

    set_build(BUILD_PATH);
    had_path = old != NULL;
    snprintf(old_path, sizeof old_path, "%s", old ? old : "");
    snprintf(path, sizeof path, "%s:%s", helper_dir,
             old ? old : "/usr/bin:/bin");
    ck_assert_int_eq(setenv("PATH", path, 1), 0);
    sweep("whelk_sh (host PATH)", scen_sh);
    restore_path();
}
END_TEST

START_TEST(test_nomem_timeout)
{
    if (old_path[0] || had_path)
        restore_path(); /* after a failed test_nomem_sh_path, CK_FORK=no */
    set_build(BUILD_PATH);
    sweep("timeout", scen_timeout);
}
END_TEST

START_TEST(test_nomem_async)
{
    set_build(BUILD_PATH);
    sweep("async", scen_async);
}
END_TEST

START_TEST(test_nomem_run_many)
{
    set_build(BUILD_PATH);
    sweep("run_many", scen_many);
}
END_TEST

START_TEST(test_nomem_setup)
{
    tally t;

    set_build(BUILD_ABS);
    snprintf(setup_words, sizeof setup_words, "'%s' umask fds 'out:a b'",
             HELPER);
    t = sweep("child setup (argstr, dup, fd, rlimit, umask, die_with_host)",
              scen_setup);
    ck_assert_int_gt(t.n, 10);
}
END_TEST

/* The documented NULL paths: a NULL command given to a pipeline is
 * remembered as WHELK_E_NOMEM; whelk_pipeline_tostring returns NULL. */
START_TEST(test_nomem_null_command)
{
    whelk_pipeline *p;
    whelk_error *err = NULL;
    char *s;

    p = whelk_pipe((whelk_cmd *)NULL, (whelk_cmd *)NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(whelk_run(p, &err));
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_NOMEM, "%s", err_desc(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);

    p = whelk_pipeline_new();
    whelk_pipeline_add(p, helper_cmd("exit:0", (const char *)NULL));
    whelk_pipeline_add(p, NULL);
    err = NULL;
    ck_assert_ptr_null(whelk_run(p, &err));
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_NOMEM, "%s", err_desc(err));
    whelk_error_free(err);
    counted = 0;
    injected = 0;
    fail_at = 1;
    ARM();
    s = whelk_pipeline_tostring(p);
    DISARM();
    fail_at = 0;
    ck_assert(injected);
    ck_assert_ptr_null(s);
    whelk_pipeline_free(p);
    ck_assert_int_eq(count_children(), 0);
}
END_TEST

static Suite *faults_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("nomem");

    tcase_set_timeout(tc, TEST_TIMEOUT * 5);
    tcase_add_test(tc, test_injector_counts_only_when_armed);
    tcase_add_test(tc, test_nomem_pipeline);
    tcase_add_test(tc, test_nomem_pipeline_path);
    tcase_add_test(tc, test_nomem_sh);
    tcase_add_test(tc, test_nomem_sh_path);
    tcase_add_test(tc, test_nomem_timeout);
    tcase_add_test(tc, test_nomem_async);
    tcase_add_test(tc, test_nomem_run_many);
    tcase_add_test(tc, test_nomem_setup);
    tcase_add_test(tc, test_nomem_null_command);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(faults_suite());
}
