/*
 * timeout_async.c -- runs that must not hang the program, and runs the
 * program does not wait for.  First a deadline: a shell that ignores
 * SIGTERM and leaves a grandchild behind is given 300 ms; at the deadline
 * its process group gets SIGTERM, then SIGKILL after the grace period, the
 * grandchild included, and the run fails with WHELK_E_TIMEOUT while the
 * error's result keeps the output read before the deadline.  Then the
 * asynchronous handle: whelk_start returns at once, whelk_proc_fd is a
 * descriptor to put in poll (or epoll, or an event loop) next to the
 * program's own, whelk_proc_step does the work when it is readable (moving
 * data, calling the line callback, reaping) and says when the run is over,
 * and whelk_proc_wait gives the outcome.  Two runs share one poll loop.
 * Last, whelk_proc_kill stops a run early.
 *
 *   Python:  subprocess.run(..., timeout=0.3) kills the child but not its
 *            group; whelk has no timeout and no asynchronous handle.
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <whelk.h>

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int print_line(const whelk_line *line, void *userdata)
{
    printf("  %s: %s\n", (const char *)userdata, line->text);
    return 0;
}

static int deadline(void)
{
    whelk_pipeline *p = whelk_pipe(
        whelk_cmd_new("sh", "-c",
                      "trap '' TERM; echo started; sleep 30 & wait", NULL),
        NULL);
    whelk_result *r;
    whelk_error *err = NULL;
    double t0 = now(), took;
    int ok;

    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 500);
    r = whelk_run(p, &err);
    took = now() - t0;
    whelk_pipeline_free(p);
    if (r) {
        whelk_result_free(r);
        return 0;
    }
    printf("after %.2f s: %s\n  output before the deadline: %s",
           took, whelk_error_message(err),
           whelk_result_stdout(whelk_error_result(err), NULL));
    ok = whelk_error_kind(err) == WHELK_E_TIMEOUT && took < 5.0;
    whelk_error_free(err);
    return ok;
}

static int poll_loop(void)
{
    whelk_pipeline *p[2];
    whelk_proc *proc[2];
    struct pollfd fds[2];
    whelk_result *r;
    whelk_error *err = NULL;
    int i, running = 0, wakeups = 0, ok = 1;

    p[0] = whelk_pipe(whelk_cmd_new("sh", "-c",
                                    "for i in 1 2 3; do echo tick $i; "
                                    "sleep 0.1; done", NULL),
                      NULL);
    p[1] = whelk_pipe(whelk_cmd_new("sh", "-c", "sleep 0.15; echo done", NULL),
                      NULL);
    whelk_pipeline_on_line(p[0], WHELK_STDOUT, print_line, "ticker");
    whelk_pipeline_on_line(p[1], WHELK_STDOUT, print_line, "sleeper");
    for (i = 0; i < 2; i++) {
        if (!(proc[i] = whelk_start(p[i], &err))) {
            fprintf(stderr, "start: %s\n", whelk_error_message(err));
            whelk_error_free(err);
            ok = 0;
            continue;
        }
        printf("  started pid %d\n", (int)whelk_proc_pid(proc[i], 0));
        running++;
    }
    while (running) {
        int tick = 0;
        for (i = 0; i < 2; i++) {
            fds[i].fd = proc[i] ? whelk_proc_fd(proc[i]) : -1;
            fds[i].events = POLLIN;
            fds[i].revents = 0;
            tick |= proc[i] && fds[i].fd < 0;
        }
        /* A run without a descriptor (whelk_proc_fd gave -1) is stepped on
         * a short timeout instead; with descriptors, sleep until one is
         * readable. */
        if (poll(fds, 2, tick ? 50 : -1) < 0)
            break;
        wakeups++;
        for (i = 0; i < 2; i++) {
            if (!proc[i] || (fds[i].fd >= 0 && !fds[i].revents))
                continue;
            if (whelk_proc_step(proc[i], 0) != 1)
                continue; /* still running */
            r = whelk_proc_wait(proc[i], &err); /* frees the handle */
            proc[i] = NULL;
            running--;
            if (r) {
                printf("  run %d finished, exit code %d\n", i,
                       whelk_result_exit_code(r, 0));
                whelk_result_free(r);
            } else {
                printf("  run %d failed: %s\n", i, whelk_error_message(err));
                whelk_error_free(err);
                ok = 0;
            }
        }
    }
    printf("  the loop woke up %d times\n", wakeups);
    whelk_pipeline_free(p[0]);
    whelk_pipeline_free(p[1]);
    return ok;
}

static int kill_early(void)
{
    whelk_pipeline *p = whelk_pipe(whelk_cmd_new("sleep", "30", NULL), NULL);
    whelk_proc *proc = whelk_start(p, NULL);
    whelk_result *r;
    whelk_error *err = NULL;
    int ok;

    if (!proc) {
        whelk_pipeline_free(p);
        return 0;
    }
    whelk_proc_kill(proc, SIGTERM);
    r = whelk_proc_wait(proc, &err);
    whelk_pipeline_free(p);
    if (r) {
        whelk_result_free(r);
        return 0;
    }
    printf("  %s\n", whelk_error_message(err));
    ok = whelk_error_kind(err) == WHELK_E_SIGNAL &&
         whelk_error_signal(err) == SIGTERM;
    whelk_error_free(err);
    return ok;
}

int main(void)
{
    int ok = 1;

    printf("a deadline:\n");
    ok &= deadline();
    printf("two runs in one poll loop:\n");
    ok &= poll_loop();
    printf("whelk_proc_kill:\n");
    ok &= kill_early();
    return ok ? 0 : 1;
}
