#!/usr/bin/env bash
# The README's CI recipe (the block after <!-- ci-recipe -->), run as it is
# written: join at the start, leave at the end, whether the job passes or
# fails; the tenant keeps no device behind.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
recipe=$T_WORK/job.sh
awk '/<!-- ci-recipe -->/ { on = 1; next } on && /^```sh/ { inb = 1; next }
     inb && /^```/ { exit } inb { print }' "$DRSJOIN_TOP/README.md" >"$recipe"
t_check "the README has the recipe, with its trap" \
    "$(grep -q "^trap 'drsjoin -q leave --if-joined' EXIT" "$recipe" && grep -q '^drsjoin -q join$' "$recipe"; echo $?)"

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
    "$(grep -q "^trap 'drsjoin -q leave --if-joined' EXIT" "$manjob" && grep -q 'drsjoin -q join$' "$manjob"; echo $?)" \
    "$(head -c 300 "$manjob")"

for what in readme man; do
for status in 0 3; do
	job=$recipe
	[ "$what" = man ] && job=$manjob
	before=$(emu_device_count)
	deletes=$(req_count delete)
	rm -f "$T_WORK/seen"
	rc=0
	(cd "$T_WORK/job" && env PATH="$T_WORK/bin:$PATH" DRSJOIN_TOKEN="$(emu_token)" \
	    CI_DRS_TOKEN="$(emu_token)" \
	    DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
	    JOB_SEEN="$T_WORK/seen" JOB_STATUS=$status bash -e "$job" >"$OUT" 2>"$ERR") || rc=$?
	t_check "$what recipe, job exiting $status: the script exits $status, the job ran joined" \
	    "$([ "$rc" -eq "$status" ] && [ "$(jget "$T_WORK/seen" 'd["joined"]')" = True ]; echo $?)" \
	    "script exit $rc; $(head -c 300 "$ERR")"
	t_check "$what recipe, job exiting $status: the device left the tenant, nothing local is left" \
	    "$([ "$(emu_device_count)" -eq "$before" ] && [ "$(req_count delete)" -gt "$deletes" ] &&
	       [ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/identity")" ]; echo $?)"
	t_check "$what recipe, job exiting $status: -q join and leave print nothing; stdout is status's alone" \
	    "$([ ! -s "$ERR" ] && [ "$(jget "$OUT" 'd["joined"]')" = True ]; echo $?)" \
	    "$(head -c 300 "$ERR")"
done

# The join fails (an expired token): the script exits with the join's code,
# and the log ends with the join's error, not with the trap's "not joined".
before=$(emu_device_count)
rm -f "$T_WORK/seen"
rc=0
(cd "$T_WORK/job" && env PATH="$T_WORK/bin:$PATH" DRSJOIN_TOKEN="$(emu_token --expired)" \
    CI_DRS_TOKEN="$(emu_token --expired)" \
    DRSJOIN_DISCOVERY_URL="$EMU_URL" DRSJOIN_STATE_DIR="$STATE" SSL_CERT_FILE="$EMU_CA" \
    JOB_SEEN="$T_WORK/seen" JOB_STATUS=0 bash -e "$job" >"$OUT" 2>"$ERR") || rc=$?
t_check "$what recipe, the join fails: the script exits 3, the join's, and the job never ran" \
    "$([ "$rc" -eq 3 ] && [ ! -e "$T_WORK/seen" ]; echo $?)" "script exit $rc"
t_check "$what recipe, the join fails: its error is the log's one and last line; the trap adds none" \
    "$([ "$(wc -l <"$ERR")" -eq 1 ] && tail -n 1 "$ERR" | grep -q '^drsjoin: token: expired' &&
       ! grep -q 'not joined' "$ERR" && [ ! -s "$OUT" ] && [ "$(emu_device_count)" -eq "$before" ]; echo $?)" \
    "$(head -c 300 "$ERR")"
done

t_done
