/*
 * gen.h -- deterministic data for the benchmarks, shared by the writer
 * child (no libc: only integer arithmetic and stores here) and the bench
 * programs that must know what the child writes.
 *
 *   gen_text   mixed text, mostly ASCII words and newlines, about 5% of
 *              characters non-ASCII: Latin-1 letters 0xC0..0xFF as one byte
 *              (latin1), or as two-byte UTF-8 with some three-byte euro
 *              signs (utf8).  A UTF-8 buffer never ends inside a sequence.
 *   gen_lines  whole lines of 0..30 letters (16 bytes on average with the
 *              newline) filling at most cap bytes.
 */
#ifndef BENCH_GEN_H
#define BENCH_GEN_H

#define GEN_TEXT_BLOCK (1UL << 20)  /* the writer repeats this much text */
#define GEN_LINES_BLOCK (1UL << 16) /* and this much of lines */
#define GEN_SEED 0x9E3779B97F4A7C15ULL

static inline unsigned long gen_rand(unsigned long long *s)
{
    unsigned long long x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (unsigned long)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

static inline unsigned long gen_text(int utf8, unsigned char *buf, unsigned long len,
                              unsigned long long seed)
{
    unsigned long i = 0, col = 0;

    while (i < len) {
        unsigned long r = gen_rand(&seed), pct = r % 100;

        if (pct < 5) {
            unsigned c = 0xC0 + (unsigned)((r >> 8) % 64);
            if (!utf8) {
                buf[i++] = (unsigned char)c;
            } else if (pct == 0 && len - i >= 3) {
                buf[i++] = 0xE2; /* U+20AC */
                buf[i++] = 0x82;
                buf[i++] = 0xAC;
            } else if (len - i >= 2) {
                buf[i++] = (unsigned char)(0xC0 | (c >> 6));
                buf[i++] = (unsigned char)(0x80 | (c & 0x3F));
            } else {
                buf[i++] = 'x';
            }
        } else if (pct < 20 && col > 60) {
            buf[i++] = '\n';
            col = 0;
            continue;
        } else if (pct < 20) {
            buf[i++] = ' ';
        } else {
            buf[i++] = (unsigned char)('a' + (r >> 8) % 26);
        }
        col++;
    }
    return i;
}

static inline unsigned long gen_lines(unsigned char *buf, unsigned long cap,
                               unsigned long *nlines)
{
    unsigned long i = 0, n = 0, k;

    for (;;) {
        unsigned long l = (n * 7) % 31;
        if (i + l + 1 > cap)
            break;
        for (k = 0; k < l; k++)
            buf[i + k] = (unsigned char)('a' + (n + k) % 26);
        buf[i + l] = '\n';
        i += l + 1;
        n++;
    }
    *nlines = n;
    return i;
}

#endif /* BENCH_GEN_H */
