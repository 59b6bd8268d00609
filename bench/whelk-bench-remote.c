/*
 * whelk-bench-remote -- `make bench`'s row for remote runs (issue 14):
 * what the second and later runs of a pipeline to one host cost, next to
 * the first, over a real OpenSSH server on 127.0.0.1.
 *
 * It starts its own sshd with tests/sshd.h, as tests/check_remote does (a
 * free high port, throwaway keys in a temporary directory, `sshd -D -f
 * <config>`; as root; an `ssh` wrapper first in PATH that gives the client
 * its config), then for each round: a fresh whelk_remote_ssh to h1 (no
 * master connection yet), one timed run -- the handshake, the master
 * connection, the run -- and RUNS timed runs more on the shared
 * connection.  The baseline is the same pipeline through a
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <whelk.h>

#include "../tests/sshd.h"

#define MAX_ROUNDS 50
#define RUNS 10

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
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
    static sshd_server sshd;
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
    if (sshd_start(&sshd) < 0) {
        fprintf(stderr, "remote: sshd did not start: %s\n", sshd.problem);
        sshd_stop(&sshd);
        return 1;
    }
    for (i = 0; i < rounds && rc == 0; i++) {
        whelk_remote *r = whelk_remote_ssh("h1");
        whelk_remote *d = whelk_remote_new(
            whelk_cmd_new("ssh", "-o", "BatchMode=yes", "-o",
                          "ControlPath=none", "h1", NULL));
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
    sshd_stop(&sshd);
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
