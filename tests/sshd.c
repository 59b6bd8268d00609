/*
 * sshd.c -- a throwaway OpenSSH server on 127.0.0.1 (see sshd.h), shared by
 * tests/check_remote and bench/whelk-bench-remote.
 */
#define _GNU_SOURCE
#include "sshd.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int sshd_sh(const char *fmt, ...)
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

static int64_t clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A port free on 127.0.0.1 when asked (another bind may take it later). */
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

/* Whether something accepts connections on 127.0.0.1:port. */
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

static void put_file(const sshd_server *s, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

int sshd_start(sshd_server *s)
{
    char buf[4096], path[512];
    int64_t end;
    int tries;

    memset(s, 0, sizeof *s);
    s->pid = -1;
    s->dead_port = free_port();
    snprintf(s->dir, sizeof s->dir, "/tmp/whelk-sshd.XXXXXX");
    if (!mkdtemp(s->dir)) {
        snprintf(s->problem, sizeof s->problem, "mkdtemp: %s",
                 strerror(errno));
        s->dir[0] = '\0';
        return -1;
    }
    mkdir("/run/sshd", 0755); /* privilege separation directory */
    /* two ports, each free when picked: the kernel may hand out the same
     * one twice once the first probe's socket is closed */
    for (tries = 0; tries < 100; tries++)
        if ((s->port = free_port()) != s->dead_port)
            break;
    if (s->port < 0 || s->dead_port < 0 || s->dead_port == s->port) {
        snprintf(s->problem, sizeof s->problem,
                 "cannot pick two free ports (%d, %d)", s->port,
                 s->dead_port);
        return -1;
    }
    if (sshd_sh("ssh-keygen -q -t ed25519 -N '' -f %s/hostkey && "
                "ssh-keygen -q -t ed25519 -N '' -f %s/clientkey && "
                "ssh-keygen -q -t ed25519 -N '' -f %s/otherkey && "
                "cp %s/clientkey.pub %s/authorized_keys && "
                "mkdir %s/rtmp %s/bin",
                s->dir, s->dir, s->dir, s->dir, s->dir, s->dir,
                s->dir) != 0) {
        snprintf(s->problem, sizeof s->problem,
                 "cannot make the keys (ssh-keygen) in %s", s->dir);
        return -1;
    }
    snprintf(buf, sizeof buf,
             "Port %d\nListenAddress 127.0.0.1\nHostKey %s/hostkey\n"
             "PidFile none\nAuthorizedKeysFile %s/authorized_keys\n"
             "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
             "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
             "SetEnv TMPDIR=%s/rtmp SHLVL=1\nMaxSessions 50\nMaxStartups 50\n"
             "LogLevel ERROR\n",
             s->port, s->dir, s->dir, s->dir);
    put_file(s, "sshd_config", buf);
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
             s->port, s->dir, s->port, s->dir, s->dead_port, s->dir, s->dir);
    put_file(s, "ssh_config", buf);
    snprintf(buf, sizeof buf,
             "#!/bin/sh\nexec /usr/bin/ssh -F %s/ssh_config \"$@\"\n", s->dir);
    put_file(s, "bin/ssh", buf);
    snprintf(buf, sizeof buf, "%s/bin/ssh", s->dir);
    chmod(buf, 0755);
    snprintf(buf, sizeof buf, "%s/bin:%s", s->dir,
             getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", buf, 1);
    snprintf(buf, sizeof buf, "%s/sshd_config", s->dir);
    snprintf(path, sizeof path, "%s/sshd.log", s->dir);
    s->pid = fork();
    if (s->pid == 0) {
        execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-f", buf, "-E", path,
              (char *)NULL);
        _exit(127);
    }
    if (s->pid < 0) {
        snprintf(s->problem, sizeof s->problem, "fork: %s", strerror(errno));
        return -1;
    }
    end = clock_ms() + 15000;
    while (!port_open(s->port)) {
        struct timespec ts = {0, 20 * 1000000};
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            snprintf(s->problem, sizeof s->problem,
                     "/usr/sbin/sshd exited (status %d); see %s/sshd.log", st,
                     s->dir);
            s->pid = -1;
            return -1;
        }
        if (clock_ms() > end) {
            snprintf(s->problem, sizeof s->problem,
                     "sshd did not listen on port %d within 15 s", s->port);
            return -1;
        }
        nanosleep(&ts, NULL); /* polling the port, bounded */
    }
    return 0;
}

void sshd_stop(sshd_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = -1;
    }
    if (s->dir[0] && !s->problem[0]) /* kept to read its log */
        sshd_sh("rm -rf '%s'", s->dir);
}
