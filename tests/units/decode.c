/*
 * units/decode.c -- the units suite's "decode" tests (run by tests/check_units.c).
 */
#include "units.h"

#define FFFD "\xEF\xBF\xBD"

/* Asserts two decodings agree: the same rc, and the same output (rc 0) or
 * the same offset (rc -1). */
static void same_decoding(const decoded *a, const decoded *b, const char *what)
{
    ck_assert_msg(a->rc == b->rc, "%s: rc %d, whole %d", what, b->rc, a->rc);
    if (a->rc == 0) {
        ck_assert_msg(a->out.len == b->out.len &&
                          memcmp(a->out.data, b->out.data, a->out.len) == 0,
                      "%s: output differs from one chunk: %s", what,
                      hex(b->out.data, b->out.len));
        ck_assert_msg(b->out.data[b->out.len] == '\0', "%s: no NUL", what);
    } else {
        ck_assert_msg(a->bad == b->bad, "%s: offset %llu, whole %llu", what,
                      (unsigned long long)b->bad, (unsigned long long)a->bad);
    }
}

/* Every way of cutting in into up to three chunks, and into single bytes,
 * with the end given with the last chunk or apart, decodes as one chunk. */
static void check_all_splits(const char *enc, int policy, const char *in,
                             size_t len)
{
    decoded whole = decode_whole(enc, policy, in, len);
    size_t i, j;
    int sep;
    char what[256];

    for (sep = 0; sep <= 1; sep++) {
        for (i = 0; i <= len; i++) {
            for (j = i; j <= len; j++) {
                size_t cuts[2] = {i, j};
                decoded d = decode_cut(enc, policy, in, len, cuts, 2, sep);
                snprintf(what, sizeof what,
                         "%s policy %d, cut at %zu and %zu%s of %s", enc,
                         policy, i, j, sep ? ", eof apart" : "", hex(in, len));
                same_decoding(&whole, &d, what);
                decoded_free(&d);
            }
        }
        if (len > 1) {
            size_t *cuts = malloc((len - 1) * sizeof *cuts);
            decoded d;
            ck_assert_ptr_nonnull(cuts);
            for (i = 0; i < len - 1; i++)
                cuts[i] = i + 1;
            d = decode_cut(enc, policy, in, len, cuts, len - 1, sep);
            snprintf(what, sizeof what, "%s policy %d, byte by byte%s", enc,
                     policy, sep ? ", eof apart" : "");
            same_decoding(&whole, &d, what);
            decoded_free(&d);
            free(cuts);
        }
    }
    decoded_free(&whole);
}

/* The whole input decodes to want (rc 0). */
static void check_decodes_to(const char *enc, int policy, const char *in,
                             size_t len, const char *want)
{
    decoded d = decode_whole(enc, policy, in, len);

    ck_assert_msg(d.rc == 0, "%s policy %d of %s: rc %d at %llu", enc, policy,
                  hex(in, len), d.rc, (unsigned long long)d.bad);
    ck_assert_msg(d.out.len == strlen(want) &&
                      memcmp(d.out.data, want, d.out.len) == 0,
                  "%s policy %d of %s: got %s", enc, policy, hex(in, len),
                  hex(d.out.data, d.out.len));
    decoded_free(&d);
}

/* Under STRICT the whole input fails at offset. */
static void check_invalid_at(const char *enc, const char *in, size_t len,
                             uint64_t offset)
{
    decoded d = decode_whole(enc, WHELK_DECODE_STRICT, in, len);

    ck_assert_msg(d.rc == -1, "%s of %s: rc %d, expected -1", enc, hex(in, len),
                  d.rc);
    ck_assert_msg(d.bad == offset, "%s of %s: offset %llu, expected %llu", enc,
                  hex(in, len), (unsigned long long)d.bad,
                  (unsigned long long)offset);
    decoded_free(&d);
}

/* ===================================================================== */
/* Decoder                                                               */
/* ===================================================================== */

