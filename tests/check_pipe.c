/*
 * check_pipe.c -- pipelines and redirections, with the status of every
 * stage (issue 3).
 *
 * Everything is tested through the public API (whelk.h) against the helper
 * child tests/whelk-helper (action language at the top of whelk-helper.c).
 * Only the quoting round-trips run `sh -c` (and `env`, which the rendered
 * text of an env change names), because their point is that a POSIX shell
 * reads whelk_pipeline_tostring() as libwhelk runs the pipeline.
 *
 * No test sleeps to synchronise: ordering comes from pipes (a stage that
 * reads its stdin to EOF cannot go on before its writer has exited), from
 * callbacks that run in the host while the run is in progress, and from
 * the blocking calls of the library itself.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "common.h"

#define MiB (1024 * 1024)

/* ------------------------------------------------------------ helpers */

/* A helper command: H("out:x", "exit:3"). */
#define H(...) helper_cmd(__VA_ARGS__, (const char *)NULL)

/* Run p and free it; it must succeed. */
static whelk_result *run_ok_free(whelk_pipeline *p)
{
    whelk_result *r = run_ok(p);

    whelk_pipeline_free(p);
    return r;
}

/* Asserts the exit code and signal of one stage of r. */
#define ASSERT_STATUS(r, stage, code, sig)                                   \
    do {                                                                     \
        const whelk_result *r_ = (r);                                        \
        size_t st_ = (stage);                                                \
        ck_assert_ptr_nonnull(r_);                                           \
        ck_assert_msg(whelk_result_exit_code(r_, st_) == (code) &&          \
                          whelk_result_signal(r_, st_) == (sig),             \
                      "stage %zu: exit code %d signal %d, expected %d %d",   \
                      st_, whelk_result_exit_code(r_, st_),                  \
                      whelk_result_signal(r_, st_), (int)(code), (int)(sig)); \
    } while (0)

/* The descriptor count is what it was, with the list for the message. */
#define ASSERT_FDS(before)                                                   \
    do {                                                                     \
        int now_ = count_open_fds();                                         \
        char *l_ = now_ != (before) ? fd_list() : NULL;                      \
        ck_assert_msg(now_ == (before), "%d fds open, expected %d: %s",      \
                      now_, (before), l_ ? l_ : "");                         \
        free(l_);                                                            \
    } while (0)

/* The temporary directory of the running test, removed by teardown. */
static char *tmpdir;

static void tmp_setup(void)
{
    tmpdir = make_tmpdir();
    ck_assert_ptr_nonnull(tmpdir);
}

static void tmp_teardown(void)
{
    rm_rf(tmpdir);
    free(tmpdir);
    tmpdir = NULL;
}

/* A path in the test's tmpdir (malloc'd). */
static char *tmp_path(const char *name)
{
    char *p = path_join(tmpdir, name);

    ck_assert_ptr_nonnull(p);
    return p;
}

/* The contents of a file, which must exist (malloc'd). */
static char *file_text(const char *path, size_t *len)
{
    char *s = slurp(path, len);

    ck_assert_msg(s != NULL, "cannot read %s: %s", path, strerror(errno));
    return s;
}

#define ASSERT_FILE(path, want)                                              \
    do {                                                                     \
        size_t fl_;                                                          \
        char *f_ = file_text((path), &fl_);                                  \
        ck_assert_msg(fl_ == strlen(want) && memcmp(f_, want, fl_) == 0,     \
                      "%s holds \"%s\", expected \"%s\"", (path), f_,        \
                      (const char *)(want));                                 \
        free(f_);                                                            \
    } while (0)

/* A word quoted for sh when it needs it (malloc'd): for the expected
 * command of helper stages, whose path depends on the build directory. */
static char *shq(const char *w)
{
    size_t i, n = strlen(w);
    int plain = n > 0;
    char *out, *o;

    for (i = 0; i < n && plain; i++)
        plain = (w[i] >= 'a' && w[i] <= 'z') || (w[i] >= 'A' && w[i] <= 'Z') ||
                (w[i] >= '0' && w[i] <= '9') || strchr("_@%+=:,./-", w[i]);
    if (plain) {
        out = strdup(w);
        ck_assert_ptr_nonnull(out);
        return out;
    }
    out = o = malloc(4 * n + 3);
    ck_assert_ptr_nonnull(out);
    *o++ = '\'';
    for (i = 0; i < n; i++) {
        if (w[i] == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = w[i];
        }
    }
    *o++ = '\'';
    *o = '\0';
    return out;
}

/* A pipeline of n stages of the helper's `cat`. */
static whelk_pipeline *cats(size_t n)
{
    whelk_pipeline *p = whelk_pipeline_new();
    size_t i;

    ck_assert_ptr_nonnull(p);
    for (i = 0; i < n; i++)
        whelk_pipeline_add(p, H("cat"));
    ck_assert_uint_eq(whelk_pipeline_ncmds(p), n);
    return p;
}

/* "touch:PATH" for the helper (malloc'd). */
static char *touch_action(const char *path)
{
    char *a = xasprintf("touch:%s", path);

    ck_assert_ptr_nonnull(a);
    return a;
}

/* ===================================================== data and sizes */

START_TEST(test_three_stages_lines)
{
    whelk_pipeline *p = whelk_pipe(H("lines:1000"), H("cat"), H("cat"), NULL);
    whelk_result *r = run_ok_free(p);
    size_t wlen, len;
    char *want = lines_text(1000, &wlen);
    const char *out = whelk_result_stdout(r, &len);
    size_t i;

    ck_assert_uint_eq(whelk_result_ncmds(r), 3);
    for (i = 0; i < 3; i++)
        ASSERT_STATUS(r, i, 0, 0);
    ASSERT_BYTES(out, len, want, wlen);
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    free(want);
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_three_stages_count)
{
    size_t wlen;
    char *want = lines_text(5000, &wlen);
    char *num = xasprintf("%zu\n", wlen);
    whelk_result *r =
        run_ok_free(whelk_pipe(H("lines:5000"), H("cat"), H("count"), NULL));

    ASSERT_STDOUT(r, num);
    whelk_result_free(r);
    free(want);
    free(num);
}
END_TEST

START_TEST(test_three_stages_binary_stdin)
{
    size_t n = 300000, len;
    unsigned char *data = random_bytes(n, 7);
    whelk_pipeline *p = cats(3);
    whelk_result *r;
    const char *out;

    whelk_pipeline_stdin_bytes(p, data, n);
    r = run_ok_free(p);
    out = whelk_result_stdout(r, &len);
    ASSERT_BYTES(out, len, data, n);
    whelk_result_free(r);
    free(data);
}
END_TEST

START_TEST(test_8mib_count)
{
    whelk_result *r = run_ok_free(
        whelk_pipe(H("outn:8388608"), H("cat"), H("count"), NULL));

    ASSERT_STDOUT(r, "8388608\n");
    ASSERT_STATUS(r, 0, 0, 0);
    ASSERT_STATUS(r, 1, 0, 0);
    ASSERT_STATUS(r, 2, 0, 0);
    whelk_result_free(r);
}
END_TEST

