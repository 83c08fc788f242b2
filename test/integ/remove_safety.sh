#!/usr/bin/env bash
# Removing an identity follows no link and is all or nothing (issue 16 item
# 5), and a state dir that was moved, renamed or bind-mounted keeps its keys
# (item 6). Landlock is off here (DRSJOIN_TEST_NO_LANDLOCK=1): the O_NOFOLLOW
# walk from the state dir's descriptor alone must keep drsjoin inside it.
. "$(dirname "$0")/../lib-integ.sh"

t_with_mounts

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }
TOK=$(token_file)
NOLL=(--env DRSJOIN_TEST_NO_LANDLOCK=1)

join_sw() {
	t_run -- join --token-file "$TOK" --key-store software
	[ "$RC" -eq 0 ] || t_fail "join into $STATE" "exit $RC: $(head -c 300 "$ERR")"
	SET=$STATE/$(jget "$STATE/device.json" 'd["identity_dir"]')
}

sums() { (cd "$1" && find . -type f ! -name .lock -print0 | sort -z | xargs -0 sha256sum); }
all_gone_here() { [ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/identity")" ]; }

# 1. A key set that is a link to a directory outside the state dir.
STATE=$T_WORK/link
join_sw
OUTSIDE=$T_WORK/outside
mv "$SET" "$OUTSIDE"
ln -s "$OUTSIDE" "$SET"
before=$(sums "$OUTSIDE")
rec=$(sha256sum <"$STATE/device.json")
t_run "${NOLL[@]}" -- -v leave --local-only
# (leave --local-only's note, that the device may stay, comes first)
t_check "leave --local-only, the set a link, Landlock off: refused, exit 7" \
    "$([ "$RC" -eq 7 ] && grep -q 'sandbox: this kernel offers no Landlock' "$ERR" &&
       grep -q '^drsjoin: .*/identity/[0-9a-f]*: a symbolic link: not followed, nothing was removed' "$ERR" &&
       [ ! -s "$OUT" ]; echo $?)" "exit $RC: $(tail -c 300 "$ERR")"
t_check "the set a link: nothing outside the state dir removed, the record kept" \
    "$([ "$(sums "$OUTSIDE")" = "$before" ] && [ "$(sha256sum <"$STATE/device.json")" = "$rec" ]; echo $?)"
# join --force over it: the old set (the link) goes, never what it points at.
t_run "${NOLL[@]}" -- join --token-file "$TOK" --key-store software --force --keep-old-device
t_check "join --force over a linked set, no Landlock: the link removed, not its target" \
    "$([ "$RC" -eq 0 ] && [ ! -L "$SET" ] && [ "$(sums "$OUTSIDE")" = "$before" ]; echo $?)" \
    "exit $RC: $(head -c 300 "$ERR")"

# A key file that is a link: the link goes, never its target.
STATE=$T_WORK/keylink
join_sw
cp "$SET/device-key.pem" "$T_WORK/precious"
rm "$SET/transport-key.pem"
ln -s "$T_WORK/precious" "$SET/transport-key.pem"
t_run "${NOLL[@]}" -- leave --local-only
t_check "a key file that is a link: removed as a link, its target kept" \
    "$([ "$RC" -eq 0 ] && [ -f "$T_WORK/precious" ] && [ ! -e "$STATE/device.json" ] &&
       [ -z "$(ls -A "$STATE/identity")" ]; echo $?)" "exit $RC: $(head -c 300 "$ERR")"

# A directory link planted inside a key set (issue 23 item 13): the removal
# walk opens each entry with O_NOFOLLOW and removes the link itself; with
# Landlock off nothing else stops it from emptying the link's target. One
# link at the set's top (leave's sweep, join --force's removal of the old
# set) and one a level down (the walk into a subdirectory).
plant() {	# DIR-OUTSIDE: fills it, links it into the set twice
	mkdir -p "$1/sub"; echo keep >"$1/precious"; echo keep >"$1/sub/precious"
	mkdir "$SET/planted"; ln -s "$1" "$SET/planted/dirlink"; ln -s "$1" "$SET/dirlink"
}
STATE=$T_WORK/dirlink-leave
join_sw
plant "$T_WORK/dir-outside-1"
before=$(sums "$T_WORK/dir-outside-1")
t_run "${NOLL[@]}" -- leave --local-only
t_check "directory links inside the set, Landlock off: leave --local-only removes the links, not their target" \
    "$([ "$RC" -eq 0 ] && [ "$(sums "$T_WORK/dir-outside-1")" = "$before" ] && [ -n "$before" ] &&
       all_gone_here; echo $?)" "exit $RC: $(head -c 300 "$ERR")"
STATE=$T_WORK/dirlink-force
join_sw
plant "$T_WORK/dir-outside-2"
before=$(sums "$T_WORK/dir-outside-2")
OLDSET=$SET
t_run "${NOLL[@]}" -- join --token-file "$TOK" --key-store software --force --keep-old-device
t_check "directory links inside the replaced set, Landlock off: join --force removes the set and the links, not their target" \
    "$([ "$RC" -eq 0 ] && [ ! -e "$OLDSET" ] && [ ! -L "$OLDSET/dirlink" ] &&
       [ "$(sums "$T_WORK/dir-outside-2")" = "$before" ]; echo $?)" "exit $RC: $(head -c 300 "$ERR")"

