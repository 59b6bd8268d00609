/*
 * faults/run.c -- the faults suite's "run" tests (run by tests/check_faults.c).
 */
#include "faults.h"

/*
 * The main scenario of issue 5: commands + a pipeline + setters + whelk_run
 * of a two-stage pipeline with stdin bytes, a line callback, ISO-8859-1
 * decoding of both streams, an env change, and a failing exit.
 */
static const char latin1_in[] = "caf\xe9\nna\xefve\nend\n";
#define UTF8_OUT "caf\xc3\xa9\nna\xc3\xafve\nend\n"

static enum outcome scen_pipeline(void)
{
    whelk_cmd *c0, *c1;
    whelk_pipeline *p;
    whelk_result *r = NULL;
    whelk_error *err = NULL;
    const whelk_result *res;
    lines got;
    enum outcome o = OUT_WRONG;
    size_t len;
    const char *s;
    int ok = 1;

    memset(&got, 0, sizeof got);
    ARM();
    c0 = mk_cmd("cat", (const char *)NULL);
    c1 = mk_cmd("cat", "env:WHELK_FAULT", "err:boom \xff\\n", "exit:3",
                (const char *)NULL);
    whelk_cmd_setenv(c1, "WHELK_FAULT", "on");
    whelk_cmd_arg(c0, "exit:0");
    p = mk_pipe(c0, c1, 1);
    whelk_pipeline_stdin_bytes(p, latin1_in, sizeof latin1_in - 1);
    whelk_pipeline_on_line(p, WHELK_STDOUT | WHELK_STDERR, collect_line, &got);
    whelk_pipeline_decode(p, WHELK_STDOUT | WHELK_STDERR, "ISO-8859-1",
                          WHELK_DECODE_REPLACE);
    if (p)
        r = whelk_run(p, &err);
    DISARM();

    if (!p) {
        EXPECT(injected, "the pipeline constructor returned NULL");
        return OUT_NULL_OBJECT;
    }
    if (!EXPECT(r == NULL,
                "the run succeeded, but stage 1 exits 3: %zu stage(s), "
                "stdout \"%s\"",
                whelk_result_ncmds(r), whelk_result_stdout(r, NULL)))
        goto out;
    if (whelk_error_kind(err) != WHELK_E_EXIT) {
        EXPECT(injected, "undisturbed run: %s", err_desc(err));
        o = expect_nomem(err);
        goto out;
    }
    /* the outcome of an undisturbed run, byte for byte */
    res = whelk_error_result(err);
    ok &= EXPECT(whelk_error_exit_code(err) == 3 && whelk_error_stage(err) == 1,
                 "wrong failure: %s", err_desc(err));
    ok &= EXPECT(res && whelk_result_exit_code(res, 0) == 0 &&
                     whelk_result_exit_code(res, 1) == 3,
                 "wrong statuses");
    s = whelk_result_stdout(res, &len);
    ok &= EXPECT(same_bytes(s, len, UTF8_OUT "on\n"), "stdout \"%s\"", s);
    s = whelk_result_stderr(res, &len);
    ok &= EXPECT(same_bytes(s, len, "boom \xc3\xbf\n"), "stderr \"%s\"", s);
    ok &= EXPECT(!got.bad && got.n[0] == 4 &&
                     strcmp(got.text[0], UTF8_OUT "on\n") == 0,
                 "stdout lines (%d): \"%s\"", got.n[0], got.text[0]);
    ok &= EXPECT(got.n[1] == 1 && strcmp(got.text[1], "boom \xc3\xbf\n") == 0,
                 "stderr lines (%d): \"%s\"", got.n[1], got.text[1]);
    ok &= EXPECT(contains(whelk_error_message(err), "exited with status 3"),
                 "message: %s", whelk_error_message(err));
    /* only the best-effort stderr tail of the message may be missing */
    if (!injected)
        ok &= EXPECT(contains(whelk_error_message(err), "boom"),
                     "no stderr tail: %s", whelk_error_message(err));
    if (ok)
        o = injected ? OUT_RECOVERED : OUT_NORMAL;
out:
    whelk_result_free(r);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    return o;
}

/* whelk_sh: one command with the defaults. */
static enum outcome scen_sh(void)
{
    whelk_error *err = NULL;
    whelk_result *r;
    enum outcome o;
    const char *s;
    size_t len;
    int ok = 1;

