/*
 * hostio.c -- the host drives the data: a WHELK_PULL stdout is read through
 * the handle (whelk_proc_read, _read_line, _peek), a WHELK_FEED stdin is
 * written through it (whelk_proc_write, _close_stdin).
 *
 * There is still one loop (pump.c).  While the host waits in one of these
 * calls, the loop runs here: it keeps capturing stderr, calling callbacks,
 * reaping and watching the deadline, so no size or order of output can
 * deadlock a host that pulls.  The pulled stream is read only while the host
 * waits for it (or waits for room in stdin, so that a host writing through
 * `cat` into its own pull never deadlocks); what is read is decoded as a
 * capture would be and kept here until the host takes it.  Memory is what
 * the host asks for: one read of the pipe beyond a line (max_line) or a
 * peek, plus the output of `cat` that arrived while a write waited.
 * The handle is reached through proc.h's accessors and, on the per-line
 * path, through its head (proc_head.h: the host state and the loop flag).
 */
#define _GNU_SOURCE
#include "hostio.h"
#include "alloc.h"
#include "buf.h"
#include "builder.h"
#include "decode.h"
#include "errors.h"
#include "names.h"
#include "plan.h"
#include "stream.h"
#include "proc_head.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Input taken per write when stdin is encoded (the encoded copy waits
 * here until the pipe takes it). */
#define ENCODE_CHUNK (64 * 1024)

/* Newlines of the pulled text found in one scan (see index_newlines). */
#define NL_BATCH 512

struct whelk_host {
    /* pull */
    whelk_buf in; /* pulled text; in.data[off..len) is not read yet */
    size_t off;   /* start of the unread text */
    size_t scan;  /* in.data[off..scan) was scanned for newlines: they are */
    size_t nl_head, nl_n;   /* at in.data[nl[i]], nl_head <= i < nl_n */
    size_t max_line, stage; /* for the fast path: set where nl is filled */
    int pulling;     /* the host waits: the loop reads the pulled stream */
    size_t saved_at; /* a byte replaced by the NUL after a cut line */
    char saved;      /* ... and its value (restored at the next call) */
    int has_saved;
    whelk_stream *ps; /* the pulled stream (found once) */
    size_t nl[NL_BATCH];
    /* feed */
    int feeding;   /* the host waits for room in stdin */
    int room;      /* the loop saw stdin writable */
    whelk_buf out; /* encoded bytes not yet written */
    size_t out_off;
    iconv_t cd;    /* UTF-8 -> the stdin encoding, or (iconv_t)-1 */
    char carry[4]; /* an incomplete UTF-8 character at a write's end */
    size_t ncarry;
    int closing; /* close stdin once out is written */
    int closed;  /* the host closed stdin */
    int broken;  /* the first stage stopped reading (EPIPE) */
};

void whelk__host_free(struct whelk_host *h)
{
    if (!h)
        return;
    whelk__buf_free(&h->in);
    whelk__buf_free(&h->out);
    if (h->cd != (iconv_t)-1)
        iconv_close(h->cd);
    free(h);
}

/* The host state of pr, made on first use; NULL (ENOMEM). */
static struct whelk_host *host(whelk_proc *pr)
{
    struct whelk_host *h = whelk__proc_chead(pr)->host;

    if (h)
        return h;
    if (!(h = whelk__calloc(1, sizeof *h))) {
        errno = ENOMEM;
        return NULL;
    }
    h->cd = (iconv_t)-1;
    whelk__proc_head(pr)->host = h;
    return h;
}

static whelk_stream *pull_stream(const whelk_proc *pr)
{
    size_t i, ns;
    whelk_stream *st;

    if (!whelk__proc_plan(pr))
        return NULL;
    st = whelk__plan_streams(whelk__proc_plan(pr), &ns);
    for (i = 0; i < ns; i++)
        if (st[i].pull)
            return &st[i];
    return NULL;
}

/* ------------------------------------------------------- loop hooks */

