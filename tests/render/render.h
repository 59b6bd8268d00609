/*
 * render.h -- what the topic files of the render suite (tests/render/<topic>.c,
 * run by tests/check_render.c) share: the fixtures and helpers of
 * check_render.c and one function per topic that adds its test cases to the
 * suite.
 */
#ifndef WHELK_TESTS_RENDER_H
#define WHELK_TESTS_RENDER_H

#define _GNU_SOURCE
#include "internal.h"
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../common.h"

/* ============================================================ dumps */

/* What the helper's `dump` printed: cwd, argv, the environment sorted. */
typedef struct dump {
    char *cwd;
    char **argv;
    size_t argc;
    char **env;
    size_t nenv;
    char *raw;
    char **items;
} dump;

/* Parses the helper's dump output (out, len): the shell's own variables
 * are left out unless keep names them or the environment was cleared. */
dump parse_dump(const char *out, size_t len, const char *const *keep,
                int cleared);

void dump_free(dump *d);

/* s with control bytes, non-ASCII bytes and backslashes as \xNN
 * (malloc'd, for messages). */
char *visible(const char *s);

/* a and b (the dumps of one command run directly and through shell for
 * text) agree: cwd, argv, environment. */
void assert_same_dump(const dump *a, const dump *b, const char *text,
                      const char *shell);

/* The fixture: a fresh directory per test (scratch) and a file in it that
 * any injected command would create (marker). */
extern char *scratch;
extern char *marker;
void setup(void);
void teardown(void);

/* The topics, in the order the suite runs them. */
void render_tostring(Suite *s);
void render_decode(Suite *s);
void render_programs(Suite *s);
void render_messages(Suite *s);

#endif /* WHELK_TESTS_RENDER_H */
