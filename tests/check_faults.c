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
 *
 * The runner and fixtures; the tests are in tests/faults/<topic>.c, one
 * file per topic, sharing tests/faults/faults.h.
 */
#include "faults/faults.h"

/* ------------------------------------------------------- the injector */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

/* volatile: the compiler assumes malloc reads no program variable and
 * would otherwise move or drop the stores around a direct call. */
__thread volatile int armed;    /* count this thread's allocations */
__thread volatile long counted; /* allocations counted since arming */
__thread volatile long fail_at; /* the one that fails (1-based) */
__thread volatile int injected; /* a failure was injected */

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

/* ------------------------------------------------------------ issues */

/* Problems found by a sweep, kept so that it can go on and report every
 * failing allocation at once.  Only the sweeping thread writes them (an
 * iteration's thread is joined before the next starts). */
static char issue_text[16384];
static size_t issue_len;
static int nissues;
static const char *cur_sweep = "";
static long cur_n;

void issue(const char *fmt, ...)
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

/* ------------------------------------------------------------ helpers */

/* Heap bytes in use by glibc's allocator. */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks;
}

int collect_line(const whelk_line *l, void *ud)
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

int same_bytes(const char *got, size_t len, const char *want)
{
    return got && len == strlen(want) && memcmp(got, want, len) == 0 &&
           got[len] == '\0';
}

/* The error must be WHELK_E_NOMEM with ENOMEM and a message. */
enum outcome expect_nomem(const whelk_error *err)
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
tally sweep(const char *name, scenario_fn fn)
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

enum build build_mode;
char helper_dir[4096];
const char *helper_name;

void set_build(enum build b)
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
whelk_cmd *mk_cmd(const char *first, ...)
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
whelk_pipeline *mk_pipe(whelk_cmd *a, whelk_cmd *b, int two)
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

static Suite *faults_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *tc;

    tc = add_tcase(s, "nomem", TEST_TIMEOUT * 5, NULL, NULL);
    faults_injector(tc);
    faults_run(tc);
    faults_async(tc);
    faults_setup(tc);
    faults_null(tc);

    return s;
}

int main(void)
{
    return run_suite(faults_suite());
}
