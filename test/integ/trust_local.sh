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
t_expect_unhealthy "device.json is a symlink: refused" 7 "$STATE/device.json: a symbolic link, refused"

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
	t_expect_unhealthy "a state dir owned by another user: refused" 7 "state dir $STATE: owned by uid 12345"
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
t_check "relative --state-dir: the record holds paths relative to the state dir, not the working directory" \
    "$([ "$(jget "$T_WORK/cwd1/rel/device.json" 'd["identity_dir"][:9]+d["certificate"][:9]+d["keys"]["device_key"][:9]+d["keys"]["transport_key"][:9]')" = identity/identity/identity/identity/ ]; echo $?)"
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
t_expect_unhealthy "corrupt record: status names the file and what is wrong" 7 "$STATE/device.json: not valid JSON"
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

# --- Pipes. Replays: when discover failed, the next phases read the empty
# pipe as a new document and the pipeline went on, and could exit 0.
STATE=$T_WORK/st-pipe
export DRSJOIN_DISCOVERY_URL=$EMU_URL DRSJOIN_STATE_DIR=$STATE SSL_CERT_FILE=$EMU_CA
before=$(emu_device_count)
RC=0
(set -o pipefail
 "$DRSJOIN" --new discover --tenant no-such-tenant.example 2>"$ERR" | "$DRSJOIN" nonce 2>>"$ERR" |
    "$DRSJOIN" keygen --key-store software 2>>"$ERR" | "$DRSJOIN" csr 2>>"$ERR" |
    "$DRSJOIN" join --token-file "$TOK" >"$OUT" 2>>"$ERR") || RC=$?
t_check "a failed discover stops the pipeline: no device, no output" \
    "$([ "$RC" -ne 0 ] && [ "$(emu_device_count)" -eq "$before" ] && [ ! -s "$OUT" ] &&
       [ "$(grep -c 'no document on stdin: did the previous phase fail?' "$ERR")" -eq 4 ]; echo $?)"
RC=0; : | "$DRSJOIN" join --token-file "$TOK" >"$OUT" 2>"$ERR" || RC=$?
t_expect "join on an empty pipe: exit 3, no earlier phase blamed" 3 \
    "no document on stdin: it is empty, nothing was written to it"
: >"$T_WORK/empty"
RC=0; "$DRSJOIN" keygen --key-store software <"$T_WORK/empty" >"$OUT" 2>"$ERR" || RC=$?
t_expect "keygen on an empty file as stdin: exit 3" 3 "no document on stdin"
printf ' \n\t\n' >"$T_WORK/blank"
RC=0; "$DRSJOIN" keygen --key-store software --in "$T_WORK/blank" >"$OUT" 2>"$ERR" </dev/null || RC=$?
t_expect "--in an empty (blank) file: exit 3" 3 "$T_WORK/blank: empty, no document"
t_check "an empty input made no key set" "$([ -z "$(ls -A "$STATE/staging" 2>/dev/null)" ]; echo $?)"
RC=0; : | "$DRSJOIN" --new keygen --key-store software >"$OUT" 2>"$ERR" || RC=$?
t_expect "--new starts a document without reading stdin" 0
RC=0; "$DRSJOIN" keygen --key-store software </dev/null >"$OUT" 2>"$ERR" || RC=$?
t_expect "stdin /dev/null starts a new document" 0
RC=0; "$DRSJOIN" --new keygen --in "$T_WORK/blank" >"$OUT" 2>"$ERR" </dev/null || RC=$?
t_expect "--new with --in: usage error" 2 "--new and --in contradict each other"
unset DRSJOIN_DISCOVERY_URL DRSJOIN_STATE_DIR SSL_CERT_FILE

# --- The command line. Replays: "join --token eyJ..." was taken as
# --token-file and the whole token printed in the error.
STATE=$T_WORK/st-cli
JWT=$(cat "$TOK")
t_run -- join --token "$JWT"
t_expect "join --token JWT: refused, exit 2" 2 "unknown option '--token' (options are not abbreviated: '--token-file'?)"
t_check "join --token JWT: the token is not printed" "$(! grep -qF "${JWT:0:20}" "$ERR"; echo $?)"
t_run -- join "--token=$JWT"
t_check "join --token=JWT: refused, token not printed" \
    "$([ "$RC" -eq 2 ] && ! grep -qF "${JWT:0:20}" "$ERR" && grep -qF "'--token'" "$ERR"; echo $?)"
