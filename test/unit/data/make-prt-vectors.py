#!/usr/bin/env python3
"""make-prt-vectors.py - the known answers of test_prt_crypto.c (MS-OAPXBC: the
key derivation, HS256 and RS256 JWTs, the session-key JWE and the encrypted
answers), computed with Python's cryptography, hmac and hashlib, never with
drsjoin. Writes prt_vectors.txt ("name value" lines; values are hex, or
text for JWTs, JWEs and payloads) and checks the MS-OAPXBC vector of kanidm
compact-jwt (prt_ms_*: see README) against the plaintext that project
published (its SHA-256 and length are below).

Run from this directory. OAEP and the random parts are fixed where a
known answer needs them; the session_key_jwe wrappings (OAEP is
randomised) change on every run, which the test does not mind: it reads
them from the file and checks the key they unwrap to.
"""
import base64
import hashlib
import hmac
import json
import os
import struct

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as apadding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.kbkdf import (KBKDFHMAC,
    CounterLocation, Mode)

LABEL = b"AzureAD-SecureConversation"
MS_PLAIN_SHA256 = "08a38509efc2de2677b81e36179b4d92bdcf04963d4caa8ecabbf22bc422cbec"
MS_PLAIN_LEN = 1905

out = []


def put(name, value):
    if isinstance(value, bytes):
        value = value.hex()
    assert "\n" not in value and " " not in name
    out.append("%s %s" % (name, value))


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64s(b):
    return base64.b64encode(b).decode()


def kdf(key, context):
    """SP 800-108 counter mode, HMAC-SHA256, by cryptography's KBKDF."""
    k = KBKDFHMAC(algorithm=hashes.SHA256(), mode=Mode.CounterMode,
                  length=32, rlen=4, llen=4,
                  location=CounterLocation.BeforeFixed, label=LABEL,
                  context=context, fixed=None).derive(key)
    # The same by hand (protocol.md's formula): the two must agree.
    fixed = b"\0\0\0\1" + LABEL + b"\0" + context + b"\0\0\1\0"
    assert k == hmac.new(key, fixed, hashlib.sha256).digest()
    return k


def kdf_v2(key, ctx, payload):
    return kdf(key, hashlib.sha256(ctx + payload).digest())


SESSION_KEY = bytes(range(0x40, 0x60))
OTHER_KEY = bytes(range(0x80, 0xa0))
CTX24 = bytes((7 * i + 1) % 256 for i in range(24))
CTX32 = bytes((11 * i + 5) % 256 for i in range(32))
put("session_key", SESSION_KEY)

# Key derivation.
put("kdf_ctx24", CTX24)
put("kdf_v1_ctx24", kdf(SESSION_KEY, CTX24))
put("kdf_ctx32", CTX32)
put("kdf_v1_ctx32", kdf(SESSION_KEY, CTX32))
PAYLOAD = ('{"grant_type":"refresh_token","refresh_token":"0.PRT-test",'
           '"request_nonce":"AwABAAEAAAACAOz_BAD0_nonce","client_id":'
           '"29d9ed98-a469-4536-ade2-f981bc1d605e","resource":'
           '"https://graph.microsoft.com","iss":"aad:brokerplugin"}')
put("kdf_payload", PAYLOAD)
put("kdf_v2_ctx32", kdf_v2(SESSION_KEY, CTX32, PAYLOAD.encode()))
put("kdf_v2_ctx24_empty", kdf_v2(SESSION_KEY, CTX24, b""))


# HS256 JWTs, in drsjoin's header layout.
def hs256(ctx, payload, typ, v2):
    header = '{"alg":"HS256",%s"ctx":"%s"%s}' % (
        '"typ":"JWT",' if typ else "", b64s(ctx), ',"kdf_ver":2' if v2 else "")
    key = kdf_v2(SESSION_KEY, ctx, payload.encode()) if v2 else \
        kdf(SESSION_KEY, ctx)
    s = b64u(header.encode()) + "." + b64u(payload.encode())
    return s + "." + b64u(hmac.new(key, s.encode(), hashlib.sha256).digest())