int whelk__host_pulling(const whelk_proc *pr)
{
    const struct whelk_host *h = whelk__proc_chead(pr)->host;

    return h && h->pulling;
}

/* Room for len more bytes after the pulled text: once the host read all of
 * it the buffer starts again, and the unread text moves to the front when
 * that saves growing. */
static void make_room(struct whelk_host *h, size_t len)
{
    size_t i;

    if (h->off && h->off == h->in.len) {
        h->in.len = h->off = h->scan = 0;
        h->nl_head = h->nl_n = 0;
    } else if (h->off && h->in.cap - h->in.len <= len) {
        memmove(h->in.data, h->in.data + h->off, h->in.len - h->off);
        h->in.len -= h->off;
        h->scan -= h->off;
        for (i = h->nl_head; i < h->nl_n; i++)
            h->nl[i] -= h->off;
        if (h->has_saved) /* a cut piece's next byte, unread */
            h->saved_at -= h->off;
        h->off = 0;
        h->in.data[h->in.len] = '\0';
    }
}

int whelk__host_pulled(whelk_proc *pr, const char *text, size_t len)
{
    struct whelk_host *h = host(pr);

    if (!h)
        return -1;
    make_room(h, len);
    return whelk__buf_add(&h->in, text, len);
}

whelk_buf *whelk__host_pull_buf(whelk_proc *pr, size_t want)
{
    struct whelk_host *h = host(pr);

    if (!h)
        return NULL;
    make_room(h, want);
    return &h->in;
}

int whelk__host_feed_fd(const whelk_proc *pr)
{
    const struct whelk_host *h = whelk__proc_chead(pr)->host;

    if (!h || !(h->feeding || h->out_off < h->out.len))
        return -1;
    return whelk__plan_in_fd(whelk__proc_plan(pr));
}

/* Write what is left of encoded bytes; -1 (errno) when stdin broke. */
static int flush_out(whelk_proc *pr, struct whelk_host *h)
{
    while (h->out_off < h->out.len) {
        ssize_t n = whelk__write_nosigpipe(
            whelk__plan_in_fd(whelk__proc_plan(pr)), h->out.data + h->out_off,
            h->out.len - h->out_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n < 0) {
            /* EPIPE: the first stage stopped reading */
            h->broken = 1;
            h->out.len = h->out_off = 0;
            whelk__proc_close_stdin(pr);
            return -1;
        }
        h->out_off += (size_t)n;
    }
    h->out.len = h->out_off = 0;
    if (h->closing)
        whelk__proc_close_stdin(pr);
    return 0;
}

void whelk__host_feed_ready(whelk_proc *pr)
{
    struct whelk_host *h = whelk__proc_chead(pr)->host;

    if (!h)
        return;
    if (h->out_off < h->out.len)
        (void)flush_out(pr, h);
    h->room = 1;
}

/* The host stops pulling: unread output is discarded by closing the pipe,
 * like `head`. */
static void stop_pull(whelk_proc *pr)
{
    whelk_stream *s = pull_stream(pr);
    struct whelk_host *h = whelk__proc_chead(pr)->host;

    if (s && s->fd >= 0) {
        whelk__proc_close_fd(pr, s->fd);
        s->fd = -1;
        whelk__proc_head(pr)->host_head = 1;
    }
    if (h) {
        h->in.len = h->off = h->scan = 0;
        h->nl_head = h->nl_n = 0;
        h->has_saved = 0;
    }
}

/* The host stops feeding: stdin is closed once what was taken is written. */
static void stop_feed(whelk_proc *pr)
{
    struct whelk_host *h = whelk__proc_chead(pr)->host;

    if (!whelk__proc_plan(pr) || !whelk__plan_feed(whelk__proc_plan(pr)) ||
        whelk__plan_in_fd(whelk__proc_plan(pr)) < 0)
        return;
    if (h && h->out_off < h->out.len)
        h->closing = 1; /* the loop writes what was taken, then closes */
    else
        whelk__proc_close_stdin(pr);
}

