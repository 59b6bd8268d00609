/*
 * host.h -- what the topic files of the host suite (tests/host/<topic>.c, run
 * by tests/check_host.c) share: the fixtures and helpers of check_host.c
 * and one function per topic that adds its test cases to the suite.
 */
#ifndef WHELK_TESTS_HOST_H
#define WHELK_TESTS_HOST_H

#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "../common.h"

/* No descriptor left open, no zombie left behind. */
void assert_clean(void);

/* whelk_start(p), which must succeed. */
whelk_proc *start_ok(whelk_pipeline *p);

/* whelk_proc_wait(pr), which must succeed; the result is freed. */
void wait_ok(whelk_proc *pr);

/* A pipeline of helper actions with stdout pulled. */
whelk_pipeline *pull_pipe(whelk_cmd *first, ...);

/* A test case named name added to s (the runner's fixtures and timeout). */
TCase *host_tcase(Suite *s, const char *name, int timeout);

/* The topics, in the order the suite runs them. */
void host_pull(Suite *s);
void host_feed(Suite *s);
void host_streams(Suite *s);
void host_filters(Suite *s);
void host_tee(Suite *s);

#endif /* WHELK_TESTS_HOST_H */
