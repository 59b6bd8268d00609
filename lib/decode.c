/*
 * decode.c -- convert a byte stream from a named encoding to UTF-8, chunk
 * by chunk, and back for stdin.  Knows nothing of processes.
 *
 * Three engines, chosen when the decoder is made:
 *   UTF-8   validation only: ASCII is skipped eight bytes at a time, other
 *           sequences checked against Unicode's table of well-formed UTF-8.
 *   table   a stateless single-byte charset (Latin-1, CP1252, KOI8-R, ...):
 *           iconv converts each of the 256 bytes once, at creation, and the
 *           stream is then decoded by table lookup, ASCII runs in bulk.
 *           Charsets that compose characters (CP1255, CP1258, TCVN) are
 *           left to iconv.
 *   iconv   everything else (UTF-16, Shift_JIS, GB18030, ISO-2022-JP, ...).
 * A sequence split across reads is kept (in pend) until it completes; one
 * cut off by the end of the stream is invalid.  STRICT stops at the first
 * invalid byte and reports its offset in the stream; REPLACE writes U+FFFD
 * for each invalid sequence.
 */
#include "alloc.h"
#include "buf.h"
#include "decode.h"
#include "integer.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <iconv.h>
#include <unistd.h>

enum { ENG_UTF8, ENG_TABLE, ENG_ICONV };

#define PEND_MAX 16
static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

struct whelk_decoder {
    int engine;
    int policy;
    char *name;
    iconv_t cd;
    unsigned unit;   /* bytes skipped past an invalid sequence (iconv) */
    uint64_t offset; /* stream offset of the next unconsumed byte */
    unsigned char pend[PEND_MAX];
    size_t npend;
    unsigned char tablen[256];  /* 0: invalid */
    unsigned char invalid[256]; /* 1: invalid */
    int packed; /* all valid and at most 3 bytes: tab[c][3] is the length */
    unsigned char tab[256][4];
};

const char *whelk__charset(const char *encoding)
{
    if (encoding && strcasecmp(encoding, "locale") == 0)
        return nl_langinfo(CODESET);
    return encoding;
}

static int is_utf8_name(const char *name)
{
    return strcasecmp(name, "UTF-8") == 0 || strcasecmp(name, "UTF8") == 0;
}

/* ------------------------------------------------------------ UTF-8 */

static size_t ascii_run(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i + 8 <= len) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & UINT64_C(0x8080808080808080))
            break;
        i += 8;
    }
    while (i < len && s[i] < 0x80)
        i++;
    return i;
}

/* A sequence starting at s (s[0] >= 0x80): its length if well formed;
 * 0 if it is a valid beginning cut off by the end of the input; else
 * -(length of its maximal valid prefix, at least 1). */
static int utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    int need, i;

    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4;
    else
        return -1;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    for (i = 1; i < need; i++) {
        if ((size_t)i >= len)
            return 0;
        if (s[i] < lo || s[i] > hi)
            return -i;
        lo = 0x80;
        hi = 0xBF;
    }
    return need;
}

/* A shift DFA for well-formed UTF-8 (the states of utf8_seq's table,
 * each a multiple of 6): state = row[byte] >> state.  0 accepts, 6 is the
 * absorbing error state; the rest are inside a sequence. */
