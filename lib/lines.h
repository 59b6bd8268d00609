/*
 * lines.h -- decoded text -> lines (lines.c), for the line callbacks and
 * the host's read_line.
 */
#ifndef WHELK_LINES_H
#define WHELK_LINES_H

#include "buf.h"

typedef struct whelk_splitter {
    whelk_buf pending; /* a partial line */
    size_t max_line;
    int cut_pending; /* the pending bytes continue a cut line */
    int utf8;        /* cut long lines at character boundaries */
    int stop_value;  /* what fn returned when it asked to stop */
    whelk_line line; /* what fn is given: the owner sets stage and stream */
} whelk_splitter;
/* Gives each complete line of data to fn (with s->line filled in); data is
 * modified during the call (a NUL is put after each line) and restored.
 * Returns 0, 1 when fn returned non-zero (whatever its value, kept in
 * s->stop_value), or -2 on ENOMEM.  whelk__split_eof flushes a last line
 * without its newline. */
WHELK_INTERNAL int whelk__split(whelk_splitter *s, char *data, size_t len,
                                whelk_line_fn fn, void *ud);
WHELK_INTERNAL int whelk__split_eof(whelk_splitter *s, whelk_line_fn fn,
                                    void *ud);
WHELK_INTERNAL void whelk__splitter_free(whelk_splitter *s);

#endif /* WHELK_LINES_H */
