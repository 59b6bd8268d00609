/*
 * git_retry_lock.c -- retry a git command that met another git's
 * index.lock, through the exit hook.  The hook is called after every
 * attempt with the result and, on failure, the error; returning
 * WHELK_RETRY runs the same pipeline again (a pipeline is not consumed by
 * running it), returning 0 lets the outcome stand.  This hook retries only
 * failures whose stderr mentions index.lock, backs off a little longer
 * each time, and gives up after a fixed number of attempts: the caller
 * bounds the retries, never the library.  It is installed on a whelk_shell
 * so that every git command made through the shell gets it, with a start
 * hook that logs each attempt as a shell command line.  The "other git"
 * is simulated: the example creates .git/index.lock itself and removes it
 * after two attempts; a second run leaves it in place and shows the error
 * that stands when the retries run out.
 *
 *   Python whelk:  Shell(exit_callback=check_lock).git('add', 'new.txt')
 *                  (the exit_callback example of whelk's documentation)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <whelk.h>

#include "repo.h"

struct retry {
    int attempts;      /* attempts so far */
    int max_attempts;  /* the bound */
    int release_after; /* simulation: the other git quits after this many
                          attempts (0: it never does) */
    char lock[4096];   /* .git/index.lock */
};

static void log_start(const whelk_pipeline *p, void *userdata)
{
    char *text = whelk_pipeline_tostring(p);

    (void)userdata;
    printf("  + %s\n", text ? text : "?");
    free(text);
}

static int retry_on_lock(const whelk_result *r, const whelk_error *e,
                         void *userdata)
{
    struct retry *t = userdata;
    struct timespec pause;

    t->attempts++;
    if (!e || !r) /* success, or it could not even start: no lock involved */
        return 0;
    if (!strstr(whelk_result_stderr(r, NULL), "index.lock"))
        return 0;
    if (t->attempts >= t->max_attempts) {
        printf("  attempt %d: index.lock is still there, giving up\n",
               t->attempts);
        return 0;
    }
    printf("  attempt %d: index.lock is held, retrying\n", t->attempts);
    if (t->release_after && t->attempts >= t->release_after)
        unlink(t->lock); /* the other git finished */
    pause.tv_sec = 0;
    pause.tv_nsec = 20L * 1000 * 1000 * t->attempts;
    nanosleep(&pause, NULL);
    return WHELK_RETRY;
}

/* git add name, with the retry hook; 0 if it succeeded. */
static int add_with_retries(whelk_shell *sh, const char *dir, const char *name,
                            int release_after, struct retry *t)
{
    whelk_error *err = NULL;
    whelk_result *r;

    t->attempts = 0;
    t->max_attempts = 4;
    t->release_after = release_after;
    snprintf(t->lock, sizeof t->lock, "%s/.git/index.lock", dir);
    if (write_file(dir, ".git/index.lock", "") < 0 ||
        write_file(dir, name, "some content\n") < 0)
        return -1;
    r = whelk_shell_sh(sh, &err, "git", "add", name, NULL);
    if (!r) {
        printf("  failed after %d attempts: %s\n", t->attempts,
               whelk_error_message(err));
        whelk_error_free(err);
        unlink(t->lock);
        return -1;
    }
    printf("  succeeded after %d attempts\n", t->attempts);
    whelk_result_free(r);
    return 0;
}

int main(void)
{
    whelk_shell *sh;
    struct retry t;
    int ok_run, failed_run;
    char *dir = make_repo(&sh);

    if (!dir)
        return 1;
    whelk_shell_on_start(sh, log_start, NULL);
    whelk_shell_on_exit(sh, retry_on_lock, &t);

    printf("index.lock released by the other git after two attempts:\n");
    ok_run = add_with_retries(sh, dir, "first.txt", 2, &t);
    printf("index.lock never released:\n");
    failed_run = add_with_retries(sh, dir, "second.txt", 0, &t);

    remove_repo(dir, sh);
    return ok_run == 0 && failed_run == -1 && t.attempts == 4 ? 0 : 1;
}
