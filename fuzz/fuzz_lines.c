/*
 * fuzz_lines.c -- libFuzzer target for the line splitter (lib/lines.c).
 *
 * Input layout:
 *   byte 0      max_line: 1 + byte % 32 for bytes below 240, else 1 MiB
 *   byte 1      bits 0..3: number of cuts; bits 4..7: k, a piece after
 *               which the callback stops a third run (0: never)
 *   then        one byte per cut: the length of that chunk (0 allowed)
 *   the rest    the stream; what the cuts leave is the last chunk
 *
 * Properties checked (abort on violation):
 *   - every piece is at most max_line bytes, NUL-terminated during its
 *     call; a CUT piece is exactly max_line bytes; only the last piece of
 *     the stream may be NO_EOL, and the last piece is never CUT;
 *   - the pieces, each followed by "\n" unless CUT or NO_EOL, give back
 *     the input with every "\r\n" turned into "\n";
 *   - the pieces are those the contract defines (a reference splitter
 *     below), whatever the chunks: the same as one chunk;
 *   - each chunk is as it was after the call, pending bytes stay within
 *     max_line + 1;
 *   - a callback's non-zero return stops at once: the splitter returns
 *     non-zero (never -2, its out-of-memory code) having delivered exactly
 *     the first k pieces.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct piece {
    size_t off, len; /* in the log's text */
    unsigned flags;
} piece;

typedef struct plog {
    piece *v;
    size_t n, cap;
    whelk_buf text;
    size_t max_line;
    size_t stop_at; /* return 1 from this call (1-based), 0: never */
} plog;

static void die(const char *what, size_t max_line)
{
    fprintf(stderr, "fuzz_lines: %s (max_line %zu)\n", what, max_line);
    abort();
}

static void add(plog *pl, const char *text, size_t len, unsigned flags)
{
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 32;
        piece *v = realloc(pl->v, cap * sizeof *v);
        if (!v)
            abort();
        pl->v = v;
        pl->cap = cap;
    }
    pl->v[pl->n].off = pl->text.len;
    pl->v[pl->n].len = len;
    pl->v[pl->n].flags = flags;
    pl->n++;
    if (whelk__buf_add(&pl->text, text, len) < 0)
        abort();
}

static int collect(const whelk_line *line, void *ctx)
{
    const char *text = line->text;
    size_t len = line->len;
    unsigned flags = line->flags;
    plog *pl = ctx;

    if (text[len] != '\0')
        die("a piece is not NUL-terminated", pl->max_line);
    if (len > pl->max_line)
        die("a piece is longer than max_line", pl->max_line);
    if ((flags & WHELK_LINE_CUT) && len != pl->max_line)
        die("a CUT piece is shorter than max_line", pl->max_line);
    if ((flags & WHELK_LINE_CUT) && (flags & WHELK_LINE_NO_EOL))
        die("a piece is both CUT and NO_EOL", pl->max_line);
    if (pl->n && (pl->v[pl->n - 1].flags & WHELK_LINE_NO_EOL))
        die("a piece after the NO_EOL one", pl->max_line);
    add(pl, text, len, flags);
    return pl->stop_at && pl->n == pl->stop_at;
}

static void plog_free(plog *pl)
{
    free(pl->v);
    whelk__buf_free(&pl->text);
}

/* Splits the stream in chunks; returns the first non-zero rc, or 0. */
static int split(plog *pl, size_t max_line, const uint8_t *in, size_t len,
                 const uint8_t *sizes, size_t ncuts)
{
    whelk_splitter s;
    size_t i, pos = 0;
    int rc = 0;

    memset(&s, 0, sizeof s);
    s.max_line = max_line;
    for (i = 0; i <= ncuts && rc == 0; i++) {
        size_t n = i == ncuts ? len - pos
                              : (sizes[i] < len - pos ? sizes[i] : len - pos);
        char *chunk = malloc(n ? n : 1);

        if (!chunk)
            abort();
        memcpy(chunk, in + pos, n);
        rc = whelk__split(&s, chunk, n, collect, pl);
        if (memcmp(chunk, in + pos, n) != 0)
            die("a chunk was changed", max_line);
        if (s.pending.len > max_line + 1)
            die("more than max_line + 1 bytes pending", max_line);
        free(chunk);
        pos += n;
    }
    if (rc == 0)
        rc = whelk__split_eof(&s, collect, pl);
    whelk__splitter_free(&s);
    return rc;
}

