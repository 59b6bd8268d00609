/*
 * libpipeline/agree.c -- the libpipeline suite's "agree" tests (run by tests/check_libpipeline.c).
 */
#include "libpipeline.h"

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

void libpipeline_agree(Suite *s)
{
    TCase *tc;

    tc = add_tcase(s, "agree", TEST_TIMEOUT, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_table_size);
    tcase_add_loop_test(tc, test_agree, 0, (int)NCASES);
}
