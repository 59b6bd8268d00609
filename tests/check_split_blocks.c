/*
 * check_split_blocks.c -- the line splitter's hot loop (lib/lines.c), which
 * on x86_64 finds newlines 16 bytes at a time (issue 15).  Every newline,
 * "\r\n" and long line is put at every offset of a 16-byte block and across
 * the end of the blocks, in chunks of every length from 1 to 70 bytes, and
 * the lines delivered must be those of a reference splitter written with
 * memchr; a callback that stops the split must stop it at once.  Every
 * chunk is its own allocation of exactly its size (ASan catches a read past
 * it) and must be unchanged after the call.
 */
#include "internal.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

typedef struct got {
    char *text; /* the lines, each followed by '|' and its flags digit */
    size_t len, cap;
    size_t calls, stop_at;
    int bad_nul;
} got;

static void put(got *g, const char *t, size_t n)
{
    if (g->len + n + 1 > g->cap) {
        g->cap = (g->len + n + 1) * 2;
        g->text = realloc(g->text, g->cap);
        ck_assert_ptr_nonnull(g->text);
    }
    memcpy(g->text + g->len, t, n);
    g->len += n;
    g->text[g->len] = '\0';
}

static void put_line(got *g, const char *t, size_t n, unsigned flags)
{
    char tail[3] = {'|', (char)('0' + flags), '\n'};

    put(g, t, n);
    put(g, tail, sizeof tail);
}

static int collect(const whelk_line *l, void *ud)
{
    got *g = ud;

    if (l->text[l->len] != '\0')
        g->bad_nul = 1;
    put_line(g, l->text, l->len, l->flags);
    return ++g->calls == g->stop_at;
}

/* The contract's lines of in, written the obvious way. */
static void reference(size_t max_line, const char *in, size_t len, got *g)
{
    size_t pos = 0;

    while (pos < len) {
        const char *nl = memchr(in + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - in) : len, n = end - pos;
        const char *t = in + pos;

        if (nl && n && t[n - 1] == '\r')
            n--;
        while (n > max_line) {
            put_line(g, t, max_line, WHELK_LINE_CUT);
            t += max_line;
            n -= max_line;
        }
        put_line(g, t, n, nl ? 0 : WHELK_LINE_NO_EOL);
        pos = nl ? end + 1 : len;
    }
}

/* in through the splitter in chunks of step bytes; the split's rc. */
static int split_steps(size_t max_line, const char *in, size_t len,
                       size_t step, got *g)
{
    whelk_splitter s;
    size_t pos = 0;
    int rc = 0;

    memset(&s, 0, sizeof s);
    s.max_line = max_line;
    while (pos < len && rc == 0) {
        size_t n = len - pos < step ? len - pos : step;
        char *chunk = malloc(n);
        ck_assert_ptr_nonnull(chunk);
        memcpy(chunk, in + pos, n);
        rc = whelk__split(&s, chunk, n, collect, g);
        ck_assert_msg(memcmp(chunk, in + pos, n) == 0,
                      "chunk at %zu not restored", pos);
        free(chunk);
        pos += n;
    }
    if (rc == 0)
        rc = whelk__split_eof(&s, collect, g);
    whelk__splitter_free(&s);
    return rc;
}

static void check_input(size_t max_line, const char *in, size_t len,
                        const char *what)
{
    got want = {0};
    size_t step;

    reference(max_line, in, len, &want);
    for (step = 1; step <= 70; step++) {
        got g = {0};
        ck_assert_int_eq(split_steps(max_line, in, len, step, &g), 0);
        ck_assert_msg(!g.bad_nul, "%s, chunks of %zu: a line not NUL-ended",
                      what, step);
        ck_assert_msg(g.len == want.len &&
                          memcmp(g.text, want.text, want.len) == 0,
                      "%s, chunks of %zu, max_line %zu:\n%s\nexpected\n%s",
                      what, step, max_line, g.text ? g.text : "",
                      want.text ? want.text : "");
        free(g.text);
    }
    free(want.text);
}

/* One newline (or "\r\n") at every offset of the first 48 bytes of a run
 * of letters, alone and followed by more lines of every short length. */
START_TEST(test_newline_at_every_offset)
{
    char in[512], what[64];
    size_t off, len, k;
    int crlf;

    for (crlf = 0; crlf < 2; crlf++)
        for (off = 0; off < 48; off++) {
            len = 0;
            for (k = 0; k < off; k++)
                in[len++] = (char)('a' + k % 26);
            if (crlf)
                in[len++] = '\r';
            in[len++] = '\n';
            for (k = 0; k < 20; k++) { /* lines of 0..19 letters */
                size_t j;
                for (j = 0; j < k; j++)
                    in[len++] = (char)('A' + j);
                in[len++] = '\n';
            }
            in[len++] = 'z'; /* a last line without its newline */
            snprintf(what, sizeof what, "newline after %zu bytes%s", off,
                     crlf ? " (CRLF)" : "");
            check_input(1024, in, len, what);
            check_input(7, in, len, what); /* long lines cut, in place */
        }
}
END_TEST

/* Runs of newlines, CRs and lone CRs at block ends: 16 and 32 newlines in
 * a row, a CR as the 16th byte with its LF in the next block. */
START_TEST(test_newline_runs_and_cr_at_block_ends)
{
    static const char runs[] = "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
                               "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
                               "abcdefghijklmno\r\nabcdefghijklmnop\r\n"
                               "\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\n"
                               "x\ry\r\n\r\n\rq";

    check_input(1024, runs, sizeof runs - 1, "runs");
    check_input(3, runs, sizeof runs - 1, "runs, max_line 3");
    check_input(16, runs, sizeof runs - 1, "runs, max_line 16");
}
END_TEST

/* A callback that stops at the k-th line stops the split there: no line
 * after it, in a chunk of many blocks. */
START_TEST(test_stop_inside_a_block)
{
    char in[400];
    size_t len = 0, k, i;

    for (i = 0; i < 100; i++) {
        in[len++] = (char)('a' + i % 26);
        in[len++] = (char)('0' + i % 10);
        in[len++] = '\n';
    }
    for (k = 1; k <= 100; k++) {
        whelk_splitter s;
        got g = {0};
        char *chunk = malloc(len);
        ck_assert_ptr_nonnull(chunk);
        memcpy(chunk, in, len);
        memset(&s, 0, sizeof s);
        s.max_line = 1024;
        g.stop_at = k;
        ck_assert_int_eq(whelk__split(&s, chunk, len, collect, &g), 1);
        ck_assert_uint_eq(g.calls, k);
        ck_assert_msg(memcmp(chunk, in, len) == 0, "chunk not restored");
        ck_assert_int_eq(g.text[g.len - 5], in[(k - 1) * 3]);
        whelk__splitter_free(&s);
        free(chunk);
        free(g.text);
    }
}
END_TEST

static Suite *split_blocks_suite(void)
{
    Suite *s = suite_create("split_blocks");
    TCase *tc = tcase_create("split_blocks");

    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_newline_at_every_offset);
    tcase_add_test(tc, test_newline_runs_and_cr_at_block_ends);
    tcase_add_test(tc, test_stop_inside_a_block);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(split_blocks_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
