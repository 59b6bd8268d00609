/*
 * fault.h -- builder faults (fault.c): the first problem a builder met
 * (cmd.c, pipeline.c, shell.c, childsetup.c), reported by the run that
 * uses the command or pipeline.
 */
#ifndef WHELK_FAULT_H
#define WHELK_FAULT_H

#include "alloc.h"

/* The first problem a builder met, reported by the run that uses it. */
typedef struct whelk_fault {
    int kind; /* 0: none */
    int errnum;
    char *message; /* NULL when the message itself could not be made */
} whelk_fault;
WHELK_INTERNAL void whelk__fault_set(whelk_fault *f, int kind, int errnum,
                                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
WHELK_INTERNAL void whelk__fault_copy(whelk_fault *dst, const whelk_fault *src);
WHELK_INTERNAL void whelk__fault_clear(whelk_fault *f);

#endif /* WHELK_FAULT_H */
