/*
 * units/lines.c -- the units suite's "lines" tests (run by tests/check_units.c).
 */
#include "units.h"

/* ===================================================================== */
/* Line splitter                                                         */
/* ===================================================================== */

typedef struct piece {
    char *text;
    size_t len;
    unsigned flags;
} piece;

typedef struct plog {
    piece *v;
    size_t n, cap;
    int bad_nul;
    size_t stop_at; /* return stop_rc from this call (1-based) */
    int stop_rc;
} plog;

static void plog_add(plog *pl, const char *text, size_t len, unsigned flags)
{
    piece *p;

    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 16;
        piece *v = realloc(pl->v, cap * sizeof *v);
        ck_assert_ptr_nonnull(v);
        pl->v = v;
        pl->cap = cap;
    }
    p = &pl->v[pl->n++];
    p->text = malloc(len + 1);
    ck_assert_ptr_nonnull(p->text);
    memcpy(p->text, text, len);
    p->text[len] = '\0';
    p->len = len;
    p->flags = flags;
}

static void plog_free(plog *pl)
{
    size_t i;

    for (i = 0; i < pl->n; i++)
        free(pl->v[i].text);
    free(pl->v);
    memset(pl, 0, sizeof *pl);
}

static int collect(const whelk_line *line, void *ctx)
{
    const char *text = line->text;
    size_t len = line->len;
    unsigned flags = line->flags;
    plog *pl = ctx;

    if (text[len] != '\0')
        pl->bad_nul = 1;
    plog_add(pl, text, len, flags);
    return pl->stop_at && pl->n == pl->stop_at ? pl->stop_rc : 0;
}

/* Splits in[0..len) cut at cuts[0..ncuts) with max_line; every chunk is
 * its own allocation of its exact size, and must be unchanged after the
 * call.  Returns the first non-zero rc (or 0). */
static int split_cut(size_t max_line, const char *in, size_t len,
                     const size_t *cuts, size_t ncuts, plog *pl)
{
    whelk_splitter s;
    size_t i, prev = 0;
    int rc = 0;

    memset(&s, 0, sizeof s);
    s.max_line = max_line;
    for (i = 0; i <= ncuts && rc == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : len, n = end - prev;
        char *chunk = malloc(n ? n : 1);

        ck_assert_ptr_nonnull(chunk);
        memcpy(chunk, in + prev, n);
        rc = whelk__split(&s, chunk, n, collect, pl);
        ck_assert_msg(memcmp(chunk, in + prev, n) == 0,
                      "the chunk was not restored");
        ck_assert_msg(s.pending.len <= max_line + 1,
                      "%zu bytes pending with max_line %zu", s.pending.len,
                      max_line);
        free(chunk);
        prev = end;
    }
    if (rc == 0)
        rc = whelk__split_eof(&s, collect, pl);
    whelk__splitter_free(&s);
    return rc;
}

/* The lines of in as the contract defines them: split on "\n", a "\r\n"
 * ending removed whole, a last line without "\n" flagged NO_EOL, lines
 * longer than max_line cut into max_line pieces flagged CUT. */
static void reference_lines(size_t max_line, const char *in, size_t len,
                            plog *pl)
{
    size_t pos = 0;

    while (pos < len) {
        const char *nl = memchr(in + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - in) : len, llen = end - pos;
        unsigned flags = nl ? 0 : WHELK_LINE_NO_EOL;
        const char *t = in + pos;

        if (nl && llen && t[llen - 1] == '\r')
            llen--;
        while (llen > max_line) {
            plog_add(pl, t, max_line, WHELK_LINE_CUT);
            t += max_line;
            llen -= max_line;
        }
        plog_add(pl, t, llen, flags);
        pos = nl ? end + 1 : len;
    }
}

static void same_lines(const plog *want, const plog *got, const char *what)
{
    size_t i;

    ck_assert_msg(!got->bad_nul, "%s: a line was not NUL-terminated", what);
    for (i = 0; i < want->n && i < got->n; i++) {
        ck_assert_msg(
            want->v[i].len == got->v[i].len &&
                memcmp(want->v[i].text, got->v[i].text, got->v[i].len) == 0 &&
                want->v[i].flags == got->v[i].flags,
            "%s: line %zu is \"%s\" flags %u, expected \"%s\" "
            "flags %u",
            what, i, got->v[i].text, got->v[i].flags, want->v[i].text,
            want->v[i].flags);
    }
    ck_assert_msg(want->n == got->n, "%s: %zu lines, expected %zu", what,
                  got->n, want->n);
}

