/*
 * whelk.h -- run programs and pipelines from C as easily as a shell script,
 * with the safety a library owes the program that links it.
 *
 * Copyright (c) 2026 the libwhelk authors.  zlib license (see COPYING).
 *
 * The one public header of libwhelk.  Sections:
 *   1. versions and constants
 *   2. commands         (whelk_cmd: argv, env, cwd, stderr)
 *   3. pipelines        (whelk_pipeline: stages, stdin/stdout, policy)
 *   4. streaming        (line and chunk callbacks, decoding, hooks)
 *   5. running          (whelk_run, whelk_sh, the asynchronous whelk_proc)
 *   6. results
 *   7. errors
 *   8. shells           (whelk_shell: defaults shared by many commands)
 *   9. many at once     (whelk_run_many)
 *  10. the host drives the data (pull, feed, FILE streams, popen)
 *  11. filter stages   (a C function in the pipeline)
 *  12. tee and connect (one output to several destinations)
 *  13. other machines  (whelk_remote, whelk_pipeline_remote)
 *
 * Conventions that hold for every function below:
 *   - Setters copy the strings and bytes they are given; the caller keeps
 *     ownership of its own buffers and descriptors.
 *   - Builder calls (whelk_cmd_*, whelk_pipeline_* setters) never fail
 *     loudly: a bad argument or a failed allocation is remembered in the
 *     object, and the run that uses it fails with that error
 *     (WHELK_E_INVALID or WHELK_E_NOMEM) before anything is spawned.
 *     Passing NULL as the object makes a setter do nothing.
 *   - Every *_free function accepts NULL.
 *   - The library never exits, aborts or prints, installs no signal
 *     handler, changes no signal disposition, reaps only the children it
 *     spawned (never waitpid(-1)), and makes every descriptor close-on-exec
 *     and above 2 (a host may have closed 0, 1 or 2).  A child sees fds 0,
 *     1 and 2 and nothing else.
 *   - Calls a kernel or a seccomp profile refuses (clone with CLONE_PIDFD,
 *     clone3, close_range, pidfd_open, pidfd_send_signal: ENOSYS or EPERM)
 *     are replaced by the older way (posix_spawn or fork and exec, waitid
 *     polling, kill of a stage not yet reaped), decided once per process.
 *   - Distinct objects may be used from distinct threads at the same time.
 *     A pipeline is not modified by running it, so one pipeline may be run
 *     by several threads at once as long as no thread changes it meanwhile.
 *     Like posix_spawn, a run reads the host's environ and PATH (and
 *     nl_langinfo(CODESET) for the "locale" encoding): a host thread
 *     calling setenv or setlocale at the same moment races with it.
 */
#ifndef WHELK_H
#define WHELK_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(WHELK_BUILDING) && defined(__GNUC__)
#define WHELK_API __attribute__((visibility("default")))
#else
#define WHELK_API
#endif

#if defined(__GNUC__)
#define WHELK_SENTINEL __attribute__((sentinel))
#else
#define WHELK_SENTINEL
#endif

/* ===================================================================== */
/* 1. Versions and constants                                              */
/* ===================================================================== */

#define WHELK_VERSION_MAJOR 0
#define WHELK_VERSION_MINOR 2
#define WHELK_VERSION_PATCH 0
/* 0xMMmmpp: compare with >= to require a version at compile time. */
#define WHELK_VERSION_NUM                                                  \
    ((WHELK_VERSION_MAJOR << 16) | (WHELK_VERSION_MINOR << 8) |            \
     WHELK_VERSION_PATCH)

/*
 * whelk_version -- the version of the library linked at run time.
 *
 * Returns a static string such as "0.1.0"; if num is not NULL, *num is set
 * to the WHELK_VERSION_NUM of the library (which may differ from the header
 * the caller was compiled with).  Never fails.
 */
WHELK_API const char *whelk_version(unsigned *num);

/* Stream bits: which output of a stage. */
#define WHELK_STDOUT 1
#define WHELK_STDERR 2

/*
 * Destinations for stdin, stdout and stderr.  Which are valid where is
 * stated by each setter; an invalid one is WHELK_E_INVALID at run time.
 *
 *   WHELK_CAPTURE    read by the library and kept in the result (default
 *                    for stdout and stderr)
 *   WHELK_NULL       /dev/null (default for stdin)
 *   WHELK_INHERIT    the host's own descriptor 0, 1 or 2
 *   WHELK_TO_STDOUT  stderr only: 2>&1, into the stage's stdout
 *   WHELK_TO_STDERR  pipeline stdout only: 1>&2, the last stage's stdout
 *                    goes wherever its stderr goes
 *   WHELK_STREAM     read by the library and given to callbacks, but not
 *                    kept in the result: memory does not grow with output
 *   WHELK_PULL       pipeline stdout only: the host reads it through the
 *                    handle (whelk_proc_read, _read_line, _peek, the
 *                    stdout stream, whelk_popen "r")
 *   WHELK_FEED       pipeline stdin only: the host writes it through the
 *                    handle (whelk_proc_write, the stdin stream,
 *                    whelk_popen "w")
 */
#define WHELK_CAPTURE 16
#define WHELK_NULL 17
#define WHELK_INHERIT 18
#define WHELK_TO_STDOUT 19
#define WHELK_TO_STDERR 20
#define WHELK_STREAM 21
#define WHELK_PULL 22
#define WHELK_FEED 23

/* Error kinds: whelk_error_kind().  Zero is never a kind. */
enum whelk_error_kind {
    WHELK_E_INVALID = 1, /* bad arguments; nothing was spawned */
    WHELK_E_NOMEM,       /* an allocation failed */
    WHELK_E_NOTFOUND,    /* the program was not found (errno ENOENT) */
    WHELK_E_EXEC,        /* found but could not be started, or bad cwd */
    WHELK_E_IO,          /* a redirection file, pipe, read or write failed */
    WHELK_E_EXIT,        /* a stage exited with a status not allowed */
    WHELK_E_SIGNAL,      /* a stage was killed by a signal */
    WHELK_E_TIMEOUT,     /* the deadline passed; the run was killed */
    WHELK_E_DECODE,      /* invalid input under WHELK_DECODE_STRICT */
    WHELK_E_ABORTED,     /* stopped: a callback returned non-zero, or
                            whelk_proc_cancel (errno ECANCELED) */
    WHELK_E_TRANSPORT    /* a remote run's transport failed (whelk_remote) */
};

/* "No particular stage": whelk_error_stage() of a run-wide error. */
#define WHELK_NO_STAGE ((size_t)-1)

/* Decoding policies for whelk_pipeline_decode(). */
#define WHELK_DECODE_STRICT 0
#define WHELK_DECODE_REPLACE 1

/* Flags of a whelk_line. */
#define WHELK_LINE_NO_EOL 1u /* last line of a stream, had no newline */
#define WHELK_LINE_CUT 2u    /* a piece of a line longer than max_line;
                                more of the same line follows */

/* Return value of an on_exit hook: run the pipeline again. */
#define WHELK_RETRY 1

typedef struct whelk_cmd whelk_cmd;
typedef struct whelk_pipeline whelk_pipeline;
typedef struct whelk_result whelk_result;
typedef struct whelk_error whelk_error;
typedef struct whelk_proc whelk_proc;
typedef struct whelk_shell whelk_shell;

/* ===================================================================== */
/* 2. Commands                                                            */
/* ===================================================================== */

/*
 * whelk_cmd_new -- a command: program, then its arguments, then NULL.
 *
 * The program is looked up in PATH (the command's own PATH if it sets one
 * with whelk_cmd_setenv, else the host's) unless it contains a '/'.  argv[0]
 * of the child is the program as given.  The strings are copied.
 *
 * Returns a new command owned by the caller (whelk_cmd_free), or by the
 * pipeline it is given to.  Never returns NULL: when memory is exhausted
 * it returns a read-only placeholder that setters ignore, whelk_cmd_free
 * accepts and whelk_pipe turns into WHELK_E_NOMEM at run time, so that
 * whelk_pipe(whelk_cmd_new(...), whelk_cmd_new(...), NULL) is safe.  A
 * NULL program gives a command whose run fails with WHELK_E_INVALID.
 */
WHELK_API whelk_cmd *whelk_cmd_new(const char *program, ...) WHELK_SENTINEL;

/*
 * whelk_cmd_newv -- like whelk_cmd_new (never NULL), from a NULL-terminated
 * array (argv[0] is the program).  An empty or NULL array is remembered as
 * WHELK_E_INVALID.
 */
WHELK_API whelk_cmd *whelk_cmd_newv(const char *const *argv);

/* whelk_cmd_arg -- append one argument (copied).  NULL is WHELK_E_INVALID. */
WHELK_API void whelk_cmd_arg(whelk_cmd *cmd, const char *arg);

