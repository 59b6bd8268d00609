/*
 * common.c -- fixtures shared by the libwhelk Check suites (see common.h).
 */
#define _GNU_SOURCE
#include "common.h"

#include <check.h>
#include <time.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- fds */

/* Calls fn(fd, ctx) for each open descriptor except the directory's own. */
static int for_each_fd(void (*fn)(int, void *), void *ctx)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int self, n = 0;

    if (!d)
        return -1;
    self = dirfd(d);
    while ((e = readdir(d)) != NULL) {
        int fd;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        fd = atoi(e->d_name);
        if (fd == self)
            continue;
        if (fn)
            fn(fd, ctx);
        n++;
    }
    closedir(d);
    return n;
}

int count_open_fds(void)
{
    return for_each_fd(NULL, NULL);
}

int fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

struct fdvec {
    int *v;
    size_t n, cap;
};

static void push_fd(int fd, void *ctx)
{
    struct fdvec *fv = ctx;

    if (fv->n == fv->cap) {
        size_t cap = fv->cap ? fv->cap * 2 : 64;
        int *v = realloc(fv->v, cap * sizeof *v);

        if (!v)
            return;
        fv->v = v;
        fv->cap = cap;
    }
    fv->v[fv->n++] = fd;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

char *fd_list(void)
{
    struct fdvec fv = {NULL, 0, 0};
    char *out;
    size_t i, used = 0, cap;

    for_each_fd(push_fd, &fv);
    qsort(fv.v, fv.n, sizeof(int), cmp_int);
    cap = fv.n * 12 + 1;
    out = malloc(cap);
    if (!out) {
        free(fv.v);
        return NULL;
    }
    out[0] = '\0';
    for (i = 0; i < fv.n; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%d", i ? " " : "",
                                 fv.v[i]);
    free(fv.v);
    return out;
}

/* ---------------------------------------------------------- processes */

/* Counts children of this process, only zombies if zombies_only. */
static int scan_children(int zombies_only)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t self = getpid();
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[1024];
        const char *rp;
        char state;
        long ppid;
        ssize_t len;
        int fd;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue; /* gone meanwhile */
        len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0)
            continue;
        buf[len] = '\0';
        /* pid (comm) state ppid ...; comm may hold spaces and parens */
        rp = strrchr(buf, ')');
        if (!rp || sscanf(rp + 1, " %c %ld", &state, &ppid) != 2)
            continue;
        if ((pid_t)ppid != self)
            continue;
        if (!zombies_only || state == 'Z')
            n++;
    }
    closedir(d);
    return n;
}

int count_zombie_children(void)
{
    return scan_children(1);
}

int count_children(void)
{
    return scan_children(0);
}

int no_zombies(void)
{
    return count_zombie_children() == 0;
}

/* --------------------------------------------------------------- files */

char *make_tmpdir(void)
{
    char *tmpl = xasprintf("%s/whelk-test.XXXXXX", TEST_TMPDIR);

    if (!tmpl)
        return NULL;
    if (!mkdtemp(tmpl)) {
        /* the build directory may be read-only: fall back to /tmp */
        free(tmpl);
        tmpl = xasprintf("/tmp/whelk-test.XXXXXX");
        if (!tmpl || !mkdtemp(tmpl)) {
            free(tmpl);
            return NULL;
        }
    }
    return tmpl;
}

