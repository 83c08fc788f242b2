#!/usr/bin/env bash
# leave with TPM keys on swtpm: the TLS handshake signature made inside the
# TPM, PKCS#1 v1.5 over TLS 1.2 and RSA-PSS over TLS 1.3; join --force with
# TPM keys deletes the replaced device.
. "$(dirname "$0")/../lib-integ.sh"

if ! why=$(swtpm_available); then
	t_skip "leave with TPM keys" "$why"
	exit 0
fi
swtpm_start >/dev/null || { t_fail "swtpm starts" "swtpm_start failed"; exit 1; }
TPM=("--env" "DRSJOIN_TCTI=$SWTPM_TCTI")
gone() { [ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/identity" 2>/dev/null)" ]; }

for v in 1.2 1.3; do
	if [ "$v" = 1.2 ]; then flags=(--tls-max 1.2); else flags=(--tls-min 1.3); fi
	emu_start "${flags[@]}" >/dev/null || { t_fail "emulator starts (${flags[*]})" "emu_start failed"; continue; }
	TOK=$(token_file)
	STATE=$T_WORK/state-$v
	t_run "${TPM[@]}" -- join --token-file "$TOK" --key-store tpm
	t_expect "TLS $v: join with TPM keys" 0
	dev=$(jget "$STATE/device.json" 'd["device_id"]')
	t_run "${TPM[@]}" -- status
	t_check "TLS $v: status names the TCTI, the SRK and the key blobs" \
	    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["tcti"]')" = "$SWTPM_TCTI" ] &&
	       jget "$OUT" 'd["srk"]' | grep -q . && jget "$OUT" 'd["device_key"]' | grep -q 'device-key.tpm$' &&
	       [ "$(jget "$OUT" 'd["join_host"]')" = "${EMU_URL#https://}" ]; echo $?)"
	devs=$(emu_device_count)
	t_run "${TPM[@]}" -- leave
	t_expect "TLS $v: leave with the TPM-held device key" 0 "left: device $dev"
	t_check "TLS $v: the DELETE went over TLSv$v, authenticated, the device and the key blobs gone" \
	    "$(r=$(last_request delete); [ "$(jget "$r" 'd["tls"], d["status"], d["device_id"]')" = \
	       "('TLSv$v', 200, '$dev')" ] && [ "$(emu_device_count)" -eq $((devs - 1)) ] && gone; echo $?)"
	if [ "$v" = 1.3 ]; then
		# --force with TPM keys: the old key is read before the new join
		# replaces its blob, loaded in the TPM after it.
		t_run "${TPM[@]}" -- join --token-file "$TOK" --key-store tpm
		old=$(jget "$STATE/device.json" 'd["device_id"]')
		devs=$(emu_device_count)
		t_run "${TPM[@]}" -- join --token-file "$TOK" --key-store tpm --force
		t_expect "TPM: join --force deletes the replaced device" 0 \
		    "join: deleted the replaced device $old from the tenant"
		t_check "TPM --force: the device count unchanged, the old device gone" \
		    "$([ "$(emu_device_count)" -eq "$devs" ] && ! emu_ctl devices | grep -q "$old"; echo $?)"
		t_run "${TPM[@]}" -- leave
		t_expect "TPM: leave after --force" 0
	fi
	emu_cleanup
done

t_done
