/*
 * stop.c -- the library stopping a run before its stages end on their own:
 * a deadline (pump.c's timer), whelk_proc_cancel, a callback returning
 * non-zero.  Whatever stops a run, the error names the first stage still
 * running at that moment, and that stage's status in the error's result is
 * the one the stop gave it (whelk__verdict copies it into the error).
 */
#include "stop.h"
#include "errors.h"
#include "proc.h"
#include "quote.h"
#include "builder.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

size_t whelk__stop_stage(whelk_proc *pr)
{
    size_t i;

    whelk__proc_reap_exited(pr);
    for (i = 0; i < pr->n; i++)
        if (pr->stages[i].pid > 0 && !pr->stages[i].reaped)
            return i;
    return WHELK_NO_STAGE;
}

void whelk__stop_fail(whelk_proc *pr, int kind, int errnum, size_t stage,
                      const char *what)
{
    char *cmd;
    char where[64];
    whelk_error *e;

    if (pr->fail)
        return;
    cmd = stage < pr->n ? whelk__cmd_string(pr->p->cmds[stage])
                        : whelk_pipeline_tostring(pr->p);
    e = whelk__error_new(
        kind, errnum, stage, NULL, "`%s`%s %s", cmd ? cmd : "?",
        stage < pr->n ? whelk__stage_label(where, sizeof where, stage, pr->n)
                      : "",
        what);
    pr->fail = whelk__error_take_command(e, cmd);
}

int whelk__proc_cancel(whelk_proc *pr, const char *why)
{
    int rc;

    if (pr->finished) {
        /* a cancel before wait wins over an outcome nobody has seen */
        whelk__stop_fail(pr, WHELK_E_ABORTED, ECANCELED, WHELK_NO_STAGE, why);
        return 0;
    }
    if (pr->aborted || pr->phase != PH_RUNNING)
        return 0; /* already stopping: a deadline, an abort, a cancel */
    whelk__stop_fail(pr, WHELK_E_ABORTED, ECANCELED, whelk__stop_stage(pr),
                     why);
    pr->aborted = 1;
    rc = whelk__proc_signal(pr, SIGTERM);
    pr->phase = PH_TERM;
    pr->deadline_ms = whelk__now_ms() + pr->p->grace_ms;
    if (pr->tfd >= 0)
        whelk__proc_arm(pr);
    return rc;
}
