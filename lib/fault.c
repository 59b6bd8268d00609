/*
 * fault.c -- builder faults: the first problem a builder met, kept in the
 * command or pipeline and reported by the run that uses it.
 */
#include "fault.h"
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
