#!/usr/bin/env bash
# The systemd units: systemd-analyze verify and security, the directives
# the issue asks for, and drsjoin working under the units' sandbox. systemd
# is not PID 1 here, so the sandbox is rebuilt with unshare(1) and
# setpriv(1) from the same facts: every mount read-only (ProtectSystem=
# strict) but the state dir (ReadWritePaths=), a private /tmp, the token in
# a read-only credentials dir, no new privileges, no capabilities, umask
# 077; ExecStart= is taken from the installed unit.
. "$(dirname "$0")/../lib-integ.sh"

D=$T_WORK/dest
make -s -C "$DRSJOIN_TOP" install DESTDIR="$D" PREFIX=/usr UNITDIR=/lib/systemd/system \
    INSTALL_BIN="$DRSJOIN" >/dev/null 2>"$ERR" || { t_fail "make install" "failed"; exit 1; }
U=$D/lib/systemd/system
JOIN=$U/drsjoin-join.service
LEAVE=$U/drsjoin-leave.service

if ! command -v systemd-analyze >/dev/null; then
	t_skip "systemd-analyze" "not installed (scripts/install-deps.sh installs systemd)"
else
	# verify needs ExecStart's binary and Documentation='s man page to exist.
	mkdir -p "$T_WORK/units"
	for u in "$JOIN" "$LEAVE"; do
		sed "s|/usr/sbin/drsjoin|$D/usr/sbin/drsjoin|g" "$u" >"$T_WORK/units/${u##*/}"
	done
	out=$(MANPATH=$D/usr/share/man systemd-analyze verify "$T_WORK"/units/*.service 2>&1)
	t_check "systemd-analyze verify: both units clean (it exits 0 on warnings: no output either)" "$([ $? -eq 0 ] && [ -z "$out" ]; echo $?)" "$out"
	sed 's/^ProtectSystem=strict/ProtectSytem=strict/; s/^Type=oneshot/Type=oneshoot/' \
	    "$T_WORK/units/drsjoin-join.service" >"$T_WORK/units/broken.service"
	out=$(MANPATH=$D/usr/share/man systemd-analyze verify "$T_WORK/units/broken.service" 2>&1)
	t_check "systemd-analyze verify notices a broken unit" \
	    "$(grep -q "Unknown key 'ProtectSytem'" <<<"$out" && grep -q 'oneshoot' <<<"$out"; echo $?)" "$out"
	rm "$T_WORK/units/broken.service"
	# The README states the figure: it must be the one measured.
	readme=$(sed -n 's/.*`systemd-analyze security` rates them \([0-9.]*\)[^0-9].*/\1/p' \
	    "$DRSJOIN_TOP/docs/configuration.md")
	for u in drsjoin-join drsjoin-leave; do
		lvl=$(systemd-analyze security --offline=yes "$T_WORK/units/$u.service" 2>&1 |
		    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p')
		t_check "$u: systemd-analyze security exposure at most 2.5, as docs/configuration.md says ($readme; got $lvl)" \
		    "$([ -n "$lvl" ] && awk -v l="$lvl" 'BEGIN { exit !(l <= 2.5) }' &&
		       [ "$lvl" = "$readme" ]; echo $?)"
	done
fi

has() { grep -qxF -- "$2" "$1"; }
t_check "join unit: oneshot, once (ConditionPathExists=! on the identity), token by LoadCredential=" \
    "$(has "$JOIN" 'Type=oneshot' && has "$JOIN" 'ConditionPathExists=!/var/lib/drsjoin/device.json' &&
       has "$JOIN" 'LoadCredential=drsjoin-token:/etc/drsjoin/token.jwt' &&
       has "$JOIN" 'SetCredential=drsjoin-token:\n' &&
       grep -q '^ExecStart=/usr/sbin/drsjoin [a-z -]*join$' "$JOIN" &&
       has "$JOIN" 'After=network-online.target time-sync.target'; echo $?)"
