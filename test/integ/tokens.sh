#!/usr/bin/env bash
# The token is checked before any traffic and any change to the state dir;
# each fault has its own message and exit code 3 (bad input).
. "$(dirname "$0")/../lib-integ.sh"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }

# expect_token NAME MESSAGE mint-token args...
expect_token() {
	local name=$1 msg=$2 tok
	shift 2
	tok=$(token_file "$@")
	t_run -- join --token-file "$tok" --key-store software
	t_expect "$name" 3 "$msg"
}

expect_token "expired token" "token: expired" --expired
expect_token "not-yet-valid token" "token: not valid before" --not-before 3600
expect_token "wrong audience" "token: audience 'https://graph.microsoft.com' is not the Device Registration Service" \
    --aud https://graph.microsoft.com

printf 'not-a-jwt\n' >"$T_WORK/bad.jwt"; chmod 600 "$T_WORK/bad.jwt"
t_run -- join --token-file "$T_WORK/bad.jwt"
t_expect "malformed token" 3 "token: not a JWT (expected three dot-separated parts)"
printf '\n\n' >"$T_WORK/empty.jwt"; chmod 600 "$T_WORK/empty.jwt"
t_run -- join --token-file "$T_WORK/empty.jwt"
t_expect "empty token file" 3 "token file $T_WORK/empty.jwt: empty"
t_run -- join --token-file "$T_WORK/missing.jwt"
t_expect "missing token file" 3 "$T_WORK/missing.jwt: No such file or directory"
t_run -- join
t_expect "no token at all" 2 "drsjoin: no token: give --token-file FILE (or - for stdin), --bprt-file FILE, --refresh-token-file FILE or --device-code, or set DRSJOIN_TOKEN, DRSJOIN_BPRT or DRSJOIN_REFRESH_TOKEN"
t_run -- join eyJhbGciOiJSUzI1NiJ9.e30.c2ln
t_expect "a token on argv is refused" 2 "the token is never given on the command line"

t_check "no request reached the emulator, no state was written" \
    "$([ "$(req_count)" -eq 0 ] && [ -z "$(state_files)" ]; echo $?)"

# Good tokens through stdin and the environment.
TOK=$(token_file)
STATE=$T_WORK/state-stdin
t_run --in "$TOK" -- join --token-file - --key-store software
t_expect "token from stdin" 0
STATE=$T_WORK/state-env
t_run --env "DRSJOIN_TOKEN=$(cat "$TOK")" -- join --key-store software
t_expect "token from DRSJOIN_TOKEN" 0
t_check "the token is never in the request log" \
    "$(! grep -qF "$(cut -d. -f2 "$TOK")" "$(emu_requests)"; echo $?)"

# A v2 token (the DRS application id as audience) is accepted.
STATE=$T_WORK/state-v2
t_run -- join --token-file "$(token_file --aud 01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9)" --key-store software
t_expect "v2 token (DRS application id audience)" 0

# The service's own verdict: a token signed by another key.
STATE=$T_WORK/state-badsig
T=$(token_file --sign-with-other-key)
t_run -- join --token-file "$T" --key-store software
t_expect "bad signature: refused by the service" 5 "join: server answered 401"
t_check "refused join leaves no identity and no staged keys" \
    "$([ ! -e "$STATE/device.json" ] && [ -z "$(ls -A "$STATE/staging" 2>/dev/null)" ]; echo $?)"

# --- Issue 23, item 9: tokens as people paste them. JSON quotes (with the
# comma of the line they came from) and "Bearer " are unambiguous: taken
# off with a note; a quoted JWT is never called a refresh token.
JWT=$(cat "$(token_file)")
pasted() {	# NAME CONTENT [--env]: a join with CONTENT as the token succeeds
	local name=$1 f=$T_WORK/pasted.$RANDOM
	printf '%s\n' "$2" >"$f"; chmod 600 "$f"
	STATE=$T_WORK/state-pasted.$RANDOM
	if [ "${3:-}" = --env ]; then
		t_run --env "DRSJOIN_TOKEN=$2" -- join --key-store software
	else
		t_run -- join --token-file "$f" --key-store software
	fi
	t_check "$name: accepted, said in a note, the token not shown" \
	    "$([ "$RC" -eq 0 ] && [ -e "$STATE/device.json" ] && grep -q "$4" "$ERR" &&
	       ! grep -q 'refresh token' "$ERR" && ! grep -qF "${JWT:20:30}" "$ERR"; echo $?)" \
	    "exit $RC; $(head -2 "$ERR")"
}
pasted "a JWT in JSON quotes" "\"$JWT\"" "" "in JSON quotes; read without them"
pasted "a JWT in JSON quotes with the comma after it" "  \"$JWT\"," "" "in JSON quotes"
pasted "a JWT after 'Bearer '" "Bearer $JWT" "" "starts with 'Bearer '"
pasted "a JWT after 'bearer' and a tab" "$(printf 'bearer\t%s' "$JWT")" "" "starts with 'Bearer '"
pasted "DRSJOIN_TOKEN in JSON quotes" "\"$JWT\"" --env "token DRSJOIN_TOKEN: in JSON quotes"
pasted "'Bearer' inside the quotes" "\"Bearer $JWT\"" "" "starts with 'Bearer '"
STATE=$T_WORK/state-pasted-bad
printf '{"token_type": "Bearer", "access_token": "%s"}\n' "$JWT" >"$T_WORK/answer.json"
chmod 600 "$T_WORK/answer.json"
t_run -- join --token-file "$T_WORK/answer.json" --key-store software
t_expect "a whole token answer (JSON object): named as such" 3 \
    "token $T_WORK/answer.json: a JSON object (a token endpoint's answer?), not a token"