/*
 * whelk_cmd_setenv -- set (value != NULL) or unset (value == NULL) one
 * environment variable of the child, on top of the host's environment (or
 * of nothing, after whelk_cmd_clearenv).  Later calls for the same name win.
 * A NULL or empty name, or one holding '=', is WHELK_E_INVALID.
 */
WHELK_API void whelk_cmd_setenv(whelk_cmd *cmd, const char *name,
                                const char *value);

/*
 * whelk_cmd_clearenv -- start the child's environment empty instead of from
 * the host's; only variables set afterwards with whelk_cmd_setenv remain.
 */
WHELK_API void whelk_cmd_clearenv(whelk_cmd *cmd);

/*
 * whelk_cmd_chdir -- run the command in dir (copied).  A directory that does
 * not exist or cannot be entered fails the run with WHELK_E_EXEC naming it.
 * A relative program path ("./tool") is relative to dir, as in execve after
 * chdir.  NULL undoes a previous call.
 */
WHELK_API void whelk_cmd_chdir(whelk_cmd *cmd, const char *dir);

/*
 * whelk_cmd_stderr -- where the command's stderr goes: WHELK_CAPTURE
 * (default: kept in the result, in arrival order with other stages'),
 * WHELK_STREAM (to callbacks only), WHELK_NULL, WHELK_INHERIT, or
 * WHELK_TO_STDOUT (2>&1: for a middle stage, down the pipe into the next
 * stage, as in the shell).  Anything else is WHELK_E_INVALID.
 */
WHELK_API void whelk_cmd_stderr(whelk_cmd *cmd, int dest);

/*
 * whelk_cmd_stderr_file -- send stderr to the file at path, truncated
 * (append == 0) or appended to, created with mode 0666 & ~umask.  A file
 * that cannot be opened fails the run with WHELK_E_IO naming it, before
 * anything is spawned.
 */
WHELK_API void whelk_cmd_stderr_file(whelk_cmd *cmd, const char *path,
                                     int append);

/*
 * whelk_cmd_stderr_fd -- send stderr to the caller's descriptor fd, which
 * must stay open until the run has been started; the caller keeps it.
 */
WHELK_API void whelk_cmd_stderr_fd(whelk_cmd *cmd, int fd);

/*
 * whelk_cmd_ok_codes -- the exit codes that count as success for this
 * command when checking is on (default: just 0).  The n codes are copied;
 * n == 0 restores the default.  `grep` and `diff` use {0, 1}.
 */
WHELK_API void whelk_cmd_ok_codes(whelk_cmd *cmd, const int *codes, size_t n);

/*
 * whelk_cmd_new_argstr -- like whelk_cmd_new (never NULL), from one string
 * of words with POSIX sh quoting: a command from configuration such as
 * $PAGER, $EDITOR or git's core.pager ("less -R", "vim -c 'set ft=diff'").
 *
 * Words are split as sh's lexer splits them, with no expansion of any
 * kind: blanks (space, tab) and unquoted newlines separate words; '...'
 * keeps every byte; inside "...", a backslash before $ ` " \ gives that
 * character (before anything else it stays); an unquoted backslash gives
 * the next byte; a backslash-newline is removed.  $, `, *, ?, [ and ~ are
 * ordinary characters (nothing is expanded, no file name is globbed), and
 * VAR=value in front is not an assignment: the first word is the program.
 * The string is copied.
 *
 * Refused, as WHELK_E_INVALID (errno EINVAL) when the command is run: a
 * NULL string, one with no word (""), an unterminated quote, a trailing
 * backslash, and what only a shell can run -- an unquoted | & ; < > ( )
 * or a # that starts a word.  Run such strings with
 * whelk_cmd_new("sh", "-c", words, NULL), knowing that sh expands them.
 */
WHELK_API whelk_cmd *whelk_cmd_new_argstr(const char *words);

/*
 * whelk_cmd_dup -- a copy of cmd with every setting (argv, environment
 * changes, cwd, stderr, ok codes, child setup), owned by the caller: a
 * template to make many similar commands from.  A descriptor given with
 * whelk_cmd_stderr_fd or whelk_cmd_fd is shared, not duplicated: the
 * caller still keeps it open.  A problem remembered by cmd is remembered
 * by the copy.  Never NULL (see whelk_cmd_new); a NULL cmd gives a copy
 * whose run fails with WHELK_E_INVALID.
 */
WHELK_API whelk_cmd *whelk_cmd_dup(const whelk_cmd *cmd);

/*
 * whelk_cmd_unset_git_env -- unset, for this command, the variables that
 * tie git to one repository: GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE,
 * GIT_OBJECT_DIRECTORY, GIT_COMMON_DIR, GIT_CONFIG_PARAMETERS and the
 * rest of what `git rev-parse --local-env-vars` prints.  A program run
 * from a git hook inherits them, and every `git` it starts would then work
 * on the hook's repository whatever its cwd or -C says.  Equivalent to
 * whelk_cmd_setenv(cmd, name, NULL) for each of them.
 */
WHELK_API void whelk_cmd_unset_git_env(whelk_cmd *cmd);

/*
 * Child setup.  What the child does between clone and exec, besides
 * descriptors 0-2, the cwd and the process group: each step is a raw
 * system call in the child, and a step that fails stops the child before
 * exec and fails the run with WHELK_E_EXEC, its errno, and a message that
 * names the step ("setting the user id (setuid) failed: Operation not
 * permitted"); nothing is printed, no exit status is invented.  The order
 * in the child: descriptors, resource limits, nice, umask, groups, group
 * id, user id, the parent-death signal, the working directory, exec.
 *
 * Where the fast spawn path (clone) is unavailable, a command that uses
 * any of these is started with fork and the same system calls rather than
 * with posix_spawn, which can do none of them but the descriptors: the
 * results are the same, the cost is that of fork (the host's page tables
 * are copied).  A command that uses none of them is started as before.
 */

/*
 * whelk_cmd_fd -- the child sees the host's descriptor host_fd as its
 * descriptor child_fd (>= 3), and still nothing else it was not given: a
 * jobserver pipe for make, a status pipe for `gpg --status-fd 3`, data on
 * fd 3 for a program that reads it.  The caller keeps host_fd, which must
 * be open when the run starts (it is duplicated then; the caller may close
 * it once whelk_run or whelk_start has returned).  Several per command; a
 * later call for the same child_fd wins.  Any mapping works, sources and
 * targets may cross (3 -> 4 and 4 -> 3 at once; host_fd 1 as child 3).
 *
 * child_fd < 3 is WHELK_E_INVALID (EINVAL); a host_fd that is negative or
 * not open when the run starts is WHELK_E_INVALID with errno EBADF, and a
 * child_fd not below the host's RLIMIT_NOFILE is WHELK_E_INVALID with
 * EINVAL, before anything runs.
 */
WHELK_API void whelk_cmd_fd(whelk_cmd *cmd, int child_fd, int host_fd);

/*
 * whelk_cmd_rlimit -- set the child's resource limit (RLIMIT_NOFILE,
 * RLIMIT_CORE, RLIMIT_CPU, ... of <sys/resource.h>) to soft and hard
 * (RLIM_INFINITY for none), as setrlimit(2).  A later call for the same
 * resource wins.  An unknown resource or soft > hard is WHELK_E_INVALID;
 * raising a hard limit without privilege fails the run with WHELK_E_EXEC
 * (EPERM).
 */
WHELK_API void whelk_cmd_rlimit(whelk_cmd *cmd, int resource,
                                unsigned long long soft,
                                unsigned long long hard);

/* whelk_cmd_umask -- the child's umask (0 to 0777; more bits are
 * WHELK_E_INVALID).  Without it the child inherits the host's. */
WHELK_API void whelk_cmd_umask(whelk_cmd *cmd, unsigned mask);

/*
 * whelk_cmd_nice -- add increment to the child's nice value (the host's,
 * at spawn time), like nice(1): the result is kept within -20..19.  A
 * negative result below the host's needs privilege (CAP_SYS_NICE), else
 * the run fails with WHELK_E_EXEC (EACCES or EPERM).
 */
WHELK_API void whelk_cmd_nice(whelk_cmd *cmd, int increment);

/*
 * whelk_cmd_user -- run the child as uid and gid: setgroups({gid}), then
 * setgid(gid), then setuid(uid), in that order, so a root host drops every
 * privilege (no supplementary group is kept).  The working directory is
 * entered and the program executed as that user.  A host without the
 * privilege (not root, no CAP_SETUID/CAP_SETGID) gets WHELK_E_EXEC with
 * errno EPERM from the run.  (uid_t)-1 or (gid_t)-1 is WHELK_E_INVALID.
 */
