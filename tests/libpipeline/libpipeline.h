/*
 * libpipeline.h -- what the topic files of the libpipeline suite
 * (tests/libpipeline/<topic>.c, run by tests/check_libpipeline.c) share: the
 * fixtures and helpers of check_libpipeline.c and one function per topic that
 * adds its test cases to the suite.
 */
#ifndef WHELK_TESTS_LIBPIPELINE_H
#define WHELK_TESTS_LIBPIPELINE_H

#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pipeline.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../common.h"

/* fd 2 of this process to a file while libpipeline runs (its children
 * inherit it, and libpipeline itself prints there). */
typedef struct stderr_trap {
    int saved;
    char *path;
} stderr_trap;

void trap_stderr(stderr_trap *t, const char *name);

/* Restores fd 2; returns what was written to it (malloc'd). */
char *untrap_stderr(stderr_trap *t);

/* The topics, in the order the suite runs them. */
void libpipeline_agree(Suite *s);
void libpipeline_differ(Suite *s);

#endif /* WHELK_TESTS_LIBPIPELINE_H */
