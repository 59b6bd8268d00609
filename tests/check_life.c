/*
 * check_life.c -- the lifecycle suite (issue 5): timeouts and process
 * groups, the asynchronous whelk_proc handle driven from poll and epoll
 * loops, whelk_run_many, and robustness when the host is hostile: SIGCHLD
 * ignored, signals blocked or ignored, fds 0-2 closed, an argument too
 * big for exec, threads that fork children of their own, and descriptors
 * running out.
 *
 * Everything goes through the public API (whelk.h) against the helper
 * child tests/whelk-helper.  No test sleeps to synchronise: ordering comes
 * from the children's output, pidfds and the library's own blocking
 * calls.  Times are measured only as bounds: a deadline must not fire
 * early, and a killed run must come back within its deadline, its grace
 * period, the bounded drain and a generous slack.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* Slack added to every upper time bound (loaded machines, sanitizers). */
#define SLACK_MS 3500
/* The drain the library allows grandchildren after the kill (issue 5:
 * "about a second"). */
#define DRAIN_MS 1000

/* ------------------------------------------------------------ helpers */

#define ASSERT_STREAM(fn, r, want)                                           \
    do {                                                                     \
        size_t l_;                                                           \
        const char *s_ = fn((r), &l_);                                       \
        const char *w_ = (want);                                             \
        ck_assert_ptr_nonnull(s_);                                           \
        ck_assert_msg(l_ == strlen(w_) && memcmp(s_, w_, l_) == 0,           \
                      #fn " \"%s\" (%zu bytes), expected \"%s\"", s_, l_,    \
                      w_);                                                   \
        ck_assert(s_[l_] == '\0');                                           \
    } while (0)

#define ASSERT_FDS(before)                                                   \
    do {                                                                     \
        int now_ = count_open_fds();                                         \
        char *l_ = fd_list();                                                \
        ck_assert_msg(now_ == (before), "%d fds open, %d before: %s", now_, \
                      (before), l_ ? l_ : "?");                              \
        free(l_);                                                            \
    } while (0)

/* Lines given to a line callback, one "text\n" each, in order. */
typedef struct lines {
    char *text;
    size_t len, cap;
    int n;
    int bad;          /* a line came with an unexpected stage or stream */
    size_t stage;     /* the stage expected, or WHELK_NO_STAGE for any */
} lines;

static int collect_line(const whelk_line *l, void *ud)
{
    lines *c = ud;

    if (c->stage != WHELK_NO_STAGE && l->stage != c->stage)
        c->bad++;
    if (c->len + l->len + 2 > c->cap) {
        size_t cap = (c->cap + l->len + 2) * 2;
        char *t = realloc(c->text, cap);
        if (!t) {
            c->bad++;
            return 0;
        }
        c->text = t;
        c->cap = cap;
    }
    memcpy(c->text + c->len, l->text, l->len);
    c->len += l->len;
    c->text[c->len++] = '\n';
    c->text[c->len] = '\0';
    c->n++;
    return 0;
}

static void lines_init(lines *c, size_t stage)
{
    memset(c, 0, sizeof *c);
    c->stage = stage;
}

/* Must the lines be exactly "line 1\n".."line n\n"? */
static void assert_lines_1_to_n(const lines *c, long n)
{
    size_t len;
    char *want = lines_text(n, &len);

    ck_assert_ptr_nonnull(want);
    ck_assert_msg(c->n == n, "%d lines, expected %ld", c->n, n);
    ck_assert_msg(c->len == len && memcmp(c->text, want, len) == 0,
                  "the lines differ from line 1..line %ld", n);
    ck_assert_int_eq(c->bad, 0);
    free(want);
}

/* Process facts read from /proc/<pid>/stat. */
typedef struct procinfo {
    pid_t pid, ppid, pgrp;
    char state;
} procinfo;

/* Calls fn for every process on the system; stops when fn returns 1. */
static int scan_procs(int (*fn)(const procinfo *, void *), void *ctx)
{
    DIR *d = opendir("/proc");
    struct dirent *e;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[1024];
        const char *rp;
        procinfo pi;
        long ppid, pgrp;
        ssize_t len;
        int fd;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0)
            continue;
        buf[len] = '\0';
        rp = strrchr(buf, ')');
        if (!rp || sscanf(rp + 1, " %c %ld %ld", &pi.state, &ppid, &pgrp) != 3)
            continue;
        pi.pid = (pid_t)atol(e->d_name);
        pi.ppid = (pid_t)ppid;
        pi.pgrp = (pid_t)pgrp;
        if (fn(&pi, ctx)) {
            closedir(d);
            return 1;
        }
    }
    closedir(d);
    return 0;
}

typedef struct members {
    pid_t pgrp;
    pid_t pids[64];
    pid_t ppids[64];
    int n;
} members;

static int add_member(const procinfo *pi, void *ctx)
{
    members *m = ctx;

    if (pi->pgrp == m->pgrp && m->n < 64) {
        m->pids[m->n] = pi->pid;
        m->ppids[m->n++] = pi->ppid;
    }
    return 0;
}

static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/*
 * After a run that timed out: every process of the process group pgid
 * must be dead.  This test process is a child subreaper, so orphaned
 * grandchildren are its own children: each member left in the group must
 * be ours, must terminate by a signal within a short bound (the library
 * has already sent it; delivery is asynchronous), and is reaped here.
 * Then kill(-pgid, 0) must fail with ESRCH.  Returns how many members
 * were found (grandchildren the library killed, not yet reaped).
 */
static int assert_group_dead(pid_t pgid)
{
    members m;
    int i;

    memset(&m, 0, sizeof m);
    m.pgrp = pgid;
    ck_assert_int_ge(scan_procs(add_member, &m), 0);
    for (i = 0; i < m.n; i++) {
        struct pollfd pfd;
        int st = 0, fd;

        ck_assert_msg(m.ppids[i] == getpid(),
                      "process %d of group %d has parent %d, not this "
                      "test (a subreaper)",
                      (int)m.pids[i], (int)pgid, (int)m.ppids[i]);
        fd = pidfd_open_(m.pids[i]);
        ck_assert_msg(fd >= 0, "pidfd_open(%d): %s", (int)m.pids[i],
                      strerror(errno));
        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        ck_assert_msg(poll(&pfd, 1, 3000) == 1,
                      "process %d of the timed-out group %d is still "
                      "running 3 s after the run returned",
                      (int)m.pids[i], (int)pgid);
        close(fd);
        ck_assert_int_eq(waitpid(m.pids[i], &st, 0), m.pids[i]);
        ck_assert_msg(WIFSIGNALED(st) && (WTERMSIG(st) == SIGTERM ||
                                          WTERMSIG(st) == SIGKILL),
                      "grandchild %d ended with status 0x%x, expected "
                      "death by SIGTERM or SIGKILL",
                      (int)m.pids[i], st);
    }
    errno = 0;
    ck_assert_msg(kill(-pgid, 0) < 0 && errno == ESRCH,
                  "kill(-%d, 0): the group still exists (errno %d)",
                  (int)pgid, errno);
    return m.n;
}

static void become_subreaper(void)
{
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
}

/* A pipeline of the helper with the given actions (strings). */
#define HPIPE(...) helper_pipe(__VA_ARGS__, (const char *)NULL)
#define HCMD(...) helper_cmd(__VA_ARGS__, (const char *)NULL)

/* ============================================================ timeouts */

