/*
 * errors.h -- the body of whelk_error (error.c) and the helpers every module
 * makes its errors with, among them the one errno -> kind rule.
 */
#ifndef WHELK_ERRORS_H
#define WHELK_ERRORS_H

#include "base.h"

struct whelk_fault; /* fault.h */

struct whelk_error {
    int kind;
    int errnum;
    size_t stage;
    int exit_code;
    int sig;
    char *message;
    char *command;
    whelk_result *result;
    int callback_value; /* whelk_error_callback_value: what the user's
                           callback returned to stop the run, else 0 */
};
/* Make an error; never returns NULL (falls back to a static NOMEM error).
 * Takes ownership of result. */
WHELK_INTERNAL whelk_error *whelk__error_new(int kind, int errnum, size_t stage,
                                             whelk_result *result,
                                             const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
WHELK_INTERNAL whelk_error *
whelk__error_from_fault(const struct whelk_fault *f);
/* Gives e the shell-quoted command (best effort); returns e. */
WHELK_INTERNAL whelk_error *whelk__error_set_command(whelk_error *e,
                                                     const whelk_cmd *cmd);
/* Gives e the malloc'd command string cmd (NULL: none), or frees cmd when
 * e cannot take it (the static NOMEM error, or a command already set);
 * returns e. */
WHELK_INTERNAL whelk_error *whelk__error_take_command(whelk_error *e,
                                                      char *cmd);
/* The one errno -> error kind rule: ENOMEM is WHELK_E_NOMEM, a shortage of
 * descriptors (EMFILE, ENFILE) is WHELK_E_IO, anything else is kind (what
 * the failed step is: WHELK_E_IO for a pipe, read, write or file,
 * WHELK_E_EXEC for starting a program). */
WHELK_INTERNAL int whelk__errno_kind(int errnum, int kind);
/* " (stage 2 of 3)" for a pipeline, "" for one command: how every
 * message names a stage (counting from 1, for people). */
WHELK_INTERNAL const char *whelk__stage_label(char *buf, size_t size,
                                              size_t stage, size_t n);
/* Records in e the value a user's callback returned that made e
 * (whelk_error_callback_value); ignored for NULL and the static NOMEM
 * error.  Returns e. */
WHELK_INTERNAL whelk_error *whelk__error_set_callback_value(whelk_error *e,
                                                            int value);
WHELK_INTERNAL extern const whelk_error whelk__nomem_error;

#endif /* WHELK_ERRORS_H */
