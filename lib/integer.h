/*
 * integer.h -- overflow-checked size arithmetic, in one place (after
 * libgit2's src/util/integer.h): every size the library computes from
 * lengths it was given goes through these before it reaches an allocator.
 */
#ifndef WHELK_INTEGER_H
#define WHELK_INTEGER_H

#include <stddef.h>

/* *out = a + b; returns 1 (and *out unspecified) when it overflows size_t,
 * else 0. */
static inline int whelk__add_overflow(size_t *out, size_t a, size_t b)
{
    return __builtin_add_overflow(a, b, out);
}

/* *out = a * b; returns 1 (and *out unspecified) when it overflows size_t,
 * else 0. */
static inline int whelk__mul_overflow(size_t *out, size_t a, size_t b)
{
    return __builtin_mul_overflow(a, b, out);
}

#endif /* WHELK_INTEGER_H */
