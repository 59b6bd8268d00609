/*
 * stream/chunks.c -- the stream suite's "Chunks" tests (run by tests/check_stream.c).
 */
#include "stream.h"

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

void stream_chunks(Suite *s)
{
    TCase *tc;

    tc = stream_tcase(s, "chunks", TEST_TIMEOUT, 0);
    tcase_add_test(tc, test_chunks_raw_with_one_eof_each);
    tcase_add_test(tc, test_chunks_binary_exact);
    tcase_add_test(tc, test_chunks_before_decoding);
    tcase_add_test(tc, test_chunk_stream_filter);
}
