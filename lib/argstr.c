/*
 * argstr.c -- whelk_cmd_new_argstr: a command from one string of words
 * with POSIX sh quoting ("less -R", $PAGER, $EDITOR, core.pager), split
 * the way sh's lexer splits them but with no expansion of any kind: no
 * parameters, no command substitution, no globbing, no tilde.  What only a
 * shell could run (a pipe, a redirection, a list, a comment) is refused
 * rather than guessed.  fuzz/fuzz_argstr.c holds the splitter against sh.
 */
#include "argstr.h"
#include "alloc.h"
#include "builder.h"
#include "fault.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct splitter {
    const char *s;
    char *out;      /* the bytes of every word, each NUL-terminated */
    size_t outlen;  /* used bytes of out */
    size_t *starts; /* offset in out of each word */
    size_t nwords;
    whelk_argstr_fault *fault;
} splitter;

static int refuse(splitter *sp, const char *why, size_t at)
{
    sp->fault->why = why;
    sp->fault->offset = at;
    return EINVAL;
}

/* Copies the quoted text that starts at s[*i] (a ' or a ") to out and moves
 * *i past its closing quote. */
static int quoted(splitter *sp, size_t *i)
{
    const char *s = sp->s;
    size_t at = *i, j = at + 1;

    if (s[at] == '\'') {
        const char *end = strchr(s + j, '\'');
        if (!end)
            return refuse(sp, "unterminated single quote", at);
        memcpy(sp->out + sp->outlen, s + j, (size_t)(end - (s + j)));
        sp->outlen += (size_t)(end - (s + j));
        *i = (size_t)(end - s) + 1;
        return 0;
    }
    for (;;) {
        char c = s[j];
        if (c == '\0')
            return refuse(sp, "unterminated double quote", at);
        if (c == '"')
            break;
        if (c == '\\' && s[j + 1] && strchr("$`\"\\\n", s[j + 1])) {
            if (s[j + 1] != '\n') /* backslash-newline: removed */
                sp->out[sp->outlen++] = s[j + 1];
            j += 2;
            continue;
        }
        sp->out[sp->outlen++] = c;
        j++;
    }
    *i = j + 1;
    return 0;
}

static int split(splitter *sp, int *unquoted_nl)
{
    const char *s = sp->s;
    size_t i = 0;
    int in_word = 0, nl_seen = 0, rc;

    while (s[i]) {
        char c = s[i];

        if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word)
                sp->out[sp->outlen++] = '\0';
            in_word = 0;
            nl_seen |= c == '\n';
            i++;
            continue;
        }
        if (c == '\\' && s[i + 1] == '\n') { /* a line continuation */
            i += 2;
            continue;
        }
        if (strchr("|&;<>()", c))
            return refuse(sp,
                          "unquoted shell operator (a pipe, redirection or "
                          "list needs a shell: quote it, or use sh -c)",
                          i);
        if (c == '#' && !in_word)
            return refuse(sp, "a comment (# starting a word) needs a shell", i);
        if (!in_word) {
            sp->starts[sp->nwords++] = sp->outlen;
            in_word = 1;
            if (nl_seen && unquoted_nl)
                *unquoted_nl = 1;
        }
        if (c == '\'' || c == '"') {
            if ((rc = quoted(sp, &i)) != 0)
                return rc;
        } else if (c == '\\') {
            if (!s[i + 1])
                return refuse(sp, "trailing backslash", i);
            sp->out[sp->outlen++] = s[i + 1];
            i += 2;
        } else {
            sp->out[sp->outlen++] = c;
            i++;
        }
    }
    if (in_word)
        sp->out[sp->outlen++] = '\0';
    if (!sp->nwords)
        return refuse(sp, "no words", 0);
    return 0;
}

int whelk__argstr_split(const char *words, char ***argv,
                        whelk_argstr_fault *fault, int *unquoted_nl)
{
    whelk_argstr_fault dummy = {NULL, 0};
    splitter sp;
    size_t len, k;
    char **v = NULL, *text;
    int rc;

    *argv = NULL;
    if (unquoted_nl)
        *unquoted_nl = 0;
    memset(&sp, 0, sizeof sp);
    sp.fault = fault ? fault : &dummy;
    if (!words)
        return refuse(&sp, "the string is NULL", 0);
    sp.s = words;
    len = strlen(words);
    /* a word takes at least one byte of input and one separator (or the
     * end), and never more bytes than the input it came from */
    sp.out = whelk__malloc(len + 1);
    sp.starts = whelk__malloc((len / 2 + 1) * sizeof *sp.starts);
    rc = ENOMEM;
    if (!sp.out || !sp.starts)
        goto out;
    if ((rc = split(&sp, unquoted_nl)) != 0)
        goto out;
    rc = ENOMEM;
    v = whelk__malloc((sp.nwords + 1) * sizeof *v + sp.outlen);
    if (!v)
        goto out;
    text = (char *)(v + sp.nwords + 1);
    memcpy(text, sp.out, sp.outlen);
    for (k = 0; k < sp.nwords; k++)
        v[k] = text + sp.starts[k];
    v[k] = NULL;
    *argv = v;
    rc = 0;
out:
    free(sp.out);
    free(sp.starts);
    return rc;
}

void whelk__argstr_free(char **argv)
{
    free(argv);
}

whelk_cmd *whelk_cmd_new_argstr(const char *words)
{
    whelk_cmd *cmd = whelk__cmd_alloc();
    whelk_argstr_fault f = {NULL, 0};
    char **argv;
    size_t i;
    int rc;

    if (!cmd)
        return (whelk_cmd *)&whelk__nomem_cmd;
    rc = whelk__argstr_split(words, &argv, &f, NULL);
    if (rc == ENOMEM) {
        whelk__fault_set(whelk__cmd_fault(cmd), WHELK_E_NOMEM, ENOMEM,
                         "out of memory");
        return cmd;
    }
    if (rc) {
        whelk__fault_set(whelk__cmd_fault(cmd), WHELK_E_INVALID, EINVAL,
                         "cannot split the command string \"%s\" into words: "
                         "%s, at byte %zu",
                         words ? words : "(null)", f.why, f.offset);
        return cmd;
    }
    for (i = 0; argv[i]; i++)
        whelk__cmd_push(cmd, argv[i]);
    whelk__argstr_free(argv);
    return cmd;
}
