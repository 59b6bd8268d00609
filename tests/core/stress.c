/*
 * core/stress.c -- the core suite's "stress" tests (run by tests/check_core.c).
 */
#include "core.h"

START_TEST(test_1000_runs_no_leak)
{
    int before = count_open_fds(), i;
    char *list_before = fd_list(), *list_after;

    for (i = 0; i < 1000; i++) {
        whelk_error *err = NULL;
        whelk_result *r = whelk_sh(&err, HELPER, i % 2 ? "out:x" : "exit:0",
                                   (const char *)NULL);

        ck_assert_msg(r != NULL, "run %d: %s", i, err_desc(err));
        ASSERT_STDOUT(r, i % 2 ? "x" : "");
        whelk_result_free(r);
    }
    list_after = fd_list();
    ck_assert_msg(count_open_fds() == before,
                  "fds before: %.1000s, after: %.1000s", list_before,
                  list_after);
    ck_assert_int_eq(count_zombie_children(), 0);
    ASSERT_NO_CHILDREN();
    free(list_before);
    free(list_after);
}
END_TEST

START_TEST(test_error_paths_no_leak)
{
    char *noexec = tmp_path("noexec"), *missing = tmp_path("missing");
    char *before = fd_list(), *after;
    int n = count_open_fds(), i;
    unsigned char *in = random_bytes(256 * 1024, 8);

    ck_assert_int_eq(write_file(noexec, "#!/bin/sh\n", 10, 0644), 0);
    for (i = 0; i < 100; i++) {
        whelk_pipeline *p;
        whelk_error *err = NULL;

        /* not found */
        ck_assert_ptr_null(
            whelk_sh(&err, "nosuchprog-xyz", (const char *)NULL));
        whelk_error_free(err);
        /* EACCES */
        err = NULL;
        ck_assert_ptr_null(whelk_sh(&err, noexec, (const char *)NULL));
        ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXEC);
        whelk_error_free(err);
        /* bad stdin file */
        p = helper_pipe("cat", (const char *)NULL);
        whelk_pipeline_stdin_file(p, missing);
        whelk_error_free(run_fail(p, WHELK_E_IO));
        whelk_pipeline_free(p);
        /* bad cwd, with stdin bytes planned */
        p = helper_pipe("cat", (const char *)NULL);
        whelk_cmd_chdir(whelk_pipeline_cmd(p, 0), missing);
        whelk_pipeline_stdin_bytes(p, in, 1000);
        whelk_error_free(run_fail(p, WHELK_E_EXEC));
        whelk_pipeline_free(p);
        /* invalid */
        p = helper_pipe("cat", (const char *)NULL);
        whelk_cmd_setenv(whelk_pipeline_cmd(p, 0), "A=B", "x");
        whelk_error_free(run_fail(p, WHELK_E_INVALID));
        whelk_pipeline_free(p);
        /* exit and signal, with unread stdin */
        p = helper_pipe("err:e", "exit:2", (const char *)NULL);
        whelk_pipeline_stdin_bytes(p, in, 256 * 1024);
        whelk_error_free(run_fail(p, WHELK_E_EXIT));
        whelk_pipeline_free(p);
        p = helper_pipe("out:o", "kill:KILL", (const char *)NULL);
        whelk_error_free(run_fail(p, WHELK_E_SIGNAL));
        whelk_pipeline_free(p);
        /* error pointer NULL: the error is dropped, not leaked */
        p = helper_pipe("exit:1", (const char *)NULL);
        ck_assert_ptr_null(whelk_run(p, NULL));
        whelk_pipeline_free(p);
    }
    after = fd_list();
    ck_assert_msg(count_open_fds() == n, "fds before: %.1000s, after: %.1000s",
                  before, after);
    ASSERT_NO_CHILDREN();
    free(before);
    free(after);
    free(in);
    free(noexec);
    free(missing);
}
END_TEST

