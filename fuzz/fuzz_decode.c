/*
 * fuzz_decode.c -- libFuzzer target for the decoder (lib/decode.c).
 *
 * Input layout:
 *   byte 0      encoding (bits 1..7, with bits 5..7 of byte 1 above them,
 *               an index into the encodings: encodings[], then every
 *               charset `iconv -l` lists that the table engine serves)
 *               and the policy of the chunked run (bit 0: STRICT or
 *               REPLACE)
 *   byte 1      bits 0..3: number of cuts; bit 4: give the end of the
 *               stream as a separate empty call rather than with the last
 *               chunk; bits 5..7: see byte 0
 *   then        one byte per cut: the length of that chunk (0 allowed)
 *   the rest    the stream; what the cuts leave is the last chunk
 *
 * Properties checked (abort on violation):
 *   - decoding in chunks gives what decoding in one call gives: the same
 *     return code, output and (under STRICT) offset of the first invalid
 *     byte;
 *   - REPLACE never fails, and its output is valid UTF-8; so is the output
 *     of every successful decoding, NUL-terminated in its buffer;
 *   - where STRICT succeeds, REPLACE gives the same output, and for every
 *     encoding but UTF-8 that output is what iconv itself gives (the table
 *     charsets and those that compose, CP1255, CP1258 and TCVN, included);
 *   - for UTF-8, STRICT passes valid input through unchanged and fails at
 *     the end of the longest valid prefix.
 * Each chunk is a separate allocation of exactly its size, so ASan sees a
 * read past it.
 */
#include "internal.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const encodings[] = {
    "UTF-8",     "ISO-8859-1", "CP1252",      "KOI8-R",
    "UTF-16LE",  "UTF-16BE",   "UTF-16",      "UTF-32LE",
    "SHIFT_JIS", "CP932",      "EUC-JP",      "GB18030",
    "BIG5",      "EUC-KR",     "ISO-2022-JP", "ISO-8859-15",
    /* charsets whose converter composes a letter and the combining mark
     * after it: not table charsets, decoded by iconv */
    "CP1255",    "CP1258",     "TCVN5712-1",
    /* more single-byte charsets of the table engine */
    "CP1251",    "CP1253",     "ISO-8859-7",  "KOI8-U",
    "CP437",     "MACINTOSH",  "CP1250",      "ISO-8859-8",
    "CP874",
};
#define NENC (sizeof encodings / sizeof encodings[0])

/* encodings[], then the table charsets found at start-up */
static const char **all = NULL;
static size_t nall;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FILE *f = popen("iconv -l", "r");
    char word[256];
    size_t i, cap = NENC + 1024;

    (void)argc;
    (void)argv;
    if (!(all = malloc(cap * sizeof *all)))
        abort();
    for (i = 0; i < NENC; i++)
        all[nall++] = encodings[i];
    while (f && fscanf(f, " %255[^, \n]%*[, \n]", word) == 1 && nall < cap) {
        size_t n = strlen(word);
        int e = 0;
        whelk_decoder *d;
        while (n && word[n - 1] == '/')
            word[--n] = '\0';
        if (!n || !(d = whelk__decoder_new(word, WHELK_DECODE_STRICT, &e)))
            continue;
        if (whelk__decoder_is_table(d) && !(all[nall++] = strdup(word)))
            abort();
        whelk__decoder_free(d);
    }
    if (f)
        pclose(f);
    fprintf(stderr, "fuzz_decode: %zu encodings\n", nall);
    return 0;
}

typedef struct outcome {
    int rc;
    uint64_t bad;
    whelk_buf out;
} outcome;

static void fail(const char *what, const char *enc, int policy)
{
    fprintf(stderr, "fuzz_decode: %s (%s, %s)\n", what, enc,
            policy == WHELK_DECODE_STRICT ? "STRICT" : "REPLACE");
    abort();
}

static whelk_decoder *open_decoder(const char *enc, int policy)
{
    int e = 0;
    whelk_decoder *d = whelk__decoder_new(enc, policy, &e);

    if (!d)
        fail("cannot open the decoder", enc, policy);
    return d;
}

static outcome decode_whole(const char *enc, int policy, const uint8_t *in,
                            size_t len)
{
    outcome o;
    whelk_decoder *d = open_decoder(enc, policy);
    char *copy = malloc(len ? len : 1);

    memset(&o, 0, sizeof o);
    if (!copy)
        abort();
    memcpy(copy, in, len);
    o.rc = whelk__decode(d, copy, len, 1, &o.out, &o.bad);
    free(copy);
    whelk__decoder_free(d);
    return o;
}

static outcome decode_chunked(const char *enc, int policy, const uint8_t *in,
                              size_t len, const uint8_t *sizes, size_t ncuts,
                              int separate_eof)
{
    outcome o;
    whelk_decoder *d = open_decoder(enc, policy);
    size_t i, pos = 0;

    memset(&o, 0, sizeof o);
    for (i = 0; i <= ncuts; i++) {
        int last = i == ncuts;
        size_t n =
            last ? len - pos : (sizes[i] < len - pos ? sizes[i] : len - pos);
        char *chunk = malloc(n ? n : 1);

        if (!chunk)
            abort();
        memcpy(chunk, in + pos, n);
        o.rc =
            whelk__decode(d, chunk, n, last && !separate_eof, &o.out, &o.bad);
        free(chunk);
        pos += n;
        if (o.rc)
            goto out;
    }
    if (separate_eof)
        o.rc = whelk__decode(d, "", 0, 1, &o.out, &o.bad);
out:
    whelk__decoder_free(d);
    return o;
}

