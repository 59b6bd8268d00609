/*
 * quote.c -- render commands and pipelines as a POSIX shell reads them, for
 * error messages, logs and whelk_pipeline_tostring().  Every word is quoted
 * so that `sh -c` runs exactly the same argv.
 */
#include "alloc.h"
#include "buf.h"
#include "builder_body.h"
#include "quote.h"

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
        "if",   "then",     "else",      "elif",   "fi",        "do",
        "done", "case",     "esac",      "while",  "until",     "for",
        "in",   "function", "select",    "time",   "coproc",    "foreach",
        "end",  "repeat",   "nocorrect", "noglob", "namespace", NULL};
    size_t i;

    for (i = 0; words[i]; i++)
        if (strcmp(w, words[i]) == 0)
            return 1;
    return 0;
}

/* Names a shell runs without looking in PATH -- builtins of POSIX sh,
 * bash, dash, ksh and zsh -- when they come first in a command: a program
 * of that name is run through env(1), which can only exec. */
static int is_builtin(const char *w)
{
    static const char *const words[] = {
        ".",        ":",         "[",        "alias",   "autoload",   "bg",
        "bind",     "bindkey",   "break",    "builtin", "bye",        "caller",
        "cd",       "chdir",     "command",  "compgen", "complete",   "compopt",
        "continue", "declare",   "dirs",     "disable", "disown",     "echo",
        "emulate",  "enable",    "eval",     "exec",    "exit",       "export",
        "false",    "fc",        "fg",       "float",   "functions",  "getconf",
        "getopts",  "hash",      "help",     "history", "integer",    "jobs",
        "kill",     "let",       "limit",    "local",   "logout",     "mapfile",
        "popd",     "print",     "printf",   "pushd",   "pwd",        "r",
        "read",     "readarray", "readonly", "rehash",  "return",     "sched",
        "set",      "setopt",    "shift",    "shopt",   "sleep",      "source",
        "suspend",  "test",      "times",    "trap",    "true",       "type",
        "typeset",  "ulimit",    "umask",    "unalias", "unfunction", "unhash",
        "unlimit",  "unset",     "unsetopt", "vared",   "wait",       "whence",
        "where",    "which",     "zmodload", NULL};
    size_t i;

    for (i = 0; words[i]; i++)
        if (strcmp(w, words[i]) == 0)
            return 1;
    return 0;
}

/* Can NAME=value in front of a command set exactly name in its
 * environment, in any POSIX shell?  Upper-case names that no shell
 * treats specially (bash's read-only UID, zsh's USERNAME, RANDOM, ...);
 * anything else goes through env(1). */
static int is_plain_name(const char *name)
{
    static const char *const special[] = {"DIRSTACK",
                                          "EGID",
                                          "EPOCHREALTIME",
                                          "EPOCHSECONDS",
                                          "ERRNO",
                                          "EUID",
                                          "FUNCNAME",
                                          "GID",
                                          "GROUPS",
                                          "HISTCMD",
                                          "HISTSIZE",
                                          "IFS",
                                          "LINENO",
                                          "OPTARG",
                                          "OPTIND",
                                          "PPID",
                                          "RANDOM",
                                          "SECONDS",
                                          "SHELLOPTS",
                                          "SRANDOM",
                                          "TTYIDLE",
                                          "UID",
                                          "USERNAME",
                                          "PWD",
                                          "OLDPWD",
                                          "SHLVL",
                                          "_",
                                          NULL};
    const char *s = name;
    size_t i;

    if (!(*s == '_' || (*s >= 'A' && *s <= 'Z')))
        return 0;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9')))
            return 0;
    if (strncmp(name, "BASH", 4) == 0 || strncmp(name, "ZSH", 3) == 0 ||
        strncmp(name, "COMP", 4) == 0)
        return 0;
    for (i = 0; special[i]; i++)
        if (strcmp(name, special[i]) == 0)
            return 0;
    return 1;
}

/* cmdword: the word is in command position, where NAME=x would be taken
 * as an assignment and `if` as a keyword. */
/* Append word to b, quoted for sh when it needs it. */
static int quote_word(whelk_buf *b, const char *word, int cmdword)
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

int whelk__quote(whelk_buf *b, const char *word, int cmdword)
{
    return quote_word(b, word, cmdword);
}

/* NAME=value as one word: the name bare when it is made of safe bytes,
 * else the whole assignment quoted (env(1) reads any name). */
