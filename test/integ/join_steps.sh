#!/usr/bin/env bash
# Every failure after a 2xx join answer commits, rolls back or names the
# device (issue 23, item 1). Each step after the answer (join_steps[] in
# drs/join_post.c, listed from there) is made to fail in turn
# (DRSJOIN_TEST_FAIL_AT), fresh and with --force over a stored identity;
# after each the emulator's devices are what the state dir holds or what
# the one error line names. Then the reproductions: a certificate for
# another key (--wrong-key-cert), swtpm killed while the POST is on its
# way, a service that reuses the stored identity's device id (items 3 and
# 13) with a commit that fails and one that succeeds, a signal during a
# POST the service refused (item 13), SIGQUIT held, SIGPIPE ignored (item 4).
. "$(dirname "$0")/../lib-integ.sh"

t_with_mounts

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)

# The devices of the emulator, one id a line, sorted.
devices() {
	emu_ctl devices | $PY -c 'import json,sys
d=json.load(sys.stdin); d=d["devices"] if isinstance(d,dict) else d
print("\n".join(sorted(x["device_id"].lower() for x in d)))'
}

# Every device the emulator holds now and did not before ($1: a file of
# the ids before) is the state dir's, or named on stderr in a line that
# does not say it was deleted, or (no id known) was made by the request
# whose client-request-id stderr names; prints what is not.
unnamed_devices() {
	local id rec="" crid mine
	[ -f "$STATE/device.json" ] && rec=$(jget "$STATE/device.json" 'd["device_id"].lower()')
	crid=$(jget "$(last_request join)" 'd["headers"]["client-request-id"]')
	mine=$(jget "$T_WORK/last.json" 'd.get("device_id", "").lower()')
	devices | comm -13 "$1" - | while read -r id; do
		[ "$id" = "$rec" ] && continue
		grep -iF "$id" "$ERR" | grep -qv 'was deleted' && continue
		[ "$id" = "$mine" ] && grep -qF "client-request-id $crid)" "$ERR" &&
		    grep -q 'may have been created' "$ERR" && continue
		echo "$id"
	done
}

# join in the background, stopped at the fault points $1; sets PID. SIGINT
# and SIGQUIT get their default back (a background job starts with them
# ignored, and drsjoin keeps an ignored signal ignored).
join_bg() {
	local at=$1
	shift
	env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" \
	    SSL_CERT_FILE="$EMU_CA" DRSJOIN_TEST_STOP_AT="$at" \
	    $PY -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGQUIT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$DRSJOIN" "$@" >"$OUT" 2>"$ERR" &
	PID=$!
}

# 1. Each step after the answer fails in turn.
steps=$(sed -n '/^} join_steps\[\] = {/,/^};/p' "$DRSJOIN_TOP/drs/join_post.c" |
    sed -n 's/^[[:space:]]*{ "\([a-z-]*\)", step_[a-z_]* },$/\1/p')
t_check "the steps after the answer are listed from drs/join_post.c" \
    "$([ "$(echo "$steps" | wc -l)" -ge 6 ] && echo "$steps" | grep -qx join-answer &&
       echo "$steps" | grep -qx join-commit; echo $?)" "found: $(echo $steps)"
STATE=$T_WORK/good
t_run -- join --token-file "$TOK" --key-store software
good_id=$(jget "$STATE/device.json" 'd["device_id"]')
t_check "a first identity to --force over" "$([ "$RC" -eq 0 ] && [ -n "$good_id" ]; echo $?)" \
    "exit $RC: $(head -c 300 "$ERR")"
for step in $steps; do
	for mode in fresh force; do
		STATE=$T_WORK/step-$step-$mode
		extra=()
		if [ "$mode" = force ]; then
			cp -a "$T_WORK/good" "$STATE"
			extra=(--force --keep-old-device)
		fi
		devices >"$T_WORK/before"
		t_run --env "DRSJOIN_TEST_FAIL_AT=$step" -- join --token-file "$TOK" \
		    --key-store software ${extra[@]+"${extra[@]}"}
		t_expect "$step fails ($mode): exit 1, the step named" 1 \
		    "join: the step $step failed (DRSJOIN_TEST_FAIL_AT)"
		t_check "$step fails ($mode): every new device is stored, deleted or named" \
		    "$(u=$(unnamed_devices "$T_WORK/before"); [ -z "$u" ]; echo $?)" \
		    "$(head -c 600 "$ERR")"
		crid=$(jget "$(last_request join)" 'd["headers"]["client-request-id"]')
		t_check "$step fails ($mode): the line names the tenant and the client-request-id, or the device deleted" \
		    "$( (grep -qF "tenant $EMU_TENANT_ID" "$ERR" && grep -qF "$crid" "$ERR") ||
		       grep -q "was deleted from tenant $EMU_TENANT_ID again: nothing is joined" "$ERR"; echo $?)" \
		    "$(head -c 600 "$ERR")"
		case $step in join-answer|join-cert) ;; *)
			# The certificate is parsed and for our key: deleted, none left.
			t_check "$step fails ($mode): the device is deleted again" \
			    "$(grep -q 'again: nothing is joined' "$ERR" &&
			       [ "$(devices)" = "$(cat "$T_WORK/before")" ]; echo $?)" "$(head -c 600 "$ERR")"
		esac
		if [ "$mode" = fresh ]; then
			t_check "$step fails (fresh): nothing stored, status says not joined" \
			    "$([ ! -e "$STATE/device.json" ] && t_run -- status; [ "$RC" -eq 8 ]; echo $?)"
		else
			t_check "$step fails (force): the old identity stays, healthy" \
			    "$(cmp -s "$T_WORK/good/device.json" "$STATE/device.json" &&
			       t_run -- status && [ "$RC" -eq 0 ]; echo $?)"
		fi
	done
