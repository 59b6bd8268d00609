/*
 * argstr.h -- split a command string from configuration ("less -R",
 * $PAGER, $EDITOR, core.pager) into words the way a POSIX shell's lexer
 * does, with no expansion of any kind.  Used by whelk_cmd_new_argstr and
 * by the fuzz target that holds it against sh.
 */
#ifndef WHELK_ARGSTR_H
#define WHELK_ARGSTR_H

#include "base.h"

/* Why a string was refused (EINVAL from whelk__argstr_split). */
typedef struct whelk_argstr_fault {
    const char *why; /* "unterminated single quote", ... (static) */
    size_t offset;   /* byte offset in the string where it starts */
} whelk_argstr_fault;

/*
 * Splits words into a NULL-terminated vector of NUL-terminated words, both
 * allocated with whelk__malloc (free with whelk__argstr_free).  The rules
 * (sh's, XCU 2.2-2.3, minus every expansion):
 *   - blanks (space, tab) and unquoted newlines separate words;
 *   - '...' keeps every byte up to the next ';
 *   - "..." keeps every byte, except that a backslash followed by $ ` " \
 *     gives that character and a backslash-newline is removed;
 *   - an unquoted backslash gives the next byte, backslash-newline removed;
 *   - $ ` * ? [ ~ are ordinary characters: nothing is expanded.
 * Refused (EINVAL with *fault): no word at all, an unterminated quote, a
 * trailing backslash, and what only a shell can run -- an unquoted
 * | & ; < > ( ) and a # that starts a word (a comment in sh).
 * *unquoted_nl (may be NULL) is set when an unquoted newline separated two
 * words: sh would read two commands there (the fuzz target skips those).
 * Returns 0, ENOMEM or EINVAL.
 */
WHELK_INTERNAL int whelk__argstr_split(const char *words, char ***argv,
                                       whelk_argstr_fault *fault,
                                       int *unquoted_nl);

/* Frees a vector from whelk__argstr_split (NULL is fine).  Both are used
 * by argstr.c's whelk_cmd_new_argstr and, outside lib/, by
 * fuzz/fuzz_argstr.c. */
WHELK_INTERNAL void whelk__argstr_free(char **argv);

#endif /* WHELK_ARGSTR_H */