t_run -- join "$JWT"
t_check "join JWT (an argument): refused, token not printed" \
    "$([ "$RC" -eq 2 ] && ! grep -qF "${JWT:0:20}" "$ERR" && grep -qF 'characters, not shown' "$ERR"; echo $?)"
t_run -- "--timeout=$JWT" status
t_check "--timeout JWT: refused, token not printed" \
    "$([ "$RC" -eq 2 ] && ! grep -qF "${JWT:0:20}" "$ERR"; echo $?)"
RT=0.AXEAq8nQb3Z1dGhlbnRpY2F0ZWRGcm9tVGhlVG9rZW5TZXJ2aWNlX3JlZnJlc2gtdG9rZW4tdGVzdA
t_run -- join "$RT"
t_check "a refresh token as an argument is not printed" \
    "$([ "$RC" -eq 2 ] && ! grep -qF "AXEAq8nQ" "$ERR"; echo $?)"
# Every option of every command, abbreviated by one letter, is refused.
t_run -- --help
cmds=$(sed -n '/^Commands:/,/^$/p' "$OUT" | awk 'NR > 1 && NF { print $1 }')
abbrev_bad=""
for cmd in "" $cmds; do
	if [ -z "$cmd" ]; then t_run -- --help; else t_run -- "$cmd" --help; fi
	for o in $(grep -o -- '--[a-z][a-z-]*[a-z]' "$OUT" | sort -u); do
		short=${o%?}
		[ ${#short} -ge 3 ] || continue
		grep -q -- "^ *$short\b\|[[ ]$short[] =]" "$OUT" && continue	# a real option
		if [ -z "$cmd" ]; then t_run -- "$short" status; else t_run -- "$cmd" "$short"; fi
		[ "$RC" -eq 2 ] && grep -qF "unknown option '$short'" "$ERR" ||
		    abbrev_bad="$abbrev_bad ${cmd:-global}:$short($RC)"
	done
done
t_check "no option of any command can be abbreviated${abbrev_bad:+:$abbrev_bad}" \
    "$([ -z "$abbrev_bad" ] && [ -n "$cmds" ]; echo $?)"

# --- The process. Replays: with fd 1 or 2 closed at start, output landed
# in the state dir's lock file.
STATE=$T_WORK/st-fds
export DRSJOIN_STATE_DIR=$STATE
RC=0; "$DRSJOIN" keygen --key-store software </dev/null >&- 2>"$ERR" || RC=$?
t_check "stdout closed: the document does not land in the lock file" \
    "$([ "$RC" -eq 0 ] && [ -f "$STATE/.lock" ] && [ ! -s "$STATE/.lock" ]; echo $?)"
RC=0; "$DRSJOIN" --tcti device:/nonexistent/tpm keygen --key-store auto </dev/null >"$OUT" 2>&- || RC=$?
t_check "stderr closed: notes do not land in the lock file" \
    "$([ "$RC" -eq 0 ] && [ ! -s "$STATE/.lock" ] && [ -s "$OUT" ]; echo $?)"
RC=0; "$DRSJOIN" keygen --key-store software <&- >"$OUT" 2>"$ERR" || RC=$?
t_check "stdin closed: a new document, as with /dev/null" "$([ "$RC" -eq 0 ] && [ ! -s "$STATE/.lock" ]; echo $?)"
unset DRSJOIN_STATE_DIR
# Secrets leave the environment at start; no core dumps. drsjoin is held
# waiting for the state dir's lock, which we hold: its "waiting" note, read
# from a FIFO, says it is there.
mkfifo "$T_WORK/errfifo"
exec 6>>"$STATE/.lock"
flock -x 6
SECRET_RT=0.AXEAsecretREFRESHtoken1234567890abcdefghijklmnop
DRSJOIN_TOKEN=$JWT DRSJOIN_REFRESH_TOKEN=$SECRET_RT DRSJOIN_STATE_DIR=$STATE \
    "$DRSJOIN" keygen --key-store software </dev/null >/dev/null 2>"$T_WORK/errfifo" 6>&- &
pid=$!
exec 7<"$T_WORK/errfifo"
read -r note <&7
env_now=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null)
limits=$(cat "/proc/$pid/limits" 2>/dev/null)
exec 6>&-
RC=0; wait "$pid" || RC=$?
exec 7<&-
t_check "held at the lock (the test's own synchronisation)" \
    "$([ "$RC" -eq 0 ] && grep -q 'waiting for another drsjoin' <<<"$note"; echo $?)"
t_check "DRSJOIN_TOKEN and DRSJOIN_REFRESH_TOKEN are gone from /proc/PID/environ" \
    "$([ -n "$env_now" ] && ! grep -qF "${JWT:0:20}" <<<"$env_now" &&
       ! grep -qF "$SECRET_RT" <<<"$env_now" && grep -q '^DRSJOIN_STATE_DIR=' <<<"$env_now"; echo $?)"
