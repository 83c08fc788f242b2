#!/usr/bin/env bash
# The README's CI recipe (the block after <!-- ci-recipe -->), run as it is
# written, with dash and bash, with and without set -e: join at the start,
# leave at the end, whether the job passes or fails; the tenant keeps no
# device behind; a failed join fails the job.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
recipe=$T_WORK/job.sh
awk '/<!-- ci-recipe -->/ { on = 1; next } on && /^```sh/ { inb = 1; next }
     inb && /^```/ { exit } inb { print }' "$DRSJOIN_TOP/README.md" >"$recipe"
t_check "the README has the recipe, with its trap" \
    "$(grep -q "^trap 'drsjoin -q leave --if-joined' EXIT" "$recipe" && grep -q '^drsjoin -q join\b' "$recipe"; echo $?)"

mkdir -p "$T_WORK/bin" "$T_WORK/job/ci"
ln -s "$DRSJOIN" "$T_WORK/bin/drsjoin"
# The job: records that it ran while joined, then exits with $JOB_STATUS.
cat >"$T_WORK/job/ci/run-tests" <<'JOB'
#!/bin/sh
drsjoin status >"$JOB_SEEN" || exit 99
exit "${JOB_STATUS:-0}"
JOB
chmod +x "$T_WORK/job/ci/run-tests"

# The man page's CI example, run as written too (roff escapes undone).
manjob=$T_WORK/manjob.sh
awk '/^A CI job/ { on = 1; next } on && /^\.Bd/ { inb = 1; next }
     inb && /^\.Ed/ { exit } inb { gsub(/\\&/, ""); gsub(/\\e/, "\\"); print }' \
    "$DRSJOIN_TOP/drsjoin.8" >"$manjob"
t_check "the man page's CI example leaves in an EXIT trap" \
    "$(grep -q "^trap 'drsjoin -q leave --if-joined' EXIT" "$manjob" && grep -q 'drsjoin -q join\b' "$manjob"; echo $?)" \
    "$(head -c 300 "$manjob")"

# Every shell a CI system may run the job with: dash (sh job.sh) and bash,
# with and without set -e. The failed join is tried in every shell (for the
# man page's text in two).
command -v dash >/dev/null || { t_fail "dash" "not installed (Debian's /bin/sh)"; exit 1; }
# One token of each kind for every run (minting one costs a Python start).
TOK=$(emu_token) TOK_EXPIRED=$(emu_token --expired)
run_job() {	# JOB SHELL TOKEN STATUS: runs JOB in SHELL; sets rc
	local job=$1 sh=$2 tok=$3 status=$4
	rm -f "$T_WORK/seen"
	rc=0
	# shellcheck disable=SC2086 # the shell and its option are two words
	(cd "$T_WORK/job" && env PATH="$T_WORK/bin:$PATH" DRSJOIN_TOKEN="$tok" \
	    CI_DRS_TOKEN="$tok" \
	    DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
	    JOB_SEEN="$T_WORK/seen" JOB_STATUS=$status $sh "$job" >"$OUT" 2>"$ERR") || rc=$?
}
for what in readme man; do
job=$recipe
[ "$what" = man ] && job=$manjob
# A join costs two RSA key generations: each shell joins once, between the
# two texts, once with a job that passes and once with one that fails.
if [ "$what" = readme ]; then
	runs=("dash 0" "bash -e 3")
else
	runs=("dash -e 3" "bash 0")
fi
for r in "${runs[@]}"; do
	status=${r##* } sh=${r% *}
	before=$(emu_device_count)
	deletes=$(req_count delete)
	run_job "$job" "$sh" "$TOK" "$status"
	t_check "$what recipe under $sh, job exiting $status: the script exits $status, the job ran joined" \
	    "$([ "$rc" -eq "$status" ] && [ "$(jget "$T_WORK/seen" 'd["joined"]')" = True ]; echo $?)" \
	    "script exit $rc; $(head -c 300 "$ERR")"
	t_check "$what recipe under $sh, job exiting $status: the device left the tenant, nothing local is left" \
	    "$([ "$(emu_device_count)" -eq "$before" ] && [ "$(req_count delete)" -gt "$deletes" ] &&
	       [ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/identity")" ]; echo $?)"
	t_check "$what recipe under $sh, job exiting $status: -q join and leave print nothing; stdout is status's alone" \
	    "$([ ! -s "$ERR" ] && [ "$(jget "$OUT" 'd["joined"]')" = True ]; echo $?)" \
	    "$(head -c 300 "$ERR")"
done

# The join fails (an expired token): the script exits with the join's code,
# the job never runs, and the log ends with the join's error, not with the
# trap's "not joined": in every shell, with set -e or without (where a
# join without "|| exit" goes on to a job that passes unjoined).
shells=(dash "dash -e" bash "bash -e")
[ "$what" = man ] && shells=(dash "bash -e")
for sh in "${shells[@]}"; do
	before=$(emu_device_count)
	run_job "$job" "$sh" "$TOK_EXPIRED" 0
	t_check "$what recipe under $sh, the join fails: the script exits 3, the join's, and the job never ran" \
	    "$([ "$rc" -eq 3 ] && [ ! -e "$T_WORK/seen" ]; echo $?)" "script exit $rc; stdout: $(head -c 200 "$OUT")"
	t_check "$what recipe under $sh, the join fails: its error is the log's one and last line; the trap adds none" \
	    "$([ "$(wc -l <"$ERR")" -eq 1 ] && tail -n 1 "$ERR" | grep -q '^drsjoin: token: expired' &&
	       ! grep -q 'not joined' "$ERR" && [ ! -s "$OUT" ] && [ "$(emu_device_count)" -eq "$before" ]; echo $?)" \
	    "$(head -c 300 "$ERR")"
done
done

# docs/tokens.md's BPRT job (the block after <!-- ci-bprt -->), as printed:
# joins and prints the status in either shell; a refused BPRT fails it
# with the join's code (5) and no status.
bjob=$T_WORK/bprt-job.sh
awk '/<!-- ci-bprt -->/ { on = 1; next } on && /^```sh/ { inb = 1; next }
     inb && /^```/ { exit } inb { print }' "$DRSJOIN_TOP/docs/tokens.md" >"$bjob"
emu_token --bprt >"$T_WORK/bprt" && chmod 600 "$T_WORK/bprt"
for r in "dash 0" "bash -e 5"; do
	want=${r##* } sh=${r% *}
	[ "$want" -eq 5 ] && emu_fault --route token --oauth-error invalid_grant
	rc=0
	# shellcheck disable=SC2086 # the shell and its option are two words
	(cd "$T_WORK/job" && env PATH="$T_WORK/bin:$PATH" BPRT_FILE="$T_WORK/bprt" \
	    DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
	    $sh "$bjob" >"$OUT" 2>"$ERR") || rc=$?
	emu_fault clear
	if [ "$want" -eq 0 ]; then
		t_check "BPRT job under $sh: joins, prints the join's document and the status, exits 0" \
		    "$([ "$rc" -eq 0 ] && [ -f "$STATE/device.json" ] &&
		       $PY -c 'import json,sys
t = open(sys.argv[1]).read(); d = json.JSONDecoder(); i, docs = 0, []
while t[i:].strip():
    o, i = d.raw_decode(t, i + len(t[i:]) - len(t[i:].lstrip())); docs.append(o)
sys.exit(not (len(docs) == 2 and docs[-1]["joined"] is True))' "$OUT"; echo $?)" \
		    "script exit $rc; $(head -c 300 "$ERR")"
		t_run -- -q leave
	else
		t_check "BPRT job under $sh, the BPRT refused: the job fails with the join's exit 5, no status" \
		    "$([ "$rc" -eq 5 ] && [ ! -s "$OUT" ] && [ ! -e "$STATE/device.json" ] &&
		       grep -q '^drsjoin: .*invalid_grant' "$ERR"; echo $?)" "script exit $rc; $(head -c 300 "$ERR")"
	fi
done

# The README's PRT recipe (after <!-- prt-recipe -->), as printed: join, the
# service account's PRT from DRSJOIN_REFRESH_TOKEN, an API call with
# "token --raw" (curl is a stand-in that keeps the header it was given),
# leave at the end, which forgets the PRT; a refused refresh token fails the
# job with prt's code (5), the device left all the same.
pjob=$T_WORK/prt-job.sh
awk '/<!-- prt-recipe -->/ { on = 1; next } on && /^```sh/ { inb = 1; next }
     inb && /^```/ { exit } inb { print }' "$DRSJOIN_TOP/README.md" >"$pjob"
t_check "the README has the PRT recipe: join, prt, token --raw, leave in the trap" \
    "$(grep -q "^trap 'drsjoin -q leave --if-joined' EXIT" "$pjob" && grep -q 'drsjoin -q prt' "$pjob" &&
       grep -q 'drsjoin token --raw' "$pjob"; echo $?)"
cat >"$T_WORK/bin/curl" <<'CURL'
#!/bin/sh
while [ $# -gt 0 ]; do
	[ "$1" = -H ] && printf '%s\n' "$2" >"$CURL_SEEN"
	shift
done
echo '{"ok": true}'
CURL
chmod +x "$T_WORK/bin/curl"
RT=$(emu_ctl refresh-token)
for r in "dash 0" "bash -e 5"; do
	want=${r##* } sh=${r% *}
	rt=$RT
	[ "$want" -eq 5 ] && rt=not-a-refresh-token
	before=$(emu_device_count)
	rm -f "$T_WORK/curl-seen"
	rc=0
	# shellcheck disable=SC2086 # the shell and its option are two words
	(cd "$T_WORK/job" && env PATH="$T_WORK/bin:$PATH" DRSJOIN_TOKEN="$TOK" SVC_REFRESH_TOKEN="$rt" \
	    CURL_SEEN="$T_WORK/curl-seen" \
	    DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
	    $sh "$pjob" >"$OUT" 2>"$ERR") || rc=$?
	if [ "$want" -eq 0 ]; then
		t_check "PRT recipe under $sh: the API call got a bearer token carrying the device id, exit 0" \
		    "$([ "$rc" -eq 0 ] && [ ! -s "$ERR" ] && grep -q '"ok": true' "$OUT" &&
		       $PY -c 'import base64,json,sys
h = open(sys.argv[1]).read().strip()
assert h.startswith("Authorization: Bearer ")
p = h.split()[2].split(".")[1]
sys.exit(not json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))).get("deviceid"))' "$T_WORK/curl-seen"; echo $?)" \
		    "script exit $rc; $(head -c 300 "$ERR")"
	else
		t_check "PRT recipe under $sh, the refresh token refused: exit 5, no API call" \
		    "$([ "$rc" -eq 5 ] && [ ! -e "$T_WORK/curl-seen" ] && grep -q '^drsjoin: prt: .*refused' "$ERR"; echo $?)" \
		    "script exit $rc; $(head -c 300 "$ERR")"
	fi
	t_check "PRT recipe under $sh: the device left, no PRT or token kept" \
	    "$([ "$(emu_device_count)" -eq "$before" ] && [ ! -e "$STATE/device.json" ] &&
	       [ ! -e "$STATE/prt" ] && [ ! -e "$STATE/tokens" ]; echo $?)"
done

t_done
