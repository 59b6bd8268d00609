#!/bin/sh
# Stands in for tests/check_libpipeline when configure found no libpipeline:
# the agreement suite must not vanish silently.
echo "FAIL: libpipeline (Debian: libpipeline-dev) was not found by configure;"
echo "      the libwhelk/libpipeline agreement suite cannot run. Install it and re-run ./configure."
exit 1