    ARM();
    r = whelk_sh(&err, build_mode == BUILD_ABS ? HELPER : helper_name,
                 "out:x\\n", "err:y\\n", (const char *)NULL);
    DISARM();
    if (!r) {
        EXPECT(injected, "undisturbed run: %s", err_desc(err));
        o = expect_nomem(err);
        whelk_error_free(err);
        return o;
    }
    s = whelk_result_stdout(r, &len);
    ok &= EXPECT(same_bytes(s, len, "x\n"), "stdout \"%s\"", s);
    s = whelk_result_stderr(r, &len);
    ok &= EXPECT(same_bytes(s, len, "y\n"), "stderr \"%s\"", s);
    ok &= EXPECT(err == NULL, "a result and an error");
    whelk_result_free(r);
    return !ok ? OUT_WRONG : injected ? OUT_RECOVERED : OUT_NORMAL;
}

/* A run that times out: the error keeps the output read before. */
static enum outcome scen_timeout(void)
{
    whelk_pipeline *p;
    whelk_error *err = NULL;
    whelk_result *r = NULL;
    const whelk_result *res;
    enum outcome o = OUT_WRONG;
    const char *s;
    size_t len;
    int ok = 1;

    ARM();
    p = mk_pipe(mk_cmd("out:before\\n", "sleep:30000", (const char *)NULL),
                NULL, 0);
    whelk_pipeline_timeout(p, 150);
    whelk_pipeline_kill_grace(p, 100);
    if (p)
        r = whelk_run(p, &err);
    DISARM();
    if (!p) {
        EXPECT(injected, "the pipeline constructor returned NULL");
        return OUT_NULL_OBJECT;
    }
    if (!EXPECT(r == NULL, "the run succeeded"))
        goto out;
    if (whelk_error_kind(err) != WHELK_E_TIMEOUT) {
        EXPECT(injected, "undisturbed run: %s", err_desc(err));
        o = expect_nomem(err);
        goto out;
    }
    res = whelk_error_result(err);
    s = whelk_result_stdout(res, &len);
    ok &= EXPECT(res != NULL, "a timeout without its result");
    ok &= EXPECT(same_bytes(s, len, "before\n"), "stdout \"%s\"", s);
    ok &= EXPECT(whelk_result_signal(res, 0) == SIGTERM, "signal %d",
                 whelk_result_signal(res, 0));
    ok &= EXPECT(contains(whelk_error_message(err), "timed out"), "%s",
                 whelk_error_message(err));
    /* the command line in the message is best effort */
    if (!injected)
        ok &= EXPECT(contains(whelk_error_message(err), "sleep:30000"), "%s",
                     whelk_error_message(err));
    if (ok)
        o = injected ? OUT_RECOVERED : OUT_NORMAL;
out:
    whelk_result_free(r);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    return o;
}

START_TEST(test_nomem_pipeline)
{
    tally t;

    set_build(BUILD_ABS);
    t = sweep("pipeline (whelk_pipe, absolute path)", scen_pipeline);
    ck_assert_int_gt(t.n, 20);
}
END_TEST

START_TEST(test_nomem_pipeline_path)
{
    tally t;

    set_build(BUILD_PATH);
    t = sweep("pipeline (whelk_pipeline_add, PATH)", scen_pipeline);
    ck_assert_int_gt(t.n, 20);
}
END_TEST

START_TEST(test_nomem_sh)
{
    set_build(BUILD_ABS);
    sweep("whelk_sh (absolute path)", scen_sh);
}
END_TEST

/* The host's PATH, kept while a test changes it (static: still reachable
 * if a failed assertion leaves the test early under CK_FORK=no). */
static char old_path[8192];
static int had_path;

static void restore_path(void)
{
    if (had_path)
        setenv("PATH", old_path, 1);
    else
        unsetenv("PATH");
}

START_TEST(test_nomem_sh_path)
{
    static char path[8192 + 4096];
    const char *old = getenv("PATH");

    set_build(BUILD_PATH);
    had_path = old != NULL;
    snprintf(old_path, sizeof old_path, "%s", old ? old : "");
    snprintf(path, sizeof path, "%s:%s", helper_dir,
             old ? old : "/usr/bin:/bin");
    ck_assert_int_eq(setenv("PATH", path, 1), 0);
    sweep("whelk_sh (host PATH)", scen_sh);
    restore_path();
}
END_TEST

START_TEST(test_nomem_timeout)
{
    if (old_path[0] || had_path)
        restore_path(); /* after a failed test_nomem_sh_path, CK_FORK=no */
    set_build(BUILD_PATH);
    sweep("timeout", scen_timeout);
}
END_TEST

void faults_run(TCase *tc)
{
    tcase_add_test(tc, test_nomem_pipeline);
    tcase_add_test(tc, test_nomem_pipeline_path);
    tcase_add_test(tc, test_nomem_sh);
    tcase_add_test(tc, test_nomem_sh_path);
    tcase_add_test(tc, test_nomem_timeout);
}