put("hs256_v1_typ", hs256(CTX32, PAYLOAD, True, False))
put("hs256_v2_typ", hs256(CTX32, PAYLOAD, True, True))
COOKIE = '{"refresh_token":"0.PRT-test","is_primary":"true","request_nonce":"n"}'
put("cookie_payload", COOKIE)
put("hs256_v1_cookie", hs256(CTX24, COOKIE, False, False))
put("hs256_v2_cookie", hs256(CTX24, COOKIE, False, True))

# RS256 with key.pem and cert.der (PKCS#1 v1.5 is deterministic).
dk = serialization.load_pem_private_key(open("key.pem", "rb").read(), None)
cert = open("cert.der", "rb").read()
RS_PAYLOAD = ('{"client_id":"29d9ed98-a469-4536-ade2-f981bc1d605e",'
              '"request_nonce":"n","scope":"openid aza",'
              '"grant_type":"refresh_token","refresh_token":"0.RT-test"}')
put("rs256_payload", RS_PAYLOAD)


def rs256(array, v2):
    x5c = ('["%s"]' if array else '"%s"') % b64s(cert)
    header = '{"alg":"RS256","typ":"JWT","x5c":%s%s}' % (
        x5c, ',"kdf_ver":2' if v2 else "")
    s = b64u(header.encode()) + "." + b64u(RS_PAYLOAD.encode())
    sig = dk.sign(s.encode(), apadding.PKCS1v15(), hashes.SHA256())
    return s + "." + b64u(sig)


put("rs256_string", rs256(False, False))
put("rs256_array", rs256(True, False))
put("rs256_array_v2", rs256(True, True))

# Encrypted answers (alg dir): CBC with PKCS#7 as observed, and GCM.
PLAIN = ('{"token_type":"Bearer","access_token":"eyJ0-test","expires_in":'
         '"3599","refresh_token":"0.RT","id_token":"x.y."}')
IV16 = bytes(range(0xa0, 0xb0))
IV12 = bytes(range(0xc0, 0xcc))


def answer_header(ctx=CTX24, alg="dir", enc="A256GCM", extra=""):
    return '{"alg":"%s","enc":"%s","ctx":"%s"%s}' % (alg, enc, b64s(ctx),
                                                      extra)


def cbc_raw(key, iv, data):
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return e.update(data) + e.finalize()


def pkcs7(data):
    p = padding.PKCS7(128).padder()
    return p.update(data) + p.finalize()


def cbc_jwe(plain=PLAIN.encode(), ctx=CTX24, header=None, raw=None,
            key=SESSION_KEY, iv=IV16, ek="", tag=""):
    header = header or answer_header(ctx)
    ct = cbc_raw(kdf(key, ctx), iv, raw if raw is not None else pkcs7(plain))
    return ".".join([b64u(header.encode()), ek, b64u(iv), b64u(ct), tag])


def gcm_jwe(plain=PLAIN.encode(), ctx=CTX24, header=None, aad=None,
            iv=IV12, key=SESSION_KEY):
    header = header or answer_header(ctx)
    h64 = b64u(header.encode())
    sealed = AESGCM(kdf(key, ctx)).encrypt(
        iv, plain, (aad if aad is not None else h64).encode())
    return ".".join([h64, "", b64u(iv), b64u(sealed[:-16]),
                     b64u(sealed[-16:])])


put("answer_plain", PLAIN)
put("jwe_cbc", cbc_jwe())
put("jwe_gcm", gcm_jwe())
put("block_plain", "0123456789abcdef")
put("jwe_cbc_block", cbc_jwe(plain=b"0123456789abcdef"))   # a whole pad block
put("jwe_cbc_ctx16", cbc_jwe(ctx=CTX32[:16]))
put("jwe_cbc_ctx64", cbc_jwe(ctx=(CTX32 * 2)))
put("jwe_cbc_extra", cbc_jwe(header=answer_header(extra=',"kid":"x"')))

# session_key_jwe: the session key wrapped to key.pem's public key.
OAEP = apadding.OAEP(mgf=apadding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(),
                     label=None)
SESSION_HEADER = b64u(b'{"enc":"A256GCM","alg":"RSA-OAEP"}')


