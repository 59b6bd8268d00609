## man/local.mk -- the manual pages, installed into $(man3dir).
## whelk.3 is the overview; eight pages describe the functions by group;
## every function name is a one-line page (".so man3/<group>.3") so that
## `man 3 whelk_cmd_new` works.  Written by hand in man(7).
##
## `make lint-man` runs every page through groff -ww and, when it is
## installed, mandoc -Tlint, and fails on any message.  The link pages name
## their target as man3/<page>.3, relative to the root of a man tree, so the
## check builds one (a man3 symlink to this directory) in a temporary
## directory; mandoc's advice to use ln(1) instead of .so is ignored.
## Quick look at one page from the source tree: man -l man/whelk.3

## The overview and the group pages.
WHELK_MAN_PAGES = \
	man/whelk.3 \
	man/whelk_cmd.3 \
	man/whelk_pipeline.3 \
	man/whelk_run.3 \
	man/whelk_result.3 \
	man/whelk_error.3 \
	man/whelk_stream.3 \
	man/whelk_shell.3 \
	man/whelk_run_many.3 \
	man/whelk_host.3 \
	man/whelk_filter.3 \
	man/whelk_cmd_setup.3 \
	man/whelk_tee.3 \
	man/whelk_remote.3

## One link page per function name.
WHELK_MAN_LINKS = \
	man/whelk_remote_ssh.3 \
	man/whelk_remote_new.3 \
	man/whelk_remote_free.3 \
	man/whelk_pipeline_remote.3 \
	man/whelk_proc_read.3 \
	man/whelk_proc_read_line.3 \
	man/whelk_proc_peek.3 \
	man/whelk_proc_write.3 \
	man/whelk_proc_close_stdin.3 \
	man/whelk_proc_stdout_stream.3 \
	man/whelk_proc_stdin_stream.3 \
	man/whelk_popen.3 \
	man/whelk_pclose.3 \
	man/whelk_cmd_new_filter.3 \
	man/whelk_filter_write.3 \
	man/whelk_pipeline_tee_file.3 \
	man/whelk_pipeline_tee_fd.3 \
	man/whelk_pipeline_tee_proc.3 \
	man/whelk_cmd_arg.3 \
	man/whelk_cmd_chdir.3 \
	man/whelk_cmd_clearenv.3 \
	man/whelk_cmd_free.3 \
	man/whelk_cmd_new.3 \
	man/whelk_cmd_newv.3 \
	man/whelk_cmd_ok_codes.3 \
	man/whelk_cmd_setenv.3 \
	man/whelk_cmd_stderr.3 \
	man/whelk_cmd_stderr_fd.3 \
	man/whelk_cmd_stderr_file.3 \
	man/whelk_die_on_error.3 \
	man/whelk_error_callback_value.3 \
	man/whelk_error_command.3 \
	man/whelk_error_errno.3 \
	man/whelk_error_exit_code.3 \
	man/whelk_error_free.3 \
	man/whelk_error_kind.3 \
	man/whelk_error_kind_name.3 \
	man/whelk_error_message.3 \
	man/whelk_error_result.3 \
	man/whelk_error_signal.3 \
	man/whelk_error_stage.3 \
	man/whelk_pipe.3 \
	man/whelk_pipeline_add.3 \
	man/whelk_pipeline_capture_limit.3 \
	man/whelk_pipeline_check.3 \
	man/whelk_pipeline_cmd.3 \
	man/whelk_pipeline_decode.3 \
	man/whelk_pipeline_free.3 \
	man/whelk_pipeline_kill_grace.3 \
	man/whelk_pipeline_max_line.3 \
	man/whelk_pipeline_ncmds.3 \
	man/whelk_pipeline_new.3 \
	man/whelk_pipeline_on_chunk.3 \
	man/whelk_pipeline_on_exit.3 \
	man/whelk_pipeline_on_line.3 \
	man/whelk_pipeline_on_start.3 \
	man/whelk_pipeline_pgroup.3 \
	man/whelk_pipeline_stdin.3 \
	man/whelk_pipeline_stdin_bytes.3 \
	man/whelk_pipeline_stdin_encoding.3 \
	man/whelk_pipeline_stdin_fd.3 \
	man/whelk_pipeline_stdin_file.3 \
	man/whelk_pipeline_stdout.3 \
	man/whelk_pipeline_stdout_fd.3 \
	man/whelk_pipeline_stdout_file.3 \
	man/whelk_pipeline_timeout.3 \
	man/whelk_pipeline_tostring.3 \
	man/whelk_proc_cancel.3 \
	man/whelk_proc_fd.3 \
	man/whelk_proc_kill.3 \
	man/whelk_proc_pid.3 \
	man/whelk_proc_step.3 \
	man/whelk_proc_wait.3 \
	man/whelk_result_exit_code.3 \
	man/whelk_result_free.3 \
	man/whelk_result_ncmds.3 \
	man/whelk_result_signal.3 \
	man/whelk_result_stderr.3 \
	man/whelk_result_stdout.3 \
	man/whelk_result_truncated.3 \
	man/whelk_sh.3 \
	man/whelk_shell_chdir.3 \
	man/whelk_shell_check.3 \
	man/whelk_shell_cmd.3 \
	man/whelk_shell_decode.3 \
	man/whelk_shell_free.3 \
	man/whelk_shell_new.3 \
	man/whelk_shell_on_error.3 \
	man/whelk_shell_on_exit.3 \
	man/whelk_shell_on_line.3 \
	man/whelk_shell_on_start.3 \
	man/whelk_shell_pipe.3 \
	man/whelk_shell_setenv.3 \
	man/whelk_shell_clearenv.3 \
	man/whelk_shell_sh.3 \
	man/whelk_shell_timeout.3 \
	man/whelk_start.3 \
	man/whelk_version.3
## issue 13: child setup, command strings, copies, one-call checks, text helpers
WHELK_MAN_LINKS += \
	man/whelk_cmd_fd.3 \
	man/whelk_cmd_rlimit.3 \
	man/whelk_cmd_umask.3 \
	man/whelk_cmd_nice.3 \
	man/whelk_cmd_user.3 \
	man/whelk_pipeline_die_with_host.3 \
	man/whelk_cmd_new_argstr.3 \
	man/whelk_cmd_dup.3 \
	man/whelk_cmd_unset_git_env.3 \
	man/whelk_pipeline_dup.3 \
	man/whelk_sh_ok.3 \
	man/whelk_sh_unchecked.3 \
	man/whelk_result_stdout_line.3 \
	man/whelk_result_next_record.3 \
	man/whelk_shell_ok_codes.3 \
	man/whelk_shell_sh_ok.3 \
	man/whelk_shell_sh_unchecked.3 \
	man/whelk_shell_stdin_encoding.3 \
	man/whelk_shell_unset_git_env.3

dist_man3_MANS = $(WHELK_MAN_PAGES) $(WHELK_MAN_LINKS)

lint-man:
	@d=`mktemp -d` || exit 1; \
	ln -s "$(abs_top_srcdir)/man" "$$d/man3"; \
	msgs=`cd "$$d" && groff -man -Tutf8 -ww -I "$$d" man3/*.3 2>&1 >/dev/null`; \
	if command -v mandoc >/dev/null 2>&1; then \
	  msgs="$$msgs`cd "$$d" && mandoc -Tlint man3/*.3 2>&1 | grep -v 'is fragile, better use ln'`"; \
	fi; \
	rm -rf "$$d"; \
	if test -n "$$msgs"; then echo "$$msgs"; exit 1; fi; \
	echo "lint-man: all pages clean"
.PHONY: lint-man