done

# 2. A certificate for another key: it cannot authenticate a deletion; named.
STATE=$T_WORK/wrong-key
devices >"$T_WORK/before"
emu_fault --route join --wrong-key-cert
t_run -- join --token-file "$TOK" --key-store software
t_expect "--wrong-key-cert: exit 4" 4 "the certificate's public key is not the device key"
dev=$(jget "$(last_request join)" 'd.get("device_id", "")')
t_check "--wrong-key-cert: the line names the device, tenant and client-request-id" \
    "$([ -n "$dev" ] && grep -qiF "device $dev (tenant $EMU_TENANT_ID, client-request-id" "$ERR" &&
       grep -q "not for this machine's device key" "$ERR" &&
       u=$(unnamed_devices "$T_WORK/before") && [ -z "$u" ] && [ ! -e "$STATE/device.json" ]; echo $?)" \
    "$(head -c 600 "$ERR")"
emu_fault clear

# 3. swtpm killed while the POST is on its way (TPM join): the key was
# loaded before it; the device is stored, deleted or named, never lost.
if why=$(swtpm_available); then
	swtpm_start >/dev/null || t_fail "swtpm starts" "swtpm_start failed"
	STATE=$T_WORK/tpm-killed
	devices >"$T_WORK/before"
	emu_fault --route join --delay 2
	DRSJOIN_TCTI=$SWTPM_TCTI join_bg join-post join --token-file "$TOK" --key-store tpm
	if wait_stopped "$PID"; then
		kill -CONT "$PID"
		wait_polling "$PID" || true
		swtpm_stop
		RC=0; wait "$PID" || RC=$?
		t_check "swtpm killed during the POST: joined, or an error naming the device" \
		    "$( ([ "$RC" -eq 0 ] && [ -f "$STATE/device.json" ]) ||
		       ([ "$RC" -ne 0 ] && [ "$(errors)" -eq 1 ] && grep -q 'device [0-9a-f-]\{36\}' "$ERR"); echo $?)" \
		    "exit $RC: $(head -c 600 "$ERR")"
		t_check "swtpm killed during the POST: no device the state dir or the line does not know" \
		    "$(u=$(unnamed_devices "$T_WORK/before"); [ -z "$u" ]; echo $?)" "$(head -c 600 "$ERR")"
	else
		kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
		t_fail "swtpm killed during the POST" "drsjoin never stopped at join-post"
		swtpm_stop
	fi
	emu_fault clear
else
	t_skip "swtpm killed during the POST" "$why"
fi

# 4. The service reuses the stored identity's device id (ReuseDevice).
emu_ctl config --reuse-device >/dev/null
STATE=$T_WORK/reuse
mkdir -p "$STATE"
if mount -t tmpfs -o size=256k,mode=0700 tmpfs "$STATE" 2>"$T_WORK/mount.err"; then
	MOUNTS+=("$STATE")
	t_run -- join --token-file "$TOK" --key-store software --display-name reuse-host
	x=$(jget "$STATE/device.json" 'd["device_id"]')
	cp "$STATE/device.json" "$T_WORK/reuse-before.json"
	# Room for the new key set (two keys and machine.json), not for its commit.
	used=$(df --output=used -k "$STATE" | tail -n 1 | tr -d ' ')
	mount -o remount,size=$((used + 12))k "$STATE"
	dels=$(req_count delete)
	t_run -- join --token-file "$TOK" --key-store software --display-name reuse-host --force
	t_expect "reused id, the --force commit fails (a full state dir): exit 7, the device kept" 7 \
	    "device $x is the identity still stored here (the service gave the new join its id): kept, not deleted"
	t_check "reused id, failed commit: no DELETE, X still in the tenant, status healthy with X" \
	    "$([ -n "$x" ] && [ "$(req_count delete)" -eq "$dels" ] && devices | grep -qx "$x" &&
	       cmp -s "$T_WORK/reuse-before.json" "$STATE/device.json" &&
	       t_run -- status && [ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["device_id"]')" = "$x" ]; echo $?)" \
	    "$(head -c 600 "$ERR")"
else
	t_skip "reused id, a failed commit" "cannot mount a tmpfs: $(head -c 200 "$T_WORK/mount.err")"
fi
STATE=$T_WORK/reuse-ok
t_run -- join --token-file "$TOK" --key-store software --display-name reuse-ok
x=$(jget "$STATE/device.json" 'd["device_id"]')
dels=$(req_count delete)
t_run -- join --token-file "$TOK" --key-store software --display-name reuse-ok --force
t_expect "reused id, --force commits: exit 0" 0 "the service kept device $x for the new identity; nothing to delete"
t_check "reused id, --force commits: no DELETE, X in the tenant, status healthy with X's new certificate" \
    "$([ "$(req_count delete)" -eq "$dels" ] && devices | grep -qx "$x" &&
       [ "$(jget "$STATE/device.json" 'd["device_id"]')" = "$x" ] &&
       t_run -- status && [ "$RC" -eq 0 ]; echo $?)" "$(head -c 600 "$ERR")"
