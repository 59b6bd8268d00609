/*
 * check_libpipeline.c -- libwhelk agrees with libpipeline, the established
 * library (Debian's libpipeline-dev), on every pipeline both can express
 * (issue 3).
 *
 * A table of pipelines of the helper child (tests/whelk-helper) is run
 * through libwhelk (checking off) and through libpipeline (pipeline_start,
 * pipeline_read, pipeline_wait_all); stdout bytes and the status of every
 * stage must be the same, and must be what the case expects.  Where
 * libpipeline's behaviour is a known defect the test states the difference
 * instead of agreeing with it:
 *
 *   - a program that is not found: libpipeline forks, the child prints
 *     "can't execute" and exits 255, indistinguishable from a program that
 *     exits 255; libwhelk reports WHELK_E_NOTFOUND in the parent and
 *     spawns nothing.
 *   - an output file that cannot be opened: libpipeline calls exit() in the
 *     host program (so that case runs in a forked child here); libwhelk
 *     returns WHELK_E_IO naming the file.
 *
 * libpipeline is process-global (a SIGCHLD handler that reaps with
 * waitpid(-1), SIGINT/SIGQUIT ignored during a run).  Each case is a loop
 * test, run in its own Check process; within it libwhelk runs first, and
 * the SIGCHLD disposition is restored after libpipeline has run.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pipeline.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define MAXST 4
#define MAXACT 6

/* ------------------------------------------------------------ the table */

typedef struct stage_spec {
    const char *act[MAXACT]; /* helper actions, NULL-terminated */
    int err_null;            /* stderr to /dev/null in both libraries */
} stage_spec;

typedef struct pcase {
    const char *name;
    const char *input; /* stdin bytes (input_len), or NULL: /dev/null */
    size_t input_len;
    stage_spec st[MAXST]; /* up to the first stage without actions */
    const char *want;     /* expected stdout (want_len bytes), or NULL: */
    size_t want_len;      /* the helper's pattern, want_len bytes */
    int code[MAXST];      /* expected exit code, -1 when signalled */
    int sig[MAXST];       /* expected signal, 0 when exited */
} pcase;

#define S(...) {{__VA_ARGS__, NULL}, 0}
#define SQ(...) {{__VA_ARGS__, NULL}, 1} /* stderr to /dev/null */
#define STR(s) s, sizeof(s) - 1

static const pcase cases[] = {
    {"exit 0 with output", NULL, 0, {S("out:hello\\n")}, STR("hello\n"),
     {0}, {0}},
    {"exit 3", NULL, 0, {S("out:x", "exit:3")}, STR("x"), {3}, {0}},
    {"exit 255", NULL, 0, {S("exit:255")}, STR(""), {255}, {0}},
    {"killed by SIGTERM", NULL, 0, {S("out:before", "kill:TERM")},
     STR("before"), {-1}, {SIGTERM}},
    {"two stages", NULL, 0, {S("lines:100"), S("count")}, STR("792\n"),
     {0, 0}, {0, 0}},
    {"three stages", NULL, 0, {S("out:a\\nb\\n"), S("cat"), S("cat")},
     STR("a\nb\n"), {0, 0, 0}, {0, 0, 0}},
    {"four stages, 1 MiB", NULL, 0,
     {S("outn:1048576"), S("cat"), S("cat"), S("cat")}, NULL, 1048576,
     {0, 0, 0, 0}, {0, 0, 0, 0}},
    {"first stage fails", NULL, 0, {S("out:x", "exit:1"), S("cat")},
     STR("x"), {1, 0}, {0, 0}},
    {"middle stage fails", NULL, 0,
     {S("out:x"), S("drain", "exit:4"), S("cat")}, STR(""), {0, 4, 0},
     {0, 0, 0}},
    {"middle stage killed", NULL, 0,
     {S("out:x"), S("drain", "kill:USR1"), S("count")}, STR("0\n"),
     {0, -1, 0}, {0, SIGUSR1, 0}},
    {"last stage killed after output", NULL, 0,
     {S("out:a"), S("cat", "kill:HUP")}, STR("a"), {0, -1}, {0, SIGHUP}},
    {"first stage SIGKILL", NULL, 0, {S("kill:KILL"), S("count")},
     STR("0\n"), {-1, 0}, {SIGKILL, 0}},
    {"SIGPIPE upstream", NULL, 0, {S("outn:10000000"), S("readn:1")},
     STR(""), {-1, 0}, {SIGPIPE, 0}},
    {"SIGPIPE through two stages", NULL, 0,
     {S("outn:10000000"), S("cat"), S("readn:1", "out:done")}, STR("done"),
     {-1, -1, 0}, {SIGPIPE, SIGPIPE, 0}},
    {"input bytes", STR("in\0put\nbytes\xff"), {S("cat"), S("cat")},
     STR("in\0put\nbytes\xff"), {0, 0}, {0, 0}},
    {"input bytes counted", STR("0123456789"), {S("cat"), S("count")},
     STR("10\n"), {0, 0}, {0, 0}},
    {"stdin is /dev/null", NULL, 0, {S("count")}, STR("0\n"), {0}, {0}},
    {"stderr to /dev/null", NULL, 0,
     {SQ("errn:1048576", "out:ok\\n"), SQ("cat", "err:hidden")},
     STR("ok\n"), {0, 0}, {0, 0}},
    {"stderr of a middle stage while data flows", NULL, 0,
     {S("outn:2097152"), SQ("errn:1048576", "cat", "errn:1048576"),
      S("count")},
     STR("2097152\n"), {0, 0, 0}, {0, 0, 0}},
    {"lines captured", NULL, 0, {S("lines:3"), S("cat")},
     STR("line 1\nline 2\nline 3\n"), {0, 0}, {0, 0}},
};

