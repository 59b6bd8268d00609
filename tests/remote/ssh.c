/*
 * remote/ssh.c -- the remote suite's "ssh" tests (run by tests/check_remote.c).
 */
#include "remote.h"

/* Waits (up to ms) until some process holds token. */
static int appears_within(const char *token, int ms)
{
    int64_t end = now_ms() + ms;

    while (count_with_token(token) == 0) {
        struct timespec ts = {0, 10 * 1000000};
        if (now_ms() > end)
            return 0;
        nanosleep(&ts, NULL);
    }
    return 1;
}

#define NEED_SSHD()                                                            \
    ck_assert_msg(sshd.problem[0] == '\0', "sshd is not running: %s",          \
                  sshd.problem)

static whelk_remote *ssh_remote(const char *dest)
{
    whelk_remote *r = whelk_remote_ssh(dest);

    ck_assert_ptr_nonnull(r);
    return r;
}

/* Nothing left in the far side's TMPDIR (every run's private directory
 * was removed). */
static int rtmp_entries(void)
{
    char path[512];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(path, sizeof path, "%s/rtmp", sshd.dir);
    d = opendir(path);
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

START_TEST(test_ssh_same_run)
{
    whelk_cmd *last = H("cat", "err:two\\n", "env:WHELK_RT", "argv", "exit:0");
    whelk_pipeline *p;
    whelk_remote *r;
    whelk_result *res;
    seen s = {{0}, 0};
    size_t i;

    NEED_SSHD();
    r = ssh_remote("h1");
    for (i = 0; odd_words[i]; i++)
        whelk_cmd_arg(last, odd_words[i]);
    whelk_cmd_setenv(last, "WHELK_RT", "it's $HOME");
    p = whelk_pipe(H("cat", "err:one\\n"), last, NULL);
    whelk_pipeline_stdin_bytes(p, "in\n", 3);
    assert_same_run(p, r);
    whelk_remote_free(r);
    whelk_pipeline_on_line(p, WHELK_STDERR, note_line, &s);
    whelk_pipeline_check(p, 1);
    res = run_ok(p);
    ck_assert_str_eq(whelk_result_stderr(res, NULL), "one\ntwo\n");
    ck_assert_str_eq(s.text, "0e:one|1e:two|");
    whelk_result_free(res);
    whelk_pipeline_free(p);
    ck_assert_int_eq(rtmp_entries(), 0);
}
END_TEST

START_TEST(test_ssh_statuses_and_notfound)
{
    whelk_pipeline *p;
    whelk_error *e;
    const whelk_result *r;

    NEED_SSHD();
    p = remotely(whelk_pipe(H("out:x", "exit:2"), H("drain", "kill:TERM"),
                            NULL),
                 ssh_remote("h1"));
    e = run_fail(p, WHELK_E_EXIT);
    r = whelk_error_result(e);
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 2);
    ck_assert_int_eq(whelk_result_signal(r, 1), SIGTERM);
    whelk_error_free(e);
    whelk_pipeline_free(p);
    p = remotely(whelk_pipe(H("out:x"),
                            whelk_cmd_new("whelk-not-there", NULL), NULL),
                 ssh_remote("h1"));
    e = run_fail(p, WHELK_E_NOTFOUND);
    ck_assert_uint_eq(whelk_error_stage(e), 1);
    ck_assert_msg(contains(whelk_error_message(e), "not found on h1"), "%s",
                  whelk_error_message(e));
    whelk_error_free(e);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_ssh_timeout_leaves_nothing_there)
{
    char *tok;
    whelk_pipeline *p;
    whelk_error *e;
    int64_t t0;

    NEED_SSHD();
    tok = new_token();
    p = remotely(whelk_pipe(H("out:x", "sleep:600000", "exit:0", tok),
                            H("cat", "exit:0", tok), NULL),
                 ssh_remote("h2"));
    whelk_pipeline_timeout(p, 1500);
    whelk_pipeline_kill_grace(p, 200);
    t0 = now_ms();
    e = run_fail(p, WHELK_E_TIMEOUT);
    ck_assert_int_lt(now_ms() - t0, 15000);
    whelk_error_free(e);
    /* the watchdog there stops it within about a second and the grace */
    ck_assert_int_eq(gone_within(tok, 15000), 0);
    whelk_pipeline_free(p);
    ck_assert_int_eq(rtmp_entries(), 0);
    free(tok);
}
END_TEST