START_TEST(test_8mib_byte_exact)
{
    whelk_result *r =
        run_ok_free(whelk_pipe(H("outn:8388608"), H("cat"), H("cat"), NULL));
    size_t len;
    const char *out = whelk_result_stdout(r, &len);

    ck_assert_uint_eq(len, 8 * MiB);
    ck_assert_msg(is_pattern(out, len), "8 MiB arrived altered");
    ck_assert(out[len] == '\0');
    whelk_result_free(r);
}
END_TEST

START_TEST(test_8mib_stdin_through_three)
{
    size_t n = 8 * MiB, len;
    unsigned char *data = random_bytes(n, 42);
    whelk_pipeline *p = cats(3);
    whelk_result *r;
    const char *out;

    whelk_pipeline_stdin_bytes(p, data, n);
    r = run_ok_free(p);
    out = whelk_result_stdout(r, &len);
    ASSERT_BYTES(out, len, data, n);
    whelk_result_free(r);
    free(data);
}
END_TEST

/* n stages of cat carry 1 MiB byte-exact, and leave nothing behind. */
static void many_stages(size_t n)
{
    size_t len, i, size = MiB + 17;
    unsigned char *data = random_bytes(size, (unsigned)n);
    int before = count_open_fds();
    whelk_pipeline *p = cats(n);
    whelk_result *r;
    const char *out;

    whelk_pipeline_stdin_bytes(p, data, size);
    r = run_ok_free(p);
    ck_assert_uint_eq(whelk_result_ncmds(r), n);
    for (i = 0; i < n; i++)
        ASSERT_STATUS(r, i, 0, 0);
    out = whelk_result_stdout(r, &len);
    ASSERT_BYTES(out, len, data, size);
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    free(data);
    ASSERT_FDS(before);
    ASSERT_NO_CHILDREN();
}

START_TEST(test_40_stages)
{
    many_stages(40);
}
END_TEST

START_TEST(test_60_stages)
{
    many_stages(60);
}
END_TEST

/* Bytes the host was given, per stage and stream, by the chunk callback. */
typedef struct seen {
    size_t out[3], err[3];
} seen;

static int count_chunk(const whelk_chunk *c, void *ud)
{
    seen *s = ud;

    ck_assert_uint_lt(c->stage, 3);
    if (c->stream == WHELK_STDOUT)
        s->out[c->stage] += c->len;
    else
        s->err[c->stage] += c->len;
    return 0;
}

START_TEST(test_data_bypasses_host)
{
    seen s;
    whelk_pipeline *p =
        whelk_pipe(H("outn:8388608"), H("cat"), H("count"), NULL);
    whelk_result *r;
    size_t len;

    /* captured: the host reads only what the last stage prints */
    memset(&s, 0, sizeof s);
    whelk_pipeline_on_chunk(p, WHELK_STDOUT | WHELK_STDERR, count_chunk, &s);
    r = run_ok(p);
    ASSERT_STDOUT(r, "8388608\n");
    ck_assert_uint_eq(s.out[0], 0);
    ck_assert_uint_eq(s.out[1], 0);
    ck_assert_uint_eq(s.out[2], 8);
    ck_assert_uint_eq(s.err[0] + s.err[1] + s.err[2], 0);
    whelk_result_free(r);

    /* to /dev/null: the host reads no stdout at all */
    memset(&s, 0, sizeof s);
    whelk_pipeline_stdout(p, WHELK_NULL);
    r = run_ok(p);
    ck_assert_str_eq(whelk_result_stdout(r, &len), "");
    ck_assert_uint_eq(len, 0);
    ck_assert_uint_eq(s.out[0] + s.out[1] + s.out[2], 0);
    ASSERT_STATUS(r, 0, 0, 0);
    ASSERT_STATUS(r, 1, 0, 0);
    ASSERT_STATUS(r, 2, 0, 0);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

/* ========================================================== statuses */

START_TEST(test_statuses_check_off)
{
    whelk_pipeline *p = whelk_pipe(H("out:x", "exit:3"), H("drain", "exit:5"),
                                   H("drain", "kill:USR1"), NULL);
    whelk_result *r;

    whelk_pipeline_check(p, 0);
    r = run_ok_free(p);
    ck_assert_uint_eq(whelk_result_ncmds(r), 3);
    ASSERT_STATUS(r, 0, 3, 0);
    ASSERT_STATUS(r, 1, 5, 0);
    ASSERT_STATUS(r, 2, -1, SIGUSR1);
    ASSERT_STDOUT(r, "");
    whelk_result_free(r);
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_first_failing_stage_named)
{
    /* stages 0 and 2 both fail on their own: the first is named */
    whelk_pipeline *p = whelk_pipe(H("out:x", "exit:4"), H("cat"),
                                   H("drain", "exit:5"), NULL);
    whelk_error *err = run_fail(p, WHELK_E_EXIT);
    const whelk_result *r = whelk_error_result(err);

    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_int_eq(whelk_error_exit_code(err), 4);
    ck_assert_ptr_nonnull(r);
    ASSERT_STATUS(r, 0, 4, 0);
    ASSERT_STATUS(r, 1, 0, 0);
    ASSERT_STATUS(r, 2, 5, 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_failing_middle_stage)
{
    whelk_pipeline *p = whelk_pipe(H("out:data\\n"),
                                   H("drain", "err:boom", "exit:3"), H("cat"),
                                   NULL);
    whelk_error *err = run_fail(p, WHELK_E_EXIT);
    const whelk_result *r = whelk_error_result(err);
    char *h = shq(HELPER);
    char *cmd = xasprintf("%s drain err:boom exit:3", h);
    const char *msg = whelk_error_message(err);

    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_exit_code(err), 3);
    ck_assert_int_eq(whelk_error_signal(err), 0);
    ck_assert_str_eq(whelk_error_command(err), cmd);
    ck_assert_msg(contains(msg, cmd), "message does not name stage 1: %s",
                  msg);
    ck_assert_msg(contains(msg, "exited with status 3"), "message: %s", msg);
    ck_assert_msg(contains(msg, "boom"), "no stderr tail: %s", msg);
    /* the other stages are not blamed */
    ck_assert_msg(!contains(msg, "out:data"), "message: %s", msg);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(whelk_result_ncmds(r), 3);
    ASSERT_STATUS(r, 0, 0, 0);
    ASSERT_STATUS(r, 1, 3, 0);
    ASSERT_STATUS(r, 2, 0, 0);
    ASSERT_STDERR(r, "boom");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(h);
    free(cmd);
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_signalled_middle_stage)
{
    whelk_pipeline *p =
        whelk_pipe(H("out:data\\n"), H("drain", "kill:TERM"), H("cat"), NULL);
    whelk_error *err = run_fail(p, WHELK_E_SIGNAL);

    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_signal(err), SIGTERM);
    ck_assert_int_eq(whelk_error_exit_code(err), -1);
    ck_assert_msg(contains(whelk_error_message(err), "kill:TERM") &&
                      contains(whelk_error_message(err), "SIGTERM"),
                  "message: %s", whelk_error_message(err));
    ASSERT_STATUS(whelk_error_result(err), 1, -1, SIGTERM);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_ok_codes)
{
    static const int zero_one[] = {0, 1}, only_two[] = {2};
    whelk_cmd *mid = H("drain", "exit:1");
    whelk_pipeline *p = whelk_pipe(H("out:x"), mid, H("cat"), NULL);
    whelk_result *r;
    whelk_error *err;

    /* exit 1 allowed */
    whelk_cmd_ok_codes(mid, zero_one, 2);
    r = run_ok(p);
    ASSERT_STATUS(r, 1, 1, 0);
    ASSERT_STDOUT(r, "");
    whelk_result_free(r);

    /* n == 0 restores the default: exit 1 fails */
    whelk_cmd_ok_codes(mid, NULL, 0);
    err = run_fail(p, WHELK_E_EXIT);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_exit_code(err), 1);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    /* the codes are the ones that count: {2} makes exit 0 a failure */
    mid = H("drain", "exit:0");
    whelk_cmd_ok_codes(mid, only_two, 1);
    p = whelk_pipe(H("out:x"), mid, H("cat"), NULL);
    err = run_fail(p, WHELK_E_EXIT);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_exit_code(err), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    /* allowed codes of the last stage */
    mid = H("drain", "exit:2");
    whelk_cmd_ok_codes(mid, only_two, 1);
    r = run_ok_free(whelk_pipe(H("out:x"), mid, NULL));
    ASSERT_STATUS(r, 1, 2, 0);
    whelk_result_free(r);
}
END_TEST

