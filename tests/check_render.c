/*
 * check_render.c -- rendering, decoding and messages (issue 10):
 *
 *   - whelk_pipeline_tostring() run by `sh -c` (and by bash and dash when
 *     they are installed) runs exactly the pipeline and nothing else, for
 *     hostile bytes in argv, environment names and values, working
 *     directories and program paths: the helper's `dump` action reports
 *     the cwd, argv and environment it got, and both must be the same;
 *   - every charset the single-byte table decoder serves decodes exactly
 *     as iconv does, combining sequences included (CP1255, CP1258, TCVN);
 *   - a relative program is found in a working directory whose joined
 *     path is longer than PATH_MAX;
 *   - a script whose #! interpreter is missing names the interpreter;
 *   - an error's message shows the command's working directory.
 *
 * The decoder tests reach lib/decode.c through lib/internal.h.
 *
 * The runner and fixtures; the tests are in tests/render/<topic>.c, one
 * file per topic, sharing tests/render/render.h.
 */
#include "render/render.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names a shell sets itself (cd, bash): compared only when the command
 * sets or unsets them, or clears the environment. */
static const char *const shell_vars[] = {"PWD", "OLDPWD", "SHLVL", "_", NULL};

static int ignored(const char *entry, const char *const *keep, int cleared)
{
    size_t i, j;

    if (cleared)
        return 0;
    for (i = 0; shell_vars[i]; i++) {
        size_t n = strlen(shell_vars[i]);
        if (strncmp(entry, shell_vars[i], n) != 0 || entry[n] != '=')
            continue;
        for (j = 0; keep && keep[j]; j++)
            if (strcmp(keep[j], shell_vars[i]) == 0)
                return 0;
        return 1;
    }
    return 0;
}

dump parse_dump(const char *out, size_t len, const char *const *keep,
                int cleared)
{
    dump d;
    size_t n = 0, i, k = 0;
    char **items;
    char *p;

    memset(&d, 0, sizeof d);
    d.raw = malloc(len + 1);
    ck_assert_ptr_nonnull(d.raw);
    memcpy(d.raw, out, len);
    d.raw[len] = '\0';
    for (i = 0; i < len; i++)
        n += d.raw[i] == '\0';
    ck_assert_msg(len > 0 && d.raw[len - 1] == '\0' && n >= 2,
                  "not a dump (%zu bytes): %s", len, d.raw);
    items = calloc(n, sizeof *items);
    ck_assert_ptr_nonnull(items);
    d.items = items;
    for (p = d.raw, i = 0; i < n; i++, p += strlen(p) + 1)
        items[i] = p;
    d.cwd = items[0];
    d.argc = (size_t)atoi(items[1]);
    ck_assert_uint_le(d.argc + 2, n);
    d.argv = items + 2;
    d.env = items + 2 + d.argc;
    for (i = 0; i < n - 2 - d.argc; i++)
        if (!ignored(d.env[i], keep, cleared))
            d.env[k++] = d.env[i];
    d.nenv = k;
    qsort(d.env, d.nenv, sizeof *d.env, cmp_str);
    return d;
}

void dump_free(dump *d)
{
    free(d->raw);
    free(d->items);
}

char *visible(const char *s)
{
    whelk_buf b = {0};

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7F || c == '\\')
            whelk__buf_printf(&b, "\\x%02x", c);
        else
            whelk__buf_add(&b, s, 1);
    }
    whelk__buf_reserve(&b, 1);
    return b.data;
}

void assert_same_dump(const dump *a, const dump *b, const char *text,
                      const char *shell)
{
    size_t i;

    ck_assert_msg(strcmp(a->cwd, b->cwd) == 0, "%s: cwd [%s] != [%s] for %s",
                  shell, visible(b->cwd), visible(a->cwd), visible(text));
    ck_assert_msg(a->argc == b->argc, "%s: argc %zu != %zu for %s", shell,
                  b->argc, a->argc, visible(text));
    for (i = 0; i < a->argc; i++)
        ck_assert_msg(strcmp(a->argv[i], b->argv[i]) == 0,
                      "%s: argv[%zu] [%s] != [%s] for %s", shell, i,
                      visible(b->argv[i]), visible(a->argv[i]), visible(text));
    for (i = 0; i < a->nenv && i < b->nenv; i++)
        ck_assert_msg(strcmp(a->env[i], b->env[i]) == 0,
                      "%s: env [%s] != [%s] for %s", shell,
                      visible(b->env[i]), visible(a->env[i]), visible(text));
    ck_assert_msg(a->nenv == b->nenv, "%s: %zu env entries != %zu for %s",
                  shell, b->nenv, a->nenv, visible(text));
}

char *scratch; /* a fresh directory per test */
char *marker;  /* a file any injected command would create */

void setup(void)
{
    scratch = make_tmpdir();
    marker = path_join(scratch, "PWNED");
}

void teardown(void)
{
    rm_rf(scratch);
    free(scratch);
    free(marker);
}

/* ===================================================================== */

static Suite *render_suite(void)
{
    Suite *s = suite_create("render");

    render_tostring(s);
    render_decode(s);
    render_programs(s);
    render_messages(s);

    return s;
}

int main(void)
{
    return run_suite(render_suite());
}