START_TEST(test_ssh_stdin_from_host_timeout_leaves_nothing)
{
    char *tok;
    whelk_pipeline *p;
    whelk_error *e;

    NEED_SSHD();
    tok = new_token();
    /* stdin carries data: only the heartbeat can tell the session died */
    p = remotely(whelk_pipe(H("cat", "sleep:600000", "exit:0", tok), NULL),
                 ssh_remote("h2"));
    whelk_pipeline_stdin_bytes(p, "data\n", 5);
    whelk_pipeline_timeout(p, 1500);
    whelk_pipeline_kill_grace(p, 200);
    e = run_fail(p, WHELK_E_TIMEOUT);
    whelk_error_free(e);
    ck_assert_int_eq(gone_within(tok, 15000), 0);
    whelk_pipeline_free(p);
    free(tok);
}
END_TEST

START_TEST(test_ssh_kill_leaves_nothing_there)
{
    char *tok;
    whelk_pipeline *p;
    whelk_error *e = NULL;
    whelk_proc *pr;
    whelk_result *res;

    NEED_SSHD();
    tok = new_token();
    p = remotely(whelk_pipe(H("sleep:600000", "exit:0", tok), NULL),
                 ssh_remote("h3"));
    whelk_pipeline_kill_grace(p, 200);
    pr = whelk_start(p, &e);
    ck_assert_msg(pr != NULL, "%s", err_desc(e));
    ck_assert(appears_within(tok, 20000));
    ck_assert_int_eq(whelk_proc_kill(pr, SIGKILL), 0);
    res = whelk_proc_wait(pr, &e);
    ck_assert_ptr_null(res);
    /* the transport died: its own error, not the stage's */
    ck_assert_int_eq(whelk_error_kind(e), WHELK_E_TRANSPORT);
    ck_assert_int_eq(whelk_error_signal(e), SIGKILL);
    whelk_error_free(e);
    ck_assert_int_eq(gone_within(tok, 15000), 0);
    whelk_pipeline_free(p);
    free(tok);
}
END_TEST

/* Our control directories (whelk-ssh.*) under dir. */
static int ctl_dirs(const char *dir, char *found, size_t size)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "whelk-ssh.", 10) == 0) {
            n++;
            if (found)
                snprintf(found, size, "%s/%s", dir, e->d_name);
        }
    closedir(d);
    return n;
}

/* A killed host cannot free its remote: its control directory (in a
 * private XDG_RUNTIME_DIR) and master connection are cleaned up here. */
static void host_death_setup(char *xdg)
{
    ck_assert_ptr_nonnull(mkdtemp(xdg));
    setenv("XDG_RUNTIME_DIR", xdg, 1);
}

static void host_death_cleanup(const char *xdg, const char *dest)
{
    char ctl[512];

    if (ctl_dirs(xdg, ctl, sizeof ctl) == 1)
        sshd_sh("ssh -o ControlPath=%s/%%C -O exit %s >/dev/null 2>&1", ctl,
                dest);
    rm_rf(xdg);
}

START_TEST(test_ssh_host_death_leaves_nothing_there)
{
    char *tok, xdg[] = "/tmp/whelk-xdg.XXXXXX";
    pid_t host;
    int st;

    NEED_SSHD();
    tok = new_token();
    host_death_setup(xdg);
    host = fork();
    ck_assert_int_ge(host, 0);
    if (host == 0) {
        whelk_pipeline *p =
            remotely(whelk_pipe(H("sleep:600000", "exit:0", tok), NULL),
                     whelk_remote_ssh("h4"));
        whelk_pipeline_kill_grace(p, 200);
        whelk_result_free(whelk_run(p, NULL));
        _exit(0);
    }
    ck_assert(appears_within(tok, 20000));
    kill(host, SIGKILL);
    ck_assert_int_eq(waitpid(host, &st, 0), host);
    ck_assert_int_eq(gone_within(tok, 15000), 0);
    host_death_cleanup(xdg, "h4");
    free(tok);
}
END_TEST