static void check_split_all_points(size_t max_line, const char *in, size_t len)
{
    plog want = {0};
    size_t i, j;
    char what[256];

    reference_lines(max_line, in, len, &want);
    for (i = 0; i <= len; i++) {
        for (j = i; j <= len; j++) {
            plog got = {0};
            size_t cuts[2] = {i, j};
            ck_assert_int_eq(split_cut(max_line, in, len, cuts, 2, &got), 0);
            snprintf(what, sizeof what, "max_line %zu, cut at %zu and %zu",
                     max_line, i, j);
            same_lines(&want, &got, what);
            plog_free(&got);
        }
    }
    {
        plog got = {0};
        size_t *cuts = malloc((len + 1) * sizeof *cuts);
        ck_assert_ptr_nonnull(cuts);
        for (i = 0; i + 1 < len; i++)
            cuts[i] = i + 1;
        ck_assert_int_eq(
            split_cut(max_line, in, len, cuts, len > 1 ? len - 1 : 0, &got), 0);
        snprintf(what, sizeof what, "max_line %zu, byte by byte", max_line);
        same_lines(&want, &got, what);
        plog_free(&got);
        free(cuts);
    }
    plog_free(&want);
}

static const struct {
    const char *in;
    size_t len;
} split_inputs[] = {
    {S("one\r\ntwo\n\nthree\rfour\r\n\r\nlast")},
    {S("a\r\r\n\r\n\n\rb\r")},
    {S("abc\r\nabcd\r\nabcdef\r\nab\r\n")},
    {S("\n\n\r\nx")},
};

/* With lines shorter than max_line, cutting never happens. */
START_TEST(test_split_every_split_point)
{
    size_t k;

    for (k = 0; k < sizeof split_inputs / sizeof split_inputs[0]; k++) {
        check_split_all_points(1024 * 1024, split_inputs[k].in,
                               split_inputs[k].len);
        check_split_all_points(16, split_inputs[k].in, split_inputs[k].len);
    }
}
END_TEST

/* The same with lines cut at small max_line values. */
START_TEST(test_split_every_split_point_small_max_line)
{
    size_t k, m;

    for (k = 0; k < sizeof split_inputs / sizeof split_inputs[0]; k++)
        for (m = 1; m <= 7; m++)
            check_split_all_points(m, split_inputs[k].in, split_inputs[k].len);
}
END_TEST

/* Runs in through the splitter in the given chunks and compares with the
 * lines listed (text, flags) until a NULL text. */
static void expect_split(size_t max_line, const char *in, size_t len,
                         const size_t *cuts, size_t ncuts,
                         const char *const *texts, const unsigned *flags)
{
    plog want = {0}, got = {0};
    size_t i;
    char what[128];

    for (i = 0; texts[i]; i++)
        plog_add(&want, texts[i], strlen(texts[i]), flags[i]);
    ck_assert_int_eq(split_cut(max_line, in, len, cuts, ncuts, &got), 0);
    snprintf(what, sizeof what, "max_line %zu, %s", max_line, hex(in, len));
    same_lines(&want, &got, what);
    plog_free(&want);
    plog_free(&got);
}

START_TEST(test_split_max_line_edges)
{
    static const size_t one[] = {1}, bytes[] = {1, 2, 3, 4, 5, 6, 7, 8};

    {
        static const char *const t[] = {"abc", NULL};
        static const unsigned f[] = {0};
        expect_split(3, S("abc\n"), NULL, 0, t, f);
        expect_split(3, S("abc\n"), bytes, 3, t, f);
    }
    {
        static const char *const t[] = {"abc", "d", NULL};
        static const unsigned f[] = {WHELK_LINE_CUT, 0};
        expect_split(3, S("abcd\n"), NULL, 0, t, f);
        expect_split(3, S("abcd\n"), bytes, 4, t, f);
    }
    {
        static const char *const t[] = {"abc", "def", NULL};
        static const unsigned f[] = {WHELK_LINE_CUT, 0};
        expect_split(3, S("abcdef\n"), NULL, 0, t, f);
        expect_split(3, S("abcdef\n"), bytes, 6, t, f);
    }
    {
        static const char *const t[] = {"abc", "def", NULL};
        static const unsigned f[] = {WHELK_LINE_CUT, WHELK_LINE_NO_EOL};
        expect_split(3, S("abcdef"), NULL, 0, t, f);
        expect_split(3, S("abcdef"), bytes, 5, t, f);
    }
    {
        static const char *const t[] = {"a", "b", "", "", NULL};
        static const unsigned f[] = {WHELK_LINE_CUT, 0, 0, 0};
        expect_split(1, S("ab\n\n\n"), NULL, 0, t, f);
        expect_split(1, S("ab\n\n\n"), one, 1, t, f);
    }
}
END_TEST

/* "\r" at the end of one chunk, "\n" at the start of the next. */
START_TEST(test_split_crlf_across_chunks)
{
    static const size_t at4[] = {4}, at1[] = {1};
    {
        static const char *const t[] = {"abc", NULL};
        static const unsigned f[] = {0};
        expect_split(1024, S("abc\r\n"), at4, 1, t, f);
    }
    {
        static const char *const t[] = {"", NULL};
        static const unsigned f[] = {0};
        expect_split(1024, S("\r\n"), at1, 1, t, f);
    }
    {
        /* a lone CR at the end of the stream is kept */
        static const char *const t[] = {"abc\r", NULL};
        static const unsigned f[] = {WHELK_LINE_NO_EOL};
        expect_split(1024, S("abc\r"), at4, 1, t, f);
    }
}
END_TEST