void whelk__host_detach(whelk_proc *pr)
{
    stop_pull(pr);
    stop_feed(pr);
}

/* ------------------------------------------------------- waiting */

typedef int (*ready_fn)(whelk_proc *pr, size_t arg);

/* Run the loop until ready(pr, arg) or the run is over (0), or until
 * timeout_ms passed (-1, EAGAIN).  0 ms: one look without waiting. */
static int pump_until(whelk_proc *pr, ready_fn ready, size_t arg,
                      int timeout_ms)
{
    int64_t end = timeout_ms < 0 ? -1 : whelk__now_ms() + timeout_ms;
    int passes = 0;

    for (;;) {
        int wait = -1;
        if (ready(pr, arg) || whelk__proc_finished(pr))
            return 0;
        if (end >= 0) {
            int64_t now = whelk__now_ms();
            if (passes && now >= end) {
                errno = EAGAIN;
                return -1;
            }
            wait = now >= end ? 0 : (int)(end - now);
        }
        whelk__pump(pr, wait);
        if (whelk__proc_has_timer(pr))
            whelk__proc_arm(pr);
        passes++;
    }
}

/* ------------------------------------------------------------ pull */

static size_t unread(const struct whelk_host *h)
{
    return h->in.len - h->off;
}

static int pull_ended(const whelk_proc *pr)
{
    const struct whelk_host *h = whelk__proc_chead(pr)->host;
    const whelk_stream *s = h && h->ps ? h->ps : pull_stream(pr);

    return !s || s->fd < 0;
}

/* More than arg unread bytes, or the end of output. */
static int have_more(whelk_proc *pr, size_t arg)
{
    return unread(whelk__proc_chead(pr)->host) > arg || pull_ended(pr);
}

/* Common entry of the pull calls: the handle may be used now.  0, or -1
 * with errno. */
static int pull_begin_slow(whelk_proc *pr, struct whelk_host **hp);

/* The fast path of pull_begin: a handle already pulling. */
static inline int pull_begin(whelk_proc *pr, struct whelk_host **hp)
{
    struct whelk_host *h = pr ? whelk__proc_chead(pr)->host : NULL;

    if (h && h->ps && !whelk__proc_chead(pr)->in_loop && !h->has_saved) {
        *hp = h;
        return 0;
    }
    return pull_begin_slow(pr, hp);
}

static int pull_begin_slow(whelk_proc *pr, struct whelk_host **hp)
{
    struct whelk_host *h;

    if (!pr || whelk__proc_chead(pr)->in_loop) {
        errno = EINVAL;
        return -1;
    }
    if (!(h = whelk__proc_chead(pr)->host) || !h->ps) {
        whelk_stream *s = pull_stream(pr);
        if (!s) {
            errno = EINVAL;
            return -1;
        }
        if (!(h = host(pr)))
            return -1;
        h->ps = s;
    }
    if (h->has_saved) {
        h->in.data[h->saved_at] = h->saved;
        h->has_saved = 0;
    }
    *hp = h;
    return 0;
}

/* Wait until more than have bytes are unread (or the end). */
static int pull_more(whelk_proc *pr, struct whelk_host *h, size_t have,
                     int timeout_ms)
{
    int rc;

    h->pulling = 1;
    rc = pump_until(pr, have_more, have, timeout_ms);
    h->pulling = 0;
    return rc;
}

static int decoded(const whelk_proc *pr)
{
    const struct whelk_host *h = whelk__proc_chead(pr)->host;
    const whelk_stream *s = h && h->ps ? h->ps : pull_stream(pr);

    return s && s->dec;
}