static const struct {
    const char *enc;
    const char *in;
    size_t len;
    const char *want; /* whole decoding under STRICT; NULL: invalid */
} mixed[] = {
    {"UTF-8",
     S("a\xC3\xA9"
       "b\xE2\x82\xAC\xF0\x9F\x98\x80\ncd\xE3\x81\x82"),
     "a\xC3\xA9"
     "b\xE2\x82\xAC\xF0\x9F\x98\x80\ncd\xE3\x81\x82"},
    {"UTF-8",
     S("a\xC3\xA9\xFF"
       "b\xE2\x82X\xC0\xAF\xF0\x9F\x98"),
     NULL},
    {"UTF-8", S("\xED\xA0\x80x\xF4\x90\x80\x80y\xE0\x80\x80"), NULL},
    {"ISO-8859-1", S("caf\xE9 \xFF\x80\n\xA0z"),
     "caf\xC3\xA9 \xC3\xBF\xC2\x80\n\xC2\xA0z"},
    {"CP1252", S("\x80\x81x\x9F\xE9"), NULL},
    {"KOI8-R", S("\xF0\xD2\xC9\xD7\xC5\xD4!"),
     "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82!"},
    /* "hé€" U+1F600 "\n" */
    {"UTF-16LE", S("h\0\xE9\0\xAC\x20\x3D\xD8\x00\xDE\n\0"),
     "h\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\n"},
    /* a lone high surrogate, a lone low surrogate, an odd last byte */
    {"UTF-16LE",
     S("a\0\0\xD8"
       "b\0\0\xDC"
       "c\0d"),
     NULL},
    /* a, HIRAGANA A, I, space, half-width KA, newline */
    {"SHIFT_JIS", S("a\x82\xA0\x82\xA2 \xB6\n"),
     "a\xE3\x81\x82\xE3\x81\x84 \xEF\xBD\xB6\n"},
    {"SHIFT_JIS", S("\x82 \x80x\x82\xA0\x82"), NULL},
    /* a, HIRAGANA A, CIRCLED DIGIT ONE (an NEC row of CP932) */
    {"CP932", S("a\x82\xA0\x87\x40"), "a\xE3\x81\x82\xE2\x91\xA0"},
    {"CP932",
     S("A\xA0"
       "A\x82 \x80xyz"),
     NULL},
};

START_TEST(test_decode_mixed_whole)
{
    size_t k;

    for (k = 0; k < sizeof mixed / sizeof mixed[0]; k++) {
        if (mixed[k].want) {
            check_decodes_to(mixed[k].enc, WHELK_DECODE_STRICT, mixed[k].in,
                             mixed[k].len, mixed[k].want);
            check_decodes_to(mixed[k].enc, WHELK_DECODE_REPLACE, mixed[k].in,
                             mixed[k].len, mixed[k].want);
        } else {
            decoded d = decode_whole(mixed[k].enc, WHELK_DECODE_STRICT,
                                     mixed[k].in, mixed[k].len);
            ck_assert_msg(d.rc == -1, "%s: %s is valid?", mixed[k].enc,
                          hex(mixed[k].in, mixed[k].len));
            decoded_free(&d);
        }
    }
}
END_TEST

START_TEST(test_decode_every_split_point)
{
    int k = _i;
    int policy;

    for (policy = 0; policy <= 1; policy++)
        check_all_splits(mixed[k].enc, policy, mixed[k].in, mixed[k].len);
}
END_TEST

START_TEST(test_decode_invalid_offsets)
{
    static const struct {
        const char *enc;
        const char *in;
        size_t len;
        uint64_t offset;
    } cases[] = {
        {"UTF-8",
         S("abc\xFF"
           "def"),
         3},
        {"UTF-8", S("\xC3\x28"), 0},
        {"UTF-8", S("ab\xE2\x82"), 2},   /* cut off by the end */
        {"UTF-8", S("ab\xE2\x82X"), 2},  /* cut short */
        {"UTF-8", S("\xC3\xA9\x80"), 2}, /* a lone continuation byte */
        {"UTF-8", S("abcdefgh\xF8"), 8},
        {"UTF-16LE",
         S("a\0\0\xD8"
           "b\0"),
         2},
        {"UTF-16LE", S("a\0\0\xDC"), 2},
        {"UTF-16LE", S("a\0b"), 2},
        {"CP1252", S("ab\x81"), 2},
        {"SHIFT_JIS", S("xy\x82 "), 2},
        {"SHIFT_JIS", S("xy\x80"), 2},
        {"SHIFT_JIS", S("xy\x82"), 2},
    };
    size_t k;

    for (k = 0; k < sizeof cases / sizeof cases[0]; k++)
        check_invalid_at(cases[k].enc, cases[k].in, cases[k].len,
                         cases[k].offset);
}
END_TEST

