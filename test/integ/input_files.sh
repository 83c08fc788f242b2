#!/usr/bin/env bash
# Files drsjoin reads from a path (token files, --in, CA bundles) never
# hang and are never a device: a named FIFO without a writer, /dev/zero and
# a directory are refused at once (exit 3, naming the file); a pipe the
# shell hands over (<(cmd), /dev/stdin) is read to its end, within the
# file's size limit. Replays: --token-file on a FIFO hung forever, and
# --token-file <(cat tok) was refused as a symbolic link.
# The sandbox is on for every run (checked once below).
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }

# Every run is bounded: a hang shows as timeout's 124, never as drsjoin's 3.
REAL=$DRSJOIN
DRSJOIN=$T_WORK/drsjoin-bounded
printf '#!/bin/sh\nexec timeout -k 5 20 "%s" "$@"\n' "$REAL" >"$DRSJOIN"
chmod +x "$DRSJOIN"

secret_file() {	# NAME CONTENT: a 0600 file
	printf '%s\n' "$2" >"$T_WORK/$1"
	chmod 600 "$T_WORK/$1"
	echo "$T_WORK/$1"
}
fresh() { STATE=$T_WORK/state-$1; }
nothing_written() { [ ! -s "$OUT" ] && [ -z "$(state_files)" ]; }

TOK=$(token_file)
BPRT_FILE=$(secret_file bprt "$(emu_token --bprt)")
RT_FILE=$(secret_file rt "$(emu_ctl refresh-token)")
FIFO=$T_WORK/fifo
mkfifo -m 600 "$FIFO"
mkdir -m 700 "$T_WORK/dir"
BIG=$T_WORK/big
head -c 9000000 /dev/zero | tr '\0' A >"$BIG"

# The command line that reads FILE through OPTION (or the variable).
cmd_for() {	# OPTION FILE
	case $1 in
	--token-file) echo "join --key-store software --token-file $2" ;;
	--bprt-file | --refresh-token-file)
		echo "join --key-store software --tenant $EMU_TENANT_DOMAIN $1 $2" ;;
	--in) echo "keygen --key-store software --in $2" ;;
	--cacert) echo "--new --cacert $2 discover --tenant $EMU_TENANT_DOMAIN" ;;
	SSL_CERT_FILE) echo "--new discover --tenant $EMU_TENANT_DOMAIN" ;;
	esac
}
# Runs OPTION with FILE; stdin from IN (default /dev/null).
run_with() {	# OPTION FILE [IN]
	local opt=$1 file=$2 in=${3:-/dev/null}
	# shellcheck disable=SC2046
	if [ "$opt" = SSL_CERT_FILE ]; then
		t_run --in "$in" --env "SSL_CERT_FILE=$file" -- $(cmd_for "$opt" "$file")
	elif [ "$opt" = --cacert ]; then
		t_run --in "$in" --env SSL_CERT_FILE=/nonexistent -- $(cmd_for "$opt" "$file")
	else
		t_run --in "$in" -- $(cmd_for "$opt" "$file")
	fi
}
# The label drsjoin puts before the file name in its error.
label() {
	case $1 in
	--cacert) echo "--cacert $2" ;;
	SSL_CERT_FILE) echo "SSL_CERT_FILE $2" ;;
	*) echo "$2" ;;
	esac
}
# What a pipe of each option carries when it works.
good_content() {
	case $1 in
	--token-file) cat "$TOK" ;;
	--bprt-file) cat "$BPRT_FILE" ;;
	--refresh-token-file) emu_ctl refresh-token ;;
	--in) printf '{"schema":"drsjoin/1"}\n' ;;
	--cacert | SSL_CERT_FILE) cat "$EMU_CA" ;;
	esac
}
ok_message() {
	case $1 in
	--token-file | --bprt-file | --refresh-token-file) echo "joined: device" ;;
	*) echo "" ;;
	esac
}
# Over each option's size limit, as a pipe.
oversized() {
	case $1 in
	--token-file | --bprt-file | --refresh-token-file) echo "larger than 65536 bytes" ;;
	--in) echo "larger than 1048576 bytes" ;;
	--cacert | SSL_CERT_FILE) echo "larger than 8388608 bytes" ;;
	esac
}

