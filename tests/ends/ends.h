/*
 * ends.h -- what the topic files of the ends suite (tests/ends/<topic>.c, run
 * by tests/check_ends.c) share: the fixtures and helpers of check_ends.c
 * and one function per topic that adds its test cases to the suite.
 */
#ifndef WHELK_TESTS_ENDS_H
#define WHELK_TESTS_ENDS_H

#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../common.h"

/* Slack added to every upper time bound (loaded machines, sanitizers). */
#define SLACK_MS 3500
/* The bounded drain after a timeout ("about a second"). */
#define DRAIN_MS 1000

#define HPIPE(...) helper_pipe(__VA_ARGS__, (const char *)NULL)
#define HCMD(...) helper_cmd(__VA_ARGS__, (const char *)NULL)

/* The error's status is the status of the stage it names in its result. */
void assert_status_agrees(const whelk_error *err);

/* A test case named name added to s (the runner's fixtures and timeout). */
TCase *ends_tcase(Suite *s, const char *name, int timeout);

/* The topics, in the order the suite runs them. */
void ends_stop(Suite *s);
void ends_names(Suite *s);
void ends_many(Suite *s);
void ends_fifo(Suite *s);
void ends_reentry(Suite *s);
void ends_tee(Suite *s);

#endif /* WHELK_TESTS_ENDS_H */
