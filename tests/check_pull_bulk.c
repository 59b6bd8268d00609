/*
 * check_pull_bulk.c -- whelk_proc_read_line finds the newlines of pulled
 * text in bulk, batches of them at a time (issue 12, performance): the
 * lines it gives are still exactly the callbacks' lines, across batches,
 * pipe reads, \r\n endings, cut pieces and the last line without a
 * newline, and whelk_proc_read or peek between lines takes bytes from the
 * same place.
 *
 * Everything through the public API against tests/whelk-helper's `cat`,
 * fed with whelk_pipeline_stdin_bytes; no sleeps.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* A text of many short lines of every kind: empty, "\r\n"-ended, a lone
 * "\r", long ones (past any small max_line), UTF-8; no newline at its end
 * when open_end. */
static char *varied_text(size_t nlines, int open_end, size_t *len)
{
    size_t cap = nlines * 80 + 64, n = 0, i, k;
    char *s = malloc(cap);

    for (i = 0; i < nlines; i++) {
        size_t kind = (i * 7 + i / 13) % 9, w = (i * 31) % 23;
        if (kind == 0) {
            /* empty */
        } else if (kind == 1) {
            n += (size_t)sprintf(s + n, "crlf %zu\r", i);
        } else if (kind == 2) {
            s[n++] = '\r'; /* "\r\n" alone: an empty line */
        } else if (kind == 3) {
            for (k = 0; k < 40 + w; k++)
                s[n++] = (char)('a' + (i + k) % 26);
        } else if (kind == 4) {
            n += (size_t)sprintf(s + n, "\xc3\xa9t\xc3\xa9 %zu \xe2\x82\xac", i);
        } else if (kind == 5) {
            n += (size_t)sprintf(s + n, "mid\rcr %zu", i);
        } else {
            for (k = 0; k < w; k++)
                s[n++] = (char)('A' + (i + k) % 26);
        }
        s[n++] = '\n';
    }
    if (open_end)
        n += (size_t)sprintf(s + n, "last\r");
    s[n] = '\0';
    *len = n;
    return s;
}

/* "text|flags\n" per line. */
typedef struct acc {
    char *s;
    size_t len, cap;
} acc;

static void acc_add(acc *a, const whelk_line *l)
{
    char tail[32];
    size_t t = (size_t)snprintf(tail, sizeof tail, "|%u\n", l->flags);

    ck_assert_int_eq(l->text[l->len], '\0');
    if (a->len + l->len + t + 1 > a->cap) {
        a->cap = (a->len + l->len + t + 1) * 2;
        a->s = realloc(a->s, a->cap);
    }
    memcpy(a->s + a->len, l->text, l->len);
    memcpy(a->s + a->len + l->len, tail, t);
    a->len += l->len + t;
    a->s[a->len] = '\0';
}

static int on_line(const whelk_line *l, void *ud)
{
    acc_add(ud, l);
    return 0;
}

static whelk_pipeline *cat_of(const char *text, size_t len, size_t max_line)
{
    whelk_pipeline *p = whelk_pipe(helper_cmd("cat", NULL), NULL);

    whelk_pipeline_stdin_bytes(p, text, len);
    if (max_line)
        whelk_pipeline_max_line(p, max_line);
    return p;
}

static void compare(size_t nlines, int open_end, size_t max_line)
{
    size_t len;
    char *text = varied_text(nlines, open_end, &len);
    acc cb = {0}, pulled = {0};
    whelk_pipeline *p = cat_of(text, len, max_line);
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;
    whelk_line line;
    int rc;

    whelk_pipeline_stdout(p, WHELK_STREAM);
    whelk_pipeline_on_line(p, WHELK_STDOUT, on_line, &cb);
    whelk_result_free(run_ok(p));
    whelk_pipeline_stdout(p, WHELK_PULL);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start: %s", err_desc(err));
    while ((rc = whelk_proc_read_line(pr, &line, -1)) == 1)
        acc_add(&pulled, &line);
    ck_assert_int_eq(rc, 0);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "wait: %s", err_desc(err));
    whelk_result_free(r);
    ck_assert_msg(cb.len > 0 && cb.len == pulled.len &&
                      memcmp(cb.s, pulled.s, cb.len) == 0,
                  "%zu lines, max %zu: pulled lines differ (%zu vs %zu bytes)",
                  nlines, max_line, pulled.len, cb.len);
    free(cb.s);
    free(pulled.s);
    free(text);
    whelk_pipeline_free(p);
}

/* Many batches of newlines and several pipe reads (the text is larger than
 * a 64 KiB read), with and without cut pieces. */
START_TEST(test_bulk_lines_match_callbacks)
{
    compare(200000, 0, 0);
    compare(200000, 1, 0);
    compare(30000, 1, 16);
    compare(30000, 0, 5);
}
END_TEST

/* whelk_proc_read and whelk_proc_peek between read_line calls: the bytes
 * read are never given again as (part of) a line, and the line after them
 * starts where the read stopped. */
START_TEST(test_bulk_read_between_lines)
{
    size_t len, pos = 0, i = 0;
    char *text = varied_text(40000, 1, &len);
    whelk_pipeline *p = cat_of(text, len, 0);
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;
    whelk_line line;
    char buf[64];
    int rc;

    whelk_pipeline_stdout(p, WHELK_PULL);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start: %s", err_desc(err));
    for (;;) {
        if (i % 3 == 1) {
            /* read a few bytes, possibly past one or more newlines */
            ssize_t k = whelk_proc_read(pr, buf, 1 + i % 37, -1);
            ck_assert_int_ge(k, 0);
            if (k == 0)
                break;
            ck_assert_msg(memcmp(buf, text + pos, (size_t)k) == 0,
                          "read at %zu", pos);
            pos += (size_t)k;
        } else if (i % 7 == 2) {
            const void *d;
            ssize_t k = whelk_proc_peek(pr, &d, 50, -1);
            ck_assert_int_ge(k, 0);
            ck_assert(memcmp(d, text + pos, (size_t)k) == 0);
        } else {
            const char *nl;
            size_t want, end;
            if ((rc = whelk_proc_read_line(pr, &line, -1)) == 0)
                break;
            ck_assert_int_eq(rc, 1);
            nl = memchr(text + pos, '\n', len - pos);
            end = nl ? (size_t)(nl - text) : len;
            want = end - pos;
            if (want && text[end - 1] == '\r' && nl)
                want--;
            ck_assert_msg(line.len == want &&
                              memcmp(line.text, text + pos, want) == 0,
                          "line at %zu", pos);
            ck_assert_uint_eq(line.flags, nl ? 0 : WHELK_LINE_NO_EOL);
            pos = nl ? end + 1 : end;
        }
        i++;
    }
    ck_assert_uint_eq(pos, len);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "wait: %s", err_desc(err));
    whelk_result_free(r);
    free(text);
    whelk_pipeline_free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pull_bulk");
    TCase *tc = tcase_create("pull_bulk");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bulk_lines_match_callbacks);
    tcase_add_test(tc, test_bulk_read_between_lines);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
