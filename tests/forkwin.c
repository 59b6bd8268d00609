/*
 * forkwin.c -- an LD_PRELOAD shim for check_remote: it holds a shell's
 * child in the window between fork() and the child's own start, where it
 * still has its parent's signal handlers and traps, until SIGUSR1 has
 * been delivered to it there.  That is the ordering in which a remote
 * run lost its stages' stderr: the watchdog, stopped with USR1 before it
 * had run a command, ran the script's EXIT trap (bash runs it from its
 * handler of a deadly signal), which removed the stages' stderr files.
 *
 * The process that loads it with FORKWIN_READY in its environment is the
 * shell; it removes LD_PRELOAD from its environment, so that nothing it
 * runs loads the shim (nor a sanitized program a foreign library).  A
 * child the shell forks while another child of it is alive is held: it
 * opens FORKWIN_READY (a FIFO) for writing and closes it -- the stage
 * that reads the FIFO then ends -- and waits for SIGUSR1, with the
 * handler it inherited, before fork() returns in it.
 * Built without the sanitizers (it is loaded into the system's shell).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t main_pid = -1;
static int alive; /* children of the shell not reaped yet */

extern char **environ;

__attribute__((constructor)) static void forkwin_init(void)
{
    char **from, **to;

    if (!getenv("FORKWIN_READY"))
        return;
    main_pid = getpid();
    /* by hand: bash has an unsetenv of its own, for its variables */
    for (from = to = environ; *from; from++)
        if (strncmp(*from, "LD_PRELOAD=", 11) != 0)
            *to++ = *from;
    *to = NULL;
}

static void hold(void)
{
    sigset_t usr1, old, wait;
    int fd;

    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    fd = open(getenv("FORKWIN_READY"), O_WRONLY | O_CLOEXEC);
    if (fd >= 0)
        close(fd);
    wait = old;
    sigdelset(&wait, SIGUSR1);
    sigsuspend(&wait); /* returns once the parent's handler has run */
    sigprocmask(SIG_SETMASK, &old, NULL);
}

pid_t fork(void)
{
    static pid_t (*real)(void);
    int shell = getpid() == main_pid, held = shell && alive > 0;
    pid_t pid;

    if (!real)
        real = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
    pid = real();
    if (pid == 0 && shell) {
        main_pid = -1;
        if (held)
            hold();
    } else if (pid > 0 && shell) {
        alive++;
    }
    return pid;
}

pid_t waitpid(pid_t w, int *st, int opt)
{
    static pid_t (*real)(pid_t, int *, int);
    pid_t r;

    if (!real)
        real = (pid_t(*)(pid_t, int *, int))dlsym(RTLD_NEXT, "waitpid");
    r = real(w, st, opt);
    if (r > 0 && getpid() == main_pid)
        alive--;
    return r;
}
