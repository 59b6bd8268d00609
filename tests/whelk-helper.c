/*
 * whelk-helper -- a scriptable child process for the libwhelk tests.
 *
 * It performs its arguments as actions, in order, so that no test depends
 * on what the machine happens to have installed.  Only libc is used, and
 * every byte is written with raw write(2), so the order of output on
 * stdout and stderr is exactly the order of the actions.
 *
 * Usage: whelk-helper ACTION...
 *   e.g. whelk-helper 'out:hi\n' errn:100000 exit:3
 *
 * Actions ("name" or "name:arg"):
 *
 *   out:TEXT       write TEXT to stdout; escapes \n \r \t \\ \xHH are decoded
 *   err:TEXT       the same, to stderr
 *   outn:N         write N bytes of the pattern "0123456789abcdef" repeated,
 *                  to stdout, in writes of 64 KiB
 *   errn:N         the same, to stderr
 *   lines:N        write N lines "line 1\n" .. "line N\n" to stdout
 *   errlines:N     the same, to stderr
 *   cat            copy stdin to stdout until EOF
 *   count          read stdin to EOF, then print the byte count and "\n"
 *   drain          read stdin to EOF, silently
 *   readn:N        read N bytes of stdin (or up to EOF) and discard them
 *   exit:N         exit with code N at once (_exit)
 *   kill:SIG       reset SIG to SIG_DFL, unblock it and raise it; SIG is a
 *                  number or a name with or without "SIG" (TERM, KILL, PIPE,
 *                  SEGV, INT, HUP, USR1, USR2, QUIT, ABRT, ALRM, CHLD, ...)
 *   sleep:MS       sleep MS milliseconds (restarted on EINTR)
 *   fds            print the open descriptors, ascending, space-separated,
 *                  as one line ("0 1 2\n"), from /proc/self/fd without the
 *                  descriptor used to read that directory
 *   sigmask        print the blocked signals as one line of numbers
 *                  ("10 13\n"), or "none\n"
 *   sigign         print the signals whose disposition is SIG_IGN likewise
 *   pwd            print the current directory and "\n"
 *   env:NAME       print the value of NAME and "\n", or "(unset)\n"
 *   argv           print each entry of its own argv on its own line, raw
 *   argvz          print each entry of its own argv followed by a NUL byte
 *   dump           print exactly what it was given: the working directory,
 *                  the number of arguments in decimal, each argument, then
 *                  each environment entry, each followed by a NUL byte
 *   rlimit:NAME    print the soft and hard limit of RLIMIT_NAME (NOFILE,
 *                  CORE, CPU, FSIZE, NPROC, STACK, AS) as "soft hard\n",
 *                  "inf" for RLIM_INFINITY
 *   umask          print the umask in octal ("022\n")
 *   nice           print the nice value ("0\n")
 *   ids            print "uid gid groups\n": real and effective ids must
 *                  agree (else "uid/euid"), groups comma-separated or "-"
 *   readfd:N       copy descriptor N to stdout until end of file
 *   writefd:N:TEXT write TEXT (escapes as out:) to descriptor N
 *   pid, ppid, pgid   print the number and "\n"
 *   close:FD       close a descriptor
 *   touch:PATH     create PATH (or truncate it) with mode 0666 & ~umask: a
 *                  marker that proves the helper ran
 *   ignore:SIG     set the disposition of SIG to SIG_IGN
 *   fork-sleep:MS  fork a grandchild that keeps the inherited descriptors,
 *                  sleeps MS ms and exits 0; the helper goes on at once
 *   setsid-sleep:MS  the same, but the grandchild leaves the process group
 *                  (setsid) before the helper goes on: a group kill does
 *                  not reach it
 *   wait-children  wait for all children of the helper
 *
 * When no exit action is given the helper exits 0 after the last action.
 * Arguments after an exit action are never looked at, so a test can pass
 * arbitrary words for `argv` to print: whelk-helper argv exit:0 'a b' ''.
 *
 * Failures: bad syntax, an unknown action, or a failed system call print
 * "whelk-helper: ..." to stderr and exit 99.  A write that fails with EPIPE
 * (possible only when SIGPIPE is ignored or blocked; by default SIGPIPE
 * kills the helper, whose disposition it never touches unless told to by
 * ignore:PIPE) exits 141, as a shell reports death by SIGPIPE.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static const char *action; /* the action being performed, for messages */

