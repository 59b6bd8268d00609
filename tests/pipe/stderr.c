/*
 * pipe/stderr.c -- the pipe suite's "stderr" tests (run by tests/check_pipe.c).
 */
#include "pipe.h"

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

void pipe_stderr(Suite *s)
{
    TCase *tc;

    tc = pipe_tcase(s, "stderr", 0);
    tcase_add_test(tc, test_middle_2to1_goes_down_the_pipe);
    tcase_add_test(tc, test_middle_megabyte_stderr);
    tcase_add_test(tc, test_stderr_order_of_stages);
    tcase_add_test(tc, test_stderr_arrival_order_not_stage_order);
}
