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
# exist only in test builds (-DDRSJOIN_TEST_HOOKS, HACKING.md), not for users.
envs=$(cat "$DRSJOIN_TOP"/drsjoin.c "$DRSJOIN_TOP"/drs/*.c |
    grep -oE 'getenv\("[A-Za-z_0-9]+"\)' | sed 's/getenv("\(.*\)")/\1/' |
    grep -v '^DRSJOIN_TEST_' | sort -u)
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
for s in NAME SYNOPSIS DESCRIPTION "GLOBAL OPTIONS" COMMANDS OUTPUT ENVIRONMENT FILES \
    "EXIT STATUS" EXAMPLES; do
	grep -qx "\.Sh $s" "$MAN" || miss="$miss $s"
done
t_check "the man page has its sections" "$([ -z "$miss" ]; echo $?)" "missing:$miss"
t_done