ssize_t whelk_proc_read(whelk_proc *pr, void *buf, size_t n, int timeout_ms)
{
    struct whelk_host *h;
    size_t k;

    if (pull_begin(pr, &h) < 0)
        return -1;
    if (n == 0)
        return 0;
    if (!unread(h) && pull_more(pr, h, 0, timeout_ms) < 0)
        return -1;
    if (!(k = unread(h)))
        return 0; /* end of output */
    if (k > n) {
        k = n;
        /* decoded text is given in whole characters when they fit */
        while (decoded(pr) && k > 0 &&
               ((unsigned char)h->in.data[h->off + k] & 0xC0) == 0x80)
            k--;
        if (!k)
            k = n;
    }
    memcpy(buf, h->in.data + h->off, k);
    h->off += k;
    if (h->scan < h->off)
        h->scan = h->off;
    while (h->nl_head < h->nl_n && h->nl[h->nl_head] < h->off)
        h->nl_head++; /* newlines of the bytes just read */
    return (ssize_t)k;
}

ssize_t whelk_proc_peek(whelk_proc *pr, const void **data, size_t n,
                        int timeout_ms)
{
    struct whelk_host *h;

    if (pull_begin(pr, &h) < 0)
        return -1;
    while (unread(h) < n && !pull_ended(pr))
        if (pull_more(pr, h, unread(h), timeout_ms) < 0)
            return -1;
    if (data)
        *data = h->in.data ? h->in.data + h->off : "";
    return (ssize_t)(unread(h) < n ? unread(h) : n);
}

/* The length of a piece of a line longer than max_line starting at t (as
 * lines.c: up to 3 bytes shorter so as not to cut a UTF-8 character). */
static size_t piece(size_t max, const char *t, int utf8)
{
    size_t k = max;

    if (!utf8)
        return max;
    while (k > 0 && max - k < 3 && ((unsigned char)t[k] & 0xC0) == 0x80)
        k--;
    return k > 0 && ((unsigned char)t[k] & 0xC0) != 0x80 ? k : max;
}

/* Give the line in.data[off, off + len), consuming it and end more bytes. */
static void give_line(whelk_proc *pr, struct whelk_host *h, whelk_line *line,
                      size_t len, size_t end, unsigned flags)
{
    char *t = h->in.data + h->off;

    if (end == 0) {
        /* a cut piece: its next byte is unread, put back at the next call */
        h->saved_at = h->off + len;
        h->saved = t[len];
        h->has_saved = 1;
    }
    t[len] = '\0';
    line->stage = whelk__proc_nstages(pr) - 1;
    line->stream = WHELK_STDOUT;
    line->text = t;
    line->len = len;
    line->flags = flags;
    h->off += len + end;
    if (h->scan < h->off)
        h->scan = h->off;
}

/* Scan the pulled text past h->scan for newlines, in bulk, before any of
 * its lines is given (and NUL-terminated in place): their offsets go into
 * h->nl, up to NL_BATCH of them, and h->scan moves past what was scanned.
 * Only called with the index empty.  Where SSE2 is part of the ABI, 16
 * bytes are compared at a time (as lines.c's splitter does), so a
 * read_line is then a few loads and stores, not a memchr call each. */
