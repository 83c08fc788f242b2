#!/usr/bin/env bash
# shellcheck disable=SC2016 # the eval'd commands expand when they run
# The tests' Python helper (test/lib-pyhelper.sh): jget, req_count,
# last_request, emu_ctl and emu_token answer exactly what a Python started
# for the call answers (DRSJOIN_NO_PYHELPER=1): output, stderr, exit status,
# from $(...), pipelines, background jobs and another working directory.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
t_run -- discover --tenant "$EMU_TENANT_ID"
t_expect "a request for the log" 0

# both NAME CMD...: runs CMD through the helper and without it; same
# stdout, stderr and status, and the helper was used for the first.
both() {
	local name=$1 a b; shift
	a=$("$@" 2>"$T_WORK/err.a"; echo "rc=$?")
	# shellcheck disable=SC2034 # read by pyh_open in this subshell
	b=$(DRSJOIN_NO_PYHELPER=1; "$@" 2>"$T_WORK/err.b"; echo "rc=$?")
	if [ "$a" != "$b" ]; then
		t_fail "$name" "helper: '$a', own Python: '$b'"
	elif ! cmp -s "$T_WORK/err.a" "$T_WORK/err.b"; then
		t_fail "$name" "stderr differs: '$(head -c 200 "$T_WORK/err.a")' / '$(head -c 200 "$T_WORK/err.b")'"
	else
		t_ok "$name"
	fi
}

J=$T_WORK/j.json
printf '{"a": {"b": [1, "x\\u00e9", null, true]}, "s": "two\\nlines", "n": 1.5}\n' >"$J"
both "jget: a value" jget "$J" 'd["a"]["b"][1]'
both "jget: a list, a tuple, None and True as Python prints them" \
    jget "$J" '(d["a"]["b"], d["a"]["b"][2], d["a"]["b"][3])'
both "jget: a string with a newline" jget "$J" 'd["s"]'
both "jget: json and sys are there" jget "$J" 'json.dumps(d["a"], sort_keys=True), sys.version_info[0]'
both "jget: a missing key is exit 1, nothing printed" jget "$J" 'd["nope"]'
both "jget: a missing file is exit 1, nothing printed" jget "$T_WORK/none.json" 'd'
printf '{"a": ' >"$T_WORK/bad.json"
both "jget: JSON that does not parse is exit 1" jget "$T_WORK/bad.json" 'd'
both "jget: a relative path, from the caller's directory" \
    eval 'cd "$T_WORK" && jget j.json "d[\"n\"]"'
both "jget: in a pipeline" eval 'jget "$J" "d[\"a\"][\"b\"][0]" | tr 1 7'
both "jget: in a background job" eval 'jget "$J" "d[\"n\"] * 2" & wait $!'
both "req_count: a route" req_count discover
both "req_count: a route never asked" req_count join
both "last_request: the route's last request" eval 'jget "$(last_request discover)" "d[\"route\"], d[\"status\"]"'
both "last_request: none is {}" eval 'cat "$(last_request join)"'
both "emu_ctl devices --count" emu_ctl devices --count
both "emu_ctl: a bad argument is argparse's exit 2 and usage" emu_ctl fault --route nowhere
both "emu_ctl faults: JSON as emuctl prints it" emu_ctl faults
both "emu_token: a bad claim is mint-token's exit and message" emu_token --claim nothing
tok=$(emu_token --upn a@"$EMU_TENANT_DOMAIN")
t_check "emu_token: a token drsjoin accepts" \
    "$(f=$T_WORK/tok; printf '%s\n' "$tok" >"$f"; chmod 600 "$f"
       t_run -- join --token-file "$f" --key-store software; [ "$RC" -eq 0 ]; echo $?)"
both "emu_ctl: the device it joined" eval 'emu_ctl devices | grep -c device_id'

# The helper is one process for the whole test, and gone after it.
t_check "one helper for the test, named in its directory" \
    "$([ -s "$PYH_DIR/port" ] && read -r _ _ pid <"$PYH_DIR/port" && pyh_alive "$pid"; echo $?)"
read -r _ _ pid <"$PYH_DIR/port"
pyh_stop
t_check "pyh_stop ends it and removes its directory" \
    "$(! pyh_alive "$pid" && [ ! -e "$PYH_DIR" ]; echo $?)"
both "a call after pyh_stop starts it again" jget "$J" 'd["n"]'
t_done
