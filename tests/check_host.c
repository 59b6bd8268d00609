/*
 * check_host.c -- the host drives the data (issue 12): WHELK_PULL stdout
 * read through the handle (read, read_line, peek), WHELK_FEED stdin written
 * through it (write, close_stdin), the FILE streams and whelk_popen.
 *
 * Everything through the public API against tests/whelk-helper.  No test
 * sleeps to synchronise: where a test needs output to be incomplete, the
 * helper waits for a byte from a pipe of the test (readn:1), written only
 * after the test has seen the first part.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"

/* -------------------------------------------------------------- helpers */

static int fds_before;

static void setup(void)
{
    fds_before = count_open_fds();
}

/* No descriptor left open, no zombie left behind. */
static void assert_clean(void)
{
    char *list = fd_list();
    ck_assert_msg(count_open_fds() == fds_before, "fds left: %s", list);
    free(list);
    ck_assert_int_eq(count_zombie_children(), 0);
}

static whelk_proc *start_ok(whelk_pipeline *p)
{
    whelk_error *err = NULL;
    whelk_proc *pr = whelk_start(p, &err);

    ck_assert_msg(pr != NULL, "start: %s", err_desc(err));
    return pr;
}

static void wait_ok(whelk_proc *pr)
{
    whelk_error *err = NULL;
    whelk_result *r = whelk_proc_wait(pr, &err);

    ck_assert_msg(r != NULL, "wait: %s", err_desc(err));
    whelk_result_free(r);
}

/* A pipeline of helper actions with stdout pulled. */
static whelk_pipeline *pull_pipe(whelk_cmd *first, ...)
{
    whelk_pipeline *p = whelk_pipeline_new();
    whelk_cmd *c = first;
    va_list ap;

    va_start(ap, first);
    while (c) {
        whelk_pipeline_add(p, c);
        c = va_arg(ap, whelk_cmd *);
    }
    va_end(ap);
    whelk_pipeline_stdout(p, WHELK_PULL);
    return p;
}

/* Everything pulled with whelk_proc_read, n bytes at a time. */
static char *read_all(whelk_proc *pr, size_t n, size_t *len)
{
    size_t cap = 1 << 16, got = 0;
    char *buf = malloc(cap);
    ssize_t k;

    for (;;) {
        if (cap - got < n + 1)
            buf = realloc(buf, cap = cap * 2 + n);
        k = whelk_proc_read(pr, buf + got, n, -1);
        ck_assert_msg(k >= 0, "read: %s", strerror(errno));
        if (k == 0)
            break;
        got += (size_t)k;
    }
    buf[got] = '\0';
    *len = got;
    return buf;
}

/* Lines as "text|flags\n" (the rendering both ways of getting lines are
 * compared in). */
typedef struct lines_acc {
    char *s;
    size_t len, cap;
    size_t stage;
} lines_acc;

static void acc_add(lines_acc *a, const whelk_line *l)
{
    char tail[32];
    size_t t = (size_t)snprintf(tail, sizeof tail, "|%u|%zu\n", l->flags,
                                l->stage);
    if (a->len + l->len + t + 1 > a->cap) {
        a->cap = (a->len + l->len + t + 1) * 2;
        a->s = realloc(a->s, a->cap);
    }
    memcpy(a->s + a->len, l->text, l->len);
    memcpy(a->s + a->len + l->len, tail, t);
    a->len += l->len + t;
    a->s[a->len] = '\0';
    ck_assert_int_eq(l->text[l->len], '\0');
}

static int on_line_acc(const whelk_line *l, void *ud)
{
    acc_add(ud, l);
    return 0;
}

/* The same command's stdout lines, through the callback and pulled. */
static void compare_lines(const char *out_action, size_t max_line,
                          const char *encoding)
{
    lines_acc cb = {0}, pulled = {0};
    whelk_pipeline *p;
    whelk_result *r;
    whelk_proc *pr;
    whelk_line line;
    int rc;

    p = whelk_pipe(helper_cmd(out_action, NULL), NULL);
    whelk_pipeline_stdout(p, WHELK_STREAM);
    whelk_pipeline_on_line(p, WHELK_STDOUT, on_line_acc, &cb);
    if (max_line)
        whelk_pipeline_max_line(p, max_line);
    if (encoding)
        whelk_pipeline_decode(p, WHELK_STDOUT, encoding, WHELK_DECODE_REPLACE);
    r = run_ok(p);
    whelk_result_free(r);
    whelk_pipeline_stdout(p, WHELK_PULL);
    pr = start_ok(p);
    while ((rc = whelk_proc_read_line(pr, &line, -1)) == 1)
        acc_add(&pulled, &line);
    ck_assert_int_eq(rc, 0);
    wait_ok(pr);
    ck_assert_msg(cb.len == pulled.len && memcmp(cb.s, pulled.s, cb.len) == 0,
                  "%s max %zu: callback\n%s\npulled\n%s", out_action, max_line,
                  cb.s, pulled.s);
    free(cb.s);
    free(pulled.s);
    whelk_pipeline_free(p);
}

/* --------------------------------------------------------------- pull */

START_TEST(test_pull_read_line_basic)
{
    whelk_pipeline *p = pull_pipe(helper_cmd("lines:1000", NULL), NULL);
    whelk_proc *pr = start_ok(p);
    whelk_line line;
    long i;

    for (i = 1; i <= 1000; i++) {
        char want[32];
        ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 1);
        snprintf(want, sizeof want, "line %ld", i);
        ck_assert_str_eq(line.text, want);
        ck_assert_uint_eq(line.len, strlen(want));
        ck_assert_uint_eq(line.flags, 0);
        ck_assert_uint_eq(line.stage, 0);
        ck_assert_int_eq(line.stream, WHELK_STDOUT);
    }
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 0);
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, 0), 0);
    wait_ok(pr);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* The line rules are the callbacks' rules, whatever the input. */