t_check "a whole token answer: the token not shown" "$(! grep -qF "${JWT:20:30}" "$ERR"; echo $?)"
printf '"%s\n' "$JWT" >"$T_WORK/open.jwt"; chmod 600 "$T_WORK/open.jwt"
t_run -- join --token-file "$T_WORK/open.jwt" --key-store software
t_expect "a quote that does not close: exit 3, not called a refresh token" 3 \
    "token $T_WORK/open.jwt: starts with a quote that does not close"
t_check "a quote that does not close: no 'refresh token' in the line" \
    "$(! grep -q 'refresh token' "$ERR"; echo $?)"
printf '""\n' >"$T_WORK/quotes.jwt"; chmod 600 "$T_WORK/quotes.jwt"
t_run -- join --token-file "$T_WORK/quotes.jwt" --key-store software
t_expect "empty quotes: an empty token" 3 "token $T_WORK/quotes.jwt: empty"
# Review: a BOM (a Windows editor's), and quotes after 'Bearer ' are
# unambiguous too; anything else before a JWT is named as that, never
# as a refresh token.
pasted "a JWT after a UTF-8 byte order mark" "$(printf '\357\273\277')$JWT" "" "byte order mark"
pasted "'Bearer' then JSON quotes" "Bearer \"$JWT\"" "" "in JSON quotes"
before_jwt() {	# NAME CONTENT BYTES: refused, naming the bytes before the JWT
	STATE=$T_WORK/state-pasted-bad
	printf '%s\n' "$2" >"$T_WORK/before.jwt"; chmod 600 "$T_WORK/before.jwt"
	t_run -- join --token-file "$T_WORK/before.jwt" --key-store software
	t_expect "$1: exit 3, the bytes before the JWT named" 3 \
	    "token $T_WORK/before.jwt: $3 before the JWT in it"
	t_check "$1: not called a refresh token, the token not shown" \
	    "$(! grep -q 'refresh token' "$ERR" && ! grep -qF "${JWT:20:30}" "$ERR"; echo $?)" \
	    "$(head -2 "$ERR")"
}
before_jwt "a JWT in single quotes" "'$JWT'" "1 byte"
before_jwt "a whole Authorization header" "Authorization: Bearer $JWT" "22 bytes"
# A file whose name is a secret (a token pasted as the name, and a file by
# that name): the name is shown as an argument would be.
NAME=$(head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '0.%s\n' "$(head -c 80 /dev/zero | tr '\0' A)" >"$T_WORK/$NAME"; chmod 600 "$T_WORK/$NAME"
STATE=$T_WORK/state-pasted-bad
t_run -- join --token-file "$T_WORK/$NAME" --key-store software
t_expect "a refresh token in a file named like a secret: exit 3" 3 "this looks like a refresh token or BPRT"
t_check "a refresh token in a file named like a secret: the name not shown" \
    "$(! grep -qF "${NAME:10:40}" "$ERR"; echo $?)" "$(head -1 "$ERR")"
# A NUL byte: what follows it was neither checked nor wiped (strlen).
printf '%s\0%s\n' "$JWT" "tail" >"$T_WORK/nul.jwt"; chmod 600 "$T_WORK/nul.jwt"
STATE=$T_WORK/state-pasted-bad
t_run -- join --token-file "$T_WORK/nul.jwt" --key-store software
t_expect "a token file holding a NUL byte: exit 3, its offset named" 3 \
    "token $T_WORK/nul.jwt: holds a NUL byte at offset ${#JWT}"
# A member line copied from a token answer: named as such, not as a quote
# that "does not close".
printf '  "access_token": "%s",\n' "$JWT" >"$T_WORK/member.jwt"; chmod 600 "$T_WORK/member.jwt"
STATE=$T_WORK/state-pasted-bad
t_run -- join --token-file "$T_WORK/member.jwt" --key-store software
t_expect "a JSON member line: exit 3, named as a JSON member" 3 \
    "token $T_WORK/member.jwt: a JSON member (\"name\": value), not a token: give the token's value alone"
t_check "a JSON member line: the token not shown" "$(! grep -qF "${JWT:20:30}" "$ERR"; echo $?)"
t_check "bad pasted tokens: nothing in the state dir" "$([ -z "$(state_files)" ]; echo $?)"

t_done
