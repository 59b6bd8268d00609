/*
 * fuzz_argstr.c -- libFuzzer target for the command-string splitter of
 * whelk_cmd_new_argstr (lib/argstr.c), held against a POSIX shell.
 *
 * Input: the words themselves (up to 512 bytes).  Inputs with a byte sh
 * would expand ($ ` * ? [ ~), a NUL, or a byte outside ASCII (dash's
 * parser uses bytes 0x81-0x88 as internal markers) are skipped: for every
 * other string the splitter and sh must agree.
 *
 * Properties checked (abort on violation):
 *   - a string the splitter accepts holds at least one word, and sh reads
 *     it as the same words: `sh -c 'printf "%s\0" '"$words"` (found in
 *     PATH, /bin/sh's dash on Debian) exits 0 and prints exactly the words,
 *     each followed by a NUL.  Strings where an unquoted newline separates
 *     words are skipped (sh reads two commands there, by design);
 *   - a refused string says why and where: a reason, an offset inside it;
 *   - an unterminated quote is refused by sh too (it exits non-zero).
 */
#define _GNU_SOURCE
#include "argstr.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_INPUT 512

/* Runs sh -c 'printf "%s\0" '<words>; its stdout in *out (malloc'd),
 * returns its wait status. */
static int run_sh(const char *words, char **out, size_t *outlen)
{
    static const char prefix[] = "printf \"%s\\0\" ";
    char *script = malloc(sizeof prefix + strlen(words));
    char *argv[] = {"sh", "-c", script, NULL};
    posix_spawn_file_actions_t fa;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    int p[2], st = 0;
    pid_t pid;

    if (!script || !buf || pipe(p) < 0)
        abort();
    memcpy(script, prefix, sizeof prefix - 1);
    strcpy(script + sizeof prefix - 1, words);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_addclose(&fa, p[1]);
    if (posix_spawnp(&pid, "sh", &fa, NULL, argv, environ) != 0)
        abort();
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    for (;;) {
        ssize_t n;
        if (len == cap && !(buf = realloc(buf, cap *= 2)))
            abort();
        n = read(p[0], buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(p[0]);
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            abort();
    free(script);
    *out = buf;
    *outlen = len;
    return st;
}

static void show(const char *what, const char *s, size_t len)
{
    size_t i;

    fprintf(stderr, "%s (%zu bytes): ", what, len);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fputc('\n', stderr);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    whelk_argstr_fault f = {NULL, 0};
    char *words, **argv, *out, *want;
    size_t i, outlen, wantlen = 0;
    int rc, nl, st;

    if (size > MAX_INPUT)
        return 0;
    for (i = 0; i < size; i++)
        if (!data[i] || data[i] >= 0x80 || strchr("$`*?[~", data[i]))
            return 0;
    if (!(words = malloc(size + 1)))
        abort();
    memcpy(words, data, size);
    words[size] = '\0';

    rc = whelk__argstr_split(words, &argv, &f, &nl);
    if (rc == EINVAL) {
        if (!f.why || f.offset > size || argv)
            abort();
        if (strstr(f.why, "unterminated")) {
            st = run_sh(words, &out, &outlen);
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
                show("words", words, size);
                fprintf(stderr, "refused (%s) but sh accepts it\n", f.why);
                abort();
            }
            free(out);
        }
        free(words);
        return 0;
    }
    if (rc != 0 || !argv || !argv[0])
        abort();
    if (nl) {
        whelk__argstr_free(argv);
        free(words);
        return 0;
    }
    for (i = 0; argv[i]; i++)
        wantlen += strlen(argv[i]) + 1;
    if (!(want = malloc(wantlen + 1)))
        abort();
    wantlen = 0;
    for (i = 0; argv[i]; i++) {
        size_t n = strlen(argv[i]) + 1;
        memcpy(want + wantlen, argv[i], n);
        wantlen += n;
    }
    st = run_sh(words, &out, &outlen);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || outlen != wantlen ||
        memcmp(out, want, wantlen) != 0) {
        show("words", words, size);
        show("whelk", want, wantlen);
        show("sh   ", out, outlen);
        fprintf(stderr, "sh status %d\n", st);
        abort();
    }
    free(out);
    free(want);
    whelk__argstr_free(argv);
    free(words);
    return 0;
}
