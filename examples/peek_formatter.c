/*
 * peek_formatter.c -- man-db's trick: look at the first bytes of a page
 * before choosing how to format it.  The page comes out of a decompressor
 * (gzip -dc) pulled by the host; whelk_proc_peek shows its first line
 * without consuming it, and the host then either passes the page through
 * (plain text) or gives it to a "formatter" -- here `tr a-z A-Z` for pages
 * whose first line is the marker ".\" upper" -- fed with whelk_proc_write
 * from what it reads with whelk_proc_read.  One thread, one loop per run,
 * no deadlock whatever the sizes.
 *
 *   libpipeline:  pipeline_peekline(p) ... pipeline_connect(p, fmt, NULL)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <whelk.h>

/* A gzip'd page made by the host itself: text | gzip -c, captured. */
static whelk_result *make_page(const char *text, whelk_error **err)
{
    whelk_pipeline *p = whelk_pipe(whelk_cmd_new("gzip", "-c", NULL), NULL);
    whelk_result *r;

    whelk_pipeline_stdin_bytes(p, text, strlen(text));
    r = whelk_run(p, err);
    whelk_pipeline_free(p);
    return r;
}

/* Decompress page, peek at it, format it; the formatted text (malloc'd). */
static char *show(const whelk_result *page, whelk_error **err)
{
    size_t len, cap = 0, used = 0;
    const char *gz = whelk_result_stdout(page, &len);
    whelk_pipeline *dec = whelk_pipe(whelk_cmd_new("gzip", "-dc", NULL), NULL);
    whelk_pipeline *fmt = NULL;
    whelk_proc *d, *f = NULL;
    const void *head;
    char buf[4096], *out = NULL;
    ssize_t n;
    whelk_result *r;

    whelk_pipeline_stdin_bytes(dec, gz, len);
    whelk_pipeline_stdout(dec, WHELK_PULL);
    if (!(d = whelk_start(dec, err))) {
        whelk_pipeline_free(dec);
        return NULL;
    }
    n = whelk_proc_peek(d, &head, 10, -1);
    if (n == 10 && memcmp(head, ".\\\" upper\n", 10) == 0) {
        printf("  first line \".\\\" upper\": formatting with tr\n");
        fmt = whelk_pipe(whelk_cmd_new("tr", "a-z", "A-Z", NULL), NULL);
        whelk_pipeline_stdin(fmt, WHELK_FEED);
        f = whelk_start(fmt, err);
    } else {
        printf("  plain text: shown as it is\n");
    }
    while ((n = whelk_proc_read(d, buf, sizeof buf, -1)) > 0) {
        if (f) {
            ssize_t k, done = 0;
            /* a write takes what fits: loop until all is taken */
            while (done < n &&
                   (k = whelk_proc_write(f, buf + done, (size_t)(n - done),
                                         -1)) > 0)
                done += k;
            if (done < n)
                break; /* EPIPE: the formatter quit */
            continue;
        }
        if (used + (size_t)n + 1 > cap) {
            char *bigger = realloc(out, cap = 2 * (used + (size_t)n + 1));
            if (!bigger)
                break;
            out = bigger;
        }
        memcpy(out + used, buf, (size_t)n);
        used += (size_t)n;
    }
    r = whelk_proc_wait(d, err);
    whelk_result_free(r);
    whelk_pipeline_free(dec);
    if (f) {
        whelk_proc_close_stdin(f);
        r = whelk_proc_wait(f, err);
        whelk_pipeline_free(fmt);
        if (!r)
            return NULL;
        out = strdup(whelk_result_stdout(r, NULL));
        whelk_result_free(r);
        return out;
    }
    if (out)
        out[used] = '\0';
    return out;
}

int main(void)
{
    static const char *const pages[] = {
        "plain page\nstays as it is\n",
        ".\\\" upper\nthis page is shouted\n",
    };
    static const char *const want[] = {
        "plain page\nstays as it is\n",
        ".\\\" UPPER\nTHIS PAGE IS SHOUTED\n",
    };
    int i, status = 0;

    for (i = 0; i < 2; i++) {
        whelk_error *err = NULL;
        whelk_result *page = make_page(pages[i], &err);
        char *text = page ? show(page, &err) : NULL;
        if (!text) {
            fprintf(stderr, "%s\n", whelk_error_message(err));
            whelk_error_free(err);
            status = 1;
        } else {
            printf("%s", text);
            if (strcmp(text, want[i]) != 0)
                status = 1;
        }
        free(text);
        whelk_result_free(page);
    }
    return status;
}
