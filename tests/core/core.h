/*
 * core.h -- what the topic files of the core suite (tests/core/<topic>.c, run by
 * tests/check_core.c) share: the fixtures of check_core.c and one function
 * per topic that adds its test case to the suite.
 */
#ifndef WHELK_TESTS_CORE_H
#define WHELK_TESTS_CORE_H

#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common.h"

#define MiB (1024 * 1024)

extern char **environ;

/* Run the helper with the given actions and defaults; must succeed. */
#define HELPER_OK(...) helper_ok_(helper_pipe(__VA_ARGS__, (const char *)NULL))
whelk_result *helper_ok_(whelk_pipeline *p);

/* Temporary directories (tmpdir, tmp_path: tests/common.h): each test
 * case gets a base directory (tmp_parent), made and removed by an
 * unchecked fixture in the runner process, and each test a directory
 * inside it.  PATH and HOME are restored by tmp_env_teardown (for
 * CK_FORK=no). */
void base_setup(void);
void base_teardown(void);
void tmp_env_setup(void);
void tmp_env_teardown(void);
/* Link the helper into the tmpdir under name; returns the path. */
char *install_helper(const char *name);

/* The host keeps the default SIGPIPE disposition (big and signals tests
 * mean nothing otherwise), and no SIGPIPE is pending. */
void assert_sigpipe_default(void);
void assert_no_pending_sigpipe(void);

/* A test case named name added to s, with the tmpdir fixtures if tmp. */
TCase *core_tcase(Suite *s, const char *name, int tmp);

/* The topics, in the order the suite runs them. */
void core_capture(Suite *s);
void core_big(Suite *s);
void core_checking(Suite *s);
void core_spawn_errors(Suite *s);
void core_invalid(Suite *s);
void core_env(Suite *s);
void core_redirect(Suite *s);
void core_fds(Suite *s);
void core_signals(Suite *s);
void core_stress(Suite *s);
void core_api(Suite *s);
void core_limits(Suite *s);

#endif /* WHELK_TESTS_CORE_H */
