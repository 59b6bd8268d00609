/*
 * remote.h -- what the topic files of the remote suite (tests/remote/<topic>.c,
 * run by tests/check_remote.c) share: the fixtures and helpers of
 * check_remote.c and one function per topic that adds its test cases to the
 * suite.
 */
#ifndef WHELK_TESTS_REMOTE_H
#define WHELK_TESTS_REMOTE_H

#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../common.h"
#include "../sshd.h"

#define H(...) helper_cmd(__VA_ARGS__, NULL)

/* What note_line collected: "<stage><o|e>:<text>|" per line. */
typedef struct seen {
    char text[4096];
    size_t len;
} seen;

/* p, run through remote r (the remote is freed: the pipeline keeps it). */
whelk_pipeline *remotely(whelk_pipeline *p, whelk_remote *r);

/* Processes whose command line holds token (this test's own excepted). */
int count_with_token(const char *token);

/* Waits (up to ms) until no process holds token; the count left. */
int gone_within(const char *token, int ms);

/* A token no other process holds (malloc'd). */
char *new_token(void);

/* Words a shell would read as something else, NULL-terminated. */
extern const char *const odd_words[];

/* The same pipeline here and there: identical stdout and statuses. */
void assert_same_run(whelk_pipeline *p, whelk_remote *r);

/* A line callback appending the line to the seen *ud; returns 0. */
int note_line(const whelk_line *l, void *ud);

/* The throwaway sshd main() starts; sshd.problem says why the ssh tests
 * cannot run. */
extern sshd_server sshd;

/* A test case named name added to s (the runner's fixtures and timeout). */
TCase *remote_tcase(Suite *s, const char *name, int tmp);

/* The topics, in the order the suite runs them. */
void remote_sh(Suite *s);
void remote_ssh(Suite *s);
void remote_watchdog(Suite *s);

#endif /* WHELK_TESTS_REMOTE_H */