/* The same at max_line: "abc" is exactly max_line long, so it is whole. */
START_TEST(test_split_crlf_across_chunks_at_max_line)
{
    static const size_t at4[] = {4}, at3[] = {3}, at2[] = {2};
    static const char *const t[] = {"abc", NULL};
    static const unsigned f[] = {0};

    expect_split(3, S("abc\r\n"), NULL, 0, t, f); /* one chunk */
    expect_split(3, S("abc\r\n"), at4, 1, t, f);  /* "abc\r" | "\n" */
    expect_split(3, S("abc\r\n"), at3, 1, t, f);  /* "abc" | "\r\n" */
    expect_split(3, S("abc\r\n"), at2, 1, t, f);  /* "ab" | "c\r\n" */
}
END_TEST

/* Memory stays O(max_line) however long the line. */
START_TEST(test_split_pending_bounded)
{
    whelk_splitter s;
    plog pl = {0};
    size_t i;
    char c = 'x';

    memset(&s, 0, sizeof s);
    s.max_line = 16;
    for (i = 0; i < 100000; i++) {
        ck_assert_int_eq(whelk__split(&s, &c, 1, collect, &pl), 0);
        ck_assert_uint_le(s.pending.len, 17);
        ck_assert_uint_le(s.pending.cap, 1024);
    }
    ck_assert_int_eq(whelk__split_eof(&s, collect, &pl), 0);
    ck_assert_uint_eq(pl.n, 100000 / 16);
    for (i = 0; i < pl.n; i++) {
        ck_assert_uint_eq(pl.v[i].len, 16);
        ck_assert_uint_eq(pl.v[i].flags,
                          i + 1 < pl.n ? WHELK_LINE_CUT : WHELK_LINE_NO_EOL);
    }
    ck_assert(!pl.bad_nul);
    whelk__splitter_free(&s);
    plog_free(&pl);
}
END_TEST

/* A callback's non-zero return stops the splitting at once and comes back
 * non-zero -- never as -2, the splitter's own out-of-memory code. */
START_TEST(test_split_callback_stops)
{
    static const int values[] = {1, -1, -2, 42};
    size_t v;

    for (v = 0; v < sizeof values / sizeof values[0]; v++) {
        static const char text[] = "a\nb\nc\nd";
        char buf[sizeof text];
        whelk_splitter s;
        plog pl = {0};
        int rc;

        memcpy(buf, text, sizeof text);
        memset(&s, 0, sizeof s);
        s.max_line = 1024;
        pl.stop_at = 2;
        pl.stop_rc = values[v];
        rc = whelk__split(&s, buf, sizeof text - 1, collect, &pl);
        ck_assert_msg(rc != 0 && rc != -2, "callback %d: split returned %d",
                      values[v], rc);
        ck_assert_uint_eq(pl.n, 2);
        ck_assert_str_eq(pl.v[1].text, "b");
        ck_assert(memcmp(buf, text, sizeof text) == 0);
        whelk__splitter_free(&s);
        plog_free(&pl);

        /* stopping at the last line, given at the end of the stream */
        memset(&s, 0, sizeof s);
        s.max_line = 1024;
        pl.stop_at = 1;
        pl.stop_rc = values[v];
        ck_assert_int_eq(whelk__split(&s, buf, 1, collect, &pl), 0);
        rc = whelk__split_eof(&s, collect, &pl);
        ck_assert_msg(rc != 0 && rc != -2, "callback %d at eof: %d", values[v],
                      rc);
        whelk__splitter_free(&s);
        plog_free(&pl);
    }
}
END_TEST

START_TEST(test_split_eof_empty)
{
    whelk_splitter s;
    plog pl = {0};

    memset(&s, 0, sizeof s);
    s.max_line = 8;
    ck_assert_int_eq(whelk__split_eof(&s, collect, &pl), 0);
    ck_assert_int_eq(whelk__split(&s, "", 0, collect, &pl), 0);
    ck_assert_int_eq(whelk__split_eof(&s, collect, &pl), 0);
    ck_assert_uint_eq(pl.n, 0);
    whelk__splitter_free(&s);
}
END_TEST

void units_lines(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "lines", 2 * TEST_TIMEOUT, NULL, NULL);
    tcase_add_test(tc, test_split_every_split_point);
    tcase_add_test(tc, test_split_every_split_point_small_max_line);
    tcase_add_test(tc, test_split_max_line_edges);
    tcase_add_test(tc, test_split_crlf_across_chunks);
    tcase_add_test(tc, test_split_crlf_across_chunks_at_max_line);
    tcase_add_test(tc, test_split_pending_bounded);
    tcase_add_test(tc, test_split_callback_stops);
    tcase_add_test(tc, test_split_eof_empty);
}