static const uint64_t utf8_dfa[256] = {
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x6186186186180),  UINT64_C(0x6186186186180),
    UINT64_C(0x1218c192300186), UINT64_C(0x1218c192300186),
    UINT64_C(0x1218c192300186), UINT64_C(0x1218c192300186),
    UINT64_C(0x1218c192300186), UINT64_C(0x1218c192300186),
    UINT64_C(0x1218c192300186), UINT64_C(0x1218c192300186),
    UINT64_C(0x1218c192300186), UINT64_C(0x1218c192300186),
    UINT64_C(0x1218c192300186), UINT64_C(0x1218c192300186),
    UINT64_C(0x1218c192300186), UINT64_C(0x1218c192300186),
    UINT64_C(0x1218c192300186), UINT64_C(0x1218c192300186),
    UINT64_C(0x648c192300186),  UINT64_C(0x648c192300186),
    UINT64_C(0x648c192300186),  UINT64_C(0x648c192300186),
    UINT64_C(0x648c192300186),  UINT64_C(0x648c192300186),
    UINT64_C(0x648c192300186),  UINT64_C(0x648c192300186),
    UINT64_C(0x648c192300186),  UINT64_C(0x648c192300186),
    UINT64_C(0x648c192300186),  UINT64_C(0x648c192300186),
    UINT64_C(0x648c192300186),  UINT64_C(0x648c192300186),
    UINT64_C(0x648c192300186),  UINT64_C(0x648c192300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6486312300186),  UINT64_C(0x6486312300186),
    UINT64_C(0x6186186186186),  UINT64_C(0x6186186186186),
    UINT64_C(0x618618618618c),  UINT64_C(0x618618618618c),
    UINT64_C(0x618618618618c),  UINT64_C(0x618618618618c),
    UINT64_C(0x618618618618c),  UINT64_C(0x618618618618c),
    UINT64_C(0x618618618618c),  UINT64_C(0x618618618618c),
    UINT64_C(0x618618618618c),  UINT64_C(0x618618618618c),
    UINT64_C(0x618618618618c),  UINT64_C(0x618618618618c),
    UINT64_C(0x618618618618c),  UINT64_C(0x618618618618c),
    UINT64_C(0x618618618618c),  UINT64_C(0x618618618618c),
    UINT64_C(0x618618618618c),  UINT64_C(0x618618618618c),
    UINT64_C(0x618618618618c),  UINT64_C(0x618618618618c),
    UINT64_C(0x618618618618c),  UINT64_C(0x618618618618c),
    UINT64_C(0x618618618618c),  UINT64_C(0x618618618618c),
    UINT64_C(0x618618618618c),  UINT64_C(0x618618618618c),
    UINT64_C(0x618618618618c),  UINT64_C(0x618618618618c),
    UINT64_C(0x618618618618c),  UINT64_C(0x618618618618c),
    UINT64_C(0x618618618619e),  UINT64_C(0x6186186186192),
    UINT64_C(0x6186186186192),  UINT64_C(0x6186186186192),
    UINT64_C(0x6186186186192),  UINT64_C(0x6186186186192),
    UINT64_C(0x6186186186192),  UINT64_C(0x6186186186192),
    UINT64_C(0x6186186186192),  UINT64_C(0x6186186186192),
    UINT64_C(0x6186186186192),  UINT64_C(0x6186186186192),
    UINT64_C(0x6186186186192),  UINT64_C(0x61861861861a4),
    UINT64_C(0x6186186186192),  UINT64_C(0x6186186186192),
    UINT64_C(0x61861861861aa),  UINT64_C(0x6186186186198),
    UINT64_C(0x6186186186198),  UINT64_C(0x6186186186198),
    UINT64_C(0x61861861861b0),  UINT64_C(0x6186186186186),
    UINT64_C(0x6186186186186),  UINT64_C(0x6186186186186),
    UINT64_C(0x6186186186186),  UINT64_C(0x6186186186186),
    UINT64_C(0x6186186186186),  UINT64_C(0x6186186186186),
    UINT64_C(0x6186186186186),  UINT64_C(0x6186186186186),
    UINT64_C(0x6186186186186),  UINT64_C(0x6186186186186),
};

/* Is s[0..len) well-formed UTF-8 ending on a character boundary?  One
 * table lookup and a shift per byte, 16 ASCII bytes at a time. */
static int utf8_all_valid(const unsigned char *s, size_t len)
{
    uint64_t st = 0;
    size_t i = 0;

    while (i < len) {
        if (st == 0 && i + 16 <= len) {
            uint64_t a, b;
            memcpy(&a, s + i, 8);
            memcpy(&b, s + i + 8, 8);
            if (!((a | b) & UINT64_C(0x8080808080808080))) {
                i += 16;
                continue;
            }
        }
        st = utf8_dfa[s[i++]] >> (st & 63);
    }
    return (st & 63) == 0;
}

size_t whelk__utf8_valid_prefix(const unsigned char *s, size_t len)
{
    size_t i = 0;

    for (;;) {
        int r;
        i += ascii_run(s + i, len - i);
        if (i == len)
            return i;
        r = utf8_seq(s + i, len - i);
        if (r <= 0)
            return i;
        i += (size_t)r;
    }
}

