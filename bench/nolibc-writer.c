/*
 * nolibc-writer.c -- a static child without libc that writes a stream to
 * its stdout as fast as the pipe takes it, for the capture, line and
 * decoding benchmarks.  Its own cost is a write(2) per 64 KiB.
 *
 *   nolibc-writer fill N     N bytes of 'z' (no NUL, so GLib's captured
 *                            string can be checked with strlen)
 *   nolibc-writer lines N    N lines of 0..30 letters (gen.h)
 *   nolibc-writer latin1 N   N bytes of mixed Latin-1 text (gen.h)
 *   nolibc-writer utf8 N     N bytes of mixed UTF-8 text (gen.h); N a
 *                            multiple of 1 MiB keeps every sequence whole
 *
 *   nolibc-writer @C MODE N  the same, after pinning itself to CPU C with
 *                            sched_setaffinity (the benchmark's placement)
 *   nolibc-writer exec C PATH ARG...
 *                            pin itself to CPU C, then execve PATH with
 *                            ARG... (PATH itself is argv[0]): places a
 *                            program that cannot pin itself (head, cat, wc)
 *
 * Exit status 0, 2 on bad arguments (or a failed pin), 1 if a write fails,
 * 127 if the exec fails.  A reader that goes away kills it with SIGPIPE, as
 * it would any writer.
 */
#include "gen.h"

#define CHUNK 65536UL

#if defined(__x86_64__)
#define SYS_WRITE 1
#define SYS_EXIT 60
#define SYS_EXECVE 59
#define SYS_SCHED_SETAFFINITY 203
static long sys3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return r;
}
__asm__(".text\n"
        ".globl _start\n"
        ".type _start, @function\n"
        "_start:\n"
        "\txorl %ebp, %ebp\n"
        "\tmovq %rsp, %rdi\n" /* argc, argv[], NULL, envp[] */
        "\tandq $-16, %rsp\n"
        "\tcall writer_main\n"
        "\thlt\n");
#elif defined(__aarch64__)
#define SYS_WRITE 64
#define SYS_EXIT 93
#define SYS_EXECVE 221
#define SYS_SCHED_SETAFFINITY 122
static long sys3(long n, long a, long b, long c)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}
__asm__(".text\n"
        ".globl _start\n"
        ".type _start, %function\n"
        "_start:\n"
        "\tmov x0, sp\n"
        "\tbl writer_main\n");
#else
#error "nolibc-writer: only x86_64 and aarch64 are supported"
#endif

/* The compiler may emit calls to these even in freestanding code. */
void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
void *memset(void *d, int c, unsigned long n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}
void *memcpy(void *d, const void *s, unsigned long n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

static unsigned char buf[GEN_TEXT_BLOCK];

static void __attribute__((noreturn)) die(int status)
{
    for (;;)
        sys3(SYS_EXIT, status, 0, 0);
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static unsigned long parse(const char *s)
{
    unsigned long v = 0;

    if (!*s)
        die(2);
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            die(2);
        v = v * 10 + (unsigned long)(*s - '0');
    }
    return v;
}

/* Pin this process to CPU c (c < 1024), or exit 2. */
static void pin(const char *c)
{
    static unsigned long mask[1024 / (8 * sizeof(unsigned long))];
    unsigned long cpu = parse(c);
    unsigned long bits = 8 * sizeof(unsigned long);

    if (cpu >= 1024)
        die(2);
    mask[cpu / bits] = 1UL << (cpu % bits);
    if (sys3(SYS_SCHED_SETAFFINITY, 0, (long)sizeof mask, (long)mask) != 0)
        die(2);
}

static void put(const unsigned char *p, unsigned long n)
{
    while (n) {
        long w = sys3(SYS_WRITE, 1, (long)p, (long)(n < CHUNK ? n : CHUNK));
        if (w == -4) /* EINTR */
            continue;
        if (w <= 0)
            die(1);
        p += w;
        n -= (unsigned long)w;
    }
}

/* Write n bytes cycling through buf[0..block). */
static void cycle(unsigned long block, unsigned long n)
{
    unsigned long off = 0;

    while (n) {
        unsigned long k = block - off;
        if (k > CHUNK)
            k = CHUNK;
        if (k > n)
            k = n;
        put(buf + off, k);
        n -= k;
        off = (off + k) % block;
    }
}

void writer_main(long *sp) __attribute__((noreturn, used));
void writer_main(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    unsigned long n, i;

    if (argc >= 4 && streq(argv[1], "exec")) {
        pin(argv[2]);
        sys3(SYS_EXECVE, (long)argv[3], (long)(argv + 3), (long)(argv + argc + 1));
        die(127);
    }
    if (argc == 4 && argv[1][0] == '@') {
        pin(argv[1] + 1);
        argc--;
        argv++;
    }
    if (argc != 3)
        die(2);
    n = parse(argv[2]);
    if (streq(argv[1], "fill")) {
        for (i = 0; i < CHUNK; i++)
            buf[i] = 'z';
        cycle(CHUNK, n);
    } else if (streq(argv[1], "lines")) {
        unsigned long k, bytes = gen_lines(buf, GEN_LINES_BLOCK, &k), rem, off;
        for (i = 0; i < n / k; i++)
            put(buf, bytes);
        rem = n % k;
        for (off = 0; rem; off++)
            if (buf[off] == '\n')
                rem--;
        put(buf, off);
    } else if (streq(argv[1], "latin1") || streq(argv[1], "utf8")) {
        gen_text(streq(argv[1], "utf8"), buf, GEN_TEXT_BLOCK, GEN_SEED);
        cycle(GEN_TEXT_BLOCK, n);
    } else {
        die(2);
    }
    die(0);
}