WHELK_API void whelk_cmd_user(whelk_cmd *cmd, uid_t uid, gid_t gid);

/* whelk_cmd_free -- free a command that was not given to a pipeline. */
WHELK_API void whelk_cmd_free(whelk_cmd *cmd);

/* ===================================================================== */
/* 3. Pipelines                                                           */
/* ===================================================================== */

/*
 * whelk_pipe -- a pipeline of the given commands, then NULL: the stdout of
 * each feeds the stdin of the next.  Takes ownership of the commands (even
 * when it fails).  Defaults: stdin /dev/null, stdout and every stage's
 * stderr captured, checking on, no timeout.
 *
 * Never returns NULL: when memory is exhausted it returns a read-only
 * placeholder pipeline whose run fails with WHELK_E_NOMEM (setters ignore
 * it, whelk_pipeline_free accepts it).  A command that could not be
 * allocated is remembered as WHELK_E_NOMEM.  NULL ends the list; a NULL
 * first command is remembered as WHELK_E_NOMEM too (and the arguments
 * after it are not read, so commands there are not taken).
 */
WHELK_API whelk_pipeline *whelk_pipe(whelk_cmd *first, ...) WHELK_SENTINEL;

/* whelk_pipeline_new -- an empty pipeline; add stages with _add.  Never
 * NULL (see whelk_pipe). */
WHELK_API whelk_pipeline *whelk_pipeline_new(void);

/*
 * whelk_pipeline_add -- append a stage, taking ownership of cmd.  A NULL
 * cmd is remembered as WHELK_E_NOMEM.  A pipeline with no stage fails its
 * run with WHELK_E_INVALID.
 */
WHELK_API void whelk_pipeline_add(whelk_pipeline *p, whelk_cmd *cmd);

/* whelk_pipeline_ncmds -- the number of stages. */
WHELK_API size_t whelk_pipeline_ncmds(const whelk_pipeline *p);

/*
 * whelk_pipeline_cmd -- the command of a stage (0-based), still owned by
 * the pipeline; NULL when stage is out of range.
 */
WHELK_API whelk_cmd *whelk_pipeline_cmd(whelk_pipeline *p, size_t stage);

/* whelk_pipeline_stdin_bytes -- feed len bytes (copied) to stage 0. */
WHELK_API void whelk_pipeline_stdin_bytes(whelk_pipeline *p, const void *data,
                                          size_t len);

/*
 * whelk_pipeline_stdin_file -- stage 0 reads the file at path.  A file that
 * cannot be opened fails the run with WHELK_E_IO naming it.  A FIFO is
 * opened within the run's deadline (see whelk_pipeline_timeout).
 */
WHELK_API void whelk_pipeline_stdin_file(whelk_pipeline *p, const char *path);

/* whelk_pipeline_stdin_fd -- stage 0 reads the caller's descriptor. */
WHELK_API void whelk_pipeline_stdin_fd(whelk_pipeline *p, int fd);

/* whelk_pipeline_stdin -- WHELK_NULL (default), WHELK_INHERIT, or
 * WHELK_FEED (the host writes it while the run goes: whelk_proc_write). */
WHELK_API void whelk_pipeline_stdin(whelk_pipeline *p, int dest);

/*
 * whelk_pipeline_stdout -- where the last stage's stdout goes:
 * WHELK_CAPTURE (default), WHELK_STREAM, WHELK_NULL, WHELK_INHERIT,
 * WHELK_TO_STDERR (1>&2: wherever the last stage's stderr goes), or
 * WHELK_PULL (the host reads it while the run goes: whelk_proc_read).
 */
WHELK_API void whelk_pipeline_stdout(whelk_pipeline *p, int dest);

/*
 * whelk_pipeline_stdout_file -- the last stage writes to the file at path,
 * truncated (append == 0) or appended to.  Unopenable: WHELK_E_IO.
 */
WHELK_API void whelk_pipeline_stdout_file(whelk_pipeline *p, const char *path,
                                          int append);

/* whelk_pipeline_stdout_fd -- the last stage writes to the caller's fd. */
WHELK_API void whelk_pipeline_stdout_fd(whelk_pipeline *p, int fd);

/*
 * whelk_pipeline_check -- checking on (default) or off.  With checking on,
 * a run fails with WHELK_E_EXIT or WHELK_E_SIGNAL if any stage failed: it
 * exited with a code not in its ok codes, or was killed by a signal --
 * except a stage killed by SIGPIPE while every stage after it succeeded
 * (`yes | head -n 1` succeeds).  The error names the first stage that
 * failed on its own.  With checking off only run-wide failures (timeout,
 * decoding, abort, I/O) are errors; statuses are in the result.
 */
WHELK_API void whelk_pipeline_check(whelk_pipeline *p, int on);

/*
 * whelk_pipeline_capture_limit -- keep at most bytes of captured stdout and
 * at most bytes of captured stderr (0, the default: no limit).  Output past
 * the limit is still read (so children never block) and still given to
 * callbacks, but not kept; whelk_result_truncated() says so.
 */
WHELK_API void whelk_pipeline_capture_limit(whelk_pipeline *p, size_t bytes);

/*
 * whelk_pipeline_pgroup -- start the stages in one new process group (on,
 * the default) so that a timeout or whelk_proc_kill reaches grandchildren
 * too.  Turn it off for interactive programs that must stay in the
 * terminal's foreground process group (an editor on an inherited tty).
 */
WHELK_API void whelk_pipeline_pgroup(whelk_pipeline *p, int on);

/*
 * whelk_pipeline_tostring -- the pipeline as a shell reads it, with env
 * changes, cwd and redirections, every word quoted so that `sh -c` runs the
 * same thing: cd /repo && LC_ALL=C git log 2>/dev/null | head -n 5 > out.
 * It runs nothing but the pipeline whatever bytes the arguments, env names
 * and values, directories and program paths hold: env changes a shell
 * cannot make exactly (cleared, unset, odd or shell-special names) and
 * programs named like builtins go through env(1); a program whose path
 * holds '=' through `nice -n 0` (env takes it for an assignment).
 * The default stdin (/dev/null) is not shown.  A `cd dir &&` prefix is
 * used when every stage has the same cwd, else each stage with a cwd of its
 * own is rendered as a subshell `(cd dir && cmd)`.  Input bytes of up to
 * 256 bytes are rendered as printf '%s' '...' | ... (with octal escapes
 * when they hold NUL); longer input is abbreviated, in a form sh refuses.
 * A filter stage is shown as name(), which sh refuses too.
 *
 * Returns a string the caller frees with free(), or NULL if memory is
 * exhausted.
 */
WHELK_API char *whelk_pipeline_tostring(const whelk_pipeline *p);

/*
 * whelk_pipeline_dup -- a copy of p with copies of its commands and every
 * setting (stdin bytes copied; callbacks, hooks and their userdata, and
 * caller descriptors shared), owned by the caller.  Never NULL (see
 * whelk_pipe); a NULL p gives a copy whose run fails with WHELK_E_INVALID.
 */
WHELK_API whelk_pipeline *whelk_pipeline_dup(const whelk_pipeline *p);

/*
 * whelk_pipeline_free -- free the pipeline and its commands.  It must not
 * be running (a whelk_proc started from it must have been waited for).
 */
WHELK_API void whelk_pipeline_free(whelk_pipeline *p);

/* ===================================================================== */
/* 4. Streaming, decoding and hooks                                       */
/* ===================================================================== */

/*
 * One line of output.  text is without its line ending ("\n", or "\r\n"
 * removed whole), NUL-terminated, and valid only during the callback.
 * A decoded stream's text is UTF-8.
 */
typedef struct whelk_line {
    size_t stage;   /* which command wrote it */
    int stream;     /* WHELK_STDOUT or WHELK_STDERR */
    const char *text;
    size_t len;
    unsigned flags; /* WHELK_LINE_NO_EOL, WHELK_LINE_CUT */
} whelk_line;

/* A line callback: return 0 to go on; non-zero stops the run at once (the
 * stages are killed with SIGKILL and reaped, nothing more reaches a
 * callback) and it fails with WHELK_E_ABORTED, errno ECANCELED, naming the
 * first stage still running then; whelk_error_callback_value gives back
 * the value returned.  A callback may run other pipelines, but
 * whelk_proc_step, whelk_proc_wait and the read and write calls on the run
 * that called it are refused (EINVAL, WHELK_E_INVALID); whelk_proc_kill,
 * whelk_proc_cancel and whelk_proc_pid are allowed. */
typedef int (*whelk_line_fn)(const whelk_line *line, void *userdata);