t_check "core dumps off (RLIMIT_CORE 0)" \
    "$(grep -q '^Max core file size *0 *0 ' <<<"$limits"; echo $?)"
# Issue 16: a name given twice (execve() takes such an environment; env(1)
# cannot make one) is wiped in every copy, not only the first.
mkfifo "$T_WORK/errfifo2"
exec 6>>"$STATE/.lock"
flock -x 6
SECOND_RT=0.AXEAsecondREFRESHcopy0987654321zyxwvutsrqponmlkj
"$PY" -c '
import ctypes, os, sys
path, state, tok, rt = (a.encode() for a in sys.argv[1:5])
argv = [path, b"keygen", b"--key-store", b"software"]
envp = [b"DRSJOIN_TOKEN=" + tok, b"DRSJOIN_STATE_DIR=" + state,
        b"DRSJOIN_REFRESH_TOKEN=" + rt, b"DRSJOIN_TOKEN=" + rt + b"X",
        b"PATH=" + os.environ["PATH"].encode()]
arr = lambda l: (ctypes.c_char_p * (len(l) + 1))(*l, None)
libc = ctypes.CDLL(None, use_errno=True)
libc.execve(path, arr(argv), arr(envp))
sys.exit("execve: %s" % os.strerror(ctypes.get_errno()))
' "$DRSJOIN" "$STATE" "$JWT" "$SECOND_RT" </dev/null >/dev/null 2>"$T_WORK/errfifo2" 6>&- &
pid=$!
exec 7<"$T_WORK/errfifo2"
read -r note <&7
env_now=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null)
exec 6>&-
RC=0; wait "$pid" || RC=$?
exec 7<&-
t_check "a name given twice: held at the lock (the test's own synchronisation)" \
    "$([ "$RC" -eq 0 ] && grep -q 'waiting for another drsjoin' <<<"$note"; echo $?)"
t_check "a name given twice: no copy left in /proc/PID/environ" \
    "$([ "$(grep -c '^DRSJOIN_TOKEN=' <<<"$env_now")" -eq 2 ] &&
       ! grep -qF "${JWT:0:20}" <<<"$env_now" && ! grep -qF "${SECOND_RT:0:20}" <<<"$env_now" &&
       grep -q '^DRSJOIN_STATE_DIR=' <<<"$env_now"; echo $?)" \
    "environ: $(tr '\n' '|' <<<"$env_now" | cut -c1-300)"
# A token file others can read: a warning (the join still goes on).
cp "$TOK" "$T_WORK/tok644"; chmod 644 "$T_WORK/tok644"
STATE=$T_WORK/st-tokmode
t_run -- join --token-file "$T_WORK/tok644" --key-store software
t_check "a token file readable by others: warned, named" \
    "$([ "$RC" -eq 0 ] && grep -qF "warning: token file $T_WORK/tok644 can be read by others (mode 0644)" "$ERR"; echo $?)"
chmod 640 "$T_WORK/tok644"
t_run -- join --token-file "$T_WORK/tok644" --key-store software --force
t_check "a token file readable by its group: warned" "$(grep -q 'can be read by its group' "$ERR"; echo $?)"
t_run -- join --token-file "$TOK" --key-store software --force
t_check "a 0600 token file: no warning" "$([ "$RC" -eq 0 ] && ! grep -q 'warning: token file' "$ERR"; echo $?)"

# --- Output. Replays: terminal escapes in a document string and in a
# server string reached stderr as they were.
# stderr is valid UTF-8 without C0 (but the newlines), DEL or C1 controls.
no_raw_controls() {
	"$PY" -c 'import sys,re; t=open(sys.argv[1],"rb").read().decode("utf-8")
sys.exit(1 if re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]", t) else 0)' "$ERR" 2>/dev/null
}
printf '{"schema": "drsjoin/9\\u001b]0;pwned\\u0007\\u001b[2J"}' >"$T_WORK/esc.json"
t_run -- keygen --in "$T_WORK/esc.json"
t_expect "escape in a document string: refused" 3 'drsjoin/9\x1b]0;pwned\x07\x1b[2J'
t_check "escape in a document string: no control byte on stderr" "$(no_raw_controls; echo $?)"
printf '{"schema": "drsjoin/1", "keys": {"store": "software", "dir": "/x\\u009b31m\\u202e\\u00ff%s"}}' "$(head -c 5000 /dev/zero | tr '\0' A)" >"$T_WORK/esc2.json"
STATE=$T_WORK/st-esc
t_run --in "$T_WORK/esc2.json" -- join --token-file "$TOK"
t_check "C1 CSI and bidi override in keys.dir: escaped, the line capped" \
    "$([ "$RC" -eq 3 ] && no_raw_controls && grep -qF '\xc2\x9b31m\xe2\x80\xae' "$ERR" &&
       [ "$(wc -c <"$ERR")" -le 1100 ]; echo $?)"