START_TEST(test_run_twice_same_result)
{
    whelk_pipeline *p = helper_pipe("count", "out: ", "env:WHELK_R", "err:e",
                                    "exit:5", (const char *)NULL);
    whelk_result *r1, *r2;
    int i;

    whelk_cmd_setenv(whelk_pipeline_cmd(p, 0), "WHELK_R", "r");
    whelk_pipeline_stdin_bytes(p, "hello", 5);
    whelk_pipeline_check(p, 0);
    r1 = run_ok(p);
    r2 = run_ok(p);
    ASSERT_STDOUT(r1, "5\n r\n");
    ASSERT_STDOUT(r2, "5\n r\n");
    ASSERT_STDERR(r1, "e");
    ASSERT_STDERR(r2, "e");
    ck_assert_int_eq(whelk_result_exit_code(r1, 0), 5);
    ck_assert_int_eq(whelk_result_exit_code(r2, 0), 5);
    whelk_result_free(r1);
    whelk_result_free(r2);
    /* and the error twice too */
    whelk_pipeline_check(p, 1);
    for (i = 0; i < 2; i++) {
        whelk_error *err = run_fail(p, WHELK_E_EXIT);

        ASSERT_STDOUT(whelk_error_result(err), "5\n r\n");
        whelk_error_free(err);
    }
    whelk_pipeline_free(p);
}
END_TEST

#define NTHREADS 4
#define NRUNS 50

struct thread_job {
    int id;
    whelk_pipeline *shared; /* run by all threads at once */
    int failures;
    char why[512];
};

static void *thread_main(void *arg)
{
    struct thread_job *job = arg;
    int i;

    for (i = 0; i < NRUNS && !job->failures; i++) {
        char act[64], want[96];
        whelk_error *err = NULL;
        whelk_result *r;
        const char *s;

        snprintf(act, sizeof act, "out:thread %d run %d\\n", job->id, i);
        snprintf(want, sizeof want, "thread %d run %d\n0 1 2\n", job->id, i);
        r = whelk_sh(&err, HELPER, act, "fds", (const char *)NULL);
        if (!r) {
            job->failures++;
            snprintf(job->why, sizeof job->why, "whelk_sh: %s", err_desc(err));
            whelk_error_free(err);
            break;
        }
        s = whelk_result_stdout(r, NULL);
        if (strcmp(s, want) != 0) {
            job->failures++;
            snprintf(job->why, sizeof job->why, "got \"%s\", want \"%s\"", s,
                     want);
        }
        whelk_result_free(r);

        r = whelk_run(job->shared, &err);
        if (!r) {
            job->failures++;
            snprintf(job->why, sizeof job->why, "shared: %s", err_desc(err));
            whelk_error_free(err);
            break;
        }
        s = whelk_result_stdout(r, NULL);
        if (strcmp(s, "11\n0 1 2\n") != 0) {
            job->failures++;
            snprintf(job->why, sizeof job->why, "shared: got \"%s\"", s);
        }
        whelk_result_free(r);
    }
    return NULL;
}

START_TEST(test_threads)
{
    pthread_t th[NTHREADS];
    struct thread_job jobs[NTHREADS];
    whelk_pipeline *shared = helper_pipe("count", "fds", (const char *)NULL);
    int i, fds = count_open_fds();

    whelk_pipeline_stdin_bytes(shared, "shared data", 11);
    for (i = 0; i < NTHREADS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].id = i;
        jobs[i].shared = shared;
        ck_assert_int_eq(pthread_create(&th[i], NULL, thread_main, &jobs[i]),
                         0);
    }
    for (i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    for (i = 0; i < NTHREADS; i++)
        ck_assert_msg(jobs[i].failures == 0, "thread %d: %s", i, jobs[i].why);
    ck_assert_int_eq(count_open_fds(), fds);
    ASSERT_NO_CHILDREN();
    whelk_pipeline_free(shared);
}
END_TEST

void core_stress(Suite *s)
{
    TCase *tc;

    tc = core_tcase(s, "stress", 1);
    tcase_add_test(tc, test_1000_runs_no_leak);
    tcase_add_test(tc, test_error_paths_no_leak);
    tcase_add_test(tc, test_run_twice_same_result);
    tcase_add_test(tc, test_threads);
}
