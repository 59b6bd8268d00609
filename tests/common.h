/*
 * common.h -- fixtures shared by the libwhelk Check suites: the helper
 * child's path, descriptor and child-process accounting, temporary
 * directories, files, the helper's output patterns, and small wrappers
 * that build helper commands.
 *
 * Every function here is plain and synchronous; none sleeps.  Functions
 * that allocate return memory the caller frees with free().
 */
#ifndef WHELK_TESTS_COMMON_H
#define WHELK_TESTS_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>

#include <whelk.h>

#ifndef HELPER_PATH
#error "the build must pass -DHELPER_PATH=\"/abs/path/to/tests/whelk-helper\""
#endif
#ifndef TEST_TMPDIR
#define TEST_TMPDIR "/tmp"
#endif

/* The scriptable child (tests/whelk-helper.c). */
#define HELPER HELPER_PATH

/* Generous per-test-case timeout, seconds (valgrind and ASan runs too). */
#define TEST_TIMEOUT 60

/* --------------------------------------------------------- assertions */
/* For suites that include <check.h>: one definition each, used by every
 * suite (they were copied into four). */

/* The len bytes at got are exactly the want_len bytes of want, followed by
 * a NUL. */
#define ASSERT_BYTES(got, got_len, want, want_len)                             \
    do {                                                                       \
        size_t gl_ = (got_len), wl_ = (want_len);                              \
        const char *g_ = (got);                                                \
        ck_assert_ptr_nonnull(g_);                                             \
        ck_assert_msg(gl_ == wl_, "length %zu, expected %zu", gl_, wl_);       \
        ck_assert_msg(memcmp(g_, (want), wl_) == 0, "bytes differ");           \
        ck_assert_msg(g_[gl_] == '\0', "not NUL-terminated");                  \
    } while (0)

/* The result's stdout (stderr) is exactly the string want, NUL-terminated. */
#define ASSERT_RESULT_STREAM_(fn, r, want)                                     \
    do {                                                                       \
        size_t l_;                                                             \
        const char *s_ = fn((r), &l_);                                         \
        const char *w_ = (want);                                               \
        ck_assert_ptr_nonnull(s_);                                             \
        ck_assert_msg(l_ == strlen(w_) && memcmp(s_, w_, l_) == 0,             \
                      #fn " \"%.500s\" (%zu bytes), expected \"%.500s\"", s_,  \
                      l_, w_);                                                 \
        ck_assert(s_[l_] == '\0');                                             \
    } while (0)
#define ASSERT_STDOUT(r, want) ASSERT_RESULT_STREAM_(whelk_result_stdout, r, want)
#define ASSERT_STDERR(r, want) ASSERT_RESULT_STREAM_(whelk_result_stderr, r, want)

/* The descriptor count is what it was (count_open_fds() before), with the
 * list for the message. */
#define ASSERT_FDS(before)                                                     \
    do {                                                                       \
        int now_ = count_open_fds();                                           \
        char *l_ = now_ != (before) ? fd_list() : NULL;                        \
        ck_assert_msg(now_ == (before), "%d fds open, expected %d: %s", now_,  \
                      (before), l_ ? l_ : "");                                 \
        free(l_);                                                              \
    } while (0)

/* No child of this process is left, running or zombie. */
#define ASSERT_NO_CHILDREN()                                                   \
    ck_assert_msg(count_children() == 0, "%d children left (%d zombies)",      \
                  count_children(), count_zombie_children())

/* ---------------------------------------------------------------- fds */

/* Number of open descriptors of this process (from /proc/self/fd). */
int count_open_fds(void);

/* 1 if fd is open in this process, else 0. */
int fd_is_open(int fd);

/* This process's open descriptors, ascending, as "0 1 2 5" (malloc'd):
 * for assertion messages. */
char *fd_list(void);

/* ---------------------------------------------------------- processes */

/* Children of this process (ppid == getpid()) in state 'Z'. */
int count_zombie_children(void);

/* Children of this process in any state. */
int count_children(void);

/* Same as count_zombie_children() == 0; kept for readability. */
int no_zombies(void);

/* --------------------------------------------------------------- files */

/* A new empty directory under TEST_TMPDIR (or /tmp); malloc'd path. */
char *make_tmpdir(void);

/* A new empty directory inside parent (NULL: as make_tmpdir); malloc'd. */
char *make_tmpdir_in(const char *parent);

