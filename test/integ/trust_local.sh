#!/usr/bin/env bash
# The local trust rules of issue 10: the state dir (checked, one descriptor,
# no symlinks, stored absolute), corrupt records, hostile key paths in
# documents. Each case names the attack it replays.
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
victim() {	# a directory outside the state dir that must survive
	rm -rf "$T_WORK/victim"; mkdir -p "$T_WORK/victim/sub"
	echo keep >"$T_WORK/victim/file"; echo keep >"$T_WORK/victim/sub/file"
}
victim_intact() { [ "$(cat "$T_WORK/victim/file" "$T_WORK/victim/sub/file" 2>/dev/null)" = "keep
keep" ]; }

# Replays: "mkdir st; ln -s /some/dir st/identity; drsjoin --state-dir st
# keygen" emptied /some/dir (the cleanup followed the link).
for sub in identity staging; do
	victim
	STATE=$T_WORK/st-$sub; mkdir -m 700 "$STATE"; ln -s "$T_WORK/victim" "$STATE/$sub"
	t_run -- keygen --key-store software
	t_expect "$sub/ is a symlink: keygen refused" 7 "state dir $STATE: $sub is a symbolic link, refused"
	t_check "$sub/ is a symlink: its target is untouched" "$(victim_intact; echo $?)"
	t_run -- join --token-file "$TOK" --key-store software
	t_expect "$sub/ is a symlink: join refused" 7 "$sub is a symbolic link, refused"
	t_check "$sub/ is a symlink: target untouched after join" "$(victim_intact; echo $?)"
done
# Links deeper inside: a set in identity/ that is a link is removed, never followed.
victim
STATE=$T_WORK/st-deep
t_run -- join --token-file "$TOK" --key-store software
t_expect "deep link: a first identity" 0
ln -s "$T_WORK/victim" "$STATE/identity/0123456789abcdef"
ln -s "$T_WORK/victim" "$STATE/device.json.tmp-1234"
t_run -- keygen --key-store software
t_check "deep link: leftover links removed, their targets untouched" \
    "$([ "$RC" -eq 0 ] && [ ! -L "$STATE/identity/0123456789abcdef" ] &&
       [ ! -L "$STATE/device.json.tmp-1234" ] && victim_intact; echo $?)"
# device.json itself a link: refused, the link's target never read as a record.
mv "$STATE/device.json" "$T_WORK/real.json"; ln -s "$T_WORK/real.json" "$STATE/device.json"
t_run -- status
t_expect "device.json is a symlink: refused" 7 "$STATE/device.json: a symbolic link, refused"

# The state dir and its parents: owner and mode as OpenSSH's safe_path.
n=$(req_count)
STATE=$T_WORK/gw; mkdir -m 770 "$STATE"; chmod 770 "$STATE"
t_run -- join --token-file "$TOK" --key-store software
t_expect "a group-writable state dir: refused" 7 "state dir $STATE: writable by its group (mode 0770)"
mkdir -p "$T_WORK/ww"; chmod 777 "$T_WORK/ww"; STATE=$T_WORK/ww/state
t_run -- keygen --key-store software
t_expect "a world-writable parent: refused" 7 "state dir $STATE: $T_WORK/ww: writable by others (mode 0777)"
t_check "world-writable parent: nothing created" "$([ ! -e "$STATE" ]; echo $?)"
mkdir -m 700 "$T_WORK/theirs"
if chown 12345 "$T_WORK/theirs" 2>/dev/null; then
	STATE=$T_WORK/theirs
	t_run -- status
	t_expect "a state dir owned by another user: refused" 7 "state dir $STATE: owned by uid 12345"
else
	t_skip "a state dir owned by another user" "chown needs root"
fi
t_check "refused state dirs: no request sent" "$([ "$(req_count)" -eq "$n" ]; echo $?)"
# /tmp (root-owned, sticky, world-writable) is an accepted parent: this
# whole suite runs under it.
case $T_WORK in /tmp/*) t_check "a state dir under sticky /tmp is accepted" \
    "$(STATE=$T_WORK/under-tmp; t_run -- keygen --key-store software; [ "$RC" -eq 0 ]; echo $?)" ;; esac

# Replays: a relative --state-dir was stored relative in device.json, and
# status from another directory failed.
mkdir -p "$T_WORK/cwd1" "$T_WORK/cwd2"
(cd "$T_WORK/cwd1" && STATE=rel t_run -- join --token-file "$TOK" --key-store software
 [ "$RC" -eq 0 ]) ; rc1=$?
t_check "relative --state-dir: join" "$rc1"
t_check "relative --state-dir: the record holds absolute paths" \
    "$([ "$(jget "$T_WORK/cwd1/rel/device.json" 'd["identity_dir"][:1]+d["certificate"][:1]+d["keys"]["device_key"][:1]+d["keys"]["transport_key"][:1]')" = //// ]; echo $?)"
(cd "$T_WORK/cwd2" && STATE=../cwd1/./rel/ t_run -- status && [ "$RC" -eq 0 ] &&
    [ "$(jget "$OUT" 'd["state_dir"]')" = "$T_WORK/cwd1/rel" ]); rc1=$?
t_check "relative --state-dir: status from another directory, state_dir absolute" "$rc1"
(cd / && STATE=$T_WORK/cwd1/rel t_run -- status && [ "$RC" -eq 0 ]); rc1=$?
t_check "status from / with the absolute path" "$rc1"

# Replays: {"keys":{"dir":"noslash",...}} made join crash with SIGSEGV.
STATE=$T_WORK/st-keys
t_run -- keygen --key-store software
cp "$OUT" "$T_WORK/keys.json"
for dir in noslash "" / . .. "$STATE" "$STATE/" "$STATE/staging" "$STATE/staging/" \
    "$STATE/staging/.." "$STATE/staging/../identity" "$STATE/identity/0123456789abcdef" \
    "$STATE//staging/x" "$STATE/staging/.tmp-0123456789abcdef" "/etc" "$T_WORK/victim"; do
	$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); d["keys"]["dir"]=sys.argv[2]; json.dump(d,open(sys.argv[3],"w"))' \
	    "$T_WORK/keys.json" "$dir" "$T_WORK/bad.json"
	t_run --in "$T_WORK/bad.json" -- join --token-file "$TOK" --force
	want="is not a key set in $STATE/staging"; [ -z "$dir" ] && want="the document has no keys.dir"
	t_expect "keys.dir '$dir': refused, no crash" 3 "$want"
done
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); d["keys"]["dir"]=7; json.dump(d,open(sys.argv[2],"w"))' \
    "$T_WORK/keys.json" "$T_WORK/bad.json"
t_run --in "$T_WORK/bad.json" -- join --token-file "$TOK" --force
t_check "keys.dir not a string: refused, no crash" "$([ "$RC" -eq 3 ]; echo $?)"

# Replays: a corrupt device.json blocked every command, --force included.
STATE=$T_WORK/st-corrupt
t_run -- join --token-file "$TOK" --key-store software
t_expect "corrupt: a first identity" 0
old_set=$(basename "$(jget "$STATE/device.json" 'd["identity_dir"]')")
printf '{"device_id": "trunc' >"$STATE/device.json"
t_run -- status
t_expect "corrupt record: status names the file and what is wrong" 7 "$STATE/device.json: not valid JSON"
t_run -- join --token-file "$TOK" --key-store software
t_expect "corrupt record: join without --force refused" 7 "$STATE/device.json: not valid JSON"
t_run -- keygen --key-store software
t_check "corrupt record: keygen still works, the old keys are kept" \
    "$([ "$RC" -eq 0 ] && [ -f "$STATE/identity/$old_set/device-key.pem" ]; echo $?)"
t_run -- join --token-file "$TOK" --key-store software --force
t_expect "corrupt record: join --force gets past it" 0 "aside as device.json.corrupt-"
t_check "corrupt record: moved aside whole, its keys kept beside it" \
    "$(q=$(ls "$STATE" | grep '^device.json.corrupt-'); i=$(ls "$STATE" | grep '^identity.corrupt-');
       [ "$(cat "$STATE/$q")" = '{"device_id": "trunc' ] &&
       [ -f "$STATE/$i/$old_set/device-key.pem" ]; echo $?)"
t_run -- status
t_expect "corrupt record: status works after --force" 0
for bad in '' '[1]' '{"no":"id"}' "$(head -c 300000 /dev/zero | tr '\0' ' ')"; do
	printf '%s' "$bad" >"$STATE/device.json"
	t_run -- status
	t_check "corrupt record (${#bad} bytes): exit 7 naming the file" \
	    "$([ "$RC" -eq 7 ] && grep -qF "$STATE/device.json: " "$ERR" && [ "$(errors)" -eq 1 ]; echo $?)"
done

t_done
