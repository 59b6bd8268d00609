/*
 * ends/fifo.c -- the ends suite's "fifo" tests (run by tests/check_ends.c).
 */
#include "ends.h"

/* ============================== A: a deadline covers opening the files */

/* A new FIFO in a new directory; *dir is to be removed with rm_rf. */
static char *make_fifo(char **dir)
{
    char *path;

    *dir = make_tmpdir();
    ck_assert_ptr_nonnull(*dir);
    path = path_join(*dir, "fifo");
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    return path;
}

/* A run whose redirection FIFO has no peer fails with WHELK_E_TIMEOUT at
 * its deadline, before anything is spawned. */
static void expect_fifo_timeout(whelk_pipeline *p)
{
    whelk_error *err;
    int64_t t0 = now_ms(), dt;

    whelk_pipeline_timeout(p, 300);
    err = run_fail(p, WHELK_E_TIMEOUT);
    dt = now_ms() - t0;
    ck_assert_msg(dt >= 300, "gave up after %lld ms, before the deadline",
                  (long long)dt);
    ck_assert_msg(dt < 300 + SLACK_MS, "took %lld ms", (long long)dt);
    ck_assert_int_eq(whelk_error_errno(err), ETIMEDOUT);
    ck_assert_uint_eq(whelk_error_stage(err), WHELK_NO_STAGE);
    ck_assert_msg(contains(whelk_error_message(err), "fifo"), "%s",
                  whelk_error_message(err));
    ck_assert_ptr_null(whelk_error_result(err)); /* nothing ran */
    whelk_error_free(err);
    whelk_pipeline_free(p);
    ASSERT_NO_CHILDREN();
}

START_TEST(test_fifo_stdin_without_writer_times_out)
{
    char *dir, *fifo = make_fifo(&dir);
    whelk_pipeline *p = HPIPE("cat");

    whelk_pipeline_stdin_file(p, fifo);
    expect_fifo_timeout(p);
    rm_rf(dir);
    free(fifo);
    free(dir);
}
END_TEST

START_TEST(test_fifo_stdout_without_reader_times_out)
{
    char *dir, *fifo = make_fifo(&dir);
    whelk_pipeline *p = HPIPE("out:x");

    whelk_pipeline_stdout_file(p, fifo, 0);
    expect_fifo_timeout(p);
    rm_rf(dir);
    free(fifo);
    free(dir);
}
END_TEST

START_TEST(test_fifo_stderr_without_reader_times_out)
{
    char *dir, *fifo = make_fifo(&dir);
    whelk_pipeline *p = HPIPE("err:x");

    whelk_cmd_stderr_file(whelk_pipeline_cmd(p, 0), fifo, 1);
    expect_fifo_timeout(p);
    rm_rf(dir);
    free(fifo);
    free(dir);
}
END_TEST

/* With a peer, a FIFO works as in sh, and the stage gets a blocking
 * descriptor: the writer below gives `cat` its second line only after the
 * first came out, so cat's next read finds the FIFO empty. */
typedef struct fifo_peer {
    const char *path;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int go;       /* the first line came out */
    size_t bytes; /* read by a reading peer */
    int ok;
} fifo_peer;

static void *fifo_writer(void *arg)
{
    fifo_peer *fp = arg;
    int fd = open(fp->path, O_WRONLY | O_CLOEXEC); /* waits for the run */

    if (fd < 0)
        return NULL;
    fp->ok = write(fd, "hello\n", 6) == 6;
    pthread_mutex_lock(&fp->mu);
    while (!fp->go)
        pthread_cond_wait(&fp->cv, &fp->mu);
    pthread_mutex_unlock(&fp->mu);
    fp->ok &= write(fd, "world\n", 6) == 6;
    close(fd);
    return NULL;
}

static int release_writer(const whelk_line *line, void *ud)
{
    fifo_peer *fp = ud;

    (void)line;
    pthread_mutex_lock(&fp->mu);
    fp->go = 1;
    pthread_cond_signal(&fp->cv);
    pthread_mutex_unlock(&fp->mu);
    return 0;
}

START_TEST(test_fifo_stdin_with_writer)
{
    char *dir, *fifo = make_fifo(&dir);
    whelk_pipeline *p = HPIPE("cat");
    fifo_peer fp;
    pthread_t t;
    whelk_result *r;

    memset(&fp, 0, sizeof fp);
    fp.path = fifo;
    pthread_mutex_init(&fp.mu, NULL);
    pthread_cond_init(&fp.cv, NULL);
    ck_assert_int_eq(pthread_create(&t, NULL, fifo_writer, &fp), 0);
    whelk_pipeline_stdin_file(p, fifo);
    whelk_pipeline_timeout(p, 30000);
    whelk_pipeline_on_line(p, WHELK_STDOUT, release_writer, &fp);
    r = run_ok(p);
    pthread_join(t, NULL);
    ck_assert(fp.ok);
    ck_assert_str_eq(whelk_result_stdout(r, NULL), "hello\nworld\n");
    whelk_result_free(r);
    whelk_pipeline_free(p);
    rm_rf(dir);
    free(fifo);
    free(dir);
    ASSERT_NO_CHILDREN();
}
END_TEST

