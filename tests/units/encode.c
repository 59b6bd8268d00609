/*
 * units/encode.c -- the units suite's "encode" tests (run by tests/check_units.c).
 */
#include "units.h"

/* ===================================================================== */
/* whelk__encode                                                         */
/* ===================================================================== */

START_TEST(test_encode)
{
    whelk_buf out = {0};
    size_t bad = 99;

    ck_assert_int_eq(whelk__encode("ISO-8859-1", S("caf\xC3\xA9"), &out, &bad),
                     0);
    ck_assert_uint_eq(out.len, 4);
    ck_assert(memcmp(out.data, "caf\xE9", 4) == 0);
    ck_assert_int_eq(out.data[out.len], '\0');
    /* appends */
    ck_assert_int_eq(whelk__encode("CP1252", S("\xE2\x82\xAC"), &out, &bad), 0);
    ck_assert_uint_eq(out.len, 5);
    ck_assert(memcmp(out.data, "caf\xE9\x80", 5) == 0);
    out.len = 0;
    ck_assert_int_eq(whelk__encode("UTF-16LE", S("hi"), &out, &bad), 0);
    ck_assert_uint_eq(out.len, 4);
    ck_assert(memcmp(out.data, "h\0i\0", 4) == 0);
    out.len = 0;
    ck_assert_int_eq(whelk__encode("SHIFT_JIS", S("\xE3\x81\x82"), &out, &bad),
                     0);
    ck_assert_uint_eq(out.len, 2);
    ck_assert(memcmp(out.data, "\x82\xA0", 2) == 0);
    out.len = 0;
    ck_assert_int_eq(whelk__encode("ISO-8859-1", "", 0, &out, &bad), 0);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_int_eq(whelk__encode("locale", S("ascii"), &out, &bad), 0);
    ck_assert_uint_eq(out.len, 5);
    out.len = 0;
    /* not representable, not UTF-8, unknown */
    ck_assert_int_eq(
        whelk__encode("ISO-8859-1", S("ab\xE2\x82\xAC"), &out, &bad), EILSEQ);
    ck_assert_uint_eq(bad, 2);
    out.len = 0;
    ck_assert_int_eq(whelk__encode("UTF-16LE", S("abc\xFF"), &out, &bad),
                     EILSEQ);
    ck_assert_uint_eq(bad, 3);
    out.len = 0;
    ck_assert_int_eq(whelk__encode("NO-SUCH-CHARSET-42", S("x"), &out, &bad),
                     EINVAL);
    whelk__buf_free(&out);
}
END_TEST

/* Large input (the output buffer grows many times), and round trips. */
START_TEST(test_encode_roundtrip)
{
    static const char *const encs[] = {"UTF-16LE", "SHIFT_JIS", "GB18030"};
    size_t e, i, n = 200000;
    char *text = malloc(n * 4);

    ck_assert_ptr_nonnull(text);
    for (i = 0; i < n; i++)
        memcpy(text + 3 * i, i % 7 == 0 ? "ab\n" : "\xE3\x81\x82", 3);
    for (e = 0; e < sizeof encs / sizeof encs[0]; e++) {
        whelk_buf enc = {0};
        size_t bad;
        decoded d;

        ck_assert_int_eq(whelk__encode(encs[e], text, 3 * n, &enc, &bad), 0);
        d = decode_whole(encs[e], WHELK_DECODE_STRICT, enc.data, enc.len);
        ck_assert_int_eq(d.rc, 0);
        ck_assert_msg(d.out.len == 3 * n && !memcmp(d.out.data, text, 3 * n),
                      "%s: round trip differs", encs[e]);
        decoded_free(&d);
        whelk__buf_free(&enc);
    }
    free(text);
}
END_TEST

void units_encode(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "encode", TEST_TIMEOUT, NULL, NULL);
    tcase_add_test(tc, test_encode);
    tcase_add_test(tc, test_encode_roundtrip);
}