t_check "leave unit: leaves in ExecStop=, after the network (stopped before it)" \
    "$(grep -q '^ExecStop=/usr/sbin/drsjoin .*leave' "$LEAVE" && has "$LEAVE" 'RemainAfterExit=yes' &&
       grep -q '^After=network-online.target' "$LEAVE"; echo $?)"
t_check "join unit: restarts on failure after RestartSec=, without a start limit, never on exit 2 or 3" \
    "$(has "$JOIN" 'Restart=on-failure' && grep -qx 'RestartSec=[1-9][0-9]*\(s\|min\)' "$JOIN" &&
       has "$JOIN" 'RestartPreventExitStatus=2 3' && has "$JOIN" 'StartLimitIntervalSec=0' &&
       ! grep -q '^Restart\(Steps\|MaxDelaySec\)=' "$JOIN"; echo $?)"
t_check "both units: stdout (the JSON) not in the journal, stderr (the one line) in it: stderr follows stdout unless said" \
    "$(has "$JOIN" 'StandardOutput=null' && has "$LEAVE" 'StandardOutput=null' &&
       has "$JOIN" 'StandardError=journal' && has "$LEAVE" 'StandardError=journal'; echo $?)"
t_check "leave unit: not joined (exit 8) is success" \
    "$(has "$LEAVE" 'SuccessExitStatus=8' && ! grep -q '^Restart=' "$LEAVE"; echo $?)"
# What systemd does with an exit code of the join, from the unit's lists.
restarts() {	# CODE: 0 when Restart=on-failure restarts after it
	local c=$1
	[ "$c" -ne 0 ] && ! grep -q "^SuccessExitStatus=.*\b$c\b" "$JOIN" &&
	    ! sed -n 's/^RestartPreventExitStatus=//p' "$JOIN" | tr ' ' '\n' | grep -qx "$c"
}
miss=
for d in ProtectSystem=strict ReadWritePaths=/var/lib/drsjoin PrivateTmp=yes NoNewPrivileges=yes \
    CapabilityBoundingSet= 'DeviceAllow=/dev/tpmrm0 rw' ProtectHome=yes; do
	has "$JOIN" "$d" && has "$LEAVE" "$d" || miss="$miss $d"
done
t_check "both units: the hardening directives" "$([ -z "$miss" ]; echo $?)" "missing:$miss"
t_check "both units: the system-call filter lets drsjoin's Landlock calls through" \
    "$(grep -q '^SystemCallFilter=@system-service landlock_create_ruleset landlock_add_rule landlock_restrict_self$' "$JOIN" &&
       grep -q '^SystemCallFilter=@system-service landlock_create_ruleset' "$LEAVE" &&
       has "$JOIN" 'SystemCallErrorNumber=EPERM'; echo $?)"

if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null || ! command -v setpriv >/dev/null; then
	t_skip "drsjoin under the units' sandbox" "needs root, unshare -m and setpriv"
	t_done; exit
fi
emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }

