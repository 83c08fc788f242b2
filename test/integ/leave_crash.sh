#!/usr/bin/env bash
# leave killed (SIGKILL) at each step of the local removal: the state is
# always either the whole identity or none, never a status that says joined
# with files missing; the next run finishes the job. The kill points are
# compiled into test builds only (util_fault_point, DRSJOIN_TEST_KILL_AT).
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)

# Whole identity: status 0 and every file it names present; or none: status
# 8. Anything else (7, say) is a torn identity.
consistent() {
	t_run -- status
	case $RC in
	0) [ -f "$STATE/device.json" ] && [ -f "$(recpath "$STATE/device.json" 'd["certificate"]')" ] &&
	   [ -f "$(recpath "$STATE/device.json" 'd["keys"]["device_key"]')" ] &&
	   [ -f "$(recpath "$STATE/device.json" 'd["keys"]["transport_key"]')" ] && echo whole ;;
	8) echo none ;;
	*) echo "torn (status exit $RC: $(head -c 200 "$ERR"))" ;;
	esac
}

for point in remove-start remove-set-marked remove-device-key-unlinked \
    remove-set-emptied remove-record-unlinked remove-record-synced; do
	for mode in service local; do
		STATE=$T_WORK/state-$point-$mode
		t_run -- join --token-file "$TOK" --key-store software
		dev=$(jget "$STATE/device.json" 'd["device_id"]')
		args=(leave); [ "$mode" = local ] && args=(leave --local-only)
		t_run --env "DRSJOIN_TEST_KILL_AT=$point" -- "${args[@]}"
		if [ "$RC" -ne 137 ]; then
			t_fail "$mode leave killed at $point" "exit $RC, not killed: does this build honour DRSJOIN_TEST_KILL_AT?"
			continue
		fi
		state=$(consistent)
		# Before the set is marked for removal the identity must be whole;
		# after, none (status: not joined), whatever is left of it.
		want=none; [ "$point" = remove-start ] && want=whole
		t_check "$mode leave killed at $point: identity $want" \
		    "$([ "$state" = "$want" ]; echo $?)" "identity $state"
		t_run -- leave
		if [ "$want" = whole ]; then
			# The service side was done (or not, for --local-only): the
			# next leave deletes or finds it gone, and exits 0 either way.
			t_expect "$mode leave killed at $point: the next leave finishes" 0 "device $dev"
		else
			t_expect "$mode leave killed at $point: the next leave says not joined" 8 "leave: not joined"
		fi
		t_check "$mode leave killed at $point: after the next run no key set or record is left" \
		    "$([ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/identity")" ] &&
		       ! grep -rqs 'PRIVATE KEY' "$STATE"; echo $?)"
	done
done

t_done