static void die(const char *what, int errnum)
{
    char msg[512];
    int n;

    if (errnum)
        n = snprintf(msg, sizeof msg, "whelk-helper: %s: %s: %s\n", action,
                     what, strerror(errnum));
    else
        n = snprintf(msg, sizeof msg, "whelk-helper: %s: %s\n", action, what);
    if (n > 0)
        (void)!write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg);
    _exit(99);
}

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EPIPE)
                _exit(141);
            die("write", errno);
        }
        p += n;
        len -= (size_t)n;
    }
}

static void write_str(int fd, const char *s)
{
    write_all(fd, s, strlen(s));
}

static void write_num(int fd, long long v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld\n", v);

    write_all(fd, buf, (size_t)n);
}

static long long parse_num(const char *arg)
{
    char *end;
    long long v;

    if (!arg || !*arg)
        die("missing number", 0);
    errno = 0;
    v = strtoll(arg, &end, 10);
    if (errno || *end || v < 0)
        die("bad number", 0);
    return v;
}

static const struct {
    const char *name;
    int sig;
} signames[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},
    {"ILL", SIGILL},       {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},
    {"BUS", SIGBUS},       {"FPE", SIGFPE},   {"KILL", SIGKILL},
    {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"CHLD", SIGCHLD},     {"CONT", SIGCONT}, {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
    {"URG", SIGURG},       {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},         {"SYS", SIGSYS},
};

static int parse_sig(const char *arg)
{
    size_t i;

    if (!arg || !*arg)
        die("missing signal", 0);
    if (arg[0] >= '0' && arg[0] <= '9') {
        long long v = parse_num(arg);

        if (v < 1 || v >= NSIG)
            die("bad signal number", 0);
        return (int)v;
    }
    if (strncmp(arg, "SIG", 3) == 0)
        arg += 3;
    for (i = 0; i < sizeof signames / sizeof signames[0]; i++)
        if (strcmp(arg, signames[i].name) == 0)
            return signames[i].sig;
    die("unknown signal name", 0);
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode escapes of TEXT into a malloc'd buffer; *len gets its length. */
static char *unescape(const char *s, size_t *len)
{
    char *out = malloc(strlen(s) + 1);
    size_t n = 0;

    if (!out)
        die("malloc", errno);
    while (*s) {
        if (*s != '\\') {
            out[n++] = *s++;
            continue;
        }
        s++;
        switch (*s) {
        case 'n':
            out[n++] = '\n';
            s++;
            break;
        case 'r':
            out[n++] = '\r';
            s++;
            break;
        case 't':
            out[n++] = '\t';
            s++;
            break;
        case '\\':
            out[n++] = '\\';
            s++;
            break;
        case 'x': {
            int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

            if (hi < 0 || lo < 0)
                die("bad \\x escape", 0);
            out[n++] = (char)(hi * 16 + lo);
            s += 3;
            break;
        }
        default: die("bad escape", 0);
        }
    }
    *len = n;
    return out;
}

static void write_pattern(int fd, long long total)
{
    static char buf[CHUNK];
    static const char pat[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < sizeof buf; i++)
        buf[i] = pat[i % 16];
    /* the pattern restarts at every chunk, and CHUNK is a multiple of 16 */
    while (total > 0) {
        size_t n = total > CHUNK ? CHUNK : (size_t)total;

        write_all(fd, buf, n);
        total -= (long long)n;
    }
}

static void write_lines(int fd, long long n)
{
    char buf[CHUNK + 64];
    size_t used = 0;
    long long i;

    for (i = 1; i <= n; i++) {
        used +=
            (size_t)snprintf(buf + used, sizeof buf - used, "line %lld\n", i);
        if (used >= CHUNK) {
            write_all(fd, buf, used);
            used = 0;
        }
    }
    if (used)
        write_all(fd, buf, used);
}

/* Read stdin up to limit bytes (-1: to EOF); copy to stdout if copy.
 * Returns the number of bytes read. */
static long long read_stdin(long long limit, int copy)
{
    static char buf[CHUNK];
    long long total = 0;

    while (limit < 0 || total < limit) {
        size_t want = sizeof buf;
        ssize_t n;

        if (limit >= 0 && (long long)want > limit - total)
            want = (size_t)(limit - total);
        n = read(0, buf, want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("read", errno);
        }
        if (n == 0)
            break;
        if (copy)
            write_all(1, buf, (size_t)n);
        total += n;
    }
    return total;
}

static void do_sleep(long long ms)
{
    struct timespec ts, rem;

    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &rem) < 0) {
        if (errno != EINTR)
            die("nanosleep", errno);
        ts = rem;
    }
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

