#!/bin/sh
# measure-structure.sh [srcdir] -- the structure measures of issue 11, run
# from a built tree: wc -l of lib/, the struct bodies each lib/*.c can
# see after preprocessing, and the whelk__ symbols no other object uses
# (with the tests, fuzzers and benchmarks that call them).
cd "${1:-.}" || exit 1
echo "== wc -l lib/*"; wc -l lib/*.c lib/*.h | sort -k2
echo "== struct bodies visible per lib/*.c (distinct 'struct whelk_X {' after preprocessing)"
tot=0
for f in lib/*.c; do
  n=$(gcc -E -DWHELK_BUILDING -I. -Iinclude -Ilib "$f" 2>/dev/null | tr '\n' ' ' |
      grep -oE 'struct whelk_[a-z0-9_]+ *\{' | sed 's/ *{//' | sort -u | wc -l)
  tot=$((tot+n)); printf '%3d %s\n' "$n" "$f"
done; echo "total $tot"
echo "== whelk__ symbols defined in lib/.libs/libwhelk-core.a and used by one object only"
a=lib/.libs/libwhelk-core.a
nm -g --defined-only "$a" | awk '/^[^ ]+:$/{o=$1} $3 ~ /^whelk__/{print $3}' | sort -u > /tmp/m.def.$$
# (a symbol only its own object uses should be static, unless the unit tests,
# fuzzers or benchmarks call it: those are named after it)
single=0; untested=0; for s in $(cat /tmp/m.def.$$); do
  u=$(nm -u "$a" | grep -c " $s\$"); if [ "$u" -eq 0 ]; then single=$((single+1))
    t=$(grep -rlw --include='*.c' "$s" tests fuzz bench 2>/dev/null | sort | tr '\n' ' ')
    [ -n "$t" ] || untested=$((untested+1)); echo "  $s${t:+ (also in: ${t% })}"; fi; done
echo "whelk__ defined: $(wc -l < /tmp/m.def.$$), used by no other object: $single, of which by no test, fuzzer or bench either: $untested"; rm -f /tmp/m.def.$$