/* ============================================================ SIGPIPE */

START_TEST(test_sigpipe_upstream)
{
    whelk_result *r =
        run_ok_free(whelk_pipe(H("outn:10000000"), H("readn:1"), NULL));

    ASSERT_STATUS(r, 0, -1, SIGPIPE);
    ASSERT_STATUS(r, 1, 0, 0);
    whelk_result_free(r);
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_sigpipe_upstream_two_stages)
{
    /* readn quits: cat gets SIGPIPE, then so does outn */
    whelk_result *r = run_ok_free(
        whelk_pipe(H("outn:10000000"), H("cat"), H("readn:1"), NULL));

    ASSERT_STATUS(r, 0, -1, SIGPIPE);
    ASSERT_STATUS(r, 1, -1, SIGPIPE);
    ASSERT_STATUS(r, 2, 0, 0);
    whelk_result_free(r);
}
END_TEST

START_TEST(test_sigpipe_last_stage_fails)
{
    int pfd[2];
    whelk_pipeline *p;
    whelk_error *err;
    const whelk_result *r;

    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    close(pfd[0]); /* the last stage's reader is gone */
    p = whelk_pipe(H("outn:100"), H("cat"), NULL);
    whelk_pipeline_stdout_fd(p, pfd[1]);
    err = run_fail(p, WHELK_E_SIGNAL);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_signal(err), SIGPIPE);
    ck_assert_int_eq(whelk_error_exit_code(err), -1);
    ck_assert_msg(contains(whelk_error_message(err), "SIGPIPE"), "message: %s",
                  whelk_error_message(err));
    r = whelk_error_result(err);
    ASSERT_STATUS(r, 0, 0, 0);
    ASSERT_STATUS(r, 1, -1, SIGPIPE);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ck_assert(fd_is_open(pfd[1]));
    close(pfd[1]);
}
END_TEST

START_TEST(test_sigpipe_single_stage_fails)
{
    int pfd[2];
    whelk_pipeline *p = helper_pipe("out:x", (const char *)NULL);
    whelk_error *err;

    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    close(pfd[0]);
    whelk_pipeline_stdout_fd(p, pfd[1]);
    err = run_fail(p, WHELK_E_SIGNAL);
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    ck_assert_int_eq(whelk_error_signal(err), SIGPIPE);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    close(pfd[1]);
}
END_TEST