START_TEST(test_pull_line_rules_match_callbacks)
{
    static const char *const outs[] = {
        "out:a\\r\\nbb\\nccccc",
        "out:\\n\\n\\r\\n\\r",
        "out:abc\\r\\ndef\\r\\r\\nxy",
        "out:ab\\r\\nabc\\r\\nabcd\\r\\nabcde\\r\\n",
        "out:abcdefghijklmnop\\nq",
        "out:\\xc3\\xa9\\xc3\\xa9\\xc3\\xa9\\xc3\\xa9\\n\\xe2\\x82\\xac\\xe2\\x82"
        "\\xac\\xe2\\x82\\xac",
        "lines:3000",
    };
    size_t i, max;

    for (i = 0; i < sizeof outs / sizeof *outs; i++)
        for (max = 1; max <= 6; max++)
            compare_lines(outs[i], max, NULL);
    for (i = 0; i < sizeof outs / sizeof *outs; i++)
        compare_lines(outs[i], 0, NULL);
    compare_lines(outs[5], 4, "UTF-8");
    compare_lines(outs[5], 5, "UTF-8");
    compare_lines("out:caf\\xe9\\r\\n\\xe9\\xe9\\xe9\\xe9\\xe9", 3,
                  "ISO-8859-1");
    assert_clean();
}
END_TEST

/* The last line of a pipeline: its stage is the last stage's index. */
START_TEST(test_pull_line_stage_is_last)
{
    whelk_pipeline *p = pull_pipe(helper_cmd("out:x\\ny", NULL),
                                  helper_cmd("cat", NULL),
                                  helper_cmd("cat", NULL), NULL);
    whelk_proc *pr = start_ok(p);
    whelk_line line;

    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 1);
    ck_assert_str_eq(line.text, "x");
    ck_assert_uint_eq(line.stage, 2);
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 1);
    ck_assert_str_eq(line.text, "y");
    ck_assert_uint_eq(line.flags, WHELK_LINE_NO_EOL);
    ck_assert_uint_eq(line.stage, 2);
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 0);
    wait_ok(pr);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* Big stdout and big stderr at once, pulled in small reads: the loop
 * captures stderr while the host waits, and nothing deadlocks. */
static void pull_big(size_t out_bytes, size_t err_bytes, size_t chunk)
{
    char outn[64], errn[64];
    whelk_pipeline *p;
    whelk_proc *pr;
    whelk_error *err = NULL;
    whelk_result *r;
    size_t len, elen;
    char *got;

    snprintf(outn, sizeof outn, "outn:%zu", out_bytes);
    snprintf(errn, sizeof errn, "errn:%zu", err_bytes);
    p = pull_pipe(helper_cmd(errn, outn, errn, NULL), NULL);
    pr = start_ok(p);
    got = read_all(pr, chunk, &len);
    ck_assert_uint_eq(len, out_bytes);
    ck_assert(is_pattern(got, len));
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    whelk_result_stderr(r, &elen);
    ck_assert_uint_eq(elen, 2 * err_bytes);
    ck_assert_uint_eq(whelk_result_exit_code(r, 0), 0);
    whelk_result_free(r);
    free(got);
    whelk_pipeline_free(p);
}

START_TEST(test_pull_big_with_stderr)
{
    pull_big(0, 0, 100);
    pull_big(1, 1, 1);
    pull_big(65536, 3 * 1024 * 1024, 7);
    pull_big(8 * 1024 * 1024, 2 * 1024 * 1024, 65536);
    pull_big(3 * 1024 * 1024 + 5, 1024 * 1024, 4096);
    assert_clean();
}
END_TEST

/* A timeout gives EAGAIN and never half a line; the line comes whole once
 * its end has arrived.  The helper waits for our byte between the two
 * halves. */
START_TEST(test_pull_timeout_no_half_line)
{
    int go[2];
    whelk_pipeline *p;
    whelk_proc *pr;
    whelk_line line;
    const void *data;
    char buf[16];
    int64_t t0;

    ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
    p = pull_pipe(helper_cmd("out:first\\nab", "readn:1", "out:c\\n", NULL),
                  NULL);
    whelk_pipeline_stdin_fd(p, go[0]);
    pr = start_ok(p);
    close(go[0]);
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 1);
    ck_assert_str_eq(line.text, "first");
    errno = 0;
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, 0), -1);
    ck_assert_int_eq(errno, EAGAIN);
    t0 = now_ms();
    errno = 0;
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, 100), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_msg(now_ms() - t0 >= 99, "returned early");
    errno = 0;
    ck_assert_int_eq(whelk_proc_peek(pr, &data, 3, 50), -1);
    ck_assert_int_eq(errno, EAGAIN);
    /* what has arrived can be peeked and is still there */
    ck_assert_int_eq(whelk_proc_peek(pr, &data, 2, 0), 2);
    ck_assert(memcmp(data, "ab", 2) == 0);
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 1);
    ck_assert_str_eq(line.text, "abc");
    ck_assert_int_eq(whelk_proc_read(pr, buf, sizeof buf, -1), 0);
    close(go[1]);
    wait_ok(pr);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* A character is never cut by a timeout: half of "é" does not come out. */
