/*
 * check_remote.c -- pipelines run on another machine (whelk_remote).
 *
 * Fast cases use the `sh -c` transport (the far side is this machine,
 * through a shell).  The rest use a real OpenSSH server that main()
 * starts on 127.0.0.1 with tests/sshd.h (a free high port, throwaway host
 * and client keys in a temporary directory, `sshd -D -f <config>` as root)
 * and stops at the end; an `ssh` wrapper first in PATH gives the client
 * its config (host aliases h1..h4, "dead" for a closed port, "nokey" for
 * a refused key).
 * The ssh tests FAIL when the server could not start: they never skip.
 *
 * The runner and fixtures; the tests are in tests/remote/<topic>.c, one
 * file per topic, sharing tests/remote/remote.h.
 */
#include "remote/remote.h"

/* p, run through remote r (the remote is freed: the pipeline keeps it). */
whelk_pipeline *remotely(whelk_pipeline *p, whelk_remote *r)
{
    whelk_pipeline_remote(p, r);
    whelk_remote_free(r);
    return p;
}

/* Processes whose command line holds token (this test's own excepted). */
int count_with_token(const char *token)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[65536], st[512];
        ssize_t len, k;
        int fd;
        char *rp;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if (atoi(e->d_name) == getpid())
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        if ((fd = open(path, O_RDONLY)) < 0)
            continue;
        k = read(fd, st, sizeof st - 1);
        close(fd);
        if (k <= 0)
            continue;
        st[k] = '\0';
        rp = strrchr(st, ')');
        if (rp && rp[1] == ' ' && rp[2] == 'Z')
            continue; /* a zombie runs nothing */
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        if ((fd = open(path, O_RDONLY)) < 0)
            continue;
        len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0)
            continue;
        for (k = 0; k < len; k++)
            if (!buf[k])
                buf[k] = ' ';
        buf[len] = '\0';
        n += strstr(buf, token) != NULL;
    }
    closedir(d);
    return n;
}

/* Waits (up to ms) until no process holds token; the count left. */
int gone_within(const char *token, int ms)
{
    int64_t end = now_ms() + ms;
    int n;

    while ((n = count_with_token(token)) > 0 && now_ms() < end) {
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL); /* polling a condition, bounded */
    }
    return n;
}

char *new_token(void)
{
    static int seq;
    return xasprintf("whelktok%d_%d_%lld", getpid(), ++seq,
                     (long long)now_ms());
}

const char *const odd_words[] = {
    "a b",         "it's",         "say \"hi\"", "$HOME",   "${x:-y}",
    "$(echo no)",  "`echo no`",    "*",          "[a]?",    "back\\slash",
    "\\",          "line1\nline2", "\xff\xfe",   "",        "~",
    "~root/x",     "#hash",        "a=b",        "-n",      "tab\there",
    "semi;colon",  "a&b|c",        "<in>",       "(x){y}",  "!bang",
    "'",           "''",           "\"",         "caf\xc3\xa9", "%s\n",
    "WHELKdeadbeef00000000 S 1", NULL};

/* The same pipeline here and there: identical stdout and statuses. */
void assert_same_run(whelk_pipeline *p, whelk_remote *r)
{
    whelk_error *e1 = NULL, *e2 = NULL;
    whelk_result *here, *there;
    const whelk_result *a, *b;
    size_t la, lb, i;
    const char *oa, *ob;

    whelk_pipeline_check(p, 0);
    here = whelk_run(p, &e1);
    ck_assert_msg(here != NULL, "here: %s", err_desc(e1));
    whelk_pipeline_remote(p, r);
    there = whelk_run(p, &e2);
    ck_assert_msg(there != NULL, "there: %s", err_desc(e2));
    a = here;
    b = there;
    oa = whelk_result_stdout(a, &la);
    ob = whelk_result_stdout(b, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert_msg(memcmp(oa, ob, la) == 0, "stdout differs:\n%s\n--\n%s", oa,
                  ob);
    ck_assert_uint_eq(whelk_result_ncmds(a), whelk_result_ncmds(b));
    for (i = 0; i < whelk_result_ncmds(a); i++) {
        ck_assert_int_eq(whelk_result_exit_code(a, i),
                         whelk_result_exit_code(b, i));
        ck_assert_int_eq(whelk_result_signal(a, i), whelk_result_signal(b, i));
    }
    whelk_result_free(here);
    whelk_result_free(there);
}

int note_line(const whelk_line *l, void *ud)
{
    seen *s = ud;
    int n = snprintf(s->text + s->len, sizeof s->text - s->len, "%zu%c:%s|",
                     l->stage, l->stream == WHELK_STDOUT ? 'o' : 'e', l->text);
    if (n > 0 && (size_t)n < sizeof s->text - s->len)
        s->len += (size_t)n;
    return 0;
}

/* The throwaway sshd main() starts (tests/sshd.h); sshd.problem says why
 * the ssh tests cannot run. */
sshd_server sshd;

/* ------------------------------------------------------------- suite */

TCase *remote_tcase(Suite *s, const char *name, int tmp)
{
    return add_tcase(s, name, TEST_TIMEOUT, tmp ? tmp_setup : NULL,
                     tmp ? tmp_teardown : NULL);
}

static Suite *remote_suite(void)
{
    Suite *s = suite_create("remote");

    remote_sh(s);
    remote_ssh(s);
    remote_watchdog(s);

    return s;
}

int main(void)
{
    int rc;

    sshd_start(&sshd);
    rc = run_suite(remote_suite());
    sshd_stop(&sshd);
    return rc;
}
