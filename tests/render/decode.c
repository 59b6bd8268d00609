/*
 * render/decode.c -- the render suite's "decode" tests (run by tests/check_render.c).
 */
#include "render.h"

/* ========================================================== decoding */

/* iconv's own conversion of in[0..len) to UTF-8; 0 if it rejects it. */
static int iconv_all(const char *enc, const void *in, size_t len,
                     whelk_buf *out)
{
    iconv_t cd = iconv_open("UTF-8", enc);
    char *ip = (char *)in;
    size_t left = len;
    int ok = 1;

    ck_assert_msg(cd != (iconv_t)-1, "iconv_open %s", enc);
    while (ok && left) {
        char *op;
        size_t room, before;
        ck_assert_int_eq(whelk__buf_reserve(out, left * 4 + 16), 0);
        op = out->data + out->len;
        before = room = out->cap - out->len - 1;
        if (iconv(cd, &ip, &left, &op, &room) == (size_t)-1 && errno != E2BIG)
            ok = 0;
        out->len += before - room;
    }
    if (ok) {
        char *op;
        size_t room;
        ck_assert_int_eq(whelk__buf_reserve(out, 64), 0);
        op = out->data + out->len;
        room = out->cap - out->len - 1;
        iconv(cd, NULL, NULL, &op, &room);
        out->len = (size_t)(op - out->data);
    }
    iconv_close(cd);
    return ok;
}

/* Decodes in whole, STRICT; 0 or -1. */
static int whelk_all(const char *enc, const void *in, size_t len,
                     whelk_buf *out, int *table)
{
    int e = 0, rc;
    uint64_t bad = 0;
    whelk_decoder *d = whelk__decoder_new(enc, WHELK_DECODE_STRICT, &e);

    ck_assert_msg(d != NULL, "decoder %s: %d", enc, e);
    *table = whelk__decoder_is_table(d);
    rc = whelk__decode(d, in, len, 1, out, &bad);
    whelk__decoder_free(d);
    return rc;
}

/* For one charset: every byte alone, then every pair of bytes iconv takes
 * alone (a letter and a combining mark after it among them), decoded by
 * libwhelk and by iconv.  Returns whether libwhelk decoded by table. */
static int check_charset(const char *enc)
{
    unsigned char valid[256], *pairs;
    size_t nvalid = 0, i, j, k = 0;
    whelk_buf a = {0}, b = {0};
    int table = 0, rc;

    for (i = 0; i < 256; i++) {
        unsigned char c = (unsigned char)i;
        int ok = iconv_all(enc, &c, 1, &b);
        rc = whelk_all(enc, &c, 1, &a, &table);
        ck_assert_msg((rc == 0) == ok, "%s: byte 0x%02zx: iconv %s, libwhelk %s",
                      enc, i, ok ? "takes it" : "refuses it",
                      rc == 0 ? "takes it" : "refuses it");
        if (ok) {
            ck_assert_msg(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
                          "%s: byte 0x%02zx decodes unlike iconv", enc, i);
            valid[nvalid++] = c;
        }
        a.len = b.len = 0;
    }
    pairs = malloc(nvalid * nvalid * 2 + 1);
    ck_assert_ptr_nonnull(pairs);
    for (i = 0; i < nvalid; i++)
        for (j = 0; j < nvalid; j++) {
            pairs[k++] = valid[i];
            pairs[k++] = valid[j];
        }
    if (iconv_all(enc, pairs, k, &b)) {
        rc = whelk_all(enc, pairs, k, &a, &table);
        ck_assert_msg(rc == 0, "%s: libwhelk refuses pairs iconv takes", enc);
        if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
            /* find the first pair that differs, for the message */
            for (i = 0; i + 1 < k; i += 2) {
                whelk_buf x = {0}, y = {0};
                int same;
                iconv_all(enc, pairs + i, 2, &y);
                whelk_all(enc, pairs + i, 2, &x, &table);
                same = x.len == y.len && !memcmp(x.data, y.data, x.len);
                whelk__buf_free(&x);
                whelk__buf_free(&y);
                ck_assert_msg(same, "%s: bytes %02x %02x decode unlike iconv",
                              enc, pairs[i], pairs[i + 1]);
            }
            ck_abort_msg("%s: pairs decode unlike iconv", enc);
        }
    }
    free(pairs);
    whelk__buf_free(&a);
    whelk__buf_free(&b);
    return table;
}

/* Every name `iconv -l` lists whose decoder is a table, and the charsets
 * that compose, decode as iconv does. */
START_TEST(test_decode_table_charsets_match_iconv)
{
    static const char *const composing[] = {"CP1255", "CP1258", "TCVN5712-1",
                                            NULL};
    whelk_error *err = NULL;
    whelk_result *r = whelk_sh(&err, "iconv", "-l", NULL);
    const char *list;
    char *copy, *tok, *save = NULL;
    size_t ntable = 0, i;

    ck_assert_msg(r != NULL, "iconv -l: %s", err_desc(err));
    list = whelk_result_stdout(r, NULL);
    copy = strdup(list);
    ck_assert_ptr_nonnull(copy);
    for (tok = strtok_r(copy, " ,\n", &save); tok;
         tok = strtok_r(NULL, " ,\n", &save)) {
        size_t n = strlen(tok);
        int e = 0;
        whelk_decoder *d;
        while (n && tok[n - 1] == '/')
            tok[--n] = '\0';
        if (!n)
            continue;
        d = whelk__decoder_new(tok, WHELK_DECODE_STRICT, &e);
        if (!d)
            continue; /* a name iconv lists but cannot convert to UTF-8 */
        if (whelk__decoder_is_table(d)) {
            ntable++;
            ck_assert(check_charset(tok));
        }
        whelk__decoder_free(d);
    }
    /* ISO-8859-*, CP125x, KOI8-*, ... and their aliases */
    ck_assert_msg(ntable >= 50, "only %zu table charsets", ntable);
    for (i = 0; composing[i]; i++)
        check_charset(composing[i]);
    free(copy);
    whelk_result_free(r);
}
END_TEST

/* The same through a run: 'A' then U+0301 as CP1258 is U+00C1, one
 * character, as iconv gives it; across reads too. */
START_TEST(test_decode_cp1258_composes)
{
    whelk_pipeline *p =
        whelk_pipe(helper_cmd("out:A\\xEC e\\xEC\\n", "sleep:0", "out:A",
                              "out:\\xEC", NULL),
                   NULL);
    whelk_result *r;

    whelk_pipeline_decode(p, WHELK_STDOUT, "CP1258", WHELK_DECODE_STRICT);
    r = run_ok(p);
    ck_assert_str_eq(whelk_result_stdout(r, NULL),
                     "\xC3\x81 \xC3\xA9\n\xC3\x81");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

void render_decode(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "decode", 4 * TEST_TIMEOUT, NULL, NULL);
    tcase_add_test(tc, test_decode_table_charsets_match_iconv);
    tcase_add_test(tc, test_decode_cp1258_composes);
}
