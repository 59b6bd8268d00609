/*
 * faults/async.c -- the faults suite's "async" tests (run by tests/check_faults.c).
 */
#include "faults.h"

/* The asynchronous handle: whelk_start, whelk_proc_fd in a poll loop,
 * whelk_proc_wait; with a cwd, a cleared environment and cut lines. */
static enum outcome scen_async(void)
{
    whelk_cmd *c;
    whelk_pipeline *p;
    whelk_proc *pr = NULL;
    whelk_result *r = NULL;
    whelk_error *err = NULL;
    lines got;
    enum outcome o = OUT_WRONG;
    const char *s;
    size_t len;
    int fd, ok = 1;

    memset(&got, 0, sizeof got);
    ARM();
    c = mk_cmd("pwd", "env:K", "out:abcdefghij", "exit:0", (const char *)NULL);
    whelk_cmd_chdir(c, "/");
    whelk_cmd_clearenv(c);
    whelk_cmd_setenv(c, "K", "v");
    if (build_mode == BUILD_PATH)
        whelk_cmd_setenv(c, "PATH", helper_dir);
    p = mk_pipe(c, NULL, 0);
    whelk_pipeline_max_line(p, 4);
    whelk_pipeline_on_line(p, WHELK_STDOUT, collect_line, &got);
    if (p)
        pr = whelk_start(p, &err);
    if (pr) {
        fd = whelk_proc_fd(pr);
        for (;;) {
            struct pollfd pfd = {fd, POLLIN, 0};
            if (fd >= 0 && poll(&pfd, 1, 20000) != 1)
                break;
            if (whelk_proc_step(pr, fd >= 0 ? 0 : 1000) == 1)
                break;
        }
        r = whelk_proc_wait(pr, &err);
    }
    DISARM();
    if (!p) {
        EXPECT(injected, "the pipeline constructor returned NULL");
        return OUT_NULL_OBJECT;
    }
    if (!r) {
        EXPECT(injected, "undisturbed run: %s", err_desc(err));
        o = expect_nomem(err);
        goto out;
    }
    s = whelk_result_stdout(r, &len);
    ok &= EXPECT(same_bytes(s, len, "/\nv\nabcdefghij"), "stdout \"%s\"", s);
    /* pieces of at most 4 bytes: "/", "v", "abcd" "efgh" "ij" */
    ok &= EXPECT(!got.bad && got.n[0] == 5 &&
                     strcmp(got.text[0], "/\nv\nabcd\nefgh\nij\n") == 0,
                 "lines (%d): \"%s\"", got.n[0], got.text[0]);
    ok &= EXPECT(err == NULL, "a result and an error");
    if (ok)
        o = injected ? OUT_RECOVERED : OUT_NORMAL;
out:
    whelk_result_free(r);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    return o;
}

/* whelk_run_many: three pipelines, two at a time, one failing. */
static enum outcome scen_many(void)
{
    static const char *const want[3] = {"0\n", "1\n",
                                        "line 1\nline 2\nline 3\n"};
    whelk_pipeline *p[3];
    whelk_result *res[3] = {NULL, NULL, NULL};
    whelk_error *errs[3] = {NULL, NULL, NULL};
    size_t failed = 0, nerrs = 0;
    int i, nomem = 0, ok = 1, built;

    ARM();
    p[0] = mk_pipe(mk_cmd("out:0\\n", (const char *)NULL), NULL, 0);
    p[1] = mk_pipe(mk_cmd("out:1\\n", "exit:2", (const char *)NULL), NULL, 0);
    p[2] = mk_pipe(mk_cmd("lines:3", (const char *)NULL),
                   mk_cmd("cat", (const char *)NULL), 1);
    built = p[0] && p[1] && p[2];
    if (built)
        failed = whelk_run_many(p, 3, 2, res, errs);
    DISARM();
    if (!built) {
        EXPECT(injected, "the pipeline constructor returned NULL");
        for (i = 0; i < 3; i++)
            whelk_pipeline_free(p[i]);
        return OUT_NULL_OBJECT;
    }
    for (i = 0; i < 3; i++) {
        const whelk_result *r = res[i];
        const char *s;
        size_t len;

        ok &= EXPECT((res[i] == NULL) != (errs[i] == NULL),
                     "pipeline %d: not exactly one of result and error", i);
        nerrs += errs[i] != NULL;
        if (errs[i] && whelk_error_kind(errs[i]) == WHELK_E_NOMEM) {
            EXPECT(injected, "undisturbed NOMEM");
            ok &= expect_nomem(errs[i]) == OUT_NOMEM;
            nomem++;
            continue;
        }
        if (i == 1) {
            ok &= EXPECT(whelk_error_kind(errs[1]) == WHELK_E_EXIT,
                         "pipeline 1: %s", err_desc(errs[1]));
            r = whelk_error_result(errs[1]);
        } else {
            ok &= EXPECT(res[i] != NULL, "pipeline %d: %s", i,
                         err_desc(errs[i]));
        }
        s = whelk_result_stdout(r, &len);
        ok &= EXPECT(same_bytes(s, len, want[i]), "pipeline %d: \"%s\"", i,
                     s);
    }
    ok &= EXPECT(failed == nerrs, "%zu failures counted, %zu errors", failed,
                 nerrs);
    for (i = 0; i < 3; i++) {
        whelk_result_free(res[i]);
        whelk_error_free(errs[i]);
        whelk_pipeline_free(p[i]);
    }
    if (!ok)
        return OUT_WRONG;
    return nomem ? OUT_NOMEM : injected ? OUT_RECOVERED : OUT_NORMAL;
}

START_TEST(test_nomem_async)
{
    set_build(BUILD_PATH);
    sweep("async", scen_async);
}
END_TEST

START_TEST(test_nomem_run_many)
{
    set_build(BUILD_PATH);
    sweep("run_many", scen_many);
}
END_TEST

void faults_async(TCase *tc)
{
    tcase_add_test(tc, test_nomem_async);
    tcase_add_test(tc, test_nomem_run_many);
}
