/*
 * check_setup.c -- child setup and the everyday conveniences (issue 13):
 * commands from sh-quoted strings, copies of commands and pipelines,
 * one-call checks, the small text helpers, a shell's stdin encoding, git
 * hook hygiene; and what happens in the child between clone and exec
 * (extra descriptors, limits, umask, nice, identity, dying with the host).
 *
 * Everything is observed through the public API against the helper child
 * tests/whelk-helper: the words it was given, the descriptors it sees, its
 * limits and ids.  Tests that need root say so in their name (_root) and
 * fail -- never pass silently -- when run without it.  No test sleeps to
 * synchronise.
 *
 * The runner and fixtures; the tests are in tests/setup/<topic>.c, one
 * file per topic, sharing tests/setup/setup.h.
 */
#include "setup/setup.h"

/* ===================================================================== */

static Suite *setup_suite(void)
{
    Suite *s = suite_create("setup");

    setup_argstr(s);
    setup_dup(s);
    setup_one_call(s);
    setup_text(s);
    setup_fds(s);
    setup_limits_ids(s);
    setup_die_with_host(s);
    setup_die_with_host_fork(s);

    return s;
}

int main(void)
{
    return run_suite(setup_suite());
}