# sandboxed UNIT KEY RW [ENV...]: runs the unit's Exec KEY (ExecStart or
# ExecStop) in the sandbox with STATE as /var/lib/drsjoin, writable when RW
# is "unit" and the unit says ReadWritePaths=/var/lib/drsjoin (or RW is 1).
# The credential drsjoin-token is the file TOKEN, or without one (TOKEN
# empty) the unit's SetCredential= default, as systemd does; CRED2=ID:FILE
# adds another (ID@TARGET: a symbolic link); CONF is the config file (DRSJOIN_CONFIG=/run/bin/drsjoin.conf)
# and BPRT a file it may name as /run/bin/bprt. Sets RC, OUT, ERR.
sandboxed() {
	local unit=$1 key=$2 rw=$3; shift 3
	local cmd
	cmd=$(sed -n "s/^$key=//p" "$unit")
	if [ "$rw" = unit ]; then
		rw=0
		grep -qx 'ReadWritePaths=/var/lib/drsjoin' "$unit" && rw=1
	fi
	local dflt
	dflt=$(sed -n 's/^SetCredential=drsjoin-token://p' "$unit")
	RC=0
	unshare -m --propagation private /bin/bash -c '
		set -e
		unit_cmd=$1 rw=$2 state=$3 bin=$4 token=$5 ca=$6 conf=$7 dflt=$8 cred2=$9
		bprt=${10}; shift 10
		# ProtectSystem=strict: every mount read-only but the API ones.
		findmnt -rn -o TARGET | while read -r m; do
			case $m in /proc* | /sys* | /dev*) continue ;; esac
			mount -o remount,bind,ro "$m" 2>/dev/null || true
		done
		# The credential (read-only), the binary and the CA bundle.
		mount -t tmpfs -o mode=0755 tmpfs /run
		mkdir -p /run/credentials/unit /run/bin
		if [ -n "$token" ]; then
			install -m 0400 "$token" /run/credentials/unit/drsjoin-token
		else
			printf "%b" "$dflt" >/run/credentials/unit/drsjoin-token
			chmod 0400 /run/credentials/unit/drsjoin-token
		fi
		case $cred2 in
		"") ;;
		*@*) ln -s "${cred2#*@}" "/run/credentials/unit/${cred2%%@*}" ;;
		*) install -m 0400 "${cred2#*:}" "/run/credentials/unit/${cred2%%:*}" ;;
		esac
		install -m 0755 "$bin" /run/bin/drsjoin
		install -m 0644 "$ca" /run/bin/ca.pem
		# /etc/drsjoin/drsjoin.conf stands in here (DRSJOIN_CONFIG).
		[ -z "$conf" ] || install -m 0600 "$conf" /run/bin/drsjoin.conf
		# A BPRT the config file names (/tmp is the unit'"'"'s own).
		[ -z "$bprt" ] || install -m 0600 "$bprt" /run/bin/bprt
		mount -o remount,ro /run
		# StateDirectory=drsjoin, ReadWritePaths=/var/lib/drsjoin.
		mount -t tmpfs -o mode=0755 tmpfs /var/lib
		mkdir -m 0700 /var/lib/drsjoin
		mount --bind "$state" /var/lib/drsjoin
		[ "$rw" = 1 ] && mount -o remount,bind,rw /var/lib/drsjoin
		mount -o remount,ro /var/lib
		mount -t tmpfs -o mode=1777 tmpfs /tmp		# PrivateTmp=yes
		umask 077					# UMask=0077
		unit_cmd=${unit_cmd//\$\{CREDENTIALS_DIRECTORY\}/\/run\/credentials\/unit}
		unit_cmd=${unit_cmd//\/usr\/sbin\/drsjoin/\/run\/bin\/drsjoin}
		# NoNewPrivileges=yes, CapabilityBoundingSet= (empty).
		exec setpriv --no-new-privs --bounding-set=-all --inh-caps=-all \
		    env -i PATH=/usr/bin:/bin SSL_CERT_FILE=/run/bin/ca.pem \
		    CREDENTIALS_DIRECTORY=/run/credentials/unit "$@" $unit_cmd
	' sandbox "$cmd" "$rw" "$STATE" "$DRSJOIN" "$TOKEN" "$EMU_CA" "${CONF:-}" \
	    "$dflt" "${CRED2:-}" "${BPRT:-}" \
	    DRSJOIN_DISCOVERY_URL="$EMU_URL" "$@" >"$OUT" 2>"$ERR" || RC=$?
}

# The exit codes drsjoin really gives, through the unit's lists.
TOKEN=$(printf 'not.a.token\n' >"$T_WORK/bad.tok"; echo "$T_WORK/bad.tok")
STATE=$T_WORK/state-fail
mkdir -m 700 -p "$STATE"
sandboxed "$JOIN" ExecStart unit
t_check "join unit: a bad token (exit 3) is not restarted" \
    "$([ "$RC" -eq 3 ] && ! restarts "$RC"; echo $?)" "rc $RC"
TOKEN=$(token_file)
sandboxed "$JOIN" ExecStart unit DRSJOIN_DISCOVERY_URL=https://127.0.0.1:9
t_check "join unit: the service unreachable (exit 4) is restarted" \
    "$([ "$RC" -eq 4 ] && restarts "$RC" && [ ! -e "$STATE/device.json" ]; echo $?)" "rc $RC"
sandboxed "$LEAVE" ExecStop unit
t_check "leave unit: leave on a machine never joined exits 8, which the unit counts as success" \
    "$([ "$RC" -eq 8 ] && has "$LEAVE" 'SuccessExitStatus=8'; echo $?)" "rc $RC"
STATE=$T_WORK/state
mkdir -m 700 -p "$STATE"
sandboxed "$JOIN" ExecStart 0
t_check "sandbox without ReadWritePaths=: the join fails on the read-only state dir (exit 7), no identity" \
    "$([ "$RC" -eq 7 ] && grep -q 'Read-only file system' "$ERR" && [ -z "$(ls -A "$STATE")" ]; echo $?)" "rc $RC"
sandboxed "$JOIN" ExecStart unit
dev=$(jget "$STATE/device.json" 'd["device_id"]')
t_check "drsjoin-join.service's ExecStart joins under the sandbox (software keys); stderr, the journal's, ends with the one-line summary" \
    "$([ "$RC" -eq 0 ] && [ -n "$dev" ] && [ "$(jget "$OUT" 'd["device"]["device_id"]')" = "$dev" ] &&
       [ "$(tail -n 1 "$ERR")" = "drsjoin: joined: device $dev in tenant $EMU_TENANT_ID" ] &&
       ! grep -qv '^drsjoin: [a-z]' "$ERR"; echo $?)" \
    "rc $RC: $(head -c 300 "$ERR")"