#define NCASES (sizeof cases / sizeof cases[0])

static size_t nstages(const pcase *c)
{
    size_t n = 0;

    while (n < MAXST && c->st[n].act[0])
        n++;
    return n;
}

/* ------------------------------------------------------------ helpers */

static char *tmpdir;

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

static char *tmp_path(const char *name)
{
    char *p = path_join(tmpdir, name);

    ck_assert_ptr_nonnull(p);
    return p;
}

/* What a run gave: stdout and per-stage statuses. */
typedef struct outcome {
    char *out;
    size_t len;
    size_t n;
    int code[MAXST], sig[MAXST];
    char *stderr_text; /* libpipeline: everything written to fd 2 */
} outcome;

static void outcome_free(outcome *o)
{
    free(o->out);
    free(o->stderr_text);
    memset(o, 0, sizeof *o);
}

/* The case through libwhelk, checking off. */
static void run_whelk(const pcase *c, outcome *o)
{
    whelk_pipeline *p = whelk_pipeline_new();
    whelk_error *err = NULL;
    whelk_result *r;
    size_t i, j, n = nstages(c);
    const char *s;

    ck_assert_ptr_nonnull(p);
    for (i = 0; i < n; i++) {
        whelk_cmd *cmd = whelk_cmd_new(HELPER, (const char *)NULL);

        for (j = 0; c->st[i].act[j]; j++)
            whelk_cmd_arg(cmd, c->st[i].act[j]);
        if (c->st[i].err_null)
            whelk_cmd_stderr(cmd, WHELK_NULL);
        whelk_pipeline_add(p, cmd);
    }
    if (c->input)
        whelk_pipeline_stdin_bytes(p, c->input, c->input_len);
    whelk_pipeline_check(p, 0);
    r = whelk_run(p, &err);
    ck_assert_msg(r != NULL, "%s: libwhelk failed: %s", c->name, err_desc(err));
    ck_assert_uint_eq(whelk_result_ncmds(r), n);
    s = whelk_result_stdout(r, &o->len);
    o->out = malloc(o->len + 1);
    ck_assert_ptr_nonnull(o->out);
    memcpy(o->out, s, o->len + 1);
    o->n = n;
    for (i = 0; i < n; i++) {
        o->code[i] = whelk_result_exit_code(r, i);
        o->sig[i] = whelk_result_signal(r, i);
    }
    whelk_result_free(r);
    whelk_pipeline_free(p);
}

/* fd 2 of this process to a file while libpipeline runs (its children
 * inherit it, and libpipeline itself prints there). */
typedef struct stderr_trap {
    int saved;
    char *path;
} stderr_trap;

