/*
 * units.h -- what the topic files of the units suite (tests/units/<topic>.c,
 * run by tests/check_units.c) share: the fixtures and helpers of check_units.c
 * and one function per topic that adds its test cases to the suite.
 */
#ifndef WHELK_TESTS_UNITS_H
#define WHELK_TESTS_UNITS_H

#include "internal.h"
#include <check.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common.h"

/* ===================================================================== */
/* Decoder helpers                                                       */
/* ===================================================================== */

typedef struct decoded {
    int rc;
    uint64_t bad;
    whelk_buf out;
} decoded;

#define S(lit) (lit), (sizeof(lit) - 1)

void decoded_free(decoded *d);

/* Decodes in[0..len) cut at cuts[0..ncuts) (ascending positions in
 * [0, len]; equal positions make empty chunks).  The end of the stream is
 * given with the last chunk, or (separate_eof) as one more empty call. */
decoded decode_cut(const char *enc, int policy, const void *in, size_t len,
                   const size_t *cuts, size_t ncuts, int separate_eof);

decoded decode_whole(const char *enc, int policy, const void *in, size_t len);

/* Hex dump for messages (one of four static buffers, in turn, so that a
 * message may show two). */
const char *hex(const void *p, size_t n);

/* The topics, in the order the suite runs them. */
void units_decode(Suite *s);
void units_encode(Suite *s);
void units_lines(Suite *s);

#endif /* WHELK_TESTS_UNITS_H */
