#!/usr/bin/env bash
# The units under a real systemd: a minimal Debian root (test/nspawn-root.sh,
# cached) booted by systemd-nspawn with systemd as PID 1, sharing this
# machine's network (the emulator on 127.0.0.1 is reachable), with the .deb
# built from this tree installed by dpkg in it. Two boots, each on a fresh
# overlay of the cached root (--volatile=overlay: the cache is never
# written); /var/lib/drsjoin and each boot's journal are directories of
# this test, so they outlive the shutdown.
#
#   boot 1: no token: exit 2, what to do, not restarted; token.jwt with a
#           service failing once: restarted after RestartSec= (a test
#           drop-in shortens it), then joined; the journal holds the
#           one-line summary, not the document; the leave unit leaves at
#           shutdown.
#   boot 2: a BPRT named in drsjoin.conf joins; left by hand, the leave
#           unit at shutdown finds nothing to leave and does not fail.
#
# Skipped, with the reason, where it cannot run: not root, no
# systemd-nspawn/debootstrap (scripts/install-deps.sh installs them), no
# root can be made (no apt source, no network), or nspawn cannot boot it.
. "$(dirname "$0")/../lib-integ.sh"

top=$DRSJOIN_TOP
skip_all() { t_skip "the units under systemd-nspawn" "$1"; t_done; exit; }
[ "$(id -u)" = 0 ] || skip_all "needs root"
for t in systemd-nspawn nsenter debootstrap; do
	command -v "$t" >/dev/null || skip_all "$t not installed (scripts/install-deps.sh installs it)"
done
ROOT=$("$top/test/nspawn-root.sh" 2>"$ERR") || skip_all "no root to boot: $(tail -n 1 "$ERR")"

emu_start >/dev/null || { t_fail "emulator starts" "emu_start failed"; exit 1; }

# The package, built as make deb builds it (amd64 or the host's), from the
# binary under test; the CA and the tokens beside it, read-only in /mnt.
CT=$T_WORK/ct
mkdir -p "$CT" "$T_WORK/debroot"
if ! make -s -C "$top" install DESTDIR="$T_WORK/debroot" PREFIX=/usr UNITDIR=/lib/systemd/system \
    ZSHCOMPDIR=/usr/share/zsh/vendor-completions INSTALL_BIN="$DRSJOIN" >/dev/null 2>"$ERR" ||
    ! deb=$("$top/scripts/deb.sh" "$top" "$T_WORK/debroot" "$CT" "$(dpkg --print-architecture)" 2>>"$ERR"); then
	t_fail "the .deb to install" "$(tail -n 2 "$ERR")"
	exit 1
fi
install -m 0644 "$EMU_CA" "$CT/ca.pem"
emu_token >"$CT/token.jwt"
emu_token --bprt >"$CT/bprt"
M=/mnt/drsjoin-test
mkdir -m 0700 "$STATE"

CT_PID= CT_RC=1
ct_cleanup() {
	if [ -n "$CT_PID" ] && kill -0 "$CT_PID" 2>/dev/null; then
		kill -TERM "$CT_PID" 2>/dev/null
		sleep 3
		kill -KILL "$CT_PID" 2>/dev/null || true
	fi
	t_cleanup
}
trap ct_cleanup EXIT

in_ct() { nsenter -t "$CT_LEADER" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

# ct_boot N: boots the root, journal in $T_WORK/journalN; waits until
# systemd is up (running or degraded). 1 with CT_WHY when it does not.
ct_boot() {
	local n=$1 s c
	CONSOLE=$T_WORK/console$n
	mkdir -p "$T_WORK/journal$n"
	systemd-nspawn -q -D "$ROOT" --volatile=overlay -b --register=no --keep-unit \
	    --console=read-only --machine="drsjoin-test-$$" \
	    --bind-ro="$CT:$M" --bind="$STATE:/var/lib/drsjoin" \
	    --bind="$T_WORK/journal$n:/var/log/journal" </dev/null >"$CONSOLE" 2>&1 &
	CT_PID=$!
	CT_LEADER=
	for _ in $(seq 120); do
		kill -0 "$CT_PID" 2>/dev/null || break
		if [ -z "$CT_LEADER" ]; then
			for c in $(pgrep -P "$CT_PID"); do
				[ "$(cat "/proc/$c/comm" 2>/dev/null)" = systemd ] && CT_LEADER=$c
			done
		fi
		if [ -n "$CT_LEADER" ]; then
			s=$(in_ct systemctl is-system-running 2>/dev/null)
			case $s in running | degraded) return 0 ;; esac
		fi
		sleep 0.5
	done
	if kill -0 "$CT_PID" 2>/dev/null; then
		CT_WHY="systemd-nspawn -b: systemd not up within 60 s"
	else
		wait "$CT_PID"
		CT_WHY="systemd-nspawn -b exited ($?) before systemd was up"
		CT_PID=
	fi
	# Its last words, but for a cleanup note it prints on every exit here.
	CT_WHY="$CT_WHY: $(tr -d '\r' <"$CONSOLE" | grep -v -e '^$' -e '^Attempted to remove disk file system' |
	    tail -n 2 | tr '\n' ' ' | head -c 300)"
	return 1
}