/* Remove path and everything under it (no error if it does not exist). */
void rm_rf(const char *path);

/* The running test's temporary directory, a checked fixture of the suites
 * that want one (tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown)):
 * tmp_setup makes tmpdir inside tmp_parent when a suite sets it (check_core
 * makes one per test case), else under TEST_TMPDIR; tmp_teardown removes
 * it.  tmp_path names a file in it (malloc'd). */
extern char *tmpdir, *tmp_parent;
void tmp_setup(void);
void tmp_teardown(void);
char *tmp_path(const char *name);

/* The whole file (malloc'd, NUL-terminated), its length in *len if len is
 * not NULL; NULL if it cannot be read (errno set). */
char *slurp(const char *path, size_t *len);

/* Create (truncate) path with len bytes of data and the given mode
 * (chmod'ed exactly).  Returns 0, or -1 with errno. */
int write_file(const char *path, const void *data, size_t len, mode_t mode);

/* Opens path for reading -- a FIFO waits there for its writer -- and reads
 * it to its end, adding the number of bytes read to *bytes.  0 at end of
 * file, or -1 with errno (open or read failed). */
int read_to_end(const char *path, size_t *bytes);

/* 1 if path exists (lstat), else 0. */
int path_exists(const char *path);

/* malloc'd "dir/name". */
char *path_join(const char *dir, const char *name);
/* A copy of the helper in DIR (mode 0755), for tests that run it as
 * another user: the build tree may sit where that user cannot go (a
 * checkout under /root, a CI clone under a 0700 mktemp directory).  The
 * copy's path, malloc'd. */
char *helper_copy(const char *dir);

/* malloc'd printf. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------ the helper's output */

/* The helper's outn/errn pattern: byte i of an output of that action is
 * "0123456789abcdef"[i % 16]. */
char pattern_byte(size_t i);

/* 1 if buf[0..len) is the pattern of one outn/errn action, else 0. */
int is_pattern(const char *buf, size_t len);

/* malloc'd buffer of n pattern bytes (NUL-terminated). */
char *pattern_bytes(size_t n);

/* malloc'd "line 1\nline 2\n...line n\n"; its length in *len if not NULL. */
char *lines_text(long n, size_t *len);

/* malloc'd buffer of n pseudo-random bytes (all 256 values, NUL included),
 * deterministic for a given seed. */
unsigned char *random_bytes(size_t n, unsigned seed);

/* --------------------------------------------------------- whelk glue */

/* whelk_cmd_new(HELPER, actions..., NULL). */
whelk_cmd *helper_cmd(const char *first, ...) __attribute__((sentinel));

/* A one-stage pipeline of helper_cmd(actions..., NULL). */
whelk_pipeline *helper_pipe(const char *first, ...) __attribute__((sentinel));

/* A one-line description of an error for assertion messages:
 * "WHELK_E_EXIT (errno 0): <message>", or "no error" for NULL.
 * Thread-local static storage. */
const char *err_desc(const whelk_error *e);

/* 1 if haystack contains needle. */
int contains(const char *haystack, const char *needle);

/* ------------------------------------------------------------ signals */

/* 1 if the two actions are the same (handler, flags, mask). */
int same_sigaction(const struct sigaction *a, const struct sigaction *b);

/* 1 if the two sets hold the same signals. */
int same_sigset(const sigset_t *a, const sigset_t *b);

/* ------------------------------------------------------- runs and suites */

#include <stdint.h>

struct Suite;
struct TCase;

/* A test case named name added to s, with a timeout of timeout seconds
 * and the checked fixture setup/teardown (either may be NULL; both NULL:
 * no fixture). */
struct TCase *add_tcase(struct Suite *s, const char *name, int timeout,
                        void (*setup)(void), void (*teardown)(void));

/* Run p (non-NULL); it must succeed.  The caller frees the result. */
whelk_result *run_ok(whelk_pipeline *p);

/* Run p (non-NULL); it must fail with kind.  The caller frees the error. */
whelk_error *run_fail(whelk_pipeline *p, int kind);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t now_ms(void);

/* main() of a suite: SIGPIPE and SIGCHLD at their defaults, run every
 * test (forked), free the runner; returns the exit status. */
int run_suite(struct Suite *s);

#endif /* WHELK_TESTS_COMMON_H */
