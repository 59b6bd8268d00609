/*
 * check_remote.c -- pipelines run on another machine (whelk_remote).
 *
 * Fast cases use the `sh -c` transport (the far side is this machine,
 * through a shell).  The rest use a real OpenSSH server that main()
 * starts on 127.0.0.1 (a free high port, throwaway host and client keys in
 * a temporary directory, `sshd -D -f <config>` as root) and stops at the
 * end; an `ssh` wrapper first in PATH gives the client its config (host
 * aliases h1..h4, "dead" for a closed port, "nokey" for a refused key).
 * The ssh tests FAIL when the server could not start: they never skip.
 *
 * The runner and fixtures; the tests are in tests/remote/<topic>.c, one
 * file per topic, sharing tests/remote/remote.h.
 */
#include "remote/remote.h"

char *tmpdir;

static void tmp_setup(void)
{
    tmpdir = make_tmpdir();
    ck_assert_ptr_nonnull(tmpdir);
}

static void tmp_teardown(void)
{
    rm_rf(tmpdir);
    free(tmpdir);
    tmpdir = NULL;
}

/* p, run through remote r (the remote is freed: the pipeline keeps it). */
whelk_pipeline *remotely(whelk_pipeline *p, whelk_remote *r)
{
    whelk_pipeline_remote(p, r);
    whelk_remote_free(r);
    return p;
}

/* Processes whose command line holds token (this test's own excepted). */
int count_with_token(const char *token)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[65536], st[512];
        ssize_t len, k;
        int fd;
        char *rp;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if (atoi(e->d_name) == getpid())
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        if ((fd = open(path, O_RDONLY)) < 0)
            continue;
        k = read(fd, st, sizeof st - 1);
        close(fd);
        if (k <= 0)
            continue;
        st[k] = '\0';
        rp = strrchr(st, ')');
        if (rp && rp[1] == ' ' && rp[2] == 'Z')
            continue; /* a zombie runs nothing */
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        if ((fd = open(path, O_RDONLY)) < 0)
            continue;
        len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0)
            continue;
        for (k = 0; k < len; k++)
            if (!buf[k])
                buf[k] = ' ';
        buf[len] = '\0';
        n += strstr(buf, token) != NULL;
    }
    closedir(d);
    return n;
}

/* Waits (up to ms) until no process holds token; the count left. */
int gone_within(const char *token, int ms)
{
    int64_t end = now_ms() + ms;
    int n;

    while ((n = count_with_token(token)) > 0 && now_ms() < end) {
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL); /* polling a condition, bounded */
    }
    return n;
}

char *new_token(void)
{
    static int seq;
    return xasprintf("whelktok%d_%d_%lld", getpid(), ++seq,
                     (long long)now_ms());
}

const char *const odd_words[] = {
    "a b",         "it's",         "say \"hi\"", "$HOME",   "${x:-y}",
    "$(echo no)",  "`echo no`",    "*",          "[a]?",    "back\\slash",
    "\\",          "line1\nline2", "\xff\xfe",   "",        "~",
    "~root/x",     "#hash",        "a=b",        "-n",      "tab\there",
    "semi;colon",  "a&b|c",        "<in>",       "(x){y}",  "!bang",
    "'",           "''",           "\"",         "caf\xc3\xa9", "%s\n",
    "WHELKdeadbeef00000000 S 1", NULL};

