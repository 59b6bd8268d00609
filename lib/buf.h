/*
 * buf.h -- the growable byte buffer (buf.c) that every module builds
 * text and output in.
 */
#ifndef WHELK_BUF_H
#define WHELK_BUF_H

#include "alloc.h"

/* A growable byte buffer, always NUL-terminated when data != NULL. */
typedef struct whelk_buf {
    char *data;
    size_t len, cap;
} whelk_buf;
/* 0 on success, -1 (ENOMEM) on failure; the buffer is unchanged then. */
WHELK_INTERNAL int whelk__buf_reserve(whelk_buf *b, size_t extra);
WHELK_INTERNAL int whelk__buf_add(whelk_buf *b, const void *data, size_t n);
WHELK_INTERNAL int whelk__buf_addstr(whelk_buf *b, const char *s);
WHELK_INTERNAL int whelk__buf_printf(whelk_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
WHELK_INTERNAL void whelk__buf_free(whelk_buf *b);
/* Give back the room b holds beyond its content when that is more than a
 * few KiB (a result keeps its buffers as long as its caller keeps it);
 * b is unchanged if the realloc fails. */
WHELK_INTERNAL void whelk__buf_fit(whelk_buf *b);

#endif /* WHELK_BUF_H */