START_TEST(test_ssh_host_death_with_host_stdin_leaves_nothing_there)
{
    char *tok, xdg[] = "/tmp/whelk-xdg.XXXXXX";
    pid_t host;
    int st;

    NEED_SSHD();
    tok = new_token();
    host_death_setup(xdg);
    host = fork();
    ck_assert_int_ge(host, 0);
    if (host == 0) {
        whelk_pipeline *p =
            remotely(whelk_pipe(H("cat", "sleep:600000", "exit:0", tok), NULL),
                     whelk_remote_ssh("h4"));
        /* the stdin's end is the data's: only the transport's own death
         * (it dies with the host) tells the far side */
        whelk_pipeline_stdin_bytes(p, "x\n", 2);
        whelk_pipeline_kill_grace(p, 200);
        whelk_result_free(whelk_run(p, NULL));
        _exit(0);
    }
    ck_assert(appears_within(tok, 20000));
    kill(host, SIGKILL);
    ck_assert_int_eq(waitpid(host, &st, 0), host);
    ck_assert_int_eq(gone_within(tok, 15000), 0);
    host_death_cleanup(xdg, "h4");
    free(tok);
}
END_TEST

START_TEST(test_ssh_unreachable_and_refused)
{
    whelk_pipeline *p;
    whelk_error *e;

    NEED_SSHD();
    p = remotely(whelk_pipe(H("out:x"), NULL), ssh_remote("dead"));
    e = run_fail(p, WHELK_E_TRANSPORT);
    ck_assert_int_eq(whelk_error_exit_code(e), 255);
    ck_assert_msg(contains(whelk_error_message(e), "dead") &&
                      contains(whelk_error_message(e), "refused"),
                  "%s", whelk_error_message(e));
    whelk_error_free(e);
    whelk_pipeline_free(p);
    p = remotely(whelk_pipe(H("out:x"), NULL), ssh_remote("nokey"));
    e = run_fail(p, WHELK_E_TRANSPORT);
    ck_assert_int_eq(whelk_error_exit_code(e), 255);
    ck_assert_msg(contains(whelk_error_message(e), "Permission denied"), "%s",
                  whelk_error_message(e));
    whelk_error_free(e);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_ssh_many_hosts_in_order)
{
    static const char *const hosts[] = {"h1", "h2", "dead", "h3", "h4"};
    whelk_pipeline *ps[5];
    whelk_result *res[5];
    whelk_error *errs[5];
    size_t i;

    NEED_SSHD();
    for (i = 0; i < 5; i++) {
        char *word = xasprintf("out:%s\\n", hosts[i]);
        ps[i] = remotely(whelk_pipe(H("sleep:100", word), H("cat"), NULL),
                         ssh_remote(hosts[i]));
        whelk_pipeline_timeout(ps[i], 30000);
        free(word);
    }
    ck_assert_uint_eq(whelk_run_many(ps, 5, 5, res, errs), 1);
    for (i = 0; i < 5; i++) {
        if (i == 2) {
            ck_assert_ptr_null(res[i]);
            ck_assert_int_eq(whelk_error_kind(errs[i]), WHELK_E_TRANSPORT);
        } else {
            char *want = xasprintf("%s\n", hosts[i]);
            ck_assert_msg(res[i] != NULL, "%s: %s", hosts[i],
                          err_desc(errs[i]));
            ck_assert_str_eq(whelk_result_stdout(res[i], NULL), want);
            free(want);
        }
        whelk_result_free(res[i]);
        whelk_error_free(errs[i]);
        whelk_pipeline_free(ps[i]);
    }
}
END_TEST

