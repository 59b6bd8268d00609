/*
 * buf.c -- the growable byte buffer (whelk_buf), always NUL-terminated once
 * it holds data; sizes are checked for overflow (integer.h).
 */
#include "buf.h"
#include "integer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int whelk__buf_reserve(whelk_buf *b, size_t extra)
{
    size_t need, cap;
    char *d;

    if (whelk__add_overflow(&need, b->len, extra) ||
        whelk__add_overflow(&need, need, 1)) {
        errno = ENOMEM;
        return -1;
    }
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    d = whelk__realloc(b->data, cap);
    if (!d) {
        errno = ENOMEM;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

int whelk__buf_add(whelk_buf *b, const void *data, size_t n)
{
    if (whelk__buf_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int whelk__buf_addstr(whelk_buf *b, const char *s)
{
    return whelk__buf_add(b, s, strlen(s));
}

int whelk__buf_printf(whelk_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || whelk__buf_reserve(b, (size_t)n) < 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void whelk__buf_free(whelk_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

#define FIT_SLACK 4096

void whelk__buf_fit(whelk_buf *b)
{
    char *d;

    if (!b->data || b->cap - b->len <= FIT_SLACK)
        return;
    d = whelk__realloc(b->data, b->len + 1);
    if (d) {
        b->data = d;
        b->cap = b->len + 1;
    }
}
