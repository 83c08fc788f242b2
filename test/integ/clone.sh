#!/usr/bin/env bash
# Cloned machines are caught (issue 23 item 6): keys made on another
# machine (keygen in an image) and an identity joined on another machine (a
# cloned image, a copied state dir) are refused or reported unhealthy, with
# the way out, never used silently; --accept-copied-keys takes copied keys
# on purpose; records and key sets of older versions stay usable. The
# machines are played with DRSJOIN_TEST_MACHINE_ID / DRSJOIN_TEST_PRODUCT_UUID.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
HINT="('drsjoin join --force' joins again and replaces it; 'drsjoin leave --local-only' removes it)"

# machine NAME MACHINE-ID UUID: the files one machine's facts are read from.
machine() {
	mkdir -p "$T_WORK/m-$1"
	printf '%s\n' "$2" >"$T_WORK/m-$1/machine-id"
	printf '%s\n' "$3" >"$T_WORK/m-$1/product_uuid"
}
on() { echo --env "DRSJOIN_TEST_MACHINE_ID=$T_WORK/m-$1/machine-id" \
    --env "DRSJOIN_TEST_PRODUCT_UUID=$T_WORK/m-$1/product_uuid"; }
machine a 0123456789abcdef0123456789abcdef 4c4c4544-0042-3510-8052-b4c04f4e4e31
machine b fedcba9876543210fedcba9876543210 9e0b2d1c-6a55-4c1e-9a8f-1f2e3d4c5b6a
# A VM cloned without generalising: a's machine-id, a new DMI UUID.
machine vm 0123456789abcdef0123456789abcdef 1b3c5d7e-0000-4000-8000-00000000abcd
# A container: no DMI UUID to read (as for a user who is not root).
machine ct 0123456789abcdef0123456789abcdef /nonexistent
rm "$T_WORK/m-ct/product_uuid"

# (status.json, the public record, says what status found)
snapshot() { (cd "$STATE" && find . -type f ! -name .lock ! -name status.json | sort | xargs sha256sum); }
deletes_of() { $PY -c 'import json,sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("route")=="delete" and sys.argv[2].lower() in json.loads(l)["path"].lower()))' "$(emu_requests)" "$1"; }
has_device() { emu_ctl devices >"$T_WORK/devices.json" && grep -qi "\"$1\"" "$T_WORK/devices.json"; }

# --- keys made by keygen on machine a ---------------------------------------
STATE=$T_WORK/image
# shellcheck disable=SC2046
t_run $(on a) -- keygen --key-store software
cp "$OUT" "$T_WORK/keys.json"
SETDIR=$(jget "$T_WORK/keys.json" 'd["keys"]["dir"]')
t_check "keygen records the machine in the key set, hashed: never the machine-id or UUID as read" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$SETDIR/machine.json" 'len(d["machine_id"]) == 32 and len(d["product_uuid"]) == 32')" = True ] &&
       ! grep -qi -e 0123456789abcdef -e 4c4c4544 -r "$STATE" "$T_WORK/keys.json"; echo $?)" \
    "exit $RC: $(cat "$SETDIR/machine.json" 2>&1)"
cp -a "$STATE" "$T_WORK/image-copy"

# Joined on machine b: refused before any request, the keys kept.
snap=$(snapshot); joins=$(req_count join); devs=$(emu_device_count)
# shellcheck disable=SC2046
t_run $(on b) -- join --in "$T_WORK/keys.json" --token-file "$TOK"
t_expect "keys made on another machine: join exits 3 naming both facts and the ways out" 3 \
    "was made on another machine (its /etc/machine-id and DMI product UUID are not this machine's): a cloned image or a copied state dir"
t_check "keys made on another machine: the line names keygen and --accept-copied-keys" \
    "$(grep -q "run 'drsjoin keygen' on this machine.*--accept-copied-keys" "$ERR"; echo $?)" "$(cat "$ERR")"