t_check "the identity the join made is the unit's ConditionPathExists=! (the next boot skips it)" \
    "$(grep -qx "ConditionPathExists=!/var/lib/drsjoin/device.json" "$JOIN" && [ -f "$STATE/device.json" ]; echo $?)"
t_check "under UMask=0077 only the (public) certificate and status.json are readable by others; the state dir is 0711" \
    "$([ -z "$(find "$STATE" -mindepth 1 -perm /077 ! -type l ! -name certificate.pem ! -name status.json)" ] &&
       [ "$(stat -c %a "$STATE")" = 711 ] && [ "$(stat -c %a "$STATE/status.json")" = 644 ]; echo $?)" \
    "$(find "$STATE" -perm /077 | head -3)"

# The token sources under the unit: token.jwt's credential, or without it
# (a blank credential) the config file's; both at once is refused.
emu_token --bprt >"$T_WORK/bprt"
CONF=$T_WORK/drsjoin.conf BPRT=$T_WORK/bprt
printf 'tenant = %s\nbprt-file = /run/bin/bprt\nkey-store = software\n' "$EMU_TENANT_DOMAIN" >"$CONF"
STATE=$T_WORK/state-bprt; mkdir -m 700 "$STATE"
n=$(req_count token)
TOKEN= sandboxed "$JOIN" ExecStart unit DRSJOIN_CONFIG=/run/bin/drsjoin.conf
t_check "join unit: the config file's bprt-file joins without token.jwt (the blank default credential)" \
    "$([ "$RC" -eq 0 ] && [ -f "$STATE/device.json" ] && [ "$(req_count token)" -gt "$n" ]; echo $?)" \
    "rc $RC: $(head -c 300 "$ERR")"
STATE=$T_WORK/state-both; mkdir -m 700 "$STATE"
n=$(req_count)
sandboxed "$JOIN" ExecStart unit DRSJOIN_CONFIG=/run/bin/drsjoin.conf
t_check "join unit: token.jwt and the config file's bprt-file both: exit 2 naming both, nothing sent" \
    "$([ "$RC" -eq 2 ] && grep -q 'drsjoin.conf:2: bprt-file and the systemd credential drsjoin-token both give a token' "$ERR" &&
       [ "$(req_count)" -eq "$n" ] && [ -z "$(state_files)" ]; echo $?)" "rc $RC: $(head -c 300 "$ERR")"