/* ---------------------------------------------------------- engines */

/* Each step converts s[0..len) as far as it can and returns how many bytes
 * it consumed (an incomplete tail is left unless final), or -1 after an
 * invalid byte under STRICT (d->offset then points at it), -2 on ENOMEM. */

static int bad_byte(whelk_decoder *d, whelk_buf *out, size_t at)
{
    d->offset += at;
    if (d->policy == WHELK_DECODE_STRICT)
        return -1;
    d->offset -= at;
    return whelk__buf_add(out, REPLACEMENT, 3) < 0 ? -2 : 0;
}

static long step_utf8_careful(whelk_decoder *d, const unsigned char *s,
                              size_t len, int final, whelk_buf *out);

/* The common case first: the DFA finds the chunk valid up to a sequence
 * that may continue in the next read, and it is copied whole; anything
 * else (invalid bytes, the tail) goes the careful way. */
static long step_utf8(whelk_decoder *d, const unsigned char *s, size_t len,
                      int final, whelk_buf *out)
{
    size_t cut = len, j;
    long r;

    for (j = 1; j <= 3 && j <= len; j++) {
        if (s[len - j] < 0x80)
            break;
        if (s[len - j] >= 0xC0) {
            cut = len - j;
            break;
        }
    }
    if (!utf8_all_valid(s, cut))
        return step_utf8_careful(d, s, len, final, out);
    if (whelk__buf_add(out, s, cut) < 0)
        return -2;
    if (cut == len)
        return (long)len;
    d->offset += cut; /* offsets of the tail are stream offsets too */
    r = step_utf8_careful(d, s + cut, len - cut, final, out);
    if (r == -1)
        return -1; /* d->offset points at the invalid byte */
    d->offset -= cut;
    return r < 0 ? r : (long)cut + r;
}