t_check "keys made on another machine: no join request, no device, the state dir unchanged" \
    "$([ "$(req_count join)" -eq "$joins" ] && [ "$(emu_device_count)" -eq "$devs" ] &&
       [ "$(snapshot)" = "$snap" ]; echo $?)"

# A VM clone keeps the machine-id: the DMI UUID alone tells it.
# shellcheck disable=SC2046
t_run $(on vm) -- join --in "$T_WORK/keys.json" --token-file "$TOK"
t_expect "a VM clone (same machine-id, new DMI UUID): join exits 3" 3 \
    "was made on another machine (its DMI product UUID is not this machine's)"
# A container (no DMI UUID readable) with the same machine-id: nothing differs.
STATE=$T_WORK/image-ct; cp -a "$T_WORK/image-copy" "$STATE"
sed "s|$T_WORK/image/|$STATE/|" "$T_WORK/keys.json" >"$T_WORK/keys-ct.json"
# shellcheck disable=SC2046
t_run $(on ct) -- join --in "$T_WORK/keys-ct.json" --token-file "$TOK"
t_expect "a fact that cannot be read here (no DMI UUID) is not compared: the machine-id matches, joined" 0

# On purpose: --accept-copied-keys joins, saying so; the record is machine b's.
STATE=$T_WORK/image
# shellcheck disable=SC2046
t_run $(on b) -- join --in "$T_WORK/keys.json" --token-file "$TOK" --accept-copied-keys
t_check "--accept-copied-keys: joined, with a note that the keys are copies" \
    "$([ "$RC" -eq 0 ] && grep -q "^drsjoin: join: key set [0-9a-f]* was made on another machine (/etc/machine-id and DMI product UUID are not this machine's): used as asked (--accept-copied-keys)" "$ERR"; echo $?)" \
    "exit $RC: $(cat "$ERR")"
# shellcheck disable=SC2046
t_run $(on b) -- status --json
t_check "--accept-copied-keys: the identity is machine b's: status healthy there" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["healthy"]')" = True ]; echo $?)" "exit $RC: $(cat "$ERR")"

# --- an identity joined on machine a, its state dir copied to machine b -----
STATE=$T_WORK/orig
# shellcheck disable=SC2046
t_run $(on a) -- join --token-file "$TOK" --key-store software
ORIG=$(jget "$STATE/device.json" 'd["device_id"]')
t_check "join records the machine in device.json, hashed" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$STATE/device.json" 'len(d["machine"]["machine_id"]) == 32 and len(d["machine"]["product_uuid"]) == 32')" = True ] &&
       ! grep -qi -e 0123456789abcdef -e 4c4c4544 "$STATE/device.json"; echo $?)" "exit $RC: $(cat "$ERR")"
cp -a "$T_WORK/orig" "$T_WORK/copy"
STATE=$T_WORK/copy
WHY="device.json: device $ORIG was joined on another machine (its /etc/machine-id and DMI product UUID are not this machine's): a cloned image or a copied state dir"
snap=$(snapshot); n=$(req_count)
# shellcheck disable=SC2046
t_run $(on b) -- status --json
t_expect_unhealthy "a copied identity: status exits 7, healthy false, the reason" 7 "$WHY"
# shellcheck disable=SC2046
t_run $(on b) -- join --token-file "$TOK"
t_expect "a copied identity: a re-run of join exits 7 with the reason" 7 "$WHY"
t_check "a copied identity: join's line gives the way out (--force)" "$(grep -qF -- "$HINT" "$ERR"; echo $?)" "$(cat "$ERR")"
# shellcheck disable=SC2046
t_run $(on vm) -- status --json
t_expect_unhealthy "a copied identity on a VM clone (DMI UUID alone): status exits 7" 7 \
    "was joined on another machine (its DMI product UUID is not this machine's)"
# shellcheck disable=SC2046
t_run $(on b) -- leave
t_expect "a copied identity: leave deletes nothing (it is machine a's device), exit 7" 7 \
    "leave: device $ORIG was joined on another machine (its /etc/machine-id and DMI product UUID are not this machine's): this is a copy"
