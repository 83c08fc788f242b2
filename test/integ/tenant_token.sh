#!/usr/bin/env bash
# A tenant asked for that contradicts the token (issue 16, item 3): --tenant
# against a ready token's tid (a GUID before any request; a domain once its
# discovery answered, before the nonce or the join), and a token against a
# stored identity's tenant: exit 3 naming both, nothing sent past that
# point, nothing written.
. "$(dirname "$0")/../lib-integ.sh"

B_TID=5f0c2a1e-9b7d-4c3a-8e21-6d4b3f2a1c09
emu_start --extra-tenant "$B_TID=fabrikam.example" >/dev/null ||
    { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
TOK_B=$(token_file --tid "$B_TID" --upn bob@fabrikam.example)
snapshot() { [ -d "$STATE" ] || return 0; (cd "$STATE" && find . -type f ! -name .lock | sort | xargs -r sha256sum); }
joins() { req_count join; }

# --tenant a GUID: refused before any request, nothing written.
STATE=$T_WORK/state-guid
n=$(req_count)
t_run -- join --token-file "$TOK" --tenant "$B_TID" --key-store software
t_expect "--tenant GUID not the token's: exit 3 naming both" 3 \
    "join: --tenant $B_TID, but the token is for tenant $EMU_TENANT_ID"
t_check "--tenant GUID not the token's: no request, no identity, no keys" \
    "$([ "$(req_count)" -eq "$n" ] && [ -z "$(snapshot)" ]; echo $?)" "$(snapshot)"
t_run -- join --token-file "$TOK" --tenant "${EMU_TENANT_ID^^}" --key-store software
t_expect "--tenant GUID of the token's tenant (another letter case): joined" 0
t_check "the token's tenant: joined there" \
    "$([ "$(jget "$STATE/device.json" 'd["tenant_id"]')" = "$EMU_TENANT_ID" ]; echo $?)"

# --tenant a domain: only its discovery tells its tenant; refused before the
# nonce and the join, nothing written.
STATE=$T_WORK/state-domain
n=$(req_count); j=$(joins); nn=$(req_count nonce)
t_run -- join --token-file "$TOK" --tenant fabrikam.example --key-store software
t_expect "--tenant domain of another tenant: exit 3 naming both" 3 \
    "join: --tenant fabrikam.example is tenant $B_TID, but the token is for tenant $EMU_TENANT_ID"
t_check "--tenant domain of another tenant: only its discovery sent, no nonce, no join" \
    "$([ "$(req_count)" -eq $((n + 1)) ] && [ "$(req_count discover)" -ge 1 ] &&
       [ "$(joins)" -eq "$j" ] && [ "$(req_count nonce)" -eq "$nn" ]; echo $?)"
t_check "--tenant domain of another tenant: no identity, no keys left" \
    "$([ -z "$(snapshot)" ]; echo $?)" "$(snapshot)"
t_run -- join --token-file "$TOK" --tenant "$EMU_TENANT_DOMAIN" --key-store software
t_expect "--tenant domain of the token's tenant: joined" 0
t_check "--tenant domain: the join names that domain" \
    "$([ "$(jget "$(last_request join)" 'd["body"]["TargetDomain"]')" = "$EMU_TENANT_DOMAIN" ] &&
       [ "$(jget "$STATE/device.json" 'd["tenant_id"]')" = "$EMU_TENANT_ID" ]; echo $?)"

# A stored identity (tenant A) and a token for B.
STATE=$T_WORK/state-stored
t_run -- join --token-file "$TOK" --key-store software
t_expect "joined to the first tenant" 0
dev=$(jget "$STATE/device.json" 'd["device_id"]')
snap=$(snapshot); n=$(req_count)
t_run -- join --token-file "$TOK_B"
t_expect "a token for another tenant than the stored identity's: exit 3 naming both" 3 \
    "join: the token is for tenant $B_TID, this machine is joined to tenant $EMU_TENANT_ID as device $dev; --force replaces that identity"
t_check "a token for another tenant: no request, the identity untouched" \
    "$([ "$(req_count)" -eq "$n" ] && [ "$(snapshot)" = "$snap" ]; echo $?)"
t_run --env "DRSJOIN_TOKEN=$(cat "$TOK_B")" -- join
t_expect "the same with the token in DRSJOIN_TOKEN" 3 "join: the token is for tenant $B_TID"
# --force with --tenant A and a token for B: --tenant still contradicts it.
t_run -- join --token-file "$TOK_B" --tenant "$EMU_TENANT_ID" --force --key-store software
t_expect "--force, --tenant the stored tenant, a token for another: exit 3 naming both" 3 \
    "join: --tenant $EMU_TENANT_ID, but the token is for tenant $B_TID"
t_check "--force with a contradicting --tenant: no request, the identity untouched" \
    "$([ "$(req_count)" -eq "$n" ] && [ "$(snapshot)" = "$snap" ]; echo $?)"
# --force replaces the identity: a token for another tenant is what it asks.
t_run -- join --token-file "$TOK_B" --force --key-store software
t_expect "--force with a token for another tenant: joined there, the old device deleted" 0 \
    "join: deleted the replaced device $dev from the tenant"
t_check "--force with a token for another tenant: the identity is the new tenant's" \
    "$([ "$(jget "$STATE/device.json" 'd["tenant_id"]')" = "$B_TID" ]; echo $?)"

t_done