static void trap_stderr(stderr_trap *t, const char *name)
{
    int fd;

    t->path = tmp_path(name);
    fd = open(t->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    t->saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
    ck_assert_int_ge(t->saved, 0);
    ck_assert_int_eq(dup2(fd, 2), 2);
    close(fd);
}

/* Restores fd 2; returns what was written to it (malloc'd). */
static char *untrap_stderr(stderr_trap *t)
{
    char *text;

    fflush(stderr);
    dup2(t->saved, 2);
    close(t->saved);
    text = slurp(t->path, NULL);
    ck_assert_ptr_nonnull(text);
    free(t->path);
    return text;
}

/* Builds the case as a libpipeline pipeline (not started). */
static pipeline *lp_build(const pcase *c, const char *input_path)
{
    pipeline *p = pipeline_new();
    size_t i, j, n = nstages(c);

    for (i = 0; i < n; i++) {
        pipecmd *cmd = pipecmd_new(HELPER);

        for (j = 0; c->st[i].act[j]; j++)
            pipecmd_arg(cmd, c->st[i].act[j]);
        if (c->st[i].err_null)
            pipecmd_discard_err(cmd, 1);
        pipeline_command(p, cmd);
    }
    /* libpipeline's default is the host's stdin; libwhelk's /dev/null */
    pipeline_want_infile(p, input_path ? input_path : "/dev/null");
    return p;
}

/* The case through libpipeline: start, read all output, wait_all. */
static void run_libpipeline(const pcase *c, outcome *o)
{
    char *input_path = NULL;
    struct sigaction old_chld;
    stderr_trap trap;
    pipeline *p;
    int *statuses = NULL, nst = 0, i;
    size_t cap = 0;

    if (c->input) {
        input_path = tmp_path("libpipeline-input");
        ck_assert_int_eq(
            write_file(input_path, c->input, c->input_len, 0644), 0);
    }
    p = lp_build(c, input_path);
    pipeline_want_out(p, -1);
    ck_assert_int_eq(sigaction(SIGCHLD, NULL, &old_chld), 0);
    trap_stderr(&trap, "libpipeline-stderr");
    pipeline_start(p);
    o->out = NULL;
    o->len = 0;
    for (;;) {
        size_t len = 65536;
        const char *d = pipeline_read(p, &len);

        if (!d || !len)
            break;
        if (o->len + len + 1 > cap) {
            cap = (o->len + len + 1) * 2;
            o->out = realloc(o->out, cap);
            if (!o->out)
                break;
        }
        memcpy(o->out + o->len, d, len);
        o->len += len;
    }
    pipeline_wait_all(p, &statuses, &nst);
    o->stderr_text = untrap_stderr(&trap);
    sigaction(SIGCHLD, &old_chld, NULL); /* libpipeline's handler goes */
    if (!o->out)
        o->out = calloc(1, 1);
    ck_assert_ptr_nonnull(o->out);
    o->out[o->len] = '\0';
    ck_assert_ptr_nonnull(statuses);
    ck_assert_int_eq(nst, (int)nstages(c));
    o->n = (size_t)nst;
    for (i = 0; i < nst; i++) {
        if (WIFEXITED(statuses[i])) {
            o->code[i] = WEXITSTATUS(statuses[i]);
            o->sig[i] = 0;
        } else {
            ck_assert_msg(WIFSIGNALED(statuses[i]), "status %#x", statuses[i]);
            o->code[i] = -1;
            o->sig[i] = WTERMSIG(statuses[i]);
        }
    }
    free(statuses);
    pipeline_free(p);
    free(input_path);
}

static void assert_expected(const pcase *c, const outcome *o, const char *who)
{
    size_t i, n = nstages(c);

    ck_assert_msg(o->n == n, "%s: %s: %zu statuses, expected %zu", c->name,
                  who, o->n, n);
    for (i = 0; i < n; i++)
        ck_assert_msg(o->code[i] == c->code[i] && o->sig[i] == c->sig[i],
                      "%s: %s: stage %zu exit %d signal %d, expected %d %d",
                      c->name, who, i, o->code[i], o->sig[i], c->code[i],
                      c->sig[i]);
    ck_assert_msg(o->len == c->want_len, "%s: %s: %zu bytes, expected %zu",
                  c->name, who, o->len, c->want_len);
    if (c->want)
        ck_assert_msg(memcmp(o->out, c->want, o->len) == 0,
                      "%s: %s: stdout [%s], expected [%s]", c->name, who,
                      o->out, c->want);
    else
        ck_assert_msg(is_pattern(o->out, o->len), "%s: %s: stdout altered",
                      c->name, who);
}

/* ------------------------------------------------------------- tests */

START_TEST(test_agree)
{
    const pcase *c = &cases[_i];
    outcome w, l;
    size_t k;

    memset(&w, 0, sizeof w);
    memset(&l, 0, sizeof l);
    run_whelk(c, &w); /* first: libpipeline's SIGCHLD handler is not yet in */
    ck_assert_msg(count_children() == 0, "%s: libwhelk left children",
                  c->name);
    run_libpipeline(c, &l);

    /* the two agree on bytes and on every stage's status */
    ck_assert_msg(w.len == l.len && memcmp(w.out, l.out, w.len) == 0,
                  "%s: stdout differs: libwhelk %zu bytes [%.100s], "
                  "libpipeline %zu bytes [%.100s]",
                  c->name, w.len, w.out, l.len, l.out);
    ck_assert_uint_eq(w.n, l.n);
    for (k = 0; k < w.n; k++)
        ck_assert_msg(w.code[k] == l.code[k] && w.sig[k] == l.sig[k],
                      "%s: stage %zu: libwhelk exit %d signal %d, "
                      "libpipeline exit %d signal %d",
                      c->name, k, w.code[k], w.sig[k], l.code[k], l.sig[k]);
    /* and both are what the case expects */
    assert_expected(c, &w, "libwhelk");
    assert_expected(c, &l, "libpipeline");
    outcome_free(&w);
    outcome_free(&l);
}
END_TEST

START_TEST(test_missing_program_differs)
{
    /* touch:MARK | no-such-program */
    char *mark = tmp_path("mark");
    char *touch = xasprintf("touch:%s", mark);
    static const char *const missing = "whelk-test-no-such-program";
    int before = count_open_fds();
    whelk_pipeline *wp;
    whelk_error *err = NULL;
    whelk_result *r;
    pipeline *lp;
    stderr_trap trap;
    struct sigaction old_chld;
    int *statuses = NULL, nst = 0;
    char *text;

    /* libwhelk: an error in the parent, before anything is spawned */
    wp = whelk_pipe(whelk_cmd_new(HELPER, touch, NULL),
                    whelk_cmd_new(missing, NULL), NULL);
    whelk_pipeline_check(wp, 0); /* not even with checking off */
    r = whelk_run(wp, &err);
    ck_assert_ptr_null(r);
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_NOTFOUND, "%s",
                  err_desc(err));
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_int_eq(whelk_error_errno(err), ENOENT);
    ck_assert_msg(contains(whelk_error_message(err), missing), "%s",
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(wp);
    ck_assert_msg(!path_exists(mark), "libwhelk spawned stage 0");
    ck_assert_int_eq(count_children(), 0);
    ck_assert_int_eq(count_open_fds(), before);

    /* libpipeline: stage 0 runs, the missing one is a child that prints
     * "can't execute" and exits 255, like any program exiting 255 */
    lp = pipeline_new_commands(pipecmd_new_args(HELPER, touch, NULL),
                               pipecmd_new(missing), NULL);
    pipeline_want_infile(lp, "/dev/null");
    pipeline_want_outfile(lp, "/dev/null");
    ck_assert_int_eq(sigaction(SIGCHLD, NULL, &old_chld), 0);
    trap_stderr(&trap, "libpipeline-stderr");
    pipeline_start(lp);
    pipeline_wait_all(lp, &statuses, &nst);
    text = untrap_stderr(&trap);
    sigaction(SIGCHLD, &old_chld, NULL);
    ck_assert_int_eq(nst, 2);
    ck_assert(WIFEXITED(statuses[0]) && WEXITSTATUS(statuses[0]) == 0);
    ck_assert_msg(WIFEXITED(statuses[1]) && WEXITSTATUS(statuses[1]) == 255,
                  "libpipeline status of the missing program: %#x",
                  statuses[1]);
    ck_assert_msg(contains(text, missing), "libpipeline's stderr: %s", text);
    ck_assert_msg(path_exists(mark), "libpipeline did not run stage 0");
    free(statuses);
    pipeline_free(lp);
    free(text);
    free(touch);
    free(mark);
}
END_TEST

START_TEST(test_unopenable_output_differs)
{
    char *bad = tmp_path("no/such/dir/out");
    char *mark = tmp_path("mark");
    char *touch = xasprintf("touch:%s", mark);
    char *errpath = tmp_path("child-stderr");
    whelk_pipeline *wp;
    whelk_error *err = NULL;
    int pfd[2], status, errfd;
    pid_t pid;
    ssize_t got;
    char buf[16];
    char *text;

    /* libwhelk: an error value, the host goes on, nothing spawned */
    wp = whelk_pipe(whelk_cmd_new(HELPER, touch, NULL), NULL);
    whelk_pipeline_stdout_file(wp, bad, 0);
    ck_assert_ptr_null(whelk_run(wp, &err));
    ck_assert_msg(whelk_error_kind(err) == WHELK_E_IO, "%s", err_desc(err));
    ck_assert_int_eq(whelk_error_errno(err), ENOENT);
    ck_assert_msg(contains(whelk_error_message(err), bad), "%s",
                  whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(wp);
    ck_assert(!path_exists(mark));

    /* libpipeline calls exit() in the host: only in a throwaway process.
     * The child reports through a pipe if pipeline_start ever returns. */
    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    errfd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(errfd, 0);
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        pipeline *lp;

        close(pfd[0]);
        dup2(errfd, 2);
        lp = pipeline_new_commands(pipecmd_new_args(HELPER, touch, NULL),
                                   NULL);
        pipeline_want_infile(lp, "/dev/null");
        pipeline_want_outfile(lp, bad);
        pipeline_start(lp);
        (void)!write(pfd[1], "returned", 8);
        pipeline_wait(lp);
        _exit(0);
    }
    close(pfd[1]);
    close(errfd);
    do
        got = read(pfd[0], buf, sizeof buf);
    while (got < 0 && errno == EINTR);
    close(pfd[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(got == 0, "pipeline_start returned (%zd bytes)", got);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0,
                  "the host process of libpipeline: status %#x", status);
    text = slurp(errpath, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(contains(text, bad), "libpipeline printed: %s", text);
    free(text);
    free(errpath);
    free(touch);
    free(mark);
    free(bad);
}
END_TEST

START_TEST(test_table_size)
{
    /* the agreement table keeps covering what issue 3 names */
    size_t i, multi = 0, three = 0, sig = 0, sigpipe = 0, input = 0,
              quiet = 0, fails = 0;

    ck_assert_uint_ge(NCASES, 12);
    for (i = 0; i < NCASES; i++) {
        size_t n = nstages(&cases[i]), k;
        int has_sig = 0, has_pipe = 0, has_fail = 0, has_quiet = 0;

        multi += n >= 2;
        three += n >= 3;
        input += cases[i].input != NULL;
        for (k = 0; k < n; k++) {
            has_sig |= cases[i].sig[k] && cases[i].sig[k] != SIGPIPE;
            has_pipe |= cases[i].sig[k] == SIGPIPE;
            has_fail |= cases[i].code[k] > 0;
            has_quiet |= cases[i].st[k].err_null;
        }
        sig += has_sig;
        sigpipe += has_pipe;
        fails += has_fail;
        quiet += has_quiet;
    }
    ck_assert(multi && three && sig && sigpipe && input && quiet && fails);
}
END_TEST

/* ============================================================= suite */

static Suite *libpipeline_suite(void)
{
    Suite *s = suite_create("libpipeline");
    TCase *tc;

    tc = tcase_create("agree");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_table_size);
    tcase_add_loop_test(tc, test_agree, 0, (int)NCASES);
    suite_add_tcase(s, tc);

    tc = tcase_create("differ");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_missing_program_differs);
    tcase_add_test(tc, test_unopenable_output_differs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(libpipeline_suite());
}
