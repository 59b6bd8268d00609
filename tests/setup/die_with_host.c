/*
 * setup/die_with_host.c -- the setup suite's "die_with_host" tests (run by tests/check_setup.c).
 */
#include "setup.h"

/* ===================================================================== */
/* die_with_host                                                         */
/* ===================================================================== */

/* Forks a host that starts `helper sleep:20000` (die_with_host on or off),
 * tells the test the stage's pid, and dies (by exit or by SIGKILL).  The
 * test is a subreaper, so the orphaned stage becomes its child: its
 * status says whether the kernel killed it. */
static char *drop_helper; /* set: the stage is this helper, as nobody */

static int stage_status_after_host_death(int dwh, int by_kill, int *alive)
{
    int pp[2], st;
    pid_t host, stage = -1;

    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    ck_assert_int_eq(pipe(pp), 0);
    host = fork();
    ck_assert_int_ge(host, 0);
    if (host == 0) {
        whelk_pipeline *p = whelk_pipe(
            drop_helper ? whelk_cmd_new(drop_helper, "sleep:20000", NULL)
                        : H("sleep:20000"),
            NULL);
        whelk_proc *pr;

        if (drop_helper)
            whelk_cmd_user(whelk_pipeline_cmd(p, 0), 65534, 65534);

        close(pp[0]);
        whelk_pipeline_die_with_host(p, dwh);
        whelk_pipeline_stdout(p, WHELK_NULL);
        whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_NULL);
        pr = whelk_start(p, NULL);
        if (!pr)
            _exit(3);
        stage = whelk_proc_pid(pr, 0);
        if (write(pp[1], &stage, sizeof stage) != sizeof stage)
            _exit(4);
        if (by_kill)
            kill(getpid(), SIGKILL);
        _exit(0);
    }
    close(pp[1]);
    ck_assert_int_eq(read(pp[0], &stage, sizeof stage), sizeof stage);
    close(pp[0]);
    ck_assert_int_eq(waitpid(host, &st, 0), host);
    ck_assert(by_kill ? WIFSIGNALED(st) : WIFEXITED(st) && !WEXITSTATUS(st));
    *alive = 0;
    if (!dwh) {
        /* the stage outlives its host: still running, then ours to end */
        *alive = waitpid(stage, &st, WNOHANG) == 0;
        kill(stage, SIGKILL);
    }
    ck_assert_int_eq(waitpid(stage, &st, 0), stage);
    return st;
}

START_TEST(test_die_with_host_exit)
{
    int alive, st = stage_status_after_host_death(1, 0, &alive);

    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %#x",
                  st);
}
END_TEST

START_TEST(test_die_with_host_killed)
{
    int alive, st = stage_status_after_host_death(1, 1, &alive);

    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %#x",
                  st);
}
END_TEST

START_TEST(test_die_with_host_off_by_default)
{
    int alive;

    (void)stage_status_after_host_death(0, 0, &alive);
    ck_assert_msg(alive, "a stage without die_with_host died with its host");
}
END_TEST

typedef struct thread_run {
    whelk_pipeline *p;
    whelk_proc *pr;
    pid_t tid;
} thread_run;

static void *start_in_thread(void *arg)
{
    thread_run *t = arg;

    t->tid = (pid_t)syscall(SYS_gettid);
    t->pr = whelk_start(t->p, NULL);
    return NULL;
}

