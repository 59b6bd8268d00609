/*
 * fds.h -- what the topic files of the fds suite (tests/fds/<topic>.c, run
 * by tests/check_fds.c) share: the fixtures and helpers of check_fds.c
 * and one function per topic that adds its test cases to the suite.
 */
#ifndef WHELK_TESTS_FDS_H
#define WHELK_TESTS_FDS_H

#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../common.h"
#include "config.h"

#define HPIPE(...) helper_pipe(__VA_ARGS__, (const char *)NULL)
#define HCMD(...) helper_cmd(__VA_ARGS__, (const char *)NULL)

/* In a forked case: says on the report pipe that cond failed at line,
 * and why, and exits 1. */
void fail_case(int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

/* In a forked case: on failure, say why on the report pipe and exit 1. */
#define EXPECT(cond, ...)                                                      \
    do {                                                                       \
        if (!(cond))                                                           \
            fail_case(__LINE__, #cond, __VA_ARGS__);                           \
    } while (0)

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

enum {
    R_CLOSE_RANGE = 1,
    R_CLONE_PIDFD = 2,
    R_PIDFD_OPEN = 4,
    R_PIDFD_SIGNAL = 8
};
#define R_ALL (R_CLOSE_RANGE | R_CLONE_PIDFD | R_PIDFD_OPEN | R_PIDFD_SIGNAL)

typedef struct rule {
    long nr;
    unsigned mask;   /* 0: any call; else only when args[0] has these bits */
    unsigned action; /* SECCOMP_RET_* */
} rule;

/* Runs fn(arg) in a forked process; the test fails with its message
 * unless it returns (exit status 0). */
void in_forked_case(void (*fn)(int), int arg);

/* A pipe of the test, both ends above 2 and close-on-exec. */
void high_pipe(int fds[2]);

/* Installs the filter on the calling thread (and what it spawns); the
 * listener descriptor when a rule notifies, else 0. */
int install_filter(const rule *rules, size_t n, int notify);

/* The rules of a set of R_* refusals (EPERM), clone3 answering clone3_err. */
size_t refusal_rules(rule *r, int set, int clone3_err);

/* The topics, in the order the suite runs them. */
void fds_std_fds_closed(Suite *s);
void fds_refused_calls(Suite *s);

#endif /* WHELK_TESTS_FDS_H */