static void index_newlines(struct whelk_host *h)
{
    const char *d = h->in.data;
    size_t i = h->scan, end = h->in.len, n = 0;

#ifdef __SSE2__
    const __m128i nlv = _mm_set1_epi8('\n');
    while (end - i >= 16 && n <= NL_BATCH - 16) {
        __m128i blk = _mm_loadu_si128((const __m128i *)(const void *)(d + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(blk, nlv));
        while (m) {
            h->nl[n++] = i + (size_t)__builtin_ctz(m);
            m &= m - 1;
        }
        i += 16;
    }
    if (n > NL_BATCH - 16) {
        h->scan = i;
        h->nl_head = 0;
        h->nl_n = n;
        return;
    }
#endif
    while (i < end && n < NL_BATCH) {
        const char *nl = memchr(d + i, '\n', end - i);
        if (!nl) {
            i = end;
            break;
        }
        h->nl[n++] = (size_t)(nl - d);
        i = (size_t)(nl - d) + 1;
    }
    h->scan = i;
    h->nl_head = 0;
    h->nl_n = n;
}

/* whelk_proc_read_line past its fast path: pull, scan, cut, the end. */
__attribute__((noinline)) static int
read_line_slow(whelk_proc *pr, whelk_line *line, int timeout_ms)
{
    struct whelk_host *h;
    size_t max;

    if (pull_begin(pr, &h) < 0)
        return -1;
    if (!line) {
        errno = EINVAL;
        return -1;
    }
    max = h->max_line = whelk__pipeline_max_line(whelk__proc_pipeline(pr));
    h->stage = whelk__proc_nstages(pr) - 1;
    for (;;) {
        size_t avail;
        char *t;

        if (h->nl_head < h->nl_n) {
            /* the next newline, found when its text arrived */
            size_t len = h->nl[h->nl_head] - h->off, end = 1;
            t = h->in.data + h->off;
            if (len && t[len - 1] == '\r') {
                len--;
                end = 2;
            }
            if (len > max) {
                give_line(pr, h, line, piece(max, t, decoded(pr)), 0,
                          WHELK_LINE_CUT);
            } else {
                h->nl_head++;
                give_line(pr, h, line, len, end, 0);
            }
            return 1;
        }
        if (h->scan < h->in.len) {
            index_newlines(h);
            if (h->nl_n)
                continue;
        }
        /* in.data[off..len) holds no newline */
        avail = unread(h);
        if (!avail) {
            if (pull_ended(pr))
                return 0;
            if (pull_more(pr, h, 0, timeout_ms) < 0)
                return -1;
            continue;
        }
        t = h->in.data + h->off;
        if (avail > max + 1 || (avail == max + 1 && t[max] != '\r') ||
            (avail > max && pull_ended(pr))) {
            give_line(pr, h, line, piece(max, t, decoded(pr)), 0,
                      WHELK_LINE_CUT);
            return 1;
        }
        if (pull_ended(pr)) {
            give_line(pr, h, line, avail, 0, WHELK_LINE_NO_EOL);
            h->has_saved = 0; /* its NUL is the buffer's own */
            return 1;
        }
        if (pull_more(pr, h, avail, timeout_ms) < 0)
            return -1;
    }
}

/* The common case is kept apart from read_line_slow, small enough to cost
 * a few loads and stores: a whole line whose newline the last scan found. */
int whelk_proc_read_line(whelk_proc *pr, whelk_line *line, int timeout_ms)
{
    struct whelk_host *h = pr ? whelk__proc_chead(pr)->host : NULL;

    if (h && h->nl_head < h->nl_n && line && !whelk__proc_chead(pr)->in_loop &&
        !h->has_saved) {
        size_t at = h->nl[h->nl_head], len = at - h->off;
        char *t = h->in.data + h->off;
        if (len && t[len - 1] == '\r')
            len--;
        if (len <= h->max_line) {
            h->nl_head++;
            h->off = at + 1; /* h->scan is past at already */
            t[len] = '\0';
            line->stage = h->stage;
            line->stream = WHELK_STDOUT;
            line->text = t;
            line->len = len;
            line->flags = 0;
            return 1;
        }
    }
    return read_line_slow(pr, line, timeout_ms);
}

/* ------------------------------------------------------------ feed */

static int feed_begin(whelk_proc *pr, struct whelk_host **hp)
{
    struct whelk_host *h;

    if (!pr || whelk__proc_chead(pr)->in_loop || !whelk__proc_plan(pr) ||
        !whelk__plan_feed(whelk__proc_plan(pr))) {
        errno = EINVAL;
        return -1;
    }
    if (!(h = host(pr)))
        return -1;
    if (h->closed) {
        errno = EBADF;
        return -1;
    }
    if (h->broken || whelk__plan_in_fd(whelk__proc_plan(pr)) < 0) {
        errno = EPIPE;
        return -1;
    }
    *hp = h;
    return 0;
}

/* Room in stdin, encoded bytes written, or stdin gone. */
static int has_room(whelk_proc *pr, size_t arg)
{
    const struct whelk_host *h = whelk__proc_chead(pr)->host;

    (void)arg;
    return whelk__plan_in_fd(whelk__proc_plan(pr)) < 0 ||
           (h->room && h->out_off == h->out.len);
}

/* Wait for room in stdin (pumping output into the pull meanwhile). */
static int feed_wait(whelk_proc *pr, struct whelk_host *h, int timeout_ms)
{
    int rc;

    h->room = 0;
    h->feeding = h->pulling = 1;
    rc = pump_until(pr, has_room, 0, timeout_ms);
    h->feeding = h->pulling = 0;
    if (rc == 0 && whelk__plan_in_fd(whelk__proc_plan(pr)) < 0) {
        errno = EPIPE;
        return -1;
    }
    return rc;
}

/* The length of data that is whole UTF-8 characters; the rest (at most 3
 * bytes) is an incomplete character when *partial. */
static size_t whole_chars(const char *data, size_t len, int *partial)
{
    size_t ok = whelk__utf8_valid_prefix((const unsigned char *)data, len);
    size_t rest = len - ok, need;
    unsigned char c;

    *partial = 0;
    if (!rest || rest > 3)
        return ok;
    c = (unsigned char)data[ok];
    need = c >= 0xC2 && c <= 0xDF   ? 2
           : c >= 0xE0 && c <= 0xEF ? 3
           : c >= 0xF0 && c <= 0xF4 ? 4
                                    : 0;
    /* a valid start of a longer character cut by the end of the data */
    if (need > rest &&
        whelk__utf8_valid_prefix((const unsigned char *)data + ok, rest) == 0) {
        size_t i;
        for (i = 1; i < rest; i++)
            if (((unsigned char)data[ok + i] & 0xC0) != 0x80)
                return ok;
        *partial = 1;
    }
    return ok;
}

/* Encode up to ENCODE_CHUNK bytes of data into h->out; the number of input
 * bytes taken, or -1 with errno (EILSEQ, ENOMEM). */
static ssize_t encode_some(whelk_proc *pr, struct whelk_host *h,
                           const char *data, size_t n)
{
    size_t take = n > ENCODE_CHUNK ? ENCODE_CHUNK : n, whole, start;
    whelk_buf src = {0};
    char *in, *o;
    size_t left, room;
    int partial;

    if (h->cd == (iconv_t)-1) {
        const char *cs = whelk__charset(
            whelk__pipeline_in_encoding(whelk__proc_pipeline(pr)));
        if (!cs) {
            errno = EINVAL;
            return -1;
        }
        if ((h->cd = iconv_open(cs, "UTF-8")) == (iconv_t)-1) {
            errno = whelk__iconv_open_errno();
            return -1;
        }
    }
    if (whelk__buf_add(&src, h->carry, h->ncarry) < 0 ||
        whelk__buf_add(&src, data, take) < 0) {
        whelk__buf_free(&src);
        errno = ENOMEM;
        return -1;
    }
    whole = whole_chars(src.data, src.len, &partial);
    if (whole < src.len && !partial) {
        whelk__buf_free(&src);
        errno = EILSEQ;
        return -1;
    }
    start = h->out.len;
    if (whelk__buf_reserve(&h->out, whole * 4 + 16) < 0) {
        whelk__buf_free(&src);
        errno = ENOMEM;
        return -1;
    }
    in = src.data;
    left = whole;
    o = h->out.data + h->out.len;
    room = h->out.cap - h->out.len - 1;
    if (left && iconv(h->cd, &in, &left, &o, &room) == (size_t)-1) {
        /* not representable in the encoding (the input is valid UTF-8) */
        h->out.len = start;
        whelk__buf_free(&src);
        errno = EILSEQ;
        return -1;
    }
    h->out.len = (size_t)(o - h->out.data);
    h->ncarry = src.len - whole;
    memcpy(h->carry, src.data + whole, h->ncarry);
    whelk__buf_free(&src);
    return (ssize_t)take;
}

ssize_t whelk_proc_write(whelk_proc *pr, const void *data, size_t n,
                         int timeout_ms)
{
    struct whelk_host *h;
    int64_t end = timeout_ms < 0 ? -1 : whelk__now_ms() + timeout_ms;

    if (feed_begin(pr, &h) < 0)
        return -1;
    if (n == 0)
        return 0;
    if (!data) {
        errno = EINVAL;
        return -1;
    }
    for (;;) {
        int left = -1;
        ssize_t k;

        /* encoded bytes taken earlier go first */
        if (h->out_off < h->out.len && flush_out(pr, h) < 0)
            return -1;
        if (h->out_off == h->out.len) {
            if (whelk__pipeline_in_encoding(whelk__proc_pipeline(pr))) {
                k = encode_some(pr, h, data, n);
                if (k > 0 && flush_out(pr, h) < 0 && h->broken)
                    return -1;
                return k;
            }
            k = whelk__write_nosigpipe(whelk__plan_in_fd(whelk__proc_plan(pr)),
                                       data, n);
            if (k >= 0)
                return k;
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN) {
                h->broken = 1;
                whelk__proc_close_stdin(pr);
                errno = EPIPE;
                return -1;
            }
        }
        if (end >= 0) {
            int64_t now = whelk__now_ms();
            left = now >= end ? 0 : (int)(end - now);
        }
        if (feed_wait(pr, h, left) < 0)
            return -1;
        if (h->broken || whelk__plan_in_fd(whelk__proc_plan(pr)) < 0) {
            errno = EPIPE;
            return -1;
        }
    }
}