START_TEST(test_ssh_shares_one_connection)
{
    char xdg[] = "/tmp/whelk-xdg.XXXXXX", ctl[512];
    whelk_remote *r;
    whelk_pipeline *p;
    struct stat st;
    int i;

    NEED_SSHD();
    ck_assert_ptr_nonnull(mkdtemp(xdg));
    setenv("XDG_RUNTIME_DIR", xdg, 1);
    r = ssh_remote("h1");
    p = whelk_pipe(H("out:x"), NULL);
    whelk_pipeline_remote(p, r);
    for (i = 0; i < 3; i++) {
        whelk_result *res = run_ok(p);
        whelk_result_free(res);
    }
    ck_assert_int_eq(ctl_dirs(xdg, ctl, sizeof ctl), 1);
    ck_assert_int_eq(lstat(ctl, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    /* the master: one process named after our socket */
    ck_assert_int_eq(count_with_token(ctl), 1);
    whelk_remote_free(r); /* the pipeline still holds it */
    ck_assert_int_eq(ctl_dirs(xdg, NULL, 0), 1);
    whelk_pipeline_free(p); /* the last reference: master stopped, dir gone */
    ck_assert_int_eq(ctl_dirs(xdg, NULL, 0), 0);
    ck_assert_int_eq(gone_within(ctl, 10000), 0);
    rmdir(xdg);
}
END_TEST

START_TEST(test_ssh_user_sharing_is_respected)
{
    char xdg[] = "/tmp/whelk-xdg.XXXXXX", *sock_prefix;
    whelk_pipeline *p;
    whelk_result *res;

    NEED_SSHD();
    ck_assert_ptr_nonnull(mkdtemp(xdg));
    setenv("XDG_RUNTIME_DIR", xdg, 1);
    p = remotely(whelk_pipe(H("out:x"), NULL), ssh_remote("shared"));
    res = run_ok(p);
    ck_assert_str_eq(whelk_result_stdout(res, NULL), "x");
    whelk_result_free(res);
    whelk_pipeline_free(p);
    /* no directory of ours; the user's ControlPath was used */
    ck_assert_int_eq(ctl_dirs(xdg, NULL, 0), 0);
    sock_prefix = xasprintf("%s/user-", sshd.dir);
    ck_assert_int_eq(count_with_token(sock_prefix), 1);
    sshd_sh("ssh -O exit shared 2>/dev/null");
    free(sock_prefix);
    rmdir(xdg);
}
END_TEST

START_TEST(test_example_fleet_check_over_ssh)
{
    char *dir = xasprintf("%s", TEST_TMPDIR), *prog;
    whelk_pipeline *p;
    whelk_result *res;
    whelk_error *e = NULL;
    const char *out;

    NEED_SSHD();
    *strrchr(dir, '/') = '\0'; /* the build directory */
    prog = xasprintf("%s/examples/fleet_check", dir);
    p = whelk_pipe(whelk_cmd_new(prog, "h1", "dead", "h2", NULL), NULL);
    whelk_pipeline_check(p, 0);
    res = whelk_run(p, &e);
    ck_assert_msg(res != NULL, "%s", err_desc(e));
    out = whelk_result_stdout(res, NULL);
    /* the dead host fails alone, in its place */
    ck_assert_int_eq(whelk_result_exit_code(res, 0), 1);
    ck_assert_msg(contains(out, "h1 ") && contains(out, "% used\ndead ") &&
                      contains(out, "FAILED") && contains(out, "\nh2 "),
                  "%s", out);
    whelk_result_free(res);
    whelk_pipeline_free(p);
    free(prog);
    free(dir);
}
END_TEST

void remote_ssh(Suite *s)
{
    TCase *tc;

    tc = remote_tcase(s, "ssh", 0);
    tcase_add_test(tc, test_ssh_same_run);
    tcase_add_test(tc, test_ssh_statuses_and_notfound);
    tcase_add_test(tc, test_ssh_timeout_leaves_nothing_there);
    tcase_add_test(tc, test_ssh_stdin_from_host_timeout_leaves_nothing);
    tcase_add_test(tc, test_ssh_kill_leaves_nothing_there);
    tcase_add_test(tc, test_ssh_host_death_leaves_nothing_there);
    tcase_add_test(tc, test_ssh_host_death_with_host_stdin_leaves_nothing_there);
    tcase_add_test(tc, test_ssh_unreachable_and_refused);
    tcase_add_test(tc, test_ssh_many_hosts_in_order);
    tcase_add_test(tc, test_ssh_shares_one_connection);
    tcase_add_test(tc, test_ssh_user_sharing_is_respected);
    tcase_add_test(tc, test_example_fleet_check_over_ssh);
}
