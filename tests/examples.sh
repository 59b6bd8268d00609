#!/bin/sh
# Runs the examples that need nothing beyond the machine (sh, git).
set -e
for ex in demo; do
    echo "== examples/$ex"
    ./examples/$ex
done
