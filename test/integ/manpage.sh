#!/usr/bin/env bash
# The man page: lint-clean, and in step with the binary's --help texts:
# every command, every option of --help and of each 'drsjoin CMD --help' is
# documented, and the man page documents no option the binary lacks; every
# environment variable the code reads, every exit code.
. "$(dirname "$0")/../lib-integ.sh"

MAN=$DRSJOIN_TOP/drsjoin.8

if command -v mandoc >/dev/null; then
	out=$(mandoc -T lint -W warning "$MAN" 2>&1)
	t_check "mandoc -T lint: no warning or error" "$([ -z "$out" ]; echo $?)" "$out"
else
	t_skip "mandoc -T lint" "mandoc is not installed (scripts/install-deps.sh installs it)"
fi
out=$(LC_ALL=C.UTF-8 man --warnings -l "$MAN" 2>&1 >/dev/null)
t_check "man --warnings (groff): nothing to say" "$([ -z "$out" ]; echo $?)" "$out"
# As Debian's man shows it (groff 1.22 heads an mdoc page "BSD" unless told).
LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$MAN" 2>/dev/null >"$T_WORK/man.txt"
t_check "man: the header and footer name Linux, not BSD (.Os set)" \
    "$(grep -qx '\.Os Linux' "$MAN" && head -n 1 "$T_WORK/man.txt" | grep -q "Linux System Manager's Manual" &&
       ! grep -q 'BSD' <(head -n 1 "$T_WORK/man.txt"; tail -n 1 "$T_WORK/man.txt"); echo $?)" \
    "$(head -n 1 "$T_WORK/man.txt") / $(tail -n 1 "$T_WORK/man.txt")"
# A quote opened inside another one (groff shows it as 'a 'b'').
t_check "man: no quote opened inside another" \
    "$(! grep -q '‘[^’]*‘' "$T_WORK/man.txt"; echo $?)" "$(grep -m 3 '‘[^’]*‘' "$T_WORK/man.txt")"

# Options in a --help text: -x and --long-name where an option can stand
# (line start, after a space, '[', '(', '|' or ','), minus -h/--help.
help_opts() {
	grep -oE '(^|[][ (|,])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[][ (|,]//' |
	    grep -vxE -- '-h|--help' | sort -u
}
# Options in the man page's .It lines of a block of mdoc (stdin).
man_opts() {
	grep '^\.It ' | grep -oE 'Fl -?[A-Za-z][A-Za-z0-9-]*' | sed 's/^Fl /-/' |
	    grep -vxE -- '-h|--help' | sort -u
}
# The lines of .Sh SECTION (to the next .Sh), or of .Ss SUB within it.
man_section() { awk -v s="$1" '/^\.Sh /{on = ($0 == ".Sh " s); next} on' "$MAN"; }
man_sub() {
	man_section COMMANDS | awk -v s="$1" '/^\.Ss /{on = ($0 == ".Ss " s); next} on'
}

t_run -- --help
cp "$OUT" "$T_WORK/help"
global_help=$(sed -n '/^Global options:/,/^$/p' "$T_WORK/help" | grep '^  -' |
    sed 's/   .*//' | help_opts)
global_man=$(man_section "GLOBAL OPTIONS" | man_opts)
t_check "global options: --help and the man page name the same ones" \
    "$([ -n "$global_help" ] && [ "$global_help" = "$global_man" ]; echo $?)" \
    "help only: $(comm -23 <(echo "$global_help") <(echo "$global_man") | tr '\n' ' ')man only: $(comm -13 <(echo "$global_help") <(echo "$global_man") | tr '\n' ' ')"

