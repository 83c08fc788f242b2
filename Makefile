# drsjoin - see README.md.
#
#   make          install build packages, build the pinned dependencies, link ./drsjoin
#   make check    -Werror build, every test (unit, ASan+UBSan unit, emulator,
#                 TLS, integration, TPM, integration under ASan+UBSan); ends
#                 with "N passed, N failed, N skipped"
#   make demo     the main job: a one-shot join against the bundled DRS emulator
#   make bench    timings, peak RSS and size, prt and token, and the fleet summary
#   make bench-fleet  N=200 joins at once against an emulator throttled to R=10/s
#                 (FLEET_ONLY=join,join-splay,join-queue,bprt-queue,free: some of its fleets)
#   make bench-prt    drsjoin prt and token beside their yardstick (that part of bench)
#   make size     the stripped size of ./drsjoin
#   make install  PREFIX=/usr/local DESTDIR= (and SBINDIR, MANDIR, ...: below);
#                 make uninstall reverses it
#   make dist     build/dist/drsjoin-VERSION-x86_64-linux.tar.gz and SHA256SUMS
#   make deb      build/dist/drsjoin_VERSION_amd64.deb and _arm64.deb (the aarch64
#                 cross build too); make deb-lint runs lintian on both
#   make fuzz     coverage-guided fuzzing (libFuzzer), FUZZ_SECONDS per target
#   make ARCH=aarch64 / check-aarch64   the aarch64 build, tested under
#                 qemu-user (third_party/cross.mk); dist, deb and bench include it

# MODE picks the build: release (./drsjoin), check (-Werror), asan (glibc,
# ASan+UBSan: the unit tests, the fuzz smoke and a second run of the main
# integration tests). Each has its own object directory.
MODE ?= release
B := build/$(MODE)

include third_party/deps.mk

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wsign-compare
CSTD := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fno-plt
CPPFLAGS_DRS := -Idrs

ifeq ($(MODE),fuzz)
# libFuzzer (make fuzz): clang's coverage on drsjoin's code only; the
# dependencies are the ASan build.
CC_MODE := clang-14
DEPS := $(DEPS_ASAN)
CFLAGS_MODE := -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS_MODE := -fsanitize=fuzzer,address,undefined
LIBS_MODE := $(DEPS_ASAN_LIBS)
else ifeq ($(MODE),asan)
CC_MODE := gcc
DEPS := $(DEPS_ASAN)
# float-cast-overflow: in clang's "undefined", not in gcc's.
# The test hooks too: make check runs the integration tests listed in
# test/integ/asan.list with this build of drsjoin as well.
CFLAGS_MODE := -O1 -g -fsanitize=address,undefined,float-cast-overflow \
	-fno-omit-frame-pointer -fno-sanitize-recover=all -Werror -DDRSJOIN_TEST_HOOKS
