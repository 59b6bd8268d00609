/*
 * stream/decode.c -- the stream suite's "Decoding" tests (run by tests/check_stream.c).
 */
#include "stream.h"

/* Runs the helper with the actions, stdout decoded from enc with policy;
 * lines to ll (may be NULL). */
static whelk_result *run_decoded(const char *enc, int policy, line_log *ll,
                                 whelk_error **err, const char *const *actions)
{
    whelk_pipeline *p = whelk_pipe(helper_cmdv(actions), (whelk_cmd *)NULL);
    whelk_result *r;

    ck_assert_ptr_nonnull(p);
    whelk_pipeline_decode(p, WHELK_STDOUT, enc, policy);
    if (ll)
        whelk_pipeline_on_line(p, WHELK_STDOUT, log_line, ll);
    *err = NULL;
    r = whelk_run(p, err);
    whelk_pipeline_free(p);
    return r;
}

START_TEST(test_decode_latin1)
{
    static const char *const act[] = {"out:caf\\xe9 \\xff\\xa0\\xbf\\n",
                                      "out:\\x80\\x9f", NULL};
    line_log ll;
    whelk_error *err;
    whelk_result *r;
    static const want_line want[] = {
        {0, OUT, "caf\xC3\xA9 \xC3\xBF\xC2\xA0\xC2\xBF", 0},
        {0, OUT, "\xC2\x80\xC2\x9F", NOEOL}};

    line_log_init(&ll);
    r = run_decoded("ISO-8859-1", WHELK_DECODE_STRICT, &ll, &err, act);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ASSERT_STDOUT(r, "caf\xC3\xA9 \xC3\xBF\xC2\xA0\xC2\xBF\n\xC2\x80\xC2\x9F");
    expect_lines(&ll, want, 2);
    whelk_result_free(r);
    line_log_free(&ll);
}
END_TEST

START_TEST(test_decode_selected_stream_only)
{
    whelk_pipeline *p =
        helper_pipe("out:\\xe9", "err:\\xe9", (const char *)NULL);
    whelk_result *r;

    whelk_pipeline_decode(p, WHELK_STDERR, "ISO-8859-1", WHELK_DECODE_STRICT);
    r = run_ok(p);
    ASSERT_STDOUT(r, "\xE9");
    ASSERT_STDERR(r, "\xC3\xA9");
    whelk_result_free(r);
    /* NULL turns decoding off again */
    whelk_pipeline_decode(p, WHELK_STDERR, NULL, WHELK_DECODE_STRICT);
    r = run_ok(p);
    ASSERT_STDERR(r, "\xE9");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_decode_utf16le)
{
    /* "hi\n", U+20AC "\n", U+1F600 (a surrogate pair) "\n", "z" */
    static const char *const act[] = {
        "out:h\\x00i\\x00\\n\\x00\\xac\\x20\\n\\x00="
        "\\xd8\\x00\\xde\\n\\x00z\\x00",
        NULL};
    line_log ll;
    whelk_error *err;
    whelk_result *r;
    static const want_line want[] = {{0, OUT, "hi", 0},
                                     {0, OUT, "\xE2\x82\xAC", 0},
                                     {0, OUT, "\xF0\x9F\x98\x80", 0},
                                     {0, OUT, "z", NOEOL}};

    line_log_init(&ll);
    r = run_decoded("UTF-16LE", WHELK_DECODE_STRICT, &ll, &err, act);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ASSERT_STDOUT(r, "hi\n\xE2\x82\xAC\n\xF0\x9F\x98\x80\nz");
    expect_lines(&ll, want, 4);
    whelk_result_free(r);
    line_log_free(&ll);
}
END_TEST

/* A multibyte sequence split across reads is kept whole.  Each part below
 * is exactly one read of the host (see run_parts). */
