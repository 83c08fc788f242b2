#!/usr/bin/env bash
# join twice: one device, no traffic; --force: a new device, the old identity
# replaced only after the new join succeeded; another tenant is refused.
. "$(dirname "$0")/../lib-integ.sh"

emu_start --extra-tenant 5f0c2a1e-9b7d-4c3a-8e21-6d4b3f2a1c09=fabrikam.example >/dev/null ||
    { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)

t_run -- join --token-file "$TOK" --key-store software
t_expect "first join" 0
cp "$OUT" "$T_WORK/first.json"
first=$(jget "$STATE/device.json" 'd["device_id"]')
first_dir=$(recpath "$STATE/device.json" 'd["identity_dir"]')
n=$(req_count); devs=$(emu_device_count)

t_run -- join --token-file "$TOK" --key-store software
t_expect "second join: exit 0" 0 "already joined as device $first"
t_check "second join: prints the stored identity, no request, no new device" \
    "$([ "$(jget "$OUT" 'd["device"]["device_id"]')" = "$first" ] &&
       [ "$(req_count)" -eq "$n" ] && [ "$(emu_device_count)" -eq "$devs" ]; echo $?)"
shape='sorted(d), sorted(d["tenant"]), sorted(d["discovery"]), sorted(d["keys"]), sorted(d["device"])'
t_check "second join: the same sections and keys as the first join printed" \
    "$(a=$(jget "$T_WORK/first.json" "$shape"); b=$(jget "$OUT" "$shape")
       [ -n "$a" ] && [ "$a" = "$b" ]; echo $?)"

t_run -- join --token-file "$TOK" --key-store software --force
t_expect "--force joins again" 0 "join: deleted the replaced device $first from the tenant"
second=$(jget "$STATE/device.json" 'd["device_id"]')
t_check "--force: a new device, the old one deleted from the tenant, its files removed" \
    "$([ -n "$second" ] && [ "$second" != "$first" ] &&
       [ "$(emu_device_count)" -eq "$devs" ] && [ ! -e "$first_dir" ] &&
       emu_ctl devices | grep -q "$second" && ! emu_ctl devices | grep -q "$first" &&
       [ "$(ls "$STATE/identity" | wc -l)" -eq 1 ]; echo $?)"

# --force whose join is refused keeps the identity it had.
sum=$(sha256sum <"$STATE/device.json")
emu_fault --route join --status 403 --count 1 >/dev/null
t_run -- join --token-file "$TOK" --key-store software --force
t_expect "--force refused by the service" 5 "join: server answered 403"
t_check "--force refused: identity unchanged, nothing staged" \
    "$([ "$(sha256sum <"$STATE/device.json")" = "$sum" ] &&
       [ -z "$(ls -A "$STATE/staging")" ]; echo $?)"
t_run -- status
t_expect "--force refused: status still works" 0

# The same state dir spelled with a trailing slash is the same identity:
# its cleanup must not take the live set for a leftover.
t_run -- --state-dir "$STATE//" keygen --key-store software
t_expect "keygen with the state dir spelled with slashes" 0
t_run -- status
t_expect "the identity survives another spelling of the state dir" 0

# The output of a join fed back: its keys belong to the identity now.
t_run -- join --token-file "$TOK" --key-store software
cp "$OUT" "$T_WORK/joined.json"
n=$(req_count)
t_run --in "$T_WORK/joined.json" -- join --token-file "$TOK" --force --no-nonce
t_expect "a joined identity's keys cannot join again" 3 "join: the document has no keys.dir; run 'drsjoin keygen' first"
t_check "the joined document: nonce and CSR dropped, no request sent" \
    "$([ "$(jget "$T_WORK/joined.json" '"nonce" in d or "csr" in d')" = False ] &&
       [ "$(req_count)" -eq "$n" ]; echo $?)"

# keys.dir in a document can name any directory: it is never moved or removed.
mkdir -p "$T_WORK/victim"; echo keep >"$T_WORK/victim/file"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); d["keys"]["dir"]=sys.argv[2]; json.dump(d,open(sys.argv[3],"w"))' \
    "$T_WORK/joined.json" "$T_WORK/victim" "$T_WORK/victim.json"