t_check "a copied identity: no request sent, nothing changed, the device still there" \
    "$([ "$(req_count)" -eq "$n" ] && [ "$(snapshot)" = "$snap" ] && has_device "$ORIG"; echo $?)"
# The original machine is not disturbed.
STATE=$T_WORK/orig
# shellcheck disable=SC2046
t_run $(on a) -- status --json
t_check "the original machine: status healthy" "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["healthy"]')" = True ]; echo $?)" \
    "exit $RC: $(cat "$ERR")"
# join --force on the copy: a device of its own, the original's left alone.
STATE=$T_WORK/copy
# shellcheck disable=SC2046
t_run $(on b) -- join --token-file "$TOK" --force
NEW=$(jget "$STATE/device.json" 'd["device_id"]')
t_check "a copied identity: join --force joins a device of its own and leaves the original's device alone" \
    "$([ "$RC" -eq 0 ] && [ "$NEW" != "$ORIG" ] && has_device "$ORIG" && [ "$(deletes_of "$ORIG")" -eq 0 ] &&
       grep -q "^drsjoin: join: device $ORIG was joined on another machine .*: this copy is replaced, and the device is left to that machine" "$ERR"; echo $?)" \
    "exit $RC: $(cat "$ERR")"
# shellcheck disable=SC2046
t_run $(on b) -- status --json
t_expect "after join --force, the copy is machine b's own: status 0" 0
# leave --local-only removes a copy.
cp -a "$T_WORK/orig" "$T_WORK/copy2"; STATE=$T_WORK/copy2
# shellcheck disable=SC2046
t_run $(on b) -- leave --local-only
t_check "a copied identity: leave --local-only removes the copy, nothing sent" \
    "$([ "$RC" -eq 0 ] && [ ! -e "$STATE/device.json" ] && [ "$(deletes_of "$ORIG")" -eq 0 ]; echo $?)" "exit $RC: $(cat "$ERR")"

# --- older records and key sets: nothing to compare, still usable -----------
cp -a "$T_WORK/orig" "$T_WORK/old"; STATE=$T_WORK/old
$PY - "$STATE/device.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); del d["machine"]
json.dump(d, open(sys.argv[1], "w"), indent=2)
PY
# shellcheck disable=SC2046
t_run $(on b) -- status --json
t_check "a record without the machine (older versions): healthy anywhere" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["healthy"]')" = True ]; echo $?)" "exit $RC: $(cat "$ERR")"
# shellcheck disable=SC2046
t_run $(on b) -- join --token-file "$TOK"
t_expect "a record without the machine: a re-run of join is already joined" 0 "already joined as device $ORIG"
STATE=$T_WORK/oldkeys
# shellcheck disable=SC2046
t_run $(on a) -- keygen --key-store software
cp "$OUT" "$T_WORK/oldkeys.json"
rm "$(jget "$T_WORK/oldkeys.json" 'd["keys"]["dir"]')/machine.json"
# shellcheck disable=SC2046
t_run $(on b) -- join --in "$T_WORK/oldkeys.json" --token-file "$TOK"
t_expect "a key set without the machine (older versions): joins anywhere" 0

# --- facts that name no machine are not recorded ----------------------------
machine blank uninitialized 00000000-0000-0000-0000-000000000000
machine ph uninitialized 03000200-0400-0500-0006-000700080009
STATE=$T_WORK/blank
# shellcheck disable=SC2046
t_run $(on blank) -- join --token-file "$TOK" --key-store software
t_check "machine-id 'uninitialized' and a zero DMI UUID are not recorded" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$STATE/device.json" 'd["machine"]')" = "{}" ]; echo $?)" "exit $RC: $(cat "$ERR")"
# shellcheck disable=SC2046
t_run $(on ph) -- status
t_expect "nothing recorded, nothing compared: healthy on a board with the placeholder UUID" 0

t_done