START_TEST(test_decode_split_sequences)
{
    static const struct {
        const char *enc;
        const char *parts[4];
        size_t n;
        const char *want;
    } cases[] = {
        {"UTF-8", {"\\xc3", "\\xa9\\n"}, 2, "\xC3\xA9\n"},
        {"UTF-8", {"\\xf0", "\\x9f\\x98", "\\x80\\n"}, 3, "\xF0\x9F\x98\x80\n"},
        {"UTF-8",
         {"a\\xe2\\x82", "\\xac", "b"},
         3,
         "a\xE2\x82\xAC"
         "b"},
        {"UTF-16LE", {"h", "\\x00\\n\\x00"}, 2, "h\n"},
        {"UTF-16LE", {"=\\xd8", "\\x00\\xde\\n\\x00"}, 2, "\xF0\x9F\x98\x80\n"},
        {"UTF-16LE", {"=\\xd8\\x00", "\\xde\\n\\x00"}, 2, "\xF0\x9F\x98\x80\n"},
        {"UTF-16LE",
         {"=", "\\xd8", "\\x00", "\\xde\\n\\x00"},
         4,
         "\xF0\x9F\x98\x80\n"},
        {"SHIFT_JIS", {"a\\x82", "\\xa0\\n"}, 2, "a\xE3\x81\x82\n"},
        {"ISO-8859-1", {"\\xe9", "\\xe9"}, 2, "\xC3\xA9\xC3\xA9"},
    };
    size_t k;

    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int policy;
        for (policy = 0; policy <= 1; policy++) {
            line_log ll;
            chunk_log cl;
            whelk_error *err;
            whelk_result *r;
            size_t len;
            const char *out;

            line_log_init(&ll);
            chunk_log_init(&cl);
            r = run_parts(cases[k].parts, cases[k].n, cases[k].enc, policy, 0,
                          &ll, &cl, &err);
            ck_assert_msg(r != NULL, "case %zu (%s): %s", k, cases[k].enc,
                          err_desc(err));
            ck_assert_msg(stdout_chunks(&cl) == cases[k].n,
                          "case %zu: %zu reads", k, stdout_chunks(&cl));
            out = whelk_result_stdout(r, &len);
            ck_assert_msg(len == strlen(cases[k].want) &&
                              memcmp(out, cases[k].want, len) == 0,
                          "case %zu (%s, policy %d): \"%s\"", k, cases[k].enc,
                          policy, out);
            ck_assert(!ll.bad_nul);
            whelk_result_free(r);
            line_log_free(&ll);
            chunk_log_free(&cl);
        }
    }
}
END_TEST

/* A large text through `cat` both ways: stdin encoded, stdout decoded.
 * Reads split the stream anywhere; the text must come back exactly. */
START_TEST(test_decode_roundtrip_large)
{
    static const char *const pieces[] = {
        "ascii text ",      "\n",           "x",
        "caf\xC3\xA9 ",     "\xC3\xBF",     "\xE3\x81\x82\xE3\x81\x84",
        "\xF0\x9F\x98\x80", "\xE2\x82\xAC",
    };
    static const struct {
        const char *enc;
        unsigned pieces; /* bit k: pieces[k] is representable */
    } encs[] = {
        {"UTF-16LE", 0xff},   {"UTF-8", 0xff},   {"SHIFT_JIS", 0x27},
        {"ISO-8859-1", 0x1f}, {"GB18030", 0xff},
    };
    size_t e;

    for (e = 0; e < sizeof encs / sizeof encs[0]; e++) {
        char *text = malloc(700000);
        size_t used = 0;
        unsigned x = 12345;
        whelk_pipeline *p;
        whelk_result *r;
        const char *out;
        size_t len;

        ck_assert_ptr_nonnull(text);
        while (used < 600000) {
            size_t k;
            x = x * 1103515245u + 12345u;
            k = (x >> 16) % (sizeof pieces / sizeof pieces[0]);
            if (!(encs[e].pieces & (1u << k)))
                continue;
            memcpy(text + used, pieces[k], strlen(pieces[k]));
            used += strlen(pieces[k]);
        }
        text[used] = '\0';
        p = helper_pipe("cat", (const char *)NULL);
        whelk_pipeline_stdin_bytes(p, text, used);
        whelk_pipeline_stdin_encoding(p, encs[e].enc);
        whelk_pipeline_decode(p, WHELK_STDOUT, encs[e].enc,
                              WHELK_DECODE_STRICT);
        r = run_ok(p);
        out = whelk_result_stdout(r, &len);
        ck_assert_msg(len == used && memcmp(out, text, len) == 0,
                      "%s: the text did not come back (%zu bytes of %zu)",
                      encs[e].enc, len, used);
        whelk_result_free(r);
        whelk_pipeline_free(p);
        free(text);
    }
}
END_TEST

