/*
 * result.c -- whelk_result: per-stage statuses and captured output.
 */
#include "alloc.h"
#include "buf.h"
#include "result.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

whelk_result *whelk__result_new(size_t n)
{
    whelk_result *r = whelk__calloc(1, sizeof *r);
    size_t i;

    if (!r)
        return NULL;
    r->st = whelk__calloc(n, sizeof *r->st);
    if (!r->st) {
        free(r);
        return NULL;
    }
    r->n = n;
    for (i = 0; i < n; i++)
        r->st[i].code = -1;
    return r;
}

size_t whelk_result_ncmds(const whelk_result *r)
{
    return r ? r->n : 0;
}

int whelk_result_exit_code(const whelk_result *r, size_t stage)
{
    return r && stage < r->n ? r->st[stage].code : -1;
}

int whelk_result_signal(const whelk_result *r, size_t stage)
{
    return r && stage < r->n ? r->st[stage].sig : 0;
}

static const char *text(const whelk_buf *b, size_t *len)
{
    if (len)
        *len = b->data ? b->len : 0;
    return b->data ? b->data : "";
}

const char *whelk_result_stdout(const whelk_result *r, size_t *len)
{
    static const whelk_buf none = {0};
    return text(r ? &r->out : &none, len);
}

const char *whelk_result_stderr(const whelk_result *r, size_t *len)
{
    static const whelk_buf none = {0};
    return text(r ? &r->err : &none, len);
}

char *whelk_result_stdout_line(const whelk_result *r, size_t *len)
{
    size_t n, all;
    const char *s = whelk_result_stdout(r, &all);
    const char *nl = memchr(s, '\n', all);
    char *line;

    n = nl ? (size_t)(nl - s) : all;
    if (nl && n && s[n - 1] == '\r')
        n--;
    if (!(line = whelk__memdup(s, n))) {
        errno = ENOMEM;
        return NULL;
    }
    if (len)
        *len = n;
    return line;
}

const char *whelk_result_next_record(const whelk_result *r, size_t *pos,
                                     size_t *len)
{
    size_t all, at = pos ? *pos : 0;
    const char *s = whelk_result_stdout(r, &all), *end;

    if (!pos || at >= all)
        return NULL;
    end = memchr(s + at, '\0', all - at);
    if (!end)
        end = s + all; /* a last record without its NUL: the buffer's own */
    if (len)
        *len = (size_t)(end - (s + at));
    *pos = (size_t)(end - s) + 1;
    return s + at;
}

int whelk_result_truncated(const whelk_result *r)
{
    return r ? r->truncated : 0;
}

void whelk_result_free(whelk_result *r)
{
    if (!r)
        return;
    free(r->st);
    whelk__buf_free(&r->out);
    whelk__buf_free(&r->err);
    free(r);
}
