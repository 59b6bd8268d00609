/*
 * lines.c -- split a byte stream into lines.  Knows nothing of processes.
 *
 * Lines end at "\n"; a "\r\n" ending is removed whole.  A complete line
 * inside one chunk is delivered in place (a NUL is written after it for the
 * call and the byte restored), so the common case copies nothing; only a
 * line split across reads is gathered in s->pending, which never holds
 * more than max_line bytes: longer lines go out in pieces flagged
 * WHELK_LINE_CUT.
 *
 * Where SSE2 is part of the ABI (x86_64), the hot loop finds newlines 16
 * bytes at a time: one compare gives a bit for every newline of the block,
 * and the lines of a block are delivered from that mask, so short lines
 * cost no memchr call each (bench/RESULTS.md, line callbacks).
 */
#include "buf.h"
#include "lines.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Call fn with text[0..len), NUL-terminated for the call: text[len] is
 * ours to overwrite and is restored.  1 if fn asked to stop (what it
 * returned is kept in s->stop_value). */
static int call(whelk_splitter *s, char *text, size_t len, unsigned flags,
                whelk_line_fn fn, void *ud)
{
    char saved = text[len];
    int rc;

    text[len] = '\0';
    s->line.text = text;
    s->line.len = len;
    s->line.flags = flags;
    rc = fn(&s->line, ud);
    text[len] = saved;
    if (rc == 0)
        return 0;
    s->stop_value = rc;
    return 1;
}

/* The length of the next piece of a line longer than max_line, whose
 * bytes start at t: max_line, or up to 3 bytes less so that the piece of
 * a UTF-8 stream does not end inside a character. */
static size_t piece(const whelk_splitter *s, const char *t)
{
    size_t n = s->max_line, k = n;

    if (!s->utf8)
        return n;
    while (k > 0 && n - k < 3 && ((unsigned char)t[k] & 0xC0) == 0x80)
        k--;
    return k > 0 && ((unsigned char)t[k] & 0xC0) != 0x80 ? k : n;
}

/* Deliver text[0..len) as one line, in max_line pieces if it is longer. */
static int emit(whelk_splitter *s, char *text, size_t len, unsigned flags,
                whelk_line_fn fn, void *ud)
{
    while (len > s->max_line) {
        size_t n = piece(s, text);
        if (call(s, text, n, WHELK_LINE_CUT, fn, ud))
            return 1;
        text += n;
        len -= n;
    }
    return call(s, text, len, flags, fn, ud);
}

/* Keep a partial line, sending out max_line pieces when it grows past --
 * except that a CR just past max_line, at the end of what has arrived, is
 * held back: it may begin the line's CRLF ending. */
static int hold(whelk_splitter *s, const char *data, size_t len,
                whelk_line_fn fn, void *ud)
{
    for (;;) {
        while (s->pending.len > s->max_line &&
               !(len == 0 && s->pending.len == s->max_line + 1 &&
                 s->pending.data[s->max_line] == '\r')) {
            char *t = s->pending.data;
            size_t n = piece(s, t);
            if (call(s, t, n, WHELK_LINE_CUT, fn, ud))
                return 1;
            memmove(t, t + n, s->pending.len - n);
            s->pending.len -= n;
            t[s->pending.len] = '\0';
            s->cut_pending = 1;
        }
        if (!len)
            return 0;
        {
            size_t room = s->max_line + 1 - s->pending.len;
            size_t take = len < room ? len : room;
            if (whelk__buf_add(&s->pending, data, take) < 0)
                return -2;
            data += take;
            len -= take;
        }
    }
}

/* The whole line [p, nl) of the current chunk, its "\r\n" or "\n" at nl
 * removed: delivered in place.  1 if fn asked to stop. */
static inline int line_at(whelk_splitter *s, char *p, char *nl,
                          whelk_line_fn fn, void *ud)
{
    size_t n = (size_t)(nl - p);

    if (n && nl[-1] == '\r')
        n--;
    return n > s->max_line ? emit(s, p, n, 0, fn, ud)
                           : call(s, p, n, 0, fn, ud);
}

int whelk__split(whelk_splitter *s, char *data, size_t len, whelk_line_fn fn,
                 void *ud)
{
    char *p = data, *end = data + len, *nl;
    int rc;

    if (s->pending.len || s->cut_pending) {
        /* the end of a line begun in an earlier read */
        size_t seg;
        char empty = '\0';
        if (!(nl = memchr(p, '\n', len)))
            return hold(s, p, len, fn, ud);
        seg = (size_t)(nl - p);
        if (seg && p[seg - 1] == '\r')
            seg--;
        else if (!seg && s->pending.len &&
                 s->pending.data[s->pending.len - 1] == '\r')
            s->pending.len--;
        if ((rc = hold(s, p, seg, fn, ud)) != 0)
            return rc;
        rc = emit(s, s->pending.len ? s->pending.data : &empty, s->pending.len,
                  0, fn, ud);
        s->pending.len = 0;
        s->cut_pending = 0;
        if (rc)
            return rc;
        p = nl + 1;
    }
    /* the hot loop: whole lines inside this chunk, delivered in place */
#ifdef __SSE2__
    if (end - p >= 16) {
        /* scan is the next block to look at: [p, scan) has no newline */
        const char *scan = p;
        const __m128i nlv = _mm_set1_epi8('\n');
        while (end - scan >= 16) {
            __m128i b = _mm_loadu_si128((const __m128i *)(const void *)scan);
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, nlv));
            while (m) {
                nl = (char *)scan + __builtin_ctz(m);
                m &= m - 1;
                if ((rc = line_at(s, p, nl, fn, ud)) != 0)
                    return rc;
                p = nl + 1;
            }
            scan += 16;
        }
        /* fewer than 16 bytes left after scan */
        while ((nl = memchr(scan, '\n', (size_t)(end - scan))) != NULL) {
            if ((rc = line_at(s, p, nl, fn, ud)) != 0)
                return rc;
            p = nl + 1;
            scan = p;
        }
        return p < end ? hold(s, p, (size_t)(end - p), fn, ud) : 0;
    }
#endif
    while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        if ((rc = line_at(s, p, nl, fn, ud)) != 0)
            return rc;
        p = nl + 1;
    }
    return p < end ? hold(s, p, (size_t)(end - p), fn, ud) : 0;
}

int whelk__split_eof(whelk_splitter *s, whelk_line_fn fn, void *ud)
{
    int rc = 0;

    if (s->pending.len || s->cut_pending) {
        char empty = '\0';
        rc = emit(s, s->pending.len ? s->pending.data : &empty, s->pending.len,
                  WHELK_LINE_NO_EOL, fn, ud);
    }
    s->pending.len = 0;
    s->cut_pending = 0;
    return rc;
}

void whelk__splitter_free(whelk_splitter *s)
{
    whelk__buf_free(&s->pending);
}