# A server: a tiny HTTPS server of our own answering every request with
# escapes, invalid UTF-8 and a huge message.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_WORK/hk.pem" -out "$T_WORK/hc.pem" \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 2 >/dev/null 2>&1
exec 5< <(exec "$PY" - "$T_WORK/hc.pem" "$T_WORK/hk.pem" <<'PY'
import http.server, json, ssl, sys
EVIL = "bad\x1b]0;pwned\x07\x1b[31m\u009b2J\u202e" + "B" * 100000
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if "html" in self.path:
            body, ctype, code = b"<html>\x1b[31m\xff\xfe" + b"x" * 5000, "text/html", 200
        else:
            body = json.dumps({"ErrorType": "Evil\x1b[5m", "Message": EVIL,
                               "TraceId": "t\x1b[0m"}).encode()
            body = body.replace(b"\\u00ff", b"\xff")
            ctype, code = "application/json", 400
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_POST = do_GET
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
PY
)
hpid=$!
trap 'kill "$hpid" 2>/dev/null; t_cleanup' EXIT
read -r HPORT <&5
for path in "" /html; do
	STATE=$T_WORK/st-evil
	t_run --env SSL_CERT_FILE="$T_WORK/hc.pem" --env DRSJOIN_DISCOVERY_URL="https://127.0.0.1:$HPORT$path" \
	    -- --attempts 1 discover --tenant contoso.example
	t_check "server strings with escapes (${path:-json}): exit 4 or 5, escaped, one capped line" \
	    "$([ "$RC" -eq 4 ] || [ "$RC" -eq 5 ]; r=$?; [ $r -eq 0 ] && no_raw_controls && grep -qF '\x1b' "$ERR" &&
	       [ "$(errors)" -eq 1 ] && [ "$(wc -c <"$ERR")" -le 1100 ]; echo $?)"
done

# A tampered record at a terminal: status's summary is escaped too.
STATE=$T_WORK/st-tty
t_run -- join --token-file "$TOK" --key-store software
$PY -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["tenant_domain"]="evil\u001b]0;pwned\u0007\u009b2J"; json.dump(d,open(p,"w"))' "$STATE/device.json"
if command -v script >/dev/null; then
	DRSJOIN_STATE_DIR=$STATE script -qec "$DRSJOIN status" /dev/null </dev/null |
	    tr -d '\r' >"$T_WORK/tty" || true
	t_check "status at a terminal: no control character from the record" \
	    "$(grep -q 'evil' "$T_WORK/tty" && ! LC_ALL=C grep -q $'[\x1b\x07]' "$T_WORK/tty" &&
	       ! LC_ALL=C grep -q $'\xc2\x9b' "$T_WORK/tty"; echo $?)"
else
	t_skip "status at a terminal: record strings escaped" "no script(1)"
fi

# Everything written reads back: a join with the largest values accepted
# (a 1024-byte UPN, a 256-character display name) and status reads it.
# (Replays: a 900 KB UPN was written into a record the reader refused.)
STATE=$T_WORK/st-big
BIGUPN=$(head -c 1008 /dev/zero | tr '\0' u)@$EMU_TENANT_DOMAIN
BIGNAME=$(head -c 256 /dev/zero | tr '\0' n)
t_run -- join --token-file "$(token_file --upn "$BIGUPN")" --key-store software --display-name "$BIGNAME"
t_expect "largest values: join" 0
t_run -- status --json
t_check "largest values: status reads them back" \
    "$([ "$RC" -eq 0 ] && [ ${#BIGUPN} -eq 1024 ] && [ "$(jget "$OUT" 'd["upn"]')" = "$BIGUPN" ] &&
       [ "$(jget "$OUT" 'd["display_name"]')" = "$BIGNAME" ]; echo $?)"

t_done