int whelk_proc_close_stdin(whelk_proc *pr)
{
    struct whelk_host *h;
    int incomplete;

    if (!pr || whelk__proc_chead(pr)->in_loop || !whelk__proc_plan(pr) ||
        !whelk__plan_feed(whelk__proc_plan(pr))) {
        errno = EINVAL;
        return -1;
    }
    if (!(h = host(pr)))
        return -1;
    if (h->closed)
        return 0;
    h->closed = 1;
    incomplete = h->ncarry != 0;
    h->ncarry = 0;
    if (h->out_off < h->out.len &&
        whelk__plan_in_fd(whelk__proc_plan(pr)) >= 0) {
        (void)flush_out(pr, h);
        h->closing = 1; /* the loop writes the rest, then closes */
        if (h->out_off == h->out.len)
            whelk__proc_close_stdin(pr);
    } else {
        whelk__proc_close_stdin(pr);
    }
    if (incomplete) {
        errno = EILSEQ; /* the last bytes written were half a character */
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------- FILE streams */

static ssize_t stdout_read(void *cookie, char *buf, size_t n)
{
    return whelk_proc_read(cookie, buf, n, -1);
}

/* fclose of the stdout stream: the host stops pulling (the run goes on). */
static int stdout_close(void *cookie)
{
    stop_pull(cookie);
    return 0;
}

/* The whole buffer goes in (a short count is an error to stdio). */
static ssize_t stdin_write(void *cookie, const char *buf, size_t n)
{
    size_t done = 0;

    while (done < n) {
        ssize_t k = whelk_proc_write(cookie, buf + done, n - done, -1);
        if (k < 0)
            return done ? (ssize_t)done : -1;
        done += (size_t)k;
    }
    return (ssize_t)done;
}

static int stdin_close(void *cookie)
{
    return whelk_proc_close_stdin(cookie) < 0 && errno != EILSEQ ? -1 : 0;
}

FILE *whelk_proc_stdout_stream(whelk_proc *pr)
{
    cookie_io_functions_t io = {stdout_read, NULL, NULL, stdout_close};

    if (!pr || !pull_stream(pr)) {
        errno = EINVAL;
        return NULL;
    }
    return fopencookie(pr, "r", io);
}

FILE *whelk_proc_stdin_stream(whelk_proc *pr)
{
    cookie_io_functions_t io = {NULL, stdin_write, NULL, stdin_close};

    if (!pr || !whelk__proc_plan(pr) ||
        !whelk__plan_feed(whelk__proc_plan(pr))) {
        errno = EINVAL;
        return NULL;
    }
    return fopencookie(pr, "w", io);
}

/* ---------------------------------------------------------------- popen */

typedef struct popen_file {
    whelk_proc *pr;
    int reading;
} popen_file;

/* whelk_pclose hands its error slot to the close function of the FILE it
 * closes, in the same thread, for the duration of that fclose only: a
 * cookie FILE cannot be mapped back to its cookie otherwise. */
static __thread whelk_error **pclose_slot;

static ssize_t popen_read(void *cookie, char *buf, size_t n)
{
    return stdout_read(((popen_file *)cookie)->pr, buf, n);
}

static ssize_t popen_write(void *cookie, const char *buf, size_t n)
{
    return stdin_write(((popen_file *)cookie)->pr, buf, n);
}

/* Waits for the run: its verdict goes to whelk_pclose (a plain fclose
 * drops it). */
static int popen_close(void *cookie)
{
    popen_file *pf = cookie;
    whelk_error *e = NULL;
    whelk_error **slot = pclose_slot;

    whelk_result_free(whelk_proc_wait(pf->pr, &e));
    free(pf);
    if (slot)
        *slot = e;
    else
        whelk_error_free(e);
    return 0;
}

FILE *whelk_popen(whelk_pipeline *p, const char *mode, whelk_error **err)
{
    cookie_io_functions_t io = {popen_read, popen_write, NULL, popen_close};
    popen_file *pf;
    FILE *f;
    int reading;

    if (err)
        *err = NULL;
    if (!WHELK_PIPE_OK(p) || !mode ||
        (strcmp(mode, "r") != 0 && strcmp(mode, "w") != 0 &&
         strcmp(mode, "re") != 0 && strcmp(mode, "we") != 0)) {
        whelk_error *e = whelk__error_new(
            WHELK_E_INVALID, EINVAL, WHELK_NO_STAGE, NULL,
            WHELK_PIPE_OK(p) ? "whelk_popen: mode must be \"r\" or \"w\""
                             : "whelk_popen: the pipeline is NULL");
        if (err)
            *err = e;
        else
            whelk_error_free(e);
        return NULL;
    }
    reading = mode[0] == 'r';
    if (reading)
        whelk_pipeline_stdout(p, WHELK_PULL);
    else
        whelk_pipeline_stdin(p, WHELK_FEED);
    if (!(pf = whelk__calloc(1, sizeof *pf))) {
        if (err)
            *err = (whelk_error *)&whelk__nomem_error;
        return NULL;
    }
    pf->reading = reading;
    if (!(pf->pr = whelk_start(p, err))) {
        free(pf);
        return NULL;
    }
    if (reading)
        io.write = NULL;
    else
        io.read = NULL;
    if (!(f = fopencookie(pf, reading ? "r" : "w", io))) {
        int e = errno;
        whelk__proc_signal(pf->pr, SIGKILL);
        whelk_result_free(whelk_proc_wait(pf->pr, NULL));
        free(pf);
        if (err)
            *err = whelk__error_new(
                whelk__errno_kind(e, WHELK_E_IO), e, WHELK_NO_STAGE, NULL,
                "whelk_popen: cannot make the FILE: %s", whelk__strerror(e));
        return NULL;
    }
    return f;
}

int whelk_pclose(FILE *f, whelk_error **err)
{
    whelk_error *e = NULL;
    whelk_error **outer = pclose_slot;

    if (err)
        *err = NULL;
    if (!f) {
        e = whelk__error_new(WHELK_E_INVALID, EINVAL, WHELK_NO_STAGE, NULL,
                             "whelk_pclose: the FILE is NULL");
    } else {
        pclose_slot = &e;
        (void)fclose(f); /* a failed flush (EPIPE) is the verdict's to judge */
        pclose_slot = outer;
    }
    if (!e)
        return 0;
    if (err)
        *err = e;
    else
        whelk_error_free(e);
    return -1;
}
