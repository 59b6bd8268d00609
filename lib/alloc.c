/*
 * alloc.c -- the library's allocation wrappers: every allocation of lib/
 * goes through them (one place to audit; the fault-injection tests wrap
 * malloc and realloc at link time).
 */
#include "alloc.h"
#include "integer.h"

#include <errno.h>
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
