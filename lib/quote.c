/*
 * quote.c -- render commands and pipelines as a POSIX shell reads them, for
 * error messages, logs and whelk_pipeline_tostring().  Every word is quoted
 * so that `sh -c` runs exactly the same argv.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static int is_safe(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || strchr("_@%+=:,./-", c) != NULL;
}

static int is_reserved(const char *w)
{
    static const char *const words[] = {
        "if",   "then",     "else",   "elif",  "fi",    "do",
        "done", "case",     "esac",   "while", "until", "for",
        "in",   "function", "select", "time",  NULL};
    size_t i;

    for (i = 0; words[i]; i++)
        if (strcmp(w, words[i]) == 0)
            return 1;
    return 0;
}

/* cmdword: the word is in command position, where NAME=x would be taken
 * as an assignment and `if` as a keyword. */
int whelk__quote(whelk_buf *b, const char *word, int cmdword)
{
    const unsigned char *s = (const unsigned char *)word;
    int plain = *s != '\0';

    for (; *s && plain; s++)
        plain = is_safe(*s) && !(cmdword && *s == '=');
    if (plain && cmdword && is_reserved(word))
        plain = 0;
    if (plain)
        return whelk__buf_addstr(b, word);
    if (whelk__buf_add(b, "'", 1) < 0)
        return -1;
    for (s = (const unsigned char *)word; *s; s++) {
        if (*s == '\'') {
            if (whelk__buf_addstr(b, "'\\''") < 0)
                return -1;
        } else if (whelk__buf_add(b, s, 1) < 0) {
            return -1;
        }
    }
    return whelk__buf_add(b, "'", 1);
}

int whelk__cmd_render(whelk_buf *b, const whelk_cmd *cmd)
{
    size_t i;
    int unsets = 0;

    for (i = 0; i < cmd->nenv; i++)
        unsets |= cmd->env[i].value == NULL;
    if (cmd->clearenv || unsets) {
        if (whelk__buf_addstr(b, cmd->clearenv ? "env -i " : "env ") < 0)
            return -1;
        for (i = 0; i < cmd->nenv; i++) {
            if (cmd->env[i].value || cmd->clearenv)
                continue;
            if (whelk__buf_addstr(b, "-u ") < 0 ||
                whelk__quote(b, cmd->env[i].name, 0) < 0 ||
                whelk__buf_add(b, " ", 1) < 0)
                return -1;
        }
    }
    for (i = 0; i < cmd->nenv; i++) {
        if (!cmd->env[i].value)
            continue;
        if (whelk__buf_addstr(b, cmd->env[i].name) < 0 ||
            whelk__buf_add(b, "=", 1) < 0 ||
            whelk__quote(b, cmd->env[i].value, 0) < 0 ||
            whelk__buf_add(b, " ", 1) < 0)
            return -1;
    }
    for (i = 0; i < cmd->argc; i++) {
        if ((i && whelk__buf_add(b, " ", 1) < 0) ||
            whelk__quote(b, cmd->argv[i], i == 0) < 0)
            return -1;
    }
    return 0;
}

char *whelk__cmd_string(const whelk_cmd *cmd)
{
    whelk_buf b = {0};

    if (whelk__buf_reserve(&b, 64) < 0 || whelk__cmd_render(&b, cmd) < 0) {
        whelk__buf_free(&b);
        return NULL;
    }
    return b.data;
}

static int render_io(whelk_buf *b, const char *op, const whelk_io *io)
{
    switch (io->kind) {
    case IO_NULL: return whelk__buf_printf(b, " %s/dev/null", op);
    case IO_FILE:
        if (whelk__buf_printf(b, " %s%s ", op,
                              io->append && op[strlen(op) - 1] == '>' ? ">"
                                                                      : "") < 0)
            return -1;
        return whelk__quote(b, io->path, 0);
    case IO_FD: return whelk__buf_printf(b, " %s&%d", op, io->fd);
    default: return 0;
    }
}

static int same_cwd(const whelk_pipeline *p)
{
    size_t i;
    const char *c0 = p->cmds[0]->cwd;

    for (i = 1; i < p->ncmds; i++) {
        const char *c = p->cmds[i]->cwd;
        if ((c0 == NULL) != (c == NULL) || (c0 && strcmp(c0, c) != 0))
            return 0;
    }
    return 1;
}

static int render_input(whelk_buf *b, const whelk_pipeline *p)
{
    size_t shown = p->in_len > 256 ? 32 : p->in_len;
    char *s;
    int rc;

    if (memchr(p->in_data, '\0', p->in_len))
        return whelk__buf_printf(b, "cat <(%zu bytes) | ", p->in_len);
    if (!(s = whelk__memdup(p->in_data, shown)))
        return -1;
    rc = whelk__buf_addstr(b, "printf '%s' ") < 0 || whelk__quote(b, s, 0) < 0;
    free(s);
    if (rc)
        return -1;
    if (shown < p->in_len &&
        whelk__buf_printf(b, "...(%zu bytes)", p->in_len) < 0)
        return -1;
    return whelk__buf_addstr(b, " | ");
}

/* Redirections of a stage after stdin: stdout (last stage) and stderr, in
 * the order that makes `sh` do what the run does. */
static int render_stage_io(whelk_buf *b, const whelk_pipeline *p,
                           const whelk_cmd *c, int last)
{
    if (last && p->out.kind == IO_TO_STDERR)
        return render_io(b, "2>", &c->err) < 0 ? -1
                                               : whelk__buf_addstr(b, " >&2");
    if (last && render_io(b, ">", &p->out) < 0)
        return -1;
    if (c->err.kind == IO_TO_STDOUT)
        return whelk__buf_addstr(b, " 2>&1");
    return render_io(b, "2>", &c->err);
}

char *whelk_pipeline_tostring(const whelk_pipeline *p)
{
    whelk_buf b = {0};
    size_t i;
    int common;

    if (!p || whelk__buf_reserve(&b, 128) < 0)
        return NULL;
    if (!p->ncmds)
        return b.data;
    common = same_cwd(p);
    if (common && p->cmds[0]->cwd &&
        (whelk__buf_addstr(&b, "cd ") < 0 ||
         whelk__quote(&b, p->cmds[0]->cwd, 0) < 0 ||
         whelk__buf_addstr(&b, " && ") < 0))
        goto fail;
    if (p->in.kind == IO_BYTES && render_input(&b, p) < 0)
        goto fail;
    for (i = 0; i < p->ncmds; i++) {
        const whelk_cmd *c = p->cmds[i];
        int sub = !common && c->cwd;
        if (i && whelk__buf_addstr(&b, " | ") < 0)
            goto fail;
        if (sub && (whelk__buf_addstr(&b, "(cd ") < 0 ||
                    whelk__quote(&b, c->cwd, 0) < 0 ||
                    whelk__buf_addstr(&b, " && ") < 0))
            goto fail;
        if (whelk__cmd_render(&b, c) < 0)
            goto fail;
        if (sub && whelk__buf_add(&b, ")", 1) < 0)
            goto fail;
        /* stdin from /dev/null is the default: shown only when it differs */
        if (i == 0 && p->in.kind != IO_BYTES && p->in.kind != IO_NULL &&
            render_io(&b, "<", &p->in) < 0)
            goto fail;
        if (render_stage_io(&b, p, c, i == p->ncmds - 1) < 0)
            goto fail;
    }
    return b.data;
fail:
    whelk__buf_free(&b);
    return NULL;
}
