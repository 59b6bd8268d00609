/*
 * whelk-bench-remote -- `make bench`'s row for remote runs (issue 14):
 * what the second and later runs of a pipeline to one host cost, next to
 * the first, over a real OpenSSH server on 127.0.0.1.
 *
 * It starts its own sshd (a free high port, throwaway keys in a temporary
 * directory, `sshd -D -f <config>`; as root) and an `ssh` wrapper first in
 * PATH that gives the client its config, then for each round: a fresh
 * whelk_remote_ssh (no master connection yet), one timed run -- the
 * handshake, the master connection, the run -- and RUNS timed runs more
 * on the shared connection.  The baseline is the same pipeline through a
 * transport that never shares (`ssh -o ControlPath=none`): what every run
 * would cost without the sharing.  The pipeline is `true`, so the figures
 * are the library's and OpenSSH's own costs.  The target: later runs cost
 * under 20 % of the first.
 *
 *   bench/whelk-bench-remote [--quick] [--rounds N]
 *
 * The server sets SHLVL=1 for its sessions so that bash (root's login
 * shell) does not source ~/.bashrc: a heavy .bashrc would be measured as
 * the run's cost otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <whelk.h>

#define MAX_ROUNDS 50
#define RUNS 10

static char dir[64];
static pid_t sshd = -1;

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
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

static void put(const char *name, const char *text, mode_t mode)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if ((f = fopen(path, "w")) != NULL) {
        fputs(text, f);
        fclose(f);
        chmod(path, mode);
    }
}

/* 0, or -1 with a message printed. */
static int start_sshd(void)
{
    char buf[2048], cfg[256], log[256];
    int port = free_port();
    double end;

    snprintf(dir, sizeof dir, "/tmp/whelk-bench-sshd.XXXXXX");
    if (!mkdtemp(dir) || port < 0) {
        fprintf(stderr, "remote: cannot make a directory or find a port\n");
        return -1;
    }
    mkdir("/run/sshd", 0755);
    if (sh("ssh-keygen -q -t ed25519 -N '' -f %s/hostkey && "
           "ssh-keygen -q -t ed25519 -N '' -f %s/clientkey && "
           "cp %s/clientkey.pub %s/authorized_keys && mkdir %s/bin",
           dir, dir, dir, dir, dir) != 0) {
        fprintf(stderr, "remote: ssh-keygen failed\n");
        return -1;
    }
    snprintf(buf, sizeof buf,
             "Port %d\nListenAddress 127.0.0.1\nHostKey %s/hostkey\n"
             "PidFile none\nAuthorizedKeysFile %s/authorized_keys\n"
             "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
             "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
             "SetEnv SHLVL=1\nLogLevel ERROR\n",
             port, dir, dir);
    put("sshd_config", buf, 0644);
    snprintf(buf, sizeof buf,
             "Host b1\n  HostName 127.0.0.1\n  Port %d\n  User root\n"
             "  IdentityFile %s/clientkey\n  IdentitiesOnly yes\n"
             "  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n"
             "  LogLevel ERROR\n",
             port, dir);
    put("ssh_config", buf, 0644);
    snprintf(buf, sizeof buf,
             "#!/bin/sh\nexec /usr/bin/ssh -F %s/ssh_config \"$@\"\n", dir);
    put("bin/ssh", buf, 0755);
    snprintf(buf, sizeof buf, "%s/bin:%s", dir,
             getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", buf, 1);
    snprintf(cfg, sizeof cfg, "%s/sshd_config", dir);
    snprintf(log, sizeof log, "%s/sshd.log", dir);
    if ((sshd = fork()) == 0) {
        execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-f", cfg, "-E", log,
              (char *)NULL);
        _exit(127);
    }
    end = now_ms() + 15000;
    while (sshd > 0 && !port_open(port)) {
        struct timespec ts = {0, 20 * 1000000};
        if (waitpid(sshd, NULL, WNOHANG) == sshd || now_ms() > end) {
            fprintf(stderr, "remote: sshd did not start (see %s)\n", log);
            sshd = -1;
            return -1;
        }
        nanosleep(&ts, NULL);
    }
    return sshd > 0 ? 0 : -1;
}

static void stop_sshd(void)
{
    if (sshd > 0) {
        kill(sshd, SIGTERM);
        waitpid(sshd, NULL, 0);
    }
    if (dir[0])
        sh("rm -rf %s", dir);
}

/* One run of `true` through r; its wall time in ms, or -1. */
static double timed_run(whelk_remote *r)
{
    whelk_pipeline *p = whelk_pipe(whelk_cmd_new("true", NULL), NULL);
    whelk_error *e = NULL;
    whelk_result *res;
    double t0;

    whelk_pipeline_remote(p, r);
    t0 = now_ms();
    res = whelk_run(p, &e);
    t0 = now_ms() - t0;
    if (!res) {
        fprintf(stderr, "remote: %s\n", whelk_error_message(e));
        t0 = -1;
    }
    whelk_result_free(res);
    whelk_error_free(e);
    whelk_pipeline_free(p);
    return t0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void row(const char *what, double *v, size_t n)
{
    double med = median(v, n);
    printf("  %-40s %9.1f ms   (%.1f .. %.1f, %zu runs)\n", what, med, v[0],
           v[n - 1], n);
}

int main(int argc, char **argv)
{
    static double first[MAX_ROUNDS], later[MAX_ROUNDS * RUNS],
        direct[MAX_ROUNDS * RUNS];
    size_t rounds = 5, nl = 0, nd = 0, i, k;
    double ratio;
    int rc = 0;

    for (i = 1; i < (size_t)argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            rounds = 3;
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < (size_t)argc)
            rounds = (size_t)atoi(argv[++i]);
    }
    if (rounds < 1 || rounds > MAX_ROUNDS)
        rounds = 5;
    if (start_sshd() < 0) {
        stop_sshd();
        return 1;
    }
    for (i = 0; i < rounds && rc == 0; i++) {
        whelk_remote *r = whelk_remote_ssh("b1");
        whelk_remote *d = whelk_remote_new(
            whelk_cmd_new("ssh", "-o", "BatchMode=yes", "-o",
                          "ControlPath=none", "b1", NULL));
        /* ssh's own first start (page cache) is not the library's cost */
        if (i == 0 && timed_run(d) < 0)
            rc = 1;
        if ((first[i] = timed_run(r)) < 0)
            rc = 1;
        for (k = 0; k < RUNS && rc == 0; k++) {
            if ((later[nl++] = timed_run(r)) < 0)
                rc = 1;
            if (k < 3 && (direct[nd++] = timed_run(d)) < 0)
                rc = 1;
        }
        whelk_remote_free(r); /* stops the master, removes its directory */
        whelk_remote_free(d);
    }
    stop_sshd();
    if (rc) {
        fprintf(stderr, "remote: a run failed; no figures\n");
        return 1;
    }
    printf("\n== remote: `true` on one host over ssh (sshd on 127.0.0.1), "
           "%zu rounds\n",
           rounds);
    row("first run (handshake, master, run)", first, rounds);
    row("later runs (shared connection)", later, nl);
    row("every run without sharing (baseline)", direct, nd);
    ratio = median(later, nl) / median(first, rounds) * 100;
    printf("  %-40s %9.1f %%   target < 20 %%: %s\n", "later / first", ratio,
           ratio < 20 ? "met" : "MISSED");
    return 0;
}