t_run --in "$T_WORK/victim.json" -- join --token-file "$TOK" --force
t_expect "keys.dir outside the staging area is refused" 3 "keys: $T_WORK/victim is not a key set"
t_check "the directory named by keys.dir is untouched" "$([ "$(cat "$T_WORK/victim/file")" = keep ]; echo $?)"
ln -s "$T_WORK/victim" "$STATE/staging/.join-evil"
t_run -- keygen --key-store software
t_check "cleanup removes a link in the staging area, not its target" \
    "$([ "$RC" -eq 0 ] && [ ! -e "$STATE/staging/.join-evil" ] && [ "$(cat "$T_WORK/victim/file")" = keep ]; echo $?)"

# Another tenant without --force: a document that names it is refused, and
# so is a token for it (the token is read only to see its tenant: it asks
# for another join than the stored one).
OTHER=$(token_file --tid 5f0c2a1e-9b7d-4c3a-8e21-6d4b3f2a1c09 --upn bob@fabrikam.example)
STATE_SAVED=$STATE; STATE=$T_WORK/state-doc
t_run -- discover --tenant fabrikam.example
cp "$OUT" "$T_WORK/fabrikam.json"
STATE=$STATE_SAVED
n=$(req_count)
t_run --in "$T_WORK/fabrikam.json" -- join --token-file "$OTHER" --key-store software
t_expect "another tenant without --force: refused" 3 \
    "join: this machine is already joined to tenant $EMU_TENANT_ID as device $second, not to 5f0c2a1e-9b7d-4c3a-8e21-6d4b3f2a1c09; --force replaces that identity"
t_check "another tenant: no request sent" "$([ "$(req_count)" -eq "$n" ]; echo $?)"
snap=$(cd "$STATE" && find . -type f ! -name .lock | sort | xargs sha256sum)
t_run -- join --token-file "$OTHER" --key-store software
t_expect "a token alone for another tenant: refused, naming both tenants" 3 \
    "join: the token is for tenant 5f0c2a1e-9b7d-4c3a-8e21-6d4b3f2a1c09, this machine is joined to tenant $EMU_TENANT_ID as device $second; --force replaces that identity"
t_check "a token for another tenant: no request, the identity untouched" \
    "$([ "$(req_count)" -eq "$n" ] &&
       [ "$(cd "$STATE" && find . -type f ! -name .lock | sort | xargs sha256sum)" = "$snap" ]; echo $?)"
t_run -- join --token-file "$TOK" --key-store software
t_expect "a token for the stored tenant: already joined" 0 "already joined as device $second"

# A document for one tenant with a token for another.
STATE=$T_WORK/state-mix
t_run -- discover --tenant "$EMU_TENANT_DOMAIN"
cp "$OUT" "$T_WORK/doc"
t_run --in "$T_WORK/doc" -- join --token-file "$OTHER" --key-store software
t_expect "document and token disagree on the tenant" 3 \
    "join: the token is for tenant 5f0c2a1e-9b7d-4c3a-8e21-6d4b3f2a1c09, the document for tenant $EMU_TENANT_ID"

# A stored identity whose files are gone is not "already joined", and not
# replaced unasked either: exit 7 and the way out (test/integ/health.sh has
# every kind of damage).
STATE=$T_WORK/state-broken
t_run -- join --token-file "$TOK" --key-store software
rm -f "$(recpath "$STATE/device.json" 'd["keys"]["device_key"]')"
n=$(req_count)
t_run -- join --token-file "$TOK" --key-store software
t_expect "identity with a missing key: exit 7 with the way out" 7 \
    "device-key.pem: No such file or directory ('drsjoin join --force' joins again and replaces it; 'drsjoin leave --local-only' removes it)"
t_check "identity with a missing key: no request" "$([ "$(req_count)" -eq "$n" ]; echo $?)"
t_run -- join --token-file "$TOK" --key-store software --force
t_expect "identity with a missing key: --force joins again" 0

t_done