LDFLAGS_MODE := -fsanitize=address,undefined,float-cast-overflow
LIBS_MODE := $(DEPS_ASAN_LIBS)
else
CC_MODE := musl-gcc
DEPS := $(DEPS_MUSL)
CFLAGS_MODE := -Os -ffunction-sections -fdata-sections -fPIE $(HARDEN)
LDFLAGS_MODE := -static -Wl,--gc-sections -Wl,-z,relro,-z,now -Wl,-z,noexecstack
LIBS_MODE := $(DEPS_LIBS)
# ./drsjoin is static-PIE, so ASLR moves it too. Debian's musl-gcc specs turn
# -static-pie into a dynamic link (an INTERP of ld-musl), so it is linked by
# hand: musl-gcc's own start files with musl's self-relocating rcrt1.o in
# place of Scrt1.o, and the static-PIE flags -static-pie would have given ld.
# The unit tests stay plain -static.
MUSL_LINK := $(shell musl-gcc -\#\#\# drsjoin.o 2>&1 | tr ' ' '\n' | tr -d '"')
MUSL_START := $(subst /Scrt1.o,/rcrt1.o,$(filter %/Scrt1.o %/crti.o %/crtbeginS.o,$(MUSL_LINK)))
MUSL_END := $(filter %/crtendS.o %/crtn.o,$(MUSL_LINK))
LDFLAGS_PIE := -nostartfiles -Wl,-static,-pie,--no-dynamic-linker,-z,text \
	-Wl,--gc-sections -Wl,-z,relro,-z,now -Wl,-z,noexecstack
ifeq ($(MODE),check)
# The test hooks (DRSJOIN_TEST_*, e.g. drs/sandbox.c) exist in this build only.
CFLAGS_MODE += -Werror -DDRSJOIN_TEST_HOOKS
endif
endif

# aarch64 (make ARCH=aarch64, check-aarch64, and the aarch64 side of dist,
# deb, bench and check): sets B, CC_MODE, DEPS and MUSL_* for ARCH=aarch64.
include third_party/cross.mk

CC := $(CC_MODE)
ALL_CFLAGS := $(CSTD) $(WARN) $(CFLAGS_MODE) $(CPPFLAGS_DRS) -I$(DEPS)/include $(CFLAGS)
ALL_LDFLAGS := $(LDFLAGS_MODE) -L$(DEPS)/lib $(LDFLAGS)

DRS_SRCS := $(sort $(wildcard drs/*.c))
DRS_OBJS := $(DRS_SRCS:%.c=$(B)/%.o)
UNIT_SRCS := $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:test/unit/%.c=$(B)/test/%)
# Fuzz targets (test/fuzz): one binary per parser of outside input (leaf
# parsers, fuzz_targets.c) and per whole function taking a whole answer or
# document (fuzz_whole.c, on a fake HTTP layer). `make check` runs each in
# the asan build over a fixed set of mutated inputs (driver.c); `make fuzz`
# builds them with libFuzzer and runs each for FUZZ_SECONDS.
FUZZ_LEAF := answer json jwt svcerr redact b64 bcrypt cert key tpmblob login config jwe prtanswer
FUZZ_WHOLE := discovery nonce join doc redeem
FUZZ_NAMES := $(FUZZ_LEAF) $(FUZZ_WHOLE)
FUZZ_BINS := $(FUZZ_NAMES:%=$(B)/test/fuzz_%)
FUZZ_SECONDS ?= 60
ifeq ($(MODE),fuzz)
FUZZ_MAIN :=
else
FUZZ_MAIN := test/fuzz/driver.c
endif

.PHONY: all sysdeps deps bins unit fuzz fuzz-bins fuzz-smoke check demo bench bench-fleet bench-prt size \
	clean distclean install uninstall dist deb deb-lint
.DEFAULT_GOAL := all

ifeq ($(CROSS_ARCH),)
all: sysdeps
	@$(MAKE) --no-print-directory deps-musl
	@$(MAKE) --no-print-directory MODE=release drsjoin
else
all: cross-$(CROSS_ARCH)
endif

# Build packages: installs only what is missing (needs root then).
sysdeps:
	@scripts/install-deps.sh

drsjoin: $(B)/drsjoin
	cp $< $@

ifneq ($(filter asan fuzz,$(MODE)),)
$(B)/drsjoin: $(B)/drsjoin.o $(B)/libdrs.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_MODE)
else
$(B)/drsjoin: $(B)/drsjoin.o $(B)/libdrs.a
	@test -n "$(filter %/rcrt1.o,$(MUSL_START))" || \
	    { echo "Makefile: musl's rcrt1.o not found (musl-gcc: $(MUSL_START))" >&2; exit 1; }
	$(CC) $(LDFLAGS_PIE) -L$(DEPS)/lib $(LDFLAGS) -o $@ \
	    $(MUSL_START) $^ $(LIBS_MODE) $(MUSL_END)
endif

$(B)/libdrs.a: $(DRS_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/%.o: %.c $(wildcard drs/*.h) $(DEPS)/.complete
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/test/%: test/unit/%.c $(B)/libdrs.a $(wildcard test/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itest/unit $(ALL_LDFLAGS) -o $@ $< $(B)/libdrs.a $(LIBS_MODE)

$(B)/test/tls_probe: test/tls/tls_probe.c $(DEPS)/.complete
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBS_MODE)

# make bench's baseline for leave: one handshake and one DELETE, mbedTLS only.
$(B)/test/bench_handshake: test/bench/handshake.c $(DEPS)/.complete
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBS_MODE)

# make bench's timer of a whole drsjoin process (scripts/benchlib.py).
$(B)/test/bench_run: test/bench/run.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

# make bench's yardstick for prt and token: their requests on one mbedTLS
# connection, with drsjoin's own crypto layer (libdrs) and nothing else.
$(B)/test/bench_prt: test/bench/prt.c $(B)/libdrs.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(B)/libdrs.a $(LIBS_MODE)

$(FUZZ_LEAF:%=$(B)/test/fuzz_%): $(B)/test/fuzz_%: test/fuzz/driver.c test/fuzz/fuzz_targets.c $(B)/libdrs.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DFUZZ_$(shell echo $* | tr a-z A-Z) $(ALL_LDFLAGS) -o $@ \
	    $(FUZZ_MAIN) test/fuzz/fuzz_targets.c $(B)/libdrs.a $(LIBS_MODE)

# fake_http.c comes before libdrs.a: http.o and libcurl stay out.
$(FUZZ_WHOLE:%=$(B)/test/fuzz_%): $(B)/test/fuzz_%: test/fuzz/driver.c test/fuzz/fuzz_whole.c \
    test/fuzz/fake_http.c $(B)/libdrs.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DFUZZ_$(shell echo $* | tr a-z A-Z) $(ALL_LDFLAGS) -o $@ \
	    $(FUZZ_MAIN) test/fuzz/fuzz_whole.c test/fuzz/fake_http.c $(B)/libdrs.a $(LIBS_MODE)

bins: $(B)/drsjoin $(UNIT_BINS)

unit: $(UNIT_BINS)

fuzz-smoke fuzz-bins: $(FUZZ_BINS)

# Coverage-guided: every target under libFuzzer (+ASan+UBSan) for
# FUZZ_SECONDS each; new inputs go to build/fuzz/corpus/NAME, the repo's
# seeds (test/fuzz/corpus/NAME) are read. scripts/fuzz.sh has the details.
fuzz:
	@scripts/install-deps.sh fuzz
	@$(MAKE) --no-print-directory deps-asan
	@$(MAKE) --no-print-directory MODE=fuzz fuzz-bins
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh build/fuzz/test $(FUZZ_NAMES)

# Ends with its time split into the dependencies (third_party, cached after
# the first run), the builds and the tests, wall and CPU (user+sys) seconds.
# The dependencies build one flavour after another (each is parallel inside);
# drsjoin's own builds take CHECK_JOBS compilers at once.
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# $(call CHECK_LOG,PHASE): after a step, logs PHASE, the time and the CPU
# seconds of the step's processes ("times" of the recipe line's own shell),
# and keeps the step's exit status.
CHECK_LOG = r=$$?; times >build/.check-times; awk -v p=$(1) -v t=$$(date +%s) 'NR == 2 { \
	n = 0; for (i = 1; i <= 2; i++) { split($$i, a, /[ms]/); n += a[1] * 60 + a[2] }; \
	print p, t, n }' build/.check-times >>build/.check-log; [ $$r -eq 0 ]
CHECK_SUMMARY = awk '$$1 == "start" { t0 = prev = $$2; next } { w[$$1] += $$2 - prev; \
	c[$$1] += $$3; prev = $$2; cpu += $$3 } END { printf "make check: %d s wall (%.0f s CPU): " \
	"dependencies %d s (%.0f s CPU), builds %d s (%.0f s CPU), tests %d s (%.0f s CPU)\n", \
	prev - t0, cpu, w["deps"], c["deps"], w["builds"], c["builds"], w["tests"], c["tests"] }' \
	build/.check-log
check: sysdeps
	@mkdir -p build && echo "start $$(date +%s) 0" >build/.check-log
	@$(MAKE) --no-print-directory deps-musl deps-asan check-cross-deps; $(call CHECK_LOG,deps)
	@$(MAKE) --no-print-directory -j$(CHECK_JOBS) MODE=check bins build/check/test/tls_probe \
	    build/check/test/bench_handshake build/check/test/bench_run; $(call CHECK_LOG,builds)
	@$(MAKE) --no-print-directory -j$(CHECK_JOBS) MODE=asan unit fuzz-smoke build/asan/drsjoin; \
	    $(call CHECK_LOG,builds)
	@$(MAKE) --no-print-directory -j$(CHECK_JOBS) check-cross-build; $(call CHECK_LOG,builds)
	@echo "DRSJOIN_ASAN=build/asan/drsjoin test/run build/check/drsjoin build/check/test build/asan/test"
	@DRSJOIN_ASAN=build/asan/drsjoin test/run build/check/drsjoin build/check/test build/asan/test; \
	    $(call CHECK_LOG,tests); r=$$?; $(CHECK_SUMMARY); exit $$r

demo: all
	scripts/demo.sh ./drsjoin

BENCH_TOOLS = build/release/test/bench_handshake build/release/test/bench_prt \
    build/release/test/bench_run

bench: all
	@$(MAKE) --no-print-directory MODE=release $(BENCH_TOOLS)
	scripts/bench.sh ./drsjoin

# prt and token beside their mbedTLS yardstick alone (make bench runs it too).
bench-prt: all
	@$(MAKE) --no-print-directory MODE=release build/release/test/bench_prt \
	    build/release/test/bench_run
	scripts/bench_prt.sh ./drsjoin

# FLEET_N joins at once, the emulator throttling join to FLEET_RATE/s (burst FLEET_BURST).
FLEET_N ?= 200
FLEET_RATE ?= 10
FLEET_BURST ?= 10
bench-fleet: all
	scripts/bench_fleet.py ./drsjoin $(FLEET_N) $(FLEET_RATE) $(FLEET_BURST)

size: all
	@strip -o build/drsjoin.stripped drsjoin
	@echo "drsjoin: $$(stat -c %s build/drsjoin.stripped) bytes stripped (limit 1600000)"
	@test $$(stat -c %s build/drsjoin.stripped) -le 1600000

# Install. `make install [DESTDIR=...] [PREFIX=/usr/local]`; each directory
# can be set on its own. The binary goes to SBINDIR (an admin's tool);
# BINDIR is another name for the same place. The units' ExecStart= follows
# BINDIR. INSTALL_BIN installs another build of the binary (the tests use
# the check build); by default `make install` builds ./drsjoin first.
# uninstall removes exactly what install put there; the state directory
# (/var/lib/drsjoin: the machine's identity) is never touched.
# SYSCONFDIR/drsjoin (0700, root: drsjoin.conf and token files go there)
# is /etc/drsjoin whatever PREFIX is, since drsjoin reads
# /etc/drsjoin/drsjoin.conf; uninstall removes it only when empty.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(SBINDIR)
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/drsjoin
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
INSTALL_BIN ?= drsjoin
UNITS := $(notdir $(wildcard scripts/systemd/*.service))
EXAMPLES := $(notdir $(wildcard scripts/examples/*))
DOCS := $(notdir $(wildcard docs/*.md))

install: $(if $(filter drsjoin,$(INSTALL_BIN)),all)
	install -d -m 755 '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(MANDIR)/man8' \
	    '$(DESTDIR)$(BASHCOMPDIR)' '$(DESTDIR)$(ZSHCOMPDIR)' '$(DESTDIR)$(UNITDIR)' \
	    '$(DESTDIR)$(DOCDIR)/examples' '$(DESTDIR)$(DOCDIR)/docs'
	install -d -m 700 '$(DESTDIR)$(SYSCONFDIR)/drsjoin'
	install -m 755 '$(INSTALL_BIN)' '$(DESTDIR)$(BINDIR)/drsjoin'
	install -m 644 drsjoin.8 '$(DESTDIR)$(MANDIR)/man8/drsjoin.8'
	install -m 644 scripts/completion/drsjoin.bash '$(DESTDIR)$(BASHCOMPDIR)/drsjoin'
	install -m 644 scripts/completion/_drsjoin '$(DESTDIR)$(ZSHCOMPDIR)/_drsjoin'
	for u in $(UNITS); do \
	    sed 's|/usr/sbin/drsjoin|$(BINDIR)/drsjoin|g' scripts/systemd/$$u \
	        >'$(DESTDIR)$(UNITDIR)'/$$u && chmod 644 '$(DESTDIR)$(UNITDIR)'/$$u || exit 1; \
	done
	install -m 644 README.md LICENSE '$(DESTDIR)$(DOCDIR)/'
	install -m 644 $(addprefix scripts/examples/,$(EXAMPLES)) '$(DESTDIR)$(DOCDIR)/examples/'
	install -m 644 $(addprefix docs/,$(DOCS)) '$(DESTDIR)$(DOCDIR)/docs/'

uninstall:
	rm -f '$(DESTDIR)$(BINDIR)/drsjoin' '$(DESTDIR)$(MANDIR)/man8/drsjoin.8' \
	    '$(DESTDIR)$(BASHCOMPDIR)/drsjoin' '$(DESTDIR)$(ZSHCOMPDIR)/_drsjoin' \
	    $(foreach u,$(UNITS),'$(DESTDIR)$(UNITDIR)/$(u)') \
	    '$(DESTDIR)$(DOCDIR)/README.md' '$(DESTDIR)$(DOCDIR)/LICENSE' \
	    $(foreach e,$(EXAMPLES),'$(DESTDIR)$(DOCDIR)/examples/$(e)') \
	    $(foreach d,$(DOCS),'$(DESTDIR)$(DOCDIR)/docs/$(d)')
	-rmdir '$(DESTDIR)$(DOCDIR)/examples' '$(DESTDIR)$(DOCDIR)/docs' '$(DESTDIR)$(DOCDIR)' 2>/dev/null
	rmdir '$(DESTDIR)$(SYSCONFDIR)/drsjoin' 2>/dev/null || true

# Release artefacts, under DISTDIR (ignored by git): `make dist`, the
# reproducible tarball and SHA256SUMS; `make deb`, the Debian package
# (checked with lintian by `make deb-lint` and by test/integ/deb.sh).
# DIST_BIN packs another build of the binary (the tests use the check build).
DISTDIR ?= build/dist
DIST_BIN ?= drsjoin

dist: $(if $(filter drsjoin,$(DIST_BIN)),all)
	scripts/dist.sh . '$(DIST_BIN)' '$(DISTDIR)'

# make deb builds the arm64 package too (third_party/cross.mk: deb-arm64),
# cross-compiling drsjoin and, the first time, its dependencies for aarch64:
# said before anything starts, so that a long build is no surprise.
ifneq ($(filter deb deb-lint,$(MAKECMDGOALS)),)
$(info make deb: builds $(DISTDIR)/drsjoin_VERSION_amd64.deb and the aarch64 package $(DISTDIR)/drsjoin_VERSION_arm64.deb (cross-compiled: the aarch64 build, and its dependencies the first time, come first))
endif
deb: $(if $(filter drsjoin,$(DIST_BIN)),all)
	rm -rf '$(DISTDIR)/deb-root'
	$(MAKE) --no-print-directory install DESTDIR='$(abspath $(DISTDIR))/deb-root' PREFIX=/usr \
	    UNITDIR=/lib/systemd/system ZSHCOMPDIR=/usr/share/zsh/vendor-completions \
	    INSTALL_BIN='$(abspath $(DIST_BIN))' >/dev/null && \
	    scripts/deb.sh . '$(DISTDIR)/deb-root' '$(DISTDIR)'; \
	    rc=$$?; rm -rf '$(DISTDIR)/deb-root'; exit $$rc

deb-lint: deb
	lintian --fail-on error,warning $(DISTDIR)/drsjoin_*_amd64.deb

clean:
	rm -rf build drsjoin

# Also forgets the built dependencies (they live in a cache outside the tree).
distclean: clean
	third_party/build.sh --clean