/*
 * whelk_pipeline_on_line -- call fn for every line of the given streams
 * (WHELK_STDOUT, WHELK_STDERR or both), in the order the lines arrived at
 * the host, from the thread that runs the pipeline.  A stream goes to the
 * callback only if it is read by the library (WHELK_CAPTURE or
 * WHELK_STREAM).  Stderr merged into stdout (WHELK_TO_STDOUT) is stdout.
 * One callback per pipeline; NULL fn removes it.
 */
WHELK_API void whelk_pipeline_on_line(whelk_pipeline *p, int streams,
                                      whelk_line_fn fn, void *userdata);

/*
 * whelk_pipeline_max_line -- lines longer than bytes (default 1 MiB) are
 * delivered in pieces of bytes, all but the last flagged WHELK_LINE_CUT;
 * a line of exactly bytes is delivered whole.  In a decoded stream a piece
 * ends at a character boundary, so it may be up to 3 bytes shorter.
 * Streaming memory is O(bytes).  0 is WHELK_E_INVALID.
 */
WHELK_API void whelk_pipeline_max_line(whelk_pipeline *p, size_t bytes);

/*
 * Raw output as read, before decoding.  After the last chunk of a stream,
 * one more call with eof = 1, data = NULL and len = 0.
 */
typedef struct whelk_chunk {
    size_t stage;
    int stream;       /* WHELK_STDOUT or WHELK_STDERR */
    const void *data; /* valid only during the call */
    size_t len;
    int eof;
} whelk_chunk;
typedef int (*whelk_chunk_fn)(const whelk_chunk *chunk, void *userdata);

/* whelk_pipeline_on_chunk -- a raw chunk callback, like on_line. */
WHELK_API void whelk_pipeline_on_chunk(whelk_pipeline *p, int streams,
                                       whelk_chunk_fn fn, void *userdata);

/*
 * whelk_pipeline_decode -- convert the given streams from encoding to UTF-8
 * before lines are split and output is captured.  "locale" means the host's
 * charset (nl_langinfo(CODESET)); NULL turns decoding off for the streams.
 * Policy WHELK_DECODE_STRICT: invalid input stops the run with
 * WHELK_E_DECODE naming the stream, stage and byte offset.
 * WHELK_DECODE_REPLACE: each invalid sequence becomes U+FFFD.  An encoding
 * iconv does not know is WHELK_E_INVALID before anything is spawned (when
 * no descriptor is free to load its converter: WHELK_E_IO, EMFILE).
 */
WHELK_API void whelk_pipeline_decode(whelk_pipeline *p, int streams,
                                     const char *encoding, int policy);

/*
 * whelk_pipeline_stdin_encoding -- stdin bytes given as UTF-8 are converted
 * to encoding before they are written.  Text that cannot be converted is
 * WHELK_E_DECODE before anything is spawned.
 */
WHELK_API void whelk_pipeline_stdin_encoding(whelk_pipeline *p,
                                             const char *encoding);

/* whelk_pipeline_on_start -- fn(p, userdata) before every attempt. */
WHELK_API void whelk_pipeline_on_start(whelk_pipeline *p,
                                       void (*fn)(const whelk_pipeline *,
                                                  void *),
                                       void *userdata);

/*
 * whelk_pipeline_on_exit -- fn(result, error, userdata) after every attempt:
 * (result, NULL) on success, (the result if the run finished, error) on
 * failure, a failure to start included.  Both are borrowed for the call.
 * Return WHELK_RETRY to run the pipeline again (the caller bounds the
 * retries), 0 to let the outcome stand.
 */
WHELK_API void whelk_pipeline_on_exit(whelk_pipeline *p,
                                      int (*fn)(const whelk_result *,
                                                const whelk_error *, void *),
                                      void *userdata);

/* ===================================================================== */
/* 5. Running                                                             */
/* ===================================================================== */

/*
 * whelk_pipeline_timeout -- a deadline for the whole run, in milliseconds
 * from its start (0, the default: none), opening its redirection files
 * included: a FIFO given as stdin_file, stdout_file, stderr_file or
 * tee_file whose other end nobody opens fails the run with WHELK_E_TIMEOUT
 * at the deadline, before anything is spawned (without a deadline,
 * opening a FIFO waits for its other end, as in sh); a tee's writes wait
 * no longer than the deadline either (section 12).  At the deadline the
 * process group gets SIGTERM, then SIGKILL after the grace period; the run
 * fails with WHELK_E_TIMEOUT (errno ETIMEDOUT) and the error's result
 * holds all output read before.  The error names the first stage still
 * running at the deadline (WHELK_NO_STAGE if none was), and its status is
 * the one the kill gave that stage, as in the result.  Once every stage
 * is reaped the pipes are drained for at most about a second, even when a
 * process that left the group (setsid) still holds them.
 *
 * Without a deadline (or whelk_proc_cancel), a run waits for the end of
 * its output as $(...) does in sh: a background process a stage started
 * that keeps the stdout or stderr pipe open keeps the run waiting after
 * every stage has exited.  Set a timeout, cancel the run, or send such a
 * process's output elsewhere (WHELK_NULL, a file).
 */
WHELK_API void whelk_pipeline_timeout(whelk_pipeline *p, unsigned ms);

/*
 * whelk_pipeline_die_with_host -- on: every stage gets SIGKILL when the
 * host process dies, however it dies (SIGKILL included); off (default):
 * stages outlive a host that dies.  Only the stages themselves: their own
 * children are theirs to handle.  The promise holds for the process, not
 * the thread: a pipeline started from a short-lived thread, or by
 * whelk_run_many, is not killed when that thread exits, because such a
 * run's stages are spawned by a thread of the run's own that lives until
 * every stage is reaped (PR_SET_PDEATHSIG fires when the spawning thread
 * exits).  A host that dies between the spawn and the child's request for
 * the signal is seen by the child, which then does not run.  A stage that
 * executes a set-user-ID program loses the signal (the kernel clears it).
 *
 * The host calling fork() while such a run is in flight: the run stays
 * the parent's.  Its stages are the parent's children and die with the
 * parent process -- not with the forked child, and a forked child that
 * lives on does not keep them alive.  In the forked child the handle is a
 * copy that must not be used (no whelk_proc_* call, no free): the child
 * has only the thread that called fork(), not the run's spawning thread,
 * so freeing it would join a thread that does not exist there, and in the
 * child of a multithreaded process (that thread makes the host one) only
 * async-signal-safe calls are allowed until exec; its stages are not the
 * child's children (their statuses cannot be collected); its pipes and
 * pidfds are the parent's (reading would take the parent's output, a kill
 * or cancel would reach the parent's stages).  The child should exec or
 * _exit, leaving the handle alone; the run's descriptors are
 * close-on-exec, but until then the child holds them open (a fed stdin
 * then sees no end of input).
 */
WHELK_API void whelk_pipeline_die_with_host(whelk_pipeline *p, int on);

/* whelk_pipeline_kill_grace -- ms between SIGTERM and SIGKILL (2000). */
WHELK_API void whelk_pipeline_kill_grace(whelk_pipeline *p, unsigned ms);

/*
 * whelk_run -- run the pipeline to completion: start it, move all data,
 * wait for every stage, apply checking and the hooks.
 *
 * Returns a result owned by the caller (whelk_result_free), or NULL and, if
 * err is not NULL, *err set to an error owned by the caller
 * (whelk_error_free).  Does not consume or modify p: run it again to retry.
 */
WHELK_API whelk_result *whelk_run(whelk_pipeline *p, whelk_error **err);

/*
 * whelk_sh -- run one command with the defaults and return its result:
 * whelk_sh(&err, "git", "rev-parse", "HEAD", NULL).  Errors as whelk_run.
 */
WHELK_API whelk_result *whelk_sh(whelk_error **err, const char *program, ...)
    WHELK_SENTINEL;

/*
 * whelk_sh_ok -- whelk_sh, with the n exit codes (copied) that count as
 * success for this one call: for programs that answer with their exit
 * code, like `git diff --quiet` (1: there are changes) or `git config
 * --get` (1: the key is not set).  Checking is on; any other code, or a
 * signal, is an error as usual; n == 0 means just 0.  With WHELK_CODES:
 *     r = whelk_sh_ok(&err, WHELK_CODES(0, 1), "git", "diff", "--quiet", NULL);
 *     ... whelk_result_exit_code(r, 0) is the answer
 */
WHELK_API whelk_result *whelk_sh_ok(whelk_error **err, const int *codes,
                                    size_t n, const char *program, ...)
    WHELK_SENTINEL;

/* WHELK_CODES(0, 1) -- the codes, count arguments of whelk_sh_ok and
 * whelk_shell_sh_ok (a C99 compound literal: C only). */
#define WHELK_CODES(...)                                                   \
    ((const int[]){__VA_ARGS__}),                                          \
        (sizeof((const int[]){__VA_ARGS__}) / sizeof(int))

