## fuzz/local.mk -- libFuzzer targets for the decoder and the line splitter
## (issue 4), the command-string splitter of whelk_cmd_new_argstr, held
## against sh (issue 13), and the shell rendering of whelk_pipeline_tostring,
## held against sh and bash (issue 10), included by the top Makefile.am.
##
##   make fuzz                    build the targets, run each for 60 s
##   make fuzz FUZZ_SECONDS=20    ... for 20 s each
##   make fuzz CLANG=clang-14     with another clang
##   make fuzz-build              build them only
##   make fuzz-clean              remove the binaries, corpora and crashes
##
## The targets are compiled by clang with libFuzzer, ASan and UBSan straight
## from the library sources they test (the libtool objects are built by
## $(CC) without instrumentation).  Corpora grow under the build directory
## in fuzz/out/corpus-<name>; an input that breaks a property is saved as
## fuzz/out/fuzz_<name>-crash-<sha1> and makes `make fuzz` fail.  Replay
## one with: fuzz/out/fuzz_<name> fuzz/out/fuzz_<name>-crash-<sha1>.
## Neither `all` nor `check` builds or runs them.

CLANG ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_CPPFLAGS = -I$(top_srcdir)/lib -I$(top_srcdir)/include -I$(top_builddir)
FUZZ_LIB = $(top_srcdir)/lib/decode.c $(top_srcdir)/lib/lines.c \
	$(top_srcdir)/lib/alloc.c $(top_srcdir)/lib/buf.c
FUZZ_DEPS = $(FUZZ_LIB) $(top_srcdir)/lib/internal.h \
	$(top_srcdir)/include/whelk.h $(top_builddir)/config.h
FUZZ_OUT = $(top_builddir)/fuzz/out

FUZZ_ARGSTR_LIB = $(top_srcdir)/lib/argstr.c $(top_srcdir)/lib/cmd.c \
	$(top_srcdir)/lib/alloc.c $(top_srcdir)/lib/buf.c
FUZZ_ARGSTR_DEPS = $(FUZZ_ARGSTR_LIB) $(top_srcdir)/lib/argstr.h \
	$(top_srcdir)/lib/internal.h $(top_srcdir)/include/whelk.h \
	$(top_builddir)/config.h

## fuzz_render runs commands: the whole library, and the helper child
## (tests/whelk-helper.c, built by $(CC) next to it) whose `dump` it reads.
FUZZ_HELPER = $(abs_top_builddir)/fuzz/out/whelk-helper

EXTRA_DIST += fuzz/fuzz_decode.c fuzz/fuzz_lines.c fuzz/decode.dict \
	fuzz/lines.dict fuzz/fuzz_argstr.c fuzz/argstr.dict \
	fuzz/fuzz_render.c fuzz/render.dict

$(FUZZ_OUT)/fuzz_decode: $(top_srcdir)/fuzz/fuzz_decode.c $(FUZZ_DEPS)
	@$(MKDIR_P) $(FUZZ_OUT)
	$(CLANG) $(FUZZ_CFLAGS) $(FUZZ_CPPFLAGS) -o $@ \
	    $(top_srcdir)/fuzz/fuzz_decode.c $(FUZZ_LIB)

$(FUZZ_OUT)/fuzz_lines: $(top_srcdir)/fuzz/fuzz_lines.c $(FUZZ_DEPS)
	@$(MKDIR_P) $(FUZZ_OUT)
	$(CLANG) $(FUZZ_CFLAGS) $(FUZZ_CPPFLAGS) -o $@ \
	    $(top_srcdir)/fuzz/fuzz_lines.c $(FUZZ_LIB)

$(FUZZ_OUT)/fuzz_argstr: $(top_srcdir)/fuzz/fuzz_argstr.c \
	$(lib_libwhelk_core_la_SOURCES) $(FUZZ_ARGSTR_DEPS)
	@$(MKDIR_P) $(FUZZ_OUT)
	srcs=; for f in $(lib_libwhelk_core_la_SOURCES); do \
	    case $$f in *.c) srcs="$$srcs $(top_srcdir)/$$f";; esac; \
	done; \
	$(CLANG) $(FUZZ_CFLAGS) $(FUZZ_CPPFLAGS) -DWHELK_BUILDING -o $@ \
	    $(top_srcdir)/fuzz/fuzz_argstr.c $$srcs $(LTLIBICONV)

$(FUZZ_OUT)/whelk-helper: $(top_srcdir)/tests/whelk-helper.c
	@$(MKDIR_P) $(FUZZ_OUT)
	$(CC) -O1 -o $@ $(top_srcdir)/tests/whelk-helper.c

$(FUZZ_OUT)/fuzz_render: $(top_srcdir)/fuzz/fuzz_render.c \
	$(lib_libwhelk_core_la_SOURCES) $(FUZZ_DEPS) $(FUZZ_OUT)/whelk-helper
	@$(MKDIR_P) $(FUZZ_OUT)
	srcs=; for f in $(lib_libwhelk_core_la_SOURCES); do \
	    case $$f in *.c) srcs="$$srcs $(top_srcdir)/$$f";; esac; \
	done; \
	$(CLANG) $(FUZZ_CFLAGS) $(FUZZ_CPPFLAGS) -DWHELK_BUILDING \
	    -DHELPER_PATH='"$(FUZZ_HELPER)"' -o $@ \
	    $(top_srcdir)/fuzz/fuzz_render.c $$srcs $(LTLIBICONV)

fuzz-build: $(FUZZ_OUT)/fuzz_decode $(FUZZ_OUT)/fuzz_lines \
	$(FUZZ_OUT)/fuzz_argstr $(FUZZ_OUT)/fuzz_render

fuzz: fuzz-build
	@failed=; for t in decode lines argstr render; do \
	    $(MKDIR_P) $(FUZZ_OUT)/corpus-$$t || exit 1; \
	    echo "fuzz: fuzz_$$t for $(FUZZ_SECONDS) s"; \
	    $(FUZZ_OUT)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	        -dict=$(top_srcdir)/fuzz/$$t.dict -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_OUT)/fuzz_$$t- \
	        $(FUZZ_OUT)/corpus-$$t || failed="$$failed fuzz_$$t"; \
	done; \
	if test -n "$$failed"; then \
	    echo "fuzz: FAILED:$$failed (inputs in $(FUZZ_OUT))"; exit 1; \
	fi; echo "fuzz: no failure"

fuzz-clean:
	rm -rf $(FUZZ_OUT)

.PHONY: fuzz fuzz-build fuzz-clean