# 2. All or nothing: a device key that cannot be removed (a mount point:
# EBUSY) leaves the whole identity, record first of all.
STATE=$T_WORK/busy
join_sw
cp "$SET/device-key.pem" "$T_WORK/key-copy"
if mount --bind "$T_WORK/key-copy" "$SET/device-key.pem" 2>"$T_WORK/mount.err"; then
	MOUNTS+=("$STATE/$(jget "$STATE/device.json" 'd["keys"]["device_key"]')")
	before=$(sums "$STATE")
	t_run -- leave --local-only
	t_check "a device key that cannot be removed: exit 7, saying nothing was removed" \
	    "$([ "$RC" -eq 7 ] && grep -q '^drsjoin: .*device-key.pem: cannot remove: .*; nothing was removed here: the identity of device [0-9a-f-]* stays whole' "$ERR"; echo $?)" \
	    "exit $RC: $(tail -c 300 "$ERR")"
	t_check "a device key that cannot be removed: every file kept, the record first of all; status 0" \
	    "$([ "$(sums "$STATE")" = "$before" ] && t_run -- status && [ "$RC" -eq 0 ]; echo $?)"
	umount "$SET/device-key.pem"
	t_run -- leave --local-only
	t_check "once it can be removed, leave --local-only removes all" \
	    "$([ "$RC" -eq 0 ] && [ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/identity")" ]; echo $?)"
else
	t_skip "a device key that cannot be removed" "mount --bind: $(head -c 200 "$T_WORK/mount.err")"
fi

# 3. Records hold paths relative to the state dir: a moved state dir works.
STATE=$T_WORK/moved-a
join_sw
dev=$(jget "$STATE/device.json" 'd["device_id"]')
t_check "the record's paths are relative to the state dir" \
    "$([ "$(jget "$STATE/device.json" 'd["identity_dir"][:9]+d["certificate"][:9]+d["keys"]["device_key"][:9]')" = identity/identity/identity/ ]; echo $?)"
mv "$T_WORK/moved-a" "$T_WORK/moved-b"
STATE=$T_WORK/moved-b
t_run -- status
set_rel=$(jget "$STATE/device.json" 'd["identity_dir"]')
t_check "a moved state dir: status finds the identity, its paths absolute under the new place" \
    "$([ "$RC" -eq 0 ] && [ "$(jget "$OUT" 'd["certificate"]')" = "$STATE/$set_rel/certificate.pem" ] &&
       [ "$(jget "$OUT" 'd["device_key"]')" = "$STATE/$set_rel/device-key.pem" ]; echo $?)" \
    "exit $RC: $(head -c 300 "$ERR")"
t_run -- leave
t_expect "a moved state dir: leave deletes the device" 0 "left: device $dev"

# A bind-mounted state dir.
STATE=$T_WORK/bind-src
join_sw
mkdir -m 700 "$T_WORK/bind-dst"
if mount --bind "$T_WORK/bind-src" "$T_WORK/bind-dst" 2>"$T_WORK/mount.err"; then
	MOUNTS+=("$T_WORK/bind-dst")
	STATE=$T_WORK/bind-dst
	t_run -- status
	t_expect "a bind-mounted state dir: status" 0
	t_run -- leave
	t_expect "a bind-mounted state dir: leave" 0 "left: device"
else
	t_skip "a bind-mounted state dir" "mount --bind: $(head -c 200 "$T_WORK/mount.err")"
fi

# 4. An older record (absolute paths) is read where it was written...
STATE=$T_WORK/old-a
join_sw
$PY - "$STATE" <<'PY'
import json, os, sys
s = sys.argv[1]; p = os.path.join(s, "device.json"); d = json.load(open(p))
for k in ("identity_dir", "certificate"):
    d[k] = os.path.join(s, d[k])
for k in ("device_key", "transport_key"):
    d["keys"][k] = os.path.join(s, d["keys"][k])
json.dump(d, open(p, "w"), indent=2)
PY
t_run -- status
t_expect "a record with absolute paths (older versions): status" 0
# ...but moved, it names keys this state dir does not hold: like a corrupt
# record, every key set is kept, and the error says what to do.
mv "$T_WORK/old-a" "$T_WORK/old-b"
STATE=$T_WORK/old-b
sets=$(ls "$STATE/identity")
before=$(sums "$STATE")
t_run -- status
t_expect_unhealthy "an absolute record in a moved state dir: status exit 7, saying what to do" 7 \
    "is not a key set of this state dir: if the state dir was moved, renamed or bind-mounted, use it where it was joined"
t_run -- join --token-file "$TOK" --key-store software
t_expect "an absolute record in a moved state dir: join refused, exit 7" 7 "not a key set of this state dir"
t_run -- keygen --key-store software
t_check "an absolute record in a moved state dir: keygen's cleanup keeps every key set" \
    "$([ "$RC" -eq 0 ] && [ "$(ls "$STATE/identity")" = "$sets" ] &&
       [ "$(sums "$STATE" | grep ' ./identity/')" = "$(echo "$before" | grep ' ./identity/')" ]; echo $?)" \
    "exit $RC: $(head -c 300 "$ERR")"
t_run -- join --token-file "$TOK" --key-store software --force --keep-old-device
t_check "an absolute record in a moved state dir: join --force moves it aside, keys kept" \
    "$([ "$RC" -eq 0 ] && [ "$(ls "$STATE"/identity.corrupt-*)" = "$sets" ] &&
       ls "$STATE"/device.json.corrupt-* >/dev/null; echo $?)" "exit $RC: $(head -c 300 "$ERR")"

t_done
