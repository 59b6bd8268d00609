/*
 * stream/hooks.c -- the stream suite's "Hooks" and "Shells" tests (run by
 * tests/check_stream.c): the shell tests use the hook recorders.
 */
#include "stream.h"

typedef struct hooks {
    int starts, exits;
    int retries; /* return WHELK_RETRY this many times */
    const whelk_pipeline *seen_p;
    char *tostring; /* of the first on_start */
    int saw_result[8], saw_error[8], error_kind[8], exit_code[8];
    int result_is_errors[8];  /* result == whelk_error_result(error) */
    char *stdout_seen;        /* stdout of the last result seen */
    const char *make_program; /* on a failure: symlink the helper here */
} hooks;

static void on_start(const whelk_pipeline *p, void *ud)
{
    hooks *h = ud;

    h->starts++;
    h->seen_p = p;
    if (!h->tostring)
        h->tostring = whelk_pipeline_tostring(p);
}

static int on_exit_hook(const whelk_result *r, const whelk_error *e, void *ud)
{
    hooks *h = ud;
    int i = h->exits++;

    if (i < 8) {
        h->saw_result[i] = r != NULL;
        h->saw_error[i] = e != NULL;
        h->error_kind[i] = whelk_error_kind(e);
        h->exit_code[i] = r ? whelk_result_exit_code(r, 0) : -100;
        h->result_is_errors[i] = e && r == whelk_error_result(e);
    }
    if (r) {
        free(h->stdout_seen);
        h->stdout_seen = strdup(whelk_result_stdout(r, NULL));
    }
    if (e && h->make_program && symlink(HELPER, h->make_program) < 0)
        abort();
    if (h->retries > 0) {
        h->retries--;
        return WHELK_RETRY;
    }
    return 0;
}

static void hooks_free(hooks *h)
{
    free(h->tostring);
    free(h->stdout_seen);
}