START_TEST(test_sigpipe_last_blamed_not_upstream)
{
    /* cat (last) dies of SIGPIPE on its own, and takes outn with it:
     * the upstream SIGPIPE is never the cause while another stage failed */
    int pfd[2];
    whelk_pipeline *p = whelk_pipe(H("outn:10000000"), H("cat"), NULL);
    whelk_error *err;
    const whelk_result *r;

    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    close(pfd[0]);
    whelk_pipeline_stdout_fd(p, pfd[1]);
    err = run_fail(p, WHELK_E_SIGNAL);
    r = whelk_error_result(err);
    ASSERT_STATUS(r, 0, -1, SIGPIPE);
    ASSERT_STATUS(r, 1, -1, SIGPIPE);
    ck_assert_msg(whelk_error_stage(err) == 1, "stage %zd named: %s",
                  (ssize_t)whelk_error_stage(err), err_desc(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    close(pfd[1]);
}
END_TEST

START_TEST(test_sigpipe_never_named)
{
    /* printf x | grep -E '(' | cat: the middle stage exits 2 without
     * reading; the first is killed by SIGPIPE; the middle one is named */
    whelk_pipeline *p =
        whelk_pipe(H("outn:10000000"), H("err:bad regex", "exit:2"), H("cat"),
                   NULL);
    whelk_error *err = run_fail(p, WHELK_E_EXIT);
    const whelk_result *r = whelk_error_result(err);

    ck_assert_msg(whelk_error_stage(err) == 1, "%s", err_desc(err));
    ck_assert_int_eq(whelk_error_exit_code(err), 2);
    ck_assert_int_eq(whelk_error_signal(err), 0);
    ck_assert_msg(contains(whelk_error_message(err), "bad regex"), "%s",
                  whelk_error_message(err));
    ASSERT_STATUS(r, 0, -1, SIGPIPE);
    ASSERT_STATUS(r, 1, 2, 0);
    ASSERT_STATUS(r, 2, 0, 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_sigpipe_never_named_downstream_failure)
{
    /* the failure is two stages down: outn's SIGPIPE is still not named */
    whelk_pipeline *p = whelk_pipe(H("outn:10000000"), H("readn:1"),
                                   H("exit:7"), NULL);
    whelk_error *err = run_fail(p, WHELK_E_EXIT);
    const whelk_result *r = whelk_error_result(err);

    ck_assert_msg(whelk_error_stage(err) == 2, "%s", err_desc(err));
    ck_assert_int_eq(whelk_error_exit_code(err), 7);
    ASSERT_STATUS(r, 0, -1, SIGPIPE);
    ASSERT_STATUS(r, 1, 0, 0);
    ASSERT_STATUS(r, 2, 7, 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
}
END_TEST

/* ==================================================== cannot start */

START_TEST(test_missing_middle_program)
{
    char *mark = tmp_path("mark");
    char *touch = touch_action(mark);
    int before = count_open_fds();
    whelk_pipeline *p =
        whelk_pipe(H(touch, "cat"),
                   whelk_cmd_new("whelk-test-no-such-program", "x", NULL),
                   H("cat"), NULL);
    whelk_error *err = run_fail(p, WHELK_E_NOTFOUND);

    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_errno(err), ENOENT);
    ck_assert_msg(contains(whelk_error_message(err),
                           "whelk-test-no-such-program"),
                  "message: %s", whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ck_assert_msg(!path_exists(mark), "stage 0 was spawned");
    ASSERT_NO_CHILDREN();
    ASSERT_FDS(before);
    free(mark);
    free(touch);
}
END_TEST

START_TEST(test_exec_error_middle_stops_started)
{
    /* found and executable, but not a program: the exec fails after
     * stage 0 has started, blocked on a pipe the test keeps open; it must
     * be stopped and reaped, and nothing may leak */
    static const char junk[] = "\x7f"
                               "ELF\x02\x01junk that is no program";
    char *bad = tmp_path("not-a-program");
    int pfd[2], before;
    whelk_pipeline *p;
    whelk_error *err;

    ck_assert_int_eq(write_file(bad, junk, sizeof junk - 1, 0755), 0);
    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    before = count_open_fds();
    p = whelk_pipe(H("cat"), whelk_cmd_new(bad, NULL), H("cat"), NULL);
    whelk_pipeline_stdin_fd(p, pfd[0]);
    /* a library that missed the failure would wait for stage 0 forever:
     * let it fail with a timeout instead of hanging the suite */
    whelk_pipeline_timeout(p, 30000);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_errno(err), ENOEXEC);
    ck_assert_msg(contains(whelk_error_message(err), bad), "message: %s",
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
    ASSERT_FDS(before);
    ck_assert(fd_is_open(pfd[0]) && fd_is_open(pfd[1]));
    close(pfd[0]);
    close(pfd[1]);
    free(bad);
}
END_TEST

START_TEST(test_bad_cwd_middle)
{
    char *mark = tmp_path("mark");
    char *touch = touch_action(mark);
    char *dir = tmp_path("no-such-dir");
    int before = count_open_fds();
    whelk_cmd *mid = H("cat");
    whelk_pipeline *p = whelk_pipe(H(touch), mid, H("cat"), NULL);
    whelk_error *err;

    whelk_cmd_chdir(mid, dir);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_errno(err), ENOENT);
    ck_assert_msg(contains(whelk_error_message(err), dir), "message: %s",
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ck_assert_msg(!path_exists(mark), "stage 0 was spawned");
    ASSERT_NO_CHILDREN();
    ASSERT_FDS(before);
    free(mark);
    free(touch);
    free(dir);
}
END_TEST

/* Unopenable redirection files: WHELK_E_IO naming the path, nothing
 * spawned, nothing leaked. */
static void unopenable(int which)
{
    char *mark = tmp_path("mark");
    char *touch = touch_action(mark);
    char *bad = tmp_path(which == 2 ? "" : "no/such/dir/file");
    int before = count_open_fds();
    whelk_cmd *mid = H("cat");
    whelk_pipeline *p = whelk_pipe(H(touch), mid, H("cat"), NULL);
    whelk_error *err;

    if (which == 0)
        whelk_pipeline_stdin_file(p, bad);
    else if (which == 1)
        whelk_pipeline_stdout_file(p, bad, 0);
    else
        whelk_cmd_stderr_file(mid, bad, 1); /* a directory */
    err = run_fail(p, WHELK_E_IO);
    ck_assert_int_eq(whelk_error_errno(err), which == 2 ? EISDIR : ENOENT);
    ck_assert_msg(contains(whelk_error_message(err), bad),
                  "message does not name %s: %s", bad,
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ck_assert_msg(!path_exists(mark), "a stage was spawned");
    ASSERT_NO_CHILDREN();
    ASSERT_FDS(before);
    free(mark);
    free(touch);
    free(bad);
}

START_TEST(test_unopenable_stdout_file)
{
    unopenable(1);
}
END_TEST

START_TEST(test_unopenable_stdin_file)
{
    unopenable(0);
}
END_TEST

START_TEST(test_unopenable_stderr_file)
{
    unopenable(2);
}
END_TEST

/* ============================================================ stderr */

START_TEST(test_middle_2to1_goes_down_the_pipe)
{
    whelk_cmd *mid = H("cat", "err:E\\n", "out:b\\n");
    whelk_result *r;

    whelk_cmd_stderr(mid, WHELK_TO_STDOUT);
    r = run_ok_free(whelk_pipe(H("out:a\\n"), mid, H("cat"), NULL));
    ASSERT_STDOUT(r, "a\nE\nb\n");
    ASSERT_STDERR(r, "");
    whelk_result_free(r);

    /* the next stage really reads it: count sees 6 bytes */
    mid = H("cat", "err:E\\n", "out:b\\n");
    whelk_cmd_stderr(mid, WHELK_TO_STDOUT);
    r = run_ok_free(whelk_pipe(H("out:a\\n"), mid, H("count"), NULL));
    ASSERT_STDOUT(r, "6\n");
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
}
END_TEST

START_TEST(test_middle_megabyte_stderr)
{
    whelk_result *r = run_ok_free(
        whelk_pipe(H("outn:4194304"), H("errn:1048576", "cat", "errn:1048576"),
                   H("count"), NULL));
    size_t len;
    const char *err = whelk_result_stderr(r, &len);

    ASSERT_STDOUT(r, "4194304\n");
    ck_assert_uint_eq(len, 2 * MiB);
    ck_assert_msg(is_pattern(err, len), "stderr altered");
    ASSERT_STATUS(r, 0, 0, 0);
    ASSERT_STATUS(r, 1, 0, 0);
    ASSERT_STATUS(r, 2, 0, 0);
    whelk_result_free(r);
}
END_TEST

START_TEST(test_stderr_order_of_stages)
{
    /* each stage writes after its upstream has exited */
    whelk_result *r = run_ok_free(whelk_pipe(
        H("err:first\\n"), H("cat", "err:second\\n"),
        H("drain", "err:third\\n"), NULL));

    ASSERT_STDERR(r, "first\nsecond\nthird\n");
    whelk_result_free(r);
}
END_TEST

/* Writes one byte to the pipe of stage 0 once stage 1's line arrived. */
typedef struct go_ctx {
    int fd;
    int lines;
} go_ctx;

static int go_on_line(const whelk_line *line, void *ud)
{
    go_ctx *g = ud;

    g->lines++;
    if (line->stage == 1 && line->stream == WHELK_STDERR && g->fd >= 0) {
        ck_assert_str_eq(line->text, "one");
        ck_assert_int_eq(write(g->fd, "g", 1), 1);
        close(g->fd);
        g->fd = -1;
    }
    return 0;
}

START_TEST(test_stderr_arrival_order_not_stage_order)
{
    /* stage 1 writes first; stage 0 writes only after the host has seen
     * stage 1's line and released it: arrival order, not stage order */
    int pfd[2];
    go_ctx g;
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    g.fd = pfd[1];
    g.lines = 0;
    p = whelk_pipe(H("readn:1", "err:zero\\n"), H("err:one\\n", "drain"),
                   NULL);
    whelk_pipeline_stdin_fd(p, pfd[0]);
    whelk_pipeline_on_line(p, WHELK_STDERR, go_on_line, &g);
    whelk_pipeline_timeout(p, 30000); /* fail, not hang, if never released */
    r = run_ok_free(p);
    ASSERT_STDERR(r, "one\nzero\n");
    ck_assert_int_eq(g.lines, 2);
    ck_assert_int_eq(g.fd, -1);
    whelk_result_free(r);
    close(pfd[0]);
}
END_TEST

/* ====================================================== redirections */

START_TEST(test_stdin_bytes)
{
    whelk_pipeline *p = whelk_pipe(H("cat"), H("cat"), NULL);
    whelk_result *r;

    whelk_pipeline_stdin_bytes(p, "in\0put\n", 7);
    r = run_ok(p);
    {
        size_t len;
        const char *s = whelk_result_stdout(r, &len);
        ASSERT_BYTES(s, len, "in\0put\n", 7);
    }
    whelk_result_free(r);
    /* the bytes stay with the pipeline: a second run gets them again */
    r = run_ok(p);
    {
        size_t len;
        const char *s = whelk_result_stdout(r, &len);
        ASSERT_BYTES(s, len, "in\0put\n", 7);
    }
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stdin_file)
{
    char *in = tmp_path("in put");
    size_t wlen;
    char *text = lines_text(2000, &wlen);
    char *num = xasprintf("%zu\n", wlen);
    whelk_pipeline *p = whelk_pipe(H("cat"), H("count"), NULL);
    whelk_result *r;

    ck_assert_int_eq(write_file(in, text, wlen, 0644), 0);
    whelk_pipeline_stdin_file(p, in);
    r = run_ok_free(p);
    ASSERT_STDOUT(r, num);
    whelk_result_free(r);
    free(in);
    free(text);
    free(num);
}
END_TEST

START_TEST(test_stdin_fd)
{
    char *in = tmp_path("in");
    int fd, before;
    whelk_pipeline *p = whelk_pipe(H("cat"), H("cat"), NULL);
    whelk_result *r;

    ck_assert_int_eq(write_file(in, "from a descriptor\n", 18, 0644), 0);
    fd = open(in, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    before = count_open_fds();
    whelk_pipeline_stdin_fd(p, fd);
    r = run_ok_free(p);
    ASSERT_STDOUT(r, "from a descriptor\n");
    whelk_result_free(r);
    ASSERT_FDS(before);
    /* still the caller's: open, and read to the end by the child */
    ck_assert(fd_is_open(fd));
    ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 18);
    ck_assert_int_eq(close(fd), 0);
    free(in);
}
END_TEST

START_TEST(test_stdin_devnull)
{
    whelk_pipeline *p = whelk_pipe(H("cat"), H("count"), NULL);
    whelk_result *r;

    /* the default */
    r = run_ok(p);
    ASSERT_STDOUT(r, "0\n");
    whelk_result_free(r);
    /* explicitly, replacing bytes set before */
    whelk_pipeline_stdin_bytes(p, "abc", 3);
    whelk_pipeline_stdin(p, WHELK_NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "0\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stdout_file_truncate_append)
{
    char *out = tmp_path("out file");
    whelk_pipeline *p;
    whelk_result *r;

    ck_assert_int_eq(write_file(out, "old content, longer\n", 20, 0644), 0);
    p = whelk_pipe(H("out:new\\n"), H("cat"), NULL);
    whelk_pipeline_stdout_file(p, out, 0);
    r = run_ok_free(p);
    ASSERT_STDOUT(r, "");
    whelk_result_free(r);
    ASSERT_FILE(out, "new\n");

    p = whelk_pipe(H("out:A\\n"), H("cat"), NULL);
    whelk_pipeline_stdout_file(p, out, 1);
    r = run_ok(p);
    whelk_result_free(r);
    r = run_ok(p); /* append twice */
    whelk_result_free(r);
    whelk_pipeline_free(p);
    ASSERT_FILE(out, "new\nA\nA\n");

    /* created when missing */
    free(out);
    out = tmp_path("created");
    p = whelk_pipe(H("out:c"), H("cat"), NULL);
    whelk_pipeline_stdout_file(p, out, 1);
    whelk_result_free(run_ok_free(p));
    ASSERT_FILE(out, "c");
    free(out);
}
END_TEST

START_TEST(test_stdout_fd)
{
    char *out = tmp_path("out");
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int before = count_open_fds();
    whelk_pipeline *p = whelk_pipe(H("out:via fd\\n"), H("cat"), NULL);
    whelk_result *r;

    ck_assert_int_ge(fd, 0);
    whelk_pipeline_stdout_fd(p, fd);
    r = run_ok_free(p);
    ASSERT_STDOUT(r, "");
    whelk_result_free(r);
    ASSERT_FDS(before);
    /* the caller still owns it and can go on writing */
    ck_assert_int_eq(write(fd, "Z\n", 2), 2);
    ck_assert_int_eq(close(fd), 0);
    ASSERT_FILE(out, "via fd\nZ\n");
    free(out);
}
END_TEST

START_TEST(test_stdout_devnull)
{
    whelk_pipeline *p = whelk_pipe(H("lines:100"), H("cat"), NULL);
    whelk_result *r;

    whelk_pipeline_stdout(p, WHELK_NULL);
    r = run_ok_free(p);
    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "");
    ASSERT_STATUS(r, 0, 0, 0);
    ASSERT_STATUS(r, 1, 0, 0);
    whelk_result_free(r);
}
END_TEST

START_TEST(test_stdout_to_stderr)
{
    /* 1>&2 in the last stage: its stdout lands in captured stderr, in
     * order with what it writes to stderr itself */
    whelk_pipeline *p = whelk_pipe(H("out:a\\n"),
                                   H("cat", "err:e\\n", "out:z\\n"), NULL);
    whelk_result *r;

    whelk_pipeline_stdout(p, WHELK_TO_STDERR);
    r = run_ok_free(p);
    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "a\ne\nz\n");
    whelk_result_free(r);
}
END_TEST

START_TEST(test_stderr_file_truncate_append)
{
    char *path = tmp_path("err log");
    whelk_cmd *mid = H("drain", "err:one\\n");
    whelk_pipeline *p = whelk_pipe(H("out:x", "err:zero\\n"), mid, H("cat"),
                                   NULL);
    whelk_result *r;

    ck_assert_int_eq(write_file(path, "stale stale stale\n", 18, 0644), 0);
    whelk_cmd_stderr_file(mid, path, 0);
    r = run_ok(p);
    ASSERT_STDERR(r, "zero\n"); /* stage 1's went to the file */
    whelk_result_free(r);
    ASSERT_FILE(path, "one\n");
    whelk_cmd_stderr_file(mid, path, 1);
    whelk_result_free(run_ok(p));
    whelk_result_free(run_ok(p));
    ASSERT_FILE(path, "one\none\none\n");
    whelk_pipeline_free(p);
    free(path);
}
END_TEST

START_TEST(test_stderr_fd)
{
    char *path = tmp_path("err");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int before = count_open_fds();
    whelk_cmd *mid = H("drain", "err:to fd\\n");
    whelk_result *r;

    ck_assert_int_ge(fd, 0);
    whelk_cmd_stderr_fd(mid, fd);
    r = run_ok_free(whelk_pipe(H("out:x"), mid, H("cat"), NULL));
    ASSERT_STDERR(r, "");
    ASSERT_STDOUT(r, "");
    whelk_result_free(r);
    ASSERT_FDS(before);
    ck_assert_int_eq(write(fd, "Z\n", 2), 2);
    ck_assert_int_eq(close(fd), 0);
    ASSERT_FILE(path, "to fd\nZ\n");
    free(path);
}
END_TEST

START_TEST(test_stderr_devnull)
{
    whelk_cmd *first = H("err:zero\\n", "out:x");
    whelk_result *r;

    whelk_cmd_stderr(first, WHELK_NULL);
    r = run_ok_free(whelk_pipe(first, H("cat", "err:one\\n"), NULL));
    ASSERT_STDERR(r, "one\n");
    ASSERT_STDOUT(r, "x");
    whelk_result_free(r);
}
END_TEST

START_TEST(test_stderr_to_stdout_last)
{
    whelk_cmd *last = H("cat", "err:E\\n", "out:z");
    whelk_result *r;

    whelk_cmd_stderr(last, WHELK_TO_STDOUT);
    r = run_ok_free(whelk_pipe(H("out:x\\n", "err:s0\\n"), last, NULL));
    ASSERT_STDOUT(r, "x\nE\nz");
    ASSERT_STDERR(r, "s0\n");
    whelk_result_free(r);
}
END_TEST

START_TEST(test_caller_fds_stay_open)
{
    char *inp = tmp_path("in"), *outp = tmp_path("out"), *errp = tmp_path("err");
    int in, out, errfd, before, i;
    whelk_cmd *mid;
    whelk_pipeline *p;

    ck_assert_int_eq(write_file(inp, "data\n", 5, 0644), 0);
    in = open(inp, O_RDONLY | O_CLOEXEC);
    out = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    errfd = open(errp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert(in >= 0 && out >= 0 && errfd >= 0);
    before = count_open_fds();
    mid = H("cat", "err:e\\n");
    whelk_cmd_stderr_fd(mid, errfd);
    p = whelk_pipe(H("cat"), mid, H("cat"), NULL);
    whelk_pipeline_stdin_fd(p, in);
    whelk_pipeline_stdout_fd(p, out);
    for (i = 0; i < 2; i++) {
        whelk_result *r = run_ok(p);

        ASSERT_STDOUT(r, "");
        whelk_result_free(r);
        ASSERT_FDS(before);
        ck_assert(fd_is_open(in) && fd_is_open(out) && fd_is_open(errfd));
        ck_assert_int_eq(lseek(in, 0, SEEK_SET), 0);
    }
    whelk_pipeline_free(p);
    ck_assert_int_eq(write(out, "!", 1), 1);
    ck_assert_int_eq(write(errfd, "!", 1), 1);
    ck_assert_int_eq(close(in), 0);
    ck_assert_int_eq(close(out), 0);
    ck_assert_int_eq(close(errfd), 0);
    ASSERT_FILE(outp, "data\ndata\n!");
    ASSERT_FILE(errp, "e\ne\n!");
    free(inp);
    free(outp);
    free(errp);
}
END_TEST

/* ========================================================= tostring */

#define ASSERT_TOSTRING(p, want)                                             \
    do {                                                                     \
        char *t_ = whelk_pipeline_tostring(p);                               \
        ck_assert_ptr_nonnull(t_);                                           \
        ck_assert_msg(strcmp(t_, want) == 0, "tostring\n  got  [%s]\n  want [%s]", \
                      t_, (const char *)(want));                             \
        free(t_);                                                            \
    } while (0)

START_TEST(test_tostring_issue_example)
{
    whelk_cmd *git = whelk_cmd_new("git", "log", "--oneline", NULL);
    whelk_cmd *head = whelk_cmd_new("head", "-n", "5", NULL);
    whelk_pipeline *p;

    whelk_cmd_chdir(git, "/repo");
    whelk_cmd_chdir(head, "/repo");
    whelk_cmd_setenv(git, "LC_ALL", "C");
    whelk_cmd_stderr(git, WHELK_NULL);
    p = whelk_pipe(git, head, NULL);
    whelk_pipeline_stdout_file(p, "out.txt", 0);
    ASSERT_TOSTRING(p, "cd /repo && LC_ALL=C git log --oneline 2>/dev/null "
                       "| head -n 5 > out.txt");
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_tostring_default_io)
{
    whelk_pipeline *p =
        whelk_pipe(whelk_cmd_new("getent", "group", NULL),
                   whelk_cmd_new("grep", ":1...:", NULL), NULL);

    ASSERT_TOSTRING(p, "getent group | grep :1...:");
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_tostring_input_bytes)
{
    whelk_pipeline *p = whelk_pipe(whelk_cmd_new("tr", "a-z", "A-Z", NULL),
                                   NULL);
    char *t, big[301];

    whelk_pipeline_stdin_bytes(p, "it's here", 9);
    ASSERT_TOSTRING(p, "printf '%s' 'it'\\''s here' | tr a-z A-Z");
    /* longer than 256 bytes: abbreviated, says how long */
    memset(big, 'a', 300);
    big[300] = '\0';
    whelk_pipeline_stdin_bytes(p, big, 300);
    t = whelk_pipeline_tostring(p);
    ck_assert_ptr_nonnull(t);
    ck_assert_msg(strncmp(t, "printf '%s' ", 12) == 0 && contains(t, "300") &&
                      !contains(t, big) &&
                      strcmp(t + strlen(t) - 13, " | tr a-z A-Z") == 0,
                  "tostring: %s", t);
    free(t);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_tostring_files_and_fds)
{
    whelk_cmd *sort = whelk_cmd_new("sort", NULL);
    whelk_cmd *uniq = whelk_cmd_new("uniq", "-c", NULL);
    whelk_pipeline *p;

    whelk_cmd_stderr_file(sort, "err.log", 1);
    whelk_cmd_stderr_file(uniq, "e 2", 0);
    p = whelk_pipe(sort, uniq, NULL);
    whelk_pipeline_stdin_file(p, "in put.txt");
    whelk_pipeline_stdout_file(p, "log file", 1);
    ASSERT_TOSTRING(p, "sort < 'in put.txt' 2>> err.log | uniq -c >> 'log "
                       "file' 2> 'e 2'");
    whelk_pipeline_free(p);

    sort = whelk_cmd_new("cat", NULL);
    uniq = whelk_cmd_new("wc", "-l", NULL);
    whelk_cmd_stderr_fd(sort, 7);
    whelk_cmd_stderr(uniq, WHELK_NULL);
    p = whelk_pipe(sort, uniq, NULL);
    whelk_pipeline_stdin_fd(p, 5);
    whelk_pipeline_stdout_fd(p, 6);
    ASSERT_TOSTRING(p, "cat <&5 2>&7 | wc -l >&6 2>/dev/null");
    whelk_pipeline_stdout(p, WHELK_NULL);
    ASSERT_TOSTRING(p, "cat <&5 2>&7 | wc -l >/dev/null 2>/dev/null");
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_tostring_merges)
{
    whelk_cmd *make = whelk_cmd_new("make", "-k", NULL);
    whelk_cmd *tee = whelk_cmd_new("tee", "build.log", NULL);
    whelk_pipeline *p;

    whelk_cmd_stderr(make, WHELK_TO_STDOUT);
    p = whelk_pipe(make, tee, NULL);
    whelk_pipeline_stdin_file(p, "/dev/null");
    whelk_pipeline_stdout(p, WHELK_TO_STDERR);
    ASSERT_TOSTRING(p, "make -k < /dev/null 2>&1 | tee build.log >&2");
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_tostring_env_and_cwd)
{
    whelk_cmd *a = whelk_cmd_new("ls", "-l", NULL);
    whelk_cmd *b = whelk_cmd_new("wc", "-l", NULL);
    whelk_cmd *c = whelk_cmd_new("env", NULL);
    whelk_pipeline *p;

    whelk_cmd_chdir(a, "/tmp/a b");
    whelk_cmd_setenv(b, "A", "x y");
    whelk_cmd_setenv(b, "B", NULL);
    whelk_cmd_clearenv(c);
    whelk_cmd_setenv(c, "PATH", "/bin");
    p = whelk_pipe(a, b, c, NULL);
    whelk_pipeline_stdin_bytes(p, "", 0);
    ASSERT_TOSTRING(p, "printf '%s' '' | (cd '/tmp/a b' && ls -l) | "
                       "env -u B A='x y' wc -l | env -i PATH=/bin env");
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_tostring_words)
{
    whelk_cmd *c = whelk_cmd_new("if", "", "a b", "it's", "$HOME", "*.c",
                                 "a=b", "~", "#x", "tab\there", "plain-1.0",
                                 NULL);
    whelk_pipeline *p = whelk_pipe(c, whelk_cmd_new("A=b", NULL), NULL);

    whelk_pipeline_stdin_bytes(p, "x", 1);
    ASSERT_TOSTRING(p, "printf '%s' x | 'if' '' 'a b' 'it'\\''s' '$HOME' "
                       "'*.c' a=b '~' '#x' 'tab\there' plain-1.0 | 'A=b'");
    whelk_pipeline_free(p);
}
END_TEST

/* --------------------------------------------------------- round trip */

/* Runs `sh -c text` through libwhelk and returns its result; stdin as
 * given (NULL: /dev/null). */
static whelk_result *run_sh(const char *text)
{
    whelk_pipeline *p = whelk_pipe(whelk_cmd_new("sh", "-c", text, NULL), NULL);

    return run_ok_free(p);
}

/* p and `sh -c <tostring of p>` print the same bytes. */
static void assert_round_trip(whelk_pipeline *p)
{
    char *text = whelk_pipeline_tostring(p);
    whelk_result *a, *b;
    size_t alen, blen;
    const char *as, *bs;

    ck_assert_ptr_nonnull(text);
    a = run_ok(p);
    b = run_sh(text);
    as = whelk_result_stdout(a, &alen);
    bs = whelk_result_stdout(b, &blen);
    ck_assert_msg(alen > 0, "the pipeline printed nothing");
    ck_assert_msg(alen == blen && memcmp(as, bs, alen) == 0,
                  "sh -c %s\n  printed [%s] (%zu bytes)\n  libwhelk [%s] (%zu "
                  "bytes)\n  sh stderr [%s]",
                  text, bs, blen, as, alen, whelk_result_stderr(b, NULL));
    whelk_result_free(a);
    whelk_result_free(b);
    free(text);
}

static const char *const odd_words[] = {
    "a b",         "it's",         "say \"hi\"", "$HOME",   "${x:-y}",
    "$(echo no)",  "`echo no`",    "*",          "[a]?",    "back\\slash",
    "\\",          "line1\nline2", "\xff\xfe",   "",        "~",
    "~root/x",     "#hash",        "a=b",        "-n",      "tab\there",
    "semi;colon",  "a&b|c",        "<in>",       "(x){y}",  "!bang",
    "'",           "''",           "\"",         "caf\xc3\xa9", "%s\n",
    NULL};

START_TEST(test_round_trip_words)
{
    char *dir = tmp_path("d i'r $x");
    whelk_cmd *first = H("cat", "err:hidden\\n");
    whelk_cmd *last = H("cat", "pwd", "env:WHELK_RT", "argv", "exit:0");
    whelk_pipeline *p;
    char input[257];
    size_t i;

    ck_assert_int_eq(mkdir(dir, 0755), 0);
    for (i = 0; odd_words[i]; i++)
        whelk_cmd_arg(last, odd_words[i]);
    whelk_cmd_setenv(last, "WHELK_RT", "v a'l \"$x\" *");
    whelk_cmd_stderr(first, WHELK_NULL);
    whelk_cmd_chdir(first, dir);
    whelk_cmd_chdir(last, dir);
    p = whelk_pipe(first, last, NULL);
    /* exactly 256 bytes of input still round-trip */
    for (i = 0; i < 256; i++)
        input[i] = "ab'\"$ \\\n*"[i % 9];
    input[256] = '\0';
    whelk_pipeline_stdin_bytes(p, input, 256);
    assert_round_trip(p);
    whelk_pipeline_free(p);
    free(dir);
}
END_TEST

START_TEST(test_round_trip_cwd_of_one_stage)
{
    char *dir = tmp_path("only 'one' stage");
    whelk_cmd *first = H("pwd", "env:WHELK_RT", "argv");
    whelk_pipeline *p;

    ck_assert_int_eq(mkdir(dir, 0755), 0);
    whelk_cmd_chdir(first, dir);
    whelk_cmd_setenv(first, "WHELK_RT", "in (a) sub shell");
    p = whelk_pipe(first, H("cat", "pwd"), NULL);
    assert_round_trip(p);
    whelk_pipeline_free(p);
    free(dir);
}
END_TEST

START_TEST(test_round_trip_redirections)
{
    char *out = tmp_path("o u t"), *err = tmp_path("e'rr");
    whelk_cmd *first = H("out:one\\n", "err:two\\n");
    whelk_cmd *last = H("cat", "err:three\\n");
    whelk_pipeline *p;
    whelk_result *r;
    char *a_out, *a_err;

    whelk_cmd_stderr(first, WHELK_TO_STDOUT);
    whelk_cmd_stderr_file(last, err, 1);
    p = whelk_pipe(first, last, NULL);
    whelk_pipeline_stdout_file(p, out, 0);
    r = run_ok(p);
    whelk_result_free(r);
    a_out = file_text(out, NULL);
    a_err = file_text(err, NULL);
    ck_assert_str_eq(a_out, "one\ntwo\n");
    ck_assert_str_eq(a_err, "three\n");
    unlink(out);
    unlink(err);
    {
        char *text = whelk_pipeline_tostring(p);
        ck_assert_ptr_nonnull(text);
        whelk_result_free(run_sh(text));
        free(text);
    }
    ASSERT_FILE(out, a_out);
    ASSERT_FILE(err, a_err);
    whelk_pipeline_free(p);
    free(a_out);
    free(a_err);
    free(out);
    free(err);
}
END_TEST

START_TEST(test_round_trip_env_unset_and_clear)
{
    whelk_cmd *c;
    whelk_pipeline *p;

    ck_assert_int_eq(setenv("WHELK_RT_FOO", "from host", 1), 0);
    ck_assert_int_eq(setenv("WHELK_RT_BAR", "from host", 1), 0);

    /* unset one, set another */
    c = H("env:WHELK_RT_FOO", "env:WHELK_RT_BAR", "env:PATH");
    whelk_cmd_setenv(c, "WHELK_RT_FOO", NULL);
    whelk_cmd_setenv(c, "WHELK_RT_BAR", "b a'r");
    p = whelk_pipe(c, NULL);
    {
        whelk_result *r = run_ok(p);
        char *want = xasprintf("(unset)\nb a'r\n%s\n", getenv("PATH"));
        ASSERT_STDOUT(r, want);
        free(want);
        whelk_result_free(r);
    }
    assert_round_trip(p);
    whelk_pipeline_free(p);

    /* clear everything, set one */
    c = H("env:WHELK_RT_FOO", "env:WHELK_RT_BAR", "env:PATH");
    whelk_cmd_clearenv(c);
    whelk_cmd_setenv(c, "WHELK_RT_BAR", "x=$y");
    p = whelk_pipe(H("out:in\\n"), c, NULL);
    {
        whelk_result *r = run_ok(p);
        ASSERT_STDOUT(r, "(unset)\nx=$y\n(unset)\n");
        whelk_result_free(r);
    }
    assert_round_trip(p);
    whelk_pipeline_free(p);

    /* clear, then unset: nothing to unset but nothing set either */
    c = H("env:WHELK_RT_FOO", "env:PATH");
    whelk_cmd_clearenv(c);
    whelk_cmd_setenv(c, "WHELK_RT_FOO", NULL);
    p = whelk_pipe(c, NULL);
    {
        whelk_result *r = run_ok(p);
        ASSERT_STDOUT(r, "(unset)\n(unset)\n");
        whelk_result_free(r);
    }
    assert_round_trip(p);
    whelk_pipeline_free(p);
}
END_TEST

/* ============================================================= suite */

static TCase *tcase(Suite *s, const char *name, int tmp)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, TEST_TIMEOUT);
    if (tmp)
        tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    suite_add_tcase(s, tc);
    return tc;
}

static Suite *pipe_suite(void)
{
    Suite *s = suite_create("pipe");
    TCase *tc;

    tc = tcase(s, "data", 0);
    tcase_add_test(tc, test_three_stages_lines);
    tcase_add_test(tc, test_three_stages_count);
    tcase_add_test(tc, test_three_stages_binary_stdin);
    tcase_add_test(tc, test_8mib_count);
    tcase_add_test(tc, test_8mib_byte_exact);
    tcase_add_test(tc, test_8mib_stdin_through_three);
    tcase_add_test(tc, test_40_stages);
    tcase_add_test(tc, test_60_stages);
    tcase_add_test(tc, test_data_bypasses_host);

    tc = tcase(s, "statuses", 0);
    tcase_add_test(tc, test_statuses_check_off);
    tcase_add_test(tc, test_first_failing_stage_named);
    tcase_add_test(tc, test_failing_middle_stage);
    tcase_add_test(tc, test_signalled_middle_stage);
    tcase_add_test(tc, test_ok_codes);

    tc = tcase(s, "sigpipe", 0);
    tcase_add_test(tc, test_sigpipe_upstream);
    tcase_add_test(tc, test_sigpipe_upstream_two_stages);
    tcase_add_test(tc, test_sigpipe_last_stage_fails);
    tcase_add_test(tc, test_sigpipe_single_stage_fails);
    tcase_add_test(tc, test_sigpipe_last_blamed_not_upstream);
    tcase_add_test(tc, test_sigpipe_never_named);
    tcase_add_test(tc, test_sigpipe_never_named_downstream_failure);

    tc = tcase(s, "start", 1);
    tcase_add_test(tc, test_missing_middle_program);
    tcase_add_test(tc, test_exec_error_middle_stops_started);
    tcase_add_test(tc, test_bad_cwd_middle);
    tcase_add_test(tc, test_unopenable_stdout_file);
    tcase_add_test(tc, test_unopenable_stdin_file);
    tcase_add_test(tc, test_unopenable_stderr_file);

    tc = tcase(s, "stderr", 0);
    tcase_add_test(tc, test_middle_2to1_goes_down_the_pipe);
    tcase_add_test(tc, test_middle_megabyte_stderr);
    tcase_add_test(tc, test_stderr_order_of_stages);
    tcase_add_test(tc, test_stderr_arrival_order_not_stage_order);

    tc = tcase(s, "redirect", 1);
    tcase_add_test(tc, test_stdin_bytes);
    tcase_add_test(tc, test_stdin_file);
    tcase_add_test(tc, test_stdin_fd);
    tcase_add_test(tc, test_stdin_devnull);
    tcase_add_test(tc, test_stdout_file_truncate_append);
    tcase_add_test(tc, test_stdout_fd);
    tcase_add_test(tc, test_stdout_devnull);
    tcase_add_test(tc, test_stdout_to_stderr);
    tcase_add_test(tc, test_stderr_file_truncate_append);
    tcase_add_test(tc, test_stderr_fd);
    tcase_add_test(tc, test_stderr_devnull);
    tcase_add_test(tc, test_stderr_to_stdout_last);
    tcase_add_test(tc, test_caller_fds_stay_open);

    tc = tcase(s, "tostring", 1);
    tcase_add_test(tc, test_tostring_issue_example);
    tcase_add_test(tc, test_tostring_default_io);
    tcase_add_test(tc, test_tostring_input_bytes);
    tcase_add_test(tc, test_tostring_files_and_fds);
    tcase_add_test(tc, test_tostring_merges);
    tcase_add_test(tc, test_tostring_env_and_cwd);
    tcase_add_test(tc, test_tostring_words);
    tcase_add_test(tc, test_round_trip_words);
    tcase_add_test(tc, test_round_trip_cwd_of_one_stage);
    tcase_add_test(tc, test_round_trip_redirections);
    tcase_add_test(tc, test_round_trip_env_unset_and_clear);

    return s;
}

int main(void)
{
    return run_suite(pipe_suite());
}