emu_ctl config --no-reuse-device >/dev/null

# 5. A signal during a join POST the service refused (the nonce fallback):
# obeyed, no second POST, nothing created.
emu_ctl config --refuse-nonce >/dev/null
STATE=$T_WORK/refused-sig
devices >"$T_WORK/before"
joins=$(req_count join)
emu_fault --route join --delay 2
join_bg join-post join --token-file "$TOK" --key-store software
if wait_stopped "$PID"; then
	kill -CONT "$PID"
	# Once the POST is out (the emulator took its delay fault): before its
	# first byte a signal is not held, and stops the join (stop.sh).
	wait_fault_taken join || true
	wait_polling "$PID" || true
	kill -TERM "$PID"
	# A second POST would stop at join-post again: that is the failure.
	for i in $(seq 600); do
		kill -0 "$PID" 2>/dev/null || break
		[ "$(awk '{print $3}' "/proc/$PID/stat" 2>/dev/null)" = T ] && break
		sleep 0.1
	done
	if [ "$(awk '{print $3}' "/proc/$PID/stat" 2>/dev/null)" = T ]; then
		kill -KILL "$PID" 2>/dev/null
		echo "(stopped at join-post again: a second POST)" >>"$ERR"
	fi
	RC=0; wait "$PID" || RC=$?
	t_expect "SIGTERM during a refused POST: exit 143" 143 \
	    "join: interrupted (SIGTERM) during the join request, which the service refused"
	t_check "SIGTERM during a refused POST: one POST, no device, nothing stored" \
	    "$(grep -q 'no device was created' "$ERR" && [ "$(req_count join)" -eq $((joins + 1)) ] &&
	       [ "$(devices)" = "$(cat "$T_WORK/before")" ] && [ ! -e "$STATE/device.json" ]; echo $?)" \
	    "$(head -c 400 "$ERR")"
else
	kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
	t_fail "SIGTERM during a refused POST" "drsjoin never stopped at join-post"
fi
emu_fault clear
emu_ctl config --no-refuse-nonce >/dev/null

# 6. SIGQUIT is held like SIGTERM: the commit finishes, exit 131.
STATE=$T_WORK/sig-quit
join_bg join-commit join --token-file "$TOK" --key-store software
if wait_stopped "$PID"; then
	kill -QUIT "$PID"
	kill -CONT "$PID"
	RC=0; wait "$PID" || RC=$?
	t_expect "SIGQUIT during the commit: exit 131, joined and kept" 131 \
	    "join: interrupted (SIGQUIT) during the join: device"
	t_check "SIGQUIT: status shows the device" "$(t_run -- status; [ "$RC" -eq 0 ]; echo $?)"
else
	kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
	t_fail "SIGQUIT during the commit" "drsjoin never stopped at join-commit"
fi

# 7. stdout and stderr a pipe nobody reads (drsjoin -v join 2>&1 | head -1,
# head gone): SIGPIPE kills nothing; the join is committed.
STATE=$T_WORK/pipe
devices >"$T_WORK/before"
RC=$(env DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
    $PY -c 'import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=w, stderr=w,
                   restore_signals=True)
print(p.returncode)' "$DRSJOIN" -v join --token-file "$TOK" --key-store software)
t_check "a closed pipe on stdout and stderr: not killed by SIGPIPE, joined" \
    "$([ "$RC" != -13 ] && [ -f "$STATE/device.json" ] &&
       u=$(unnamed_devices "$T_WORK/before") && [ -z "$u" ] &&
       [ "$(devices | wc -l)" -eq $(($(wc -l <"$T_WORK/before") + 1)) ]; echo $?)" "exit $RC"
t_check "a closed pipe: the failed write to stdout is the exit code (7), the identity kept" \
    "$([ "$RC" = 7 ] && t_run -- status && [ "$RC" -eq 0 ]; echo $?)" "exit $RC"

t_done
