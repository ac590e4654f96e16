#!/usr/bin/env python3
# Writes the seed corpus under fuzz/corpus/ (run from anywhere).  The
# digests are computed here with Python's hmac, independently of src/.

import hashlib
import hmac
import os

HERE = os.path.dirname(os.path.abspath(__file__))
PID = "0123456789abcdef0123456789abcdef"
SECRET = "00112233445566778899aabbccddeeff" * 2
KEY = "vbk_1_%s_%s" % (PID, SECRET)
DIGEST_KEYS = {1: b"fuzz-digest-key-1", 2: b"fuzz-digest-key-2"}


def digest(version):
    msg = b"\0".join([b"validibot-api-key", b"format=1",
                      b"digest=%d" % version, b"public=" + PID.encode(),
                      b"secret=" + SECRET.encode()])
    return hmac.new(DIGEST_KEYS[version], msg, hashlib.sha256).hexdigest()


def bulk(v):
    if v is None:
        return b"$-1\r\n"
    v = v.encode() if isinstance(v, str) else v
    return b"$%d\r\n%s\r\n" % (len(v), v)


def record(**over):
    f = dict(user="42", digest=digest(1), digest_version="1",
             expires_at="1795536000", revoked_at=None, created_at="1764000000",
             label="CI", user_active="1", email="ci@example.com",
             name="CI bot", org_status="active", member_active="1",
             member_roles="author,executor", last_used_at="1764003600")
    f.update(over)
    order = ["user", "digest", "digest_version", "expires_at", "revoked_at",
             "created_at", "label", "user_active", "email", "name",
             "org_status", "member_active", "member_roles", "last_used_at"]
    return b"*14\r\n" + b"".join(bulk(f[k]) for k in order)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as fp:
        fp.write(data.encode() if isinstance(data, str) else data)


auth = {
    "ok": "Bearer " + KEY,
    "lower": "bearer " + KEY,
    "tabs": "BEARER\t \t" + KEY + " \t",
    "alone": "Bearer",
    "space": "Bearer ",
    "basic": "Basic dXNlcjpwYXNz",
    "glued": "Bearerx",
    "v2": "Bearer vbk_2_%s_%s" % (PID, SECRET),
    "upper": "Bearer " + KEY.upper(),
    "long": "Bearer " + KEY + "a" * 57,
    "nul": "Bearer " + KEY[:50] + "\0" + KEY[51:],
    "key": KEY,
    "roles": " Author ,EXECUTOR,,workflow_launch,owner",
    "int": "1764000000",
}
for name, v in auth.items():
    write("fuzz_authorization", name, v)

reply = {
    "notfound": b"*0\r\n",
    "ok": record(),
    "ok-v2": record(digest=digest(2), digest_version="2"),
    "nils": record(expires_at=None, created_at=None, label=None, email=None,
                   name=None, org_status=None, member_active=None,
                   member_roles=None),
    "revoked": record(revoked_at="1764000001"),
    "expired": record(expires_at="1764000000"),
    "inactive": record(user_active="0"),
    "suspended": record(org_status="suspended"),
    "notmember": record(member_active=None, member_roles=None),
    "owner": record(member_roles="owner"),
    "badint": record(expires_at="17x", digest_version="99999999999999999999"),
    "mismatch": record(digest=digest(1).upper()),
    "error": b"-NOSCRIPT No matching script. Please use EVAL.\r\n",
    "status": b"+OK\r\n",
    "integer": b":1\r\n",
    "nested": b"*14\r\n*1\r\n:1\r\n" + b"$-1\r\n" * 13,
    "short": b"*3\r\n$2\r\n42\r\n$-1\r\n$0\r\n\r\n",
    "pipeline": b"*0\r\n" + record() + b"+OK\r\n" + record(user_active=None),
    "partial": record()[:100],
}
for name, v in reply.items():
    write("fuzz_reply", name, v)