static void *fifo_reader(void *arg)
{
    fifo_peer *fp = arg;

    fp->ok = read_to_end(fp->path, &fp->bytes) == 0; /* waits for the run */
    return NULL;
}

/* More than a pipe holds: the helper's writes block on the FIFO (and would
 * fail with EAGAIN if its descriptor were left non-blocking). */
START_TEST(test_fifo_stdout_with_reader)
{
    char *dir, *fifo = make_fifo(&dir);
    whelk_pipeline *p = HPIPE("outn:1000000");
    fifo_peer fp;
    pthread_t t;
    whelk_result *r;

    memset(&fp, 0, sizeof fp);
    fp.path = fifo;
    ck_assert_int_eq(pthread_create(&t, NULL, fifo_reader, &fp), 0);
    whelk_pipeline_stdout_file(p, fifo, 0);
    whelk_pipeline_timeout(p, 30000);
    r = run_ok(p);
    pthread_join(t, NULL);
    ck_assert(fp.ok);
    ck_assert_uint_eq(fp.bytes, 1000000);
    whelk_result_free(r);
    whelk_pipeline_free(p);
    rm_rf(dir);
    free(fifo);
    free(dir);
    ASSERT_NO_CHILDREN();
}
END_TEST

/* open(2) interrupted by a signal is retried.  A thread runs a pipeline
 * reading a FIFO, without a deadline (a blocking open, as in sh); when it
 * waits in that open, it gets a signal whose handler does not restart
 * system calls; only then is the writer opened. */
typedef struct intr_run {
    const char *path;
    pid_t tid;
    volatile int done;
    whelk_result *r;
    whelk_error *err;
} intr_run;

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
    (void)sig;
    handled = 1;
}

static void *intr_thread(void *arg)
{
    intr_run *ir = arg;
    whelk_pipeline *p = HPIPE("cat");

    __atomic_store_n(&ir->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
    whelk_pipeline_stdin_file(p, ir->path);
    ir->r = whelk_run(p, &ir->err);
    whelk_pipeline_free(p);
    __atomic_store_n(&ir->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Is thread tid blocked opening a FIFO? */
static int in_fifo_open(pid_t tid)
{
    char path[64], buf[256] = "";
    FILE *f;
    long nr = -1;

    snprintf(path, sizeof path, "/proc/self/task/%ld/wchan", (long)tid);
    if ((f = fopen(path, "r")) != NULL) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = '\0';
        fclose(f);
        if (strstr(buf, "partner"))
            return 1;
    }
    snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", (long)tid);
    if ((f = fopen(path, "r")) != NULL) {
        if (fscanf(f, "%ld", &nr) != 1)
            nr = -1;
        fclose(f);
    }
    /* no symbol in wchan (restricted): an openat that sleeps */
    return nr == SYS_openat && (buf[0] == '\0' || strcmp(buf, "0") == 0);
}

START_TEST(test_open_eintr_retried)
{
    char *dir, *fifo = make_fifo(&dir);
    struct sigaction sa;
    intr_run ir;
    pthread_t t;
    int fd = -1;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART: open fails with EINTR */
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    memset(&ir, 0, sizeof ir);
    ir.path = fifo;
    ck_assert_int_eq(pthread_create(&t, NULL, intr_thread, &ir), 0);
    while (!__atomic_load_n(&ir.tid, __ATOMIC_SEQ_CST) ||
           !in_fifo_open(ir.tid))
        sched_yield();
    ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
    while (!handled)
        sched_yield();
    /* now the writer: the run's open must still be waiting for it */
    while (!__atomic_load_n(&ir.done, __ATOMIC_SEQ_CST)) {
        fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0 || errno != ENXIO)
            break;
        sched_yield();
    }
    if (fd >= 0) {
        ck_assert_int_eq(write(fd, "data", 4), 4);
        close(fd);
    }
    pthread_join(t, NULL);
    ck_assert_msg(ir.r != NULL, "%s", err_desc(ir.err));
    ck_assert_str_eq(whelk_result_stdout(ir.r, NULL), "data");
    whelk_result_free(ir.r);
    rm_rf(dir);
    free(fifo);
    free(dir);
    ASSERT_NO_CHILDREN();
}
END_TEST

void ends_fifo(Suite *s)
{
    TCase *tc;

    tc = ends_tcase(s, "fifo", 30);
    tcase_add_test(tc, test_fifo_stdin_without_writer_times_out);
    tcase_add_test(tc, test_fifo_stdout_without_reader_times_out);
    tcase_add_test(tc, test_fifo_stderr_without_reader_times_out);
    tcase_add_test(tc, test_fifo_stdin_with_writer);
    tcase_add_test(tc, test_fifo_stdout_with_reader);
    tcase_add_test(tc, test_open_eintr_retried);
}
