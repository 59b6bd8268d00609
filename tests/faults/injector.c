/*
 * faults/injector.c -- the faults suite's "injector" tests (run by tests/check_faults.c).
 */
#include "faults.h"

/* ============================================================ tests */

/* Keeps the compiler from eliding an allocation the test makes. */
static void *volatile sink;

START_TEST(test_injector_counts_only_when_armed)
{
    void *a, *b, *c;

    /* not armed: nothing fails */
    fail_at = 1;
    counted = 0;
    injected = 0;
    sink = a = malloc(10);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(counted, 0);
    /* armed: the 2nd allocation fails, with ENOMEM */
    fail_at = 2;
    ARM();
    sink = b = calloc(1, 10);
    errno = 0;
    sink = c = realloc(a, 20);
    DISARM();
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(injected, 1);
    ck_assert_int_eq(counted, 2);
    free(a);
    free(b);
    fail_at = 0;
}
END_TEST

void faults_injector(TCase *tc)
{
    tcase_add_test(tc, test_injector_counts_only_when_armed);
}