static void do_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int fds[4096];
    size_t n = 0, i;
    char line[4096 * 8];
    size_t used = 0;
    int self;

    if (!d)
        die("opendir /proc/self/fd", errno);
    self = dirfd(d);
    while ((e = readdir(d)) != NULL) {
        int fd;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        fd = atoi(e->d_name);
        if (fd == self)
            continue;
        if (n < sizeof fds / sizeof fds[0])
            fds[n++] = fd;
    }
    closedir(d);
    qsort(fds, n, sizeof fds[0], cmp_int);
    for (i = 0; i < n; i++)
        used += (size_t)snprintf(line + used, sizeof line - used, "%s%d",
                                 i ? " " : "", fds[i]);
    line[used++] = '\n';
    write_all(1, line, used);
}

/* Print the signal numbers for which pred is true, or "none". */
static void print_sigs(int ign)
{
    char line[1024];
    size_t used = 0;
    sigset_t mask;
    int sig;

    if (!ign && sigprocmask(SIG_BLOCK, NULL, &mask) < 0)
        die("sigprocmask", errno);
    for (sig = 1; sig < NSIG; sig++) {
        int yes;

        if (ign) {
            struct sigaction sa;

            if (sigaction(sig, NULL, &sa) < 0)
                continue; /* reserved by the C library */
            yes = !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN;
        } else {
            yes = sigismember(&mask, sig) == 1;
        }
        if (yes)
            used += (size_t)snprintf(line + used, sizeof line - used, "%s%d",
                                     used ? " " : "", sig);
    }
    if (!used)
        used = (size_t)snprintf(line, sizeof line, "none");
    line[used++] = '\n';
    write_all(1, line, used);
}

