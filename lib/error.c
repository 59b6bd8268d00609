/*
 * error.c -- whelk_error: what went wrong, for a person and for a program.
 * Its body is private to this file (errors.h offers the setters).
 */
#include "alloc.h"
#include "buf.h"
#include "fault.h"
#include "names.h"
#include "errors.h"
#include "quote.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

/* Returned when even the error cannot be allocated; never freed. */
const whelk_error whelk__nomem_error = {
    WHELK_E_NOMEM,           ENOMEM,     WHELK_NO_STAGE, -1, 0,
    (char *)"out of memory", (char *)"", NULL,           0};

whelk_error *whelk__error_new(int kind, int errnum, size_t stage,
                              whelk_result *result, const char *fmt, ...)
{
    whelk_error *e = whelk__calloc(1, sizeof *e);
    whelk_buf b = {0};
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (!e || n < 0 || whelk__buf_reserve(&b, (size_t)n) < 0) {
        free(e);
        whelk_result_free(result);
        return (whelk_error *)&whelk__nomem_error;
    }
    va_start(ap, fmt);
    vsnprintf(b.data, (size_t)n + 1, fmt, ap);
    va_end(ap);
    e->kind = kind;
    e->errnum = errnum;
    e->stage = stage;
    e->exit_code = -1;
    e->message = b.data;
    e->result = result;
    return e;
}

whelk_error *whelk__error_from_fault(const whelk_fault *f)
{
    return whelk__error_new(f->kind, f->errnum, WHELK_NO_STAGE, NULL, "%s",
                            f->message ? f->message : "out of memory");
}

whelk_error *whelk__error_set_command(whelk_error *e, const whelk_cmd *cmd)
{
    if (e && e != &whelk__nomem_error && !e->command && cmd)
        e->command = whelk__cmd_string(cmd);
    return e;
}

whelk_error *whelk__error_take_command(whelk_error *e, char *cmd)
{
    if (e && e != &whelk__nomem_error && !e->command)
        e->command = cmd;
    else
        free(cmd);
    return e;
}

whelk_error *whelk__error_set_callback_value(whelk_error *e, int value)
{
    if (e && e != &whelk__nomem_error)
        e->callback_value = value;
    return e;
}

void whelk__error_set_stage(whelk_error *e, size_t stage)
{
    if (e != &whelk__nomem_error)
        e->stage = stage;
}

void whelk__error_set_status(whelk_error *e, int code, int sig)
{
    if (e != &whelk__nomem_error) {
        e->exit_code = code;
        e->sig = sig;
    }
}

void whelk__error_set_result(whelk_error *e, whelk_result *r)
{
    if (e != &whelk__nomem_error)
        e->result = r;
    else
        whelk_result_free(r);
}

int whelk__errno_kind(int errnum, int kind)
{
    if (errnum == ENOMEM)
        return WHELK_E_NOMEM;
    if (errnum == EMFILE || errnum == ENFILE)
        return WHELK_E_IO;
    return kind;
}

const char *whelk__stage_label(char *buf, size_t size, size_t stage, size_t n)
{
    if (n < 2 || stage >= n)
        return "";
    snprintf(buf, size, " (stage %zu of %zu)", stage + 1, n);
    return buf;
}

int whelk_error_kind(const whelk_error *e)
{
    return e ? e->kind : 0;
}

const char *whelk_error_kind_name(int kind)
{
    static const char *const names[] = {"?",
                                        "WHELK_E_INVALID",
                                        "WHELK_E_NOMEM",
                                        "WHELK_E_NOTFOUND",
                                        "WHELK_E_EXEC",
                                        "WHELK_E_IO",
                                        "WHELK_E_EXIT",
                                        "WHELK_E_SIGNAL",
                                        "WHELK_E_TIMEOUT",
                                        "WHELK_E_DECODE",
                                        "WHELK_E_ABORTED",
                                        "WHELK_E_TRANSPORT"};

    return kind > 0 && kind <= WHELK_E_TRANSPORT ? names[kind] : names[0];
}

int whelk_error_errno(const whelk_error *e)
{
    return e ? e->errnum : 0;
}

size_t whelk_error_stage(const whelk_error *e)
{
    return e ? e->stage : WHELK_NO_STAGE;
}

const char *whelk_error_message(const whelk_error *e)
{
    return e && e->message ? e->message : "";
}

const char *whelk_error_command(const whelk_error *e)
{
    return e && e->command ? e->command : "";
}

int whelk_error_exit_code(const whelk_error *e)
{
    return e ? e->exit_code : -1;
}

int whelk_error_signal(const whelk_error *e)
{
    return e ? e->sig : 0;
}

int whelk_error_callback_value(const whelk_error *e)
{
    return e ? e->callback_value : 0;
}

const whelk_result *whelk_error_result(const whelk_error *e)
{
    return e ? e->result : NULL;
}

void whelk_error_free(whelk_error *e)
{
    if (!e || e == &whelk__nomem_error)
        return;
    free(e->message);
    free(e->command);
    whelk_result_free(e->result);
    free(e);
}

whelk_error *whelk__encoding_error(const char *encoding, int errnum)
{
    if (errnum == ENOMEM)
        return (whelk_error *)&whelk__nomem_error;
    if (errnum == EMFILE || errnum == ENFILE)
        return whelk__error_new(WHELK_E_IO, errnum, WHELK_NO_STAGE, NULL,
                                "cannot load the converter of encoding "
                                "\"%s\": %s",
                                encoding, whelk__strerror(errnum));
    return whelk__error_new(WHELK_E_INVALID, errnum, WHELK_NO_STAGE, NULL,
                            "unknown encoding \"%s\"", encoding);
}
