/*
 * alloc.h -- allocation (alloc.c): every allocation of the library goes
 * through these.
 */
#ifndef WHELK_ALLOC_H
#define WHELK_ALLOC_H

#include "base.h"

/* Every allocation of the library goes through these (one place to audit,
 * and the fault-injection tests wrap malloc/realloc at link time). */
WHELK_INTERNAL void *whelk__malloc(size_t n);
WHELK_INTERNAL void *whelk__calloc(size_t n, size_t size);
WHELK_INTERNAL void *whelk__realloc(void *p, size_t n);
/* realloc of an array of n elements of size bytes: NULL (errno ENOMEM, p
 * left as it was) when n * size overflows or memory is exhausted. */
WHELK_INTERNAL void *whelk__reallocarray(void *p, size_t n, size_t size);
WHELK_INTERNAL char *whelk__strdup(const char *s);
WHELK_INTERNAL void *whelk__memdup(const void *p, size_t n);

#endif /* WHELK_ALLOC_H */