static void do_kill(int sig)
{
    sigset_t set;

    if (sig != SIGKILL && sig != SIGSTOP)
        signal(sig, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    if (raise(sig) != 0)
        die("raise", errno);
    /* a signal whose default is to be ignored: go on */
}

int main(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        char name[64];
        const char *colon = strchr(argv[i], ':');
        const char *arg = NULL;
        size_t nlen = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);

        action = argv[i];
        if (nlen >= sizeof name)
            die("unknown action", 0);
        memcpy(name, argv[i], nlen);
        name[nlen] = '\0';
        if (colon)
            arg = colon + 1;

        if (!strcmp(name, "out") || !strcmp(name, "err")) {
            size_t len;
            char *text;

            if (!arg)
                die("missing text", 0);
            text = unescape(arg, &len);
            write_all(name[0] == 'o' ? 1 : 2, text, len);
            free(text);
        } else if (!strcmp(name, "outn")) {
            write_pattern(1, parse_num(arg));
        } else if (!strcmp(name, "errn")) {
            write_pattern(2, parse_num(arg));
        } else if (!strcmp(name, "lines")) {
            write_lines(1, parse_num(arg));
        } else if (!strcmp(name, "errlines")) {
            write_lines(2, parse_num(arg));
        } else if (!strcmp(name, "cat")) {
            read_stdin(-1, 1);
        } else if (!strcmp(name, "count")) {
            write_num(1, read_stdin(-1, 0));
        } else if (!strcmp(name, "drain")) {
            read_stdin(-1, 0);
        } else if (!strcmp(name, "readn")) {
            read_stdin(parse_num(arg), 0);
        } else if (!strcmp(name, "exit")) {
            _exit((int)parse_num(arg));
        } else if (!strcmp(name, "kill")) {
            do_kill(parse_sig(arg));
        } else if (!strcmp(name, "sleep")) {
            do_sleep(parse_num(arg));
        } else if (!strcmp(name, "fds")) {
            do_fds();
        } else if (!strcmp(name, "sigmask")) {
            print_sigs(0);
        } else if (!strcmp(name, "sigign")) {
            print_sigs(1);
        } else if (!strcmp(name, "pwd")) {
            char buf[PATH_MAX];

            if (!getcwd(buf, sizeof buf))
                die("getcwd", errno);
            write_str(1, buf);
            write_str(1, "\n");
        } else if (!strcmp(name, "env")) {
            const char *v;

            if (!arg || !*arg)
                die("missing name", 0);
            v = getenv(arg);
            write_str(1, v ? v : "(unset)");
            write_str(1, "\n");
        } else if (!strcmp(name, "argv")) {
            int j;

            for (j = 0; j < argc; j++) {
                write_str(1, argv[j]);
                write_str(1, "\n");
            }
        } else if (!strcmp(name, "argvz")) {
            int j;

            for (j = 0; j < argc; j++)
                write_all(1, argv[j], strlen(argv[j]) + 1);
        } else if (!strcmp(name, "dump")) {
            extern char **environ;
            char buf[PATH_MAX], num[32];
            int j;

            if (!getcwd(buf, sizeof buf))
                die("getcwd", errno);
            write_all(1, buf, strlen(buf) + 1);
            snprintf(num, sizeof num, "%d", argc);
            write_all(1, num, strlen(num) + 1);
            for (j = 0; j < argc; j++)
                write_all(1, argv[j], strlen(argv[j]) + 1);
            for (j = 0; environ[j]; j++)
                write_all(1, environ[j], strlen(environ[j]) + 1);
        } else if (!strcmp(name, "rlimit")) {
            static const struct {
                const char *name;
                int res;
            } lims[] = {{"NOFILE", RLIMIT_NOFILE}, {"CORE", RLIMIT_CORE},
                        {"CPU", RLIMIT_CPU},       {"FSIZE", RLIMIT_FSIZE},
                        {"NPROC", RLIMIT_NPROC},   {"STACK", RLIMIT_STACK},
                        {"AS", RLIMIT_AS}};
            struct rlimit rl;
            char buf[64];
            size_t k;

            for (k = 0; k < sizeof lims / sizeof lims[0]; k++)
                if (arg && !strcmp(arg, lims[k].name))
                    break;
            if (k == sizeof lims / sizeof lims[0])
                die("unknown limit", 0);
            if (getrlimit(lims[k].res, &rl) < 0)
                die("getrlimit", errno);
            if (rl.rlim_cur == RLIM_INFINITY)
                snprintf(buf, sizeof buf, "inf ");
            else
                snprintf(buf, sizeof buf, "%llu ",
                         (unsigned long long)rl.rlim_cur);
            write_str(1, buf);
            if (rl.rlim_max == RLIM_INFINITY)
                snprintf(buf, sizeof buf, "inf\n");
            else
                snprintf(buf, sizeof buf, "%llu\n",
                         (unsigned long long)rl.rlim_max);
            write_str(1, buf);
        } else if (!strcmp(name, "umask")) {
            char buf[16];
            mode_t m = umask(0);

            umask(m);
            snprintf(buf, sizeof buf, "%03o\n", (unsigned)m);
            write_str(1, buf);
        } else if (!strcmp(name, "nice")) {
            errno = 0;
            int v = getpriority(PRIO_PROCESS, 0);
            if (v == -1 && errno)
                die("getpriority", errno);
            write_num(1, v);
        } else if (!strcmp(name, "ids")) {
            gid_t groups[256];
            int n = getgroups(256, groups), k;
            char buf[4096];
            size_t used;

            if (n < 0)
                die("getgroups", errno);
            if (getuid() == geteuid())
                used = (size_t)snprintf(buf, sizeof buf, "%u ",
                                        (unsigned)getuid());
            else
                used = (size_t)snprintf(buf, sizeof buf, "%u/%u ",
                                        (unsigned)getuid(),
                                        (unsigned)geteuid());
            if (getgid() == getegid())
                used += (size_t)snprintf(buf + used, sizeof buf - used, "%u ",
                                         (unsigned)getgid());
            else
                used += (size_t)snprintf(buf + used, sizeof buf - used,
                                         "%u/%u ", (unsigned)getgid(),
                                         (unsigned)getegid());
            for (k = 0; k < n; k++)
                used += (size_t)snprintf(buf + used, sizeof buf - used,
                                         "%s%u", k ? "," : "",
                                         (unsigned)groups[k]);
            if (!n)
                used += (size_t)snprintf(buf + used, sizeof buf - used, "-");
            buf[used++] = '\n';
            write_all(1, buf, used);
        } else if (!strcmp(name, "readfd")) {
            int fd = (int)parse_num(arg);
            char buf[CHUNK];
            ssize_t n;

            while ((n = read(fd, buf, sizeof buf)) != 0) {
                if (n < 0) {
                    if (errno == EINTR)
                        continue;
                    die("read", errno);
                }
                write_all(1, buf, (size_t)n);
            }
        } else if (!strcmp(name, "writefd")) {
            const char *c2 = arg ? strchr(arg, ':') : NULL;
            char num[32];
            size_t len;
            char *text;

            if (!c2 || (size_t)(c2 - arg) >= sizeof num)
                die("expected writefd:N:TEXT", 0);
            memcpy(num, arg, (size_t)(c2 - arg));
            num[c2 - arg] = '\0';
            text = unescape(c2 + 1, &len);
            write_all((int)parse_num(num), text, len);
            free(text);
        } else if (!strcmp(name, "pid")) {
            write_num(1, (long long)getpid());
        } else if (!strcmp(name, "ppid")) {
            write_num(1, (long long)getppid());
        } else if (!strcmp(name, "pgid")) {
            write_num(1, (long long)getpgrp());
        } else if (!strcmp(name, "close")) {
            if (close((int)parse_num(arg)) < 0)
                die("close", errno);
        } else if (!strcmp(name, "touch")) {
            int fd;

            if (!arg || !*arg)
                die("missing path", 0);
            fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
            if (fd < 0)
                die("open", errno);
            close(fd);
        } else if (!strcmp(name, "ignore")) {
            if (signal(parse_sig(arg), SIG_IGN) == SIG_ERR)
                die("signal", errno);
        } else if (!strcmp(name, "fork-sleep") ||
                   !strcmp(name, "setsid-sleep")) {
            long long ms = parse_num(arg);
            int sync[2];
            pid_t pid;
            char c;

            if (pipe(sync) < 0)
                die("pipe", errno);
            pid = fork();
            if (pid < 0)
                die("fork", errno);
            if (pid == 0) {
                if (name[0] == 's' && setsid() < 0)
                    _exit(99);
                close(sync[0]);
                close(sync[1]); /* the helper goes on once this is done */
                do_sleep(ms);
                _exit(0);
            }
            close(sync[1]);
            while (read(sync[0], &c, 1) < 0 && errno == EINTR)
                ;
            close(sync[0]);
        } else if (!strcmp(name, "wait-children")) {
            while (wait(NULL) > 0 || errno == EINTR)
                ;
        } else {
            die("unknown action", 0);
        }
    }
    return 0;
}
