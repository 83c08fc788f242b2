#!/usr/bin/env bash
# Shell completion: the bash script, sourced in a clean bash, completes
# commands, each command's options (the same as its --help), --key-store
# values and file names; the zsh script parses and names the same options.
. "$(dirname "$0")/../lib-integ.sh"

BASH_COMP=$DRSJOIN_TOP/scripts/completion/drsjoin.bash
ZSH_COMP=$DRSJOIN_TOP/scripts/completion/_drsjoin

# comp WORD... : what bash offers for the last word (one per line, sorted).
comp() {
	(cd "$T_WORK/files" && bash --norc --noprofile -c '
		. "$0" || exit 9
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_drsjoin
		printf "%s\n" "${COMPREPLY[@]}"' "$BASH_COMP" "$@") | sed '/^$/d' | sort
}
help_opts() {	# as test/integ/manpage.sh
	grep -oE '(^|[][ (|,])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[][ (|,]//' |
	    grep -vxE -- '-h|--help' | sort -u
}
mkdir -p "$T_WORK/files/sub"
touch "$T_WORK/files/token.jwt" "$T_WORK/files/tok2.jwt" "$T_WORK/files/ca.pem"

out=$(bash --norc --noprofile -c '. "$0" && complete -p drsjoin' "$BASH_COMP" 2>&1)
t_check "bash: sourcing registers the completion (complete -p)" \
    "$([ "$out" = "complete -F _drsjoin drsjoin" ]; echo $?)" "$out"

t_run -- --help
cp "$OUT" "$T_WORK/help"
cmds=$(sed -n '/^Commands:/,/^$/p' "$T_WORK/help" | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | sort)
global_help=$(sed -n '/^Global options:/,/^$/p' "$T_WORK/help" | grep '^  -' |
    sed 's/   .*//' | help_opts)
t_check "bash: the commands of --help" "$([ -n "$cmds" ] && [ "$(comp drsjoin '')" = "$cmds" ]; echo $?)" \
    "got: $(comp drsjoin '' | tr '\n' ' ')"
t_check "bash: a prefix completes to its command" "$([ "$(comp drsjoin jo)" = join ]; echo $?)"
t_check "bash: the global options of --help" \
    "$([ "$(comp drsjoin - | grep -vxE -- '-h|--help')" = "$global_help" ]; echo $?)" \
    "got: $(comp drsjoin - | tr '\n' ' ')"

for c in $cmds; do
	t_run -- "$c" --help
	h=$(help_opts <"$OUT" | comm -23 - <(echo "$global_help"))
	got=$(comp drsjoin "$c" - | grep -vxE -- '-h|--help')
	t_check "bash: drsjoin $c - offers the options of 'drsjoin $c --help'" \
	    "$([ "$got" = "$h" ]; echo $?)" "got: $(echo $got) want: $(echo $h)"
	# zsh: the same options in the command's branch.
	z=$(awk -v c="$c)" '$1 == c {on = 1} on {print} on && /;;/ {exit}' "$ZSH_COMP" |
	    grep -oE "[\"'](--[a-z][a-z-]*)\\[" | tr -d "\"'[" | grep -vx -- '--help' | sort -u)
	t_check "zsh: drsjoin $c names the options of 'drsjoin $c --help'" \
	    "$([ "$z" = "$h" ]; echo $?)" "zsh: $(echo $z) want: $(echo $h)"
done
t_check "bash: the command is found after global options with values" \
    "$([ "$(comp drsjoin --state-dir /x -v --tcti swtpm: keygen --k)" = "--key-store" ]; echo $?)"
t_check "bash: --key-store values" \
    "$([ "$(comp drsjoin join --key-store '' | tr '\n' ' ')" = "auto software tpm " ] &&
       [ "$(comp drsjoin keygen --key-store t)" = tpm ]; echo $?)"
t_check "bash: --join-type values" "$([ "$(comp drsjoin join --join-type r)" = register ]; echo $?)"
t_check "bash: --token-file completes file names" \
    "$([ "$(comp drsjoin join --token-file to | tr '\n' ' ')" = "tok2.jwt token.jwt " ]; echo $?)"