START_TEST(test_pull_decoded_no_half_char)
{
    int go[2];
    whelk_pipeline *p;
    whelk_proc *pr;
    char buf[16];

    ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
    p = pull_pipe(helper_cmd("out:a\\xc3", "readn:1", "out:\\xa9b", NULL),
                  NULL);
    whelk_pipeline_decode(p, WHELK_STDOUT, "UTF-8", WHELK_DECODE_STRICT);
    whelk_pipeline_stdin_fd(p, go[0]);
    pr = start_ok(p);
    close(go[0]);
    ck_assert_int_eq(whelk_proc_read(pr, buf, sizeof buf, -1), 1);
    ck_assert_int_eq(buf[0], 'a');
    errno = 0;
    ck_assert_int_eq(whelk_proc_read(pr, buf, sizeof buf, 30), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    /* n = 1 cannot hold the character: it is given across reads */
    ck_assert_int_eq(whelk_proc_peek(pr, NULL, 3, -1), 3);
    ck_assert_int_eq(whelk_proc_read(pr, buf, 2, -1), 2);
    ck_assert(memcmp(buf, "\xc3\xa9", 2) == 0);
    ck_assert_int_eq(whelk_proc_read(pr, buf, sizeof buf, -1), 1);
    ck_assert_int_eq(buf[0], 'b');
    ck_assert_int_eq(whelk_proc_read(pr, buf, sizeof buf, -1), 0);
    close(go[1]);
    wait_ok(pr);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* Decoding applies to pulled text; a read of 2 bytes keeps characters
 * whole (2 bytes of "é" fit, 1 of a 3-byte "€" and "x" do not cut it). */
START_TEST(test_pull_decoded)
{
    whelk_pipeline *p = pull_pipe(
        helper_cmd("out:caf\\xe9 \\xa4\\n", NULL), NULL);
    whelk_proc *pr;
    whelk_line line;
    char *all;
    size_t len;

    whelk_pipeline_decode(p, WHELK_STDOUT, "ISO-8859-15",
                          WHELK_DECODE_STRICT);
    pr = start_ok(p);
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 1);
    ck_assert_str_eq(line.text, "caf\xc3\xa9 \xe2\x82\xac");
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 0);
    wait_ok(pr);
    pr = start_ok(p);
    all = read_all(pr, 2, &len);
    ck_assert_str_eq(all, "caf\xc3\xa9 \xe2\x82\xac\n");
    free(all);
    wait_ok(pr);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

START_TEST(test_pull_peek_then_read)
{
    whelk_pipeline *p = pull_pipe(helper_cmd("lines:3", NULL), NULL);
    whelk_proc *pr = start_ok(p);
    const void *data;
    whelk_line line;
    char buf[64];

    ck_assert_int_eq(whelk_proc_peek(pr, &data, 4, -1), 4);
    ck_assert(memcmp(data, "line", 4) == 0);
    ck_assert_int_eq(whelk_proc_peek(pr, &data, 100, -1), 21);
    ck_assert(memcmp(data, "line 1\nline 2\nline 3\n", 21) == 0);
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 1);
    ck_assert_str_eq(line.text, "line 1");
    ck_assert_int_eq(whelk_proc_peek(pr, &data, 2, -1), 2);
    ck_assert(memcmp(data, "li", 2) == 0);
    ck_assert_int_eq(whelk_proc_read(pr, buf, 3, -1), 3);
    ck_assert(memcmp(buf, "lin", 3) == 0);
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 1);
    ck_assert_str_eq(line.text, "e 2");
    ck_assert_int_eq(whelk_proc_read(pr, buf, sizeof buf, -1), 7);
    ck_assert_int_eq(whelk_proc_peek(pr, &data, 5, -1), 0);
    wait_ok(pr);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* The host stops pulling: wait discards the rest and a SIGPIPE death of
 * the last stage is no failure; a real failure still is one. */
START_TEST(test_pull_stop_early)
{
    whelk_pipeline *p =
        pull_pipe(helper_cmd("outn:50000000", NULL), NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;
    whelk_line line;

    pr = start_ok(p);
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 1);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_int_eq(whelk_result_signal(r, 0), SIGPIPE);
    whelk_result_free(r);
    /* not even started to read */
    pr = start_ok(p);
    wait_ok(pr);
    /* whelk_run has no handle: the output is discarded */
    r = run_ok(p);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    /* a failure of its own is still a failure */
    p = pull_pipe(helper_cmd("out:x\\n", "exit:3", NULL), NULL);
    pr = start_ok(p);
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 1);
    r = whelk_proc_wait(pr, &err);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXIT);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    /* SIGPIPE in a middle stage because the host stopped: not a failure */
    p = pull_pipe(helper_cmd("outn:50000000", NULL), helper_cmd("cat", NULL),
                  NULL);
    pr = start_ok(p);
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 1);
    wait_ok(pr);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* The run's deadline holds while the host waits in a read. */