def session_jwe(pub=dk.public_key(), key=SESSION_KEY, header=SESSION_HEADER,
                iv=b64u(IV12), tag=b64u(bytes(16)), ek=None):
    ek = ek if ek is not None else b64u(pub.encrypt(key, OAEP))
    return ".".join([header, ek, iv, "Gg", tag])


put("session_jwe", session_jwe())

# Malformed JWEs: test_prt_crypto.c names the message each must get.
bad = {}
good = cbc_jwe()
g = good.split(".")
bad["parts4"] = ".".join(g[:4])
bad["parts6"] = good + ".x"
bad["hdr_padded"] = g[0] + "=." + ".".join(g[1:])
bad["hdr_std_alphabet"] = "+" + g[0][1:] + "." + ".".join(g[1:])
bad["hdr_not_json"] = b64u(b"{alg:dir}") + "." + ".".join(g[1:])
bad["hdr_array"] = b64u(b'["dir"]') + "." + ".".join(g[1:])
bad["hdr_dup_alg"] = cbc_jwe(header='{"alg":"dir","enc":"A256GCM","alg":"none","ctx":"%s"}' % b64s(CTX24))
bad["hdr_nul_key"] = cbc_jwe(header='{"alg\\u0000x":"x","alg":"dir","enc":"A256GCM","ctx":"%s"}' % b64s(CTX24))
bad["hdr_zip"] = cbc_jwe(header=answer_header(extra=',"zip":"DEF"'))
bad["hdr_crit"] = cbc_jwe(header=answer_header(extra=',"crit":["exp"]'))
bad["hdr_big"] = cbc_jwe(header=answer_header(extra=',"x":"%s"' % ("a" * 1024)))
bad["alg_wrong"] = cbc_jwe(header=answer_header(alg="RSA-OAEP"))
bad["alg_missing"] = cbc_jwe(header='{"enc":"A256GCM","ctx":"%s"}' % b64s(CTX24))
bad["alg_number"] = cbc_jwe(header='{"alg":1,"enc":"A256GCM","ctx":"%s"}' % b64s(CTX24))
bad["enc_wrong"] = cbc_jwe(header=answer_header(enc="A128GCM"))
bad["ctx_missing"] = cbc_jwe(header='{"alg":"dir","enc":"A256GCM"}')
bad["ctx_short"] = cbc_jwe(ctx=CTX32[:15])
bad["ctx_long"] = cbc_jwe(ctx=(CTX32 * 3)[:65])
bad["ctx_url_alphabet"] = cbc_jwe(header='{"alg":"dir","enc":"A256GCM","ctx":"%s"}' % b64u(b"\xfb" * 24))
bad["ctx_unpadded"] = cbc_jwe(header='{"alg":"dir","enc":"A256GCM","ctx":"%s"}' % b64s(CTX24[:23]).rstrip("="))
bad["ctx_number"] = cbc_jwe(header='{"alg":"dir","enc":"A256GCM","ctx":24}')
bad["ek_not_empty"] = cbc_jwe(ek="AAAA")
bad["iv_13"] = ".".join([g[0], "", b64u(bytes(13)), g[3], ""])
bad["iv_8"] = ".".join([g[0], "", b64u(bytes(8)), g[3], ""])
bad["cbc_tag"] = cbc_jwe(tag=b64u(bytes(16)))
bad["cbc_partial_block"] = ".".join([g[0], "", g[2], b64u(bytes(20)), ""])
bad["cbc_empty"] = ".".join([g[0], "", g[2], "", ""])
bad["pad_zero"] = cbc_jwe(raw=PLAIN.encode()[:32] + b"\x00" * 16)
bad["pad_17"] = cbc_jwe(raw=PLAIN.encode()[:32] + b"\x11" * 16)
bad["pad_mixed"] = cbc_jwe(raw=PLAIN.encode()[:29] + b"\x03\x02\x03")
bad["pad_short_run"] = cbc_jwe(raw=PLAIN.encode()[:16] + b"x" * 12 + b"\x01\x04\x04\x04")


