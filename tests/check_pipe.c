/*
 * check_pipe.c -- pipelines and redirections, with the status of every
 * stage (issue 3).
 *
 * Everything is tested through the public API (whelk.h) against the helper
 * child tests/whelk-helper (action language at the top of whelk-helper.c).
 * Only the quoting round-trips run `sh -c` (and `env`, which the rendered
 * text of an env change names), because their point is that a POSIX shell
 * reads whelk_pipeline_tostring() as libwhelk runs the pipeline.
 *
 * No test sleeps to synchronise: ordering comes from pipes (a stage that
 * reads its stdin to EOF cannot go on before its writer has exited), from
 * callbacks that run in the host while the run is in progress, and from
 * the blocking calls of the library itself.
 *
 * The runner and fixtures; the tests are in tests/pipe/<topic>.c, one file
 * per topic, sharing tests/pipe/pipe.h.
 */
#include "pipe/pipe.h"

/* ----------------------------------------------------------- fixtures */

/* Run p and free it; it must succeed. */
whelk_result *run_ok_free(whelk_pipeline *p)
{
    whelk_result *r = run_ok(p);

    whelk_pipeline_free(p);
    return r;
}

/* The contents of a file, which must exist (malloc'd). */
char *file_text(const char *path, size_t *len)
{
    char *s = slurp(path, len);

    ck_assert_msg(s != NULL, "cannot read %s: %s", path, strerror(errno));
    return s;
}

/* A word quoted for sh when it needs it (malloc'd): for the expected
 * command of helper stages, whose path depends on the build directory. */
char *shq(const char *w)
{
    size_t i, n = strlen(w);
    int plain = n > 0;
    char *out, *o;

    for (i = 0; i < n && plain; i++)
        plain = (w[i] >= 'a' && w[i] <= 'z') || (w[i] >= 'A' && w[i] <= 'Z') ||
                (w[i] >= '0' && w[i] <= '9') || strchr("_@%+=:,./-", w[i]);
    if (plain) {
        out = strdup(w);
        ck_assert_ptr_nonnull(out);
        return out;
    }
    out = o = malloc(4 * n + 3);
    ck_assert_ptr_nonnull(out);
    *o++ = '\'';
    for (i = 0; i < n; i++) {
        if (w[i] == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = w[i];
        }
    }
    *o++ = '\'';
    *o = '\0';
    return out;
}

/* A pipeline of n stages of the helper's `cat`. */
whelk_pipeline *cats(size_t n)
{
    whelk_pipeline *p = whelk_pipeline_new();
    size_t i;

    ck_assert_ptr_nonnull(p);
    for (i = 0; i < n; i++)
        whelk_pipeline_add(p, H("cat"));
    ck_assert_uint_eq(whelk_pipeline_ncmds(p), n);
    return p;
}

/* "touch:PATH" for the helper (malloc'd). */
char *touch_action(const char *path)
{
    char *a = xasprintf("touch:%s", path);

    ck_assert_ptr_nonnull(a);
    return a;
}

/* ============================================================= suite */

TCase *pipe_tcase(Suite *s, const char *name, int tmp)
{
    return add_tcase(s, name, TEST_TIMEOUT, tmp ? tmp_setup : NULL,
                     tmp ? tmp_teardown : NULL);
}

static Suite *pipe_suite(void)
{
    Suite *s = suite_create("pipe");

    pipe_data(s);
    pipe_statuses(s);
    pipe_sigpipe(s);
    pipe_start(s);
    pipe_stderr(s);
    pipe_redirect(s);
    pipe_tostring(s);

    return s;
}

int main(void)
{
    return run_suite(pipe_suite());
}