STATE=$T_WORK/state-none; mkdir -m 700 "$STATE"
printf ' \n\t\n          \n\n' >"$T_WORK/blank"
CONF= BPRT= TOKEN= CRED2=drsjoin-refresh-token:$T_WORK/blank sandboxed "$JOIN" ExecStart unit
t_check "join unit: no token.jwt, no token in the config file (and a longer blank credential): exit 2, what to do, not restarted, nothing sent" \
    "$([ "$RC" -eq 2 ] && grep -q '^drsjoin: no token: put an access token in /etc/drsjoin/token.jwt, or name bprt-file' "$ERR" &&
       ! restarts "$RC" && [ "$(req_count)" -eq "$n" ] && [ -z "$(state_files)" ]; echo $?)" "rc $RC: $(head -c 300 "$ERR")"
CONF= BPRT= CRED2=drsjoin-bprt:$T_WORK/bprt sandboxed "$JOIN" ExecStart unit
t_check "join unit: two credentials holding a token (drsjoin-token, a drop-in's drsjoin-bprt): exit 2 naming both" \
    "$([ "$RC" -eq 2 ] && grep -q 'credentials drsjoin-token and drsjoin-bprt both hold a token' "$ERR" &&
       [ "$(req_count)" -eq "$n" ] && [ -z "$(state_files)" ]; echo $?)" "rc $RC: $(head -c 300 "$ERR")"
CONF= BPRT= TOKEN= CRED2=drsjoin-bprt@/run/bin/ca.pem sandboxed "$JOIN" ExecStart unit
t_check "join unit: a credential that is a symbolic link: exit 3 naming it, nothing sent" \
    "$([ "$RC" -eq 3 ] && grep -q 'systemd credential drsjoin-bprt (/run/credentials/unit/drsjoin-bprt): a symbolic link, refused' "$ERR" &&
       [ "$(req_count)" -eq "$n" ] && [ -z "$(state_files)" ]; echo $?)" "rc $RC: $(head -c 300 "$ERR")"
CONF= BPRT= TOKEN= sandboxed "$JOIN" ExecStart unit CREDENTIALS_DIRECTORY=/run/credentials/unit/drsjoin-token
t_check "join unit: a CREDENTIALS_DIRECTORY that is not a directory: exit 3 naming the credential" \
    "$([ "$RC" -eq 3 ] && grep -q 'systemd credential drsjoin-token (.*): Not a directory' "$ERR" &&
       [ "$(req_count)" -eq "$n" ]; echo $?)" "rc $RC: $(head -c 300 "$ERR")"
# Hostile credentials: blank past the token limit, and bytes that are not
# UTF-8; the token reader refuses both, naming the credential's file.
head -c 70000 /dev/zero | tr '\0' ' ' >"$T_WORK/huge-blank"
printf '\xff\xfe\x80not-utf8\n' >"$T_WORK/not-utf8"
for f in huge-blank not-utf8; do
	CONF= BPRT= TOKEN= CRED2=drsjoin-refresh-token:$T_WORK/$f sandboxed "$JOIN" ExecStart unit
	t_check "join unit: a credential $f: exit 3 naming it, nothing sent" \
	    "$([ "$RC" -eq 3 ] && grep -q '/run/credentials/unit/drsjoin-refresh-token' "$ERR" &&
	       [ "$(req_count)" -eq "$n" ] && [ -z "$(state_files)" ]; echo $?)" "rc $RC: $(head -c 300 "$ERR")"
done
CONF= BPRT= TOKEN=$T_WORK/bprt sandboxed "$JOIN" ExecStart unit
t_check "join unit: a BPRT in token.jwt says where a BPRT goes under the unit" \
    "$([ "$RC" -eq 3 ] && grep -q 'bprt-file or refresh-token-file in /etc/drsjoin/drsjoin.conf (or the credential drsjoin-bprt' "$ERR"; echo $?)" \
    "rc $RC: $(head -c 300 "$ERR")"