/*
 * whelk_sh_unchecked -- whelk_sh with checking off for this one call: any
 * exit status or signal gives a result (read it with
 * whelk_result_exit_code and whelk_result_signal); only what stops the
 * run itself is an error (the program not found, a timeout, ...).
 */
WHELK_API whelk_result *whelk_sh_unchecked(whelk_error **err,
                                           const char *program, ...)
    WHELK_SENTINEL;

/*
 * whelk_start -- start the pipeline and return a handle to the run in
 * progress, or NULL and *err.  p must outlive the handle and must not be
 * changed until the handle is waited for.  Calls on_start.
 */
WHELK_API whelk_proc *whelk_start(whelk_pipeline *p, whelk_error **err);

/*
 * whelk_proc_fd -- a descriptor that becomes readable when whelk_proc_step
 * has work to do (data, an exited stage, the deadline): put it in poll,
 * epoll or an event loop.  Owned by the handle.  -1 if it could not be
 * made (then drive the run with whelk_proc_step timeouts).  Readable means
 * there is work, also when the host forks while the run is in flight (a
 * descriptor the run closes leaves the set first).
 */
WHELK_API int whelk_proc_fd(const whelk_proc *proc);

/*
 * whelk_proc_step -- move data, run callbacks and reap, waiting at most
 * timeout_ms (-1: until something happens, 0: not at all).  Returns 1 when
 * the run has finished (call whelk_proc_wait for the outcome), 0 while it
 * is running, -1 with errno EINVAL if the handle is NULL or the call comes
 * from a callback of this same run.
 */
WHELK_API int whelk_proc_step(whelk_proc *proc, int timeout_ms);

/*
 * whelk_proc_kill -- send sig to the run's process group (or to each
 * unreaped stage, without a group).  Safe against pid reuse, and harmless
 * (returns 0) after the stages are reaped.  It only sends the signal: a
 * stage that dies of it died of a signal (WHELK_E_SIGNAL with checking
 * on), and one that had already exited keeps its status; to stop a run
 * whatever its stages do, use whelk_proc_cancel.  Returns 0 or an errno
 * value (EINVAL for a NULL handle).
 */
WHELK_API int whelk_proc_kill(whelk_proc *proc, int sig);

/*
 * whelk_proc_cancel -- stop the run now: its process group (or each stage,
 * without a group) gets SIGTERM, and SIGKILL after the kill grace; nothing
 * more reaches a callback, and once the stages are reaped the remaining
 * output is dropped (a process that left the group cannot hold the run).
 * It does not block: the handle's wait (or steps) finish the stop.  The
 * wait then fails with WHELK_E_ABORTED, errno ECANCELED, whatever the
 * stages do -- even when they had already finished before the cancel --
 * naming the first stage still running at the cancel (WHELK_NO_STAGE if
 * none was) with the status the stop gave it; the error's result holds the
 * output read before.  A run already stopping (its deadline passed) keeps
 * that outcome.  May be called from a callback of the run.  Returns 0, or
 * an errno value (EINVAL for a NULL handle).
 */
WHELK_API int whelk_proc_cancel(whelk_proc *proc);

/* whelk_proc_pid -- the pid of a stage, or -1 out of range. */
WHELK_API pid_t whelk_proc_pid(const whelk_proc *proc, size_t stage);

/*
 * whelk_proc_wait -- finish the run (blocking), apply checking and the
 * on_exit hook, and free the handle.  Returns as whelk_run.  A retry that
 * on_exit asks for runs the new attempt to completion inside this call
 * (and a failed start that on_exit retries, inside whelk_start): an event
 * loop that must never block should not combine retries with whelk_start.
 * Called from a callback of this same run, it is refused: NULL and
 * WHELK_E_INVALID (errno EINVAL), and the handle is left to the running
 * loop.
 */
WHELK_API whelk_result *whelk_proc_wait(whelk_proc *proc, whelk_error **err);

/* ===================================================================== */
/* 6. Results                                                             */
/* ===================================================================== */

/* whelk_result_ncmds -- the number of stages of the run. */
WHELK_API size_t whelk_result_ncmds(const whelk_result *r);

/* whelk_result_exit_code -- exit code of a stage; -1 if it was killed by a
 * signal (or its status is unknown, or stage is out of range). */
WHELK_API int whelk_result_exit_code(const whelk_result *r, size_t stage);

/* whelk_result_signal -- the signal that killed a stage, 0 if it exited. */
WHELK_API int whelk_result_signal(const whelk_result *r, size_t stage);

/*
 * whelk_result_stdout -- captured stdout (decoded, if decoding was on):
 * NUL-terminated, owned by the result; "" if nothing was captured.  If len
 * is not NULL, *len is its length (it may hold NUL bytes).
 */
WHELK_API const char *whelk_result_stdout(const whelk_result *r, size_t *len);

/* whelk_result_stderr -- captured stderr of all capturing stages, in the
 * order it arrived; as whelk_result_stdout. */
WHELK_API const char *whelk_result_stderr(const whelk_result *r, size_t *len);

/* whelk_result_truncated -- the streams (bits) cut by the capture limit. */
WHELK_API int whelk_result_truncated(const whelk_result *r);

/*
 * whelk_result_stdout_line -- the first line of captured stdout without
 * its line ending ("\n" or "\r\n"): what `$(git rev-parse HEAD)` gives a
 * shell script.  The whole output when it has no newline; "" when it is
 * empty.  Returns a new NUL-terminated string the caller frees with
 * free(), its length in *len if len is not NULL; NULL (errno ENOMEM) if
 * memory is exhausted.  r may be NULL (then "").
 */
WHELK_API char *whelk_result_stdout_line(const whelk_result *r, size_t *len);

/*
 * whelk_result_next_record -- the NUL-separated records of captured stdout
 * (the -z output of git ls-files, git status, git diff --name-only; find
 * -print0), one per call, without copying: each record points into the
 * result and is NUL-terminated there.  *pos is where to go on: set it to 0
 * for the first record.  Returns the record (its length in *len if len is
 * not NULL; a record may be empty), or NULL after the last one.  A last
 * record without a terminating NUL is a record too; the NUL ending the
 * output does not start another one.
 *     size_t pos = 0; const char *path;
 *     while ((path = whelk_result_next_record(r, &pos, NULL)) != NULL) ...
 */
WHELK_API const char *whelk_result_next_record(const whelk_result *r,
                                               size_t *pos, size_t *len);

/* whelk_result_free -- free a result. */
WHELK_API void whelk_result_free(whelk_result *r);

/* ===================================================================== */
/* 7. Errors                                                              */
/* ===================================================================== */

/* whelk_error_kind -- an enum whelk_error_kind value (0 for NULL). */
WHELK_API int whelk_error_kind(const whelk_error *e);

/* whelk_error_kind_name -- "WHELK_E_EXIT" etc.; "?" for unknown kinds. */
WHELK_API const char *whelk_error_kind_name(int kind);

/* whelk_error_errno -- the errno behind the error: ENOENT, EACCES, EMFILE,
 * ETIMEDOUT for a timeout, EILSEQ for decoding, EINVAL for bad arguments,
 * ECHILD when a stage's status was taken by someone else (kind WHELK_E_IO),
 * ECANCELED for WHELK_E_ABORTED; 0 for exit statuses and signals. */
WHELK_API int whelk_error_errno(const whelk_error *e);

/* whelk_error_stage -- the stage that failed, or WHELK_NO_STAGE.  After a
 * timeout or an abort: the first stage still running when the library
 * stopped the run (WHELK_NO_STAGE if none was). */
WHELK_API size_t whelk_error_stage(const whelk_error *e);

/*
 * whelk_error_message -- what went wrong, for a person: the command
 * shell-quoted, what happened to it, and the tail of its stderr, e.g.
 * "`sh -c 'exit 3'` exited with status 3: boom".  Owned by the error.
 */
WHELK_API const char *whelk_error_message(const whelk_error *e);

/* whelk_error_command -- the failing stage's command (or the pipeline),
 * shell-quoted; "" if none.  Owned by the error. */
WHELK_API const char *whelk_error_command(const whelk_error *e);

/* whelk_error_exit_code / whelk_error_signal -- of the stage the error
 * names, as in whelk_result_exit_code / whelk_result_signal; -1 / 0 if
 * none.  After a timeout, an abort or a decoding error that is the status
 * the library's own kill gave it (e.g. signal 15 or 9): always the same
 * as that stage's status in whelk_error_result. */
WHELK_API int whelk_error_exit_code(const whelk_error *e);
WHELK_API int whelk_error_signal(const whelk_error *e);

