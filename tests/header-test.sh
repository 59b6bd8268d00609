#!/bin/sh
# whelk.h must compile alone, as C99 and as the pedantic compilers see it.
set -e
: "${CC:=cc}" "${top_srcdir:=.}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include <whelk.h>\nint main(void) { return whelk_version(0) == 0; }\n' > "$tmp/t.c"
$CC -std=c99 -Wall -Wextra -pedantic -Werror -I"$top_srcdir/include" -c "$tmp/t.c" -o "$tmp/t.o"
echo "PASS: whelk.h compiles alone with -std=c99 -Wall -Wextra -pedantic -Werror"
