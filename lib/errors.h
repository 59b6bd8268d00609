/*
 * errors.h -- the helpers every module makes its errors with, among them
 * the one errno -> kind rule.  whelk_error's body is private to error.c:
 * the few modules that fill in more than a message (the verdict, plan.c,
 * remote.c) use the setters below.
 */
#ifndef WHELK_ERRORS_H
#define WHELK_ERRORS_H

#include "base.h"

struct whelk_fault; /* fault.h */

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
/* Setters for what whelk__error_new does not take; each is a no-op on the
 * static NOMEM error.  The stage the error names; the status of that
 * stage (exit code, -1 when signalled; signal, 0 when exited). */
WHELK_INTERNAL void whelk__error_set_stage(whelk_error *e, size_t stage);
WHELK_INTERNAL void whelk__error_set_status(whelk_error *e, int code, int sig);
/* Gives e the run's result (e must not hold one; the NOMEM error frees
 * r instead). */
WHELK_INTERNAL void whelk__error_set_result(whelk_error *e, whelk_result *r);
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
/* The run's error for a converter of encoding that could not be made
 * (errnum from whelk__decoder_new or whelk__encode): WHELK_E_NOMEM,
 * WHELK_E_IO for EMFILE/ENFILE, else WHELK_E_INVALID "unknown encoding".
 * (Here and not in decode.c, which stands alone for the fuzzers.) */
WHELK_INTERNAL whelk_error *whelk__encoding_error(const char *encoding,
                                                  int errnum);
WHELK_INTERNAL extern const whelk_error whelk__nomem_error;

#endif /* WHELK_ERRORS_H */