/* The pieces the contract defines. */
static void reference(plog *pl, size_t max_line, const uint8_t *in, size_t len)
{
    const char *s = (const char *)in;
    size_t pos = 0;

    while (pos < len) {
        const char *nl = memchr(s + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - s) : len, llen = end - pos;
        const char *t = s + pos;

        if (nl && llen && t[llen - 1] == '\r')
            llen--;
        while (llen > max_line) {
            add(pl, t, max_line, WHELK_LINE_CUT);
            t += max_line;
            llen -= max_line;
        }
        add(pl, t, llen, nl ? 0 : WHELK_LINE_NO_EOL);
        pos = nl ? end + 1 : len;
    }
}

static int same(const plog *a, const plog *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (a->v[i].len != b->v[i].len || a->v[i].flags != b->v[i].flags ||
            memcmp(a->text.data + a->v[i].off, b->text.data + b->v[i].off,
                   a->v[i].len) != 0)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t max_line, ncuts, len, stop, i;
    const uint8_t *sizes, *in;
    plog whole = {0}, chunked = {0}, want = {0}, stopped = {0};
    whelk_buf rebuilt = {0}, normal = {0};

    if (size < 2)
        return 0;
    max_line = data[0] < 240 ? 1 + (size_t)data[0] % 32 : 1024 * 1024;
    ncuts = data[1] & 15;
    stop = data[1] >> 4;
    if (size < 2 + ncuts)
        return 0;
    sizes = data + 2;
    in = data + 2 + ncuts;
    len = size - 2 - ncuts;
    whole.max_line = chunked.max_line = want.max_line = max_line;
    stopped.max_line = max_line;

    if (split(&whole, max_line, in, len, NULL, 0) != 0 ||
        split(&chunked, max_line, in, len, sizes, ncuts) != 0)
        die("the splitter failed", max_line);
    if (whole.n && (whole.v[whole.n - 1].flags & WHELK_LINE_CUT))
        die("the last piece is CUT", max_line);

    /* the pieces and their separators give the input back, CRLF as LF */
    for (i = 0; i < whole.n; i++) {
        const piece *p = &whole.v[i];
        if (whelk__buf_add(&rebuilt, whole.text.data + p->off, p->len) < 0 ||
            (!(p->flags & (WHELK_LINE_CUT | WHELK_LINE_NO_EOL)) &&
             whelk__buf_add(&rebuilt, "\n", 1) < 0))
            abort();
    }
    for (i = 0; i < len; i++) {
        if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
            continue;
        if (whelk__buf_add(&normal, &in[i], 1) < 0)
            abort();
    }
    if (rebuilt.len != normal.len ||
        (normal.len && memcmp(rebuilt.data, normal.data, normal.len) != 0))
        die("the pieces do not give the input back", max_line);

    reference(&want, max_line, in, len);
    if (whole.n != want.n || !same(&whole, &want, want.n))
        die("one chunk: not the lines the contract defines", max_line);
    if (chunked.n != want.n || !same(&chunked, &want, want.n))
        die("chunks: not the lines the contract defines", max_line);

    if (stop) {
        int rc;
        stopped.stop_at = stop;
        rc = split(&stopped, max_line, in, len, sizes, ncuts);
        if (want.n >= stop) {
            if (rc == 0 || rc == -2)
                die("a stopping callback did not stop the splitter", max_line);
            if (stopped.n != stop || !same(&stopped, &want, stop))
                die("pieces after the callback said stop", max_line);
        } else if (rc != 0 || stopped.n != want.n) {
            die("the stop index was never reached, yet", max_line);
        }
    }

    plog_free(&whole);
    plog_free(&chunked);
    plog_free(&want);
    plog_free(&stopped);
    whelk__buf_free(&rebuilt);
    whelk__buf_free(&normal);
    return 0;
}
