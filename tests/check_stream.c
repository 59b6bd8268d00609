/*
 * check_stream.c -- the streaming suite: line and chunk callbacks, decoding,
 * stdin encoding, hooks and shell defaults (issue 4).
 *
 * Everything is tested through the public API (whelk.h) against the helper
 * child tests/whelk-helper (action language at the top of
 * tests/whelk-helper.c).
 *
 * No test sleeps to synchronise.  Where the order of bytes across two pipes,
 * or the way output is split into reads, matters, the helper is made to wait
 * for the host: it reads its stdin from a pipe of the test (readn:1), and
 * the test's callback writes one byte into that pipe only after it has been
 * given the previous piece.  So "the helper wrote B after the host had
 * delivered A" holds by causality, whatever the scheduler does.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* UTF-8 of U+FFFD, the replacement character. */
#define FFFD "\xEF\xBF\xBD"

/* ------------------------------------------------------------ helpers */

/* Asserts the bytes [got, got + got_len) are the want_len bytes of want and
 * that a NUL follows them. */
#define ASSERT_NAMED_BYTES(what, got, got_len, want, want_len)                       \
    do {                                                                       \
        const char *g_ = (got);                                                \
        size_t gl_ = (got_len), wl_ = (want_len);                              \
        ck_assert_ptr_nonnull(g_);                                             \
        ck_assert_msg(gl_ == wl_ && memcmp(g_, (want), wl_) == 0,              \
                      "%s: got %zu bytes \"%s\", expected %zu bytes \"%s\"",   \
                      (what), gl_, g_, wl_, (const char *)(want));             \
        ck_assert_msg(g_[gl_] == '\0', "%s: not NUL-terminated", (what));      \
    } while (0)

/* The number written after the first "offset " in msg, or -1. */
static long long offset_in(const char *msg)
{
    const char *p = strstr(msg, "offset ");
    char *end;
    long long v;

    if (!p)
        return -1;
    p += strlen("offset ");
    if (*p < '0' || *p > '9')
        return -1;
    v = strtoll(p, &end, 10);
    return v;
}

/* A helper command from a NULL-terminated array of actions. */
static whelk_cmd *helper_cmdv(const char *const *actions)
{
    whelk_cmd *c = whelk_cmd_new(HELPER, (const char *)NULL);
    size_t i;

    ck_assert_ptr_nonnull(c);
    for (i = 0; actions[i]; i++)
        whelk_cmd_arg(c, actions[i]);
    return c;
}

/* ------------------------------------------------------- line recorder */

typedef struct got_line {
    size_t stage;
    int stream;
    unsigned flags;
    size_t len;
    char *text; /* copy, NUL-terminated */
} got_line;

typedef struct line_log {
    got_line *v;
    size_t n, cap;
    size_t calls;
    int bad_nul;          /* a text was not NUL-terminated during its call */
    int wfd;              /* >= 0: write one byte here after each line */
    const char *close_at; /* close wfd after the line with this text */
    size_t stop_at;       /* return stop_rc from the stop_at-th call */
    int stop_rc;
} line_log;

static void line_log_init(line_log *ll)
{
    memset(ll, 0, sizeof *ll);
    ll->wfd = -1;
}

static void line_log_free(line_log *ll)
{
    size_t i;

    for (i = 0; i < ll->n; i++)
        free(ll->v[i].text);
    free(ll->v);
    if (ll->wfd >= 0)
        close(ll->wfd);
    line_log_init(ll);
}

static int log_line(const whelk_line *l, void *ud)
{
    line_log *ll = ud;
    got_line *g;

    ll->calls++;
    if (!l->text || l->text[l->len] != '\0')
        ll->bad_nul = 1;
    if (ll->n == ll->cap) {
        size_t cap = ll->cap ? ll->cap * 2 : 16;
        got_line *v = realloc(ll->v, cap * sizeof *v);
        if (!v)
            abort();
        ll->v = v;
        ll->cap = cap;
    }
    g = &ll->v[ll->n++];
    g->stage = l->stage;
    g->stream = l->stream;
    g->flags = l->flags;
    g->len = l->len;
    g->text = malloc(l->len + 1);
    if (!g->text)
        abort();
    memcpy(g->text, l->text, l->len);
    g->text[l->len] = '\0';
    if (ll->wfd >= 0) {
        if (ll->close_at && l->len == strlen(ll->close_at) &&
            memcmp(l->text, ll->close_at, l->len) == 0) {
            close(ll->wfd);
            ll->wfd = -1;
        } else if (write(ll->wfd, "+", 1) != 1) {
            abort();
        }
    }
    if (ll->stop_at && ll->calls == ll->stop_at)
        return ll->stop_rc;
    return 0;
}

typedef struct want_line {
    size_t stage;
    int stream;
    const char *text;
    unsigned flags;
} want_line;

#define OUT WHELK_STDOUT
#define ERR WHELK_STDERR
#define NOEOL WHELK_LINE_NO_EOL
#define CUT WHELK_LINE_CUT

/* Named in the messages of expect_lines: which case of a table. */
static char expect_ctx[128];

static void expect_lines(const line_log *ll, const want_line *w, size_t n)
{
    size_t i;
    const char *c = expect_ctx;

    ck_assert_msg(!ll->bad_nul, "%sa line was not NUL-terminated", c);
    for (i = 0; i < n && i < ll->n; i++) {
        const got_line *g = &ll->v[i];
        ck_assert_msg(g->len == strlen(w[i].text) &&
                          memcmp(g->text, w[i].text, g->len) == 0,
                      "%sline %zu: \"%s\" (%zu bytes), expected \"%s\"", c, i,
                      g->text, g->len, w[i].text);
        ck_assert_msg(g->stage == w[i].stage,
                      "%sline %zu (\"%s\"): stage %zu, "
                      "expected %zu",
                      c, i, g->text, g->stage, w[i].stage);
        ck_assert_msg(g->stream == w[i].stream,
                      "%sline %zu (\"%s\"): stream "
                      "%d, expected %d",
                      c, i, g->text, g->stream, w[i].stream);
        ck_assert_msg(g->flags == w[i].flags,
                      "%sline %zu (\"%s\"): flags %u, "
                      "expected %u",
                      c, i, g->text, g->flags, w[i].flags);
    }
    ck_assert_msg(ll->n == n, "%s%zu lines, expected %zu", c, ll->n, n);
}

/* ------------------------------------------------------ chunk recorder */

typedef struct got_chunk {
    size_t stage;
    int stream;
    int eof;
    int data_null;
    size_t len;
    char *data;
} got_chunk;

typedef struct chunk_log {
    got_chunk *v;
    size_t n, cap;
    int wfd;        /* >= 0: write one byte here after each data chunk */
    size_t stop_at; /* return 1 from the stop_at-th call */
} chunk_log;

static void chunk_log_init(chunk_log *cl)
{
    memset(cl, 0, sizeof *cl);
    cl->wfd = -1;
}

static void chunk_log_free(chunk_log *cl)
{
    size_t i;

    for (i = 0; i < cl->n; i++)
        free(cl->v[i].data);
    free(cl->v);
    chunk_log_init(cl);
}

static int log_chunk(const whelk_chunk *c, void *ud)
{
    chunk_log *cl = ud;
    got_chunk *g;

    if (cl->n == cl->cap) {
        size_t cap = cl->cap ? cl->cap * 2 : 16;
        got_chunk *v = realloc(cl->v, cap * sizeof *v);
        if (!v)
            abort();
        cl->v = v;
        cl->cap = cap;
    }
    g = &cl->v[cl->n++];
    g->stage = c->stage;
    g->stream = c->stream;
    g->eof = c->eof;
    g->data_null = c->data == NULL;
    g->len = c->len;
    g->data = malloc(c->len + 1);
    if (!g->data)
        abort();
    if (c->len)
        memcpy(g->data, c->data, c->len);
    g->data[c->len] = '\0';
    if (cl->wfd >= 0 && c->len && write(cl->wfd, "+", 1) != 1)
        abort();
    return cl->stop_at && cl->n == cl->stop_at;
}

/* The data chunks of one (stage, stream), concatenated (malloc'd), their
 * number in *nchunks and the number of eof calls in *neof; asserts the eof
 * call, if any, is the last one of that stream. */
static char *chunks_of(const chunk_log *cl, size_t stage, int stream,
                       size_t *len, size_t *nchunks, size_t *neof)
{
    char *buf = malloc(1);
    size_t i, used = 0;

    ck_assert_ptr_nonnull(buf);
    *nchunks = *neof = 0;
    for (i = 0; i < cl->n; i++) {
        const got_chunk *g = &cl->v[i];
        if (g->stage != stage || g->stream != stream)
            continue;
        ck_assert_msg(*neof == 0,
                      "a chunk of stage %zu stream %d after its "
                      "eof call",
                      stage, stream);
        if (g->eof) {
            ck_assert_msg(g->data_null && g->len == 0,
                          "the eof call carries data");
            (*neof)++;
            continue;
        }
        ck_assert_msg(g->len > 0 && !g->data_null, "an empty data chunk");
        buf = realloc(buf, used + g->len + 1);
        ck_assert_ptr_nonnull(buf);
        memcpy(buf + used, g->data, g->len);
        used += g->len;
        (*nchunks)++;
    }
    buf[used] = '\0';
    *len = used;
    return buf;
}

/* ---------------------------------------------------------- handshake */

/* A pipe whose read end becomes the helper's stdin: the helper's readn:1
 * waits for the byte the test's callback writes into it. */
typedef struct handshake {
    int rfd, wfd;
} handshake;

static void hs_open(handshake *h)
{
    int fds[2];

    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    h->rfd = fds[0];
    h->wfd = fds[1];
}

/* Runs the helper writing parts[0..n) (helper escapes) to stdout, each one
 * only after the host has read the one before, so that each is one read of
 * the host.  Decodes stdout with enc/policy (enc NULL: not decoded), cuts
 * lines at max_line (0: default).  Lines go to ll, chunks to cl.  Returns
 * the run's result, or NULL and *err. */
