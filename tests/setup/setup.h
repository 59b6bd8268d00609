/*
 * setup.h -- what the topic files of the setup suite (tests/setup/<topic>.c,
 * run by tests/check_setup.c) share: the fixtures and helpers of check_setup.c
 * and one function per topic that adds its test cases to the suite.
 */
#ifndef WHELK_TESTS_SETUP_H
#define WHELK_TESTS_SETUP_H

#define _GNU_SOURCE
#include "internal.h"
#include "childsetup_body.h"
#include <check.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include "../common.h"

/* A helper command: H("out:x", "exit:3"). */
#define H(...) helper_cmd(__VA_ARGS__, (const char *)NULL)

/* Root: a test that needs it fails, never passes, without it. */
#define NEED_ROOT()                                                            \
    ck_assert_msg(geteuid() == 0, "this test needs root (CI runs as root)")

/* Identity tests run a copy of the helper in a new directory under /tmp
 * (mode 0777): the build tree may sit where the dropped user cannot go (a
 * checkout under /root).  The copy's path, malloc'd. */

/* The topics, in the order the suite runs them. */
void setup_argstr(Suite *s);
void setup_dup(Suite *s);
void setup_one_call(Suite *s);
void setup_text(Suite *s);
void setup_fds(Suite *s);
void setup_limits_ids(Suite *s);
void setup_die_with_host(Suite *s);
void setup_die_with_host_fork(Suite *s);

#endif /* WHELK_TESTS_SETUP_H */