/* Offsets count every byte of the stream, across chunks and pending
 * bytes. */
START_TEST(test_decode_offsets_across_chunks)
{
    static const size_t c1[] = {4};
    static const size_t c2[] = {2, 3, 4};
    decoded d;

    d = decode_cut("UTF-8", WHELK_DECODE_STRICT, S("abcde\xFF"), c1, 1, 0);
    ck_assert_int_eq(d.rc, -1);
    ck_assert_uint_eq(d.bad, 5);
    decoded_free(&d);
    /* "ab" | E2 | 82 | "X": the sequence began two chunks back */
    d = decode_cut("UTF-8", WHELK_DECODE_STRICT, S("ab\xE2\x82X"), c2, 3, 0);
    ck_assert_int_eq(d.rc, -1);
    ck_assert_uint_eq(d.bad, 2);
    decoded_free(&d);
    d = decode_cut("UTF-16LE", WHELK_DECODE_STRICT,
                   S("a\0\0\xD8"
                     "b\0"),
                   c2, 3, 0);
    ck_assert_int_eq(d.rc, -1);
    ck_assert_uint_eq(d.bad, 2);
    decoded_free(&d);
}
END_TEST

/* A sequence is held until it completes; what came before it is out. */
START_TEST(test_decode_pending_sequence)
{
    whelk_decoder *d;
    whelk_buf out = {0};
    uint64_t bad = 0;
    int e;

    d = whelk__decoder_new("UTF-8", WHELK_DECODE_STRICT, &e);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(whelk__decode(d, "ab\xE2\x82", 4, 0, &out, &bad), 0);
    ck_assert_uint_eq(out.len, 2);
    ck_assert(memcmp(out.data, "ab", 2) == 0);
    ck_assert_int_eq(whelk__decode(d, "\xAC", 1, 0, &out, &bad), 0);
    ck_assert_uint_eq(out.len, 5);
    ck_assert(memcmp(out.data, "ab\xE2\x82\xAC", 5) == 0);
    ck_assert_int_eq(out.data[out.len], '\0');
    ck_assert_int_eq(whelk__decode(d, "", 0, 1, &out, &bad), 0);
    ck_assert_uint_eq(out.len, 5);
    whelk__decoder_free(d);
    whelk__buf_free(&out);

    d = whelk__decoder_new("UTF-16LE", WHELK_DECODE_STRICT, &e);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(whelk__decode(d, "h\0=", 3, 0, &out, &bad), 0);
    ck_assert_uint_eq(out.len, 1);
    ck_assert_int_eq(whelk__decode(d, "\xD8\x00", 2, 0, &out, &bad), 0);
    ck_assert_uint_eq(out.len, 1);
    ck_assert_int_eq(whelk__decode(d, "\xDE", 1, 1, &out, &bad), 0);
    ck_assert_uint_eq(out.len, 5);
    ck_assert(memcmp(out.data, "h\xF0\x9F\x98\x80", 5) == 0);
    whelk__decoder_free(d);
    whelk__buf_free(&out);
}
END_TEST

/* glibc writes code points past U+10FFFF from UCS-4 as 5- and 6-byte
 * sequences: invalid, at the offset of their own unit, after the units
 * before them were kept, even when the read began earlier. */