t_check "bash: --in and --cacert complete file names" \
    "$([ "$(comp drsjoin csr --in ca)" = ca.pem ] && [ "$(comp drsjoin --cacert c)" = ca.pem ]; echo $?)"
t_check "bash: --state-dir completes directories only" \
    "$([ "$(comp drsjoin --state-dir s)" = sub ] && [ -z "$(comp drsjoin --state-dir t)" ]; echo $?)"
t_check "bash: free-text values get no offer" \
    "$([ -z "$(comp drsjoin discover --tenant '')" ] && [ -z "$(comp drsjoin --timeout '')" ]; echo $?)"
t_check "bash: an unknown command gets no offer" "$([ -z "$(comp drsjoin frob --)" ]; echo $?)"

# Every option whose value the man page names as FILE completes file names,
# DIR directories, and a|b|c (lower-case words) exactly those words; other
# values (URL, ID, SPEC...) are never offered options. Read from the man page, so a new option is covered.
MAN=$DRSJOIN_TOP/drsjoin.8
man_args() {	# SECTION-AWK-FILTER -> "option argument" lines
	awk "$1" "$MAN" | sed -n 's/^\.It Fl \(-[a-z-]*\) Ar \([^ ]*\).*/-\1 \2/p'
}
check_values() {	# PREFIX-WORDS... ; reads "option argument" lines
	local opt arg got want bad=
	while read -r opt arg; do
		case $arg in
		FILE | 'FILE|-') got=$(comp "$@" "$opt" to | tr '\n' ' '); want="tok2.jwt token.jwt " ;;
		DIR) got=$(comp "$@" "$opt" s); want=sub ;;
		*)
			if [[ $arg =~ ^[a-z]+(\|[a-z]+)+$ ]]; then
				got=$(comp "$@" "$opt" '' | tr '\n' ' ')
				want="$(tr '|' '\n' <<<"$arg" | sort | tr '\n' ' ')"
			else
				got=$(comp "$@" "$opt" '' | grep -- '^-'); want=
			fi ;;
		esac
		[ "$got" = "$want" ] || bad="$bad $opt($arg: '$got')"
	done
	echo "$bad"
}
bad=$(man_args '/^\.Sh /{on = ($0 == ".Sh GLOBAL OPTIONS")} on' | check_values drsjoin)
t_check "bash: each global option's value completes as the man page names it" \
    "$([ -z "$bad" ]; echo $?)" "wrong:$bad"
for c in $cmds; do
	bad=$(man_args "/^\\.Sh /{cmds = (\$0 == \".Sh COMMANDS\")} /^\\.Ss /{on = cmds && (\$0 == \".Ss $c\"); next} on" |
	    check_values drsjoin "$c")
	t_check "bash: each 'drsjoin $c' option's value completes as the man page names it" \
	    "$([ -z "$bad" ]; echo $?)" "wrong:$bad"
done

if command -v zsh >/dev/null; then
	out=$(zsh -n "$ZSH_COMP" 2>&1)
	t_check "zsh: the script parses (zsh -n)" "$([ -z "$out" ]; echo $?)" "$out"
	out=$(zsh -f -c 'fpath=("$1" $fpath); autoload -U compinit && compinit -u -D &&
	    autoload -U _drsjoin && print -r -- ${_comps[drsjoin]:-none}' zsh \
	    "$(dirname "$ZSH_COMP")" 2>&1)
	t_check "zsh: compinit binds _drsjoin to drsjoin (#compdef)" "$([ "$out" = _drsjoin ]; echo $?)" "$out"
	zg=$(sed -n '/_arguments -C/,/1:command/p' "$ZSH_COMP" | grep -oE -- "--?[a-zA-Z][a-z-]*" |
	    grep -vxE -- '-h|--help|-C' | sort -u)
	t_check "zsh: the global options of --help" "$([ "$zg" = "$global_help" ]; echo $?)" \
	    "zsh: $(echo $zg)"
else
	t_skip "zsh completion" "zsh is not installed (scripts/install-deps.sh installs it)"
fi
t_done