START_TEST(test_strict_invalid_names_stream_command_offset)
{
    static const char *const act[] = {"out:ok\\n\\xffrest\\n", NULL};
    whelk_error *err;
    whelk_result *r;
    const char *msg;

    r = run_decoded("UTF-8", WHELK_DECODE_STRICT, NULL, &err, act);
    ck_assert_ptr_null(r);
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_DECODE, "%s", err_desc(err));
    msg = whelk_error_message(err);
    ck_assert_msg(contains(msg, "stdout"), "no stream in \"%s\"", msg);
    /* one command: the message names it (no stage number) */
    ck_assert_msg(contains(msg, "whelk-helper 'out:ok"), "no command in \"%s\"",
                  msg);
    ck_assert_msg(offset_in(msg) == 3, "offset 3 not in \"%s\"", msg);
    ck_assert_uint_eq(whelk_error_stage(err), 0);
    whelk_error_free(err);
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_strict_invalid_stderr_of_stage_1)
{
    whelk_pipeline *p =
        whelk_pipe(helper_cmd("out:x\\n", (const char *)NULL),
                   helper_cmd("drain", "err:abcd\\x80\\n", (const char *)NULL),
                   (whelk_cmd *)NULL);
    whelk_error *err;
    const char *msg;

    whelk_pipeline_decode(p, WHELK_STDERR, "UTF-8", WHELK_DECODE_STRICT);
    err = run_fail(p, WHELK_E_DECODE);
    msg = whelk_error_message(err);
    ck_assert_msg(contains(msg, "stderr"), "no stream in \"%s\"", msg);
    /* the stage's own command, and its number counted from 1 as every
     * message of a pipeline counts */
    ck_assert_msg(contains(msg, "whelk-helper drain"), "no command in \"%s\"",
                  msg);
    ck_assert_msg(contains(msg, "stage 2 of 2"), "no stage in \"%s\"", msg);
    ck_assert_msg(offset_in(msg) == 4, "offset 4 not in \"%s\"", msg);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* The offset counts every byte of the stream, over many reads. */
START_TEST(test_strict_offset_far_into_stream)
{
    static const char *const act[] = {"outn:300001", "out:\\xc3\\x28", NULL};
    whelk_error *err;
    whelk_result *r;

    r = run_decoded("UTF-8", WHELK_DECODE_STRICT, NULL, &err, act);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_DECODE);
    ck_assert_msg(offset_in(whelk_error_message(err)) == 300001,
                  "offset 300001 not in \"%s\"", whelk_error_message(err));
    whelk_error_free(err);
}
END_TEST

/* Invalid input under STRICT stops a long-running child at once. */
START_TEST(test_strict_stops_the_run)
{
    static const char *const act[] = {"out:\\xff", "sleep:60000", NULL};
    whelk_error *err;
    whelk_result *r;
    int64_t t0 = now_ms();

    r = run_decoded("UTF-8", WHELK_DECODE_STRICT, NULL, &err, act);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_DECODE);
    ck_assert_msg(now_ms() - t0 < 30000, "the run was not stopped");
    whelk_error_free(err);
    ASSERT_NO_CHILDREN();
}
END_TEST

START_TEST(test_strict_invalid_split_across_reads)
{
    static const char *const parts[] = {"ab\\xe2\\x82", "X\\n"};
    line_log ll;
    chunk_log cl;
    whelk_error *err;
    whelk_result *r;

    line_log_init(&ll);
    chunk_log_init(&cl);
    r = run_parts(parts, 2, "UTF-8", WHELK_DECODE_STRICT, 0, &ll, &cl, &err);
    ck_assert_ptr_null(r);
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_DECODE, "%s", err_desc(err));
    ck_assert_msg(offset_in(whelk_error_message(err)) == 2,
                  "offset 2 not in \"%s\"", whelk_error_message(err));
    whelk_error_free(err);
    line_log_free(&ll);
    chunk_log_free(&cl);
}
END_TEST