START_TEST(test_timeout_keeps_output)
{
    whelk_pipeline *p = HPIPE("out:before\\n", "err:partial\\n", "sleep:30000");
    const whelk_result *res;
    whelk_error *err;
    int64_t t0, dt;

    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 200);
    t0 = now_ms();
    err = run_fail(p, WHELK_E_TIMEOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 300, "returned after %lld ms, before the deadline",
                  (long long)dt);
    ck_assert_msg(dt < 300 + 200 + DRAIN_MS + SLACK_MS,
                  "returned after %lld ms", (long long)dt);
    ck_assert_int_eq(whelk_error_errno(err), ETIMEDOUT);
    /* the first stage still running at the deadline, with the status the
     * kill gave it (DESIGN: "A timeout or an abort names a stage") */
    ck_assert_msg(whelk_error_stage(err) == 0,
                  "a timeout names the running stage, got %zu",
                  whelk_error_stage(err));
    ck_assert_int_eq(whelk_error_signal(err), SIGTERM);
    ck_assert_msg(contains(whelk_error_message(err), "timed out"), "%s",
                  whelk_error_message(err));
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    ck_assert_int_eq(whelk_result_ncmds(res), 1);
    ASSERT_STDOUT(res, "before\n");
    ASSERT_STDERR(res, "partial\n");
    /* the helper does not ignore SIGTERM: the first signal ends it */
    ck_assert_int_eq(whelk_result_signal(res, 0), SIGTERM);
    ck_assert_int_eq(whelk_result_exit_code(res, 0), -1);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* Output read before the deadline reaches a line callback too, and lines
 * and capture agree. */
START_TEST(test_timeout_lines_before_deadline)
{
    whelk_pipeline *p = HPIPE("lines:1000", "out:partial", "sleep:30000");
    const whelk_result *res;
    whelk_error *err;
    lines got;
    size_t len;
    char *want = lines_text(1000, &len);

    lines_init(&got, 0);
    whelk_pipeline_on_line(p, WHELK_STDOUT, collect_line, &got);
    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 200);
    err = run_fail(p, WHELK_E_TIMEOUT);
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    /* every line, and the last one without its newline */
    ck_assert_int_eq(got.n, 1001);
    ck_assert(memcmp(got.text, want, len) == 0);
    ck_assert_str_eq(got.text + len, "partial\n");
    want = realloc(want, len + 8);
    memcpy(want + len, "partial", 8);
    ASSERT_STDOUT(res, want);
    free(want);
    free(got.text);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* A run that ends well before its deadline is not affected by it. */
START_TEST(test_timeout_not_reached)
{
    whelk_pipeline *p = HPIPE("out:quick\\n", "exit:0");
    whelk_result *r;
    int64_t t0 = now_ms();

    whelk_pipeline_timeout(p, 20000);
    r = run_ok(p);
    ck_assert_msg(now_ms() - t0 < 10000, "a quick run waited for its timeout");
    ASSERT_STDOUT(r, "quick\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

/*
 * Grandchildren in the group: `sh -c 'sleep 30 & wait'` and friends.  The
 * run returns within deadline + grace + drain + slack whatever the
 * children do, and nothing of the group survives it.
 */
static void check_grandchild(const char *const *actions, size_t nact,
                             int term_ignored, int min_orphans)
{
    whelk_cmd *cmd = whelk_cmd_new(HELPER, "pgid", "out:started\\n",
                                   (const char *)NULL);
    whelk_pipeline *p;
    whelk_proc *pr;
    whelk_error *err = NULL;
    whelk_result *r;
    const whelk_result *res;
    char want[64];
    pid_t pgid;
    int64_t t0, dt, floor_ms = term_ignored ? 300 + 200 : 300;
    int orphans;
    size_t i;

    for (i = 0; i < nact; i++)
        whelk_cmd_arg(cmd, actions[i]);
    p = whelk_pipe(cmd, (whelk_cmd *)NULL);
    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 200);
    t0 = now_ms();
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    pgid = whelk_proc_pid(pr, 0);
    ck_assert_int_gt(pgid, 0);
    r = whelk_proc_wait(pr, &err);
    dt = now_ms() - t0;
    ck_assert_msg(r == NULL && whelk_error_kind(err) == WHELK_E_TIMEOUT,
                  "expected a timeout, got %s", err_desc(err));
    ck_assert_msg(dt >= floor_ms, "returned after %lld ms, before %lld ms",
                  (long long)dt, (long long)floor_ms);
    ck_assert_msg(dt < 300 + 200 + DRAIN_MS + SLACK_MS,
                  "a timed-out run returned after %lld ms", (long long)dt);
    /* stage 0 led its own group, and its output was kept */
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    snprintf(want, sizeof want, "%d\nstarted\n", (int)pgid);
    ASSERT_STDOUT(res, want);
    orphans = assert_group_dead(pgid);
    ck_assert_msg(orphans >= min_orphans && orphans <= 1,
                  "%d grandchildren found in the group", orphans);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}

START_TEST(test_timeout_grandchild_sleeping_parent)
{
    static const char *const a[] = {"fork-sleep:30000", "sleep:30000"};

    become_subreaper();
    check_grandchild(a, 2, 0, 1);
}
END_TEST

START_TEST(test_timeout_grandchild_waiting_parent)
{
    /* sh -c 'sleep 30 & wait' */
    static const char *const a[] = {"fork-sleep:30000", "wait-children"};

    /* the parent may reap its child before it dies itself */
    become_subreaper();
    check_grandchild(a, 2, 0, 0);
}
END_TEST

START_TEST(test_timeout_grandchild_holds_pipe)
{
    /* the stage exits at once; its grandchild keeps stdout and stderr */
    static const char *const a[] = {"fork-sleep:30000", "exit:0"};

    become_subreaper();
    check_grandchild(a, 2, 0, 1);
}
END_TEST

START_TEST(test_timeout_grandchild_ignores_term)
{
    /* trap '' TERM; sleep 30 & wait -- only SIGKILL ends them */
    static const char *const a[] = {"ignore:TERM", "fork-sleep:30000",
                                    "sleep:30000"};

    become_subreaper();
    check_grandchild(a, 3, 1, 1);
}
END_TEST

START_TEST(test_timeout_grandchild_ignores_term_orphan)
{
    /* the stage is gone; its grandchild ignores SIGTERM and holds the pipe */
    static const char *const a[] = {"ignore:TERM", "fork-sleep:30000",
                                    "exit:0"};

    become_subreaper();
    check_grandchild(a, 3, 1, 1);
}
END_TEST

/* A stage that ignores SIGTERM is killed with SIGKILL after the grace. */
START_TEST(test_timeout_sigkill_after_grace)
{
    whelk_pipeline *p = HPIPE("ignore:TERM", "out:ready\\n", "sleep:30000");
    const whelk_result *res;
    whelk_error *err;
    int64_t t0, dt;

    /* a long deadline so the helper has ignored SIGTERM by then */
    whelk_pipeline_timeout(p, 1000);
    whelk_pipeline_kill_grace(p, 200);
    t0 = now_ms();
    err = run_fail(p, WHELK_E_TIMEOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 1000 + 200, "SIGKILL before the grace ran out: %lld ms",
                  (long long)dt);
    ck_assert_msg(dt < 1000 + 200 + DRAIN_MS + SLACK_MS, "returned after %lld ms",
                  (long long)dt);
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    ck_assert_int_eq(whelk_result_signal(res, 0), SIGKILL);
    ASSERT_STDOUT(res, "ready\n");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* whelk_pipeline_kill_grace: the SIGKILL comes no earlier than the grace
 * after the deadline, and not much later. */
static int64_t timed_kill(unsigned timeout, int grace)
{
    whelk_pipeline *p = HPIPE("ignore:TERM", "sleep:30000");
    const whelk_result *res;
    whelk_error *err;
    int64_t t0, dt;

    whelk_pipeline_timeout(p, timeout);
    if (grace >= 0)
        whelk_pipeline_kill_grace(p, (unsigned)grace);
    t0 = now_ms();
    err = run_fail(p, WHELK_E_TIMEOUT);
    dt = now_ms() - t0;
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    ck_assert_int_eq(whelk_result_signal(res, 0), SIGKILL);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
    return dt;
}

START_TEST(test_kill_grace_short)
{
    int64_t dt = timed_kill(500, 100);

    ck_assert_msg(dt >= 600, "SIGKILL after %lld ms, before 500 + 100",
                  (long long)dt);
    /* the default grace (2000 ms) would take at least 2500 ms */
    ck_assert_msg(dt < 2300, "a 100 ms grace took %lld ms", (long long)dt);
}
END_TEST

START_TEST(test_kill_grace_long)
{
    int64_t dt = timed_kill(300, 2500);

    ck_assert_msg(dt >= 2800, "SIGKILL after %lld ms, before 300 + 2500",
                  (long long)dt);
    ck_assert_msg(dt < 2800 + DRAIN_MS + SLACK_MS, "took %lld ms",
                  (long long)dt);
}
END_TEST

START_TEST(test_kill_grace_default)
{
    int64_t dt = timed_kill(300, -1);

    ck_assert_msg(dt >= 2300, "SIGKILL after %lld ms, before 300 + 2000",
                  (long long)dt);
    ck_assert_msg(dt < 2300 + DRAIN_MS + SLACK_MS, "took %lld ms",
                  (long long)dt);
}
END_TEST

START_TEST(test_kill_grace_zero)
{
    int64_t dt = timed_kill(300, 0);

    ck_assert_msg(dt >= 300, "returned after %lld ms", (long long)dt);
    ck_assert_msg(dt < 300 + 1500, "a zero grace took %lld ms",
                  (long long)dt);
}
END_TEST

/* Every stage of a pipeline is in the group and is killed. */
START_TEST(test_timeout_pipeline)
{
    whelk_pipeline *p = whelk_pipe(HCMD("out:a\\n", "sleep:30000"),
                                   HCMD("cat"),
                                   HCMD("ignore:TERM", "cat", "sleep:30000"),
                                   (whelk_cmd *)NULL);
    const whelk_result *res;
    whelk_error *err;
    int64_t t0 = now_ms(), dt;

    whelk_pipeline_timeout(p, 1000);
    whelk_pipeline_kill_grace(p, 200);
    err = run_fail(p, WHELK_E_TIMEOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 1000 + 200, "returned after %lld ms", (long long)dt);
    ck_assert_msg(dt < 1200 + DRAIN_MS + SLACK_MS, "took %lld ms",
                  (long long)dt);
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    ck_assert_int_eq(whelk_result_ncmds(res), 3);
    ck_assert_int_eq(whelk_result_signal(res, 0), SIGTERM);
    ck_assert_int_eq(whelk_result_signal(res, 1), SIGTERM);
    ck_assert_int_eq(whelk_result_signal(res, 2), SIGKILL);
    /* "a\n" went through two cats before the deadline */
    ASSERT_STDOUT(res, "a\n");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* ======================================================== the handle */

/* Drives pr from a poll() loop on whelk_proc_fd until it finishes;
 * returns how many times poll woke up. */
static int drive_poll(whelk_proc *pr)
{
    int fd = whelk_proc_fd(pr), wakeups = 0;

    ck_assert_int_ge(fd, 0);
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int rc = poll(&pfd, 1, 20000);

        ck_assert_msg(rc == 1, "poll on whelk_proc_fd: %d (no progress in 20 s)",
                      rc);
        wakeups++;
        ck_assert_msg(wakeups < 1000000, "the loop never finishes");
        if (whelk_proc_step(pr, 0) == 1)
            return wakeups;
    }
}

/* The same from an epoll loop. */
static int drive_epoll(whelk_proc *pr)
{
    int fd = whelk_proc_fd(pr), ep = epoll_create1(EPOLL_CLOEXEC), wakeups = 0;
    struct epoll_event ev;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(ep, 0);
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = pr;
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    for (;;) {
        struct epoll_event got;
        int rc = epoll_wait(ep, &got, 1, 20000);

        ck_assert_msg(rc == 1, "epoll_wait: %d (no progress in 20 s)", rc);
        ck_assert_ptr_eq(got.data.ptr, pr);
        wakeups++;
        ck_assert_msg(wakeups < 1000000, "the loop never finishes");
        if (whelk_proc_step(pr, 0) == 1)
            break;
    }
    close(ep);
    return wakeups;
}

static void check_event_loop(int use_epoll)
{
    whelk_pipeline *p = whelk_pipe(HCMD("lines:500", "errlines:3", "exit:0"),
                                   HCMD("cat", "err:done\\n"),
                                   (whelk_cmd *)NULL);
    lines out;
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;
    int fds = count_open_fds();

    lines_init(&out, 1);
    ck_assert_ptr_nonnull(p);
    whelk_pipeline_on_line(p, WHELK_STDOUT, collect_line, &out);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    if (use_epoll)
        drive_epoll(pr);
    else
        drive_poll(pr);
    /* the callbacks fired from whelk_proc_step, before the wait */
    assert_lines_1_to_n(&out, 500);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "run failed: %s", err_desc(err));
    ck_assert_int_eq(out.n, 500);
    ASSERT_STDERR(r, "line 1\nline 2\nline 3\ndone\n");
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 0);
    ck_assert_int_eq(whelk_result_exit_code(r, 1), 0);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    free(out.text);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
}

