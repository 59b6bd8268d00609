/*
 * run_as.c -- privilege drop in a daemon-style runner.  A service that
 * starts as root (to bind a port, read its keys) runs the jobs it is
 * given as an unprivileged user, the way cron, CI runners and package
 * builders do.  Everything happens in the child between clone and exec,
 * with raw system calls, and the host's own credentials never change:
 *
 *   whelk_cmd_user      setgroups({gid}), setgid, setuid: no supplementary
 *                       group of root's is kept
 *   whelk_cmd_umask     files the job makes are private
 *   whelk_cmd_rlimit    no core dumps, at most 256 open files
 *   whelk_cmd_nice      behind the service's own work
 *   whelk_cmd_clearenv  the job sees a small, known environment
 *   whelk_pipeline_die_with_host   a job never outlives the runner
 *
 * A runner that is not root cannot drop to another user: the run fails
 * with WHELK_E_EXEC and errno EPERM, an error value, and the example says
 * so and exits 0.
 *
 * Usage: run_as [user]   (default: nobody)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <whelk.h>

int main(int argc, char **argv)
{
    const char *user = argc > 1 ? argv[1] : "nobody";
    struct passwd *pw = getpwnam(user);
    whelk_pipeline *p;
    whelk_result *r;
    whelk_error *err = NULL;
    whelk_cmd *job;
    char want[64];
    int status = 1;

    if (!pw) {
        fprintf(stderr, "no user %s\n", user);
        return 1;
    }
    /* the job: who am I, with what umask, limits and nice value */
    job = whelk_cmd_new("sh", "-c",
                        "id; echo umask $(umask); ulimit -c; ulimit -n; "
                        "echo nice $(nice)",
                        NULL);
    whelk_cmd_user(job, pw->pw_uid, pw->pw_gid);
    whelk_cmd_umask(job, 077);
    whelk_cmd_rlimit(job, RLIMIT_CORE, 0, 0);
    whelk_cmd_rlimit(job, RLIMIT_NOFILE, 256, 256);
    whelk_cmd_nice(job, 5);
    whelk_cmd_clearenv(job);
    whelk_cmd_setenv(job, "PATH", "/usr/bin:/bin");
    whelk_cmd_setenv(job, "HOME", "/");
    whelk_cmd_chdir(job, "/");
    p = whelk_pipe(job, NULL);
    whelk_pipeline_die_with_host(p, 1);
    r = whelk_run(p, &err);
    whelk_pipeline_free(p);
    if (!r) {
        printf("%s: %s\n", whelk_error_kind_name(whelk_error_kind(err)),
               whelk_error_message(err));
        /* not root: the drop is refused, and said so */
        if (geteuid() != 0 && whelk_error_kind(err) == WHELK_E_EXEC &&
            whelk_error_errno(err) == EPERM) {
            printf("(run it as root to see the drop)\n");
            status = 0;
        }
        whelk_error_free(err);
        return status;
    }
    fputs(whelk_result_stdout(r, NULL), stdout);
    snprintf(want, sizeof want, "uid=%u(", (unsigned)pw->pw_uid);
    status = strncmp(whelk_result_stdout(r, NULL), want, strlen(want)) != 0;
    whelk_result_free(r);
    return status;
}