START_TEST(test_decode_ucs4_beyond_unicode)
{
    static const char *const encs[] = {"UCS-4LE", "WCHAR_T"};
    size_t k;

    for (k = 0; k < 2; k++) {
        static const unsigned char a[] = {'A', 0, 0, 0};
        static const unsigned char rest[] = {'B', 0, 0, 0, 0x00, 0x00, 0x11,
                                             0x00, 'C', 0, 0, 0};
        int e = 0;
        whelk_decoder *d = whelk__decoder_new(encs[k], WHELK_DECODE_STRICT, &e);
        whelk_buf out = {0};
        uint64_t bad = 0;

        ck_assert_msg(d != NULL, "%s: errno %d", encs[k], e);
        ck_assert_int_eq(whelk__decode(d, (const char *)a, 4, 0, &out, &bad), 0);
        ck_assert_int_eq(whelk__decode(d, (const char *)rest, sizeof rest, 1,
                                       &out, &bad),
                         -1);
        ck_assert_msg(bad == 8, "%s: bad offset %llu, expected 8", encs[k],
                      (unsigned long long)bad);
        ck_assert_uint_eq(out.len, 2);
        ck_assert(memcmp(out.data, "AB", 2) == 0);
        whelk__buf_free(&out);
        whelk__decoder_free(d);

        d = whelk__decoder_new(encs[k], WHELK_DECODE_REPLACE, &e);
        ck_assert_ptr_nonnull(d);
        ck_assert_int_eq(whelk__decode(d, (const char *)a, 4, 0, &out, &bad), 0);
        ck_assert_int_eq(whelk__decode(d, (const char *)rest, sizeof rest, 1,
                                       &out, &bad),
                         0);
        ck_assert_msg(whelk__utf8_valid_prefix((const unsigned char *)out.data,
                                               out.len) == out.len,
                      "%s: REPLACE output is not UTF-8", encs[k]);
        ck_assert(out.len >= 5 && memcmp(out.data, "AB\xef\xbf\xbd", 5) == 0);
        ck_assert(out.data[out.len - 1] == 'C');
        whelk__buf_free(&out);
        whelk__decoder_free(d);
    }
}
END_TEST

START_TEST(test_decode_replace_output)
{
    static const struct {
        const char *enc;
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        {"UTF-8",
         S("a\xFF"
           "b"),
         "a" FFFD "b"},
        {"UTF-8", S("a\xE2\x82X"), "a" FFFD "X"},     /* one maximal part */
        {"UTF-8", S("\xF0\x9F\x98"), FFFD},           /* cut off by the end */
        {"UTF-8", S("\xC0\xAF"), FFFD FFFD},          /* overlong */
        {"UTF-8", S("\xED\xA0\x80"), FFFD FFFD FFFD}, /* surrogate */
        {"UTF-8", S("\xF4\x90\x80\x80"), FFFD FFFD FFFD FFFD},
        {"UTF-8", S("\x80\xBF"), FFFD FFFD},
        {"UTF-16LE",
         S("a\0\0\xD8"
           "b\0"),
         "a" FFFD "b"},
        {"UTF-16LE", S("a\0b"), "a" FFFD},
        {"SHIFT_JIS", S("\x82 \x80x"), FFFD " " FFFD "x"},
        {"SHIFT_JIS", S("x\x82"), "x" FFFD},
        {"CP1252", S("\x81\x80"), FFFD "\xE2\x82\xAC"},
        /* a byte that is nothing in CP932: what follows it is kept */
        {"CP932",
         S("A\xA0"
           "AB"),
         "A" FFFD "AB"},
        {"CP932", S("\x80xyz"), FFFD "xyz"},
    };
    size_t k;

    for (k = 0; k < sizeof cases / sizeof cases[0]; k++)
        check_decodes_to(cases[k].enc, WHELK_DECODE_REPLACE, cases[k].in,
                         cases[k].len, cases[k].want);
}
END_TEST

/* The ASCII fast path (eight bytes at a time) at every position relative
 * to word boundaries, and at every alignment of the input. */
