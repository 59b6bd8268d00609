/*
 * host/pull.c -- the host suite's "pull" tests (run by tests/check_host.c).
 */
#include "host.h"

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

void host_pull(Suite *s)
{
    TCase *tc;

    tc = host_tcase(s, "pull", TEST_TIMEOUT);
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
}
