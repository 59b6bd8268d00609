/*
 * life.h -- what the topic files of the life suite (tests/life/<topic>.c, run
 * by tests/check_life.c) share: its fixtures and one function per topic
 * that adds its test case to the suite.
 */
#ifndef WHELK_TESTS_LIFE_H
#define WHELK_TESTS_LIFE_H

#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common.h"

#define SLACK_MS 3500
#define DRAIN_MS 1000

/* Lines given to a line callback, one "text\n" each, in order. */
typedef struct lines {
    char *text;
    size_t len, cap;
    int n;
    int bad;          /* a line came with an unexpected stage or stream */
    size_t stage;     /* the stage expected, or WHELK_NO_STAGE for any */
} lines;

int collect_line(const whelk_line *l, void *ud);

void lines_init(lines *c, size_t stage);

/* Must the lines be exactly "line 1\n".."line n\n"? */
void assert_lines_1_to_n(const lines *c, long n);

/* Process facts read from /proc/<pid>/stat. */
typedef struct procinfo {
    pid_t pid, ppid, pgrp;
    char state;
} procinfo;

/* Calls fn for every process on the system; stops when fn returns 1. */
int scan_procs(int (*fn)(const procinfo *, void *), void *ctx);

typedef struct members {
    pid_t pgrp;
    pid_t pids[64];
    pid_t ppids[64];
    int n;
} members;

int add_member(const procinfo *pi, void *ctx);

int pidfd_open_(pid_t pid);

/*
 * After a run that timed out: every process of the process group pgid
 * must be dead.  This test process is a child subreaper, so orphaned
 * grandchildren are its own children: each member left in the group must
 * be ours, must terminate by a signal within a short bound (the library
 * has already sent it; delivery is asynchronous), and is reaped here.
 * Then kill(-pgid, 0) must fail with ESRCH.  Returns how many members
 * were found (grandchildren the library killed, not yet reaped).
 */
int assert_group_dead(pid_t pgid);

void become_subreaper(void);

/* A pipeline of the helper with the given actions (strings). */
#define HPIPE(...) helper_pipe(__VA_ARGS__, (const char *)NULL)
#define HCMD(...) helper_cmd(__VA_ARGS__, (const char *)NULL)

/* Shared by the handle and host topics (defined in life/handle.c): drive
 * pr from a poll() loop on whelk_proc_fd until it finishes (returns how
 * many times poll woke up); a line callback that sets the int at ud; step
 * pr until that flag is set. */
int drive_poll(whelk_proc *pr);
int flag_line(const whelk_line *l, void *ud);
void step_until(whelk_proc *pr, const int *flag);

/* A test case named name added to s (the runner's fixtures, timeout). */
TCase *life_tcase(Suite *s, const char *name, int timeout);

/* The topics, in the order the suite runs them. */
void life_timeouts(Suite *s);
void life_handle(Suite *s);
void life_many(Suite *s);
void life_host(Suite *s);
void life_hostile_threads(Suite *s);

#endif /* WHELK_TESTS_LIFE_H */