START_TEST(test_proc_poll_loop)
{
    check_event_loop(0);
}
END_TEST

START_TEST(test_proc_epoll_loop)
{
    check_event_loop(1);
}
END_TEST

/*
 * The descriptor is readable when step has work to do, not all the time:
 * an event loop must not spin while a run waits on a quiet child.  The
 * first stage (the group leader) exits at once, the second runs 600 ms in
 * silence.  A loop that wakes only for events wakes a handful of times.
 */
static void check_no_spin(int use_epoll, int pgroup)
{
    whelk_pipeline *p = whelk_pipe(HCMD("exit:0"),
                                   HCMD("sleep:600", "out:done\\n"),
                                   (whelk_cmd *)NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;
    int wakeups;

    whelk_pipeline_pgroup(p, pgroup);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    wakeups = use_epoll ? drive_epoll(pr) : drive_poll(pr);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "run failed: %s", err_desc(err));
    ASSERT_STDOUT(r, "done\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    ck_assert_msg(wakeups < 100,
                  "the event loop woke %d times for a run with 3 events: "
                  "whelk_proc_fd stays readable with nothing to do",
                  wakeups);
}

START_TEST(test_proc_fd_no_spin_poll)
{
    check_no_spin(0, 1);
}
END_TEST

START_TEST(test_proc_fd_no_spin_epoll)
{
    check_no_spin(1, 1);
}
END_TEST

START_TEST(test_proc_fd_no_spin_no_pgroup)
{
    check_no_spin(0, 0);
}
END_TEST

/* A quiet single stage: data, a pause, data, exit. */
START_TEST(test_proc_fd_quiet_child)
{
    whelk_pipeline *p = HPIPE("out:a\\n", "sleep:400", "out:b\\n");
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr = whelk_start(p, &err);
    int wakeups;

    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    wakeups = drive_poll(pr);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "run failed: %s", err_desc(err));
    ASSERT_STDOUT(r, "a\nb\n");
    ck_assert_msg(wakeups < 100, "woke %d times", wakeups);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

/* A deadline is an event of the descriptor too: a run that times out is
 * driven to its end by the loop alone. */