START_TEST(test_pull_deadline)
{
    whelk_pipeline *p =
        pull_pipe(helper_cmd("out:a\\n", "sleep:60000", NULL), NULL);
    whelk_error *err = NULL;
    whelk_proc *pr;
    whelk_line line;
    int64_t t0 = now_ms();

    whelk_pipeline_timeout(p, 200);
    whelk_pipeline_kill_grace(p, 100);
    pr = start_ok(p);
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 1);
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 0);
    ck_assert_msg(now_ms() - t0 < 30000, "the deadline did not hold");
    ck_assert_ptr_null(whelk_proc_wait(pr, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_TIMEOUT);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

static whelk_proc *cb_proc;
static int cb_errno, cb_rc;

static int reenter_line(const whelk_line *l, void *ud)
{
    char buf[4];
    (void)l;
    (void)ud;
    errno = 0;
    cb_rc = (int)whelk_proc_read(cb_proc, buf, sizeof buf, 0);
    cb_errno = errno;
    return 0;
}

/* A read on the non-pulled handle, or from the run's own callback: EINVAL. */
START_TEST(test_pull_einval)
{
    whelk_pipeline *p = helper_pipe("out:x\\n", NULL);
    whelk_proc *pr = start_ok(p);
    whelk_line line;
    char buf[4];
    const void *d;

    errno = 0;
    ck_assert_int_eq(whelk_proc_read(pr, buf, 4, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(whelk_proc_peek(pr, &d, 1, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(whelk_proc_read(NULL, buf, 4, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    wait_ok(pr);
    whelk_pipeline_free(p);

    p = pull_pipe(helper_cmd("err:e\\n", "out:o\\n", NULL), NULL);
    whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_STREAM);
    whelk_pipeline_on_line(p, WHELK_STDERR, reenter_line, NULL);
    cb_proc = pr = start_ok(p);
    cb_rc = 0;
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 1);
    ck_assert_str_eq(line.text, "o");
    ck_assert_int_eq(whelk_proc_read_line(pr, &line, -1), 0);
    wait_ok(pr);
    ck_assert_int_eq(cb_rc, -1);
    ck_assert_int_eq(cb_errno, EINVAL);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* whelk_run_many of pulled pipelines: no handle, the output is discarded
 * and every run ends. */
START_TEST(test_pull_run_many)
{
    whelk_pipeline *ps[4];
    whelk_result *rs[4];
    whelk_error *es[4];
    size_t i;

    for (i = 0; i < 4; i++)
        ps[i] = pull_pipe(helper_cmd("outn:3000000", NULL), NULL);
    ck_assert_uint_eq(whelk_run_many(ps, 4, 2, rs, es), 0);
    for (i = 0; i < 4; i++) {
        whelk_result_free(rs[i]);
        whelk_pipeline_free(ps[i]);
    }
    assert_clean();
}
END_TEST

/* --------------------------------------------------------------- feed */

/* 50 MB through cat, written and pulled by one thread. */
START_TEST(test_feed_cat_50mb_same_thread)
{
    const size_t total = 50 * 1024 * 1024, chunk = 300000;
    char *src = pattern_bytes(chunk * 2), *buf = malloc(1 << 20);
    whelk_pipeline *p = pull_pipe(helper_cmd("cat", NULL), NULL);
    size_t sent = 0, got = 0;
    whelk_proc *pr;
    ssize_t k;

    whelk_pipeline_stdin(p, WHELK_FEED);
    pr = start_ok(p);
    while (sent < total) {
        size_t want = total - sent < chunk ? total - sent : chunk;
        k = whelk_proc_write(pr, src + sent % 16, want, -1);
        ck_assert_msg(k > 0, "write: %s", strerror(errno));
        sent += (size_t)k;
        while ((k = whelk_proc_read(pr, buf, 1 << 20, 0)) > 0) {
            ssize_t j;
            for (j = 0; j < k; j++)
                if (buf[j] != pattern_byte(got + (size_t)j))
                    ck_abort_msg("byte %zu differs", got + (size_t)j);
            got += (size_t)k;
        }
        ck_assert(k == -1 && errno == EAGAIN);
    }
    ck_assert_int_eq(whelk_proc_close_stdin(pr), 0);
    while ((k = whelk_proc_read(pr, buf, 1 << 20, -1)) > 0)
        got += (size_t)k;
    ck_assert_int_eq(k, 0);
    ck_assert_uint_eq(got, total);
    wait_ok(pr);
    free(src);
    free(buf);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* The first stage stops reading: -1/EPIPE, never SIGPIPE in the host (the
 * suite runs with SIGPIPE at its default: it would kill the test). */
START_TEST(test_feed_epipe)
{
    whelk_pipeline *p = helper_pipe("readn:5", "exit:0", NULL);
    char *data = pattern_bytes(1 << 20);
    whelk_proc *pr;
    ssize_t k;
    int i;

    whelk_pipeline_stdin(p, WHELK_FEED);
    pr = start_ok(p);
    for (i = 0; i < 1000; i++) {
        k = whelk_proc_write(pr, data, 1 << 20, -1);
        if (k < 0)
            break;
    }
    ck_assert_int_eq(k, -1);
    ck_assert_int_eq(errno, EPIPE);
    errno = 0;
    ck_assert_int_eq(whelk_proc_write(pr, "x", 1, -1), -1);
    ck_assert_int_eq(errno, EPIPE);
    wait_ok(pr);
    free(data);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* Feed is counted exactly; close_stdin ends it; then EBADF. */
START_TEST(test_feed_count_and_close)
{
    whelk_pipeline *p = helper_pipe("count", NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;
    size_t i;

    whelk_pipeline_stdin(p, WHELK_FEED);
    pr = start_ok(p);
    for (i = 0; i < 1000; i++)
        ck_assert_int_eq(whelk_proc_write(pr, "abcdefg", 7, -1), 7);
    ck_assert_int_eq(whelk_proc_write(pr, "x", 0, -1), 0);
    ck_assert_int_eq(whelk_proc_close_stdin(pr), 0);
    ck_assert_int_eq(whelk_proc_close_stdin(pr), 0);
    errno = 0;
    ck_assert_int_eq(whelk_proc_write(pr, "x", 1, -1), -1);
    ck_assert_int_eq(errno, EBADF);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "7000\n");
    whelk_result_free(r);
    /* wait closes a fed stdin the host left open */
    pr = start_ok(p);
    ck_assert_int_eq(whelk_proc_write(pr, "abc", 3, -1), 3);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "3\n");
    whelk_result_free(r);
    /* whelk_run: an empty stdin */
    r = run_ok(p);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "0\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* A stage that does not read: the pipe fills, timeout 0 gives EAGAIN. */
START_TEST(test_feed_timeout)
{
    whelk_pipeline *p = helper_pipe("sleep:60000", NULL);
    char *data = pattern_bytes(1 << 16);
    whelk_error *err = NULL;
    whelk_proc *pr;
    ssize_t k;
    size_t total = 0;
    int64_t t0;

    whelk_pipeline_stdin(p, WHELK_FEED);
    pr = start_ok(p);
    while ((k = whelk_proc_write(pr, data, 1 << 16, 0)) > 0)
        total += (size_t)k;
    ck_assert_int_eq(k, -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_uint_gt(total, 0);
    t0 = now_ms();
    errno = 0;
    ck_assert_int_eq(whelk_proc_write(pr, data, 10, 100), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert(now_ms() - t0 >= 99);
    ck_assert_int_eq(whelk_proc_kill(pr, SIGKILL), 0);
    ck_assert_ptr_null(whelk_proc_wait(pr, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_SIGNAL);
    whelk_error_free(err);
    free(data);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* Stdin encoding applies to fed bytes, a character split between writes
 * included; invalid UTF-8 is EILSEQ. */
START_TEST(test_feed_encoding)
{
    whelk_pipeline *p = helper_pipe("cat", NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;

    whelk_pipeline_stdin(p, WHELK_FEED);
    whelk_pipeline_stdin_encoding(p, "ISO-8859-1");
    pr = start_ok(p);
    ck_assert_int_eq(whelk_proc_write(pr, "caf\xc3", 4, -1), 4);
    ck_assert_int_eq(whelk_proc_write(pr, "\xa9\n", 2, -1), 2);
    errno = 0;
    ck_assert_int_eq(whelk_proc_write(pr, "\xff", 1, -1), -1);
    ck_assert_int_eq(errno, EILSEQ);
    ck_assert_int_eq(whelk_proc_close_stdin(pr), 0);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "caf\xe9\n");
    whelk_result_free(r);
    whelk_pipeline_stdin_encoding(p, "no-such-encoding");
    ck_assert_ptr_null(whelk_start(p, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_INVALID);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

START_TEST(test_feed_einval)
{
    whelk_pipeline *p = helper_pipe("cat", NULL);
    whelk_proc *pr = start_ok(p);

    errno = 0;
    ck_assert_int_eq(whelk_proc_write(pr, "x", 1, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(whelk_proc_close_stdin(pr), -1);
    ck_assert_int_eq(errno, EINVAL);
    wait_ok(pr);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* ---------------------------------------------------- streams and popen */

START_TEST(test_stdout_stream_getline)
{
    whelk_pipeline *p = pull_pipe(helper_cmd("lines:20000", NULL), NULL);
    whelk_proc *pr = start_ok(p);
    FILE *f = whelk_proc_stdout_stream(pr);
    char *line = NULL;
    size_t cap = 0;
    long n = 0;
    ssize_t k;

    ck_assert_ptr_nonnull(f);
    while ((k = getline(&line, &cap, f)) > 0) {
        char want[32];
        snprintf(want, sizeof want, "line %ld\n", ++n);
        ck_assert_str_eq(line, want);
    }
    ck_assert_int_eq(n, 20000);
    ck_assert(!ferror(f));
    ck_assert_int_eq(fclose(f), 0);
    wait_ok(pr);
    free(line);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* fclose before the end discards the rest; the run is no failure. */
START_TEST(test_stdout_stream_close_early)
{
    whelk_pipeline *p =
        pull_pipe(helper_cmd("outn:50000000", NULL), NULL);
    whelk_proc *pr = start_ok(p);
    FILE *f = whelk_proc_stdout_stream(pr);
    char buf[100];

    ck_assert_uint_eq(fread(buf, 1, sizeof buf, f), sizeof buf);
    ck_assert(is_pattern(buf, sizeof buf));
    ck_assert_int_eq(fclose(f), 0);
    wait_ok(pr);
    whelk_pipeline_free(p);
    p = helper_pipe("cat", NULL);
    pr = start_ok(p);
    errno = 0;
    ck_assert_ptr_null(whelk_proc_stdout_stream(pr));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(whelk_proc_stdin_stream(pr));
    ck_assert_int_eq(errno, EINVAL);
    wait_ok(pr);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

START_TEST(test_stdin_stream_fprintf)
{
    whelk_pipeline *p = helper_pipe("count", NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;
    FILE *f;
    int i;

    whelk_pipeline_stdin(p, WHELK_FEED);
    pr = start_ok(p);
    ck_assert_ptr_nonnull(f = whelk_proc_stdin_stream(pr));
    for (i = 0; i < 100000; i++)
        ck_assert_int_eq(fprintf(f, "%05d\n", i), 6);
    ck_assert_int_eq(fclose(f), 0);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "600000\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

START_TEST(test_popen_read)
{
    whelk_pipeline *p = helper_pipe("lines:3", NULL);
    whelk_error *err = NULL;
    char buf[64];
    FILE *f = whelk_popen(p, "r", &err);

    ck_assert_msg(f != NULL, "%s", err_desc(err));
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    ck_assert_str_eq(buf, "line 1\n");
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    ck_assert_str_eq(buf, "line 3\n");
    ck_assert_ptr_null(fgets(buf, sizeof buf, f));
    ck_assert(feof(f));
    ck_assert_int_eq(whelk_pclose(f, &err), 0);
    ck_assert_ptr_null(err);
    /* stopped early: the rest is discarded, no failure */
    whelk_pipeline_free(p);
    p = helper_pipe("outn:50000000", NULL);
    f = whelk_popen(p, "r", &err);
    ck_assert_int_eq(fgetc(f), '0');
    ck_assert_int_eq(whelk_pclose(f, &err), 0);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* The checked verdict comes out of pclose: stage, status, stderr. */
START_TEST(test_popen_verdict)
{
    whelk_pipeline *p = whelk_pipe(helper_cmd("out:x\\n", NULL),
                                   helper_cmd("cat", "err:boom\\n", "exit:3",
                                              NULL),
                                   NULL);
    whelk_error *err = NULL;
    char buf[64];
    FILE *f = whelk_popen(p, "r", &err);

    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    ck_assert_str_eq(buf, "x\n");
    ck_assert_ptr_null(fgets(buf, sizeof buf, f));
    ck_assert_int_eq(whelk_pclose(f, &err), -1);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXIT);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_exit_code(err), 3);
    ck_assert(contains(whelk_error_message(err), "boom"));
    whelk_error_free(err);
    /* and without an err pointer */
    f = whelk_popen(p, "r", NULL);
    while (fgets(buf, sizeof buf, f))
        ;
    ck_assert_int_eq(whelk_pclose(f, NULL), -1);
    /* bad modes, a start failure */
    ck_assert_ptr_null(whelk_popen(p, "rw", &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_INVALID);
    whelk_error_free(err);
    ck_assert_ptr_null(whelk_popen(NULL, "r", &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_INVALID);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    p = whelk_pipe(whelk_cmd_new("/no/such/program", NULL), NULL);
    ck_assert_ptr_null(whelk_popen(p, "r", &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_NOTFOUND);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* "w": the bytes arrive exactly; a reader that quits gives EPIPE, never
 * SIGPIPE, and is no failure of the run. */
START_TEST(test_popen_write)
{
    char *dir = make_tmpdir(), *path = path_join(dir, "out");
    whelk_pipeline *p = helper_pipe("cat", NULL);
    whelk_error *err = NULL;
    size_t len;
    char *got;
    FILE *f;
    int i;

    whelk_pipeline_stdout_file(p, path, 0);
    f = whelk_popen(p, "w", &err);
    ck_assert_msg(f != NULL, "%s", err_desc(err));
    for (i = 1; i <= 1000; i++)
        fprintf(f, "line %d\n", i);
    ck_assert_int_eq(whelk_pclose(f, &err), 0);
    got = slurp(path, &len);
    {
        size_t wl;
        char *want = lines_text(1000, &wl);
        ck_assert_uint_eq(len, wl);
        ck_assert(memcmp(got, want, wl) == 0);
        free(want);
    }
    free(got);
    whelk_pipeline_free(p);

    p = helper_pipe("readn:10", "exit:0", NULL);
    f = whelk_popen(p, "w", &err);
    {
        char *data = pattern_bytes(1 << 20);
        for (i = 0; i < 200 && fwrite(data, 1, 1 << 20, f) == 1 << 20; i++)
            ;
        ck_assert(ferror(f));
        ck_assert_int_eq(errno, EPIPE);
        free(data);
    }
    ck_assert_int_eq(whelk_pclose(f, &err), 0);
    whelk_pipeline_free(p);
    rm_rf(dir);
    free(dir);
    free(path);
    assert_clean();
}
END_TEST

/* Another child started while a popen FILE is open sees only 0, 1, 2. */
START_TEST(test_popen_no_leak)
{
    whelk_pipeline *p = helper_pipe("out:a\\n", "readn:1", NULL);
    whelk_pipeline *q = helper_pipe("fds", NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    FILE *f, *g;
    char buf[64];

    whelk_pipeline_stdin(p, WHELK_NULL);
    f = whelk_popen(p, "r", &err);
    g = whelk_popen(q, "r", &err);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, g));
    ck_assert_str_eq(buf, "0 1 2\n");
    ck_assert_int_eq(whelk_pclose(g, &err), 0);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    ck_assert_int_eq(whelk_pclose(f, &err), 0);
    r = run_ok(q);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    whelk_pipeline_free(q);
    assert_clean();
}
END_TEST

/* ------------------------------------------------------------- filters */

static int identity(whelk_filter *out, const void *data, size_t len, void *ud)
{
    (void)ud;
    return len ? whelk_filter_write(out, data, len) : 0;
}

static int upper(whelk_filter *out, const void *data, size_t len, void *ud)
{
    char buf[4096];
    size_t i, done = 0;
    (void)ud;
    while (done < len) {
        size_t n = len - done < sizeof buf ? len - done : sizeof buf;
        for (i = 0; i < n; i++) {
            char c = ((const char *)data)[done + i];
            buf[i] = c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
        }
        if (whelk_filter_write(out, buf, n) < 0)
            return 1;
        done += n;
    }
    return 0;
}

/* Counts its input; writes the count at the end. */
static int counter(whelk_filter *out, const void *data, size_t len, void *ud)
{
    size_t *n = ud;
    char buf[32];
    (void)data;
    if (len) {
        *n += len;
        return 0;
    }
    snprintf(buf, sizeof buf, "%zu\n", *n);
    return whelk_filter_write(out, buf, strlen(buf));
}

/* Each input byte becomes 100 KiB of output: 1 KiB -> 100 MiB. */
static int expand(whelk_filter *out, const void *data, size_t len, void *ud)
{
    static char block[102400];
    size_t i;
    (void)data;
    (void)ud;
    memset(block, 'x', sizeof block);
    for (i = 0; i < len; i++)
        if (whelk_filter_write(out, block, sizeof block) < 0)
            return 1;
    return 0;
}

static int ret3(whelk_filter *out, const void *data, size_t len, void *ud)
{
    (void)out;
    (void)data;
    (void)len;
    (void)ud;
    return 3;
}

static whelk_result *run_r(whelk_pipeline *p)
{
    return run_ok(p);
}

/* A filter first, middle, last; adjacent filters; bytes exact. */
START_TEST(test_filter_positions)
{
    whelk_pipeline *p;
    whelk_result *r;
    size_t n = 0, len;
    const char *out;

    /* first, fed stdin bytes */
    p = whelk_pipe(whelk_cmd_new_filter("upper", upper, NULL),
                   helper_cmd("cat", NULL), NULL);
    whelk_pipeline_stdin_bytes(p, "hello, world\n", 13);
    r = run_r(p);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "HELLO, WORLD\n");
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 0);
    ck_assert_int_eq(whelk_proc_pid(NULL, 0), -1);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    /* middle, 10 MiB */
    p = whelk_pipe(helper_cmd("outn:10485760", NULL),
                   whelk_cmd_new_filter("identity", identity, NULL),
                   helper_cmd("count", NULL), NULL);
    r = run_r(p);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "10485760\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    /* last, captured; and two filters in a row */
    p = whelk_pipe(helper_cmd("outn:3000000", NULL),
                   whelk_cmd_new_filter("identity", identity, NULL),
                   whelk_cmd_new_filter("count", counter, &n), NULL);
    r = run_r(p);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "3000000\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    /* only filters, bytes in, capture out */
    p = whelk_pipe(whelk_cmd_new_filter("upper", upper, NULL),
                   whelk_cmd_new_filter("identity", identity, NULL), NULL);
    {
        char *big = pattern_bytes(5000000);
        whelk_pipeline_stdin_bytes(p, big, 5000000);
        r = run_r(p);
        out = whelk_result_stdout(r, &len);
        ck_assert_uint_eq(len, 5000000);
        for (n = 0; n < len; n++)
            if (out[n] != (big[n] >= 'a' ? big[n] - 32 : big[n]))
                ck_abort_msg("byte %zu", n);
        free(big);
    }
    whelk_result_free(r);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* 1 KiB turned into 100 MiB costs a bounded buffer, not 100 MiB. */
START_TEST(test_filter_bounded)
{
    whelk_pipeline *p;
    whelk_result *r;
    struct rusage ru;
    char kb[1024];

    memset(kb, 'a', sizeof kb);
    p = whelk_pipe(whelk_cmd_new_filter("expand", expand, NULL),
                   helper_cmd("count", NULL), NULL);
    whelk_pipeline_stdin_bytes(p, kb, sizeof kb);
    r = run_r(p);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "104857600\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    getrusage(RUSAGE_SELF, &ru);
    ck_assert_msg(ru.ru_maxrss < 64 * 1024, "peak RSS %ld KiB", ru.ru_maxrss);
    assert_clean();
}
END_TEST

/* A non-zero return is an exit status named by the filter; upstream gets
 * SIGPIPE as with a program that stopped reading (no failure there). */
START_TEST(test_filter_status)
{
    whelk_pipeline *p = whelk_pipe(helper_cmd("outn:50000000", NULL),
                                   whelk_cmd_new_filter("stopper", ret3, NULL),
                                   helper_cmd("count", NULL), NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    static const int ok3[] = {0, 3};

    ck_assert_ptr_null(whelk_run(p, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXIT);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_exit_code(err), 3);
    ck_assert_msg(contains(whelk_error_message(err), "stopper"), "%s",
                  whelk_error_message(err));
    r = (whelk_result *)whelk_error_result(err);
    ck_assert_int_eq(whelk_result_signal(r, 0), SIGPIPE);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "0\n");
    whelk_error_free(err);
    whelk_cmd_ok_codes(whelk_pipeline_cmd(p, 1), ok3, 2);
    r = run_r(p);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    /* the filter's reader goes away: it ends with SIGPIPE, no failure */
    p = whelk_pipe(helper_cmd("outn:50000000", NULL),
                   whelk_cmd_new_filter("identity", identity, NULL),
                   helper_cmd("readn:10", "exit:0", NULL), NULL);
    r = run_r(p);
    ck_assert_int_eq(whelk_result_signal(r, 1), SIGPIPE);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    /* bad filters */
    p = whelk_pipe(whelk_cmd_new_filter("x", NULL, NULL), NULL);
    err = run_fail(p, WHELK_E_INVALID);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    p = whelk_pipe(whelk_cmd_new_filter(NULL, identity, NULL), NULL);
    err = run_fail(p, WHELK_E_INVALID);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    errno = 0;
    ck_assert_int_eq(whelk_filter_write(NULL, "x", 1), -1);
    ck_assert_int_eq(errno, EINVAL);
    assert_clean();
}
END_TEST

/* A deadline ends filters as it kills programs. */
START_TEST(test_filter_timeout)
{
    whelk_pipeline *p = whelk_pipe(helper_cmd("sleep:60000", NULL),
                                   whelk_cmd_new_filter("identity", identity, NULL),
                                   NULL);
    whelk_error *err;

    whelk_pipeline_timeout(p, 200);
    whelk_pipeline_kill_grace(p, 100);
    err = run_fail(p, WHELK_E_TIMEOUT);
    ck_assert_int_ne(whelk_result_signal(whelk_error_result(err), 1), 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* A filter before a pulled stdout, and inside whelk_run_many. */
START_TEST(test_filter_pull_and_many)
{
    whelk_pipeline *p = pull_pipe(helper_cmd("lines:5000", NULL),
                                  whelk_cmd_new_filter("upper", upper, NULL),
                                  NULL);
    whelk_pipeline *ps[3];
    whelk_result *rs[3];
    whelk_error *es[3];
    whelk_proc *pr = start_ok(p);
    whelk_line line;
    long i = 0;
    size_t k;

    ck_assert_int_eq(whelk_proc_fd(pr), -1);
    while (whelk_proc_read_line(pr, &line, -1) == 1) {
        char want[32];
        snprintf(want, sizeof want, "LINE %ld", ++i);
        ck_assert_str_eq(line.text, want);
        ck_assert_uint_eq(line.stage, 1);
    }
    ck_assert_int_eq(i, 5000);
    wait_ok(pr);
    whelk_pipeline_free(p);
    for (k = 0; k < 3; k++)
        ps[k] = whelk_pipe(helper_cmd("outn:2000000", NULL),
                           whelk_cmd_new_filter("identity", identity, NULL),
                           helper_cmd("count", NULL), NULL);
    ck_assert_uint_eq(whelk_run_many(ps, 3, 3, rs, es), 0);
    for (k = 0; k < 3; k++) {
        ck_assert_str_eq(whelk_result_stdout(rs[k], NULL), "2000000\n");
        whelk_result_free(rs[k]);
        whelk_pipeline_free(ps[k]);
    }
    assert_clean();
}
END_TEST

/* ----------------------------------------------------------------- tee */

/* One output into the capture, a file and a second pipeline at once. */
START_TEST(test_tee_file_and_pipeline)
{
    char *dir = make_tmpdir(), *path = path_join(dir, "copy");
    whelk_pipeline *src = helper_pipe("outn:5000000", NULL);
    whelk_pipeline *dst = helper_pipe("count", NULL);
    whelk_pipeline *dst2 = helper_pipe("readn:10", "exit:0", NULL);
    whelk_pipeline *again;
    whelk_proc *d, *d2;
    whelk_error *err = NULL;
    whelk_result *r, *rd;
    size_t len;
    char *got;

    whelk_pipeline_stdin(dst, WHELK_FEED);
    whelk_pipeline_stdin(dst2, WHELK_FEED);
    d = start_ok(dst);
    d2 = start_ok(dst2);
    whelk_pipeline_tee_file(src, path, 0);
    whelk_pipeline_tee_proc(src, d2); /* quits early: dropped */
    whelk_pipeline_tee_proc(src, d);
    r = run_ok(src);
    whelk_result_stdout(r, &len);
    ck_assert_uint_eq(len, 5000000);
    ck_assert(is_pattern(whelk_result_stdout(r, NULL), len));
    whelk_result_free(r);
    rd = whelk_proc_wait(d, &err);
    ck_assert_msg(rd != NULL, "%s", err_desc(err));
    ck_assert_str_eq(whelk_result_stdout(rd, NULL), "5000000\n");
    whelk_result_free(rd);
    wait_ok(d2);
    got = slurp(path, &len);
    ck_assert_uint_eq(len, 5000000);
    ck_assert(is_pattern(got, len));
    free(got);
    /* a copy of the pipeline tees too (the file only: a tee_proc names
     * one running handle) */
    again = whelk_pipeline_dup(src);
    whelk_pipeline_free(again);
    again = helper_pipe("outn:1000", NULL);
    whelk_pipeline_tee_file(again, path, 1);
    whelk_pipeline_free(src);
    src = whelk_pipeline_dup(again);
    whelk_pipeline_free(again);
    r = run_ok(src);
    whelk_result_free(r);
    got = slurp(path, &len);
    ck_assert_uint_eq(len, 5001000);
    free(got);
    whelk_pipeline_free(src);
    whelk_pipeline_free(dst);
    whelk_pipeline_free(dst2);
    rm_rf(dir);
    free(dir);
    free(path);
    assert_clean();
}
END_TEST

/* Tee of a pulled stdout: the copy is what the host pulls. */
START_TEST(test_tee_pull)
{
    char *dir = make_tmpdir(), *path = path_join(dir, "copy");
    whelk_pipeline *p = pull_pipe(helper_cmd("lines:10000", NULL), NULL);
    whelk_proc *pr;
    whelk_line line;
    size_t len, wl;
    char *got, *want;
    long n = 0;

    whelk_pipeline_tee_file(p, path, 0);
    pr = start_ok(p);
    while (whelk_proc_read_line(pr, &line, -1) == 1)
        n++;
    ck_assert_int_eq(n, 10000);
    wait_ok(pr);
    got = slurp(path, &len);
    want = lines_text(10000, &wl);
    ck_assert_uint_eq(len, wl);
    ck_assert(memcmp(got, want, wl) == 0);
    free(got);
    free(want);
    whelk_pipeline_free(p);
    rm_rf(dir);
    free(dir);
    free(path);
    assert_clean();
}
END_TEST

START_TEST(test_tee_invalid)
{
    whelk_pipeline *p = helper_pipe("out:x", NULL);
    whelk_error *err;

    whelk_pipeline_tee_file(p, "/no/such/dir/file", 0);
    err = run_fail(p, WHELK_E_IO);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    p = helper_pipe("out:x", NULL);
    whelk_pipeline_tee_fd(p, 1);
    whelk_pipeline_stdout(p, WHELK_NULL);
    err = run_fail(p, WHELK_E_INVALID);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    p = helper_pipe("out:x", NULL);
    whelk_pipeline_tee_proc(p, NULL);
    err = run_fail(p, WHELK_E_INVALID);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    assert_clean();
}
END_TEST

/* ------------------------------------------------------------- suite */

static TCase *tcase(Suite *s, const char *name, int timeout)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, timeout);
    tcase_add_checked_fixture(tc, setup, NULL);
    suite_add_tcase(s, tc);
    return tc;
}

static Suite *host_suite(void)
{
    Suite *s = suite_create("host");
    TCase *tc;

    tc = tcase(s, "pull", TEST_TIMEOUT);
    tcase_add_test(tc, test_pull_read_line_basic);
    tcase_add_test(tc, test_pull_line_rules_match_callbacks);
    tcase_add_test(tc, test_pull_line_stage_is_last);
    tcase_add_test(tc, test_pull_big_with_stderr);
    tcase_add_test(tc, test_pull_timeout_no_half_line);
    tcase_add_test(tc, test_pull_decoded_no_half_char);
    tcase_add_test(tc, test_pull_decoded);
    tcase_add_test(tc, test_pull_peek_then_read);
    tcase_add_test(tc, test_pull_stop_early);
    tcase_add_test(tc, test_pull_deadline);
    tcase_add_test(tc, test_pull_einval);
    tcase_add_test(tc, test_pull_run_many);

    tc = tcase(s, "feed", TEST_TIMEOUT * 2);
    tcase_add_test(tc, test_feed_cat_50mb_same_thread);
    tcase_add_test(tc, test_feed_epipe);
    tcase_add_test(tc, test_feed_count_and_close);
    tcase_add_test(tc, test_feed_timeout);
    tcase_add_test(tc, test_feed_encoding);
    tcase_add_test(tc, test_feed_einval);

    tc = tcase(s, "streams", TEST_TIMEOUT);
    tcase_add_test(tc, test_stdout_stream_getline);
    tcase_add_test(tc, test_stdout_stream_close_early);
    tcase_add_test(tc, test_stdin_stream_fprintf);
    tcase_add_test(tc, test_popen_read);
    tcase_add_test(tc, test_popen_verdict);
    tcase_add_test(tc, test_popen_write);
    tcase_add_test(tc, test_popen_no_leak);

    tc = tcase(s, "filters", TEST_TIMEOUT);
    tcase_add_test(tc, test_filter_positions);
    tcase_add_test(tc, test_filter_bounded);
    tcase_add_test(tc, test_filter_status);
    tcase_add_test(tc, test_filter_timeout);
    tcase_add_test(tc, test_filter_pull_and_many);

    tc = tcase(s, "tee", TEST_TIMEOUT);
    tcase_add_test(tc, test_tee_file_and_pipeline);
    tcase_add_test(tc, test_tee_pull);
    tcase_add_test(tc, test_tee_invalid);

    return s;
}

int main(void)
{
    return run_suite(host_suite());
}