def cbc_wrong_key():
    # A session key under which the padding is wrong (not by chance right).
    for i in range(256):
        k = bytes([i]) + OTHER_KEY[1:]
        dec = Cipher(algorithms.AES(kdf(SESSION_KEY, CTX24)),
                     modes.CBC(IV16)).decryptor()
        j = cbc_jwe(key=k)
        ct = base64.urlsafe_b64decode(j.split(".")[3] + "==")
        pt = dec.update(ct) + dec.finalize()
        n = pt[-1]
        if not (1 <= n <= 16 and pt[-n:] == bytes([n]) * n):
            return j
    raise SystemExit("no wrong key found")


bad["cbc_wrong_key"] = cbc_wrong_key()
gg = gcm_jwe().split(".")
bad["gcm_tag_flipped"] = ".".join(gg[:4] + [b64u(bytes([base64.urlsafe_b64decode(gg[4] + "==")[0] ^ 1]) + base64.urlsafe_b64decode(gg[4] + "==")[1:])])
bad["gcm_other_aad"] = gcm_jwe(aad=b64u(answer_header(ctx=CTX32).encode()))
bad["gcm_wrong_key"] = gcm_jwe(key=OTHER_KEY)
bad["gcm_no_tag"] = ".".join(gg[:4] + [""])
bad["ct_padded"] = ".".join([g[0], "", g[2], g[3] + "=", ""])
bad["iv_space"] = ".".join([g[0], "", g[2][:4] + " " + g[2][5:], g[3], ""])


def trailing_bits(part):
    # The last character with a non-zero bit past the data (RFC 4648 3.5).
    alphabet = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789-_")
    assert len(part) % 4 in (2, 3)
    return part[:-1] + alphabet[alphabet.index(part[-1]) | 1]


bad["ct_trailing_bits"] = ".".join([g[0], "", g[2], trailing_bits(g[3]), ""])
bad["sess_alg_dir"] = session_jwe(header=b64u(b'{"enc":"A256GCM","alg":"dir"}'))
bad["sess_enc_cbc"] = session_jwe(header=b64u(b'{"enc":"A256CBC-HS512","alg":"RSA-OAEP"}'))
bad["sess_ek_255"] = session_jwe(ek=b64u(bytes(255)))
bad["sess_ek_empty"] = session_jwe(ek="")
bad["sess_other_key"] = session_jwe(pub=serialization.load_pem_private_key(
    open("key2.pem", "rb").read(), None).public_key())
bad["sess_key_16"] = session_jwe(key=SESSION_KEY[:16])
bad["sess_ek_past_modulus"] = session_jwe(ek=b64u(b"\xff" * 256))
bad["sess_iv_big"] = session_jwe(iv=b64u(bytes(1025)))
for name, jwe in bad.items():
    assert jwe, name
    put("bad_" + name, jwe)

# The kanidm compact-jwt vector: Python's decryption must give the
# plaintext that project published.
mk = serialization.load_pem_private_key(open("prt_ms_key.pem", "rb").read(), None)
s = open("prt_ms_session_key.jwe").read().split(".")
ms_key = mk.decrypt(base64.urlsafe_b64decode(s[1] + "=="), OAEP)
a = open("prt_ms_answer.jwe").read().split(".")
ms_ctx = base64.b64decode(json.loads(base64.urlsafe_b64decode(a[0] + "=="))["ctx"])
d = Cipher(algorithms.AES(kdf(ms_key, ms_ctx)),
           modes.CBC(base64.urlsafe_b64decode(a[2] + "=="))).decryptor()
pt = d.update(base64.urlsafe_b64decode(a[3] + "==")) + d.finalize()
u = padding.PKCS7(128).unpadder()
pt = u.update(pt) + u.finalize()
assert hashlib.sha256(pt).hexdigest() == MS_PLAIN_SHA256 and len(pt) == MS_PLAIN_LEN
put("ms_session_key", ms_key)
put("ms_plain_sha256", MS_PLAIN_SHA256)
put("ms_plain_len", "%d" % MS_PLAIN_LEN)

with open("prt_vectors.txt", "w") as f:
    f.write("# made by make-prt-vectors.py: do not edit\n")
    f.write("\n".join(out) + "\n")
print("prt_vectors.txt: %d vectors, %d malformed JWEs" % (len(out), len(bad)))
