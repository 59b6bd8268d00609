/*
 * stop.c -- the library stopping a run before its stages end on their own:
 * a deadline (pump.c's timer), whelk_proc_cancel, a callback returning
 * non-zero.  Whatever stops a run, the error names the first stage still
 * running at that moment, and that stage's status in the error's result is
 * the one the stop gave it (whelk__verdict copies it into the error); a
 * callback's stop also keeps the value it returned (pump.c).
 * The handle's state is pump.c's: this file reads and changes it only
 * through proc.h.
 */
#include "stop.h"
#include "errors.h"
#include "proc.h"
#include "quote.h"
#include "builder.h"

#include <errno.h>

size_t whelk__stop_stage(whelk_proc *pr)
{
    whelk__proc_reap_exited(pr);
    return whelk__proc_live_stage(pr);
}

whelk_error *whelk__stop_fail(whelk_proc *pr, int kind, int errnum,
                              size_t stage, const char *what)
{
    const whelk_pipeline *p = whelk__proc_pipeline(pr);
    size_t n = whelk__proc_nstages(pr);
    char *cmd;
    char where[64];
    whelk_error *e;

    if (whelk__proc_failed(pr))
        return NULL;
    cmd = stage < n ? whelk__cmd_string(whelk__pipeline_cmd(p, stage))
                    : whelk_pipeline_tostring(p);
    e = whelk__error_new(
        kind, errnum, stage, NULL, "`%s`%s %s", cmd ? cmd : "?",
        stage < n ? whelk__stage_label(where, sizeof where, stage, n) : "",
        what);
    e = whelk__error_take_command(e, cmd);
    whelk__proc_fail(pr, e); /* recorded: the run had not failed */
    return e;
}

int whelk__proc_cancel(whelk_proc *pr, const char *why)
{
    if (whelk__proc_finished(pr)) {
        /* a cancel before wait wins over an outcome nobody has seen */
        whelk__stop_fail(pr, WHELK_E_ABORTED, ECANCELED, WHELK_NO_STAGE, why);
        return 0;
    }
    if (whelk__proc_stopping(pr))
        return 0; /* already stopping: a deadline, an abort, a cancel */
    whelk__stop_fail(pr, WHELK_E_ABORTED, ECANCELED, whelk__stop_stage(pr),
                     why);
    return whelk__proc_terminate(pr);
}