static int render_assignment(whelk_buf *b, const char *name, const char *value)
{
    const unsigned char *s = (const unsigned char *)name;
    whelk_buf w = {0};
    int rc;

    while (*s && is_safe(*s))
        s++;
    if (!*s)
        return whelk__buf_addstr(b, name) < 0 ||
                       whelk__buf_add(b, "=", 1) < 0 ||
                       quote_word(b, value, 0) < 0
                   ? -1
                   : 0;
    if (whelk__buf_printf(&w, "%s=%s", name, value) < 0) {
        whelk__buf_free(&w);
        return -1;
    }
    rc = quote_word(b, w.data, 0);
    whelk__buf_free(&w);
    return rc;
}

/* Does the command need env(1): a cleared environment, an unset name, a
 * name the shell cannot assign exactly, or a program named like a
 * builtin or a job? */
static int needs_env(const whelk_cmd *cmd)
{
    size_t i;

    if (cmd->clearenv)
        return 1;
    for (i = 0; i < cmd->nenv; i++)
        if (!cmd->env[i].value || !is_plain_name(cmd->env[i].name))
            return 1;
    /* bash runs a first word starting with '%' as fg of that job, quoted
     * or not, slash or not */
    return cmd->argc &&
           ((!strchr(cmd->argv[0], '/') && is_builtin(cmd->argv[0])) ||
            cmd->argv[0][0] == '%');
}

/* env [-i] [-u NAME]... [--] [NAME=value]... [nice -n 0 [--]] program:
 * env(1) takes every word holding '=' before the program as an
 * assignment, even after --, so a program whose name holds '=' is run
 * through nice -n 0, which execs it unchanged (/usr/bin/nice when the
 * command sets a PATH of its own, where nice may not be); so is a program
 * named "-" that no assignment precedes (env's obsolete -i). */
static int render_env(whelk_buf *b, const whelk_cmd *cmd)
{
    const char *prog = cmd->argc ? cmd->argv[0] : "";
    size_t i, first = cmd->nenv;
    int sets_path = 0, wrap;

    if (whelk__buf_addstr(b, cmd->clearenv ? "env -i" : "env") < 0)
        return -1;
    for (i = 0; i < cmd->nenv; i++) {
        const char *name = cmd->env[i].name;
        if (cmd->env[i].value) {
            if (first == cmd->nenv)
                first = i;
            sets_path |= strcmp(name, "PATH") == 0;
        } else if (!cmd->clearenv && (whelk__buf_addstr(b, " -u ") < 0 ||
                                      quote_word(b, name, 0) < 0)) {
            return -1;
        }
    }
    /* env reads a program named "-" right after its options as -i */
    wrap = strchr(prog, '=') || (first == cmd->nenv && strcmp(prog, "-") == 0);
    /* a first word starting with '-' would be taken for an option */
    if (!wrap && (first < cmd->nenv ? cmd->env[first].name : prog)[0] == '-' &&
        whelk__buf_addstr(b, " --") < 0)
        return -1;
    for (i = 0; i < cmd->nenv; i++)
        if (cmd->env[i].value &&
            (whelk__buf_add(b, " ", 1) < 0 ||
             render_assignment(b, cmd->env[i].name, cmd->env[i].value) < 0))
            return -1;
    if (whelk__buf_add(b, " ", 1) < 0)
        return -1;
    if (!wrap)
        return 0;
    /* nice is looked up in the PATH the command sets, where it may not be */
    if (sets_path && whelk__buf_addstr(b, "/usr/bin/") < 0)
        return -1;
    return whelk__buf_addstr(b,
                             prog[0] == '-' ? "nice -n 0 -- " : "nice -n 0 ");
}

/* Append one command (env, argv, without cwd/redirections). */
static int render_cmd(whelk_buf *b, const whelk_cmd *cmd)
{
    size_t i;
    int env;

    /* a C function: name(), which every shell refuses to run (a function
     * definition without a body), so that nothing else runs in its place */
    if (cmd->filter)
        return quote_word(b, cmd->argc ? cmd->argv[0] : "", 0) < 0 ||
                       whelk__buf_addstr(b, "()") < 0
                   ? -1
                   : 0;
    env = needs_env(cmd);

    if (env && render_env(b, cmd) < 0)
        return -1;
    for (i = 0; !env && i < cmd->nenv; i++) {
        if (whelk__buf_addstr(b, cmd->env[i].name) < 0 ||
            whelk__buf_add(b, "=", 1) < 0 ||
            quote_word(b, cmd->env[i].value, 0) < 0 ||
            whelk__buf_add(b, " ", 1) < 0)
            return -1;
    }
    for (i = 0; i < cmd->argc; i++) {
        if ((i && whelk__buf_add(b, " ", 1) < 0) ||
            quote_word(b, cmd->argv[i], i == 0 && !env) < 0)
            return -1;
    }
    return 0;
}