static whelk_result *run_parts(const char *const *parts, size_t n,
                               const char *enc, int policy, size_t max_line,
                               line_log *ll, chunk_log *cl, whelk_error **err)
{
    handshake h;
    whelk_cmd *cmd = whelk_cmd_new(HELPER, (const char *)NULL);
    whelk_pipeline *p;
    whelk_result *r;
    size_t i;

    ck_assert_ptr_nonnull(cmd);
    for (i = 0; i < n; i++) {
        char *a = xasprintf("out:%s", parts[i]);
        ck_assert_ptr_nonnull(a);
        whelk_cmd_arg(cmd, a);
        free(a);
        if (i + 1 < n)
            whelk_cmd_arg(cmd, "readn:1");
    }
    p = whelk_pipe(cmd, (whelk_cmd *)NULL);
    ck_assert_ptr_nonnull(p);
    hs_open(&h);
    whelk_pipeline_stdin_fd(p, h.rfd);
    cl->wfd = h.wfd;
    whelk_pipeline_on_chunk(p, WHELK_STDOUT, log_chunk, cl);
    whelk_pipeline_on_line(p, WHELK_STDOUT, log_line, ll);
    if (enc)
        whelk_pipeline_decode(p, WHELK_STDOUT, enc, policy);
    if (max_line)
        whelk_pipeline_max_line(p, max_line);
    *err = NULL;
    r = whelk_run(p, err);
    whelk_pipeline_free(p);
    close(h.rfd);
    close(h.wfd);
    cl->wfd = -1;
    return r;
}

/* The number of data chunks of stage 0's stdout in cl. */
static size_t stdout_chunks(const chunk_log *cl)
{
    size_t len, nchunks, neof;
    char *all = chunks_of(cl, 0, WHELK_STDOUT, &len, &nchunks, &neof);

    free(all);
    return nchunks;
}

/* The temporary directory of the running test. */
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

/* ===================================================================== */
/* Lines                                                                 */
/* ===================================================================== */

