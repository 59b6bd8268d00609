/*
 * pipe.h -- what the topic files of the pipe suite (tests/pipe/<topic>.c, run
 * by tests/check_pipe.c) share: its fixtures and one function per topic
 * that adds its test case to the suite.
 */
#ifndef WHELK_TESTS_PIPE_H
#define WHELK_TESTS_PIPE_H

#define _GNU_SOURCE
#include <check.h>
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

#define MiB (1024 * 1024)

/* A helper command: H("out:x", "exit:3"). */
#define H(...) helper_cmd(__VA_ARGS__, (const char *)NULL)

/* Run p and free it; it must succeed. */
whelk_result *run_ok_free(whelk_pipeline *p);

/* Asserts the exit code and signal of one stage of r. */
#define ASSERT_STATUS(r, stage, code, sig)                                   \
    do {                                                                     \
        const whelk_result *r_ = (r);                                        \
        size_t st_ = (stage);                                                \
        ck_assert_ptr_nonnull(r_);                                           \
        ck_assert_msg(whelk_result_exit_code(r_, st_) == (code) &&          \
                          whelk_result_signal(r_, st_) == (sig),             \
                      "stage %zu: exit code %d signal %d, expected %d %d",   \
                      st_, whelk_result_exit_code(r_, st_),                  \
                      whelk_result_signal(r_, st_), (int)(code), (int)(sig)); \
    } while (0)

/* The contents of a file, which must exist (malloc'd). */
char *file_text(const char *path, size_t *len);

#define ASSERT_FILE(path, want)                                              \
    do {                                                                     \
        size_t fl_;                                                          \
        char *f_ = file_text((path), &fl_);                                  \
        ck_assert_msg(fl_ == strlen(want) && memcmp(f_, want, fl_) == 0,     \
                      "%s holds \"%s\", expected \"%s\"", (path), f_,        \
                      (const char *)(want));                                 \
        free(f_);                                                            \
    } while (0)

/* A word quoted for sh when it needs it (malloc'd): for the expected
 * command of helper stages, whose path depends on the build directory. */
char *shq(const char *w);

/* A pipeline of n stages of the helper's `cat`. */
whelk_pipeline *cats(size_t n);

/* "touch:PATH" for the helper (malloc'd). */
char *touch_action(const char *path);

/* A test case named name added to s (the runner's fixtures, timeout). */
TCase *pipe_tcase(Suite *s, const char *name, int tmp);

/* The topics, in the order the suite runs them. */
void pipe_data(Suite *s);
void pipe_statuses(Suite *s);
void pipe_sigpipe(Suite *s);
void pipe_start(Suite *s);
void pipe_stderr(Suite *s);
void pipe_redirect(Suite *s);
void pipe_tostring(Suite *s);

#endif /* WHELK_TESTS_PIPE_H */
