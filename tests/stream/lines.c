/*
 * stream/lines.c -- the stream suite's "Lines" tests (run by tests/check_stream.c).
 */
#include "stream.h"

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

void stream_lines(Suite *s)
{
    TCase *tc;

    tc = stream_tcase(s, "lines", TEST_TIMEOUT, 0);
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
}
