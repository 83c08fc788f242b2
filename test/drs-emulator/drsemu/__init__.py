"""drsemu: an offline, strict emulator of Entra ID's Device Registration Service.

Modules: cli (the drs-emulator command), server (HTTPS, routing, request log),
drs (discovery, nonce, join, leave), login (token endpoints), validate (the
join request rules), pki (keys, CAs, issued certificates), tokens (JWTs),
state (persistent state, atomic files), faults, control (the control
interface), tlsverify (client certificates), ctl (emuctl), minttoken.
"""
