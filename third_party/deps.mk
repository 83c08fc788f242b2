# third_party/deps.mk - the pinned dependencies, for the top-level Makefile.
#
#   DEPS_MUSL        directory of the musl (release) build: include/, lib/*.a
#   DEPS_ASAN        directory of the glibc ASan+UBSan build (unit tests)
#   DEPS_LIBS        the static libraries in link order, with -L$(DEPS_MUSL)/lib
#   DEPS_ASAN_LIBS   the same list, with -L$(DEPS_ASAN)/lib
#   DEPS_MUSL_STAMP  $(DEPS_MUSL)/.complete: exists once that build is done
#   DEPS_ASAN_STAMP  $(DEPS_ASAN)/.complete
#   DEPS_AARCH64     directory of the aarch64 release build (musl-aarch64):
#                    musl/ (musl itself and its musl-gcc), include/, lib/*.a
#   DEPS_AARCH64_STAMP  $(DEPS_AARCH64)/.complete
#   deps-musl, deps-asan, deps-musl-aarch64
#                    targets that build (or find) each flavour
#
# The directory names are computed when make reads this file, cheaply and
# without a compiler: third_party/build.sh --dir hashes the pins, the build
# scripts, our patches and config, and the flags. A stamp that exists means
# nothing to do, so a second make never rebuilds the dependencies; any change
# to those inputs names a new directory whose stamp is missing, so make builds
# it. Depend on the stamp from anything compiled against the headers (a
# normal prerequisite recompiles after a dependency rebuild; order-only does
# not).
#
# The TCTIs come before tss2-sys/mu (they use both); tss2-esys needs
# mbedcrypto; libcurl needs mbedtls; mbedTLS's threading needs pthread.

DEPS_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
DEPS_BUILD := $(DEPS_DIR)/build.sh

DEPS_MUSL := $(shell $(DEPS_BUILD) --dir musl)
DEPS_ASAN := $(shell $(DEPS_BUILD) --dir asan)
ifeq ($(DEPS_MUSL),)
$(error $(DEPS_BUILD) --dir musl failed)
endif
ifeq ($(DEPS_ASAN),)
$(error $(DEPS_BUILD) --dir asan failed)
endif
DEPS_MUSL_STAMP := $(DEPS_MUSL)/.complete
DEPS_ASAN_STAMP := $(DEPS_ASAN)/.complete
DEPS_AARCH64 := $(shell $(DEPS_BUILD) --dir musl-aarch64)
ifeq ($(DEPS_AARCH64),)
$(error $(DEPS_BUILD) --dir musl-aarch64 failed)
endif
DEPS_AARCH64_STAMP := $(DEPS_AARCH64)/.complete

DEPS_LIBS := -lcurl \
	-ltss2-esys -ltss2-tcti-device -ltss2-tcti-swtpm -ltss2-tcti-mssim \
	-ltss2-sys -ltss2-mu -ltss2-rc \
	-lmbedtls -lmbedx509 -lmbedcrypto \
	-lcjson -lpthread
DEPS_ASAN_LIBS := $(DEPS_LIBS)

.PHONY: deps-musl deps-asan deps-musl-aarch64
deps-musl: $(DEPS_MUSL_STAMP)
deps-asan: $(DEPS_ASAN_STAMP)
deps-musl-aarch64: $(DEPS_AARCH64_STAMP)

# build.sh prints the directory it built; it must be the one named above.
$(DEPS_MUSL_STAMP) $(DEPS_ASAN_STAMP) $(DEPS_AARCH64_STAMP):
	@flavour=$(if $(filter $(DEPS_MUSL_STAMP),$@),musl,$(if $(filter $(DEPS_ASAN_STAMP),$@),asan,musl-aarch64)); \
	d=$$($(DEPS_BUILD) $$flavour) || exit 1; \
	if [ "$$d/.complete" != "$@" ]; then \
		echo "deps.mk: build.sh built $$d, expected $(dir $@) (inputs changed during make?)" >&2; \
		exit 1; \
	fi
