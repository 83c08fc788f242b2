# third_party/cross.mk - drsjoin for aarch64, cross-built on the x86-64
# build machine and tested under qemu-user. Included by the Makefile after
# it has chosen MODE's compiler and flags; README.md ("Platforms") and
# third_party/README.md say more.
#
#   make ARCH=aarch64      the same as make cross-aarch64
#   make cross-aarch64     build/release-aarch64/drsjoin: static-PIE, -Os,
#                          the hardening flags of the x86-64 build, linked
#                          against musl and the four libraries built for
#                          aarch64 (third_party/build.sh musl-aarch64)
#   make check-aarch64     build/check-aarch64/drsjoin (-Werror, the test
#                          hooks) run under qemu-aarch64-static against the
#                          emulator: test/integ/aarch64.sh --full and the
#                          integration tests that matter most
#   make dist / deb        also build the aarch64 tarball and the arm64
#                          .deb (dist-aarch64, deb-arm64); DIST_BIN_AARCH64
#                          packs another aarch64 build
#   make check             runs test/integ/aarch64.sh's short smoke when
#                          qemu-aarch64-static is installed
#
# ARCH is read from the command line only: kernel builds and some CI images
# export ARCH (x86, arm64, ...) into the environment, and that must not
# turn `make` into a cross build.

ifeq ($(origin ARCH),command line)
CROSS_ARCH := $(patsubst arm64,aarch64,$(patsubst amd64,x86_64,$(ARCH)))
ifeq ($(CROSS_ARCH),x86_64)
CROSS_ARCH :=
else ifneq ($(CROSS_ARCH),aarch64)
$(error ARCH=$(ARCH): not a target drsjoin builds for (x86_64, the default, or aarch64))
endif
else
CROSS_ARCH :=
endif

CROSS_TRIPLET := aarch64-linux-gnu
CROSS_QEMU := qemu-aarch64-static
CROSS_STRIP := $(CROSS_TRIPLET)-strip
CROSS_MUSL_GCC := $(DEPS_AARCH64)/musl/bin/musl-gcc
DIST_BIN_AARCH64 ?= build/release-aarch64/drsjoin
# The checks that run an aarch64 binary: those need the emulator, and the
# aarch64 build the cross compiler (scripts/install-deps.sh installs both).
CROSS_CAN_RUN := $(shell command -v $(CROSS_QEMU) >/dev/null 2>&1 && \
    command -v $(CROSS_TRIPLET)-gcc >/dev/null 2>&1 && echo yes)

ifeq ($(CROSS_ARCH),aarch64)
ifneq ($(filter asan fuzz,$(MODE)),)
$(error ARCH=aarch64 MODE=$(MODE): the sanitizer builds are x86-64 only)
endif
# Only what builds the aarch64 binary; everything that installs, packs or
# tests is a goal of the native make (which builds the aarch64 side itself).
CROSS_NATIVE_GOALS := $(filter-out all cross-aarch64 deps-musl-aarch64 sysdeps build/%,\
    $(MAKECMDGOALS))
