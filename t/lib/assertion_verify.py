"""Test driver for t/013-assertion.t: checks assertions with
verifiers/python/validibot_assertion.py ("stdlib") or with PyJWT ("pyjwt").

    assertion_verify.py stdlib|pyjwt < lines

Each input line, tab-separated: NOW METHOD PATH KEYFILE[,KEYFILE...] AUDIENCE TOKEN.  Each
output line: "ok sub=S org=O roles=R" or the reason it was refused.
Run with /usr/bin/python3 (Debian's python3-jwt).
"""

import datetime
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "verifiers", "python"))

import validibot_assertion  # noqa: E402

LEEWAY = 30


def pyjwt(now, method, path, keys, audience, token):
    import jwt
    import jwt.api_jwt

    class Clock(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.datetime.fromtimestamp(now, tz)

    # PyJWT 2.6 reads the clock itself; the test gives it one
    jwt.api_jwt.datetime = Clock
    kid = jwt.get_unverified_header(token).get("kid")
    if kid not in keys:
        return "unknown key id"
    try:
        claims = jwt.decode(token, keys[kid], algorithms=["HS256"],
                            audience=audience, leeway=LEEWAY,
                            options={"require": ["exp", "iat", "iss", "sub",
                                                 "aud", "jti"]})
    except jwt.ExpiredSignatureError:
        return "expired"
    except jwt.ImmatureSignatureError:
        return "issued in the future"
    except jwt.InvalidSignatureError:
        return "bad signature"
    except jwt.InvalidAudienceError:
        return "wrong audience"
    if claims.get("htm") != method:
        return "wrong method"
    if claims.get("htu") != path:
        return "wrong path"
    return claims


def stdlib(now, method, path, keys, audience, token):
    try:
        return validibot_assertion.verify(token, keys, audience=audience,
                                          method=method, path=path, now=now,
                                          leeway=LEEWAY)
    except validibot_assertion.InvalidAssertion as e:
        return e.reason


def main():
    check = {"stdlib": stdlib, "pyjwt": pyjwt}[sys.argv[1]]
    for line in sys.stdin:
        now, method, path, files, audience, token = line.rstrip("\n").split("\t")
        keys = validibot_assertion.load_keys(files.split(","))
        r = check(int(now), method, path, keys, audience, token)
        if isinstance(r, dict):
            r = "ok sub=%s org=%s roles=%s" % (
                r["sub"], r.get("org", "-"), ",".join(r.get("roles", ["-"])))
        print(r)


main()