/* "cd dir" as the run's chdir(2) does it: a relative dir starts with ./
 * so that CDPATH is not searched, and a dir with a .. component is
 * resolved physically (-P), not by cutting the text. */
static int render_cd(whelk_buf *b, const char *dir)
{
    const char *s;
    int dotdot = 0, rel;

    for (s = dir; (s = strstr(s, "..")) != NULL; s += 2)
        if ((s == dir || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
            dotdot = 1;
    rel = dir[0] && dir[0] != '/' && strncmp(dir, "./", 2) != 0 &&
          strncmp(dir, "../", 3) != 0 && strcmp(dir, ".") != 0 &&
          strcmp(dir, "..") != 0;
    if (whelk__buf_addstr(b, dotdot ? "cd -P " : "cd ") < 0 ||
        (rel && whelk__buf_addstr(b, "./") < 0))
        return -1;
    return quote_word(b, dir, 0);
}

/* One command as a message shows it: `cd dir && ` when it has a working
 * directory, then the command. */
static int render_with_cwd(whelk_buf *b, const whelk_cmd *cmd)
{
    if (cmd->cwd && !cmd->filter &&
        (render_cd(b, cmd->cwd) < 0 || whelk__buf_addstr(b, " && ") < 0))
        return -1;
    return render_cmd(b, cmd);
}

char *whelk__cmd_string(const whelk_cmd *cmd)
{
    whelk_buf b = {0};

    if (whelk__buf_reserve(&b, 64) < 0 || render_with_cwd(&b, cmd) < 0) {
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
        return quote_word(b, io->path, 0);
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

/* printf's format for bytes holding NUL: each byte as itself but NUL,
 * backslash and per cent, which are escaped. */
static int render_format(whelk_buf *b, const unsigned char *s, size_t n)
{
    whelk_buf f = {0};
    size_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        if (s[i] == '\0')
            rc = whelk__buf_addstr(&f, "\\000");
        else if (s[i] == '\\')
            rc = whelk__buf_addstr(&f, "\\\\");
        else if (s[i] == '%')
            rc = whelk__buf_addstr(&f, "%%");
        else
            rc = whelk__buf_add(&f, s + i, 1);
    }
    if (rc == 0 && whelk__buf_reserve(&f, 1) < 0)
        rc = -1;
    if (rc == 0)
        rc = whelk__buf_addstr(b, "printf ") < 0 || quote_word(b, f.data, 0) < 0
                 ? -1
                 : 0;
    whelk__buf_free(&f);
    return rc;
}

/* printf of the stdin bytes into the first stage; more than 256 bytes are
 * shown by their first 32 and their size, in a form sh refuses to run. */
static int render_input(whelk_buf *b, const whelk_pipeline *p)
{
    size_t shown = p->in_len > 256 ? 32 : p->in_len;
    char *s;
    int rc;

    if (memchr(p->in_data, '\0', p->in_len)) {
        rc = render_format(b, p->in_data, shown);
    } else {
        if (!(s = whelk__memdup(p->in_data, shown)))
            return -1;
        rc = whelk__buf_addstr(b, "printf '%s' ") < 0 || quote_word(b, s, 0) < 0
                 ? -1
                 : 0;
        free(s);
    }
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
        (render_cd(&b, p->cmds[0]->cwd) < 0 ||
         whelk__buf_addstr(&b, " && ") < 0))
        goto fail;
    if (p->in.kind == IO_BYTES && render_input(&b, p) < 0)
        goto fail;
    for (i = 0; i < p->ncmds; i++) {
        const whelk_cmd *c = p->cmds[i];
        int sub = !common && c->cwd && !c->filter;
        if (i && whelk__buf_addstr(&b, " | ") < 0)
            goto fail;
        if (sub && whelk__buf_add(&b, "(", 1) < 0)
            goto fail;
        if ((sub ? render_with_cwd(&b, c) : render_cmd(&b, c)) < 0)
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