static long step_utf8_careful(whelk_decoder *d, const unsigned char *s,
                              size_t len, int final, whelk_buf *out)
{
    size_t i = 0, start = 0;

    while (i < len) {
        int r;
        i += ascii_run(s + i, len - i);
        if (i == len)
            break;
        r = utf8_seq(s + i, len - i);
        if (r > 0) {
            i += (size_t)r;
            continue;
        }
        if (r == 0 && !final)
            break;
        if (whelk__buf_add(out, s + start, i - start) < 0)
            return -2;
        if (bad_byte(d, out, i) < 0)
            return d->policy == WHELK_DECODE_STRICT ? -1 : -2;
        i += r == 0 ? len - i : (size_t)-r;
        start = i;
    }
    if (whelk__buf_add(out, s + start, i - start) < 0)
        return -2;
    return (long)i;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define PACKED_LEN(e) ((e)&0xFFu)
#else
#define PACKED_LEN(e) ((e) >> 24)
#endif

static long step_table(whelk_decoder *d, const unsigned char *s, size_t len,
                       whelk_buf *out)
{
    unsigned char *o, bad = 0;
    size_t i, need;
    int r;

    /* at most 4 output bytes per input byte, and each copy writes 4 */
    if (whelk__mul_overflow(&need, len, 4) ||
        whelk__add_overflow(&need, need, 4) ||
        whelk__buf_reserve(out, need) < 0)
        return -2;
    /* branch-free: copy the byte's 4-byte entry, advance by its length
     * (charsets where every byte is valid skip the invalid check) */
    o = (unsigned char *)out->data + out->len;
    if (d->packed) {
        /* every entry fits 3 bytes: its length rides in the 4th, one load */
        for (i = 0; i < len; i++) {
            uint32_t e;
            memcpy(&e, d->tab[s[i]], 4);
            memcpy(o, &e, 4);
            o += PACKED_LEN(e);
        }
    } else {
        for (i = 0; i < len; i++) {
            memcpy(o, d->tab[s[i]], 4);
            o += d->tablen[s[i]];
            bad |= d->invalid[s[i]];
        }
    }
    if (!bad) {
        out->len = (size_t)((char *)o - out->data);
        out->data[out->len] = '\0';
        return (long)len;
    }
    /* an invalid byte: again, byte by byte, to report or replace it */
    for (i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (d->tablen[c]) {
            memcpy(out->data + out->len, d->tab[c], 4);
            out->len += d->tablen[c];
        } else {
            out->data[out->len] = '\0';
            if ((r = bad_byte(d, out, i)) < 0)
                return r;
        }
    }
    out->data[out->len] = '\0';
    return (long)i;
}

/* iconv's output from out->data[from] on is UTF-8 -- except that glibc
 * writes code points past U+10FFFF (from UCS-4, WCHAR_T) as 5- and 6-byte
 * sequences.  Those are invalid input: under STRICT the output stops
 * before them (the offset reported is where this read began), under
 * REPLACE each becomes U+FFFD.  0, -1 (STRICT) or -2 (ENOMEM). */
static int check_output(whelk_decoder *d, whelk_buf *out, size_t from)
{
    const unsigned char *o;
    size_t n, ok, i;
    whelk_buf fixed = {0};

    if (!out->data || from >= out->len)
        return 0;
    o = (const unsigned char *)out->data + from;
    n = out->len - from;
    if ((ok = whelk__utf8_valid_prefix(o, n)) == n)
        return 0;
    if (d->policy == WHELK_DECODE_STRICT) {
        out->len = from + ok;
        out->data[out->len] = '\0';
        if (d->unit == 4) {
            /* a fixed-width source: one unit per character kept */
            for (i = 0; i < ok; i++)
                d->offset += (o[i] & 0xC0) != 0x80 ? 4 : 0;
        }
        return -1;
    }
    for (i = 0; i < n;) {
        size_t run = whelk__utf8_valid_prefix(o + i, n - i);
        int r;
        if (whelk__buf_add(&fixed, o + i, run) < 0)
            goto nomem;
        i += run;
        if (i == n)
            break;
        r = utf8_seq(o + i, n - i);
        if (whelk__buf_add(&fixed, REPLACEMENT, 3) < 0)
            goto nomem;
        i += r < 0 ? (size_t)-r : n - i;
    }
    out->len = from;
    if (whelk__buf_add(out, fixed.data, fixed.len) < 0)
        goto nomem;
    whelk__buf_free(&fixed);
    return 0;
nomem:
    whelk__buf_free(&fixed);
    return -2;
}

static long step_iconv(whelk_decoder *d, const unsigned char *s, size_t len,
                       int final, whelk_buf *out)
{
    char *in = (char *)s;
    size_t left = len, from = out->len;
    int r, e;

    while (left) {
        size_t room, before;
        char *o;
        if (whelk__buf_reserve(out, left * 4 + 16) < 0)
            return -2;
        o = out->data + out->len;
        room = out->cap - out->len - 1;
        before = room;
        if (iconv(d->cd, &in, &left, &o, &room) != (size_t)-1) {
            out->len += before - room;
            break;
        }
        out->len += before - room;
        out->data[out->len] = '\0';
        if (errno == E2BIG)
            continue;
        e = errno;
        if (e == EINVAL && !final)
            break; /* incomplete: wait for more */
        if ((r = bad_byte(d, out, (size_t)(in - (char *)s))) < 0)
            return r;
        if (e == EINVAL) {
            in += left; /* cut off by the end of the stream */
            left = 0;
        } else {
            size_t skip = d->unit < left ? d->unit : left;
            in += skip;
            left -= skip;
        }
    }
    if (final) {
        char *o;
        size_t room;
        if (whelk__buf_reserve(out, 32) < 0)
            return -2;
        o = out->data + out->len;
        room = out->cap - out->len - 1;
        iconv(d->cd, NULL, NULL, &o, &room);
        out->len = (size_t)(o - out->data);
    }
    if (out->data)
        out->data[out->len] = '\0';
    if ((r = check_output(d, out, from)) < 0)
        return r;
    return (long)(in - (char *)s);
}

static long step(whelk_decoder *d, const unsigned char *s, size_t len,
                 int final, whelk_buf *out)
{
    switch (d->engine) {
    case ENG_UTF8: return step_utf8(d, s, len, final, out);
    case ENG_TABLE: return step_table(d, s, len, out);
    default: return step_iconv(d, s, len, final, out);
    }
}

int whelk__decode(whelk_decoder *d, const char *in, size_t len, int eof,
                  whelk_buf *out, uint64_t *bad_offset)
{
    const unsigned char *s = (const unsigned char *)in;
    long c;

    if (whelk__buf_reserve(out, len + 16) < 0)
        return -2;
    if (d->npend) {
        /* finish the sequence begun in the last read first */
        unsigned char tmp[2 * PEND_MAX];
        size_t add = len < PEND_MAX ? len : PEND_MAX, ntmp = d->npend + add;
        memcpy(tmp, d->pend, d->npend);
        memcpy(tmp + d->npend, s, add);
        c = step(d, tmp, ntmp, eof && add == len, out);
        if (c < 0)
            goto failed;
        if ((size_t)c >= d->npend) {
            d->offset += (uint64_t)c;
            s += (size_t)c - d->npend;
            len -= (size_t)c - d->npend;
            d->npend = 0;
        } else if (add == len && ntmp - (size_t)c <= PEND_MAX) {
            /* still incomplete: all of the input was taken into tmp */
            d->offset += (uint64_t)c;
            memmove(d->pend, tmp + c, ntmp - (size_t)c);
            d->npend = ntmp - (size_t)c;
            return 0;
        } else {
            /* held bytes that PEND_MAX more could not complete: invalid */
            d->offset += (uint64_t)c;
            if (d->policy == WHELK_DECODE_STRICT) {
                *bad_offset = d->offset;
                return -1;
            }
            if (whelk__buf_add(out, REPLACEMENT, 3) < 0)
                return -2;
            d->offset += d->npend - (size_t)c;
            d->npend = 0;
        }
    }
    c = step(d, s, len, eof, out);
    if (c < 0)
        goto failed;
    d->offset += (uint64_t)c;
    d->npend = len - (size_t)c;
    if (d->npend > PEND_MAX) {
        /* iconv left more than any sequence: treat the rest as invalid */
        d->npend = 0;
        if (d->policy == WHELK_DECODE_STRICT) {
            *bad_offset = d->offset;
            return -1;
        }
        return whelk__buf_add(out, REPLACEMENT, 3) < 0 ? -2 : 0;
    }
    memcpy(d->pend, s + c, d->npend);
    return 0;
failed:
    *bad_offset = d->offset;
    return c == -2 ? -2 : -1;
}

/* --------------------------------------------------------- creation */

/* A stateless single-byte charset: every byte converts alone, at once, to
 * one character, or is invalid.  Fills the table; 0 if not such a charset.
 * A charset whose converter holds a character back until it sees the next
 * byte (CP1255, CP1258 and TCVN compose a letter with the combining mark
 * after it) is not one: iconv decodes those. */
static int build_table(whelk_decoder *d)
{
    int b;

    for (b = 0; b < 256; b++) {
        char inb = (char)b, outb[16], *in = &inb, *o = outb, *before;
        size_t left = 1, room = sizeof outb;
        iconv(d->cd, NULL, NULL, NULL, NULL);
        if (iconv(d->cd, &in, &left, &o, &room) == (size_t)-1) {
            if (errno != EILSEQ)
                return 0;
            d->tablen[b] = 0;
            d->invalid[b] = 1;
            continue;
        }
        before = o;
        iconv(d->cd, NULL, NULL, &o, &room);
        if (left != 0 || o == outb || o != before || o - outb > 4)
            return 0;
        d->tablen[b] = (unsigned char)(o - outb);
        memcpy(d->tab[b], outb, (size_t)(o - outb));
    }
    d->packed = memchr(d->invalid, 1, sizeof d->invalid) == NULL &&
                memchr(d->tablen, 4, sizeof d->tablen) == NULL;
    for (b = 0; d->packed && b < 256; b++)
        d->tab[b][3] = d->tablen[b];
    /* ASCII must map to itself (a charset that moves ASCII is no table's) */
    for (b = 0; b < 128; b++)
        if (d->tablen[b] != 1 || d->tab[b][0] != b)
            return 0;
    return 1;
}

/* How many bytes to skip past an invalid sequence: the encoding's code
 * unit, measured by encoding "A" and "AA" (2 for UTF-16 and UCS-2 under any
 * name, 4 for UCS-4, 1 for byte encodings). */
static unsigned unit_of(const char *cs)
{
    iconv_t e = iconv_open(cs, "UTF-8");
    size_t n[2];
    int i;

    if (e == (iconv_t)-1)
        return 1;
    for (i = 0; i < 2; i++) {
        char text[] = "AA", buf[32], *in = text, *o = buf;
        size_t left = (size_t)i + 1, room = sizeof buf;
        iconv(e, NULL, NULL, NULL, NULL);
        if (iconv(e, &in, &left, &o, &room) == (size_t)-1) {
            iconv_close(e);
            return 1;
        }
        iconv(e, NULL, NULL, &o, &room);
        n[i] = (size_t)(o - buf);
    }
    iconv_close(e);
    return n[1] > n[0] && n[1] - n[0] <= 4 ? (unsigned)(n[1] - n[0]) : 1;
}

int whelk__iconv_open_errno(void)
{
    int fd;

    if (errno == ENOMEM)
        return ENOMEM;
    if ((fd = open("/", O_PATH | O_CLOEXEC)) < 0)
        return errno == EMFILE || errno == ENFILE ? errno : EINVAL;
    close(fd);
    return EINVAL;
}

whelk_decoder *whelk__decoder_new(const char *encoding, int policy, int *errnum)
{
    const char *cs = whelk__charset(encoding);
    whelk_decoder *d;

    if (!cs || !*cs) {
        *errnum = EINVAL;
        return NULL;
    }
    if (!(d = whelk__calloc(1, sizeof *d)) ||
        !(d->name = whelk__strdup(encoding))) {
        free(d);
        *errnum = ENOMEM;
        return NULL;
    }
    d->policy = policy;
    d->cd = (iconv_t)-1;
    if (is_utf8_name(cs)) {
        d->engine = ENG_UTF8;
        return d;
    }
    d->cd = iconv_open("UTF-8", cs);
    if (d->cd == (iconv_t)-1) {
        *errnum = whelk__iconv_open_errno();
        whelk__decoder_free(d);
        return NULL;
    }
    if (build_table(d)) {
        d->engine = ENG_TABLE;
        iconv_close(d->cd);
        d->cd = (iconv_t)-1;
    } else {
        d->engine = ENG_ICONV;
        d->unit = unit_of(cs);
        iconv(d->cd, NULL, NULL, NULL, NULL);
    }
    return d;
}

int whelk__decoder_is_utf8(const whelk_decoder *d)
{
    return d->engine == ENG_UTF8;
}

int whelk__decoder_is_table(const whelk_decoder *d)
{
    return d->engine == ENG_TABLE;
}

const char *whelk__decoder_name(const whelk_decoder *d)
{
    return d->name;
}

void whelk__decoder_free(whelk_decoder *d)
{
    if (!d)
        return;
    if (d->cd != (iconv_t)-1)
        iconv_close(d->cd);
    free(d->name);
    free(d);
}

/* ------------------------------------------------------------ stdin */

int whelk__encode(const char *encoding, const void *data, size_t len,
                  whelk_buf *out, size_t *bad_offset)
{
    const char *cs = whelk__charset(encoding);
    iconv_t cd;
    char *in = (char *)data;
    size_t left = len;
    int rc = 0;

    *bad_offset = 0;
    if (!cs)
        return EINVAL;
    if ((cd = iconv_open(cs, "UTF-8")) == (iconv_t)-1)
        return whelk__iconv_open_errno();
    while (left) {
        size_t room, before;
        char *o;
        if (whelk__buf_reserve(out, left * 4 + 16) < 0) {
            rc = ENOMEM;
            break;
        }
        o = out->data + out->len;
        before = room = out->cap - out->len - 1;
        if (iconv(cd, &in, &left, &o, &room) != (size_t)-1) {
            out->len += before - room;
            break;
        }
        out->len += before - room;
        if (errno != E2BIG) {
            rc = EILSEQ; /* invalid UTF-8, or not representable */
            *bad_offset = (size_t)(in - (char *)data);
            break;
        }
    }
    if (rc == 0 && whelk__buf_reserve(out, 32) == 0) {
        char *o = out->data + out->len;
        size_t room = out->cap - out->len - 1;
        iconv(cd, NULL, NULL, &o, &room);
        out->len = (size_t)(o - out->data);
    }
    if (out->data)
        out->data[out->len] = '\0';
    iconv_close(cd);
    return rc;
}
