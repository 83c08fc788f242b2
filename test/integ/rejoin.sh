#!/usr/bin/env bash
# join on a joined machine: no token needed, another --join-type refused;
# --force deletes the replaced device, survives a failing delete with a
# warning, and --keep-old-device keeps it.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)

t_run -- join --token-file "$TOK" --key-store software
t_expect "first join" 0
dev=$(jget "$STATE/device.json" 'd["device_id"]')
n=$(req_count)

# The token file is gone: a boot script that re-runs join keeps working.
rm -f "$TOK"
t_run -- join --token-file "$TOK"
t_expect "re-run with a deleted token file: exit 0" 0 "already joined as device $dev"
t_check "re-run: prints the identity, sends nothing" \
    "$([ "$(jget "$OUT" 'd["device"]["device_id"]')" = "$dev" ] && [ "$(req_count)" -eq "$n" ]; echo $?)"
t_run -- join
t_expect "re-run with no token at all: exit 0" 0 "already joined as device $dev"
t_run --env DRSJOIN_TOKEN=not-a-jwt -- join
t_expect "re-run with a malformed token: not needed, ignored" 0 "already joined as device $dev"
t_run -- join --join-type join
t_expect "re-run with the same --join-type: exit 0" 0 "already joined as device $dev"

# Another join type is a usage error naming both types and --force.
t_run -- join --join-type register --token-file "$TOK"
t_expect "another --join-type: exit 2" 2 \
    "join: this machine is joined as type 'join' (device $dev); --join-type register asks for another: --force replaces the identity"
t_check "another --join-type: no request" "$([ "$(req_count)" -eq "$n" ]; echo $?)"

# Another tenant, with no token: refused before any token or request, the
# identity untouched; the stored tenant named by its domain is the same one.
snap=$(cd "$STATE" && find . -type f ! -name .lock | sort | xargs sha256sum)
t_run -- join --tenant other.example
t_expect "another --tenant, no token: exit 3 naming both tenants and --force" 3 \
    "join: this machine is already joined to tenant $EMU_TENANT_ID as device $dev, not to other.example; --force replaces that identity"
t_check "another --tenant: no request, identity untouched" \
    "$([ "$(req_count)" -eq "$n" ] &&
       [ "$(cd "$STATE" && find . -type f ! -name .lock | sort | xargs sha256sum)" = "$snap" ]; echo $?)"
t_run -- join --tenant "$(jget "$STATE/device.json" 'd["tenant_domain"]')"
t_expect "the stored tenant's domain as --tenant: already joined" 0 "already joined as device $dev"

t_run -- join --keep-old-device
t_expect "--keep-old-device without --force: usage" 2 "join: --keep-old-device goes with --force"

TOK=$(token_file)
# --force whose delete of the old device fails: the join stands, with a
# warning that names the old device and why.
emu_fault --route delete --status 500 --count 10
devs=$(emu_device_count)
t_run -- --attempts 1 join --token-file "$TOK" --key-store software --force
t_check "--force, failing delete: exit 0, one warning naming the old device and the answer" \
    "$([ "$RC" -eq 0 ] && grep -qF "drsjoin: warning: join: the replaced device $dev is still in the tenant (leave: device $dev: server answered 500 InternalServerError" "$ERR" &&
       [ "$(grep -c '^drsjoin: ' "$ERR")" -eq 2 ]; echo $?)"
new=$(jget "$STATE/device.json" 'd["device_id"]')
t_check "--force, failing delete: the new identity committed, the old device still in the tenant" \
    "$([ "$new" != "$dev" ] && [ "$(jget "$OUT" 'd["device"]["device_id"]')" = "$new" ] &&
       [ "$(emu_device_count)" -eq $((devs + 1)) ] && emu_ctl devices | grep -q "$dev" &&
       [ "$(ls "$STATE/identity" | wc -l)" -eq 1 ]; echo $?)"
emu_fault clear

# --keep-old-device: no delete at all.
dels=$(req_count delete); devs=$(emu_device_count)
t_run -- join --token-file "$TOK" --key-store software --force --keep-old-device
t_check "--force --keep-old-device: no DELETE, the old device stays" \
    "$([ "$RC" -eq 0 ] && [ "$(req_count delete)" -eq "$dels" ] &&
       [ "$(emu_device_count)" -eq $((devs + 1)) ] && emu_ctl devices | grep -q "$new"; echo $?)"

# --force over an identity whose key file is gone: the join goes on, with a
# warning that the old device stays.
old=$(jget "$STATE/device.json" 'd["device_id"]')
rm -f "$(recpath "$STATE/device.json" 'd["keys"]["device_key"]')"
t_run -- join --token-file "$TOK" --key-store software --force
t_check "--force over an unreadable identity: exit 0, a warning that the old device stays" \
    "$([ "$RC" -eq 0 ] && grep -qF "drsjoin: warning: join: the replaced device $old will stay in the tenant (" "$ERR"; echo $?)"

# A registered machine: join --join-type join is refused, --force converts.
STATE=$T_WORK/state-register
t_run -- join --token-file "$TOK" --key-store software --join-type register
t_expect "register" 0
t_run -- join --join-type join
t_expect "a registered machine asked to join: exit 2" 2 "joined as type 'register'"
t_run -- join
t_expect "a registered machine, no --join-type: already joined" 0 "already joined"
t_run -- join --token-file "$TOK" --key-store software --join-type join --force
t_check "--force --join-type join over a registration: joined" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$STATE/device.json" 'd["join_type"]')" = join ]; echo $?)"

t_done
