/*
 * verdict.c -- from the statuses of a finished run to its outcome: the
 * result, or an error naming the first stage that failed on its own, with
 * its command, its status and the tail of its own stderr.
 *
 * A stage counts as failed when it exited with a code outside its ok codes
 * or was killed by a signal -- except SIGPIPE in a stage whose downstream
 * stages all succeeded (`yes | head -n 1`).  A SIGPIPE'd stage is never
 * named while another stage failed; SIGPIPE in the last stage, whose
 * reader is outside the pipeline, is a failure like any other signal.
 * It sees the run only through what run.c hands it (verdict.h): the
 * pipeline, the statuses, the run-wide failure and the stderr tails.
 */
#include "verdict.h"
#include "buf.h"
#include "names.h"
#include "result.h"
#include "errors.h"
#include "quote.h"
#include "builder.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the verdict is reached from (whelk__verdict's arguments). */
typedef struct verdict {
    const whelk_pipeline *p;
    const whelk_result *r; /* every stage's status */
    const whelk_buf *tails;
    int host_head;
    size_t n;
} verdict;

/* The stage to blame, or WHELK_NO_STAGE when the run succeeded: the first
 * stage that failed on its own.  A stage killed by SIGPIPE before the last
 * one failed only because a reader after it quit: that is no failure when
 * the stages after it succeeded, and their failure when they did not. */
static size_t cause(const verdict *v)
{
    size_t i, n = v->n, blame = WHELK_NO_STAGE;

    for (i = n; i-- > 0;) {
        const whelk_status *st = &v->r->st[i];
        int ok = st->sig == 0 &&
                 whelk__cmd_code_ok(whelk__pipeline_cmd(v->p, i), st->code);
        /* the host that stopped pulling is the last stage's reader */
        if (!ok && !(st->sig == SIGPIPE && (i < n - 1 || v->host_head)))
            blame = i;
    }
    return blame;
}

/* The last WHELK_TAIL_LINES lines of a stage's captured stderr. */
static const char *tail_text(const whelk_buf *t, size_t *len)
{
    size_t n, lines = 0;

    if (!t->data || !t->len) {
        *len = 0;
        return "";
    }
    n = t->len;
    while (n && (t->data[n - 1] == '\n' || t->data[n - 1] == '\r'))
        n--;
    *len = n;
    while (n) {
        if (t->data[n - 1] == '\n' && ++lines == WHELK_TAIL_LINES)
            break;
        n--;
    }
    *len -= n;
    return t->data + n;
}

static whelk_error *status_error(const verdict *v, size_t i)
{
    const whelk_status *st = &v->r->st[i];
    char *cmd = whelk__cmd_string(whelk__pipeline_cmd(v->p, i));
    char where[64];
    whelk_buf msg = {0};
    size_t tlen;
    const char *tail = tail_text(&v->tails[i], &tlen);
    whelk_error *e;

    if (!cmd)
        return (whelk_error *)&whelk__nomem_error;
    if (whelk__buf_printf(&msg, "`%s`%s", cmd,
                          whelk__stage_label(where, sizeof where, i, v->n)) <
            0 ||
        (st->sig ? whelk__buf_printf(&msg, " was killed by signal %d (SIG%s)",
                                     st->sig, whelk__signame(st->sig))
                 : whelk__buf_printf(&msg, " exited with status %d",
                                     st->code)) < 0 ||
        (tlen && (whelk__buf_addstr(&msg, ": ") < 0 ||
                  whelk__buf_add(&msg, tail, tlen) < 0))) {
        free(cmd);
        whelk__buf_free(&msg);
        return (whelk_error *)&whelk__nomem_error;
    }
    e = whelk__error_new(st->sig ? WHELK_E_SIGNAL : WHELK_E_EXIT, 0, i, NULL,
                         "%s", msg.data);
    whelk__buf_free(&msg);
    if (e == &whelk__nomem_error) {
        free(cmd);
        return e;
    }
    whelk__error_set_status(e, st->code, st->sig);
    return whelk__error_take_command(e, cmd);
}

static whelk_error *unknown_status(const verdict *v, size_t i)
{
    char *cmd = whelk__cmd_string(whelk__pipeline_cmd(v->p, i));
    whelk_error *e = whelk__error_new(
        WHELK_E_IO, ECHILD, i, NULL,
        "the exit status of `%s` is unavailable: it was reaped outside "
        "libwhelk (the host ignores SIGCHLD, or called waitpid(-1))",
        cmd ? cmd : "?");

    return whelk__error_take_command(e, cmd);
}

whelk_error *whelk__verdict(const whelk_pipeline *p, whelk_result **r,
                            whelk_error *fail, const whelk_buf *tails,
                            int host_head)
{
    verdict v = {p, *r, tails, host_head, (*r)->n};
    whelk_error *e = fail;
    size_t i;

    for (i = 0; !e && i < v.n; i++)
        if (!v.r->st[i].known)
            e = unknown_status(&v, i);
    if (!e && whelk__pipeline_checks(p) && (i = cause(&v)) != WHELK_NO_STAGE)
        e = status_error(&v, i);
    if (!e)
        return NULL;
    if (e == &whelk__nomem_error)
        return e;
    if ((i = whelk_error_stage(e)) < v.n)
        whelk__error_set_status(e, v.r->st[i].code, v.r->st[i].sig);
    whelk__error_set_result(e, *r);
    *r = NULL;
    return e;
}