START_TEST(test_decode_ascii_fast_path)
{
    char store[64];
    size_t n, pos, align;

    for (align = 0; align < 8; align++) {
        char *buf = store + align;
        for (n = 0; n <= 40; n++) {
            memset(buf, 'a', n);
            for (pos = 0; pos < n; pos++)
                buf[pos] = (char)('a' + pos % 26);
            /* all ASCII */
            {
                decoded d = decode_whole("UTF-8", WHELK_DECODE_STRICT, buf, n);
                ck_assert_int_eq(d.rc, 0);
                ck_assert(d.out.len == n && !memcmp(d.out.data, buf, n));
                decoded_free(&d);
                ck_assert_uint_eq(
                    whelk__utf8_valid_prefix((unsigned char *)buf, n), n);
            }
            for (pos = 0; pos < n; pos++) {
                char want[128];
                decoded d;
                char saved = buf[pos];

                buf[pos] = (char)0xE9;
                /* invalid UTF-8 (E9 must be followed by two continuation
                 * bytes) */
                ck_assert_msg(
                    whelk__utf8_valid_prefix((unsigned char *)buf, n) == pos,
                    "n %zu pos %zu align %zu", n, pos, align);
                d = decode_whole("UTF-8", WHELK_DECODE_STRICT, buf, n);
                ck_assert_msg(d.rc == -1 && d.bad == pos,
                              "n %zu pos %zu align %zu: rc %d offset %llu", n,
                              pos, align, d.rc, (unsigned long long)d.bad);
                decoded_free(&d);
                memcpy(want, buf, pos);
                memcpy(want + pos, FFFD, 3);
                memcpy(want + pos + 3, buf + pos + 1, n - pos - 1);
                d = decode_whole("UTF-8", WHELK_DECODE_REPLACE, buf, n);
                ck_assert_msg(d.rc == 0 && d.out.len == n + 2 &&
                                  !memcmp(d.out.data, want, n + 2),
                              "REPLACE n %zu pos %zu: %s", n, pos,
                              hex(d.out.data, d.out.len));
                decoded_free(&d);
                /* Latin-1: the table engine */
                memcpy(want + pos, "\xC3\xA9", 2);
                memcpy(want + pos + 2, buf + pos + 1, n - pos - 1);
                d = decode_whole("ISO-8859-1", WHELK_DECODE_STRICT, buf, n);
                ck_assert_msg(d.rc == 0 && d.out.len == n + 1 &&
                                  !memcmp(d.out.data, want, n + 1),
                              "Latin-1 n %zu pos %zu: %s", n, pos,
                              hex(d.out.data, d.out.len));
                decoded_free(&d);
                /* valid UTF-8 at pos: output is input */
                if (pos + 1 < n) {
                    char saved2 = buf[pos + 1];
                    buf[pos] = (char)0xC3;
                    buf[pos + 1] = (char)0xA9;
                    ck_assert_uint_eq(
                        whelk__utf8_valid_prefix((unsigned char *)buf, n), n);
                    d = decode_whole("UTF-8", WHELK_DECODE_STRICT, buf, n);
                    ck_assert(d.rc == 0 && d.out.len == n &&
                              !memcmp(d.out.data, buf, n));
                    decoded_free(&d);
                    buf[pos + 1] = saved2;
                }
                buf[pos] = saved;
            }
        }
    }
}
END_TEST

START_TEST(test_decode_utf8_rejects_ill_formed)
{
    static const struct {
        const char *seq;
        size_t len;
        size_t nfffd; /* U+FFFD under REPLACE (maximal subparts) */
    } bad[] = {
        {S("\xC0\x80"), 2},
        {S("\xC1\xBF"), 2},
        {S("\xE0\x80\x80"), 3},
        {S("\xE0\x9F\xBF"), 3},
        {S("\xF0\x80\x80\x80"), 4},
        {S("\xF0\x8F\xBF\xBF"), 4},
        {S("\xED\xA0\x80"), 3},
        {S("\xED\xBF\xBF"), 3},
        {S("\xF4\x90\x80\x80"), 4},
        {S("\xF5\x80\x80\x80"), 4},
        {S("\xF8\x88\x80\x80\x80"), 5},
        {S("\xFC\x84\x80\x80\x80\x80"), 6},
        {S("\xFE"), 1},
        {S("\xFF"), 1},
        {S("\x80"), 1},
        {S("\xBF"), 1},
        {S("\xE2\x82"), 1},
        {S("\xF0\x9F\x98"), 1},
    };
    static const struct {
        const char *seq;
        size_t len;
    } good[] = {
        {S("\xC2\x80")},         {S("\xDF\xBF")},         {S("\xE0\xA0\x80")},
        {S("\xED\x9F\xBF")},     {S("\xEE\x80\x80")},     {S("\xEF\xBF\xBF")},
        {S("\xF0\x90\x80\x80")}, {S("\xF4\x8F\xBF\xBF")}, {S("\x7F")},
    };
    size_t k, i;

    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char in[16], want[64];
        size_t len = bad[k].len + 2, wl = 0;
        decoded d;

        in[0] = 'x';
        memcpy(in + 1, bad[k].seq, bad[k].len);
        in[len - 1] = 'y';
        ck_assert_msg(whelk__utf8_valid_prefix((unsigned char *)in, len) == 1,
                      "%s accepted", hex(bad[k].seq, bad[k].len));
        check_invalid_at("UTF-8", in, len, 1);
        want[wl++] = 'x';
        for (i = 0; i < bad[k].nfffd; i++) {
            memcpy(want + wl, FFFD, 3);
            wl += 3;
        }
        want[wl++] = 'y';
        want[wl] = '\0';
        d = decode_whole("UTF-8", WHELK_DECODE_REPLACE, in, len);
        ck_assert_msg(d.rc == 0 && d.out.len == wl &&
                          !memcmp(d.out.data, want, wl),
                      "REPLACE of %s: %s", hex(bad[k].seq, bad[k].len),
                      hex(d.out.data, d.out.len));
        decoded_free(&d);
    }
    for (k = 0; k < sizeof good / sizeof good[0]; k++) {
        ck_assert_msg(
            whelk__utf8_valid_prefix((const unsigned char *)good[k].seq,
                                     good[k].len) == good[k].len,
            "%s rejected", hex(good[k].seq, good[k].len));
        check_decodes_to("UTF-8", WHELK_DECODE_STRICT, good[k].seq, good[k].len,
                         good[k].seq);
    }
}
END_TEST

