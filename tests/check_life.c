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
 *
 * The runner and fixtures; the tests are in tests/life/<topic>.c, one file
 * per topic, sharing tests/life/life.h.
 */
#include "life/life.h"

/* Slack added to every upper time bound (loaded machines, sanitizers). */
#define SLACK_MS 3500
/* The drain the library allows grandchildren after the kill (issue 5:
 * "about a second"). */
#define DRAIN_MS 1000

/* ----------------------------------------------------------- fixtures */

int collect_line(const whelk_line *l, void *ud)
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

void lines_init(lines *c, size_t stage)
{
    memset(c, 0, sizeof *c);
    c->stage = stage;
}

/* Must the lines be exactly "line 1\n".."line n\n"? */
void assert_lines_1_to_n(const lines *c, long n)
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

/* Calls fn for every process on the system; stops when fn returns 1. */
int scan_procs(int (*fn)(const procinfo *, void *), void *ctx)
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

int add_member(const procinfo *pi, void *ctx)
{
    members *m = ctx;

    if (pi->pgrp == m->pgrp && m->n < 64) {
        m->pids[m->n] = pi->pid;
        m->ppids[m->n++] = pi->ppid;
    }
    return 0;
}

int pidfd_open_(pid_t pid)
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
int assert_group_dead(pid_t pgid)
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

void become_subreaper(void)
{
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
}

/* ============================================================= suite */

TCase *life_tcase(Suite *s, const char *name, int timeout)
{
    return add_tcase(s, name, timeout, NULL, NULL);
}

static Suite *life_suite(void)
{
    Suite *s = suite_create("life");

    life_timeouts(s);
    life_handle(s);
    life_many(s);
    life_host(s);
    life_hostile_threads(s);

    return s;
}

int main(void)
{
    return run_suite(life_suite());
}