START_TEST(test_die_with_host_thread_exit)
{
    /* a run started by a thread that then exits: the host lives, so its
     * stage must live too */
    int in[2];
    thread_run t = {NULL, NULL, 0};
    pthread_t th;
    whelk_result *r;
    char task[64];

    ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
    t.p = whelk_pipe(H("cat"), NULL);
    whelk_pipeline_stdin_fd(t.p, in[0]);
    whelk_pipeline_die_with_host(t.p, 1);
    ck_assert_int_eq(pthread_create(&th, NULL, start_in_thread, &t), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_ptr_nonnull(t.pr);
    close(in[0]);
    /* pthread_join returns before the kernel is done with the thread:
     * wait until its task is gone (the point where a parent-death signal
     * would have been sent) */
    snprintf(task, sizeof task, "/proc/self/task/%d", (int)t.tid);
    while (path_exists(task))
        sched_yield();
    signal(SIGPIPE, SIG_IGN); /* a dead stage: EPIPE, said below */
    ck_assert_msg(write(in[1], "still here\n", 11) == 11,
                  "the stage died with the thread that started it");
    close(in[1]);
    r = whelk_proc_wait(t.pr, NULL);
    ck_assert_msg(r != NULL, "the stage died with the thread");
    ASSERT_STDOUT(r, "still here\n");
    whelk_result_free(r);
    whelk_pipeline_free(t.p);
}
END_TEST

typedef struct many_run {
    whelk_pipeline *p[3];
    size_t failed;
} many_run;

static void *many_in_thread(void *arg)
{
    many_run *m = arg;
    whelk_result *res[3];
    whelk_error *errs[3];
    size_t i;

    m->failed = whelk_run_many(m->p, 3, 3, res, errs);
    for (i = 0; i < 3; i++) {
        whelk_result_free(res[i]);
        whelk_error_free(errs[i]);
    }
    return NULL;
}

START_TEST(test_die_with_host_run_many_thread)
{
    many_run m;
    pthread_t th;
    size_t i;

    for (i = 0; i < 3; i++) {
        m.p[i] = whelk_pipe(H("out:x"), H("cat"), NULL);
        whelk_pipeline_die_with_host(m.p[i], 1);
    }
    ck_assert_int_eq(pthread_create(&th, NULL, many_in_thread, &m), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_uint_eq(m.failed, 0);
    for (i = 0; i < 3; i++)
        whelk_pipeline_free(m.p[i]);
    ck_assert_int_eq(count_children(), 0);
}
END_TEST

START_TEST(test_die_with_host_orphan_check)
{
    /* The race: the host dies between clone and prctl.  The child then
     * has another parent already; it must see so and not run.  Here the
     * parent it expects is not its parent, which is what it would see. */
    char *dir = make_tmpdir(), *marker = path_join(dir, "ran");
    char *touch = xasprintf("touch:%s", marker);
    char *argv[] = {HELPER, touch, NULL};
    int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    int hi = fcntl(nul, F_DUPFD_CLOEXEC, 3);
    int fds[3] = {hi, hi, hi};
    whelk_child_setup cs;
    whelk_spawn_req req;
    int step = 0, pidfd = -1, rc;
    pid_t pid = -1;

    memset(&cs, 0, sizeof cs);
    cs.die_with_host = 1;
    cs.host_pid = getppid(); /* not the parent the child will have */
    memset(&req, 0, sizeof req);
    req.path = HELPER;
    req.argv = argv;
    req.fds = fds;
    req.pgroup = -1;
    req.setup = &cs;
    req.step = &step;
    rc = whelk__spawn(&req, &pid, &pidfd);
    ck_assert_int_eq(rc, ESRCH);
    ck_assert_int_eq(step, STEP_ORPHAN);
    ck_assert(!path_exists(marker));
    ck_assert_int_eq(count_children(), 0);

    /* and with the right parent it runs */
    cs.host_pid = getpid();
    step = 0;
    rc = whelk__spawn(&req, &pid, &pidfd);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(waitpid(pid, &rc, 0), pid);
    ck_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    ck_assert(path_exists(marker));
    if (pidfd >= 0)
        close(pidfd);
    close(nul);
    close(hi);
    free(touch);
    free(marker);
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(test_die_with_host_with_setup)
{
    /* the parent-death signal is asked for after setuid (which clears
     * it): a stage dropped to nobody still dies with its host */
    char *dir;
    int alive, st;

    NEED_ROOT();
    dir = make_tmpdir_in("/tmp");
    ck_assert_int_eq(chmod(dir, 0755), 0);
    drop_helper = helper_copy(dir);
    st = stage_status_after_host_death(1, 0, &alive);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %#x",
                  st);
    free(drop_helper);
    drop_helper = NULL;
    rm_rf(dir);
    free(dir);
}
END_TEST

void setup_die_with_host(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "die-with-host", TEST_TIMEOUT, NULL, NULL);
    tcase_add_test(tc, test_die_with_host_exit);
    tcase_add_test(tc, test_die_with_host_killed);
    tcase_add_test(tc, test_die_with_host_off_by_default);
    tcase_add_test(tc, test_die_with_host_thread_exit);
    tcase_add_test(tc, test_die_with_host_run_many_thread);
    tcase_add_test(tc, test_die_with_host_orphan_check);
    tcase_add_test(tc, test_die_with_host_with_setup);
}
