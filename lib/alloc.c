/*
 * alloc.c -- the library's allocation wrappers, growable buffers, builder
 * faults, and thread-safe names for errno values and signals.
 */
#include "internal.h"
#include "integer.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *whelk__malloc(size_t n)
{
    return malloc(n ? n : 1);
}

void *whelk__calloc(size_t n, size_t size)
{
    return calloc(n ? n : 1, size ? size : 1);
}

void *whelk__realloc(void *p, size_t n)
{
    return realloc(p, n ? n : 1);
}

void *whelk__reallocarray(void *p, size_t n, size_t size)
{
    size_t bytes;

    if (whelk__mul_overflow(&bytes, n, size)) {
        errno = ENOMEM;
        return NULL;
    }
    return whelk__realloc(p, bytes);
}

void *whelk__memdup(const void *p, size_t n)
{
    char *q = whelk__malloc(n + 1);
    if (q) {
        if (n)
            memcpy(q, p, n);
        q[n] = '\0';
    }
    return q;
}

char *whelk__strdup(const char *s)
{
    return s ? whelk__memdup(s, strlen(s)) : NULL;
}

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

const char *whelk__strerror(int errnum)
{
#ifdef HAVE_STRERRORDESC_NP
    const char *s = strerrordesc_np(errnum);
    return s ? s : "Unknown error";
#else
    switch (errnum) {
    case ENOENT: return "No such file or directory";
    case EACCES: return "Permission denied";
    case ENOEXEC: return "Exec format error";
    case E2BIG: return "Argument list too long";
    case ENOMEM: return "Cannot allocate memory";
    case EMFILE: return "Too many open files";
    case ENOTDIR: return "Not a directory";
    default: return "Unknown error";
    }
#endif
}

const char *whelk__signame(int sig)
{
#ifdef HAVE_SIGABBREV_NP
    const char *s = sigabbrev_np(sig);
    return s ? s : "?";
#else
    (void)sig;
    return "?";
#endif
}

void whelk__fault_set(whelk_fault *f, int kind, int errnum, const char *fmt,
                      ...)
{
    whelk_buf b = {0};
    va_list ap;
    int n;

    if (!f || f->kind)
        return; /* the first problem is the one reported */
    f->kind = kind;
    f->errnum = errnum;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && whelk__buf_reserve(&b, (size_t)n) == 0) {
        va_start(ap, fmt);
        vsnprintf(b.data, (size_t)n + 1, fmt, ap);
        va_end(ap);
        f->message = b.data;
    }
}

void whelk__fault_copy(whelk_fault *dst, const whelk_fault *src)
{
    if (src->kind && !dst->kind)
        whelk__fault_set(dst, src->kind, src->errnum, "%s",
                         src->message ? src->message : "out of memory");
}

void whelk__fault_clear(whelk_fault *f)
{
    free(f->message);
    f->message = NULL;
    f->kind = 0;
    f->errnum = 0;
}
