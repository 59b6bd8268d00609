## bench/local.mk -- `make bench` (issue 6): libwhelk side by side with raw
## posix_spawn, fork and vfork, libpipeline, GLib and Python's subprocess.
## Included at the end of Makefile.am.  Nothing here is built by `make` or
## `make check`: the programs are EXTRA_PROGRAMS and the two no-libc
## children have their own rules (they must not see the user's CFLAGS,
## which may hold sanitizers or coverage that need libc).
##
##   make bench                             the full run (about 6 minutes)
##   make bench BENCH_FLAGS='--quick'       smaller sizes, 3 rounds
##   make bench BENCH_FLAGS='--only spawn,many --rounds 3'
##
## Every run keeps its ratios in bench/last-ratios.tsv and compares them
## with the previous run's made with the same flags: run it twice in a row
## to see whether the figures reproduce (issue 15).
##
## The peers are optional: configure's HAVE_LIBPIPELINE and HAVE_GLIB say
## whether they are built in, python3 is looked up in PATH at run time; a
## missing peer is reported as skipped, with the reason.

BENCH_PROGS = bench/whelk-bench$(EXEEXT) bench/whelk-bench-core$(EXEEXT) \
	bench/whelk-bench-remote$(EXEEXT)
BENCH_CHILDREN = bench/nolibc-child$(EXEEXT) bench/nolibc-writer$(EXEEXT)
EXTRA_PROGRAMS = bench/whelk-bench bench/whelk-bench-core \
	bench/whelk-bench-remote
BENCH_FLAGS =
BENCH_REMOTE_FLAGS =

BENCH_CPP = $(AM_CPPFLAGS) -DBENCH_BUILDDIR='"$(abs_top_builddir)"' \
	-DBENCH_SRCDIR='"$(abs_top_srcdir)"'

## The driver and the workers that use the public API: the installed
## library, linked as users link it.
bench_whelk_bench_SOURCES = bench/whelk-bench.c bench/gen.h
bench_whelk_bench_CPPFLAGS = $(BENCH_CPP)
bench_whelk_bench_LDADD = lib/libwhelk.la $(LTLIBICONV)
if HAVE_LIBPIPELINE
bench_whelk_bench_CPPFLAGS += -DBENCH_HAVE_LIBPIPELINE $(LIBPIPELINE_CFLAGS)
bench_whelk_bench_LDADD += $(LIBPIPELINE_LIBS)
endif
if HAVE_GLIB
bench_whelk_bench_CPPFLAGS += -DBENCH_HAVE_GLIB $(GLIB_CFLAGS)
bench_whelk_bench_LDADD += $(GLIB_LIBS)
endif

## The decoder in memory: internal functions, so libwhelk-core.
bench_whelk_bench_core_SOURCES = bench/whelk-bench-core.c bench/gen.h
bench_whelk_bench_core_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib \
	-I$(top_builddir)
bench_whelk_bench_core_LDADD = lib/libwhelk-core.la $(LTLIBICONV)

## Remote runs over a real sshd on 127.0.0.1 (issue 14): its own program,
## since it starts a server; a row of `make bench` after the sections.  The
## server is tests/check_remote's (tests/sshd.c).
bench_whelk_bench_remote_SOURCES = bench/whelk-bench-remote.c tests/sshd.c \
	tests/sshd.h
bench_whelk_bench_remote_LDADD = lib/libwhelk.la

## Static children without libc: _start makes the system calls itself.
BENCH_NOLIBC_CFLAGS = -O2 -nostdlib -static -no-pie -fno-pie -ffreestanding \
	-fno-builtin -fno-stack-protector -fno-asynchronous-unwind-tables
bench/nolibc-child$(EXEEXT): $(srcdir)/bench/nolibc-child.c
	@$(MKDIR_P) bench
	$(AM_V_CCLD)$(CC) $(BENCH_NOLIBC_CFLAGS) -o $@ $(srcdir)/bench/nolibc-child.c
bench/nolibc-writer$(EXEEXT): $(srcdir)/bench/nolibc-writer.c $(srcdir)/bench/gen.h
	@$(MKDIR_P) bench
	$(AM_V_CCLD)$(CC) $(BENCH_NOLIBC_CFLAGS) -o $@ $(srcdir)/bench/nolibc-writer.c

bench: $(BENCH_PROGS) $(BENCH_CHILDREN)
	bench/whelk-bench$(EXEEXT) --ratios bench/last-ratios.tsv $(BENCH_FLAGS)
	bench/whelk-bench-remote$(EXEEXT) $(BENCH_REMOTE_FLAGS)
.PHONY: bench

CLEANFILES += $(BENCH_PROGS) $(BENCH_CHILDREN) bench/last-ratios.tsv
EXTRA_DIST += bench/nolibc-child.c bench/nolibc-writer.c bench/pybench.py \
	bench/RESULTS.md