START_TEST(test_replace_invalid)
{
    static const struct {
        const char *enc;
        const char *act;
        const char *want;
    } cases[] = {
        /* a lone byte, a cut-short sequence (one U+FFFD), an overlong (each
         * byte), a surrogate (each byte), beyond U+10FFFF (each byte) */
        {"UTF-8",
         "out:"
         "a\\xffb\\xe2\\x82X\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80\\n",
         "a" FFFD "b" FFFD "X" FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD
         "\n"},
        /* a high surrogate followed by a character */
        {"UTF-16LE", "out:a\\x00\\x00\\xd8b\\x00", "a" FFFD "b"},
        /* a lead byte followed by a space; a byte that is nothing */
        {"SHIFT_JIS", "out:\\x82 \\x80x", FFFD " " FFFD "x"},
        /* bytes CP1252 leaves undefined */
        {"CP1252", "out:\\x80\\x81z", "\xE2\x82\xAC" FFFD "z"},
        /* bytes that are nothing in CP932: what follows each is kept */
        {"CP932",
         "out:A\\xa0"
         "AB\\x80xyz\\n",
         "A" FFFD "AB" FFFD "xyz\n"},
    };
    size_t k;

    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *act[2] = {cases[k].act, NULL};
        whelk_error *err;
        whelk_result *r =
            run_decoded(cases[k].enc, WHELK_DECODE_REPLACE, NULL, &err, act);
        ck_assert_msg(r != NULL, "%s: %s", cases[k].enc, err_desc(err));
        ASSERT_STDOUT(r, cases[k].want);
        whelk_result_free(r);
        /* and the same under STRICT is an error */
        r = run_decoded(cases[k].enc, WHELK_DECODE_STRICT, NULL, &err, act);
        ck_assert_msg(r == NULL && whelk_error_kind(err) == WHELK_E_DECODE,
                      "%s under STRICT: %s", cases[k].enc, err_desc(err));
        whelk_error_free(err);
    }
}
END_TEST

/* A sequence cut off by the end of the stream is invalid. */
START_TEST(test_truncated_at_end_of_stream)
{
    static const struct {
        const char *enc;
        const char *act;
        long long offset;
        const char *replaced;
    } cases[] = {
        {"UTF-8", "out:ab\\xe2\\x82", 2, "ab" FFFD},
        {"UTF-8", "out:\\n\\xf0\\x9f\\x98", 1, "\n" FFFD},
        {"UTF-16LE", "out:a\\x00b", 2, "a" FFFD},
        {"UTF-16LE", "out:a\\x00=\\xd8", 2, "a" FFFD},
        {"SHIFT_JIS", "out:xy\\x82", 2, "xy" FFFD},
    };
    size_t k;

    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *act[2] = {cases[k].act, NULL};
        line_log ll;
        whelk_error *err;
        whelk_result *r;

        r = run_decoded(cases[k].enc, WHELK_DECODE_STRICT, NULL, &err, act);
        ck_assert_msg(r == NULL && whelk_error_kind(err) == WHELK_E_DECODE,
                      "case %zu (%s): %s", k, cases[k].enc, err_desc(err));
        ck_assert_msg(offset_in(whelk_error_message(err)) == cases[k].offset,
                      "case %zu: offset %lld not in \"%s\"", k, cases[k].offset,
                      whelk_error_message(err));
        whelk_error_free(err);

        line_log_init(&ll);
        r = run_decoded(cases[k].enc, WHELK_DECODE_REPLACE, &ll, &err, act);
        ck_assert_msg(r != NULL, "case %zu: %s", k, err_desc(err));
        ASSERT_STDOUT(r, cases[k].replaced);
        ck_assert_uint_ge(ll.n, 1);
        ck_assert_uint_eq(ll.v[ll.n - 1].flags, WHELK_LINE_NO_EOL);
        whelk_result_free(r);
        line_log_free(&ll);
    }
}
END_TEST

START_TEST(test_truncated_after_split)
{
    static const char *const parts[] = {"ab\\xf0\\x9f", "\\x98"};
    int policy;

    for (policy = 0; policy <= 1; policy++) {
        line_log ll;
        chunk_log cl;
        whelk_error *err;
        whelk_result *r;

        line_log_init(&ll);
        chunk_log_init(&cl);
        r = run_parts(parts, 2, "UTF-8", policy, 0, &ll, &cl, &err);
        if (policy == WHELK_DECODE_STRICT) {
            ck_assert_msg(r == NULL && whelk_error_kind(err) == WHELK_E_DECODE,
                          "%s", err_desc(err));
            ck_assert_msg(offset_in(whelk_error_message(err)) == 2,
                          "offset 2 not in \"%s\"", whelk_error_message(err));
            whelk_error_free(err);
        } else {
            static const want_line want[] = {{0, OUT, "ab" FFFD, NOEOL}};
            ck_assert_msg(r != NULL, "%s", err_desc(err));
            ASSERT_STDOUT(r, "ab" FFFD);
            expect_lines(&ll, want, 1);
            whelk_result_free(r);
        }
        line_log_free(&ll);
        chunk_log_free(&cl);
    }
}
END_TEST

