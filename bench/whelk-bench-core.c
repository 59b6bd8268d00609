/*
 * whelk-bench-core.c -- a worker of whelk-bench for what the public API
 * cannot isolate: libwhelk's decoder (lib/decode.c) against glibc's iconv
 * in memory.  Linked with libwhelk-core to reach the internal functions.
 *
 *   whelk-bench-core decode PEER BYTES
 *
 * generates BYTES of text (gen.h), then times one pass over it in 64 KiB
 * chunks -- as the poll loop hands them over -- each converted into one
 * reused output buffer, and prints "OK <GB/s of input>".  Peers:
 *   whelk-latin1   whelk__decode, ISO-8859-1 -> UTF-8
 *   iconv-latin1   iconv(3), ISO-8859-1 -> UTF-8
 *   whelk-utf8     whelk__decode, UTF-8 (validation, valid runs copied out)
 *   whelk-ascii    whelk__decode, UTF-8, on pure ASCII (lines of letters)
 *   prefix-utf8    whelk__utf8_valid_prefix alone (validation, no copy)
 *   iconv-utf8     iconv(3), UTF-8 -> UTF-8
 */
#include "internal.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"

#define CHUNK 65536

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void __attribute__((noreturn)) fail(const char *what)
{
    printf("ERR %s\n", what);
    exit(1);
}

int main(int argc, char **argv)
{
    const char *peer;
    unsigned char *in;
    size_t n, off, out_total = 0, expect = 0;
    int utf8;
    double t0, dt;

    alarm(600);
    if (argc != 4 || strcmp(argv[1], "decode") != 0)
        fail("usage: whelk-bench-core decode PEER BYTES");
    peer = argv[2];
    n = strtoul(argv[3], NULL, 10);
    utf8 = strstr(peer, "utf8") != NULL || strstr(peer, "ascii") != NULL;
    if (!(in = malloc(n)))
        fail("out of memory");
    if (strstr(peer, "ascii")) {
        static unsigned char blk[GEN_LINES_BLOCK];
        unsigned long k, b = gen_lines(blk, sizeof blk, &k);
        for (off = 0; off < n; off += b)
            memcpy(in + off, blk, n - off < b ? n - off : b);
    } else {
        gen_text(utf8, in, n, GEN_SEED);
    }
    for (off = 0; off < n; off++)
        expect += !utf8 && in[off] >= 0x80;
    expect += n;

    if (strncmp(peer, "whelk-", 6) == 0) {
        whelk_buf out = {NULL, 0, 0};
        uint64_t bad = 0;
        int e = 0;
        whelk_decoder *d = whelk__decoder_new(utf8 ? "UTF-8" : "ISO-8859-1",
                                              WHELK_DECODE_STRICT, &e);
        if (!d || whelk__buf_reserve(&out, 4 * CHUNK + 64) < 0)
            fail("whelk__decoder_new failed");
        t0 = now_s();
        for (off = 0; off < n; off += CHUNK) {
            size_t len = n - off < CHUNK ? n - off : CHUNK;
            out.len = 0;
            if (whelk__decode(d, (const char *)in + off, len, off + len == n,
                              &out, &bad) != 0)
                fail("whelk__decode failed");
            out_total += out.len;
        }
        dt = now_s() - t0;
        whelk__decoder_free(d);
        whelk__buf_free(&out);
    } else if (strcmp(peer, "prefix-utf8") == 0) {
        size_t carry = 0;
        t0 = now_s();
        for (off = 0; off < n;) {
            size_t len = n - off < CHUNK ? n - off : CHUNK, v;
            v = whelk__utf8_valid_prefix(in + off, len);
            if (v + 4 < len && off + len < n)
                fail("invalid UTF-8");
            /* a sequence cut by the chunk's end starts the next chunk */
            carry = v ? v : len;
            out_total += carry;
            off += carry;
        }
        dt = now_s() - t0;
    } else if (strncmp(peer, "iconv-", 6) == 0) {
        static char out[4 * CHUNK + 64];
        iconv_t cd = iconv_open("UTF-8", utf8 ? "UTF-8" : "ISO-8859-1");
        if (cd == (iconv_t)-1)
            fail("iconv_open failed");
        t0 = now_s();
        for (off = 0; off < n;) {
            char *ip = (char *)in + off, *op = out;
            size_t il = n - off < CHUNK ? n - off : CHUNK, ol = sizeof out;
            size_t want = il;
            if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 && errno != EINVAL)
                fail("iconv failed");
            out_total += (size_t)(op - out);
            off += want - il; /* an incomplete tail goes with the next chunk */
        }
        dt = now_s() - t0;
        iconv_close(cd);
    } else {
        fail("unknown peer");
    }
    if (out_total != expect) {
        printf("ERR output %zu bytes, expected %zu\n", out_total, expect);
        return 1;
    }
    printf("OK %.6g\n", (double)n / dt / 1e9);
    free(in);
    return 0;
}
