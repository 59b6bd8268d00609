## examples/local.mk -- the example programs, built by `make` and run by
## `make check` through tests/examples.sh.  Included from Makefile.am after
## its `noinst_PROGRAMS = examples/demo` line.  repo.h is the git examples'
## scaffolding (a throwaway repository), listed so that it is distributed.

EXAMPLES_RUNNABLE = \
	examples/git_rev_parse \
	examples/git_status \
	examples/git_log_stream \
	examples/git_diff_quiet \
	examples/git_retry_lock \
	examples/pipeline_redirect \
	examples/decode \
	examples/timeout_async \
	examples/parallel \
	examples/git_hook_env \
	examples/pager \
	examples/jobserver \
	examples/run_as \
	examples/popen_git_log \
	examples/peek_formatter \
	examples/pager_feed \
	examples/filter_progress \
	examples/tee_connect \
	examples/fleet_check

## Built, not run by make check: it needs docker.
noinst_PROGRAMS += $(EXAMPLES_RUNNABLE) examples/docker_exec

examples_git_rev_parse_SOURCES = examples/git_rev_parse.c examples/repo.h
examples_git_rev_parse_LDADD = lib/libwhelk.la
examples_git_status_SOURCES = examples/git_status.c examples/repo.h
examples_git_status_LDADD = lib/libwhelk.la
examples_git_log_stream_SOURCES = examples/git_log_stream.c examples/repo.h
examples_git_log_stream_LDADD = lib/libwhelk.la
examples_git_diff_quiet_SOURCES = examples/git_diff_quiet.c examples/repo.h
examples_git_diff_quiet_LDADD = lib/libwhelk.la
examples_git_retry_lock_SOURCES = examples/git_retry_lock.c examples/repo.h
examples_git_retry_lock_LDADD = lib/libwhelk.la
examples_pipeline_redirect_SOURCES = examples/pipeline_redirect.c
examples_pipeline_redirect_LDADD = lib/libwhelk.la
examples_decode_SOURCES = examples/decode.c
examples_decode_LDADD = lib/libwhelk.la
examples_timeout_async_SOURCES = examples/timeout_async.c
examples_timeout_async_LDADD = lib/libwhelk.la
examples_parallel_SOURCES = examples/parallel.c
examples_parallel_LDADD = lib/libwhelk.la
examples_git_hook_env_SOURCES = examples/git_hook_env.c examples/repo.h
examples_git_hook_env_LDADD = lib/libwhelk.la
examples_pager_SOURCES = examples/pager.c
examples_pager_LDADD = lib/libwhelk.la
examples_popen_git_log_SOURCES = examples/popen_git_log.c examples/repo.h
examples_popen_git_log_LDADD = lib/libwhelk.la
examples_peek_formatter_SOURCES = examples/peek_formatter.c
examples_peek_formatter_LDADD = lib/libwhelk.la
examples_pager_feed_SOURCES = examples/pager_feed.c
examples_pager_feed_LDADD = lib/libwhelk.la
examples_filter_progress_SOURCES = examples/filter_progress.c
examples_filter_progress_LDADD = lib/libwhelk.la
examples_tee_connect_SOURCES = examples/tee_connect.c
examples_tee_connect_LDADD = lib/libwhelk.la
examples_jobserver_SOURCES = examples/jobserver.c
examples_jobserver_LDADD = lib/libwhelk.la
examples_run_as_SOURCES = examples/run_as.c
examples_run_as_LDADD = lib/libwhelk.la
examples_fleet_check_SOURCES = examples/fleet_check.c
examples_fleet_check_LDADD = lib/libwhelk.la
examples_docker_exec_SOURCES = examples/docker_exec.c
examples_docker_exec_LDADD = lib/libwhelk.la