/*
 * whelk_error_callback_value -- the non-zero value the caller's own
 * callback returned that stopped the run, unchanged (42, -7, ...):
 *  - a line callback (whelk_line_fn: whelk_pipeline_on_line,
 *    whelk_shell_on_line) or a chunk callback (whelk_chunk_fn): the error
 *    is WHELK_E_ABORTED, errno ECANCELED, as always;
 *  - a filter function (whelk_filter_fn) whose return ended its stage and
 *    is the failure the error names: the error is WHELK_E_EXIT with that
 *    value as an exit code (1..255; whelk_error_exit_code is 1 for values
 *    outside), and this gives what the function returned.
 * 0 for every other error -- whelk_proc_cancel, a timeout, a signal, a
 * run that was already stopping (its deadline passed, a cancel) when the
 * callback returned -- and for NULL.  Hooks that return nothing or
 * WHELK_RETRY (on_start, on_exit, on_error) never stop a run this way.
 * The value is a plain int: nothing to own or free.
 */
WHELK_API int whelk_error_callback_value(const whelk_error *e);

/* whelk_error_result -- the finished run, if there was one, owned by the
 * error: statuses and every byte read before the failure. */
WHELK_API const whelk_result *whelk_error_result(const whelk_error *e);

/* whelk_error_free -- free an error. */
WHELK_API void whelk_error_free(whelk_error *e);

/* ===================================================================== */
/* 8. Shells: defaults shared by many commands                            */
/* ===================================================================== */

/*
 * A whelk_shell holds defaults that commands and pipelines made through it
 * inherit at the time they are made: env changes, cwd, decoding, checking,
 * timeout, hooks, and an error hook called with every error a run through
 * the shell returns, before it is returned.  Pipelines copy the defaults
 * when they are made: the shell may be freed before them (the hooks'
 * userdata must of course live as long as the pipelines that call them).
 * whelk_shell_new returns NULL if memory is exhausted; the other shell
 * functions then make plain commands and pipelines, without defaults.
 */
WHELK_API whelk_shell *whelk_shell_new(void);
WHELK_API void whelk_shell_free(whelk_shell *sh);

/* Defaults for commands made with whelk_shell_cmd (not for commands made
 * with whelk_cmd_new and given to whelk_shell_pipe): as whelk_cmd_setenv,
 * whelk_cmd_clearenv and whelk_cmd_chdir. */
WHELK_API void whelk_shell_setenv(whelk_shell *sh, const char *name,
                                  const char *value);
WHELK_API void whelk_shell_clearenv(whelk_shell *sh);
WHELK_API void whelk_shell_chdir(whelk_shell *sh, const char *dir);

/* Defaults for pipelines made with whelk_shell_pipe or run by
 * whelk_shell_sh: as the whelk_pipeline_* setters of that name, except
 * that whelk_shell_decode of WHELK_STDOUT sets the stdin encoding too (see
 * whelk_shell_stdin_encoding).  Other settings (kill grace, max line,
 * capture limit, process group, chunk callback) are set on each pipeline. */
WHELK_API void whelk_shell_check(whelk_shell *sh, int on);
WHELK_API void whelk_shell_timeout(whelk_shell *sh, unsigned ms);
WHELK_API void whelk_shell_decode(whelk_shell *sh, int streams,
                                  const char *encoding, int policy);
WHELK_API void whelk_shell_on_line(whelk_shell *sh, int streams,
                                   whelk_line_fn fn, void *userdata);
WHELK_API void whelk_shell_on_start(whelk_shell *sh,
                                    void (*fn)(const whelk_pipeline *, void *),
                                    void *userdata);
WHELK_API void whelk_shell_on_exit(whelk_shell *sh,
                                   int (*fn)(const whelk_result *,
                                             const whelk_error *, void *),
                                   void *userdata);

/*
 * whelk_shell_on_error -- fn(error, userdata) with every error a run made
 * through the shell returns, after on_exit chose not to retry.  The error
 * is borrowed.  See whelk_die_on_error for `set -e`.
 */
WHELK_API void whelk_shell_on_error(whelk_shell *sh,
                                    void (*fn)(const whelk_error *, void *),
                                    void *userdata);

/* whelk_shell_cmd -- a command (program, args, NULL) with the defaults. */
WHELK_API whelk_cmd *whelk_shell_cmd(whelk_shell *sh, const char *program,
                                     ...) WHELK_SENTINEL;

/* whelk_shell_pipe -- a pipeline (commands, NULL) with the defaults; the
 * commands are taken as by whelk_pipe. */
WHELK_API whelk_pipeline *whelk_shell_pipe(whelk_shell *sh, whelk_cmd *first,
                                           ...) WHELK_SENTINEL;

/* whelk_shell_sh -- whelk_sh with the shell's defaults and error hook. */
WHELK_API whelk_result *whelk_shell_sh(whelk_shell *sh, whelk_error **err,
                                       const char *program, ...)
    WHELK_SENTINEL;

/*
 * whelk_shell_ok_codes -- the exit codes (copied) that count as success for
 * commands made with whelk_shell_cmd (and whelk_shell_sh), as
 * whelk_cmd_ok_codes; n == 0 restores just 0.
 */
WHELK_API void whelk_shell_ok_codes(whelk_shell *sh, const int *codes,
                                    size_t n);

/* whelk_shell_sh_ok / whelk_shell_sh_unchecked -- whelk_sh_ok and
 * whelk_sh_unchecked with the shell's defaults and error hook; the call's
 * codes (or checking off) win over the shell's. */
WHELK_API whelk_result *whelk_shell_sh_ok(whelk_shell *sh, whelk_error **err,
                                          const int *codes, size_t n,
                                          const char *program, ...)
    WHELK_SENTINEL;
WHELK_API whelk_result *whelk_shell_sh_unchecked(whelk_shell *sh,
                                                 whelk_error **err,
                                                 const char *program, ...)
    WHELK_SENTINEL;

/*
 * whelk_shell_stdin_encoding -- the stdin encoding of pipelines made
 * through the shell, as whelk_pipeline_stdin_encoding (NULL: bytes go as
 * given).  Until it is called, it follows the shell's stdout decoding:
 * whelk_shell_decode(sh, WHELK_STDOUT, "ISO-8859-1", ...) also converts
 * stdin text from UTF-8 to ISO-8859-1, as whelk's Shell(encoding=...)
 * does, so that text written to `cat` comes back as it was.
 */
WHELK_API void whelk_shell_stdin_encoding(whelk_shell *sh,
                                          const char *encoding);

/* whelk_shell_unset_git_env -- whelk_cmd_unset_git_env for every command
 * made through the shell. */
WHELK_API void whelk_shell_unset_git_env(whelk_shell *sh);

/*
 * whelk_die_on_error -- a ready error hook for script-like tools (`set -e`):
 * prints "<progname>: <message>" to stderr and exits with the failing
 * stage's exit code (1 if none).  It is defined here, in the header, so it
 * runs in the caller's program: the library itself never exits.  Install
 * it with whelk_shell_on_error(sh, whelk_die_on_error, "mytool").
 */
#ifndef WHELK_NO_DIE_HOOK
#include <stdio.h>
#include <stdlib.h>
static inline void whelk_die_on_error(const whelk_error *e, void *progname)
{
    int code = whelk_error_exit_code(e);
    fprintf(stderr, "%s: %s\n", progname ? (const char *)progname : "whelk",
            whelk_error_message(e));
    exit(code > 0 ? code : 1);
}
#endif

/* ===================================================================== */
/* 9. Many at once                                                        */
/* ===================================================================== */

/*
 * whelk_run_many -- run n pipelines with at most max_parallel in flight
 * (like `xargs -P`; 0 means 1), from the calling thread.  results[i] and
 * errors[i] receive the outcome of pipelines[i] as whelk_run would return
 * it (exactly one of them is non-NULL); both arrays are the caller's, the
 * objects put in them are owned by the caller.  Callbacks of all runs fire
 * from the calling thread; an on_exit retry is a new attempt driven with
 * the others, holding none of them up.  Runs that cannot get descriptors
 * (RLIMIT_NOFILE) fail with WHELK_E_IO, errno EMFILE, and the others go
 * on.  Returns the number of runs that failed.
 */
WHELK_API size_t whelk_run_many(whelk_pipeline *const *pipelines, size_t n,
                                size_t max_parallel, whelk_result **results,
                                whelk_error **errors);

/* ===================================================================== */
/* 10. The host drives the data: pull, feed                               */
/* ===================================================================== */