START_TEST(test_on_exit_sees_result_on_success)
{
    whelk_pipeline *p = helper_pipe("out:x\\n", (const char *)NULL);
    hooks h;
    whelk_result *r;

    memset(&h, 0, sizeof h);
    whelk_pipeline_on_start(p, on_start, &h);
    whelk_pipeline_on_exit(p, on_exit_hook, &h);
    r = run_ok(p);
    ck_assert_int_eq(h.starts, 1);
    ck_assert_int_eq(h.exits, 1);
    ck_assert_ptr_eq(h.seen_p, p);
    ck_assert_msg(contains(h.tostring, "whelk-helper"), "tostring: %s",
                  h.tostring);
    ck_assert(h.saw_result[0] && !h.saw_error[0]);
    ck_assert_int_eq(h.exit_code[0], 0);
    ck_assert_str_eq(h.stdout_seen, "x\n");
    ASSERT_STDOUT(r, "x\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    hooks_free(&h);
}
END_TEST

START_TEST(test_retry_from_on_exit)
{
    whelk_pipeline *p = helper_pipe("out:try\\n", "exit:1", (const char *)NULL);
    hooks h;
    whelk_error *err;
    int i;

    memset(&h, 0, sizeof h);
    h.retries = 2;
    whelk_pipeline_on_start(p, on_start, &h);
    whelk_pipeline_on_exit(p, on_exit_hook, &h);
    err = run_fail(p, WHELK_E_EXIT);
    ck_assert_int_eq(h.starts, 3);
    ck_assert_int_eq(h.exits, 3);
    for (i = 0; i < 3; i++) {
        ck_assert_msg(h.saw_result[i] && h.saw_error[i], "attempt %d", i);
        ck_assert_int_eq(h.error_kind[i], WHELK_E_EXIT);
        ck_assert_int_eq(h.exit_code[i], 1);
        ck_assert(h.result_is_errors[i]);
    }
    ck_assert_int_eq(whelk_error_exit_code(err), 1);
    ck_assert_str_eq(whelk_result_stdout(whelk_error_result(err), NULL),
                     "try\n");
    whelk_error_free(err);
    whelk_pipeline_free(p);
    hooks_free(&h);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* A failure to start reaches on_exit as (NULL, error), and may be retried:
 * here the hook puts the program in place before the second attempt. */
START_TEST(test_retry_after_failure_to_start)
{
    char *prog = path_join(tmpdir, "tool");
    whelk_pipeline *p =
        whelk_pipe(whelk_cmd_new(prog, "out:second\\n", (const char *)NULL),
                   (whelk_cmd *)NULL);
    hooks h;
    whelk_result *r;

    memset(&h, 0, sizeof h);
    h.retries = 1;
    h.make_program = prog;
    whelk_pipeline_on_start(p, on_start, &h);
    whelk_pipeline_on_exit(p, on_exit_hook, &h);
    r = run_ok(p);
    ck_assert_int_eq(h.starts, 2);
    ck_assert_int_eq(h.exits, 2);
    ck_assert(!h.saw_result[0] && h.saw_error[0]);
    ck_assert_int_eq(h.error_kind[0], WHELK_E_NOTFOUND);
    ck_assert(h.saw_result[1] && !h.saw_error[1]);
    ASSERT_STDOUT(r, "second\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    hooks_free(&h);
    free(prog);
}
END_TEST

START_TEST(test_failure_to_start_not_retried)
{
    whelk_pipeline *p =
        whelk_pipe(whelk_cmd_new("/nonexistent/whelk/prog", (const char *)NULL),
                   (whelk_cmd *)NULL);
    hooks h;
    whelk_error *err;

    memset(&h, 0, sizeof h);
    whelk_pipeline_on_exit(p, on_exit_hook, &h);
    err = run_fail(p, WHELK_E_NOTFOUND);
    ck_assert_int_eq(h.exits, 1);
    ck_assert(!h.saw_result[0] && h.saw_error[0]);
    ck_assert_int_eq(h.error_kind[0], WHELK_E_NOTFOUND);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    hooks_free(&h);
}
END_TEST

/* ===================================================================== */
/* Shells                                                                */
/* ===================================================================== */

typedef struct errhook {
    int calls;
    const whelk_error *last;
    int kind;
    char *message;
} errhook;

static void on_error(const whelk_error *e, void *ud)
{
    errhook *h = ud;

    h->calls++;
    h->last = e;
    h->kind = whelk_error_kind(e);
    free(h->message);
    h->message = strdup(whelk_error_message(e));
}

START_TEST(test_shell_defaults_inherited)
{
    whelk_shell *sh = whelk_shell_new();
    line_log ll;
    errhook eh;
    hooks hk;
    whelk_error *err = NULL;
    whelk_result *r;
    whelk_pipeline *p;
    char real[PATH_MAX], *want;

    ck_assert_ptr_nonnull(sh);
    ck_assert_ptr_nonnull(realpath(tmpdir, real));
    line_log_init(&ll);
    memset(&eh, 0, sizeof eh);
    memset(&hk, 0, sizeof hk);
    whelk_shell_setenv(sh, "WHELK_FOO", "bar");
    whelk_shell_chdir(sh, tmpdir);
    whelk_shell_check(sh, 0);
    whelk_shell_decode(sh, WHELK_STDOUT, "ISO-8859-1", WHELK_DECODE_STRICT);
    whelk_shell_on_line(sh, WHELK_STDOUT, log_line, &ll);
    whelk_shell_on_error(sh, on_error, &eh);
    whelk_shell_on_start(sh, on_start, &hk);
    whelk_shell_on_exit(sh, on_exit_hook, &hk);

    /* env, cwd, decoding, lines, checking off, hooks */
    r = whelk_shell_sh(sh, &err, HELPER, "env:WHELK_FOO", "pwd",
                       "out:caf\\xe9\\n", "exit:3", (const char *)NULL);
    ck_assert_msg(r != NULL, "checking is off: %s", err_desc(err));
    want = xasprintf("bar\n%s\ncaf\xC3\xA9\n", real);
    ASSERT_STDOUT(r, want);
    ck_assert_int_eq(whelk_result_exit_code(r, 0), 3);
    ck_assert_uint_eq(ll.n, 3);
    ck_assert_str_eq(ll.v[0].text, "bar");
    ck_assert_str_eq(ll.v[1].text, real);
    ck_assert_str_eq(ll.v[2].text, "caf\xC3\xA9");
    ck_assert_int_eq(hk.starts, 1);
    ck_assert_int_eq(hk.exits, 1);
    ck_assert_int_eq(eh.calls, 0);
    whelk_result_free(r);
    free(want);

    /* a pipeline made through the shell keeps what it inherited when it
     * was made; its own commands may override */
    p = whelk_shell_pipe(
        sh, whelk_shell_cmd(sh, HELPER, "env:WHELK_FOO", (const char *)NULL),
        whelk_shell_cmd(sh, HELPER, "cat", "env:WHELK_FOO", (const char *)NULL),
        (whelk_cmd *)NULL);
    whelk_cmd_setenv(whelk_pipeline_cmd(p, 1), "WHELK_FOO", "own");
    whelk_shell_setenv(sh, "WHELK_FOO", "changed later");
    r = run_ok(p);
    ASSERT_STDOUT(r, "bar\nown\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    ck_assert_int_eq(eh.calls, 0);

    whelk_shell_free(sh);
    line_log_free(&ll);
    hooks_free(&hk);
    free(eh.message);
}
END_TEST

/* The error hook sees every error before it is returned -- once, after
 * on_exit chose not to retry -- and never a success. */
START_TEST(test_shell_error_hook)
{
    whelk_shell *sh = whelk_shell_new();
    errhook eh;
    hooks hk;
    whelk_error *err = NULL;
    whelk_result *r;

    memset(&eh, 0, sizeof eh);
    memset(&hk, 0, sizeof hk);
    whelk_shell_on_error(sh, on_error, &eh);

    r = whelk_shell_sh(sh, &err, HELPER, "out:fine", (const char *)NULL);
    ck_assert_msg(r != NULL, "%s", err_desc(err));
    ck_assert_int_eq(eh.calls, 0);
    whelk_result_free(r);

    /* checking is on by default */
    r = whelk_shell_sh(sh, &err, HELPER, "err:boom\\n", "exit:3",
                       (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(eh.calls, 1);
    ck_assert_ptr_eq(eh.last, err);
    ck_assert_int_eq(eh.kind, WHELK_E_EXIT);
    ck_assert_str_eq(eh.message, whelk_error_message(err));
    whelk_error_free(err);

    r = whelk_shell_sh(sh, &err, "/nonexistent/whelk/prog", (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(eh.calls, 2);
    ck_assert_ptr_eq(eh.last, err);
    ck_assert_int_eq(eh.kind, WHELK_E_NOTFOUND);
    whelk_error_free(err);

    /* with retries: the hook sees the final error only */
    hk.retries = 2;
    whelk_shell_on_exit(sh, on_exit_hook, &hk);
    r = whelk_shell_sh(sh, &err, HELPER, "exit:4", (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(hk.exits, 3);
    ck_assert_int_eq(eh.calls, 3);
    ck_assert_ptr_eq(eh.last, err);
    ck_assert_int_eq(whelk_error_exit_code(err), 4);
    whelk_error_free(err);

    /* the timeout default */
    whelk_shell_on_exit(sh, NULL, NULL);
    whelk_shell_timeout(sh, 200);
    r = whelk_shell_sh(sh, &err, HELPER, "sleep:60000", (const char *)NULL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(whelk_error_kind(err), WHELK_E_TIMEOUT);
    ck_assert_int_eq(eh.calls, 4);
    whelk_error_free(err);

    whelk_shell_free(sh);
    hooks_free(&hk);
    free(eh.message);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* Runs a shell whose error hook is whelk_die_on_error in a forked child
 * running the actions; returns its exit status and what it printed. */
static int die_in_child(char **printed, const char *first, ...)
{
    int fds[2], status;
    pid_t pid;
    char *buf = NULL;
    size_t used = 0;

    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        static whelk_shell *sh;
        static whelk_pipeline *p;
        static whelk_result *r;
        static whelk_error *err;
        va_list ap;
        const char *a;
        whelk_cmd *cmd;

        if (dup2(fds[1], 2) < 0)
            _exit(120);
        sh = whelk_shell_new();
        if (!sh)
            _exit(121);
        whelk_shell_on_error(sh, whelk_die_on_error, (void *)"mytool");
        cmd = whelk_shell_cmd(sh, first, (const char *)NULL);
        va_start(ap, first);
        while ((a = va_arg(ap, const char *)) != NULL)
            whelk_cmd_arg(cmd, a);
        va_end(ap);
        p = whelk_shell_pipe(sh, cmd, (whelk_cmd *)NULL);
        r = whelk_run(p, &err);
        _exit(r ? 122 : 123); /* not reached when the hook exits */
    }
    close(fds[1]);
    for (;;) {
        ssize_t n;
        buf = realloc(buf, used + 4097);
        ck_assert_ptr_nonnull(buf);
        n = read(fds[0], buf + used, 4096);
        if (n < 0 && errno == EINTR)
            continue;
        ck_assert_int_ge(n, 0);
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    *printed = buf;
    return status;
}

START_TEST(test_die_on_error_in_forked_child)
{
    char *out;
    int st;

    st =
        die_in_child(&out, HELPER, "err:boom\\n", "exit:7", (const char *)NULL);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 7,
                  "status %#x, printed \"%s\"", st, out);
    ck_assert_msg(strncmp(out, "mytool: ", 8) == 0, "printed \"%s\"", out);
    ck_assert_msg(contains(out, "exited with status 7"), "printed \"%s\"", out);
    ck_assert_msg(contains(out, "boom"), "printed \"%s\"", out);
    ck_assert_msg(out[strlen(out) - 1] == '\n', "printed \"%s\"", out);
    free(out);

    /* no exit code (the program is missing): 1 */
    st = die_in_child(&out, "/nonexistent/whelk/prog", (const char *)NULL);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1,
                  "status %#x, printed \"%s\"", st, out);
    ck_assert_msg(strncmp(out, "mytool: ", 8) == 0, "printed \"%s\"", out);
    ck_assert_msg(contains(out, "/nonexistent/whelk/prog"), "printed \"%s\"",
                  out);
    free(out);
    ASSERT_NO_CHILDREN();
}
END_TEST

void stream_hooks(Suite *s)
{
    TCase *tc;

    tc = stream_tcase(s, "hooks", TEST_TIMEOUT, 1);
    tcase_add_test(tc, test_on_exit_sees_result_on_success);
    tcase_add_test(tc, test_retry_from_on_exit);
    tcase_add_test(tc, test_retry_after_failure_to_start);
    tcase_add_test(tc, test_failure_to_start_not_retried);

    tc = stream_tcase(s, "shell", TEST_TIMEOUT, 1);
    tcase_add_test(tc, test_shell_defaults_inherited);
    tcase_add_test(tc, test_shell_error_hook);
    tcase_add_test(tc, test_die_on_error_in_forked_child);
}