/* The table engine (built from iconv at creation) agrees with iconv for
 * every byte. */
START_TEST(test_decode_table_matches_iconv)
{
    static const char *const encs[] = {"ISO-8859-1", "CP1252", "KOI8-R",
                                       "ISO-8859-15", "CP1251"};
    size_t k;
    int b;

    for (k = 0; k < sizeof encs / sizeof encs[0]; k++) {
        iconv_t cd = iconv_open("UTF-8", encs[k]);
        char all[256];
        whelk_buf ref = {0};
        decoded d;

        ck_assert_msg(cd != (iconv_t)-1, "iconv has no %s", encs[k]);
        for (b = 0; b < 256; b++) {
            char inb = (char)b, outb[16], *ip = &inb, *op = outb;
            size_t left = 1, room = sizeof outb;
            int ok;

            all[b] = (char)b;
            iconv(cd, NULL, NULL, NULL, NULL);
            ok = iconv(cd, &ip, &left, &op, &room) != (size_t)-1;
            if (ok)
                iconv(cd, NULL, NULL, &op, &room);
            d = decode_whole(encs[k], WHELK_DECODE_STRICT, &inb, 1);
            if (ok) {
                ck_assert_msg(d.rc == 0 && d.out.len == (size_t)(op - outb) &&
                                  !memcmp(d.out.data, outb, d.out.len),
                              "%s byte %02x: %s", encs[k], b,
                              hex(d.out.data, d.out.len));
                ck_assert_int_eq(
                    whelk__buf_add(&ref, outb, (size_t)(op - outb)), 0);
            } else {
                ck_assert_msg(d.rc == -1 && d.bad == 0,
                              "%s byte %02x: iconv rejects it, rc %d", encs[k],
                              b, d.rc);
                ck_assert_int_eq(whelk__buf_add(&ref, FFFD, 3), 0);
            }
            decoded_free(&d);
        }
        iconv_close(cd);
        /* all 256 at once, replacing what iconv rejects */
        d = decode_whole(encs[k], WHELK_DECODE_REPLACE, all, 256);
        ck_assert_int_eq(d.rc, 0);
        ck_assert_msg(d.out.len == ref.len &&
                          !memcmp(d.out.data, ref.data, ref.len),
                      "%s: the 256 bytes at once differ", encs[k]);
        decoded_free(&d);
        whelk__buf_free(&ref);
    }
}
END_TEST