/* The same pipeline here and there: identical stdout and statuses. */
void assert_same_run(whelk_pipeline *p, whelk_remote *r)
{
    whelk_error *e1 = NULL, *e2 = NULL;
    whelk_result *here, *there;
    const whelk_result *a, *b;
    size_t la, lb, i;
    const char *oa, *ob;

    whelk_pipeline_check(p, 0);
    here = whelk_run(p, &e1);
    ck_assert_msg(here != NULL, "here: %s", err_desc(e1));
    whelk_pipeline_remote(p, r);
    there = whelk_run(p, &e2);
    ck_assert_msg(there != NULL, "there: %s", err_desc(e2));
    a = here;
    b = there;
    oa = whelk_result_stdout(a, &la);
    ob = whelk_result_stdout(b, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert_msg(memcmp(oa, ob, la) == 0, "stdout differs:\n%s\n--\n%s", oa,
                  ob);
    ck_assert_uint_eq(whelk_result_ncmds(a), whelk_result_ncmds(b));
    for (i = 0; i < whelk_result_ncmds(a); i++) {
        ck_assert_int_eq(whelk_result_exit_code(a, i),
                         whelk_result_exit_code(b, i));
        ck_assert_int_eq(whelk_result_signal(a, i), whelk_result_signal(b, i));
    }
    whelk_result_free(here);
    whelk_result_free(there);
}

int note_line(const whelk_line *l, void *ud)
{
    seen *s = ud;
    int n = snprintf(s->text + s->len, sizeof s->text - s->len, "%zu%c:%s|",
                     l->stage, l->stream == WHELK_STDOUT ? 'o' : 'e', l->text);
    if (n > 0 && (size_t)n < sizeof s->text - s->len)
        s->len += (size_t)n;
    return 0;
}

char sshd_dir[256];
char sshd_problem[1024];
pid_t sshd_pid = -1;
int sshd_port;

int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int port_open(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void put_file(const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", sshd_dir, name);
    f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void start_sshd(void)
{
    char buf[4096], *path;
    int64_t end;
    int dead = free_port(), tries;

    snprintf(sshd_dir, sizeof sshd_dir, "/tmp/whelk-sshd.XXXXXX");
    if (!mkdtemp(sshd_dir)) {
        snprintf(sshd_problem, sizeof sshd_problem, "mkdtemp: %s",
                 strerror(errno));
        return;
    }
    mkdir("/run/sshd", 0755); /* privilege separation directory */
    /* two ports, each free when picked: the kernel may hand out the same
     * one twice once the first probe's socket is closed */
    for (tries = 0; tries < 100; tries++)
        if ((sshd_port = free_port()) != dead)
            break;
    if (sshd_port < 0 || dead < 0 || dead == sshd_port) {
        snprintf(sshd_problem, sizeof sshd_problem,
                 "cannot pick two free ports (%d, %d)", sshd_port, dead);
        return;
    }
    if (sh("ssh-keygen -q -t ed25519 -N '' -f %s/hostkey && "
           "ssh-keygen -q -t ed25519 -N '' -f %s/clientkey && "
           "ssh-keygen -q -t ed25519 -N '' -f %s/otherkey && "
           "cp %s/clientkey.pub %s/authorized_keys && mkdir %s/rtmp %s/bin",
           sshd_dir, sshd_dir, sshd_dir, sshd_dir, sshd_dir, sshd_dir,
           sshd_dir) != 0) {
        snprintf(sshd_problem, sizeof sshd_problem,
                 "cannot make the keys (ssh-keygen) in %s", sshd_dir);
        return;
    }
    /* SHLVL=1: bash, root's login shell, does not source ~/.bashrc for
     * ssh sessions then (this machine's runs pyenv: 100 processes) */
    snprintf(buf, sizeof buf,
             "Port %d\nListenAddress 127.0.0.1\nHostKey %s/hostkey\n"
             "PidFile none\nAuthorizedKeysFile %s/authorized_keys\n"
             "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
             "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
             "SetEnv TMPDIR=%s/rtmp SHLVL=1\nMaxSessions 50\nMaxStartups 50\n"
             "LogLevel ERROR\n",
             sshd_port, sshd_dir, sshd_dir, sshd_dir);
    put_file("sshd_config", buf);
    snprintf(buf, sizeof buf,
             "Host h1 h2 h3 h4 shared\n  HostName 127.0.0.1\n  Port %d\n"
             "  IdentityFile %s/clientkey\n"
             "Host nokey\n  HostName 127.0.0.1\n  Port %d\n"
             "  IdentityFile %s/otherkey\n"
             "Host dead\n  HostName 127.0.0.1\n  Port %d\n"
             "  IdentityFile %s/clientkey\n"
             "Host shared\n  ControlMaster auto\n"
             "  ControlPath %s/user-%%C\n  ControlPersist 30\n"
             "Host *\n  User root\n  IdentitiesOnly yes\n"
             "  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n"
             "  LogLevel ERROR\n",
             sshd_port, sshd_dir, sshd_port, sshd_dir, dead, sshd_dir,
             sshd_dir);
    put_file("ssh_config", buf);
    snprintf(buf, sizeof buf,
             "#!/bin/sh\nexec /usr/bin/ssh -F %s/ssh_config \"$@\"\n",
             sshd_dir);
    put_file("bin/ssh", buf);
    snprintf(buf, sizeof buf, "%s/bin/ssh", sshd_dir);
    chmod(buf, 0755);
    snprintf(buf, sizeof buf, "%s/bin:%s", sshd_dir,
             getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", buf, 1);
    snprintf(buf, sizeof buf, "%s/sshd_config", sshd_dir);
    path = xasprintf("%s/sshd.log", sshd_dir);
    sshd_pid = fork();
    if (sshd_pid == 0) {
        execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-f", buf, "-E", path,
              (char *)NULL);
        _exit(127);
    }
    free(path);
    end = now_ms() + 15000;
    while (sshd_pid > 0 && !port_open(sshd_port)) {
        struct timespec ts = {0, 20 * 1000000};
        int st;
        if (waitpid(sshd_pid, &st, WNOHANG) == sshd_pid) {
            snprintf(sshd_problem, sizeof sshd_problem,
                     "/usr/sbin/sshd exited (status %d); see %s/sshd.log",
                     st, sshd_dir);
            sshd_pid = -1;
            return;
        }
        if (now_ms() > end) {
            snprintf(sshd_problem, sizeof sshd_problem,
                     "sshd did not listen on port %d within 15 s", sshd_port);
            return;
        }
        nanosleep(&ts, NULL); /* polling the port, bounded */
    }
    if (sshd_pid < 0)
        snprintf(sshd_problem, sizeof sshd_problem, "fork: %s",
                 strerror(errno));
}

static void stop_sshd(void)
{
    if (sshd_pid > 0) {
        kill(sshd_pid, SIGTERM);
        waitpid(sshd_pid, NULL, 0);
    }
    if (sshd_dir[0] && !sshd_problem[0]) /* kept to read its log */
        rm_rf(sshd_dir);
}

/* ------------------------------------------------------------- suite */

TCase *remote_tcase(Suite *s, const char *name, int tmp)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, TEST_TIMEOUT);
    if (tmp)
        tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    suite_add_tcase(s, tc);
    return tc;
}

static Suite *remote_suite(void)
{
    Suite *s = suite_create("remote");

    remote_sh(s);
    remote_ssh(s);

    return s;
}

int main(void)
{
    int rc;

    start_sshd();
    rc = run_suite(remote_suite());
    stop_sshd();
    return rc;
}
