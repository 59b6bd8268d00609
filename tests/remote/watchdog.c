/*
 * remote/watchdog.c -- the remote suite's "watchdog" tests (run by
 * tests/check_remote.c): the far side's watchdog, stopped at any moment,
 * takes nothing of the run with it.
 */
#include "remote.h"

/* Entries in directory path. */
static int entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* The watchdog stopped before it ran a command.  A child bash forks keeps
 * its parent's signal handlers and traps until it resets them, and bash
 * runs the EXIT trap from its handler of a deadly signal: the USR1 that
 * stops the watchdog, arriving in that window (the stages had ended
 * first, under load), ran the script's `rm -rf "$d"` there, and the
 * stages' stderr was gone before it was sent -- test_ssh_same_run lost
 * it once in ~27 loaded loops (bash is root's login shell there).
 * tests/forkwin.so holds the watchdog in that window until the USR1 has
 * reached it: the stage ends when the shim opens the stage's stdin FIFO,
 * which it does once the watchdog is held. */
START_TEST(test_bash_watchdog_stopped_before_it_ran)
{
    char *fifo = tmp_path("ready"), *rtmp = tmp_path("rtmp");
    whelk_cmd *t = whelk_cmd_new("bash", "-c", NULL);
    whelk_pipeline *p;
    whelk_remote *r;
    whelk_result *res;

    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(mkdir(rtmp, 0700), 0);
    ck_assert_int_eq(access(FORKWIN_PATH, R_OK), 0);
    whelk_cmd_setenv(t, "LD_PRELOAD", FORKWIN_PATH);
    whelk_cmd_setenv(t, "FORKWIN_READY", fifo);
    whelk_cmd_setenv(t, "TMPDIR", rtmp);
    r = whelk_remote_new(t);
    ck_assert_ptr_nonnull(r);
    p = remotely(whelk_pipe(H("drain", "err:one\\n", "exit:3"), NULL), r);
    whelk_pipeline_stdin_file(p, fifo);
    whelk_pipeline_check(p, 0);
    res = run_ok(p);
    ck_assert_str_eq(whelk_result_stderr(res, NULL), "one\n");
    ck_assert_int_eq(whelk_result_exit_code(res, 0), 3);
    ck_assert_int_eq(entries(rtmp), 0); /* the run's directory was removed */
    whelk_result_free(res);
    whelk_pipeline_free(p);
    free(fifo);
    free(rtmp);
}
END_TEST

void remote_watchdog(Suite *s)
{
    TCase *tc = remote_tcase(s, "watchdog", 1);

    tcase_add_test(tc, test_bash_watchdog_stopped_before_it_ran);
}
