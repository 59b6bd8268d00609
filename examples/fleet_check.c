/*
 * fleet_check.c -- disk use of many hosts at once: `df -P / | awk` runs on
 * every host in parallel over ssh, each with its own 5 s timeout, and the
 * answers come back in the order the hosts were given.  One host that is
 * down, slow or refuses the key fails alone, with its own error.
 *
 *   fleet_check web1 web2 db1     hosts (or ~/.ssh/config aliases) via ssh
 *   fleet_check                   three stand-in hosts through `sh -c`
 *                                 (what `make check` runs: no sshd needed)
 *
 * Exit status: the number of hosts that failed.
 *
 *   shell:   for h in web1 web2 db1; do
 *              timeout 5 ssh -o BatchMode=yes "$h" "df -P / | awk ..." &
 *            done; wait         (outputs interleaved, statuses lost)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <whelk.h>

#define MAX_HOSTS 64

int main(int argc, char **argv)
{
    static const char *const standins[] = {"local1", "local2", "local3"};
    const char *const *hosts = (const char *const *)argv + 1;
    size_t n = (size_t)argc - 1, i, failed;
    whelk_pipeline *ps[MAX_HOSTS];
    whelk_result *res[MAX_HOSTS];
    whelk_error *errs[MAX_HOSTS];

    if (n == 0) {
        hosts = standins;
        n = 3;
    }
    if (n > MAX_HOSTS) {
        fprintf(stderr, "fleet_check: at most %d hosts\n", MAX_HOSTS);
        return 2;
    }
    for (i = 0; i < n; i++) {
        whelk_remote *r = argc > 1 ? whelk_remote_ssh(hosts[i])
                                   : whelk_remote_new(
                                         whelk_cmd_new("sh", "-c", NULL));
        /* the use of / in percent: column 5 of df's second line */
        ps[i] = whelk_pipe(
            whelk_cmd_new("df", "-P", "/", NULL),
            whelk_cmd_new("awk", "NR == 2 { sub(/%/, \"\", $5); print $5 }",
                          NULL),
            NULL);
        whelk_pipeline_remote(ps[i], r); /* NULL (no memory): fails the run */
        whelk_remote_free(r);
        whelk_pipeline_timeout(ps[i], 5000);
    }

    failed = whelk_run_many(ps, n, n, res, errs);

    for (i = 0; i < n; i++) {
        if (res[i]) {
            const char *pct = whelk_result_stdout(res[i], NULL);
            printf("%-12s %3d%% used\n", hosts[i], atoi(pct));
        } else {
            printf("%-12s FAILED: %s\n", hosts[i],
                   whelk_error_message(errs[i]));
        }
        whelk_result_free(res[i]);
        whelk_error_free(errs[i]);
        whelk_pipeline_free(ps[i]);
    }
    return (int)failed;
}
