/*
 * stream.h -- what the topic files of the stream suite (tests/stream/<topic>.c, run
 * by tests/check_stream.c) share: its fixtures and one function per topic
 * that adds its test case to the suite.
 */
#ifndef WHELK_TESTS_STREAM_H
#define WHELK_TESTS_STREAM_H

#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common.h"

#define FFFD "\xEF\xBF\xBD"

/* Asserts the bytes [got, got + got_len) are the want_len bytes of want and
 * that a NUL follows them. */
#define ASSERT_NAMED_BYTES(what, got, got_len, want, want_len)                       \
    do {                                                                       \
        const char *g_ = (got);                                                \
        size_t gl_ = (got_len), wl_ = (want_len);                              \
        ck_assert_ptr_nonnull(g_);                                             \
        ck_assert_msg(gl_ == wl_ && memcmp(g_, (want), wl_) == 0,              \
                      "%s: got %zu bytes \"%s\", expected %zu bytes \"%s\"",   \
                      (what), gl_, g_, wl_, (const char *)(want));             \
        ck_assert_msg(g_[gl_] == '\0', "%s: not NUL-terminated", (what));      \
    } while (0)

/* The number written after the first "offset " in msg, or -1. */
long long offset_in(const char *msg);

/* A helper command from a NULL-terminated array of actions. */
whelk_cmd *helper_cmdv(const char *const *actions);

typedef struct got_line {
    size_t stage;
    int stream;
    unsigned flags;
    size_t len;
    char *text; /* copy, NUL-terminated */
} got_line;

typedef struct line_log {
    got_line *v;
    size_t n, cap;
    size_t calls;
    int bad_nul;          /* a text was not NUL-terminated during its call */
    int wfd;              /* >= 0: write one byte here after each line */
    const char *close_at; /* close wfd after the line with this text */
    size_t stop_at;       /* return stop_rc from the stop_at-th call */
    int stop_rc;
} line_log;

void line_log_init(line_log *ll);

void line_log_free(line_log *ll);

int log_line(const whelk_line *l, void *ud);

typedef struct want_line {
    size_t stage;
    int stream;
    const char *text;
    unsigned flags;
} want_line;

#define OUT WHELK_STDOUT
#define ERR WHELK_STDERR
#define NOEOL WHELK_LINE_NO_EOL
#define CUT WHELK_LINE_CUT

/* Named in the messages of expect_lines: which case of a table. */
extern char expect_ctx[128];

void expect_lines(const line_log *ll, const want_line *w, size_t n);

typedef struct got_chunk {
    size_t stage;
    int stream;
    int eof;
    int data_null;
    size_t len;
    char *data;
} got_chunk;

typedef struct chunk_log {
    got_chunk *v;
    size_t n, cap;
    int wfd;        /* >= 0: write one byte here after each data chunk */
    size_t stop_at; /* return 1 from the stop_at-th call */
} chunk_log;

void chunk_log_init(chunk_log *cl);

void chunk_log_free(chunk_log *cl);

int log_chunk(const whelk_chunk *c, void *ud);

/* The data chunks of one (stage, stream), concatenated (malloc'd), their
 * number in *nchunks and the number of eof calls in *neof; asserts the eof
 * call, if any, is the last one of that stream. */
char *chunks_of(const chunk_log *cl, size_t stage, int stream,
                       size_t *len, size_t *nchunks, size_t *neof);

/* A pipe whose read end becomes the helper's stdin: the helper's readn:1
 * waits for the byte the test's callback writes into it. */
typedef struct handshake {
    int rfd, wfd;
} handshake;

void hs_open(handshake *h);

/* Runs the helper writing parts[0..n) (helper escapes) to stdout, each one
 * only after the host has read the one before, so that each is one read of
 * the host.  Decodes stdout with enc/policy (enc NULL: not decoded), cuts
 * lines at max_line (0: default).  Lines go to ll, chunks to cl.  Returns
 * the run's result, or NULL and *err. */
whelk_result *run_parts(const char *const *parts, size_t n,
                               const char *enc, int policy, size_t max_line,
                               line_log *ll, chunk_log *cl, whelk_error **err);

/* The number of data chunks of stage 0's stdout in cl. */
size_t stdout_chunks(const chunk_log *cl);

/* A test case named name added to s (the runner's fixtures, timeout). */
TCase *stream_tcase(Suite *s, const char *name, int timeout, int tmp);

/* The topics, in the order the suite runs them. */
void stream_lines(Suite *s);
void stream_volume(Suite *s);
void stream_abort(Suite *s);
void stream_chunks(Suite *s);
void stream_decode(Suite *s);
void stream_stdin_encoding(Suite *s);
void stream_hooks(Suite *s);
void stream_callback_value(Suite *s);

#endif /* WHELK_TESTS_STREAM_H */
