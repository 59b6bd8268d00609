/*
 * check_units.c -- unit tests of the modules that know nothing of
 * processes: the decoder (lib/decode.c) and the line splitter
 * (lib/lines.c), called directly through lib/internal.h.
 *
 * Inputs are fed in chunks the tests choose, so the properties a run can
 * only make likely are checked exhaustively here: every way of cutting an
 * input into reads must give the same output as one read.  Every chunk is
 * a separate allocation of exactly its size, so that a read or write past
 * a chunk is caught by valgrind or ASan.
 *
 * The runner and fixtures; the tests are in tests/units/<topic>.c, one
 * file per topic, sharing tests/units/units.h.
 */
#include "units/units.h"

void decoded_free(decoded *d)
{
    whelk__buf_free(&d->out);
}

/* Decodes in[0..len) cut at cuts[0..ncuts) (ascending positions in
 * [0, len]; equal positions make empty chunks).  The end of the stream is
 * given with the last chunk, or (separate_eof) as one more empty call. */
decoded decode_cut(const char *enc, int policy, const void *in,
                   size_t len, const size_t *cuts, size_t ncuts,
                   int separate_eof)
{
    const unsigned char *s = in;
    decoded r;
    whelk_decoder *d;
    size_t i, prev = 0;
    int e = 0;

    memset(&r, 0, sizeof r);
    d = whelk__decoder_new(enc, policy, &e);
    ck_assert_msg(d != NULL, "decoder for %s: errno %d", enc, e);
    for (i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        int last = i == ncuts;
        char *chunk = malloc(end - prev ? end - prev : 1);

        ck_assert_ptr_nonnull(chunk);
        ck_assert_uint_ge(end, prev);
        memcpy(chunk, s + prev, end - prev);
        r.rc = whelk__decode(d, chunk, end - prev, last && !separate_eof,
                             &r.out, &r.bad);
        free(chunk);
        if (r.rc)
            goto out;
        prev = end;
    }
    if (separate_eof)
        r.rc = whelk__decode(d, "", 0, 1, &r.out, &r.bad);
out:
    whelk__decoder_free(d);
    return r;
}

decoded decode_whole(const char *enc, int policy, const void *in,
                     size_t len)
{
    return decode_cut(enc, policy, in, len, NULL, 0, 0);
}

/* Hex dump for messages (one of four static buffers, in turn, so that a
 * message may show two). */
const char *hex(const void *p, size_t n)
{
    static char bufs[4][1024];
    static unsigned next;
    char *buf = bufs[next++ % 4];
    const unsigned char *s = p;
    size_t i, used = 0;

    buf[0] = '\0';
    for (i = 0; i < n && used + 4 < sizeof bufs[0]; i++)
        used +=
            (size_t)snprintf(buf + used, sizeof bufs[0] - used, "%02x ", s[i]);
    return buf;
}

/* ===================================================================== */

static Suite *units_suite(void)
{
    Suite *s = suite_create("units");

    units_decode(s);
    units_encode(s);
    units_lines(s);

    return s;
}

int main(void)
{
    return run_suite(units_suite());
}