START_TEST(test_lines_tags_and_order_per_stream)
{
    whelk_pipeline *p =
        helper_pipe("out:a\\n", "err:b\\n", "out:c\\n", (const char *)NULL);
    line_log ll;
    whelk_result *r;
    size_t i, nout = 0, nerr = 0;

    line_log_init(&ll);
    whelk_pipeline_on_line(p, WHELK_STDOUT | WHELK_STDERR, log_line, &ll);
    r = run_ok(p);
    /* two pipes: only the order within each stream is fixed */
    ck_assert_uint_eq(ll.n, 3);
    for (i = 0; i < ll.n; i++) {
        const got_line *g = &ll.v[i];
        ck_assert_uint_eq(g->stage, 0);
        ck_assert_uint_eq(g->flags, 0);
        if (g->stream == WHELK_STDOUT) {
            ck_assert_str_eq(g->text, nout ? "c" : "a");
            nout++;
        } else if (g->stream == WHELK_STDERR) {
            ck_assert_str_eq(g->text, "b");
            nerr++;
        } else {
            ck_abort_msg("stream %d", g->stream);
        }
    }
    ck_assert_uint_eq(nout, 2);
    ck_assert_uint_eq(nerr, 1);
    /* capture goes on alongside */
    ASSERT_STDOUT(r, "a\nc\n");
    ASSERT_STDERR(r, "b\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

/*
 * Arrival order across stages and streams.  Stage 0 writes a line to its
 * stderr and then copies the test's handshake pipe into stage 1; stage 1
 * waits for a byte before each of its writes, and the test writes a byte
 * only after its callback got the line before.  So every line is written
 * after the previous one was delivered: the order is fixed by causality.
 */
START_TEST(test_arrival_order_across_stages_and_streams)
{
    handshake h;
    line_log ll;
    whelk_pipeline *p;
    whelk_result *r;
    static const want_line want[] = {
        {0, ERR, "e0", 0},      {1, OUT, "o1", 0},     {1, ERR, "e1", 0},
        {1, OUT, "o1-last", 0}, {0, ERR, "e0-end", 0},
    };

    hs_open(&h);
    line_log_init(&ll);
    ll.wfd = h.wfd;
    ll.close_at = "o1-last";
    p = whelk_pipe(
        helper_cmd("err:e0\\n", "cat", "err:e0-end\\n", (const char *)NULL),
        helper_cmd("readn:1", "out:o1\\n", "readn:1", "err:e1\\n", "readn:1",
                   "out:o1-last\\n", (const char *)NULL),
        (whelk_cmd *)NULL);
    whelk_pipeline_stdin_fd(p, h.rfd);
    whelk_pipeline_on_line(p, WHELK_STDOUT | WHELK_STDERR, log_line, &ll);
    r = run_ok(p);
    close(h.rfd);
    expect_lines(&ll, want, sizeof want / sizeof want[0]);
    ck_assert_int_eq(ll.wfd, -1); /* closed at o1-last */
    /* the capture keeps the same arrival order */
    ASSERT_STDOUT(r, "o1\no1-last\n");
    ASSERT_STDERR(r, "e0\ne1\ne0-end\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    line_log_free(&ll);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* 2>&1 puts both into one pipe, so their order is the order written. */
START_TEST(test_stderr_merged_is_stdout)
{
    whelk_pipeline *p =
        helper_pipe("out:a\\n", "err:b\\n", "out:c\\n", (const char *)NULL);
    line_log ll;
    whelk_result *r;
    static const want_line want[] = {
        {0, OUT, "a", 0}, {0, OUT, "b", 0}, {0, OUT, "c", 0}};

    line_log_init(&ll);
    whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_TO_STDOUT);
    whelk_pipeline_on_line(p, WHELK_STDOUT | WHELK_STDERR, log_line, &ll);
    r = run_ok(p);
    expect_lines(&ll, want, 3);
    ASSERT_STDOUT(r, "a\nb\nc\n");
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

START_TEST(test_crlf_removed_whole_lone_cr_kept)
{
    whelk_pipeline *p = helper_pipe("out:one\\r\\ntwo\\rthree\\n\\r\\n\\r\\r\\n"
                                    "\\rx\\n\\nend\\r",
                                    (const char *)NULL);
    line_log ll;
    whelk_result *r;
    static const want_line want[] = {
        {0, OUT, "one", 0},       {0, OUT, "two\rthree", 0}, {0, OUT, "", 0},
        {0, OUT, "\r", 0},        {0, OUT, "\rx", 0},        {0, OUT, "", 0},
        {0, OUT, "end\r", NOEOL},
    };

    line_log_init(&ll);
    whelk_pipeline_on_line(p, WHELK_STDOUT, log_line, &ll);
    r = run_ok(p);
    expect_lines(&ll, want, sizeof want / sizeof want[0]);
    /* the capture is the bytes as written */
    ASSERT_STDOUT(r, "one\r\ntwo\rthree\n\r\n\r\r\n\rx\n\nend\r");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

START_TEST(test_empty_lines_delivered)
{
    whelk_pipeline *p =
        helper_pipe("out:\\n\\n\\n", "err:\\r\\n", (const char *)NULL);
    line_log ll;
    whelk_result *r;
    size_t i, nout = 0;

    line_log_init(&ll);
    whelk_pipeline_on_line(p, WHELK_STDOUT | WHELK_STDERR, log_line, &ll);
    r = run_ok(p);
    ck_assert_uint_eq(ll.n, 4);
    ck_assert(!ll.bad_nul);
    for (i = 0; i < ll.n; i++) {
        ck_assert_uint_eq(ll.v[i].len, 0);
        ck_assert_uint_eq(ll.v[i].flags, 0);
        nout += ll.v[i].stream == WHELK_STDOUT;
    }
    ck_assert_uint_eq(nout, 3);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

/* A stream with no bytes has no lines: no empty NO_EOL line at its end. */
START_TEST(test_empty_stream_no_lines)
{
    whelk_pipeline *p = helper_pipe("exit:0", (const char *)NULL);
    line_log ll;
    whelk_result *r;

    line_log_init(&ll);
    whelk_pipeline_on_line(p, WHELK_STDOUT | WHELK_STDERR, log_line, &ll);
    r = run_ok(p);
    ck_assert_uint_eq(ll.calls, 0);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

START_TEST(test_last_line_without_newline)
{
    whelk_pipeline *p = helper_pipe("out:a\\nb", "err:c", (const char *)NULL);
    line_log ll;
    whelk_result *r;
    size_t i;
    int seen_b = 0, seen_c = 0;

    line_log_init(&ll);
    whelk_pipeline_on_line(p, WHELK_STDOUT | WHELK_STDERR, log_line, &ll);
    r = run_ok(p);
    ck_assert_uint_eq(ll.n, 3);
    ck_assert(!ll.bad_nul);
    /* stdout in order: "a" then "b" (the stderr line may come anywhere) */
    for (i = 0; i < ll.n; i++) {
        const got_line *g = &ll.v[i];
        if (g->stream == WHELK_STDERR) {
            ck_assert_str_eq(g->text, "c");
            ck_assert_uint_eq(g->flags, WHELK_LINE_NO_EOL);
            seen_c = 1;
        } else if (!seen_b && strcmp(g->text, "a") == 0) {
            ck_assert_uint_eq(g->flags, 0);
        } else {
            ck_assert_str_eq(g->text, "b");
            ck_assert_uint_eq(g->flags, WHELK_LINE_NO_EOL);
            seen_b = 1;
        }
    }
    ck_assert(seen_b && seen_c);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

START_TEST(test_max_line_cut)
{
    whelk_pipeline *p = helper_pipe("out:abcd\\nabcde\\nabcdefgh\\nabcdefghi",
                                    (const char *)NULL);
    line_log ll;
    whelk_result *r;
    static const want_line want[] = {
        {0, OUT, "abcd", 0},                        /* exactly max_line */
        {0, OUT, "abcd", CUT}, {0, OUT, "e", 0},    /* max_line + 1 */
        {0, OUT, "abcd", CUT}, {0, OUT, "efgh", 0}, /* 2 * max_line */
        {0, OUT, "abcd", CUT}, {0, OUT, "efgh", CUT}, {0, OUT, "i", NOEOL},
    };

    line_log_init(&ll);
    whelk_pipeline_max_line(p, 4);
    whelk_pipeline_on_line(p, WHELK_STDOUT, log_line, &ll);
    r = run_ok(p);
    expect_lines(&ll, want, sizeof want / sizeof want[0]);
    /* cutting is for callbacks only: the capture is whole */
    ASSERT_STDOUT(r, "abcd\nabcde\nabcdefgh\nabcdefghi");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

/* In a decoded stream a piece never ends inside a character: "aa\xc3\xa9"
 * (aa + e-acute, 4 bytes) at max_line 3 is "aa" (cut) and the e-acute, in
 * one read and with the character split across two reads. */
START_TEST(test_max_line_cut_utf8_boundary)
{
    static const want_line want[] = {
        {0, OUT, "aa", CUT}, {0, OUT, "\xc3\xa9", 0},
        {0, OUT, "abc", CUT}, {0, OUT, "d", 0},
    };
    static const char *const whole[] = {"aa\\xc3\\xa9\\nabcd\\n"};
    static const char *const split[] = {"aa\\xc3", "\\xa9\\nabcd\\n"};
    const char *const *cases[] = {whole, split};
    size_t counts[] = {1, 2}, k;

    for (k = 0; k < 2; k++) {
        line_log ll;
        chunk_log cl;
        whelk_error *err;
        whelk_result *r;

        line_log_init(&ll);
        chunk_log_init(&cl);
        r = run_parts(cases[k], counts[k], "UTF-8", WHELK_DECODE_STRICT, 3,
                      &ll, &cl, &err);
        ck_assert_msg(r != NULL, "run failed: %s", err_desc(err));
        expect_lines(&ll, want, sizeof want / sizeof want[0]);
        whelk_result_free(r);
        line_log_free(&ll);
        chunk_log_free(&cl);
    }
}
END_TEST

/* Lines longer than one read (the helper writes 64 KiB at a time). */
START_TEST(test_max_line_across_reads)
{
    const size_t m = 128 * 1024;
    whelk_pipeline *p;
    line_log ll;
    whelk_result *r;
    char a1[32], a2[32], a3[32];
    static const size_t want_len[] = {128 * 1024, 128 * 1024, 1,
                                      128 * 1024, 128 * 1024, 1};
    static const unsigned want_flags[] = {0, CUT, 0, CUT, CUT, 0};
    size_t i;

    snprintf(a1, sizeof a1, "outn:%zu", m);
    snprintf(a2, sizeof a2, "outn:%zu", m + 1);
    snprintf(a3, sizeof a3, "outn:%zu", 2 * m + 1);
    p = helper_pipe(a1, "out:\\n", a2, "out:\\n", a3, "out:\\n",
                    (const char *)NULL);
    line_log_init(&ll);
    whelk_pipeline_max_line(p, m);
    whelk_pipeline_on_line(p, WHELK_STDOUT, log_line, &ll);
    whelk_pipeline_stdout(p, WHELK_STREAM);
    r = run_ok(p);
    ck_assert(!ll.bad_nul);
    ck_assert_uint_eq(ll.n, 6);
    for (i = 0; i < 6; i++) {
        ck_assert_msg(ll.v[i].len == want_len[i], "piece %zu: %zu bytes", i,
                      ll.v[i].len);
        ck_assert_msg(ll.v[i].flags == want_flags[i], "piece %zu: flags %u", i,
                      ll.v[i].flags);
        /* m is a multiple of 16: each piece starts the pattern afresh */
        ck_assert_msg(is_pattern(ll.v[i].text, ll.v[i].len),
                      "piece %zu: wrong bytes", i);
    }
    whelk_result_free(r);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

/*
 * A CRLF line of exactly max_line bytes whose "\r" and "\n" arrive in
 * different reads: the line is exactly max_line long without its ending,
 * so it is delivered whole, as when it arrives in one read.
 */
START_TEST(test_crlf_split_at_max_line)
{
    static const struct {
        const char *parts[3];
        size_t n;
        want_line want[3];
        size_t nwant;
    } cases[] = {
        {{"abc\\r", "\\n"}, 2, {{0, OUT, "abc", 0}}, 1},
        {{"ab", "c\\r\\n"}, 2, {{0, OUT, "abc", 0}}, 1},
        {{"abc", "\\r\\n"}, 2, {{0, OUT, "abc", 0}}, 1},
        {{"abcdef\\r", "\\n"},
         2,
         {{0, OUT, "abc", CUT}, {0, OUT, "def", 0}},
         2},
        {{"ab\\r", "\\n"}, 2, {{0, OUT, "ab", 0}}, 1},
        {{"abcd\\r", "\\n", "x"},
         3,
         {{0, OUT, "abc", CUT}, {0, OUT, "d", 0}, {0, OUT, "x", NOEOL}},
         3},
    };
    size_t k;

    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        line_log ll;
        chunk_log cl;
        whelk_error *err;
        whelk_result *r;

        line_log_init(&ll);
        chunk_log_init(&cl);
        snprintf(expect_ctx, sizeof expect_ctx,
                 "case %zu (\"%s\" | \"%s\"): ", k, cases[k].parts[0],
                 cases[k].parts[1]);
        r = run_parts(cases[k].parts, cases[k].n, NULL, 0, 3, &ll, &cl, &err);
        ck_assert_msg(r != NULL, "case %zu: %s", k, err_desc(err));
        ck_assert_uint_eq(stdout_chunks(&cl), cases[k].n);
        expect_lines(&ll, cases[k].want, cases[k].nwant);
        whelk_result_free(r);
        line_log_free(&ll);
        chunk_log_free(&cl);
    }
    expect_ctx[0] = '\0';
}
END_TEST

/* Every text is NUL-terminated at its length, lines inside one read too. */
START_TEST(test_text_nul_terminated)
{
    whelk_pipeline *p = helper_pipe("out:a\\nbb\\nccc\\r\\ndddd", "err:e\\nff",
                                    (const char *)NULL);
    line_log ll;
    whelk_result *r;
    size_t i;

    line_log_init(&ll);
    whelk_pipeline_on_line(p, WHELK_STDOUT | WHELK_STDERR, log_line, &ll);
    r = run_ok(p);
    ck_assert_uint_eq(ll.n, 6);
    ck_assert_msg(!ll.bad_nul, "text[len] != '\\0' in a callback");
    for (i = 0; i < ll.n; i++)
        ck_assert_uint_eq(strlen(ll.v[i].text), ll.v[i].len);
    /* the NUL is put there for the call only: the capture is intact */
    ASSERT_STDOUT(r, "a\nbb\nccc\r\ndddd");
    ASSERT_STDERR(r, "e\nff");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

START_TEST(test_on_line_stream_filter)
{
    whelk_pipeline *p =
        helper_pipe("out:o1\\n", "err:e1\\n", "out:o2\\n", (const char *)NULL);
    line_log ll;
    whelk_result *r;
    static const want_line want[] = {{0, ERR, "e1", 0}};

    line_log_init(&ll);
    whelk_pipeline_on_line(p, WHELK_STDERR, log_line, &ll);
    r = run_ok(p);
    expect_lines(&ll, want, 1);
    ASSERT_STDOUT(r, "o1\no2\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

/* WHELK_STREAM: to callbacks, not kept. */
START_TEST(test_stream_destination_not_kept)
{
    whelk_pipeline *p =
        helper_pipe("lines:3", "errlines:2", (const char *)NULL);
    line_log ll;
    whelk_result *r;
    size_t i, nout = 0, nerr = 0;
    size_t len;

    line_log_init(&ll);
    whelk_pipeline_stdout(p, WHELK_STREAM);
    whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_STREAM);
    whelk_pipeline_on_line(p, WHELK_STDOUT | WHELK_STDERR, log_line, &ll);
    r = run_ok(p);
    for (i = 0; i < ll.n; i++) {
        char want[32];
        if (ll.v[i].stream == WHELK_STDOUT)
            snprintf(want, sizeof want, "line %zu", ++nout);
        else
            snprintf(want, sizeof want, "line %zu", ++nerr);
        ck_assert_str_eq(ll.v[i].text, want);
    }
    ck_assert_uint_eq(nout, 3);
    ck_assert_uint_eq(nerr, 2);
    ck_assert_str_eq(whelk_result_stdout(r, &len), "");
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(whelk_result_stderr(r, &len), "");
    ck_assert_uint_eq(len, 0);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

/* ===================================================================== */
/* Volume                                                                */
/* ===================================================================== */

typedef struct counter {
    long n;
    int bad;   /* a line was not "line <n>" */
    int flags; /* flags seen, or-ed */
} counter;

static int count_line(const whelk_line *l, void *ud)
{
    counter *c = ud;
    char want[32];
    int k;

    c->n++;
    c->flags |= (int)l->flags;
    k = snprintf(want, sizeof want, "line %ld", c->n);
    if (l->stage != 0 || l->stream != WHELK_STDOUT || l->len != (size_t)k ||
        memcmp(l->text, want, (size_t)k) != 0 || l->text[l->len] != '\0')
        c->bad = 1;
    return 0;
}

START_TEST(test_two_million_lines_streamed)
{
    whelk_pipeline *p = helper_pipe("lines:2000000", (const char *)NULL);
    counter c = {0, 0, 0};
    whelk_result *r;
    size_t len;

    whelk_pipeline_stdout(p, WHELK_STREAM);
    whelk_pipeline_on_line(p, WHELK_STDOUT, count_line, &c);
    r = run_ok(p);
    ck_assert_int_eq(c.n, 2000000);
    ck_assert_msg(!c.bad, "a line out of sequence");
    ck_assert_int_eq(c.flags, 0);
    ck_assert_str_eq(whelk_result_stdout(r, &len), "");
    ck_assert_uint_eq(len, 0);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_two_million_lines_captured)
{
    whelk_pipeline *p = helper_pipe("lines:2000000", (const char *)NULL);
    counter c = {0, 0, 0};
    whelk_result *r;
    size_t len, want_len;
    const char *out;
    char *want = lines_text(2000000, &want_len);

    ck_assert_ptr_nonnull(want);
    whelk_pipeline_on_line(p, WHELK_STDOUT, count_line, &c);
    r = run_ok(p);
    ck_assert_int_eq(c.n, 2000000);
    ck_assert_msg(!c.bad, "a line out of sequence");
    out = whelk_result_stdout(r, &len);
    ck_assert_uint_eq(len, want_len);
    ck_assert_msg(memcmp(out, want, len) == 0, "captured bytes differ");
    free(want);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

/* ===================================================================== */
/* Stopping the run from a callback                                      */
/* ===================================================================== */

/* Starts p, runs it to the end, and checks it was aborted promptly and
 * left nothing behind.  Returns the error (caller frees). */
static whelk_error *run_aborted(whelk_pipeline *p)
{
    whelk_error *err = NULL;
    whelk_proc *proc = whelk_start(p, &err);
    whelk_result *r;
    int64_t t0 = now_ms(), elapsed;
    pid_t pid;

    ck_assert_msg(proc != NULL, "start failed: %s", err_desc(err));
    pid = whelk_proc_pid(proc, 0);
    ck_assert_int_gt(pid, 0);
    r = whelk_proc_wait(proc, &err);
    elapsed = now_ms() - t0;
    ck_assert_msg(r == NULL, "the run was not stopped");
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_ABORTED,
                  "expected WHELK_E_ABORTED, got %s", err_desc(err));
    /* the child would have run for 60 s or forever */
    ck_assert_msg(elapsed < 30000,
                  "the run took %lld ms after the callback "
                  "stopped it",
                  (long long)elapsed);
    ck_assert_msg(kill(pid, 0) == -1 && errno == ESRCH,
                  "stage 0 (pid %ld) still exists", (long)pid);
    ASSERT_NO_CHILDREN();
    return err;
}

START_TEST(test_abort_returns_promptly)
{
    whelk_pipeline *p =
        helper_pipe("lines:1", "sleep:60000", (const char *)NULL);
    line_log ll;
    whelk_error *err;
    static const want_line want[] = {{0, OUT, "line 1", 0}};

    line_log_init(&ll);
    ll.stop_at = 1;
    ll.stop_rc = 1;
    whelk_pipeline_on_line(p, WHELK_STDOUT, log_line, &ll);
    err = run_aborted(p);
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    expect_lines(&ll, want, 1);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

/* An endless writer: the callback is not called again after it said stop. */
START_TEST(test_abort_endless_writer)
{
    whelk_pipeline *p = helper_pipe("lines:1000000000000", (const char *)NULL);
    line_log ll;
    whelk_error *err;

    line_log_init(&ll);
    ll.stop_at = 1000;
    ll.stop_rc = 7;
    whelk_pipeline_stdout(p, WHELK_STREAM);
    whelk_pipeline_on_line(p, WHELK_STDOUT, log_line, &ll);
    err = run_aborted(p);
    ck_assert_uint_eq(ll.calls, 1000);
    ck_assert_str_eq(ll.v[999].text, "line 1000");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

/* A grandchild holding the pipe open does not keep the run going. */
START_TEST(test_abort_with_grandchild_holding_pipe)
{
    whelk_pipeline *p = helper_pipe("fork-sleep:60000", "lines:1",
                                    "sleep:60000", (const char *)NULL);
    line_log ll;
    whelk_error *err;

    line_log_init(&ll);
    ll.stop_at = 1;
    ll.stop_rc = 1;
    whelk_pipeline_on_line(p, WHELK_STDOUT, log_line, &ll);
    err = run_aborted(p);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    line_log_free(&ll);
}
END_TEST

/* Stopping at the very last line (delivered at end of stream) still counts;
 * and any non-zero value stops the run -- even -2, which must not be taken
 * for an internal out-of-memory code. */
START_TEST(test_abort_on_last_line_any_value)
{
    static const int values[] = {1, -1, -2, 42};
    size_t i;

    for (i = 0; i < sizeof values / sizeof values[0]; i++) {
        whelk_pipeline *p = helper_pipe("out:x", (const char *)NULL);
        line_log ll;
        whelk_error *err;

        line_log_init(&ll);
        ll.stop_at = 1;
        ll.stop_rc = values[i];
        whelk_pipeline_on_line(p, WHELK_STDOUT, log_line, &ll);
        err = run_fail(p, WHELK_E_ABORTED);
        ck_assert_uint_eq(ll.calls, 1);
        ck_assert_uint_eq(ll.v[0].flags, WHELK_LINE_NO_EOL);
        whelk_error_free(err);
        whelk_pipeline_free(p);
        line_log_free(&ll);
    }
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_abort_from_chunk_callback)
{
    whelk_pipeline *p =
        helper_pipe("outn:1000", "sleep:60000", (const char *)NULL);
    chunk_log cl;
    whelk_error *err;

    chunk_log_init(&cl);
    cl.stop_at = 1;
    whelk_pipeline_on_chunk(p, WHELK_STDOUT, log_chunk, &cl);
    err = run_aborted(p);
    ck_assert_uint_eq(cl.n, 1);
    ck_assert_int_eq(cl.v[0].eof, 0);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    chunk_log_free(&cl);
}
END_TEST

/* ===================================================================== */
/* Chunks                                                                */
/* ===================================================================== */

START_TEST(test_chunks_raw_with_one_eof_each)
{
    whelk_pipeline *p = whelk_pipe(
        helper_cmd("err:s0-err", "out:to-next\\n", (const char *)NULL),
        helper_cmd("drain", "out:hello\\n", "err:s1", "out:world",
                   (const char *)NULL),
        (whelk_cmd *)NULL);
    chunk_log cl;
    whelk_result *r;
    static const struct {
        size_t stage;
        int stream;
        const char *bytes;
    } want[] = {{0, ERR, "s0-err"}, {1, OUT, "hello\nworld"}, {1, ERR, "s1"}};
    size_t i, k, total_eof = 0;

    chunk_log_init(&cl);
    whelk_pipeline_on_chunk(p, WHELK_STDOUT | WHELK_STDERR, log_chunk, &cl);
    r = run_ok(p);
    for (k = 0; k < 3; k++) {
        size_t len, nchunks, neof;
        char *all = chunks_of(&cl, want[k].stage, want[k].stream, &len,
                              &nchunks, &neof);
        ASSERT_NAMED_BYTES("chunks", all, len, want[k].bytes, strlen(want[k].bytes));
        ck_assert_msg(neof == 1, "stage %zu stream %d: %zu eof calls",
                      want[k].stage, want[k].stream, neof);
        ck_assert_uint_ge(nchunks, 1);
        free(all);
    }
    /* nothing else: stage 0's stdout goes down the pipe, not to the host */
    for (i = 0; i < cl.n; i++) {
        int known = 0;
        for (k = 0; k < 3; k++)
            known |= cl.v[i].stage == want[k].stage &&
                     cl.v[i].stream == want[k].stream;
        ck_assert_msg(known, "a chunk of stage %zu stream %d", cl.v[i].stage,
                      cl.v[i].stream);
        total_eof += cl.v[i].eof != 0;
    }
    ck_assert_uint_eq(total_eof, 3);
    ASSERT_STDOUT(r, "hello\nworld");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    chunk_log_free(&cl);
}
END_TEST

/* Binary data, NUL bytes included, arrives exactly. */
START_TEST(test_chunks_binary_exact)
{
    whelk_pipeline *p =
        helper_pipe("outn:300000", "out:\\x00\\xff\\x00", (const char *)NULL);
    chunk_log cl;
    whelk_result *r;
    size_t len, nchunks, neof;
    char *all, *want = pattern_bytes(300003);

    ck_assert_ptr_nonnull(want);
    memcpy(want + 300000, "\0\xff\0", 3);
    chunk_log_init(&cl);
    whelk_pipeline_stdout(p, WHELK_STREAM);
    whelk_pipeline_on_chunk(p, WHELK_STDOUT, log_chunk, &cl);
    r = run_ok(p);
    all = chunks_of(&cl, 0, WHELK_STDOUT, &len, &nchunks, &neof);
    ck_assert_uint_eq(len, 300003);
    ck_assert(memcmp(all, want, len) == 0);
    ck_assert_uint_eq(neof, 1);
    free(all);
    free(want);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    chunk_log_free(&cl);
}
END_TEST

/* Chunks are the bytes as read, before decoding; lines and capture are
 * decoded. */
START_TEST(test_chunks_before_decoding)
{
    whelk_pipeline *p = helper_pipe("out:caf\\xe9\\n", (const char *)NULL);
    chunk_log cl;
    line_log ll;
    whelk_result *r;
    size_t len, nchunks, neof;
    char *all;
    static const want_line want[] = {{0, OUT, "caf\xC3\xA9", 0}};

    chunk_log_init(&cl);
    line_log_init(&ll);
    whelk_pipeline_decode(p, WHELK_STDOUT, "ISO-8859-1", WHELK_DECODE_STRICT);
    whelk_pipeline_on_chunk(p, WHELK_STDOUT, log_chunk, &cl);
    whelk_pipeline_on_line(p, WHELK_STDOUT, log_line, &ll);
    r = run_ok(p);
    all = chunks_of(&cl, 0, WHELK_STDOUT, &len, &nchunks, &neof);
    ASSERT_NAMED_BYTES("chunks", all, len, "caf\xE9\n", 5);
    expect_lines(&ll, want, 1);
    ASSERT_STDOUT(r, "caf\xC3\xA9\n");
    free(all);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    chunk_log_free(&cl);
    line_log_free(&ll);
}
END_TEST

START_TEST(test_chunk_stream_filter)
{
    whelk_pipeline *p = helper_pipe("out:o", "err:e", (const char *)NULL);
    chunk_log cl;
    whelk_result *r;
    size_t i;

    chunk_log_init(&cl);
    whelk_pipeline_on_chunk(p, WHELK_STDERR, log_chunk, &cl);
    r = run_ok(p);
    ck_assert_uint_ge(cl.n, 2);
    for (i = 0; i < cl.n; i++)
        ck_assert_int_eq(cl.v[i].stream, WHELK_STDERR);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    chunk_log_free(&cl);
}
END_TEST

/* ===================================================================== */
/* Decoding                                                              */
/* ===================================================================== */

/* Runs the helper with the actions, stdout decoded from enc with policy;
 * lines to ll (may be NULL). */
static whelk_result *run_decoded(const char *enc, int policy, line_log *ll,
                                 whelk_error **err, const char *const *actions)
{
    whelk_pipeline *p = whelk_pipe(helper_cmdv(actions), (whelk_cmd *)NULL);
    whelk_result *r;

    ck_assert_ptr_nonnull(p);
    whelk_pipeline_decode(p, WHELK_STDOUT, enc, policy);
    if (ll)
        whelk_pipeline_on_line(p, WHELK_STDOUT, log_line, ll);
    *err = NULL;
    r = whelk_run(p, err);
    whelk_pipeline_free(p);
    return r;
}

START_TEST(test_decode_latin1)
{
    static const char *const act[] = {"out:caf\\xe9 \\xff\\xa0\\xbf\\n",
                                      "out:\\x80\\x9f", NULL};
    line_log ll;
    whelk_error *err;
    whelk_result *r;
    static const want_line want[] = {
        {0, OUT, "caf\xC3\xA9 \xC3\xBF\xC2\xA0\xC2\xBF", 0},
        {0, OUT, "\xC2\x80\xC2\x9F", NOEOL}};

    line_log_init(&ll);
    r = run_decoded("ISO-8859-1", WHELK_DECODE_STRICT, &ll, &err, act);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ASSERT_STDOUT(r, "caf\xC3\xA9 \xC3\xBF\xC2\xA0\xC2\xBF\n\xC2\x80\xC2\x9F");
    expect_lines(&ll, want, 2);
    whelk_result_free(r);
    line_log_free(&ll);
}
END_TEST

START_TEST(test_decode_selected_stream_only)
{
    whelk_pipeline *p =
        helper_pipe("out:\\xe9", "err:\\xe9", (const char *)NULL);
    whelk_result *r;

    whelk_pipeline_decode(p, WHELK_STDERR, "ISO-8859-1", WHELK_DECODE_STRICT);
    r = run_ok(p);
    ASSERT_STDOUT(r, "\xE9");
    ASSERT_STDERR(r, "\xC3\xA9");
    whelk_result_free(r);
    /* NULL turns decoding off again */
    whelk_pipeline_decode(p, WHELK_STDERR, NULL, WHELK_DECODE_STRICT);
    r = run_ok(p);
    ASSERT_STDERR(r, "\xE9");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_decode_utf16le)
{
    /* "hi\n", U+20AC "\n", U+1F600 (a surrogate pair) "\n", "z" */
    static const char *const act[] = {
        "out:h\\x00i\\x00\\n\\x00\\xac\\x20\\n\\x00="
        "\\xd8\\x00\\xde\\n\\x00z\\x00",
        NULL};
    line_log ll;
    whelk_error *err;
    whelk_result *r;
    static const want_line want[] = {{0, OUT, "hi", 0},
                                     {0, OUT, "\xE2\x82\xAC", 0},
                                     {0, OUT, "\xF0\x9F\x98\x80", 0},
                                     {0, OUT, "z", NOEOL}};

    line_log_init(&ll);
    r = run_decoded("UTF-16LE", WHELK_DECODE_STRICT, &ll, &err, act);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ASSERT_STDOUT(r, "hi\n\xE2\x82\xAC\n\xF0\x9F\x98\x80\nz");
    expect_lines(&ll, want, 4);
    whelk_result_free(r);
    line_log_free(&ll);
}
END_TEST

/* A multibyte sequence split across reads is kept whole.  Each part below
 * is exactly one read of the host (see run_parts). */
START_TEST(test_decode_split_sequences)
{
    static const struct {
        const char *enc;
        const char *parts[4];
        size_t n;
        const char *want;
    } cases[] = {
        {"UTF-8", {"\\xc3", "\\xa9\\n"}, 2, "\xC3\xA9\n"},
        {"UTF-8", {"\\xf0", "\\x9f\\x98", "\\x80\\n"}, 3, "\xF0\x9F\x98\x80\n"},
        {"UTF-8",
         {"a\\xe2\\x82", "\\xac", "b"},
         3,
         "a\xE2\x82\xAC"
         "b"},
        {"UTF-16LE", {"h", "\\x00\\n\\x00"}, 2, "h\n"},
        {"UTF-16LE", {"=\\xd8", "\\x00\\xde\\n\\x00"}, 2, "\xF0\x9F\x98\x80\n"},
        {"UTF-16LE", {"=\\xd8\\x00", "\\xde\\n\\x00"}, 2, "\xF0\x9F\x98\x80\n"},
        {"UTF-16LE",
         {"=", "\\xd8", "\\x00", "\\xde\\n\\x00"},
         4,
         "\xF0\x9F\x98\x80\n"},
        {"SHIFT_JIS", {"a\\x82", "\\xa0\\n"}, 2, "a\xE3\x81\x82\n"},
        {"ISO-8859-1", {"\\xe9", "\\xe9"}, 2, "\xC3\xA9\xC3\xA9"},
    };
    size_t k;

    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int policy;
        for (policy = 0; policy <= 1; policy++) {
            line_log ll;
            chunk_log cl;
            whelk_error *err;
            whelk_result *r;
            size_t len;
            const char *out;

            line_log_init(&ll);
            chunk_log_init(&cl);
            r = run_parts(cases[k].parts, cases[k].n, cases[k].enc, policy, 0,
                          &ll, &cl, &err);
            ck_assert_msg(r != NULL, "case %zu (%s): %s", k, cases[k].enc,
                          err_desc(err));
            ck_assert_msg(stdout_chunks(&cl) == cases[k].n,
                          "case %zu: %zu reads", k, stdout_chunks(&cl));
            out = whelk_result_stdout(r, &len);
            ck_assert_msg(len == strlen(cases[k].want) &&
                              memcmp(out, cases[k].want, len) == 0,
                          "case %zu (%s, policy %d): \"%s\"", k, cases[k].enc,
                          policy, out);
            ck_assert(!ll.bad_nul);
            whelk_result_free(r);
            line_log_free(&ll);
            chunk_log_free(&cl);
        }
    }
}
END_TEST

/* A large text through `cat` both ways: stdin encoded, stdout decoded.
 * Reads split the stream anywhere; the text must come back exactly. */
START_TEST(test_decode_roundtrip_large)
{
    static const char *const pieces[] = {
        "ascii text ",      "\n",           "x",
        "caf\xC3\xA9 ",     "\xC3\xBF",     "\xE3\x81\x82\xE3\x81\x84",
        "\xF0\x9F\x98\x80", "\xE2\x82\xAC",
    };
    static const struct {
        const char *enc;
        unsigned pieces; /* bit k: pieces[k] is representable */
    } encs[] = {
        {"UTF-16LE", 0xff},   {"UTF-8", 0xff},   {"SHIFT_JIS", 0x27},
        {"ISO-8859-1", 0x1f}, {"GB18030", 0xff},
    };
    size_t e;

    for (e = 0; e < sizeof encs / sizeof encs[0]; e++) {
        char *text = malloc(700000);
        size_t used = 0;
        unsigned x = 12345;
        whelk_pipeline *p;
        whelk_result *r;
        const char *out;
        size_t len;

        ck_assert_ptr_nonnull(text);
        while (used < 600000) {
            size_t k;
            x = x * 1103515245u + 12345u;
            k = (x >> 16) % (sizeof pieces / sizeof pieces[0]);
            if (!(encs[e].pieces & (1u << k)))
                continue;
            memcpy(text + used, pieces[k], strlen(pieces[k]));
            used += strlen(pieces[k]);
        }
        text[used] = '\0';
        p = helper_pipe("cat", (const char *)NULL);
        whelk_pipeline_stdin_bytes(p, text, used);
        whelk_pipeline_stdin_encoding(p, encs[e].enc);
        whelk_pipeline_decode(p, WHELK_STDOUT, encs[e].enc,
                              WHELK_DECODE_STRICT);
        r = run_ok(p);
        out = whelk_result_stdout(r, &len);
        ck_assert_msg(len == used && memcmp(out, text, len) == 0,
                      "%s: the text did not come back (%zu bytes of %zu)",
                      encs[e].enc, len, used);
        whelk_result_free(r);
        whelk_pipeline_free(p);
        free(text);
    }
}
END_TEST

START_TEST(test_strict_invalid_names_stream_command_offset)
{
    static const char *const act[] = {"out:ok\\n\\xffrest\\n", NULL};
    whelk_error *err;
    whelk_result *r;
    const char *msg;

    r = run_decoded("UTF-8", WHELK_DECODE_STRICT, NULL, &err, act);
    ck_assert_ptr_null(r);
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_DECODE, "%s", err_desc(err));
    msg = whelk_error_message(err);
    ck_assert_msg(contains(msg, "stdout"), "no stream in \"%s\"", msg);
    /* one command: the message names it (no stage number) */
    ck_assert_msg(contains(msg, "whelk-helper 'out:ok"), "no command in \"%s\"",
                  msg);
    ck_assert_msg(offset_in(msg) == 3, "offset 3 not in \"%s\"", msg);
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    whelk_error_free(err);
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_strict_invalid_stderr_of_stage_1)
{
    whelk_pipeline *p =
        whelk_pipe(helper_cmd("out:x\\n", (const char *)NULL),
                   helper_cmd("drain", "err:abcd\\x80\\n", (const char *)NULL),
                   (whelk_cmd *)NULL);
    whelk_error *err;
    const char *msg;

    whelk_pipeline_decode(p, WHELK_STDERR, "UTF-8", WHELK_DECODE_STRICT);
    err = run_fail(p, WHELK_E_DECODE);
    msg = whelk_error_message(err);
    ck_assert_msg(contains(msg, "stderr"), "no stream in \"%s\"", msg);
    /* the stage's own command, and its number counted from 1 as every
     * message of a pipeline counts */
    ck_assert_msg(contains(msg, "whelk-helper drain"), "no command in \"%s\"",
                  msg);
    ck_assert_msg(contains(msg, "stage 2 of 2"), "no stage in \"%s\"", msg);
    ck_assert_msg(offset_in(msg) == 4, "offset 4 not in \"%s\"", msg);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* The offset counts every byte of the stream, over many reads. */
START_TEST(test_strict_offset_far_into_stream)
{
    static const char *const act[] = {"outn:300001", "out:\\xc3\\x28", NULL};
    whelk_error *err;
    whelk_result *r;

    r = run_decoded("UTF-8", WHELK_DECODE_STRICT, NULL, &err, act);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_DECODE);
    ck_assert_msg(offset_in(whelk_error_message(err)) == 300001,
                  "offset 300001 not in \"%s\"", whelk_error_message(err));
    whelk_error_free(err);
}
END_TEST

/* Invalid input under STRICT stops a long-running child at once. */
START_TEST(test_strict_stops_the_run)
{
    static const char *const act[] = {"out:\\xff", "sleep:60000", NULL};
    whelk_error *err;
    whelk_result *r;
    int64_t t0 = now_ms();

    r = run_decoded("UTF-8", WHELK_DECODE_STRICT, NULL, &err, act);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_DECODE);
    ck_assert_msg(now_ms() - t0 < 30000, "the run was not stopped");
    whelk_error_free(err);
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_strict_invalid_split_across_reads)
{
    static const char *const parts[] = {"ab\\xe2\\x82", "X\\n"};
    line_log ll;
    chunk_log cl;
    whelk_error *err;
    whelk_result *r;

    line_log_init(&ll);
    chunk_log_init(&cl);
    r = run_parts(parts, 2, "UTF-8", WHELK_DECODE_STRICT, 0, &ll, &cl, &err);
    ck_assert_ptr_null(r);
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_DECODE, "%s", err_desc(err));
    ck_assert_msg(offset_in(whelk_error_message(err)) == 2,
                  "offset 2 not in \"%s\"", whelk_error_message(err));
    whelk_error_free(err);
    line_log_free(&ll);
    chunk_log_free(&cl);
}
END_TEST

START_TEST(test_replace_invalid)
{
    static const struct {
        const char *enc;
        const char *act;
        const char *want;
    } cases[] = {
        /* a lone byte, a cut-short sequence (one U+FFFD), an overlong (each
         * byte), a surrogate (each byte), beyond U+10FFFF (each byte) */
        {"UTF-8",
         "out:"
         "a\\xffb\\xe2\\x82X\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80\\n",
         "a" FFFD "b" FFFD "X" FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD
         "\n"},
        /* a high surrogate followed by a character */
        {"UTF-16LE", "out:a\\x00\\x00\\xd8b\\x00", "a" FFFD "b"},
        /* a lead byte followed by a space; a byte that is nothing */
        {"SHIFT_JIS", "out:\\x82 \\x80x", FFFD " " FFFD "x"},
        /* bytes CP1252 leaves undefined */
        {"CP1252", "out:\\x80\\x81z", "\xE2\x82\xAC" FFFD "z"},
        /* bytes that are nothing in CP932: what follows each is kept */
        {"CP932",
         "out:A\\xa0"
         "AB\\x80xyz\\n",
         "A" FFFD "AB" FFFD "xyz\n"},
    };
    size_t k;

    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *act[2] = {cases[k].act, NULL};
        whelk_error *err;
        whelk_result *r =
            run_decoded(cases[k].enc, WHELK_DECODE_REPLACE, NULL, &err, act);
        ck_assert_msg(r != NULL, "%s: %s", cases[k].enc, err_desc(err));
        ASSERT_STDOUT(r, cases[k].want);
        whelk_result_free(r);
        /* and the same under STRICT is an error */
        r = run_decoded(cases[k].enc, WHELK_DECODE_STRICT, NULL, &err, act);
        ck_assert_msg(r == NULL && whelk_error_kind(err) == WHELK_E_DECODE,
                      "%s under STRICT: %s", cases[k].enc, err_desc(err));
        whelk_error_free(err);
    }
}
END_TEST

/* A sequence cut off by the end of the stream is invalid. */
START_TEST(test_truncated_at_end_of_stream)
{
    static const struct {
        const char *enc;
        const char *act;
        long long offset;
        const char *replaced;
    } cases[] = {
        {"UTF-8", "out:ab\\xe2\\x82", 2, "ab" FFFD},
        {"UTF-8", "out:\\n\\xf0\\x9f\\x98", 1, "\n" FFFD},
        {"UTF-16LE", "out:a\\x00b", 2, "a" FFFD},
        {"UTF-16LE", "out:a\\x00=\\xd8", 2, "a" FFFD},
        {"SHIFT_JIS", "out:xy\\x82", 2, "xy" FFFD},
    };
    size_t k;

    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *act[2] = {cases[k].act, NULL};
        line_log ll;
        whelk_error *err;
        whelk_result *r;

        r = run_decoded(cases[k].enc, WHELK_DECODE_STRICT, NULL, &err, act);
        ck_assert_msg(r == NULL && whelk_error_kind(err) == WHELK_E_DECODE,
                      "case %zu (%s): %s", k, cases[k].enc, err_desc(err));
        ck_assert_msg(offset_in(whelk_error_message(err)) == cases[k].offset,
                      "case %zu: offset %lld not in \"%s\"", k, cases[k].offset,
                      whelk_error_message(err));
        whelk_error_free(err);

        line_log_init(&ll);
        r = run_decoded(cases[k].enc, WHELK_DECODE_REPLACE, &ll, &err, act);
        ck_assert_msg(r != NULL, "case %zu: %s", k, err_desc(err));
        ASSERT_STDOUT(r, cases[k].replaced);
        ck_assert_uint_ge(ll.n, 1);
        ck_assert_uint_eq(ll.v[ll.n - 1].flags, WHELK_LINE_NO_EOL);
        whelk_result_free(r);
        line_log_free(&ll);
    }
}
END_TEST

START_TEST(test_truncated_after_split)
{
    static const char *const parts[] = {"ab\\xf0\\x9f", "\\x98"};
    int policy;

    for (policy = 0; policy <= 1; policy++) {
        line_log ll;
        chunk_log cl;
        whelk_error *err;
        whelk_result *r;

        line_log_init(&ll);
        chunk_log_init(&cl);
        r = run_parts(parts, 2, "UTF-8", policy, 0, &ll, &cl, &err);
        if (policy == WHELK_DECODE_STRICT) {
            ck_assert_msg(r == NULL && whelk_error_kind(err) == WHELK_E_DECODE,
                          "%s", err_desc(err));
            ck_assert_msg(offset_in(whelk_error_message(err)) == 2,
                          "offset 2 not in \"%s\"", whelk_error_message(err));
            whelk_error_free(err);
        } else {
            static const want_line want[] = {{0, OUT, "ab" FFFD, NOEOL}};
            ck_assert_msg(r != NULL, "%s", err_desc(err));
            ASSERT_STDOUT(r, "ab" FFFD);
            expect_lines(&ll, want, 1);
            whelk_result_free(r);
        }
        line_log_free(&ll);
        chunk_log_free(&cl);
    }
}
END_TEST

START_TEST(test_unknown_encoding_nothing_spawned)
{
    char *marker = path_join(tmpdir, "ran");
    char *touch = xasprintf("touch:%s", marker);
    static const int streams[] = {WHELK_STDOUT, WHELK_STDERR};
    size_t i;

    for (i = 0; i < 2; i++) {
        whelk_pipeline *p = helper_pipe(touch, (const char *)NULL);
        whelk_error *err;

        whelk_pipeline_decode(p, streams[i], "NO-SUCH-CHARSET-42",
                              WHELK_DECODE_STRICT);
        err = run_fail(p, WHELK_E_INVALID);
        ck_assert_msg(contains(whelk_error_message(err), "NO-SUCH-CHARSET-42"),
                      "the encoding is not named: %s", err_desc(err));
        ck_assert_msg(!path_exists(marker), "the helper ran");
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }
    /* the same for stdin */
    {
        whelk_pipeline *p = helper_pipe(touch, (const char *)NULL);
        whelk_error *err;

        whelk_pipeline_stdin_bytes(p, "x", 1);
        whelk_pipeline_stdin_encoding(p, "NO-SUCH-CHARSET-42");
        err = run_fail(p, WHELK_E_INVALID);
        ck_assert_msg(!path_exists(marker), "the helper ran");
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }
    /* a bad policy, and max_line 0 */
    {
        whelk_pipeline *p = helper_pipe(touch, (const char *)NULL);
        whelk_error *err;

        whelk_pipeline_decode(p, WHELK_STDOUT, "UTF-8", 7);
        err = run_fail(p, WHELK_E_INVALID);
        ck_assert(!path_exists(marker));
        whelk_error_free(err);
        whelk_pipeline_free(p);
        p = helper_pipe(touch, (const char *)NULL);
        whelk_pipeline_max_line(p, 0);
        err = run_fail(p, WHELK_E_INVALID);
        ck_assert(!path_exists(marker));
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }
    ASSERT_NO_CHILDREN();
    free(touch);
    free(marker);
}
END_TEST

/* "locale" is the host's charset: the same as naming it. */
START_TEST(test_locale_encoding)
{
    static const char *const act[] = {"out:hello\\n",
                                      "out:caf\\xc3\\xa9 \\xe9\\n", NULL};
    whelk_error *err;
    whelk_result *a, *b;
    const char *sa, *sb;
    size_t la, lb;

    a = run_decoded("locale", WHELK_DECODE_REPLACE, NULL, &err, act);
    ck_assert_msg(a != NULL, "%s", err_desc(err));
    b = run_decoded(nl_langinfo(CODESET), WHELK_DECODE_REPLACE, NULL, &err,
                    act);
    ck_assert_msg(b != NULL, "%s: %s", nl_langinfo(CODESET), err_desc(err));
    sa = whelk_result_stdout(a, &la);
    sb = whelk_result_stdout(b, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert(memcmp(sa, sb, la) == 0);
    ck_assert(strncmp(sa, "hello\n", 6) == 0);
    whelk_result_free(a);
    whelk_result_free(b);
}
END_TEST

/* ===================================================================== */
/* stdin encoding                                                        */
/* ===================================================================== */

START_TEST(test_stdin_encoding_latin1)
{
    whelk_pipeline *p = helper_pipe("cat", (const char *)NULL);
    static const char text[] = "caf\xC3\xA9 \xC3\xBF\n";
    whelk_result *r;

    whelk_pipeline_stdin_bytes(p, text, strlen(text));
    whelk_pipeline_stdin_encoding(p, "ISO-8859-1");
    r = run_ok(p);
    ASSERT_STDOUT(r, "caf\xE9 \xFF\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stdin_encoding_utf16le)
{
    whelk_pipeline *p = helper_pipe("cat", (const char *)NULL);
    static const char text[] = "h\xE2\x82\xAC";
    whelk_result *r;
    size_t len;
    const char *out;

    whelk_pipeline_stdin_bytes(p, text, strlen(text));
    whelk_pipeline_stdin_encoding(p, "UTF-16LE");
    r = run_ok(p);
    out = whelk_result_stdout(r, &len);
    ck_assert_uint_eq(len, 4);
    ck_assert(memcmp(out, "h\0\xAC\x20", 4) == 0);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_stdin_unencodable)
{
    char *marker = path_join(tmpdir, "ran");
    char *touch = xasprintf("touch:%s", marker);
    static const struct {
        const char *text;
        long long offset;
    } cases[] = {
        {"ab\xE2\x82\xAC", 2}, /* U+20AC has no ISO-8859-1 byte */
        {"abc\xFF", 3},        /* not UTF-8 at all */
    };
    size_t k;

    for (k = 0; k < 2; k++) {
        whelk_pipeline *p = helper_pipe(touch, "cat", (const char *)NULL);
        whelk_error *err;

        whelk_pipeline_stdin_bytes(p, cases[k].text, strlen(cases[k].text));
        whelk_pipeline_stdin_encoding(p, "ISO-8859-1");
        err = run_fail(p, WHELK_E_DECODE);
        ck_assert_msg(offset_in(whelk_error_message(err)) == cases[k].offset,
                      "offset %lld not in \"%s\"", cases[k].offset,
                      whelk_error_message(err));
        ck_assert_msg(!path_exists(marker), "the helper ran");
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }
    ASSERT_NO_CHILDREN();
    free(touch);
    free(marker);
}
END_TEST

/* ===================================================================== */
/* Hooks                                                                 */
/* ===================================================================== */

typedef struct hooks {
    int starts, exits;
    int retries; /* return WHELK_RETRY this many times */
    const whelk_pipeline *seen_p;
    char *tostring; /* of the first on_start */
    int saw_result[8], saw_error[8], error_kind[8], exit_code[8];
    int result_is_errors[8];  /* result == whelk_error_result(error) */
    char *stdout_seen;        /* stdout of the last result seen */
    const char *make_program; /* on a failure: symlink the helper here */
} hooks;

static void on_start(const whelk_pipeline *p, void *ud)
{
    hooks *h = ud;

    h->starts++;
    h->seen_p = p;
    if (!h->tostring)
        h->tostring = whelk_pipeline_tostring(p);
}

static int on_exit_hook(const whelk_result *r, const whelk_error *e, void *ud)
{
    hooks *h = ud;
    int i = h->exits++;

    if (i < 8) {
        h->saw_result[i] = r != NULL;
        h->saw_error[i] = e != NULL;
        h->error_kind[i] = whelk_error_kind(e);
        h->exit_code[i] = r ? whelk_result_exit_code(r, 0) : -100;
        h->result_is_errors[i] = e && r == whelk_error_result(e);
    }
    if (r) {
        free(h->stdout_seen);
        h->stdout_seen = strdup(whelk_result_stdout(r, NULL));
    }
    if (e && h->make_program && symlink(HELPER, h->make_program) < 0)
        abort();
    if (h->retries > 0) {
        h->retries--;
        return WHELK_RETRY;
    }
    return 0;
}

static void hooks_free(hooks *h)
{
    free(h->tostring);
    free(h->stdout_seen);
}

START_TEST(test_on_exit_sees_result_on_success)
{
    whelk_pipeline *p = helper_pipe("out:x\\n", (const char *)NULL);
    hooks h;
    whelk_result *r;

    memset(&h, 0, sizeof h);
    whelk_pipeline_on_start(p, on_start, &h);
    whelk_pipeline_on_exit(p, on_exit_hook, &h);
    r = run_ok(p);
    ck_assert_int_eq(h.starts, 1);
    ck_assert_int_eq(h.exits, 1);
    ck_assert_ptr_eq(h.seen_p, p);
    ck_assert_msg(contains(h.tostring, "whelk-helper"), "tostring: %s",
                  h.tostring);
    ck_assert(h.saw_result[0] && !h.saw_error[0]);
    ck_assert_int_eq(h.exit_code[0], 0);
    ck_assert_str_eq(h.stdout_seen, "x\n");
    ASSERT_STDOUT(r, "x\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    hooks_free(&h);
}
END_TEST

START_TEST(test_retry_from_on_exit)
{
    whelk_pipeline *p = helper_pipe("out:try\\n", "exit:1", (const char *)NULL);
    hooks h;
    whelk_error *err;
    int i;

    memset(&h, 0, sizeof h);
    h.retries = 2;
    whelk_pipeline_on_start(p, on_start, &h);
    whelk_pipeline_on_exit(p, on_exit_hook, &h);
    err = run_fail(p, WHELK_E_EXIT);
    ck_assert_int_eq(h.starts, 3);
    ck_assert_int_eq(h.exits, 3);
    for (i = 0; i < 3; i++) {
        ck_assert_msg(h.saw_result[i] && h.saw_error[i], "attempt %d", i);
        ck_assert_int_eq(h.error_kind[i], WHELK_E_EXIT);
        ck_assert_int_eq(h.exit_code[i], 1);
        ck_assert(h.result_is_errors[i]);
    }
    ck_assert_int_eq(whelk_error_exit_code(err), 1);
    ck_assert_str_eq(whelk_result_stdout(whelk_error_result(err), NULL),
                     "try\n");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    hooks_free(&h);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* A failure to start reaches on_exit as (NULL, error), and may be retried:
 * here the hook puts the program in place before the second attempt. */
START_TEST(test_retry_after_failure_to_start)
{
    char *prog = path_join(tmpdir, "tool");
    whelk_pipeline *p =
        whelk_pipe(whelk_cmd_new(prog, "out:second\\n", (const char *)NULL),
                   (whelk_cmd *)NULL);
    hooks h;
    whelk_result *r;

    memset(&h, 0, sizeof h);
    h.retries = 1;
    h.make_program = prog;
    whelk_pipeline_on_start(p, on_start, &h);
    whelk_pipeline_on_exit(p, on_exit_hook, &h);
    r = run_ok(p);
    ck_assert_int_eq(h.starts, 2);
    ck_assert_int_eq(h.exits, 2);
    ck_assert(!h.saw_result[0] && h.saw_error[0]);
    ck_assert_int_eq(h.error_kind[0], WHELK_E_NOTFOUND);
    ck_assert(h.saw_result[1] && !h.saw_error[1]);
    ASSERT_STDOUT(r, "second\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    hooks_free(&h);
    free(prog);
}
END_TEST

START_TEST(test_failure_to_start_not_retried)
{
    whelk_pipeline *p =
        whelk_pipe(whelk_cmd_new("/nonexistent/whelk/prog", (const char *)NULL),
                   (whelk_cmd *)NULL);
    hooks h;
    whelk_error *err;

    memset(&h, 0, sizeof h);
    whelk_pipeline_on_exit(p, on_exit_hook, &h);
    err = run_fail(p, WHELK_E_NOTFOUND);
    ck_assert_int_eq(h.exits, 1);
    ck_assert(!h.saw_result[0] && h.saw_error[0]);
    ck_assert_int_eq(h.error_kind[0], WHELK_E_NOTFOUND);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    hooks_free(&h);
}
END_TEST

/* ===================================================================== */
/* Shells                                                                */
/* ===================================================================== */

typedef struct errhook {
    int calls;
    const whelk_error *last;
    int kind;
    char *message;
} errhook;

static void on_error(const whelk_error *e, void *ud)
{
    errhook *h = ud;

    h->calls++;
    h->last = e;
    h->kind = whelk_error_kind(e);
    free(h->message);
    h->message = strdup(whelk_error_message(e));
}

START_TEST(test_shell_defaults_inherited)
{
    whelk_shell *sh = whelk_shell_new();
    line_log ll;
    errhook eh;
    hooks hk;
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_pipeline *p;
    char real[PATH_MAX], *want;

    ck_assert_ptr_nonnull(sh);
    ck_assert_ptr_nonnull(realpath(tmpdir, real));
    line_log_init(&ll);
    memset(&eh, 0, sizeof eh);
    memset(&hk, 0, sizeof hk);
    whelk_shell_setenv(sh, "WHELK_FOO", "bar");
    whelk_shell_chdir(sh, tmpdir);
    whelk_shell_check(sh, 0);
    whelk_shell_decode(sh, WHELK_STDOUT, "ISO-8859-1", WHELK_DECODE_STRICT);
    whelk_shell_on_line(sh, WHELK_STDOUT, log_line, &ll);
    whelk_shell_on_error(sh, on_error, &eh);
    whelk_shell_on_start(sh, on_start, &hk);
    whelk_shell_on_exit(sh, on_exit_hook, &hk);

    /* env, cwd, decoding, lines, checking off, hooks */
    r = whelk_shell_sh(sh, &err, HELPER, "env:WHELK_FOO", "pwd",
                       "out:caf\\xe9\\n", "exit:3", (const char *)NULL);
    ck_assert_msg(r != NULL, "checking is off: %s", err_desc(err));
    want = xasprintf("bar\n%s\ncaf\xC3\xA9\n", real);
    ASSERT_STDOUT(r, want);
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 3);
    ck_assert_uint_eq(ll.n, 3);
    ck_assert_str_eq(ll.v[0].text, "bar");
    ck_assert_str_eq(ll.v[1].text, real);
    ck_assert_str_eq(ll.v[2].text, "caf\xC3\xA9");
    ck_assert_int_eq(hk.starts, 1);
    ck_assert_int_eq(hk.exits, 1);
    ck_assert_int_eq(eh.calls, 0);
    whelk_result_free(r);
    free(want);

    /* a pipeline made through the shell keeps what it inherited when it
     * was made; its own commands may override */
    p = whelk_shell_pipe(
        sh, whelk_shell_cmd(sh, HELPER, "env:WHELK_FOO", (const char *)NULL),
        whelk_shell_cmd(sh, HELPER, "cat", "env:WHELK_FOO", (const char *)NULL),
        (whelk_cmd *)NULL);
    whelk_cmd_setenv(whelk_pipeline_cmd(p, 1), "WHELK_FOO", "own");
    whelk_shell_setenv(sh, "WHELK_FOO", "changed later");
    r = run_ok(p);
    ASSERT_STDOUT(r, "bar\nown\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    ck_assert_int_eq(eh.calls, 0);

    whelk_shell_free(sh);
    line_log_free(&ll);
    hooks_free(&hk);
    free(eh.message);
}
END_TEST

/* The error hook sees every error before it is returned -- once, after
 * on_exit chose not to retry -- and never a success. */
START_TEST(test_shell_error_hook)
{
    whelk_shell *sh = whelk_shell_new();
    errhook eh;
    hooks hk;
    whelk_error *err = NULL;
    whelk_result *r;

    memset(&eh, 0, sizeof eh);
    memset(&hk, 0, sizeof hk);
    whelk_shell_on_error(sh, on_error, &eh);

    r = whelk_shell_sh(sh, &err, HELPER, "out:fine", (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_int_eq(eh.calls, 0);
    whelk_result_free(r);

    /* checking is on by default */
    r = whelk_shell_sh(sh, &err, HELPER, "err:boom\\n", "exit:3",
                       (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(eh.calls, 1);
    ck_assert_ptr_eq(eh.last, err);
    ck_assert_int_eq(eh.kind, WHELK_E_EXIT);
    ck_assert_str_eq(eh.message, whelk_error_message(err));
    whelk_error_free(err);

    r = whelk_shell_sh(sh, &err, "/nonexistent/whelk/prog", (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(eh.calls, 2);
    ck_assert_ptr_eq(eh.last, err);
    ck_assert_int_eq(eh.kind, WHELK_E_NOTFOUND);
    whelk_error_free(err);

    /* with retries: the hook sees the final error only */
    hk.retries = 2;
    whelk_shell_on_exit(sh, on_exit_hook, &hk);
    r = whelk_shell_sh(sh, &err, HELPER, "exit:4", (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(hk.exits, 3);
    ck_assert_int_eq(eh.calls, 3);
    ck_assert_ptr_eq(eh.last, err);
    ck_assert_int_eq(whelk_error_exit_code(err), 4);
    whelk_error_free(err);

    /* the timeout default */
    whelk_shell_on_exit(sh, NULL, NULL);
    whelk_shell_timeout(sh, 200);
    r = whelk_shell_sh(sh, &err, HELPER, "sleep:60000", (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_TIMEOUT);
    ck_assert_int_eq(eh.calls, 4);
    whelk_error_free(err);

    whelk_shell_free(sh);
    hooks_free(&hk);
    free(eh.message);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* Runs a shell whose error hook is whelk_die_on_error in a forked child
 * running the actions; returns its exit status and what it printed. */
static int die_in_child(char **printed, const char *first, ...)
{
    int fds[2], status;
    pid_t pid;
    char *buf = NULL;
    size_t used = 0;

    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        static whelk_shell *sh;
        static whelk_pipeline *p;
        static whelk_result *r;
        static whelk_error *err;
        va_list ap;
        const char *a;
        whelk_cmd *cmd;

        if (dup2(fds[1], 2) < 0)
            _exit(120);
        sh = whelk_shell_new();
        if (!sh)
            _exit(121);
        whelk_shell_on_error(sh, whelk_die_on_error, (void *)"mytool");
        cmd = whelk_shell_cmd(sh, first, (const char *)NULL);
        va_start(ap, first);
        while ((a = va_arg(ap, const char *)) != NULL)
            whelk_cmd_arg(cmd, a);
        va_end(ap);
        p = whelk_shell_pipe(sh, cmd, (whelk_cmd *)NULL);
        r = whelk_run(p, &err);
        _exit(r ? 122 : 123); /* not reached when the hook exits */
    }
    close(fds[1]);
    for (;;) {
        ssize_t n;
        buf = realloc(buf, used + 4097);
        ck_assert_ptr_nonnull(buf);
        n = read(fds[0], buf + used, 4096);
        if (n < 0 && errno == EINTR)
            continue;
        ck_assert_int_ge(n, 0);
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    *printed = buf;
    return status;
}

START_TEST(test_die_on_error_in_forked_child)
{
    char *out;
    int st;

    st =
        die_in_child(&out, HELPER, "err:boom\\n", "exit:7", (const char *)NULL);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 7,
                  "status %#x, printed \"%s\"", st, out);
    ck_assert_msg(strncmp(out, "mytool: ", 8) == 0, "printed \"%s\"", out);
    ck_assert_msg(contains(out, "exited with status 7"), "printed \"%s\"", out);
    ck_assert_msg(contains(out, "boom"), "printed \"%s\"", out);
    ck_assert_msg(out[strlen(out) - 1] == '\n', "printed \"%s\"", out);
    free(out);

    /* no exit code (the program is missing): 1 */
    st = die_in_child(&out, "/nonexistent/whelk/prog", (const char *)NULL);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1,
                  "status %#x, printed \"%s\"", st, out);
    ck_assert_msg(strncmp(out, "mytool: ", 8) == 0, "printed \"%s\"", out);
    ck_assert_msg(contains(out, "/nonexistent/whelk/prog"), "printed \"%s\"",
                  out);
    free(out);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* ===================================================================== */

static TCase *tcase(Suite *s, const char *name, int timeout, int tmp)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, timeout);
    if (tmp)
        tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    suite_add_tcase(s, tc);
    return tc;
}

static Suite *stream_suite(void)
{
    Suite *s = suite_create("stream");
    TCase *tc;

    tc = tcase(s, "lines", TEST_TIMEOUT, 0);
    tcase_add_test(tc, test_lines_tags_and_order_per_stream);
    tcase_add_test(tc, test_arrival_order_across_stages_and_streams);
    tcase_add_test(tc, test_stderr_merged_is_stdout);
    tcase_add_test(tc, test_crlf_removed_whole_lone_cr_kept);
    tcase_add_test(tc, test_empty_lines_delivered);
    tcase_add_test(tc, test_empty_stream_no_lines);
    tcase_add_test(tc, test_last_line_without_newline);
    tcase_add_test(tc, test_max_line_cut);
    tcase_add_test(tc, test_max_line_cut_utf8_boundary);
    tcase_add_test(tc, test_max_line_across_reads);
    tcase_add_test(tc, test_crlf_split_at_max_line);
    tcase_add_test(tc, test_text_nul_terminated);
    tcase_add_test(tc, test_on_line_stream_filter);
    tcase_add_test(tc, test_stream_destination_not_kept);

    tc = tcase(s, "volume", 2 * TEST_TIMEOUT, 0);
    tcase_add_test(tc, test_two_million_lines_streamed);
    tcase_add_test(tc, test_two_million_lines_captured);

    tc = tcase(s, "abort", 2 * TEST_TIMEOUT, 0);
    tcase_add_test(tc, test_abort_returns_promptly);
    tcase_add_test(tc, test_abort_endless_writer);
    tcase_add_test(tc, test_abort_with_grandchild_holding_pipe);
    tcase_add_test(tc, test_abort_on_last_line_any_value);
    tcase_add_test(tc, test_abort_from_chunk_callback);

    tc = tcase(s, "chunks", TEST_TIMEOUT, 0);
    tcase_add_test(tc, test_chunks_raw_with_one_eof_each);
    tcase_add_test(tc, test_chunks_binary_exact);
    tcase_add_test(tc, test_chunks_before_decoding);
    tcase_add_test(tc, test_chunk_stream_filter);

    tc = tcase(s, "decode", 2 * TEST_TIMEOUT, 1);
    tcase_add_test(tc, test_decode_latin1);
    tcase_add_test(tc, test_decode_selected_stream_only);
    tcase_add_test(tc, test_decode_utf16le);
    tcase_add_test(tc, test_decode_split_sequences);
    tcase_add_test(tc, test_decode_roundtrip_large);
    tcase_add_test(tc, test_strict_invalid_names_stream_command_offset);
    tcase_add_test(tc, test_strict_invalid_stderr_of_stage_1);
    tcase_add_test(tc, test_strict_offset_far_into_stream);
    tcase_add_test(tc, test_strict_stops_the_run);
    tcase_add_test(tc, test_strict_invalid_split_across_reads);
    tcase_add_test(tc, test_replace_invalid);
    tcase_add_test(tc, test_truncated_at_end_of_stream);
    tcase_add_test(tc, test_truncated_after_split);
    tcase_add_test(tc, test_unknown_encoding_nothing_spawned);
    tcase_add_test(tc, test_locale_encoding);

    tc = tcase(s, "stdin-encoding", TEST_TIMEOUT, 1);
    tcase_add_test(tc, test_stdin_encoding_latin1);
    tcase_add_test(tc, test_stdin_encoding_utf16le);
    tcase_add_test(tc, test_stdin_unencodable);

    tc = tcase(s, "hooks", TEST_TIMEOUT, 1);
    tcase_add_test(tc, test_on_exit_sees_result_on_success);
    tcase_add_test(tc, test_retry_from_on_exit);
    tcase_add_test(tc, test_retry_after_failure_to_start);
    tcase_add_test(tc, test_failure_to_start_not_retried);

    tc = tcase(s, "shell", TEST_TIMEOUT, 1);
    tcase_add_test(tc, test_shell_defaults_inherited);
    tcase_add_test(tc, test_shell_error_hook);
    tcase_add_test(tc, test_die_on_error_in_forked_child);

    return s;
}

int main(void)
{
    return run_suite(stream_suite());
}
