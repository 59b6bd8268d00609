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
 */
#include "buf.h"
#include "names.h"
#include "result.h"
#include "errors.h"
#include "quote.h"
#include "proc.h"
#include "builder.h"
#include "remote.h"
#include "plan.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int code_ok(const whelk_cmd *c, int code)
{
    size_t i;

    if (!c->nok)
        return code == 0;
    for (i = 0; i < c->nok; i++)
        if (c->ok_codes[i] == code)
            return 1;
    return 0;
}

/* The stage to blame, or WHELK_NO_STAGE when the run succeeded: the first
 * stage that failed on its own.  A stage killed by SIGPIPE before the last
 * one failed only because a reader after it quit: that is no failure when
 * the stages after it succeeded, and their failure when they did not. */
static size_t cause(const whelk_proc *pr)
{
    size_t i, n = pr->n, blame = WHELK_NO_STAGE;

    for (i = n; i-- > 0;) {
        const whelk_status *st = &pr->result->st[i];
        int ok = st->sig == 0 && code_ok(pr->p->cmds[i], st->code);
        /* the host that stopped pulling is the last stage's reader */
        if (!ok && !(st->sig == SIGPIPE && (i < n - 1 || pr->host_head)))
            blame = i;
    }
    return blame;
}

/* The last WHELK_TAIL_LINES lines of a stage's captured stderr. */
static const char *tail_text(whelk_buf *t, size_t *len)
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

static whelk_error *status_error(whelk_proc *pr, size_t i)
{
    const whelk_status *st = &pr->result->st[i];
    char *cmd = whelk__cmd_string(pr->p->cmds[i]);
    char where[64];
    whelk_buf msg = {0};
    size_t tlen;
    const char *tail = tail_text(&pr->tails[i], &tlen);
    whelk_error *e;

    if (!cmd)
        return (whelk_error *)&whelk__nomem_error;
    if (whelk__buf_printf(&msg, "`%s`%s", cmd,
                          whelk__stage_label(where, sizeof where, i, pr->n)) <
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
    e->command = cmd;
    e->exit_code = st->code;
    e->sig = st->sig;
    return e;
}

static whelk_error *unknown_status(whelk_proc *pr, size_t i)
{
    char *cmd = whelk__cmd_string(pr->p->cmds[i]);
    whelk_error *e = whelk__error_new(
        WHELK_E_IO, ECHILD, i, NULL,
        "the exit status of `%s` is unavailable: it was reaped outside "
        "libwhelk (the host ignores SIGCHLD, or called waitpid(-1))",
        cmd ? cmd : "?");

    return whelk__error_take_command(e, cmd);
}

whelk_error *whelk__verdict(whelk_proc *pr)
{
    whelk_error *e = NULL;
    size_t i;

    if (pr->remote)
        whelk__remote_settle(pr);
    for (i = 0; i < pr->n; i++)
        pr->result->st[i] = pr->stages[i].st;
    if (pr->fail) {
        e = pr->fail;
        pr->fail = NULL;
    }
    for (i = 0; !e && i < pr->n; i++)
        if (!pr->result->st[i].known)
            e = unknown_status(pr, i);
    if (!e && pr->p->check && (i = cause(pr)) != WHELK_NO_STAGE)
        e = status_error(pr, i);
    if (!e)
        return NULL;
    if (e == &whelk__nomem_error)
        return e;
    if (e->stage < pr->n) {
        e->exit_code = pr->result->st[e->stage].code;
        e->sig = pr->result->st[e->stage].sig;
    }
    e->result = pr->result;
    pr->result = NULL;
    return e;
}