for opt in --token-file --bprt-file --refresh-token-file --in --cacert SSL_CERT_FILE; do
	fresh "$opt-fifo"
	start=$(date +%s)
	run_with "$opt" "$FIFO"
	t_expect "$opt: a named FIFO with no writer is refused at once, exit 3" 3 \
	    "$(label "$opt" "$FIFO"): is a named pipe (FIFO), refused"
	t_check "$opt FIFO: no hang (exit $RC, $(($(date +%s) - start)) s), nothing written" \
	    "$([ "$RC" -ne 124 ] && [ "$RC" -ne 137 ] && nothing_written; echo $?)"

	fresh "$opt-zero"
	run_with "$opt" /dev/zero
	t_expect "$opt /dev/zero: refused, exit 3" 3 \
	    "$(label "$opt" /dev/zero): is a character device, refused"

	fresh "$opt-dir"
	run_with "$opt" "$T_WORK/dir"
	t_expect "$opt a directory: refused, exit 3" 3 "$(label "$opt" "$T_WORK/dir"): is a directory"

	fresh "$opt-procsub"
	run_with "$opt" <(good_content "$opt")
	t_expect "$opt <(cat FILE): read, exit 0" 0 "$(ok_message "$opt")"

	fresh "$opt-stdin"
	run_with "$opt" /dev/stdin <(good_content "$opt")
	t_expect "$opt /dev/stdin (a pipe): read, exit 0" 0 "$(ok_message "$opt")"

	fresh "$opt-big"
	if [ "$opt" = --cacert ] || [ "$opt" = SSL_CERT_FILE ]; then
		run_with "$opt" <(cat "$BIG")
	else
		run_with "$opt" <(head -c 2000000 "$BIG")
	fi
	t_expect "$opt an oversized pipe: refused, exit 3" 3 "$(oversized "$opt")"
	t_check "$opt oversized pipe: nothing written" "$(nothing_written; echo $?)"
done

# The sandbox was on: a pipe is readable inside it.
fresh sandbox
t_run -- -v keygen --key-store software --in <(good_content --in)
t_check "under the Landlock sandbox, --in <(cmd) is read" \
    "$([ "$RC" -eq 0 ] && grep -q 'sandbox: Landlock ABI' "$ERR"; echo $?)" \
    "exit $RC; $(grep sandbox "$ERR")"

# A token on stdin through /dev/stdin: the document is not read from stdin.
fresh stdin-token
t_run --in "$TOK" -- join --key-store software --token-file /dev/stdin
t_expect "--token-file /dev/stdin from a file: stdin is the token, not the document" 0 "joined: device"

# A symbolic link to a token file stays refused (only descriptor paths are
# followed); a CA bundle through a link is still read (cabundle.sh).
ln -s "$TOK" "$T_WORK/tok-link"
fresh link
t_run -- join --key-store software --token-file "$T_WORK/tok-link"
t_expect "--token-file through a symbolic link: refused" 3 "$T_WORK/tok-link: is a symbolic link, refused"

# The same join reading its CA bundle through a pipe makes more than one
# connection: the pipe's bundle is kept for each of them.
fresh ca-pipe-join
t_run --env SSL_CERT_FILE=/nonexistent -- -v --cacert <(cat "$EMU_CA") join --key-store software --token-file "$TOK"
t_check "a join with --cacert <(cat CA): every connection verified, exit 0" \
    "$([ "$RC" -eq 0 ] && [ "$(grep -c 'CA bundle: [0-9]* certificates' "$ERR")" -ge 1 ]; echo $?)" "exit $RC"

t_done