cmds=$(sed -n '/^Commands:/,/^$/p' "$T_WORK/help" | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
man_cmds=$(man_section COMMANDS | sed -n 's/^\.Ss //p' | sort)
t_check "commands: --help and the man page name the same ones" \
    "$([ -n "$cmds" ] && [ "$(echo "$cmds" | sort)" = "$man_cmds" ]; echo $?)" \
    "help: $(echo $cmds) man: $(echo $man_cmds)"

# COMMANDS in the order a join runs them, then the ones after it.
t_check "COMMANDS: in the order of the phases (discover, nonce, keygen, csr, join), then status, leave, then prt, token, cookie" \
    "$([ "$(man_section COMMANDS | sed -n 's/^\.Ss //p' | tr '\n' ' ')" = "discover nonce keygen csr join status leave prt token cookie " ]; echo $?)" \
    "$(man_section COMMANDS | sed -n 's/^\.Ss //p' | tr '\n' ' ')"

# FILES: the token file, the config file and every shipped unit; SEE ALSO:
# the units and cloud-init.
files=$(man_section FILES | sed -n 's/^\.It Pa //p')
miss=
for f in /etc/drsjoin/token.jwt /etc/drsjoin/drsjoin.conf \
    $(cd "$DRSJOIN_TOP/scripts/systemd" && printf '/lib/systemd/system/%s\n' *.service); do
	grep -qxF -- "$f" <<<"$files" || miss="$miss $f"
done
t_check "FILES lists token.jwt, drsjoin.conf and every unit" "$([ -z "$miss" ]; echo $?)" "missing:$miss"
see=$(man_section "SEE ALSO")
miss=
for f in $(cd "$DRSJOIN_TOP/scripts/systemd" && ls *.service) "Xr cloud-init 1"; do
	grep -qF -- "$f" <<<"$see" || miss="$miss $f"
done
t_check "SEE ALSO names the units and cloud-init" "$([ -z "$miss" ]; echo $?)" "missing:$miss"

for c in $cmds; do
	t_run -- "$c" --help
	# A command's help may mention global options in its prose.
	h=$(help_opts <"$OUT" | comm -23 - <(echo "$global_help"))
	m=$(man_sub "$c" | man_opts)
	t_check "drsjoin $c: --help and the man page name the same options" \
	    "$([ "$h" = "$m" ]; echo $?)" \
	    "help only: $(comm -23 <(echo "$h") <(echo "$m") | tr '\n' ' ')man only: $(comm -13 <(echo "$h") <(echo "$m") | tr '\n' ' ')"
	# And the binary takes each of them (the man page invents none).
	bad=
	for o in $m; do
		t_run -- "$c" "$o"
		grep -q "unknown option" "$ERR" && bad="$bad $o"
	done
	t_check "drsjoin $c: the binary takes every option the man page documents" \
	    "$([ -z "$bad" ]; echo $?)" "refused:$bad"
done
bad=
for o in $global_man; do
	t_run -- "$o"
	grep -q "unknown option" "$ERR" && bad="$bad $o"
done
t_check "the binary takes every global option the man page documents" \
    "$([ -z "$bad" ]; echo $?)" "refused:$bad"

# Every environment variable the code reads is in ENVIRONMENT. DRSJOIN_TEST_*
# exist only in test builds (-DDRSJOIN_TEST_HOOKS, HACKING.md), and
# DRSJOIN_SANITIZER_LOG_DIR only in the ASan build: not for users.
envs=$(cat "$DRSJOIN_TOP"/drsjoin.c "$DRSJOIN_TOP"/drs/*.c |
    grep -oE 'getenv\("[A-Za-z_0-9]+"\)' | sed 's/getenv("\(.*\)")/\1/' |
    grep -v '^DRSJOIN_TEST_' | grep -vx 'DRSJOIN_SANITIZER_LOG_DIR' | sort -u)
man_envs=$(man_section ENVIRONMENT | grep '^\.It ' | grep -oE 'Ev [A-Za-z_0-9]+' |
    sed 's/^Ev //' | sort -u)
missing=$(comm -23 <(echo "$envs") <(echo "$man_envs") | tr '\n' ' ')
t_check "every environment variable the code reads is documented" \
    "$([ -n "$envs" ] && [ -z "$missing" ]; echo $?)" "undocumented: $missing"

codes_help=$(sed -n 's/^  \([0-9]\+\)  .*/\1/p' "$T_WORK/help")
codes_man=$(man_section "EXIT STATUS" | sed -n 's/^\.It \([0-9]*\)$/\1/p')
t_check "EXIT STATUS lists the exit codes of --help" \
    "$([ -n "$codes_help" ] && [ "$codes_help" = "$codes_man" ]; echo $?)"

ex=$(man_section EXAMPLES)
miss=
for w in '#cloud-config' '%post' 'DRSJOIN_TOKEN' 'keygen --key-store software' \
    'join --key-store tpm' 'drsjoin-join.service' 'drs-emulator'; do
	grep -qF -- "$w" <<<"$ex" || miss="$miss '$w'"
done
t_check "EXAMPLES: cloud-init, kickstart, CI, image build, TPM, systemd, emulator" \
    "$([ -z "$miss" ]; echo $?)" "missing:$miss"
for s in NAME SYNOPSIS DESCRIPTION "GLOBAL OPTIONS" COMMANDS OUTPUT CONFIGURATION ENVIRONMENT FILES \
    "EXIT STATUS" EXAMPLES; do
	grep -qx "\.Sh $s" "$MAN" || miss="$miss $s"
done
t_check "the man page has its sections" "$([ -z "$miss" ]; echo $?)" "missing:$miss"

# The examples the man page quotes are the shipped files, byte for byte: each
# literal block after '.\" quoted from FILE' is a run of FILE's lines.
out=$($PY - "$MAN" "$DRSJOIN_TOP" <<'PY'
import os, sys
man = open(sys.argv[1]).read().split("\n")
top = sys.argv[2]
quoted, bad = set(), []
for i, l in enumerate(man):
    if not l.startswith('.\\" quoted from '):
        continue
    f = l.split()[3]
    quoted.add(f)
    j = i + 2
    assert man[i + 1].startswith(".Bd -literal"), f
    block = []
    while man[j] != ".Ed":
        b = man[j]
        if b.startswith("\\&"):
            b = b[2:]
        block.append(b.replace("\\e", "\\"))
        j += 1
    lines = open(os.path.join(top, f)).read().split("\n")
    if not block or not any(lines[k:k + len(block)] == block for k in range(len(lines))):
        bad.append(f + " differs")
shipped = {"scripts/examples/" + f for f in os.listdir(os.path.join(top, "scripts/examples"))}
bad += [f + " not quoted" for f in sorted(shipped - quoted)]
print(" ".join(bad))
PY
)
t_check "EXAMPLES quotes every shipped example file exactly" "$([ -z "$out" ]; echo $?)" "$out"

# CONFIGURATION names the keys the binary knows (its unknown-key error lists them).
printf 'no-such-key = 1\n' >"$T_WORK/c.conf"; chmod 600 "$T_WORK/c.conf"
t_run --env DRSJOIN_CONFIG="$T_WORK/c.conf" -- status
bin_keys=$(sed -n 's/.*(keys: \(.*\))$/\1/p' "$ERR" | tr -d ',' | tr ' ' '\n' | sort)
man_keys=$(man_section CONFIGURATION | sed -n 's/^\.It Ic //p' | tr -d ',' | tr ' ' '\n' | grep . | sort)
t_check "CONFIGURATION documents every key of the config file, and no other" \
    "$([ -n "$bin_keys" ] && [ "$bin_keys" = "$man_keys" ]; echo $?)" "binary: $(echo $bin_keys) man: $(echo $man_keys)"

# OUTPUT lists every key 'status --json' prints: software keys, TPM keys
# (on swtpm), and not joined.
status_list=$(man_section OUTPUT | awk '/^\.Cm status$/{on = 1} on && /^\.Pp$/{exit} on' |
    sed -n 's/^\.Ql \([a-z_]*\).*/\1/p' | sort -u)
undocumented() {	# the keys of $OUT missing from the man page
	$PY -c 'import json,sys; print("\n".join(sorted(json.load(open(sys.argv[1])))))' "$OUT" |
	    comm -23 - <(echo "$status_list") | tr '\n' ' '
}
emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
t_run -- status --json
miss=$(undocumented)
t_check "status when not joined: every key is in the man page's list" \
    "$([ "$RC" -eq 8 ] && [ -s "$OUT" ] && [ -z "$miss" ]; echo $?)" "rc $RC, missing: $miss"
t_run -- join --token-file "$(token_file)" --key-store software
t_run -- status --json
miss=$(undocumented)
t_check "status with software keys: every key is in the man page's list" \
    "$([ "$RC" -eq 0 ] && [ -z "$miss" ]; echo $?)" "rc $RC, missing: $miss"
if swtpm_available >/dev/null && swtpm_start >/dev/null; then
	STATE=$T_WORK/state-tpm
	t_run -- --tcti "$SWTPM_TCTI" join --token-file "$(token_file)" --key-store tpm
	t_run -- status --json
	miss=$(undocumented)
	t_check "status with TPM keys: every key is in the man page's list" \
	    "$([ "$RC" -eq 0 ] && [ -n "$(jget "$OUT" 'd["srk"]')" ] && [ -z "$miss" ]; echo $?)" \
	    "rc $RC, missing: $miss"
else
	t_skip "status with TPM keys: every key is in the man page's list" "no swtpm"
fi
t_done