START_TEST(test_unknown_encoding_nothing_spawned)
{
    char *marker = path_join(tmpdir, "ran");
    char *touch = xasprintf("touch:%s", marker);
    static const int streams[] = {WHELK_STDOUT, WHELK_STDERR};
    size_t i;

    for (i = 0; i < 2; i++) {
        whelk_pipeline *p = helper_pipe(touch, (const char *)NULL);
        whelk_error *err;

        whelk_pipeline_decode(p, streams[i], "NO-SUCH-CHARSET-42",
                              WHELK_DECODE_STRICT);
        err = run_fail(p, WHELK_E_INVALID);
        ck_assert_msg(contains(whelk_error_message(err), "NO-SUCH-CHARSET-42"),
                      "the encoding is not named: %s", err_desc(err));
        ck_assert_msg(!path_exists(marker), "the helper ran");
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }
    /* the same for stdin */
    {
        whelk_pipeline *p = helper_pipe(touch, (const char *)NULL);
        whelk_error *err;

        whelk_pipeline_stdin_bytes(p, "x", 1);
        whelk_pipeline_stdin_encoding(p, "NO-SUCH-CHARSET-42");
        err = run_fail(p, WHELK_E_INVALID);
        ck_assert_msg(!path_exists(marker), "the helper ran");
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }
    /* a bad policy, and max_line 0 */
    {
        whelk_pipeline *p = helper_pipe(touch, (const char *)NULL);
        whelk_error *err;

        whelk_pipeline_decode(p, WHELK_STDOUT, "UTF-8", 7);
        err = run_fail(p, WHELK_E_INVALID);
        ck_assert(!path_exists(marker));
        whelk_error_free(err);
        whelk_pipeline_free(p);
        p = helper_pipe(touch, (const char *)NULL);
        whelk_pipeline_max_line(p, 0);
        err = run_fail(p, WHELK_E_INVALID);
        ck_assert(!path_exists(marker));
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }
    ASSERT_NO_CHILDREN();
    free(touch);
    free(marker);
}
END_TEST

/* "locale" is the host's charset: the same as naming it. */
START_TEST(test_locale_encoding)
{
    static const char *const act[] = {"out:hello\\n",
                                      "out:caf\\xc3\\xa9 \\xe9\\n", NULL};
    whelk_error *err;
    whelk_result *a, *b;
    const char *sa, *sb;
    size_t la, lb;

    a = run_decoded("locale", WHELK_DECODE_REPLACE, NULL, &err, act);
    ck_assert_msg(a != NULL, "%s", err_desc(err));
    b = run_decoded(nl_langinfo(CODESET), WHELK_DECODE_REPLACE, NULL, &err,
                    act);
    ck_assert_msg(b != NULL, "%s: %s", nl_langinfo(CODESET), err_desc(err));
    sa = whelk_result_stdout(a, &la);
    sb = whelk_result_stdout(b, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert(memcmp(sa, sb, la) == 0);
    ck_assert(strncmp(sa, "hello\n", 6) == 0);
    whelk_result_free(a);
    whelk_result_free(b);
}
END_TEST

void stream_decode(Suite *s)
{
    TCase *tc;

    tc = stream_tcase(s, "decode", 2 * TEST_TIMEOUT, 1);
    tcase_add_test(tc, test_decode_latin1);
    tcase_add_test(tc, test_decode_selected_stream_only);
    tcase_add_test(tc, test_decode_utf16le);
    tcase_add_test(tc, test_decode_split_sequences);
    tcase_add_test(tc, test_decode_roundtrip_large);
    tcase_add_test(tc, test_strict_invalid_names_stream_command_offset);
    tcase_add_test(tc, test_strict_invalid_stderr_of_stage_1);
    tcase_add_test(tc, test_strict_offset_far_into_stream);
    tcase_add_test(tc, test_strict_stops_the_run);
    tcase_add_test(tc, test_strict_invalid_split_across_reads);
    tcase_add_test(tc, test_replace_invalid);
    tcase_add_test(tc, test_truncated_at_end_of_stream);
    tcase_add_test(tc, test_truncated_after_split);
    tcase_add_test(tc, test_unknown_encoding_nothing_spawned);
    tcase_add_test(tc, test_locale_encoding);
}