/*
 * With stdout WHELK_PULL and/or stdin WHELK_FEED, the host reads the last
 * stage's output and writes the first stage's input through a whelk_start
 * handle, in its own code and its own thread.  While the host waits in one
 * of the calls below, the run's one loop keeps going: stderr is captured,
 * callbacks are called, stdin bytes are written, stages are reaped and the
 * deadline is watched -- so no size or order of output can deadlock a host
 * that pulls.
 *
 * timeout_ms means what it means for whelk_proc_step: -1 waits as long as
 * it takes, 0 not at all.  When it passes, the call returns -1 with errno
 * EAGAIN and has consumed nothing: never a half line or half a character.
 * The run's own deadline still holds: when it passes, output ends (0) and
 * whelk_proc_wait reports WHELK_E_TIMEOUT.  End of output (0) is not
 * success: whelk_proc_wait gives the verdict.
 *
 * Pulled output is decoded when stdout decoding is on (as a capture would
 * be); it is given neither to callbacks nor to the result.  whelk_proc_wait
 * with output left unread discards the rest by closing the pipe, as `head`
 * does: a last stage that dies of SIGPIPE because of it has not failed.
 * The same with whelk_run or whelk_run_many, which have no handle to pull
 * with (all output is discarded, and a WHELK_FEED stdin is empty).
 *
 * These calls may not be made from a callback of the same run (line,
 * chunk): they fail with EINVAL there.  Pulling and feeding are not
 * thread-safe on one handle; use it from one thread at a time.
 */

/*
 * whelk_proc_read -- read up to n bytes of the run's output into buf.
 * Returns the number of bytes (> 0; decoded text is cut at a character
 * boundary when n allows), 0 at the end of output, or -1 with errno:
 * EAGAIN (timeout_ms passed), EINVAL (proc is NULL, stdout is not
 * WHELK_PULL, or called from a callback of the run).
 */
WHELK_API ssize_t whelk_proc_read(whelk_proc *proc, void *buf, size_t n,
                                  int timeout_ms);

/*
 * whelk_proc_read_line -- the next line of the run's output, with the rules
 * of line callbacks: "\n" or "\r\n" removed, a last line without newline
 * flagged WHELK_LINE_NO_EOL, lines longer than max_line given in pieces
 * flagged WHELK_LINE_CUT, stage the last stage's index, stream
 * WHELK_STDOUT.  line->text is NUL-terminated and valid until the next
 * read, peek or write on the handle.  Returns 1 (a line), 0 (end of
 * output), or -1 with errno as whelk_proc_read.
 */
WHELK_API int whelk_proc_read_line(whelk_proc *proc, whelk_line *line,
                                   int timeout_ms);

/*
 * whelk_proc_peek -- up to n bytes of what the next read returns, without
 * consuming them: *data points into the handle (valid until the next read,
 * peek or write).  Fewer than n only at the end of output.  Returns the
 * number of bytes, or -1 with errno as whelk_proc_read (EAGAIN: fewer than
 * n bytes had arrived when timeout_ms passed).
 */
WHELK_API ssize_t whelk_proc_peek(whelk_proc *proc, const void **data,
                                  size_t n, int timeout_ms);

/*
 * whelk_proc_write -- write up to n bytes to the run's stdin (WHELK_FEED).
 * Takes what fits in the pipe, waiting (and pumping output meanwhile, into
 * a pull the host will read later) while there is no room.  With a stdin
 * encoding, data is UTF-8 converted as it is taken (a character split
 * across two writes is fine).  Returns the number of bytes taken (> 0 when
 * n > 0), or -1 with errno: EPIPE (the first stage no longer reads: never
 * SIGPIPE in the host), EAGAIN (timeout_ms passed, nothing taken), EBADF
 * (stdin was closed with whelk_proc_close_stdin), EILSEQ (not UTF-8, or not
 * representable in the encoding), EINVAL (as whelk_proc_read, for stdin).
 */
WHELK_API ssize_t whelk_proc_write(whelk_proc *proc, const void *data,
                                   size_t n, int timeout_ms);

/*
 * whelk_proc_close_stdin -- end the run's stdin (the first stage sees end
 * of file once the bytes taken are written).  Does not wait.  0, or -1 with
 * errno: EINVAL (stdin is not WHELK_FEED), EILSEQ (the last bytes written
 * were an incomplete UTF-8 character; stdin is closed all the same).
 * Closing twice is harmless.  whelk_proc_wait closes it too.
 */
WHELK_API int whelk_proc_close_stdin(whelk_proc *proc);

/*
 * whelk_proc_stdout_stream -- a FILE (fopencookie) over whelk_proc_read
 * with no timeout: getline, fgets and fread read the run's output.  The
 * caller closes it with fclose, before whelk_proc_wait; fclose does not end
 * the run, but output left unread is discarded (as with whelk_proc_wait).
 * NULL with errno EINVAL when stdout is not WHELK_PULL, ENOMEM.
 */
WHELK_API FILE *whelk_proc_stdout_stream(whelk_proc *proc);

/*
 * whelk_proc_stdin_stream -- a FILE (fopencookie) over whelk_proc_write
 * with no timeout: fprintf and fwrite feed the run.  fclose it (before
 * whelk_proc_wait) to close the run's stdin.  A write after the first
 * stage stopped reading fails with EPIPE (never SIGPIPE).  NULL with errno
 * EINVAL when stdin is not WHELK_FEED, ENOMEM.
 */
WHELK_API FILE *whelk_proc_stdin_stream(whelk_proc *proc);

/*
 * whelk_popen -- popen(3) without a shell: start p and return a FILE that
 * reads its output (mode "r": p's stdout is set to WHELK_PULL) or writes
 * its input (mode "w": p's stdin is set to WHELK_FEED).  The other end
 * stays as p says: stdin /dev/null and stderr captured by default (set
 * WHELK_INHERIT to get popen's sharing of the host's descriptors).  No
 * SIGCHLD handling, no descriptor leaked to other children, and every
 * stage is checked.  p is not taken: it must outlive the FILE and not be
 * changed until whelk_pclose.  Returns NULL and *err (as whelk_start;
 * WHELK_E_INVALID for a mode other than "r" or "w").
 */
WHELK_API FILE *whelk_popen(whelk_pipeline *p, const char *mode,
                            whelk_error **err);

/*
 * whelk_pclose -- close a FILE of whelk_popen and wait for the run: output
 * left unread is discarded (a stage that dies of SIGPIPE because of it has
 * not failed), the fed stdin is closed.  Returns 0, or -1 and *err (owned
 * by the caller) with the run's checked verdict: which stage failed, its
 * status, the tail of its stderr, and the result.  A plain fclose of such
 * a FILE also waits, but drops the verdict.
 */
WHELK_API int whelk_pclose(FILE *stream, whelk_error **err);

/* ===================================================================== */
/* 11. Filter stages: a C function in the pipeline                        */
/* ===================================================================== */

/*
 * A filter stage is a C function placed in a pipeline like a program --
 * first, middle or last -- and run by the run's own loop in the thread that
 * drives the run (whelk_run, whelk_proc_wait, step, read, write), never in
 * a forked child.  The loop reads the stage's input, calls the function
 * with each chunk as it arrives, and writes what the function emits to the
 * stage's output; when the output does not keep up, the input is no longer
 * read (backpressure), so the host's memory stays bounded (256 KiB per
 * filter) whatever the function emits.
 *
 * The function is called with each chunk of input (data, len > 0), then
 * once with data NULL and len 0 at the end of input.  It returns 0 to go
 * on, or non-zero to end the stage as if it had exited with that status
 * (an exit code 1..255; other values count as 1; whelk_error_callback_value
 * gives back the value itself): its input is closed at
 * once, so the stage before it gets EPIPE/SIGPIPE exactly as with a program
 * that stopped reading (which is no failure), and its output is flushed
 * and closed.  Checking treats the status like a program's (ok codes
 * apply) and names the filter by its name and stage.  A filter whose
 * reader went away ends as if killed by SIGPIPE.  A timeout, a cancel or
 * an abort ends a filter as it kills programs (its status is that signal).
 *
 * The function may not call step, wait, read or write on its own run's
 * handle (EINVAL).  whelk_proc_pid of a filter stage is -1; whelk_proc_fd
 * of a run with filter stages is -1 (drive it with whelk_proc_step
 * timeouts).  Environment, cwd and stderr settings of a filter command are
 * ignored.
 */
typedef struct whelk_filter whelk_filter;
typedef int (*whelk_filter_fn)(whelk_filter *out, const void *data, size_t len,
                               void *userdata);

/*
 * whelk_cmd_new_filter -- a filter stage called name (in messages and
 * renderings) running fn(out, data, len, userdata).  Never NULL (as
 * whelk_cmd_new); a NULL or empty name or a NULL fn is WHELK_E_INVALID at
 * run time.  userdata must outlive every run of the pipeline.
 */
WHELK_API whelk_cmd *whelk_cmd_new_filter(const char *name, whelk_filter_fn fn,
                                          void *userdata);