ifneq ($(CROSS_NATIVE_GOALS),)
$(error ARCH=aarch64: make $(CROSS_NATIVE_GOALS) is a native goal; run it without ARCH= (make dist, deb, bench and check build the aarch64 side too; make check-aarch64 tests it))
endif
B := build/$(MODE)-aarch64
CC_MODE := $(CROSS_MUSL_GCC)
DEPS := $(DEPS_AARCH64)
AR := $(CROSS_TRIPLET)-ar
# The same static-PIE link as x86-64 (the Makefile): the cross musl-gcc's
# start files, with musl's rcrt1.o for Scrt1.o.
MUSL_LINK := $(shell $(CROSS_MUSL_GCC) -\#\#\# drsjoin.o 2>&1 | tr ' ' '\n' | tr -d '"')
MUSL_START := $(subst /Scrt1.o,/rcrt1.o,$(filter %/Scrt1.o %/crti.o %/crtbeginS.o,$(MUSL_LINK)))
MUSL_END := $(filter %/crtendS.o %/crtn.o,$(MUSL_LINK))

# The binary under the emulator, as one executable the tests run as
# $DRSJOIN: qemu-user needs no binfmt_misc registration this way.
$(B)/drsjoin-qemu: $(B)/drsjoin
	printf '%s\n' '#!/bin/sh' '# $(abspath $<) under qemu-user (third_party/cross.mk)' \
	    'exec $(CROSS_QEMU) $(abspath $<) "$$@"' >$@.tmp
	chmod 755 $@.tmp
	mv $@.tmp $@
endif

.PHONY: cross-aarch64 check-aarch64 dist-aarch64 deb-arm64 deb-lint-arm64

cross-aarch64: sysdeps
	@$(MAKE) --no-print-directory deps-musl-aarch64
	@$(MAKE) --no-print-directory ARCH=aarch64 MODE=release build/release-aarch64/drsjoin
	@file -b build/release-aarch64/drsjoin

# tpm_join.sh uses the native test_tpm to replace the SRK on swtpm. The
# hostile-server sample: framing, decompression, nesting, a redirect, a
# certificate for another key, bytes that are not UTF-8.
CROSS_HOSTILE := gzip-bomb deep-nesting huge-chunked redirect-other-host cert-wrong-key \
    tenant-name-latin1
CROSS_TESTS := "test/integ/aarch64.sh --full" test/integ/phases.sh test/integ/leave.sh \
    test/integ/tpm_join.sh test/integ/idempotent.sh \
    "test/integ/hostile.sh $(CROSS_HOSTILE)"
check-aarch64: sysdeps
	@test -n "$(CROSS_CAN_RUN)" || { echo "check-aarch64: $(CROSS_QEMU) or $(CROSS_TRIPLET)-gcc missing (scripts/install-deps.sh)" >&2; exit 1; }
	@$(MAKE) --no-print-directory deps-musl deps-musl-aarch64
	@$(MAKE) --no-print-directory MODE=check build/check/test/test_tpm
	@$(MAKE) --no-print-directory ARCH=aarch64 MODE=check build/check-aarch64/drsjoin-qemu
	test/run build/check-aarch64/drsjoin-qemu build/check/test -- $(CROSS_TESTS)

# make check: the aarch64 binary for test/integ/aarch64.sh's smoke, when
# this machine can run it.
.PHONY: check-cross-build check-cross-deps
check-cross-deps:
ifeq ($(CROSS_CAN_RUN),yes)
	@$(MAKE) --no-print-directory deps-musl-aarch64
endif
check-cross-build:
ifeq ($(CROSS_CAN_RUN),yes)
	@$(MAKE) --no-print-directory deps-musl-aarch64
	@$(MAKE) --no-print-directory ARCH=aarch64 MODE=check build/check-aarch64/drsjoin-qemu
endif

dist-aarch64: $(if $(filter build/release-aarch64/drsjoin,$(DIST_BIN_AARCH64)),cross-aarch64)
	scripts/dist.sh . '$(DIST_BIN_AARCH64)' '$(DISTDIR)' aarch64
dist: dist-aarch64

deb-arm64: $(if $(filter build/release-aarch64/drsjoin,$(DIST_BIN_AARCH64)),cross-aarch64)
	rm -rf '$(DISTDIR)/deb-root-arm64'
	$(MAKE) --no-print-directory install DESTDIR='$(abspath $(DISTDIR))/deb-root-arm64' PREFIX=/usr \
	    UNITDIR=/lib/systemd/system ZSHCOMPDIR=/usr/share/zsh/vendor-completions \
	    INSTALL_BIN='$(abspath $(DIST_BIN_AARCH64))' >/dev/null && \
	    scripts/deb.sh . '$(DISTDIR)/deb-root-arm64' '$(DISTDIR)' arm64; \
	    rc=$$?; rm -rf '$(DISTDIR)/deb-root-arm64'; exit $$rc
deb: deb-arm64

deb-lint-arm64: deb-arm64
	lintian --fail-on error,warning $(DISTDIR)/drsjoin_*_arm64.deb
deb-lint: deb-lint-arm64

# make bench: the aarch64 binary's stripped size (scripts/bench.sh).
bench: cross-aarch64