static int same_bytes(const whelk_buf *a, const whelk_buf *b)
{
    return a->len == b->len &&
           (a->len == 0 || !memcmp(a->data, b->data, a->len));
}

static void check_utf8(const outcome *o, const char *enc, int policy)
{
    if (o->rc != 0)
        return;
    if (o->out.data && o->out.data[o->out.len] != '\0')
        fail("output not NUL-terminated", enc, policy);
    if (o->out.len &&
        whelk__utf8_valid_prefix((const unsigned char *)o->out.data,
                                 o->out.len) != o->out.len)
        fail("output is not valid UTF-8", enc, policy);
}

/* iconv's own conversion of the whole input; 0 if iconv rejects it. */
static int iconv_whole(const char *enc, const uint8_t *in, size_t len,
                       whelk_buf *out)
{
    iconv_t cd = iconv_open("UTF-8", enc);
    char *ip = (char *)in;
    size_t left = len;
    int ok = 1;

    if (cd == (iconv_t)-1)
        abort();
    while (ok && left) {
        char *op;
        size_t room, before;
        if (whelk__buf_reserve(out, left * 4 + 16) < 0)
            abort();
        op = out->data + out->len;
        before = room = out->cap - out->len - 1;
        if (iconv(cd, &ip, &left, &op, &room) == (size_t)-1 && errno != E2BIG)
            ok = 0;
        out->len += before - room;
    }
    if (ok) {
        char *op;
        size_t room;
        if (whelk__buf_reserve(out, 64) < 0)
            abort();
        op = out->data + out->len;
        room = out->cap - out->len - 1;
        iconv(cd, NULL, NULL, &op, &room);
        out->len = (size_t)(op - out->data);
    }
    iconv_close(cd);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *enc;
    int policy, separate_eof;
    size_t ncuts, len;
    const uint8_t *sizes, *in;
    outcome strict, replace, chunked;

    if (size < 2)
        return 0;
    enc = all[((size_t)(data[0] >> 1) | (size_t)(data[1] >> 5) << 7) % nall];
    policy = data[0] & 1 ? WHELK_DECODE_REPLACE : WHELK_DECODE_STRICT;
    ncuts = data[1] & 15;
    separate_eof = (data[1] >> 4) & 1;
    if (size < 2 + ncuts)
        return 0;
    sizes = data + 2;
    in = data + 2 + ncuts;
    len = size - 2 - ncuts;

    strict = decode_whole(enc, WHELK_DECODE_STRICT, in, len);
    replace = decode_whole(enc, WHELK_DECODE_REPLACE, in, len);
    chunked = decode_chunked(enc, policy, in, len, sizes, ncuts, separate_eof);

    if (strict.rc == -2 || replace.rc == -2 || chunked.rc == -2)
        fail("out of memory", enc, policy);
    if (replace.rc != 0)
        fail("REPLACE failed", enc, WHELK_DECODE_REPLACE);
    if (strict.rc == -1 && strict.bad >= len)
        fail("the invalid offset is past the input", enc, WHELK_DECODE_STRICT);
    check_utf8(&strict, enc, WHELK_DECODE_STRICT);
    check_utf8(&replace, enc, WHELK_DECODE_REPLACE);
    check_utf8(&chunked, enc, policy);

    /* chunks make no difference */
    {
        const outcome *whole =
            policy == WHELK_DECODE_STRICT ? &strict : &replace;
        if (chunked.rc != whole->rc)
            fail("chunked and whole decoding disagree on success", enc, policy);
        if (whole->rc == 0 && !same_bytes(&chunked.out, &whole->out))
            fail("chunked and whole output differ", enc, policy);
        if (whole->rc == -1 && chunked.bad != whole->bad)
            fail("chunked and whole invalid offsets differ", enc, policy);
    }

    if (strict.rc == 0 && !same_bytes(&strict.out, &replace.out))
        fail("valid input: STRICT and REPLACE output differ", enc, policy);

    if (strcmp(enc, "UTF-8") == 0) {
        size_t valid = whelk__utf8_valid_prefix(in, len);
        if (strict.rc == 0 && (valid != len || strict.out.len != len ||
                               (len && memcmp(strict.out.data, in, len))))
            fail("valid UTF-8 was not passed through", enc, policy);
        if (strict.rc == -1 && strict.bad != valid)
            fail("the invalid offset is not the end of the valid prefix", enc,
                 policy);
    } else if (strict.rc == 0) {
        whelk_buf ref = {0};
        if (!iconv_whole(enc, in, len, &ref))
            fail("STRICT accepted what iconv rejects", enc, policy);
        if (!same_bytes(&ref, &strict.out))
            fail("STRICT output differs from iconv's", enc, policy);
        whelk__buf_free(&ref);
    }

    whelk__buf_free(&strict.out);
    whelk__buf_free(&replace.out);
    whelk__buf_free(&chunked.out);
    return 0;
}
