/*
 * lines.c -- split a byte stream into lines.  Knows nothing of processes.
 *
 * Lines end at "\n"; a "\r\n" ending is removed whole.  A complete line
 * inside one chunk is delivered in place (a NUL is written after it for the
 * call and the byte restored), so the common case copies nothing; only a
 * line split across reads is gathered in s->pending, which never holds
 * more than max_line bytes: longer lines go out in pieces flagged
 * WHELK_LINE_CUT.
 */
#include "internal.h"

#include <string.h>

/* Deliver text[0..len) -- whose byte text[len] may be overwritten -- as
 * one line, in max_line pieces if it is longer. */
static int emit(whelk_splitter *s, char *text, size_t len, unsigned flags,
                whelk_emit_fn fn, void *ctx)
{
    char saved;
    int rc;

    while (len > s->max_line) {
        saved = text[s->max_line];
        text[s->max_line] = '\0';
        rc = fn(text, s->max_line, WHELK_LINE_CUT, ctx);
        text[s->max_line] = saved;
        if (rc)
            return 1;
        text += s->max_line;
        len -= s->max_line;
    }
    saved = text[len];
    text[len] = '\0';
    rc = fn(text, len, flags, ctx);
    text[len] = saved;
    return rc ? 1 : 0;
}

static size_t strip_cr(const char *text, size_t len)
{
    return len && text[len - 1] == '\r' ? len - 1 : len;
}

/* Keep a partial line, sending out max_line pieces when it grows past --
 * except that a CR just past max_line, at the end of what has arrived, is
 * held back: it may begin the line's CRLF ending. */
static int hold(whelk_splitter *s, const char *data, size_t len,
                whelk_emit_fn fn, void *ctx)
{
    for (;;) {
        while (s->pending.len > s->max_line &&
               !(len == 0 && s->pending.len == s->max_line + 1 &&
                 s->pending.data[s->max_line] == '\r')) {
            char *t = s->pending.data;
            char saved = t[s->max_line];
            int rc;
            t[s->max_line] = '\0';
            rc = fn(t, s->max_line, WHELK_LINE_CUT, ctx);
            t[s->max_line] = saved;
            if (rc)
                return 1;
            memmove(t, t + s->max_line, s->pending.len - s->max_line);
            s->pending.len -= s->max_line;
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

int whelk__split(whelk_splitter *s, char *data, size_t len, whelk_emit_fn fn,
                 void *ctx)
{
    char *p = data, *end = data + len;
    int rc;

    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return hold(s, p, (size_t)(end - p), fn, ctx);
        if (s->pending.len || s->cut_pending) {
            /* the end of a line begun in an earlier read */
            size_t seg = (size_t)(nl - p);
            char empty = '\0';
            if (seg && p[seg - 1] == '\r')
                seg--;
            else if (!seg && s->pending.len &&
                     s->pending.data[s->pending.len - 1] == '\r')
                s->pending.len--;
            if ((rc = hold(s, p, seg, fn, ctx)) != 0)
                return rc;
            rc = emit(s, s->pending.len ? s->pending.data : &empty,
                      s->pending.len, 0, fn, ctx);
            s->pending.len = 0;
            s->cut_pending = 0;
        } else {
            rc = emit(s, p, strip_cr(p, (size_t)(nl - p)), 0, fn, ctx);
        }
        if (rc)
            return rc;
        p = nl + 1;
    }
    return 0;
}

int whelk__split_eof(whelk_splitter *s, whelk_emit_fn fn, void *ctx)
{
    int rc = 0;

    if (s->pending.len || s->cut_pending) {
        char empty = '\0';
        rc = emit(s, s->pending.len ? s->pending.data : &empty, s->pending.len,
                  WHELK_LINE_NO_EOL, fn, ctx);
    }
    s->pending.len = 0;
    s->cut_pending = 0;
    return rc;
}

void whelk__splitter_free(whelk_splitter *s)
{
    whelk__buf_free(&s->pending);
}
