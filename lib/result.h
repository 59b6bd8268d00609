/*
 * result.h -- the body of whelk_result (result.c): the statuses and captured
 * output of a run, filled by the loop (pump.c) and the verdict.
 */
#ifndef WHELK_RESULT_H
#define WHELK_RESULT_H

#include "buf.h"
#include "status.h"

struct whelk_result {
    size_t n;
    whelk_status *st;
    whelk_buf out, err;
    int truncated;
};
WHELK_INTERNAL whelk_result *whelk__result_new(size_t n);

#endif /* WHELK_RESULT_H */
