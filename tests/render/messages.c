/*
 * render/messages.c -- the render suite's "messages" tests (run by tests/check_render.c).
 */
#include "render.h"

/* ========================================================== messages */

START_TEST(test_message_names_cwd)
{
    whelk_cmd *c =
        helper_cmd("err:fatal: not a git repository\\n", "exit:128", NULL);
    whelk_pipeline *p;
    whelk_error *err;
    char *want;

    whelk_cmd_chdir(c, scratch);
    p = whelk_pipe(c, NULL);
    err = run_fail(p, WHELK_E_EXIT);
    want = xasprintf("cd %s && ", scratch);
    ck_assert_msg(strncmp(whelk_error_command(err), want, strlen(want)) == 0,
                  "command: %s", whelk_error_command(err));
    ck_assert_msg(contains(whelk_error_message(err), want) &&
                      contains(whelk_error_message(err),
                               "not a git repository"),
                  "message: %s", whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);

    /* a stage of a pipeline with a cwd of its own */
    c = helper_cmd("drain", "exit:3", NULL);
    whelk_cmd_chdir(c, scratch);
    p = whelk_pipe(helper_cmd("out:x", NULL), c, NULL);
    err = run_fail(p, WHELK_E_EXIT);
    ck_assert_uint_eq(whelk_error_stage(err), 1);
    ck_assert_msg(contains(whelk_error_message(err), want),
                  "message: %s", whelk_error_message(err));
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(want);
}
END_TEST

/* A message's command runs as the stage did: `sh -c` of it dumps the
 * same. */
START_TEST(test_message_command_runs_as_stage)
{
    char *dir = path_join(scratch, "it's here");
    whelk_cmd *c = helper_cmd("dump", "exit:7", NULL);
    whelk_pipeline *p;
    whelk_error *err;
    const whelk_result *r;
    whelk_result *sr;
    size_t len, slen;
    const char *out, *sout;

    ck_assert_int_eq(mkdir(dir, 0755), 0);
    whelk_cmd_chdir(c, dir);
    whelk_cmd_setenv(c, "A B", "c");
    p = whelk_pipe(c, NULL);
    err = run_fail(p, WHELK_E_EXIT);
    r = whelk_error_result(err);
    out = whelk_result_stdout(r, &len);
    {
        whelk_pipeline *sp = whelk_pipe(
            whelk_cmd_new("sh", "-c", whelk_error_command(err), NULL), NULL);
        whelk_pipeline_check(sp, 0);
        sr = run_ok(sp);
        whelk_pipeline_free(sp);
    }
    ck_assert_int_eq(whelk_result_exit_code(sr, 0), 7);
    sout = whelk_result_stdout(sr, &slen);
    {
        dump a = parse_dump(out, len, NULL, 0), b = parse_dump(sout, slen, NULL, 0);
        assert_same_dump(&a, &b, whelk_error_command(err), "sh");
        dump_free(&a);
        dump_free(&b);
    }
    whelk_result_free(sr);
    whelk_error_free(err);
    whelk_pipeline_free(p);
    free(dir);
}
END_TEST

void render_messages(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "messages", TEST_TIMEOUT, setup, teardown);
    tcase_add_test(tc, test_message_names_cwd);
    tcase_add_test(tc, test_message_command_runs_as_stage);
}