# ct_setup: the .deb installed by dpkg, and the test's drop-ins: the
# emulator's URL and CA, RestartSec= of 2 s (the unit's 1 min otherwise).
ct_setup() {
	local u
	in_ct dpkg -i "$M/${deb##*/}" >"$OUT" 2>"$ERR" || return 1
	for u in drsjoin-join drsjoin-leave; do
		in_ct mkdir -p "/etc/systemd/system/$u.service.d" &&
		    printf '[Service]\nEnvironment=DRSJOIN_DISCOVERY_URL=%s SSL_CERT_FILE=%s\n%s' \
		    "$EMU_URL" "$M/ca.pem" "$([ $u = drsjoin-join ] && echo 'RestartSec=2s')" |
		    in_ct sh -c "cat >/etc/systemd/system/$u.service.d/test.conf" || return 1
	done
	in_ct systemctl daemon-reload
}

# ct_show UNIT PROP: one property of a unit.
ct_show() { in_ct systemctl show -P "$2" "$1"; }
# What the unit's process wrote (stderr: the unit sends stdout to null).
ct_said() { in_ct journalctl -q --no-pager -o cat "_SYSTEMD_UNIT=$1"; }

# ct_poweroff: shuts the container down (the units are stopped: the leave
# unit's ExecStop= runs) and waits for systemd-nspawn to end.
ct_poweroff() {
	in_ct systemctl poweroff --no-block
	for _ in $(seq 180); do
		kill -0 "$CT_PID" 2>/dev/null || { wait "$CT_PID"; CT_RC=$?; CT_PID=; return 0; }
		sleep 0.5
	done
	return 1
}
# The journal of boot N, read here after the container is gone.
journal() { local n=$1; shift; journalctl -q --no-pager -o cat -D "$T_WORK/journal$n"/* "$@"; }

if ! ct_boot 1; then
	skip_all "$CT_WHY"
fi
t_check "boot 1: systemd is PID 1 in the container" "$([ "$(in_ct cat /proc/1/comm)" = systemd ]; echo $?)"
ct_setup
t_check "boot 1: the .deb installs with dpkg, the units load" \
    "$([ "$(ct_show drsjoin-join.service LoadState)" = loaded ] &&
       [ "$(ct_show drsjoin-leave.service LoadState)" = loaded ] &&
       [ "$(ct_show drsjoin-join.service RestartUSec)" = 2s ]; echo $?)" "$(tail -n 2 "$ERR")"

# No token: the unit's blank default credential, exit 2, and no restart.
in_ct systemctl start drsjoin-join.service 2>/dev/null
sleep 5	# more than RestartSec=: a restart would have come
said=$(ct_said drsjoin-join.service)
t_check "no token: the unit fails with exit 2 (not a credential error) and is not restarted" \
    "$([ "$(ct_show drsjoin-join.service ActiveState)" = failed ] &&
       [ "$(ct_show drsjoin-join.service ExecMainStatus)" = 2 ] &&
       [ "$(ct_show drsjoin-join.service NRestarts)" = 0 ]; echo $?)" \
    "$(ct_show drsjoin-join.service ActiveState) $(ct_show drsjoin-join.service ExecMainStatus) $(ct_show drsjoin-join.service NRestarts) restarts: $said"
t_check "no token: the journal says what to put where, in one line" \
    "$([ "$(wc -l <<<"$said")" -eq 1 ] &&
       grep -q '^drsjoin: no token: put an access token in /etc/drsjoin/token.jwt, or name bprt-file' <<<"$said"; echo $?)" \
    "$said"

# token.jwt, and a service that fails the first try (discovery answers 400).
before=$(emu_device_count)
in_ct install -m 0600 "$M/token.jwt" /etc/drsjoin/token.jwt
emu_fault --route discover --status 400 --count 1
in_ct systemctl reset-failed drsjoin-join.service
in_ct systemctl start drsjoin-join.service 2>/dev/null
for _ in $(seq 60); do
	[ "$(ct_show drsjoin-join.service ActiveState)" = active ] && break
	sleep 0.5
done
said=$(ct_said drsjoin-join.service)
dev=$(jget "$STATE/device.json" 'd["device_id"]')
t_check "token.jwt, the service failing once: the unit is restarted after RestartSec= and joins" \
    "$([ "$(ct_show drsjoin-join.service ActiveState)" = active ] &&
       [ "$(ct_show drsjoin-join.service NRestarts)" = 1 ] && [ -n "$dev" ] &&
       [ "$(emu_device_count)" -eq $((before + 1)) ]; echo $?)" \
    "$(ct_show drsjoin-join.service ActiveState) restarts $(ct_show drsjoin-join.service NRestarts): $said"
t_check "the journal: the failed try's error, the restart, and the one-line summary naming the device" \
    "$(grep -q '^drsjoin: discover: .*400' <<<"$said" &&
       [ "$(tail -n 1 <<<"$said")" = "drsjoin: joined: device $dev in tenant $EMU_TENANT_ID" ] &&
       in_ct journalctl -q --no-pager -o cat -u drsjoin-join.service | grep -q 'Scheduled restart job, restart counter is at 1'; echo $?)" \
    "$said"
t_check "the journal: not the document (no JSON, no line over 300 bytes, every line drsjoin's)" \
    "$(! grep -q '[{"]' <<<"$said" && [ "$(awk '{ if (length > m) m = length } END { print m + 0 }' <<<"$said")" -le 300 ] &&
       ! grep -qv '^drsjoin: ' <<<"$said"; echo $?)" "$(head -c 300 <<<"$said")"

# The leave unit, started as at boot; the shutdown stops it: it leaves.
in_ct systemctl start drsjoin-leave.service
deletes=$(req_count delete)
ct_poweroff
t_check "shutdown, joined: the container powers off cleanly; the leave unit deletes the device and the local identity" \
    "$([ -z "$CT_PID" ] && [ "$CT_RC" -eq 0 ] && [ "$(emu_device_count)" -eq "$before" ] && [ "$(req_count delete)" -eq $((deletes + 1)) ] &&
       [ ! -e "$STATE/device.json" ]; echo $?)" "devices $(emu_device_count), was $before"
said=$(journal 1 _SYSTEMD_UNIT=drsjoin-leave.service)
t_check "shutdown, joined: the journal says which device left which tenant, and no failure" \
    "$([ "$said" = "drsjoin: left: device $dev deleted from tenant $EMU_TENANT_ID" ] &&
       ! journal 1 -u drsjoin-leave.service | grep -q 'Failed'; echo $?)" "$said"

# Boot 2: a BPRT named in drsjoin.conf, no token.jwt.
ct_boot 2 || { t_fail "boot 2" "$CT_WHY"; exit 1; }
ct_setup
in_ct install -m 0600 "$M/bprt" /etc/drsjoin/bprt
printf 'tenant = %s\nbprt-file = /etc/drsjoin/bprt\n' "$EMU_TENANT_DOMAIN" |
    in_ct sh -c 'umask 077; cat >/etc/drsjoin/drsjoin.conf'
n=$(req_count token)
in_ct systemctl start drsjoin-join.service 2>"$ERR"
said=$(ct_said drsjoin-join.service)
dev=$(jget "$STATE/device.json" 'd["device_id"]')
t_check "a BPRT named in drsjoin.conf (no token.jwt): the unit joins, redeeming it" \
    "$([ "$(ct_show drsjoin-join.service ActiveState)" = active ] && [ -n "$dev" ] &&
       [ "$(req_count token)" -gt "$n" ] && [ "$(emu_device_count)" -eq $((before + 1)) ] &&
       [ "$(tail -n 1 <<<"$said")" = "drsjoin: joined: device $dev in tenant $EMU_TENANT_ID" ]; echo $?)" \
    "$(ct_show drsjoin-join.service ActiveState): $said"

# Left by hand before the shutdown: the leave unit finds nothing to leave.
in_ct systemctl start drsjoin-leave.service
in_ct env SSL_CERT_FILE="$M/ca.pem" drsjoin -q leave 2>"$ERR"
deletes=$(req_count delete)
ct_poweroff
said=$(journal 2 _SYSTEMD_UNIT=drsjoin-leave.service)
t_check "shutdown, not joined: the leave unit's exit 8 is no failure, and says so in one line" \
    "$([ -z "$CT_PID" ] && [ "$(req_count delete)" -eq "$deletes" ] &&
       [ "$(wc -l <<<"$said")" -eq 1 ] && grep -q '^drsjoin: leave: not joined' <<<"$said" &&
       ! journal 2 -u drsjoin-leave.service | grep -q 'Failed'; echo $?)" "$said"
t_check "both boots: the tenant keeps no device" "$([ "$(emu_device_count)" -eq "$before" ]; echo $?)"

t_done
