/*
 * decode.c -- text in other encodings, converted to UTF-8 as it is read.
 * `printf` run through sh writes the same word, "café", as Latin-1 bytes
 * and as UTF-16LE bytes; whelk_pipeline_decode converts each stream to
 * UTF-8 before lines are split and before output is captured, so the
 * captured stdout and the line callback both see UTF-8, and UTF-16's NUL
 * bytes never confuse the line splitter.  Invalid input is handled by
 * policy: REPLACE turns each invalid sequence into U+FFFD, STRICT stops
 * the run with WHELK_E_DECODE naming the stream, the stage and the byte
 * offset.  The other direction, whelk_pipeline_stdin_encoding, converts
 * UTF-8 input to the encoding a program expects before writing it.
 *
 *   Python whelk:  shell.sh('-c', "printf 'caf\\351'", encoding='latin-1')
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <whelk.h>

static int print_line(const whelk_line *line, void *userdata)
{
    (void)userdata;
    printf("    line: \"%s\" (%zu bytes of UTF-8)\n", line->text, line->len);
    return 0;
}

/* Run `sh -c script`, its stdout decoded from encoding under policy;
 * prints the outcome and returns the captured text's match with want
 * (want NULL: the run must fail with WHELK_E_DECODE). */
static int show(const char *script, const char *encoding, int policy,
                const char *want)
{
    whelk_pipeline *p = whelk_pipe(whelk_cmd_new("sh", "-c", script, NULL), NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    int ok;

    whelk_pipeline_decode(p, WHELK_STDOUT, encoding, policy);
    whelk_pipeline_on_line(p, WHELK_STDOUT, print_line, NULL);
    printf("  %s, %s:\n", encoding,
           policy == WHELK_DECODE_STRICT ? "strict" : "replace");
    r = whelk_run(p, &err);
    whelk_pipeline_free(p);
    if (!r) {
        printf("    %s: %s\n", whelk_error_kind_name(whelk_error_kind(err)),
               whelk_error_message(err));
        ok = !want && whelk_error_kind(err) == WHELK_E_DECODE;
        whelk_error_free(err);
        return ok;
    }
    ok = want && strcmp(whelk_result_stdout(r, NULL), want) == 0;
    whelk_result_free(r);
    return ok;
}

int main(void)
{
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err = NULL;
    int ok = 1;

    printf("decoding stdout:\n");
    ok &= show("printf 'caf\\351\\n'", "ISO-8859-1", WHELK_DECODE_STRICT,
               "caf\xc3\xa9\n");
    ok &= show("printf 'c\\000a\\000f\\000\\351\\000\\n\\000'", "UTF-16LE",
               WHELK_DECODE_STRICT, "caf\xc3\xa9\n");
    ok &= show("printf 'caf\\351\\n'", "UTF-8", WHELK_DECODE_REPLACE,
               "caf\xef\xbf\xbd\n");
    ok &= show("printf 'caf\\351\\n'", "UTF-8", WHELK_DECODE_STRICT, NULL);

    /* UTF-8 in, Latin-1 out: od shows the byte e9 for the é */
    printf("encoding stdin:\n");
    p = whelk_pipe(whelk_cmd_new("od", "-An", "-tx1", NULL), NULL);
    whelk_pipeline_stdin_bytes(p, "caf\xc3\xa9", 5);
    whelk_pipeline_stdin_encoding(p, "ISO-8859-1");
    r = whelk_run(p, &err);
    whelk_pipeline_free(p);
    if (r) {
        printf("  od -An -tx1 read:%s", whelk_result_stdout(r, NULL));
        ok &= strstr(whelk_result_stdout(r, NULL), "63 61 66 e9") != NULL;
        whelk_result_free(r);
    } else {
        printf("  %s\n", whelk_error_message(err));
        whelk_error_free(err);
        ok = 0;
    }
    return ok ? 0 : 1;
}