char *make_tmpdir_in(const char *parent)
{
    char *tmpl;

    if (!parent)
        return make_tmpdir();
    tmpl = xasprintf("%s/t.XXXXXX", parent);
    if (tmpl && !mkdtemp(tmpl)) {
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

char *tmpdir, *tmp_parent;

void tmp_setup(void)
{
    tmpdir = make_tmpdir_in(tmp_parent);
    ck_assert_ptr_nonnull(tmpdir);
}

void tmp_teardown(void)
{
    rm_rf(tmpdir);
    free(tmpdir);
    tmpdir = NULL;
}

char *tmp_path(const char *name)
{
    char *p = path_join(tmpdir, name);

    ck_assert_ptr_nonnull(p);
    return p;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void rm_rf(const char *path)
{
    if (path)
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = NULL;
    size_t used = 0, cap = 0;

    if (fd < 0)
        return NULL;
    for (;;) {
        ssize_t n;

        if (cap - used < 4096) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, ncap + 1);

            if (!nb) {
                free(buf);
                close(fd);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        n = read(fd, buf + used, cap - used);
        if (n < 0) {
            int saved = errno;

            if (saved == EINTR)
                continue;
            free(buf);
            close(fd);
            errno = saved;
            return NULL;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    close(fd);
    buf[used] = '\0';
    if (len)
        *len = used;
    return buf;
}

int read_to_end(const char *path, size_t *bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), saved;
    char buf[65536];
    ssize_t n;

    if (fd < 0)
        return -1;
    while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        *bytes += n > 0 ? (size_t)n : 0;
    saved = errno;
    close(fd);
    errno = saved;
    return n == 0 ? 0 : -1;
}

int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    const char *p = data;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0)
        return -1;
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            int saved = errno;

            if (saved == EINTR)
                continue;
            close(fd);
            errno = saved;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fchmod(fd, mode) < 0) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    return close(fd);
}

int path_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

char *path_join(const char *dir, const char *name)
{
    return xasprintf("%s/%s", dir, name);
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

/* ------------------------------------------------ the helper's output */

char pattern_byte(size_t i)
{
    return "0123456789abcdef"[i % 16];
}

int is_pattern(const char *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (buf[i] != pattern_byte(i))
            return 0;
    return 1;
}

char *pattern_bytes(size_t n)
{
    char *buf = malloc(n + 1);
    size_t i;

    if (!buf)
        return NULL;
    for (i = 0; i < n; i++)
        buf[i] = pattern_byte(i);
    buf[n] = '\0';
    return buf;
}

char *lines_text(long n, size_t *len)
{
    size_t cap = (size_t)n * 24 + 1, used = 0;
    char *buf = malloc(cap);
    long i;

    if (!buf)
        return NULL;
    buf[0] = '\0';
    for (i = 1; i <= n; i++)
        used += (size_t)snprintf(buf + used, cap - used, "line %ld\n", i);
    if (len)
        *len = used;
    return buf;
}

unsigned char *random_bytes(size_t n, unsigned seed)
{
    unsigned char *buf = malloc(n ? n : 1);
    unsigned long x = seed * 2654435761ul + 1;
    size_t i;

    if (!buf)
        return NULL;
    for (i = 0; i < n; i++) {
        /* xorshift: cheap, deterministic, every byte value appears */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (unsigned char)(x >> 24);
    }
    return buf;
}

/* --------------------------------------------------------- whelk glue */

static whelk_cmd *helper_cmd_va(const char *first, va_list ap)
{
    whelk_cmd *cmd = whelk_cmd_new(HELPER, (const char *)NULL);
    const char *a;

    if (!cmd)
        return NULL;
    for (a = first; a; a = va_arg(ap, const char *))
        whelk_cmd_arg(cmd, a);
    return cmd;
}

whelk_cmd *helper_cmd(const char *first, ...)
{
    va_list ap;
    whelk_cmd *cmd;

    va_start(ap, first);
    cmd = helper_cmd_va(first, ap);
    va_end(ap);
    return cmd;
}

whelk_pipeline *helper_pipe(const char *first, ...)
{
    va_list ap;
    whelk_cmd *cmd;

    va_start(ap, first);
    cmd = helper_cmd_va(first, ap);
    va_end(ap);
    return whelk_pipe(cmd, (whelk_cmd *)NULL);
}

const char *err_desc(const whelk_error *e)
{
    static __thread char buf[4096];

    if (!e)
        return "no error";
    snprintf(buf, sizeof buf, "%s (errno %d, stage %zd): %s",
             whelk_error_kind_name(whelk_error_kind(e)), whelk_error_errno(e),
             (ssize_t)whelk_error_stage(e), whelk_error_message(e));
    return buf;
}

int contains(const char *haystack, const char *needle)
{
    return haystack && needle && strstr(haystack, needle) != NULL;
}

/* ------------------------------------------------------------ signals */

int same_sigset(const sigset_t *a, const sigset_t *b)
{
    int sig;

    for (sig = 1; sig < NSIG; sig++)
        if (sigismember(a, sig) != sigismember(b, sig))
            return 0;
    return 1;
}

int same_sigaction(const struct sigaction *a, const struct sigaction *b)
{
    if ((a->sa_flags & SA_SIGINFO) != (b->sa_flags & SA_SIGINFO))
        return 0;
    if (a->sa_flags & SA_SIGINFO) {
        if (a->sa_sigaction != b->sa_sigaction)
            return 0;
    } else if (a->sa_handler != b->sa_handler) {
        return 0;
    }
    return a->sa_flags == b->sa_flags && same_sigset(&a->sa_mask, &b->sa_mask);
}

/* ------------------------------------------------------- runs and suites */

whelk_result *run_ok(whelk_pipeline *p)
{
    whelk_error *err = NULL;
    whelk_result *r;

    ck_assert_ptr_nonnull(p);
    r = whelk_run(p, &err);
    ck_assert_msg(r != NULL, "run failed: %s", err_desc(err));
    ck_assert_ptr_null(err);
    return r;
}

whelk_error *run_fail(whelk_pipeline *p, int kind)
{
    whelk_error *err = NULL;
    whelk_result *r;

    ck_assert_ptr_nonnull(p);
    r = whelk_run(p, &err);
    ck_assert_msg(r == NULL, "run succeeded, expected %s (stdout \"%.200s\")",
                  whelk_error_kind_name(kind),
                  r ? whelk_result_stdout(r, NULL) : "");
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(whelk_error_kind(err) == kind, "expected %s, got %s",
                  whelk_error_kind_name(kind), err_desc(err));
    return err;
}

int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TCase *add_tcase(Suite *s, const char *name, int timeout,
                 void (*setup)(void), void (*teardown)(void))
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, timeout);
    if (setup || teardown)
        tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);
    return tc;
}

int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    /* the defaults a program starts with: a library that writes to a
     * closed pipe must not get away with it by inheritance */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}

char *helper_copy(const char *dir)
{
    char *to = path_join(dir, "whelk-helper"), *data;
    size_t len;

    ck_assert_ptr_nonnull(data = slurp(HELPER, &len));
    ck_assert_int_eq(write_file(to, data, len, 0755), 0);
    free(data);
    return to;
}