printf 'tenant = %s\n' "$EMU_TENANT_DOMAIN" >"$CONF"
BPRT= CRED2=drsjoin-bprt:$T_WORK/bprt TOKEN= sandboxed "$JOIN" ExecStart unit \
    DRSJOIN_CONFIG=/run/bin/drsjoin.conf
t_check "join unit: a drop-in's drsjoin-bprt credential beside the blank default joins" \
    "$([ "$RC" -eq 0 ] && [ -f "$STATE/device.json" ]; echo $?)" "rc $RC: $(head -c 300 "$ERR")"
TOKEN=$(token_file)

# Where /run/credentials/ exists, a CREDENTIALS_DIRECTORY that climbs out
# of it is still not systemd's: a token planted elsewhere is not read.
STATE=$T_WORK/state-climb; mkdir -m 700 "$STATE"
install -m 0600 "$(token_file)" "$STATE/drsjoin-token"
CONF= BPRT= TOKEN= sandboxed "$JOIN" ExecStart unit \
    CREDENTIALS_DIRECTORY=/run/credentials/unit/../../../var/lib/drsjoin
t_check "join unit: CREDENTIALS_DIRECTORY climbing out of /run/credentials/ reads no token there (exit 2)" \
    "$([ "$RC" -eq 2 ] && grep -q '^drsjoin: no token' "$ERR" && [ ! -e "$STATE/device.json" ]; echo $?)" \
    "rc $RC: $(head -c 300 "$ERR")"
TOKEN=$(token_file)

# The TPM through the sandbox: swtpm stands in for /dev/tpmrm0.
if swtpm_available >/dev/null && swtpm_start; then
	STATE=$T_WORK/state-tpm; mkdir -m 700 "$STATE"
	sandboxed "$JOIN" ExecStart unit DRSJOIN_TCTI="$SWTPM_TCTI"
	t_check "drsjoin-join.service's ExecStart joins under the sandbox with TPM keys" \
	    "$([ "$RC" -eq 0 ] && [ "$(jget "$STATE/device.json" 'd["key_store"]')" = tpm ]; echo $?)" "rc $RC"
	# No drop-in: the TPM and the key store from the config file, and
	# leave with the TPM the join recorded (no TCTI named anywhere).
	STATE=$T_WORK/state-tpm-conf; mkdir -m 700 "$STATE"
	CONF=$T_WORK/drsjoin.conf
	printf 'tcti = %s\nkey-store = tpm\n' "$SWTPM_TCTI" >"$CONF"
	sandboxed "$JOIN" ExecStart unit DRSJOIN_CONFIG=/run/bin/drsjoin.conf
	t_check "the join unit under the sandbox takes the TPM and key store from the config file" \
	    "$([ "$RC" -eq 0 ] && [ "$(jget "$STATE/device.json" 'd["tcti"], d["key_store"]')" = \
	       "('$SWTPM_TCTI', 'tpm')" ]; echo $?)" "rc $RC"
	CONF=
	sandboxed "$LEAVE" ExecStop unit
	t_check "the leave unit under the sandbox leaves with the TPM the join recorded" \
	    "$([ "$RC" -eq 0 ] && [ ! -e "$STATE/device.json" ]; echo $?)" "rc $RC"
	swtpm_stop
else
	t_skip "join under the sandbox with TPM keys" "no swtpm"
fi

STATE=$T_WORK/state
# leave exists now: its unit is always run, never skipped.
sandboxed "$LEAVE" ExecStop unit
t_check "drsjoin-leave.service's ExecStop leaves under the sandbox (the device deleted)" \
    "$([ "$RC" -eq 0 ] && [ ! -e "$STATE/device.json" ] && [ "$(req_count delete)" -ge 1 ]; echo $?)" "rc $RC"
t_done
