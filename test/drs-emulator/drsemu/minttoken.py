"""mint-token: print an access token signed by an emulator's issuer key."""
import argparse
import json
import os
import sys
import uuid


from . import tokens
from .fsutil import INFO_FILE
from .pki import Pki, new_rsa_key


def die(msg, code=2):
    sys.stderr.write("mint-token: %s\n" % msg)
    sys.exit(code)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="mint-token", description="Print a DRS access token (a JWT) "
                                "signed by the emulator's issuer key in DIR.")
    p.add_argument("--state-dir", required=True, metavar="DIR")
    p.add_argument("--upn", help="user (default: user@<tenant domain>)")
    p.add_argument("--tid", help="tenant id claim (default: the emulator's tenant)")
    p.add_argument("--aud", default=tokens.DRS_RESOURCE,
                   help="audience (default %s; the v2 form is %s)"
                   % (tokens.DRS_RESOURCE, tokens.DRS_APP_ID))
    life = p.add_mutually_exclusive_group()
    life.add_argument("--lifetime", type=int, default=3600, metavar="S",
                      help="seconds until exp (default 3600)")
    life.add_argument("--expired", action="store_true", help="exp an hour ago")
    p.add_argument("--not-before", type=int, default=0, metavar="S",
                   help="nbf = now + S (S > 0: not yet valid)")
    p.add_argument("--oid", help="user object id (default: derived from tid and upn)")
    p.add_argument("--appid", default=tokens.BROKER_CLIENT_ID, help="client app id claim")
    p.add_argument("--kid", help="kid header (default: the issuer key's)")
    p.add_argument("--alg", choices=("RS256", "none"), default="RS256",
                   help="none: an unsigned token (empty signature)")
    p.add_argument("--sign-with-other-key", action="store_true",
                   help="sign with a fresh key, not the issuer's (bad signature)")
    p.add_argument("--claim", action="append", default=[], metavar="NAME=VALUE",
                   help="set a claim; VALUE is JSON if it parses, else a string (repeatable)")
    p.add_argument("--drop-claim", action="append", default=[], metavar="NAME",
                   help="remove a claim (repeatable)")
    p.add_argument("--bprt", action="store_true",
                   help="print a bulk enrolment token instead (a refresh token of a "
                   "package_<guid>@<domain> account that only client %s may redeem; "
                   "--upn, --tid, --lifetime and --expired apply)" % tokens.BPRT_CLIENT_ID)
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv if argv is not None else sys.argv[1:])
    try:
        pki = Pki.open(a.state_dir, create=False)
    except (OSError, ValueError) as e:
        die(str(e), 3)
    tid, domain = a.tid, None
    try:
        with open(os.path.join(a.state_dir, INFO_FILE), encoding="utf-8") as f:
            info = json.load(f)
        tid = tid or info["tenant_id"]
        domain = next((t["tenant_domain"] for t in info.get("tenants", [])
                       if t["tenant_id"] == tid.lower()), info["tenant_domain"])
    except (OSError, ValueError, KeyError) as e:
        if not (a.tid and a.upn):
            die("cannot read %s (%s): give --tid and --upn" % (INFO_FILE, e), 3)
    lifetime = -3600 if a.expired else a.lifetime
    if a.bprt:
        upn = a.upn or "package_%s@%s" % (uuid.uuid4(), domain)
        print(tokens.mint_bprt(pki.token_key, tokens.kid_of(pki.token_cert), tid, upn,
                               180 * 86400 if a.lifetime == 3600 and not a.expired else lifetime))
        return 0
    upn = a.upn or "user@" + domain
    not_before = -7200 if a.expired and not a.not_before else a.not_before
    claims = tokens.access_claims(tid, upn, aud=a.aud, lifetime=lifetime, not_before=not_before,
                                  oid=a.oid, appid=a.appid)
    if a.expired:
        claims["iat"] = claims["nbf"]
    for spec in a.claim:
        name, sep, value = spec.partition("=")
        if not sep:
            die("--claim wants NAME=VALUE, got %r" % spec)
        try:
            claims[name] = json.loads(value)
        except ValueError:
            claims[name] = value
    for name in a.drop_claim:
        claims.pop(name, None)
    key = new_rsa_key() if a.sign_with_other_key else pki.token_key
    print(tokens.sign(claims, key, a.kid or tokens.kid_of(pki.token_cert), alg=a.alg))
    return 0
