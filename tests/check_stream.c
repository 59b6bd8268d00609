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
 *
 * The runner and fixtures; the tests are in tests/stream/<topic>.c, one file
 * per topic, sharing tests/stream/stream.h.
 */
#include "stream/stream.h"

/* UTF-8 of U+FFFD, the replacement character. */
#define FFFD "\xEF\xBF\xBD"

/* ----------------------------------------------------------- fixtures */

/* The number written after the first "offset " in msg, or -1. */
long long offset_in(const char *msg)
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
whelk_cmd *helper_cmdv(const char *const *actions)
{
    whelk_cmd *c = whelk_cmd_new(HELPER, (const char *)NULL);
    size_t i;

    ck_assert_ptr_nonnull(c);
    for (i = 0; actions[i]; i++)
        whelk_cmd_arg(c, actions[i]);
    return c;
}

/* ------------------------------------------------------- line recorder */

void line_log_init(line_log *ll)
{
    memset(ll, 0, sizeof *ll);
    ll->wfd = -1;
}

void line_log_free(line_log *ll)
{
    size_t i;

    for (i = 0; i < ll->n; i++)
        free(ll->v[i].text);
    free(ll->v);
    if (ll->wfd >= 0)
        close(ll->wfd);
    line_log_init(ll);
}

int log_line(const whelk_line *l, void *ud)
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

/* Named in the messages of expect_lines: which case of a table. */
char expect_ctx[128];

void expect_lines(const line_log *ll, const want_line *w, size_t n)
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

void chunk_log_init(chunk_log *cl)
{
    memset(cl, 0, sizeof *cl);
    cl->wfd = -1;
}

void chunk_log_free(chunk_log *cl)
{
    size_t i;

    for (i = 0; i < cl->n; i++)
        free(cl->v[i].data);
    free(cl->v);
    chunk_log_init(cl);
}

int log_chunk(const whelk_chunk *c, void *ud)
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
char *chunks_of(const chunk_log *cl, size_t stage, int stream,
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

void hs_open(handshake *h)
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
whelk_result *run_parts(const char *const *parts, size_t n,
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
size_t stdout_chunks(const chunk_log *cl)
{
    size_t len, nchunks, neof;
    char *all = chunks_of(cl, 0, WHELK_STDOUT, &len, &nchunks, &neof);

    free(all);
    return nchunks;
}

/* ============================================================= suite */

TCase *stream_tcase(Suite *s, const char *name, int timeout, int tmp)
{
    return add_tcase(s, name, timeout, tmp ? tmp_setup : NULL,
                     tmp ? tmp_teardown : NULL);
}

static Suite *stream_suite(void)
{
    Suite *s = suite_create("stream");

    stream_lines(s);
    stream_volume(s);
    stream_abort(s);
    stream_chunks(s);
    stream_decode(s);
    stream_stdin_encoding(s);
    stream_hooks(s);
    stream_callback_value(s);

    return s;
}

int main(void)
{
    return run_suite(stream_suite());
}