START_TEST(test_decoder_new)
{
    static const char *const utf8[] = {"UTF-8", "utf-8", "UTF8", "utf8"};
    whelk_decoder *d;
    size_t i;
    int e;

    e = 0;
    ck_assert_ptr_null(
        whelk__decoder_new("NO-SUCH-CHARSET-42", WHELK_DECODE_STRICT, &e));
    ck_assert_int_eq(e, EINVAL);
    e = 0;
    ck_assert_ptr_null(whelk__decoder_new("", WHELK_DECODE_STRICT, &e));
    ck_assert_int_eq(e, EINVAL);
    e = 0;
    ck_assert_ptr_null(whelk__decoder_new(NULL, WHELK_DECODE_STRICT, &e));
    ck_assert_int_eq(e, EINVAL);
    for (i = 0; i < 4; i++) {
        d = whelk__decoder_new(utf8[i], WHELK_DECODE_STRICT, &e);
        ck_assert_ptr_nonnull(d);
        ck_assert(whelk__decoder_is_utf8(d));
        ck_assert_str_eq(whelk__decoder_name(d), utf8[i]);
        whelk__decoder_free(d);
    }
    d = whelk__decoder_new("ISO-8859-1", WHELK_DECODE_REPLACE, &e);
    ck_assert_ptr_nonnull(d);
    ck_assert(!whelk__decoder_is_utf8(d));
    whelk__decoder_free(d);
    d = whelk__decoder_new("locale", WHELK_DECODE_REPLACE, &e);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(whelk__decoder_name(d), "locale");
    whelk__decoder_free(d);
    ck_assert_ptr_nonnull(whelk__charset("locale"));
    ck_assert_str_eq(whelk__charset("KOI8-R"), "KOI8-R");
    whelk__decoder_free(NULL);
}
END_TEST

/* Random bytes in random chunks: the same as one chunk, and valid UTF-8
 * whenever decoding succeeds. */
START_TEST(test_decode_random_chunks)
{
    static const char *const encs[] = {"UTF-8",    "ISO-8859-1", "CP1252",
                                       "UTF-16LE", "UTF-16BE",   "SHIFT_JIS",
                                       "EUC-JP",   "GB18030"};
    size_t e, round;

    for (e = 0; e < sizeof encs / sizeof encs[0]; e++) {
        for (round = 0; round < 300; round++) {
            size_t len = round % 64;
            unsigned char *in = random_bytes(len, (unsigned)(round * 31 + e));
            unsigned char *cb = random_bytes(8, (unsigned)round + 7);
            size_t cuts[8], ncuts = cb[0] % 8, i;
            int policy = (int)(round & 1);
            decoded whole, d;
            char what[128];

            ck_assert_ptr_nonnull(in);
            /* bias towards ASCII so that lines and runs occur */
            for (i = 0; i < len; i++)
                if (in[i] & 0x40)
                    in[i] &= 0x7F;
            for (i = 0; i < ncuts; i++)
                cuts[i] = len ? cb[i + 1] % (len + 1) : 0;
            /* ascending */
            for (i = 1; i < ncuts; i++) {
                size_t j = i;
                while (j > 0 && cuts[j - 1] > cuts[j]) {
                    size_t t = cuts[j];
                    cuts[j] = cuts[j - 1];
                    cuts[j - 1] = t;
                    j--;
                }
            }
            whole = decode_whole(encs[e], policy, in, len);
            d = decode_cut(encs[e], policy, in, len, cuts, ncuts, cb[7] & 1);
            snprintf(what, sizeof what, "%s policy %d round %zu", encs[e],
                     policy, round);
            same_decoding(&whole, &d, what);
            if (policy == WHELK_DECODE_REPLACE)
                ck_assert_msg(whole.rc == 0, "%s: REPLACE failed", what);
            if (whole.rc == 0)
                ck_assert_msg(
                    whelk__utf8_valid_prefix((unsigned char *)whole.out.data,
                                             whole.out.len) == whole.out.len,
                    "%s: output is not UTF-8: %s", what,
                    hex(whole.out.data, whole.out.len));
            decoded_free(&whole);
            decoded_free(&d);
            free(in);
            free(cb);
        }
    }
}
END_TEST

void units_decode(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "decode", 2 * TEST_TIMEOUT, NULL, NULL);
    tcase_add_test(tc, test_decode_mixed_whole);
    tcase_add_loop_test(tc, test_decode_every_split_point, 0,
                        sizeof mixed / sizeof mixed[0]);
    tcase_add_test(tc, test_decode_invalid_offsets);
    tcase_add_test(tc, test_decode_offsets_across_chunks);
    tcase_add_test(tc, test_decode_pending_sequence);
    tcase_add_test(tc, test_decode_replace_output);
    tcase_add_test(tc, test_decode_ucs4_beyond_unicode);
    tcase_add_test(tc, test_decode_ascii_fast_path);
    tcase_add_test(tc, test_decode_utf8_rejects_ill_formed);
    tcase_add_test(tc, test_decode_table_matches_iconv);
    tcase_add_test(tc, test_decoder_new);
    tcase_add_test(tc, test_decode_random_chunks);
}
