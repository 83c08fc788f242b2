#!/usr/bin/env bash
# make install / uninstall into a DESTDIR: the tree, the directory
# variables, the units following BINDIR, and an uninstall that removes
# exactly what install put there.
. "$(dirname "$0")/../lib-integ.sh"

top=$DRSJOIN_TOP
mk() { make -s -C "$top" INSTALL_BIN="$DRSJOIN" "$@" >"$OUT" 2>"$ERR"; }

D=$T_WORK/dest
mk install DESTDIR="$D" PREFIX=/usr/local; RC=$?
(cd "$D" && find . -mindepth 1 ! -type d -printf '%M %P\n' | sort -k2) >"$T_WORK/tree"
cat >"$T_WORK/want" <<'TREE'
-rw-r--r-- usr/local/lib/systemd/system/drsjoin-join.service
-rw-r--r-- usr/local/lib/systemd/system/drsjoin-leave.service
-rwxr-xr-x usr/local/sbin/drsjoin
-rw-r--r-- usr/local/share/bash-completion/completions/drsjoin
-rw-r--r-- usr/local/share/doc/drsjoin/LICENSE
-rw-r--r-- usr/local/share/doc/drsjoin/README.md
-rw-r--r-- usr/local/share/doc/drsjoin/docs/building.md
-rw-r--r-- usr/local/share/doc/drsjoin/docs/configuration.md
-rw-r--r-- usr/local/share/doc/drsjoin/docs/emulator.md
-rw-r--r-- usr/local/share/doc/drsjoin/docs/exit-codes.md
-rw-r--r-- usr/local/share/doc/drsjoin/docs/fleet.md
-rw-r--r-- usr/local/share/doc/drsjoin/docs/join.md
-rw-r--r-- usr/local/share/doc/drsjoin/docs/state.md
-rw-r--r-- usr/local/share/doc/drsjoin/docs/tokens.md
-rw-r--r-- usr/local/share/doc/drsjoin/docs/trust.md
-rw-r--r-- usr/local/share/doc/drsjoin/examples/cloud-init.yaml
-rw-r--r-- usr/local/share/doc/drsjoin/examples/kickstart.ks
-rw-r--r-- usr/local/share/man/man8/drsjoin.8
-rw-r--r-- usr/local/share/zsh/site-functions/_drsjoin
TREE
t_check "install PREFIX=/usr/local: the tree" \
    "$([ "$RC" -eq 0 ] && diff "$T_WORK/want" "$T_WORK/tree" >&2; echo $?)" \
    "$(diff "$T_WORK/want" "$T_WORK/tree" | tr '\n' ' ')"
t_check "the installed binary is the one built, and runs" \
    "$(cmp -s "$DRSJOIN" "$D/usr/local/sbin/drsjoin" &&
       "$D/usr/local/sbin/drsjoin" --version | grep -q '^drsjoin [0-9]'; echo $?)"
t_check "the installed units run the installed binary" \
    "$(grep -qx 'ExecStart=/usr/local/sbin/drsjoin join' \
        "$D/usr/local/lib/systemd/system/drsjoin-join.service" &&
       ! grep -q /usr/sbin/ "$D"/usr/local/lib/systemd/system/*.service; echo $?)"
t_check "the installed man page renders" \
    "$(MANPATH="$D/usr/local/share/man" man -P cat drsjoin 2>/dev/null | grep -q 'EXIT STATUS'; echo $?)"

t_check "install makes /etc/drsjoin 0700 (whatever PREFIX is)" \
    "$([ "$(stat -c %a "$D/etc/drsjoin")" = 700 ]; echo $?)" "$(stat -c %a "$D/etc/drsjoin" 2>&1)"
# An admin's config file keeps /etc/drsjoin through uninstall.
echo "tenant = contoso.example" >"$D/etc/drsjoin/drsjoin.conf"

# Something else in the shared directories survives uninstall.
echo other >"$D/usr/local/share/man/man8/other.8"
mk uninstall DESTDIR="$D" PREFIX=/usr/local; RC=$?
t_check "uninstall removes every file install put there, and nothing else (an admin's config stays)" \
    "$([ "$RC" -eq 0 ] && [ "$(cd "$D" && find . -type f | sort | tr '\n' ' ')" = \
       "./etc/drsjoin/drsjoin.conf ./usr/local/share/man/man8/other.8 " ] &&
       [ ! -e "$D/usr/local/share/doc/drsjoin" ]; echo $?)" "$(cd "$D" && find . -type f | tr '\n' ' ')"
rm "$D/etc/drsjoin/drsjoin.conf"
mk uninstall DESTDIR="$D" PREFIX=/usr/local; RC=$?
t_check "uninstall twice: no error; an empty /etc/drsjoin is removed" \
    "$([ "$RC" -eq 0 ] && [ ! -e "$D/etc/drsjoin" ]; echo $?)"

# Every directory variable on its own.
D=$T_WORK/dest2
mk install DESTDIR="$D" PREFIX=/opt/x SBINDIR=/opt/sb MANDIR=/opt/man DOCDIR=/opt/doc \
    BASHCOMPDIR=/opt/bash ZSHCOMPDIR=/opt/zsh UNITDIR=/opt/units SYSCONFDIR=/opt/etc; RC=$?
t_check "SBINDIR, MANDIR, DOCDIR, BASHCOMPDIR, ZSHCOMPDIR, UNITDIR, SYSCONFDIR" \
    "$([ "$RC" -eq 0 ] && [ -x "$D/opt/sb/drsjoin" ] && [ -f "$D/opt/man/man8/drsjoin.8" ] &&
       [ -f "$D/opt/doc/examples/kickstart.ks" ] && [ -f "$D/opt/bash/drsjoin" ] &&
       [ -f "$D/opt/zsh/_drsjoin" ] && grep -q '^ExecStart=/opt/sb/drsjoin ' "$D/opt/units/drsjoin-join.service" &&
       [ -d "$D/opt/etc/drsjoin" ] && [ ! -e "$D/etc" ] && [ ! -e "$D/opt/x" ]; echo $?)"
D=$T_WORK/dest3
mk install DESTDIR="$D" PREFIX=/usr BINDIR=/usr/bin; RC=$?
t_check "BINDIR puts the binary (and the units' ExecStart) there" \
    "$([ "$RC" -eq 0 ] && [ -x "$D/usr/bin/drsjoin" ] && [ ! -e "$D/usr/sbin" ] &&
       grep -q '^ExecStop=/usr/bin/drsjoin ' "$D/usr/lib/systemd/system/drsjoin-leave.service"; echo $?)"
mk uninstall DESTDIR="$D" PREFIX=/usr BINDIR=/usr/bin; RC=$?
t_check "uninstall with the same variables empties it" \
    "$([ "$RC" -eq 0 ] && [ -z "$(find "$D" -type f)" ]; echo $?)"

mk install DESTDIR="$T_WORK/dest4" INSTALL_BIN="$T_WORK/nonexistent"; RC=$?
t_check "install of a missing binary fails" "$([ "$RC" -ne 0 ]; echo $?)"
t_done