/*
 * whelk_filter_write -- emit len bytes as the filter stage's output, from
 * inside its function.  The bytes are copied; when 256 KiB are waiting the
 * call waits (the loop keeps moving everything else) until the output has
 * room.  0, or -1 with errno: EPIPE (the reader went away: return non-zero
 * or stop emitting), ECANCELED (the run was stopped), EINVAL (out is NULL,
 * data NULL with len > 0, or called outside the function), ENOMEM.
 */
WHELK_API int whelk_filter_write(whelk_filter *out, const void *data,
                                 size_t len);

/* ===================================================================== */
/* 12. Tee and connect: one output to several destinations                */
/* ===================================================================== */

/*
 * A run's stdout can be copied, as the loop reads it, to more places than
 * its own destination: a file, a descriptor, and the stdin of other
 * pipelines running at the same time (libpipeline's pipeline_connect and
 * pipeline_pump; `a | tee f | b` in sh).  The pipeline's stdout must be
 * read by the library -- WHELK_CAPTURE, WHELK_STREAM (callbacks, or just
 * dropped) or WHELK_PULL -- else the run fails with WHELK_E_INVALID.  The
 * copies are the raw bytes, before decoding, in order, written by the run's
 * own loop in the thread that drives it; with WHELK_PULL they are made as
 * the host pulls.  A destination that stops reading (EPIPE) or whose write
 * fails (a tee file past the host's RLIMIT_FSIZE: EFBIG, never SIGXFSZ)
 * is dropped and the others go on, as `tee -p` does.  Any number of tees
 * may be added.
 *
 * The run's deadline (whelk_pipeline_timeout) covers its tees: a tee file
 * is opened inside it, and a write waits for a destination to take bytes
 * no longer than the deadline.  A destination that has not taken them by
 * then is dropped (a fed pipeline's stdin is closed) and the run fails
 * with WHELK_E_TIMEOUT as usual; once the run is stopping (deadline,
 * cancel, abort) a destination that cannot take bytes at once is dropped.
 * Without a deadline, a destination that stops reading without closing
 * (a FIFO's or pipe's reader that reads no more, a fed pipeline that does
 * not read its stdin) holds the run, as tee holds a shell pipeline; so
 * does a tee file that is a FIFO nobody opens for reading.  Meanwhile the
 * thread driving the run waits in that write, whelk_proc_step included.
 *
 * whelk_pipeline_tee_file -- also write stdout to the file at path,
 *   truncated (append == 0) or appended to; WHELK_E_IO if it cannot be
 *   opened, before anything is spawned (a FIFO whose reader does not come
 *   before the deadline: WHELK_E_TIMEOUT).  A file that is not a regular
 *   file is written without blocking (O_NONBLOCK on the run's own open
 *   file, not the reader's).
 * whelk_pipeline_tee_fd -- also write it to the caller's descriptor fd
 *   (kept by the caller; written until complete, never closed, its flags
 *   left alone).  Unless fd is a regular file or a block device, or
 *   O_NONBLOCK, each write waits until poll(2) says fd has room and is
 *   at most PIPE_BUF bytes, so that it cannot block past the deadline; a
 *   terminal open for writing (not a pty's master), where that is not
 *   enough, is opened anew (/proc/self/fd) and written without blocking
 *   through the run's own open file.
 * whelk_pipeline_tee_proc -- also feed it to dst, a run started before this
 *   one whose stdin is WHELK_FEED: its stdin is closed at the end of the
 *   output, and when the run is stopped before it (a deadline, a cancel,
 *   a callback's non-zero return).  dst is the caller's: wait for it after this run (the writes
 *   into it drive its loop meanwhile, so neither run can deadlock the
 *   other).  dst must outlive every run of p.
 */
WHELK_API void whelk_pipeline_tee_file(whelk_pipeline *p, const char *path,
                                       int append);
WHELK_API void whelk_pipeline_tee_fd(whelk_pipeline *p, int fd);
WHELK_API void whelk_pipeline_tee_proc(whelk_pipeline *p, whelk_proc *dst);

/* ===================================================================== */
/* 13. Other machines                                                     */
/* ===================================================================== */

/* How to reach another machine: a transport command that runs a POSIX sh
 * command line given as its last argument there. */
typedef struct whelk_remote whelk_remote;

/*
 * whelk_remote_ssh -- the system's OpenSSH client to destination ("host",
 * "user@host", "ssh://user@host:port", or an alias of ~/.ssh/config).
 * `ssh` is found in PATH like any program (a wrapper is honoured) and run
 * with BatchMode=yes: it never prompts; the user's config, keys and agent
 * apply.  Unless the user's config already shares connections
 * (ControlMaster/ControlPath, as `ssh -G` reports it), the first run
 * starts a shared master connection (ControlPersist, 60 s idle) whose
 * socket lives in a private 0700 directory the library makes; later runs
 * to the same destination reuse it and pay no new handshake.  The last
 * whelk_remote_free of the remote and of every pipeline given it stops
 * that master and removes the directory.  NULL if destination is NULL or
 * empty, or memory is exhausted.  Free with whelk_remote_free.
 */
WHELK_API whelk_remote *whelk_remote_ssh(const char *destination);

/*
 * whelk_remote_new -- any transport: a command that runs the POSIX sh
 * command line given as its last argument on the other side, e.g.
 * `docker exec -i ctr sh -c`, `kubectl exec -i pod -- sh -c`,
 * `sudo -u user sh -c`, or `sh -c` itself.  Takes transport (freed with
 * the remote, also when NULL is returned); its environment and working
 * directory apply to the transport here, its stderr setting is replaced.
 * NULL if transport is NULL, has no program or a fault, or memory is
 * exhausted.
 */
WHELK_API whelk_remote *whelk_remote_new(whelk_cmd *transport);

/* whelk_remote_free -- release the caller's reference; NULL is ignored. */
WHELK_API void whelk_remote_free(whelk_remote *remote);

/*
 * whelk_pipeline_remote -- run p on the machine remote reaches (remote is
 * copied: the caller may free it at once).  whelk_run, whelk_start and
 * whelk_run_many then work as usual, and a run is the same run as here:
 *
 *  - arguments, environment changes, working directories and the
 *    pipeline's shape arrive byte-exact (each stage is `exec`ed there:
 *    never a shell function or builtin);
 *  - file paths (stdin_file, stdout_file, stderr_file) and working
 *    directories name the far side's files; stdin bytes and descriptors,
 *    capture, callbacks and decoding stay here;
 *  - every stage's status comes back; a status above 128 there is
 *    reported as a signal (128+n -> signal n), since a POSIX shell cannot
 *    tell `exit 143` from SIGTERM;
 *  - each stage's stderr is captured separately, given to line and chunk
 *    callbacks tagged with its stage, decoded as set -- but it arrives
 *    when the remote stages have ended, after their stdout; a stderr set
 *    to WHELK_INHERIT or a descriptor is written here as a tee descriptor
 *    is (no SIGPIPE in the host; a reader gone, or not done by the
 *    deadline, drops the bytes);
 *  - a program missing there is WHELK_E_NOTFOUND (errno ENOENT) naming
 *    the stage and the host (for ssh the destination, else the transport's
 *    command line); a missing working directory there, WHELK_E_EXEC;
 *  - a failure of the transport itself -- it cannot be started here, the
 *    host is unreachable, authentication is refused (ssh exit 255), a
 *    container is missing -- is WHELK_E_TRANSPORT with its stderr in the
 *    message and its status in whelk_error_exit_code/signal, never a
 *    stage's status; its stages then have exit code -1 and signal 0;
 *  - a timeout, whelk_proc_cancel or kill of the run, or the host dying
 *    ends the transport here; a watchdog on the far side notices within
 *    about a second (the transport's stdin -- a pipe the library holds
 *    open for the run when the pipeline's stdin is not the host's --
 *    ends, or a heartbeat byte can no longer be written on its stderr)
 *    and stops every process of the run there: SIGTERM, the kill grace
 *    (whole seconds), SIGKILL, to the session's process group (ssh) or to
 *    each stage.  Such a run's stages report the signal the transport was
 *    given.  With ssh, a run whose stdin comes from the host does not
 *    share the master connection (a shared session that ends leaves the
 *    far side's stderr open).  A transport must close the far side's stdin
 *    or stderr when it dies (ssh and sh -c do; docker exec -i its stdin).
 *
 * whelk_proc_pid gives the transport's pid for stage 0 and -1 for the
 * others.  The far side needs a POSIX sh with mktemp, mkfifo and wc
 * (every Linux, BSD and macOS has them).  NULL remote is WHELK_E_INVALID
 * at run time (never a local run by accident).
 */
WHELK_API void whelk_pipeline_remote(whelk_pipeline *p,
                                     const whelk_remote *remote);

#ifdef __cplusplus
}
#endif

#endif /* WHELK_H */
