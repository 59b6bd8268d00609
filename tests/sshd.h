/*
 * sshd.h -- a throwaway OpenSSH server on 127.0.0.1, for tests/check_remote
 * and bench/whelk-bench-remote (built into both; no Check, no libwhelk).
 *
 * sshd_start makes a directory under /tmp with host and client keys, picks
 * two distinct free ports (the kernel may hand out the same one twice once
 * a probe's socket is closed), writes the server's and the client's
 * configs, starts `/usr/sbin/sshd -D` and waits (bounded, polling the port)
 * until it listens, and puts an `ssh` wrapper that gives the client its
 * config first in PATH.  It needs root (the server logs in as root).
 *
 * The client's host names:
 *   h1 h2 h3 h4 shared   the server, with the key it accepts;
 *   shared               also shares one connection (ControlMaster auto,
 *                        sockets <dir>/user-%C, ControlPersist 30);
 *   nokey                the server, with a key it does not accept;
 *   dead                 the second port, where nothing listens.
 * The server's sessions get TMPDIR=<dir>/rtmp (empty until a run leaves
 * something) and SHLVL=1, so that bash, root's login shell, does not
 * source ~/.bashrc (a heavy one would be measured as the run's cost).
 */
#ifndef WHELK_TESTS_SSHD_H
#define WHELK_TESTS_SSHD_H

#include <sys/types.h>

typedef struct sshd_server {
    char dir[256];      /* keys, configs, sshd.log, bin/ssh, rtmp/ */
    char problem[1024]; /* why the server is not running, or "" */
    pid_t pid;          /* the server, or -1 */
    int port;           /* where it listens */
    int dead_port;      /* a port nothing listens on (not port) */
} sshd_server;

/* Starts the server described above into *s: 0, or -1 with the reason in
 * s->problem.  Either way sshd_stop(s) ends what was started. */
int sshd_start(sshd_server *s);

/* Stops the server (SIGTERM, reaped) and removes its directory, unless
 * s->problem says it did not run: the directory and its sshd.log stay to
 * be read. */
void sshd_stop(sshd_server *s);

/* Runs the formatted command line with system(3): its exit status, or -1
 * when it did not exit. */
int sshd_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* WHELK_TESTS_SSHD_H */
