/*
 * decode.h -- bytes -> UTF-8 (decode.c), stdin text -> bytes; the decoder is
 * opaque (its body is private to decode.c).
 */
#ifndef WHELK_DECODE_H
#define WHELK_DECODE_H

#include "buf.h"

typedef struct whelk_decoder whelk_decoder;
/* Opens a decoder from encoding to UTF-8; NULL with *errnum (EINVAL for an
 * unknown encoding, ENOMEM). */
WHELK_INTERNAL whelk_decoder *whelk__decoder_new(const char *encoding,
                                                 int policy, int *errnum);
/* Converts len bytes (eof: no more after these).  Output is appended to
 * out.  Returns 0, -1 with *bad_offset set (the stream offset of the first
 * invalid byte) under STRICT, or -2 on ENOMEM. */
WHELK_INTERNAL int whelk__decode(whelk_decoder *d, const char *in, size_t len,
                                 int eof, whelk_buf *out, uint64_t *bad_offset);
/* Whether the source is UTF-8 itself (validation only, no conversion).
 * This and the next are decode.c's own questions, exported for the unit
 * tests and fuzz/fuzz_decode.c. */
WHELK_INTERNAL int whelk__decoder_is_utf8(const whelk_decoder *d);
/* Whether the source is decoded by table lookup (a stateless single-byte
 * charset that iconv converts byte by byte exactly as the table does). */
WHELK_INTERNAL int whelk__decoder_is_table(const whelk_decoder *d);
WHELK_INTERNAL const char *whelk__decoder_name(const whelk_decoder *d);
WHELK_INTERNAL void whelk__decoder_free(whelk_decoder *d);
/* Length of the longest valid UTF-8 prefix of s[0..len). */
WHELK_INTERNAL size_t whelk__utf8_valid_prefix(const unsigned char *s,
                                               size_t len);
/* Converts UTF-8 text to encoding (for stdin).  0, or an errno value with
 * *bad_offset set for EILSEQ. */
WHELK_INTERNAL int whelk__encode(const char *encoding, const void *in,
                                 size_t len, whelk_buf *out,
                                 size_t *bad_offset);
/* Why iconv_open just failed, from the errno it left: ENOMEM; EMFILE or
 * ENFILE when no descriptor can be opened now (glibc reads its converter
 * configuration and modules from files, then says only EINVAL); else
 * EINVAL, an encoding iconv does not know. */
WHELK_INTERNAL int whelk__iconv_open_errno(void);
/* The iconv name of encoding ("locale" resolved). */
WHELK_INTERNAL const char *whelk__charset(const char *encoding);

#endif /* WHELK_DECODE_H */