START_TEST(test_proc_fd_timeout_event)
{
    whelk_pipeline *p = HPIPE("out:x\\n", "sleep:30000");
    whelk_error *err = NULL;
    whelk_proc *pr;
    int64_t t0 = now_ms(), dt;
    int wakeups;

    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 200);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    wakeups = drive_epoll(pr);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 300 && dt < 300 + 200 + DRAIN_MS + SLACK_MS,
                  "finished after %lld ms", (long long)dt);
    ck_assert_msg(wakeups < 100, "woke %d times", wakeups);
    ck_assert_ptr_null(whelk_proc_wait(pr, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_TIMEOUT);
    ASSERT_STDOUT(whelk_error_result(err), "x\n");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* Driving with whelk_proc_step's own timeout, no descriptor. */
START_TEST(test_proc_step_blocking)
{
    whelk_pipeline *p = HPIPE("lines:2000", "exit:4");
    lines got;
    whelk_error *err = NULL;
    whelk_proc *pr;
    int rc, steps = 0;

    lines_init(&got, 0);
    whelk_pipeline_on_line(p, WHELK_STDOUT, collect_line, &got);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    while ((rc = whelk_proc_step(pr, -1)) == 0)
        ck_assert_int_lt(++steps, 100000);
    ck_assert_int_eq(rc, 1);
    /* finished stays finished */
    ck_assert_int_eq(whelk_proc_step(pr, 0), 1);
    ck_assert_int_eq(whelk_proc_step(pr, -1), 1);
    assert_lines_1_to_n(&got, 2000);
    ck_assert_ptr_null(whelk_proc_wait(pr, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_EXIT);
    ck_assert_int_eq(whelk_error_exit_code(err), 4);
    whelk_error_free(err);
    free(got.text);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* Five runs driven from one poll loop, each with its own callback. */
#define NRUNS 5
START_TEST(test_proc_several_in_one_loop)
{
    whelk_pipeline *p[NRUNS];
    whelk_proc *pr[NRUNS];
    lines got[NRUNS];
    int done[NRUNS], left = NRUNS, i, fds = count_open_fds();

    for (i = 0; i < NRUNS; i++) {
        char n[32], sl[32], ex[32];
        whelk_error *err = NULL;

        snprintf(n, sizeof n, "lines:%d", 100 * (i + 1));
        snprintf(sl, sizeof sl, "sleep:%d", 50 * (NRUNS - i));
        snprintf(ex, sizeof ex, "exit:%d", i);
        p[i] = whelk_pipe(HCMD(sl, n, ex), (whelk_cmd *)NULL);
        whelk_pipeline_check(p[i], 0);
        lines_init(&got[i], 0);
        whelk_pipeline_on_line(p[i], WHELK_STDOUT, collect_line, &got[i]);
        pr[i] = whelk_start(p[i], &err);
        ck_assert_msg(pr[i] != NULL, "start %d failed: %s", i, err_desc(err));
        done[i] = 0;
    }
    while (left) {
        struct pollfd pfd[NRUNS];
        int map[NRUNS], n = 0, rc;

        for (i = 0; i < NRUNS; i++) {
            if (done[i])
                continue;
            pfd[n].fd = whelk_proc_fd(pr[i]);
            ck_assert_int_ge(pfd[n].fd, 0);
            pfd[n].events = POLLIN;
            pfd[n].revents = 0;
            map[n++] = i;
        }
        rc = poll(pfd, (nfds_t)n, 20000);
        ck_assert_msg(rc > 0, "no progress in 20 s");
        for (i = 0; i < n; i++)
            if (pfd[i].revents && whelk_proc_step(pr[map[i]], 0) == 1) {
                done[map[i]] = 1;
                left--;
            }
    }
    for (i = 0; i < NRUNS; i++) {
        whelk_error *err = NULL;
        whelk_result *r;

        assert_lines_1_to_n(&got[i], 100 * (i + 1));
        r = whelk_proc_wait(pr[i], &err);
        ck_assert_msg(r != NULL, "run %d failed: %s", i, err_desc(err));
        ck_assert_int_eq(whelk_result_exit_code(r, 0), i);
        whelk_result_free(r);
        whelk_pipeline_free(p[i]);
        free(got[i].text);
    }
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
}
END_TEST

static int flag_line(const whelk_line *l, void *ud)
{
    (void)l;
    ++*(int *)ud;
    return 0;
}

/* Steps pr until the flag is set by a line callback. */
static void step_until(whelk_proc *pr, const int *flag)
{
    int64_t end = now_ms() + 20000;

    while (!*flag) {
        ck_assert_msg(now_ms() < end, "no line in 20 s");
        ck_assert_int_eq(whelk_proc_step(pr, 1000), 0);
    }
}

START_TEST(test_proc_kill_term)
{
    whelk_pipeline *p = whelk_pipe(HCMD("out:ready\\n", "sleep:30000"),
                                   HCMD("cat"), (whelk_cmd *)NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    const whelk_result *res;
    whelk_proc *pr;
    int ready = 0;
    int64_t t0 = now_ms();

    whelk_pipeline_on_line(p, WHELK_STDOUT, flag_line, &ready);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    step_until(pr, &ready);
    ck_assert_int_eq(whelk_proc_kill(pr, SIGTERM), 0);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(now_ms() - t0 < 10000, "the killed run took %lld ms",
                  (long long)(now_ms() - t0));
    ck_assert_ptr_null(r);
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_SIGNAL, "got %s",
                  err_desc(err));
    ck_assert_int_eq(whelk_error_signal(err), SIGTERM);
    ck_assert_int_eq(whelk_error_stage(err), 0);
    res = whelk_error_result(err);
    ck_assert_ptr_nonnull(res);
    ck_assert_int_eq(whelk_result_signal(res, 0), SIGTERM);
    ck_assert_int_eq(whelk_result_signal(res, 1), SIGTERM);
    ASSERT_STDOUT(res, "ready\n");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* Without a process group, kill reaches every stage one by one. */
START_TEST(test_proc_kill_no_pgroup)
{
    whelk_pipeline *p = whelk_pipe(HCMD("out:ready\\n", "sleep:30000"),
                                   HCMD("cat"), (whelk_cmd *)NULL);
    whelk_error *err = NULL;
    const whelk_result *res;
    whelk_proc *pr;
    int ready = 0;

    whelk_pipeline_pgroup(p, 0);
    whelk_pipeline_on_line(p, WHELK_STDOUT, flag_line, &ready);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    step_until(pr, &ready);
    ck_assert_int_eq(whelk_proc_kill(pr, SIGUSR1), 0);
    ck_assert_ptr_null(whelk_proc_wait(pr, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_SIGNAL);
    res = whelk_error_result(err);
    ck_assert_int_eq(whelk_result_signal(res, 0), SIGUSR1);
    ck_assert_int_eq(whelk_result_signal(res, 1), SIGUSR1);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* Kill after the stages are reaped returns 0 and harms nothing: neither
 * this process, nor its group, nor another child of the host. */
static void check_kill_after_reap(int pgroup)
{
    whelk_pipeline *p = HPIPE("out:x\\n", "exit:0");
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr;
    int gate[2], st = 0, rc;
    pid_t sentinel;

    whelk_pipeline_pgroup(p, pgroup);
    ck_assert_int_eq(pipe2(gate, O_CLOEXEC), 0);
    sentinel = fork();
    ck_assert_int_ge(sentinel, 0);
    if (sentinel == 0) {
        char c;
        close(gate[1]);
        _exit(read(gate[0], &c, 1) == 1 ? 7 : 8);
    }
    close(gate[0]);
    pr = whelk_start(p, &err);
    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    while ((rc = whelk_proc_step(pr, -1)) == 0)
        ;
    ck_assert_int_eq(rc, 1);
    /* the stage is reaped: its pid may belong to anyone now */
    ck_assert_int_eq(whelk_proc_kill(pr, SIGTERM), 0);
    ck_assert_int_eq(whelk_proc_kill(pr, SIGKILL), 0);
    ck_assert_int_eq(whelk_proc_kill(pr, 0), 0);
    ck_assert_int_eq(write(gate[1], "g", 1), 1);
    close(gate[1]);
    ck_assert_int_eq(waitpid(sentinel, &st, 0), sentinel);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 7,
                  "the host's own child was hit: status 0x%x", st);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "run failed: %s", err_desc(err));
    ASSERT_STDOUT(r, "x\n");
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 0);
    ck_assert_int_eq(whelk_result_signal(r, 0), 0);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}

START_TEST(test_proc_kill_after_reap)
{
    check_kill_after_reap(1);
}
END_TEST

START_TEST(test_proc_kill_after_reap_no_pgroup)
{
    check_kill_after_reap(0);
}
END_TEST

START_TEST(test_proc_pid)
{
    whelk_pipeline *p = whelk_pipe(HCMD("pid", "pgid"), HCMD("cat"),
                                   (whelk_cmd *)NULL);
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_proc *pr = whelk_start(p, &err);
    pid_t a, b;
    char want[64];

    ck_assert_msg(pr != NULL, "start failed: %s", err_desc(err));
    a = whelk_proc_pid(pr, 0);
    b = whelk_proc_pid(pr, 1);
    ck_assert_int_gt(a, 0);
    ck_assert_int_gt(b, 0);
    ck_assert_int_ne(a, b);
    ck_assert_int_eq(whelk_proc_pid(pr, 2), -1);
    ck_assert_int_eq(whelk_proc_pid(pr, (size_t)-1), -1);
    ck_assert_int_eq(whelk_proc_pid(pr, WHELK_NO_STAGE), -1);
    ck_assert_int_eq(whelk_proc_pid(NULL, 0), -1);
    r = whelk_proc_wait(pr, &err);
    ck_assert_msg(r != NULL, "run failed: %s", err_desc(err));
    /* the pid reported is the child's own; stage 0 leads the group */
    snprintf(want, sizeof want, "%d\n%d\n", (int)a, (int)a);
    ASSERT_STDOUT(r, want);
    whelk_result_free(r);
    whelk_pipeline_free(p);
}
END_TEST

START_TEST(test_proc_null_handle)
{
    whelk_error *err = NULL;

    ck_assert_int_eq(whelk_proc_step(NULL, 0), -1);
    ck_assert_int_eq(whelk_proc_fd(NULL), -1);
    ck_assert_int_ne(whelk_proc_kill(NULL, SIGTERM), 0);
    ck_assert_ptr_null(whelk_proc_wait(NULL, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_INVALID);
    whelk_error_free(err);
    err = NULL;
    ck_assert_ptr_null(whelk_start(NULL, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_INVALID);
    whelk_error_free(err);
}
END_TEST

/* A start that fails leaves nothing behind and calls the hooks. */
START_TEST(test_proc_start_fails)
{
    whelk_pipeline *p = whelk_pipe(HCMD("sleep:30000"),
                                   whelk_cmd_new("whelk-no-such-program-7",
                                                 (const char *)NULL),
                                   (whelk_cmd *)NULL);
    whelk_error *err = NULL;
    int fds = count_open_fds();

    ck_assert_ptr_null(whelk_start(p, &err));
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_NOTFOUND);
    ck_assert_int_eq(whelk_error_stage(err), 1);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* whelk_pipeline_free after a finished, waited handle, and the handle's
 * descriptor is gone with it. */
START_TEST(test_proc_fd_closed_by_wait)
{
    whelk_pipeline *p = HPIPE("out:x\\n");
    whelk_error *err = NULL;
    whelk_proc *pr;
    int fd, fds = count_open_fds();

    pr = whelk_start(p, &err);
    ck_assert_ptr_nonnull(pr);
    fd = whelk_proc_fd(pr);
    ck_assert_int_ge(fd, 3);
    ck_assert_int_eq(whelk_proc_fd(pr), fd); /* the same each time */
    ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    whelk_result_free(whelk_proc_wait(pr, &err));
    ck_assert_ptr_null(err);
    ASSERT_FDS(fds);
    whelk_pipeline_free(p);
}
END_TEST

/* ========================================================= run_many */

typedef struct flight {
    int inflight, max_inflight, starts, exits;
    int max_children; /* children alive when a run starts */
} flight;

static void on_start_count(const whelk_pipeline *p, void *ud)
{
    flight *f = ud;
    int c = count_children();

    (void)p;
    if (c > f->max_children)
        f->max_children = c;
    f->starts++;
    if (++f->inflight > f->max_inflight)
        f->max_inflight = f->inflight;
}

static int on_exit_count(const whelk_result *r, const whelk_error *e,
                         void *ud)
{
    flight *f = ud;

    (void)r;
    (void)e;
    f->exits++;
    f->inflight--;
    return 0;
}

#define NMANY 20
START_TEST(test_run_many_order_and_limit)
{
    whelk_pipeline *p[NMANY];
    whelk_result *res[NMANY];
    whelk_error *errs[NMANY];
    flight f;
    size_t failed;
    int i, fds = count_open_fds();

    memset(&f, 0, sizeof f);
    for (i = 0; i < NMANY; i++) {
        char out[32], sl[32], ex[32];

        if (i == 7) {
            p[i] = whelk_pipe(whelk_cmd_new("whelk-no-such-program-7",
                                            (const char *)NULL),
                              (whelk_cmd *)NULL);
        } else {
            snprintf(out, sizeof out, "out:%d\\n", i);
            /* later pipelines finish first: order must come from input */
            snprintf(sl, sizeof sl, "sleep:%d", (NMANY - i) * 5);
            snprintf(ex, sizeof ex, "exit:%d", i % 5 == 0 ? 3 : 0);
            p[i] = HPIPE(out, sl, ex);
        }
        whelk_pipeline_on_start(p[i], on_start_count, &f);
        whelk_pipeline_on_exit(p[i], on_exit_count, &f);
        res[i] = (whelk_result *)&f; /* must be overwritten */
        errs[i] = (whelk_error *)&f;
    }
    failed = whelk_run_many(p, NMANY, 4, res, errs);
    ck_assert_int_eq(failed, 5); /* 0, 5, 10, 15 exit 3; 7 is not found */
    ck_assert_int_eq(f.starts, NMANY);
    ck_assert_int_eq(f.exits, NMANY);
    ck_assert_int_eq(f.inflight, 0);
    ck_assert_msg(f.max_inflight == 4, "at most %d in flight, expected 4",
                  f.max_inflight);
    ck_assert_msg(f.max_children <= 3,
                  "%d children alive when another run started (limit 4)",
                  f.max_children);
    for (i = 0; i < NMANY; i++) {
        char want[32];

        snprintf(want, sizeof want, "%d\n", i);
        if (i == 7) {
            ck_assert_ptr_null(res[i]);
            ck_assert_msg(whelk_error_kind(errs[i]) == WHELK_E_NOTFOUND,
                          "pipeline 7: %s", err_desc(errs[i]));
        } else if (i % 5 == 0) {
            ck_assert_ptr_null(res[i]);
            ck_assert_msg(whelk_error_kind(errs[i]) == WHELK_E_EXIT,
                          "pipeline %d: %s", i, err_desc(errs[i]));
            ck_assert_int_eq(whelk_error_exit_code(errs[i]), 3);
            ASSERT_STDOUT(whelk_error_result(errs[i]), want);
        } else {
            ck_assert_msg(res[i] != NULL && errs[i] == NULL,
                          "pipeline %d: %s", i, err_desc(errs[i]));
            ASSERT_STDOUT(res[i], want);
        }
        whelk_result_free(res[i]);
        whelk_error_free(errs[i]);
        whelk_pipeline_free(p[i]);
    }
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* max_parallel 0 means 1: one at a time. */
/* Every start fails (programs that do not exist): the outcomes come back
 * at once, in order, and nothing is left waiting. */
START_TEST(test_run_many_all_fail_to_start)
{
    whelk_pipeline *ps[5];
    whelk_result *rs[5];
    whelk_error *es[5];
    size_t i, failed;

    for (i = 0; i < 5; i++)
        ps[i] = whelk_pipe(whelk_cmd_new("whelk-no-such-program-xyz",
                                         (const char *)NULL),
                           (whelk_cmd *)NULL);
    failed = whelk_run_many(ps, 5, 2, rs, es);
    ck_assert_uint_eq(failed, 5);
    for (i = 0; i < 5; i++) {
        ck_assert_ptr_null(rs[i]);
        ck_assert_int_eq(whelk_error_kind(es[i]), WHELK_E_NOTFOUND);
        whelk_error_free(es[i]);
        whelk_pipeline_free(ps[i]);
    }
    ck_assert_int_eq(count_children(), 0);
}
END_TEST

START_TEST(test_run_many_serial)
{
    whelk_pipeline *p[4];
    whelk_result *res[4];
    whelk_error *errs[4];
    flight f;
    int i;

    memset(&f, 0, sizeof f);
    for (i = 0; i < 4; i++) {
        p[i] = HPIPE("sleep:20", "out:s\\n");
        whelk_pipeline_on_start(p[i], on_start_count, &f);
        whelk_pipeline_on_exit(p[i], on_exit_count, &f);
    }
    ck_assert_int_eq(whelk_run_many(p, 4, 0, res, errs), 0);
    ck_assert_int_eq(f.max_inflight, 1);
    ck_assert_int_eq(f.max_children, 0);
    for (i = 0; i < 4; i++) {
        ck_assert_ptr_null(errs[i]);
        ASSERT_STDOUT(res[i], "s\n");
        whelk_result_free(res[i]);
        whelk_pipeline_free(p[i]);
    }
    /* nothing to run */
    ck_assert_int_eq(whelk_run_many(p, 0, 4, res, errs), 0);
}
END_TEST

/* The same pipeline may appear several times (it is not modified). */
START_TEST(test_run_many_same_pipeline)
{
    whelk_pipeline *p = HPIPE("lines:3");
    whelk_pipeline *list[6];
    whelk_result *res[6];
    whelk_error *errs[6];
    int i;

    for (i = 0; i < 6; i++)
        list[i] = p;
    ck_assert_int_eq(whelk_run_many(list, 6, 3, res, errs), 0);
    for (i = 0; i < 6; i++) {
        ck_assert_ptr_null(errs[i]);
        ASSERT_STDOUT(res[i], "line 1\nline 2\nline 3\n");
        whelk_result_free(res[i]);
    }
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* ==================================================== hostile hosts */

/*
 * A host that ignores SIGCHLD: the kernel reaps the children itself and
 * their statuses are gone.  A run must come back -- with a result, or
 * with the clear error WHELK_E_IO / ECHILD that says so -- never hang,
 * never blame exec, and never leave the disposition changed.
 */
static void check_sigchld_ignored_run(whelk_pipeline *p, const char *want_out)
{
    whelk_error *err = NULL;
    whelk_result *r;
    int64_t t0 = now_ms(), dt;

    r = whelk_run(p, &err);
    dt = now_ms() - t0;
    ck_assert_msg(dt < 10000, "the run took %lld ms", (long long)dt);
    if (r) {
        ASSERT_STDOUT(r, want_out);
        ck_assert_int_eq(whelk_result_exit_code(r, 0), 0);
        whelk_result_free(r);
        return;
    }
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_IO &&
                      whelk_error_errno(err) == ECHILD,
                  "expected a result or WHELK_E_IO/ECHILD, got %s",
                  err_desc(err));
    ck_assert_msg(contains(whelk_error_message(err), "SIGCHLD"), "%s",
                  whelk_error_message(err));
    /* the output read is not lost with the status */
    ck_assert_ptr_nonnull(whelk_error_result(err));
    ASSERT_STDOUT(whelk_error_result(err), want_out);
    whelk_error_free(err);
}

START_TEST(test_sigchld_ignored)
{
    struct sigaction before, after;
    int i, fds;

    ck_assert(signal(SIGCHLD, SIG_IGN) != SIG_ERR);
    sigaction(SIGCHLD, NULL, &before);
    fds = count_open_fds();
    for (i = 0; i < 30; i++) {
        /* exits at once: likely gone before the library looks at it */
        whelk_pipeline *p = HPIPE("out:fast\\n");
        check_sigchld_ignored_run(p, "fast\n");
        whelk_pipeline_free(p);
    }
    for (i = 0; i < 5; i++) {
        whelk_pipeline *p = whelk_pipe(HCMD("sleep:50", "lines:3"),
                                       HCMD("cat"), (whelk_cmd *)NULL);
        check_sigchld_ignored_run(p, "line 1\nline 2\nline 3\n");
        whelk_pipeline_free(p);
    }
    sigaction(SIGCHLD, NULL, &after);
    ck_assert(same_sigaction(&before, &after));
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
    signal(SIGCHLD, SIG_DFL);
}
END_TEST

/* The same through the handle, with a timeout that must still fire. */
START_TEST(test_sigchld_ignored_timeout)
{
    whelk_pipeline *p = HPIPE("out:x\\n", "sleep:30000");
    whelk_error *err = NULL;
    int64_t t0, dt;

    ck_assert(signal(SIGCHLD, SIG_IGN) != SIG_ERR);
    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 200);
    t0 = now_ms();
    ck_assert_ptr_null(whelk_run(p, &err));
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 300 && dt < 300 + 200 + DRAIN_MS + SLACK_MS,
                  "returned after %lld ms", (long long)dt);
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_TIMEOUT, "got %s",
                  err_desc(err));
    ASSERT_STDOUT(whelk_error_result(err), "x\n");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
    signal(SIGCHLD, SIG_DFL);
}
END_TEST

/* A host with signals blocked and ignored: children start with an empty
 * mask and default dispositions, runs succeed, timeouts and kills work,
 * and the host's own mask and dispositions are left as they were. */
START_TEST(test_signals_blocked_and_ignored)
{
    sigset_t block, mask_before, mask_after;
    struct sigaction act_before[3], act_after[3];
    static const int ign[3] = {SIGINT, SIGQUIT, SIGTERM};
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err;
    int i;

    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGCHLD);
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, &block, NULL), 0);
    for (i = 0; i < 3; i++)
        ck_assert(signal(ign[i], SIG_IGN) != SIG_ERR);
    sigprocmask(SIG_BLOCK, NULL, &mask_before);
    for (i = 0; i < 3; i++)
        sigaction(ign[i], NULL, &act_before[i]);

    p = HPIPE("sigmask", "sigign");
    r = run_ok(p);
    ASSERT_STDOUT(r, "none\nnone\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* every stage of a pipeline */
    p = whelk_pipe(HCMD("sigmask", "sigign"), HCMD("cat", "sigmask", "sigign"),
                   (whelk_cmd *)NULL);
    r = run_ok(p);
    ASSERT_STDOUT(r, "none\nnone\nnone\nnone\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* SIGTERM at the deadline ends a child at its default disposition */
    p = HPIPE("sleep:30000");
    whelk_pipeline_timeout(p, 300);
    whelk_pipeline_kill_grace(p, 5000);
    err = run_fail(p, WHELK_E_TIMEOUT);
    ck_assert_int_eq(whelk_result_signal(whelk_error_result(err), 0), SIGTERM);
    whelk_error_free(err);
    whelk_pipeline_free(p);

    /* and so does SIGINT from whelk_proc_kill */
    {
        int ready = 0;
        whelk_proc *pr;

        p = HPIPE("out:r\\n", "sleep:30000");
        whelk_pipeline_on_line(p, WHELK_STDOUT, flag_line, &ready);
        err = NULL;
        pr = whelk_start(p, &err);
        ck_assert_ptr_nonnull(pr);
        step_until(pr, &ready);
        ck_assert_int_eq(whelk_proc_kill(pr, SIGINT), 0);
        ck_assert_ptr_null(whelk_proc_wait(pr, &err));
        ck_assert_int_eq(whelk_error_signal(err), SIGINT);
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }

    sigprocmask(SIG_BLOCK, NULL, &mask_after);
    ck_assert(same_sigset(&mask_before, &mask_after));
    for (i = 0; i < 3; i++) {
        sigaction(ign[i], NULL, &act_after[i]);
        ck_assert(same_sigaction(&act_before[i], &act_after[i]));
    }
    ASSERT_NO_CHILDREN();
    for (i = 0; i < 3; i++)
        signal(ign[i], SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
}
END_TEST

/* A host with fds 0, 1 and 2 closed (a daemon): output is still captured
 * exactly, children still see exactly 0, 1 and 2, and nothing leaks. */
START_TEST(test_std_fds_closed)
{
    int saved[3], i, fds;
    whelk_pipeline *p;
    whelk_result *r;

    for (i = 0; i < 3; i++) {
        saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
        close(i);
    }
    for (i = 0; i < 3; i++)
        ck_assert(!fd_is_open(i));
    fds = count_open_fds();

    p = HPIPE("fds", "out:hello\\n", "err:oops\\n", "exit:0");
    r = run_ok(p);
    ASSERT_STDOUT(r, "0 1 2\nhello\n");
    ASSERT_STDERR(r, "oops\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* stdin bytes through a pipeline */
    p = whelk_pipe(HCMD("fds", "cat"), HCMD("count"), (whelk_cmd *)NULL);
    whelk_pipeline_stdin_bytes(p, "12345", 5);
    r = run_ok(p);
    ASSERT_STDOUT(r, "11\n"); /* "0 1 2\n" and the 5 bytes, counted */
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* inheriting a closed descriptor gives the child /dev/null */
    p = HPIPE("count", "fds");
    whelk_pipeline_stdin(p, WHELK_INHERIT);
    r = run_ok(p);
    ASSERT_STDOUT(r, "0\n0 1 2\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    p = HPIPE("out:lost\\n", "err:lost\\n", "exit:0");
    whelk_pipeline_stdout(p, WHELK_INHERIT);
    whelk_cmd_stderr(whelk_pipeline_cmd(p, 0), WHELK_INHERIT);
    r = run_ok(p);
    ASSERT_STDOUT(r, "");
    ASSERT_STDERR(r, "");
    whelk_result_free(r);
    whelk_pipeline_free(p);

    /* line callbacks and a timeout work as well */
    {
        lines got;
        whelk_error *err;

        lines_init(&got, 0);
        p = HPIPE("lines:5", "sleep:30000");
        whelk_pipeline_on_line(p, WHELK_STDOUT, collect_line, &got);
        whelk_pipeline_timeout(p, 300);
        whelk_pipeline_kill_grace(p, 200);
        err = run_fail(p, WHELK_E_TIMEOUT);
        assert_lines_1_to_n(&got, 5);
        free(got.text);
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }

    for (i = 0; i < 3; i++)
        ck_assert_msg(!fd_is_open(i), "the library left fd %d open", i);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
    for (i = 0; i < 3; i++)
        if (saved[i] >= 0) {
            dup2(saved[i], i);
            close(saved[i]);
        }
}
END_TEST

/* A 200 KiB argument: exec fails with E2BIG, reported in the parent. */
START_TEST(test_e2big)
{
    size_t n = 200 * 1024;
    char *big = malloc(n + 1);
    whelk_pipeline *p;
    whelk_error *err;
    int fds = count_open_fds();

    memset(big, 'a', n);
    big[n] = '\0';
    p = HPIPE("argv", big);
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_int_eq(whelk_error_errno(err), E2BIG);
    ck_assert_int_eq(whelk_error_stage(err), 0);
    ck_assert_ptr_null(whelk_error_result(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_FDS(fds);
    ASSERT_NO_CHILDREN();
    free(big);
}
END_TEST

/* ... in a later stage: the stages already started are killed and reaped
 * before the run returns. */
START_TEST(test_e2big_later_stage)
{
    size_t n = 200 * 1024;
    char *big = malloc(n + 1);
    whelk_pipeline *p;
    whelk_error *err;
    int fds = count_open_fds();
    int64_t t0;

    memset(big, 'b', n);
    big[n] = '\0';
    p = whelk_pipe(HCMD("ignore:TERM", "sleep:30000"), HCMD("cat"),
                   HCMD("argv", big), (whelk_cmd *)NULL);
    t0 = now_ms();
    err = run_fail(p, WHELK_E_EXEC);
    ck_assert_msg(now_ms() - t0 < 10000, "took %lld ms",
                  (long long)(now_ms() - t0));
    ck_assert_int_eq(whelk_error_errno(err), E2BIG);
    ck_assert_int_eq(whelk_error_stage(err), 2);
    ck_assert_msg(contains(whelk_error_message(err), "Argument list too long"),
                  "%s", whelk_error_message(err));
    whelk_error_free(err);
    ASSERT_NO_CHILDREN();
    ASSERT_FDS(fds);
    whelk_pipeline_free(p);
    free(big);
}
END_TEST

/*
 * Eight threads run pipelines with line callbacks while another thread
 * forks and reaps children of its own: no status is lost on either side.
 */
#define NTHREADS 8
#define NITER 12
#define MIN_FORKS 200

typedef struct runner_job {
    int id;
    int bad;
    char why[256];
} runner_job;

static int forks_stop;

static void *runner_main(void *arg)
{
    runner_job *j = arg;
    int i;

    for (i = 0; i < NITER && !j->bad; i++) {
        int c0 = (j->id * NITER + i) % 97 + 1, c1 = (j->id + i) % 5;
        char e0[32], e1[32], n[32];
        long nl = 10 + j->id + i;
        whelk_pipeline *p;
        whelk_result *r;
        whelk_error *err = NULL;
        lines got;
        size_t len;
        char *want;

        snprintf(e0, sizeof e0, "exit:%d", c0);
        snprintf(e1, sizeof e1, "exit:%d", c1);
        snprintf(n, sizeof n, "lines:%ld", nl);
        p = whelk_pipe(helper_cmd(n, e0, (const char *)NULL),
                       helper_cmd("cat", e1, (const char *)NULL),
                       (whelk_cmd *)NULL);
        whelk_pipeline_check(p, 0);
        lines_init(&got, 1);
        whelk_pipeline_on_line(p, WHELK_STDOUT, collect_line, &got);
        r = whelk_run(p, &err);
        want = lines_text(nl, &len);
        if (!r) {
            snprintf(j->why, sizeof j->why, "thread %d run %d: %s", j->id, i,
                     err_desc(err));
            j->bad = 1;
        } else if (whelk_result_exit_code(r, 0) != c0 ||
                   whelk_result_exit_code(r, 1) != c1) {
            snprintf(j->why, sizeof j->why,
                     "thread %d run %d: exit codes %d %d, expected %d %d",
                     j->id, i, whelk_result_exit_code(r, 0),
                     whelk_result_exit_code(r, 1), c0, c1);
            j->bad = 1;
        } else if (got.n != nl || got.bad || !want || got.len != len ||
                   memcmp(got.text, want, len) != 0) {
            snprintf(j->why, sizeof j->why,
                     "thread %d run %d: %d lines, expected %ld", j->id, i,
                     got.n, nl);
            j->bad = 1;
        }
        free(want);
        free(got.text);
        whelk_result_free(r);
        whelk_error_free(err);
        whelk_pipeline_free(p);
    }
    return NULL;
}

typedef struct forker_job {
    int forks;
    int bad;
    char why[256];
} forker_job;

static void *forker_main(void *arg)
{
    forker_job *j = arg;

    while (!j->bad && (j->forks < MIN_FORKS ||
                       !__atomic_load_n(&forks_stop, __ATOMIC_ACQUIRE))) {
        int code = 100 + j->forks % 100, st = 0;
        pid_t pid = fork(), got;

        if (pid < 0) {
            snprintf(j->why, sizeof j->why, "fork: %s", strerror(errno));
            j->bad = 1;
            break;
        }
        if (pid == 0)
            _exit(code);
        do
            got = waitpid(pid, &st, 0);
        while (got < 0 && errno == EINTR);
        if (got != pid || !WIFEXITED(st) || WEXITSTATUS(st) != code) {
            snprintf(j->why, sizeof j->why,
                     "own child %d (fork %d): waitpid %d, status 0x%x, "
                     "expected exit %d (errno %d)",
                     (int)pid, j->forks, (int)got, st, code, errno);
            j->bad = 1;
        }
        j->forks++;
    }
    return NULL;
}

START_TEST(test_threads_and_forker)
{
    pthread_t th[NTHREADS], fk;
    runner_job jobs[NTHREADS];
    forker_job fj;
    int i;

    memset(&fj, 0, sizeof fj);
    __atomic_store_n(&forks_stop, 0, __ATOMIC_RELEASE);
    ck_assert_int_eq(pthread_create(&fk, NULL, forker_main, &fj), 0);
    for (i = 0; i < NTHREADS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].id = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, runner_main, &jobs[i]),
                         0);
    }
    for (i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    __atomic_store_n(&forks_stop, 1, __ATOMIC_RELEASE);
    pthread_join(fk, NULL);
    for (i = 0; i < NTHREADS; i++)
        ck_assert_msg(!jobs[i].bad, "%s", jobs[i].why);
    ck_assert_msg(!fj.bad, "%s", fj.why);
    ck_assert_int_ge(fj.forks, MIN_FORKS);
    ASSERT_NO_CHILDREN();
}
END_TEST

/*
 * Descriptors run out.  The limit is lowered so that exactly k more
 * descriptors can be opened, for k = 0, 1, 2, ...: each step of setup
 * meets EMFILE in turn.  Every run succeeds or fails with errno EMFILE,
 * leaking no descriptor and no child; once descriptors are back the same
 * pipeline runs.
 */
static int nth_free_fd(int k)
{
    int fd, seen = 0;

    for (fd = 0;; fd++)
        if (!fd_is_open(fd) && seen++ == k)
            return fd;
}

START_TEST(test_emfile_each_step)
{
    struct rlimit old, low;
    whelk_pipeline *p = whelk_pipe(HCMD("cat"), HCMD("count", "err:e\\n"),
                                   (whelk_cmd *)NULL);
    int k, fds = count_open_fds(), failures = 0, successes = 0;
    int first_ok = -1;

    whelk_pipeline_stdin_bytes(p, "hello", 5);
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    for (k = 0; k <= 24; k++) {
        whelk_error *err = NULL;
        whelk_result *r;

        low = old;
        low.rlim_cur = (rlim_t)nth_free_fd(k);
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
        r = whelk_run(p, &err);
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
        if (r) {
            ASSERT_STDOUT(r, "5\n");
            ASSERT_STDERR(r, "e\n");
            if (first_ok < 0)
                first_ok = k;
            successes++;
        } else {
            ck_assert_msg(whelk_error_errno(err) == EMFILE &&
                              (whelk_error_kind(err) == WHELK_E_IO ||
                               whelk_error_kind(err) == WHELK_E_EXEC),
                          "k = %d: expected EMFILE, got %s", k, err_desc(err));
            ck_assert_msg(first_ok < 0,
                          "k = %d failed after k = %d succeeded: %s", k,
                          first_ok, err_desc(err));
            failures++;
        }
        whelk_result_free(r);
        whelk_error_free(err);
        ASSERT_FDS(fds);
        ASSERT_NO_CHILDREN();
    }
    ck_assert_msg(failures > 0, "no step failed: the limit was never met");
    ck_assert_msg(successes > 0, "no run succeeded with %d descriptors free",
                  24);
    {
        whelk_result *r = run_ok(p);
        ASSERT_STDOUT(r, "5\n");
        whelk_result_free(r);
    }
    whelk_pipeline_free(p);
}
END_TEST

/* The same through the handle: whelk_proc_fd's own descriptors. */
START_TEST(test_emfile_proc_fd)
{
    struct rlimit old, low;
    whelk_pipeline *p = HPIPE("out:x\\n");
    int k, fds = count_open_fds(), got_fd = 0;

    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    for (k = 0; k <= 16; k++) {
        whelk_error *err = NULL;
        whelk_result *r;
        whelk_proc *pr;
        int fd = -1;

        low = old;
        low.rlim_cur = (rlim_t)nth_free_fd(k);
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
        pr = whelk_start(p, &err);
        if (pr)
            fd = whelk_proc_fd(pr); /* -1 allowed: drive with timeouts */
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
        if (!pr) {
            ck_assert_msg(whelk_error_errno(err) == EMFILE,
                          "k = %d: expected EMFILE, got %s", k, err_desc(err));
            whelk_error_free(err);
        } else {
            if (fd >= 0) {
                got_fd = 1;
                drive_poll(pr);
            }
            r = whelk_proc_wait(pr, &err);
            ck_assert_msg(r != NULL, "k = %d: %s", k, err_desc(err));
            ASSERT_STDOUT(r, "x\n");
            whelk_result_free(r);
        }
        ASSERT_FDS(fds);
        ASSERT_NO_CHILDREN();
    }
    ck_assert(got_fd);
    whelk_pipeline_free(p);
}
END_TEST

/* ================================================================ suite */

static TCase *tcase(Suite *s, const char *name, int timeout)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

static Suite *life_suite(void)
{
    Suite *s = suite_create("life");
    TCase *tc;

    tc = tcase(s, "timeout", TEST_TIMEOUT);
    tcase_add_test(tc, test_timeout_keeps_output);
    tcase_add_test(tc, test_timeout_lines_before_deadline);
    tcase_add_test(tc, test_timeout_not_reached);
    tcase_add_test(tc, test_timeout_grandchild_sleeping_parent);
    tcase_add_test(tc, test_timeout_grandchild_waiting_parent);
    tcase_add_test(tc, test_timeout_grandchild_holds_pipe);
    tcase_add_test(tc, test_timeout_grandchild_ignores_term);
    tcase_add_test(tc, test_timeout_grandchild_ignores_term_orphan);
    tcase_add_test(tc, test_timeout_sigkill_after_grace);
    tcase_add_test(tc, test_kill_grace_short);
    tcase_add_test(tc, test_kill_grace_long);
    tcase_add_test(tc, test_kill_grace_default);
    tcase_add_test(tc, test_kill_grace_zero);
    tcase_add_test(tc, test_timeout_pipeline);

    tc = tcase(s, "handle", TEST_TIMEOUT);
    tcase_add_test(tc, test_proc_poll_loop);
    tcase_add_test(tc, test_proc_epoll_loop);
    tcase_add_test(tc, test_proc_fd_no_spin_poll);
    tcase_add_test(tc, test_proc_fd_no_spin_epoll);
    tcase_add_test(tc, test_proc_fd_no_spin_no_pgroup);
    tcase_add_test(tc, test_proc_fd_quiet_child);
    tcase_add_test(tc, test_proc_fd_timeout_event);
    tcase_add_test(tc, test_proc_step_blocking);
    tcase_add_test(tc, test_proc_several_in_one_loop);
    tcase_add_test(tc, test_proc_kill_term);
    tcase_add_test(tc, test_proc_kill_no_pgroup);
    tcase_add_test(tc, test_proc_kill_after_reap);
    tcase_add_test(tc, test_proc_kill_after_reap_no_pgroup);
    tcase_add_test(tc, test_proc_pid);
    tcase_add_test(tc, test_proc_null_handle);
    tcase_add_test(tc, test_proc_start_fails);
    tcase_add_test(tc, test_proc_fd_closed_by_wait);

    tc = tcase(s, "many", TEST_TIMEOUT);
    tcase_add_test(tc, test_run_many_order_and_limit);
    tcase_add_test(tc, test_run_many_serial);
    tcase_add_test(tc, test_run_many_all_fail_to_start);
    tcase_add_test(tc, test_run_many_same_pipeline);

    tc = tcase(s, "host", TEST_TIMEOUT * 2);
    tcase_add_test(tc, test_sigchld_ignored);
    tcase_add_test(tc, test_sigchld_ignored_timeout);
    tcase_add_test(tc, test_signals_blocked_and_ignored);
    tcase_add_test(tc, test_std_fds_closed);
    tcase_add_test(tc, test_e2big);
    tcase_add_test(tc, test_e2big_later_stage);
    tcase_add_test(tc, test_threads_and_forker);
    tcase_add_test(tc, test_emfile_each_step);
    tcase_add_test(tc, test_emfile_proc_fd);

    return s;
}

int main(void)
{
    return run_suite(life_suite());
}
