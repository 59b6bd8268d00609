#!/bin/sh
# Runs the example programs of examples/ (built by `make`); each must exit
# 0.  They need sh, coreutils and git -- the git examples make a throwaway
# repository under $TMPDIR or /tmp and remove it.  A missing git is a
# failure, never a skip: configure --disable-examples-check leaves this
# script out of `make check` instead.
examples="demo git_rev_parse git_status git_log_stream git_diff_quiet
          git_retry_lock pipeline_redirect decode timeout_async parallel
          git_hook_env pager jobserver run_as
          popen_git_log peek_formatter pager_feed filter_progress
          tee_connect
          fleet_check"

if ! command -v git >/dev/null 2>&1; then
    echo "examples.sh: git is not installed, and the examples need it." >&2
    echo "Install it (Debian: apt-get install git), or configure with" >&2
    echo "--disable-examples-check to leave the examples out of make check." >&2
    exit 1
fi

total=0
failed=""
for ex in $examples; do
    total=$((total + 1))
    echo "== examples/$ex"
    if [ "$ex" = pager_feed ]; then PAGER=cat ./examples/$ex; else ./examples/$ex; fi
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "FAIL: examples/$ex exited with status $rc" >&2
        failed="$failed $ex"
    fi
done

if [ -n "$failed" ]; then
    echo "examples.sh: failed:$failed (of $total)" >&2
    exit 1
fi
echo "examples.sh: all $total examples passed"
