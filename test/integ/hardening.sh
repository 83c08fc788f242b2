#!/usr/bin/env bash
# The build's hardening, checked on what was built rather than on the flags
# asked for: drsjoin is static-PIE, and the dependencies (which parse what
# servers send) carry the stack protector and stack-clash probes.
. "$(dirname "$0")/../lib-integ.sh"

deps=$("$DRSJOIN_TOP/third_party/build.sh" --dir musl)

# Static-PIE: an ELF of type DYN (position-independent, so ASLR moves it)
# with no program interpreter and no shared library: the kernel loads it and
# musl's rcrt1.o relocates it.
hdr=$(readelf -h "$DRSJOIN" 2>/dev/null)
prog=$(readelf -lW "$DRSJOIN" 2>/dev/null)
dyn=$(readelf -dW "$DRSJOIN" 2>/dev/null)
t_check "drsjoin is position-independent (ELF type DYN, flagged PIE)" \
    "$(grep -Eq 'Type: +DYN' <<<"$hdr" && grep -q 'Flags: .*PIE' <<<"$dyn"; echo $?)"
t_check "drsjoin has no program interpreter and needs no shared library" \
    "$([ -n "$prog" ] && ! grep -q INTERP <<<"$prog" && ! grep -q NEEDED <<<"$dyn"; echo $?)"
t_check "drsjoin has no text relocations and binds now (full RELRO)" \
    "$(! grep -q TEXTREL <<<"$dyn" && grep -q BIND_NOW <<<"$dyn" &&
       grep -q GNU_RELRO <<<"$prog"; echo $?)"
t_check "file(1) says static-pie linked" \
    "$(file -L "$DRSJOIN" | grep -q 'static-pie linked'; echo $?)"

# The stack protector: its failure handler is referenced from the objects of
# each library (drsjoin's own code has had it from the start). The libraries
# that matter most are named: mbedTLS (TLS, X.509, the keys) and libcurl
# (HTTP framing).
if [ ! -f "$deps/.complete" ]; then
	t_fail "the musl dependencies are built" "$deps has no .complete"
else
	for lib in mbedcrypto mbedx509 mbedtls curl tss2-esys tss2-mu cjson; do
		n=$(nm -A "$deps/lib/lib$lib.a" 2>/dev/null | grep -c ' U __stack_chk_fail$')
		t_check "lib$lib.a: objects reference __stack_chk_fail (stack protector)" \
		    "$([ "$n" -gt 0 ]; echo $?)" "$n objects"
	done
	# -fstack-clash-protection probes each page of a large frame
	# ("orq $0x0,(%rsp)"); libcurl and ESYS have such frames.
	for lib in curl tss2-esys; do
		n=$(objdump -d "$deps/lib/lib$lib.a" 2>/dev/null | grep -Ec 'or[q]? +\$0x0,\(%rsp\)')
		t_check "lib$lib.a: large frames are probed page by page (stack-clash protection)" \
		    "$([ "$n" -gt 0 ]; echo $?)" "$n probes"
	done
fi

t_done
