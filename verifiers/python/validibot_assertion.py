"""Verify the identity assertion ngx_http_validibot_module sends upstream.

Standard library only.  The assertion is a JWT (compact JWS, HS256) made
by the gateway's ``validibot_assertion`` directive; docs/upstream.md says
what each claim means.  Typical use::

    keys = validibot_assertion.load_keys(["/etc/validibot/assertion-2026a.key"])
    claims = validibot_assertion.verify(
        request.headers["X-Validibot-Assertion"], keys,
        audience="api.example.com", method=request.method, path=request.path)

``verify`` raises ``InvalidAssertion`` (with ``reason``) on anything wrong.
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import time

__all__ = ["InvalidAssertion", "load_key", "load_keys", "verify"]

DEFAULT_LEEWAY = 30
KEY_MIN = 32
_KID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_B64 = re.compile(r"^[A-Za-z0-9_-]*$")
_STRINGS = ("iss", "aud", "sub", "kid", "jti", "htm", "htu")


class InvalidAssertion(Exception):
    """The assertion must not be trusted; ``reason`` says why."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def load_key(path):
    """(kid, secret) from a key file, by the module's rules: the kid is the
    file name without a ".key" suffix, one trailing newline is dropped, at
    least 32 bytes."""
    name = os.path.basename(path)
    kid = name[:-4] if name.endswith(".key") and len(name) > 4 else name
    if not _KID.match(kid):
        raise ValueError("%s: the file name is not a valid kid" % path)
    with open(path, "rb") as f:
        secret = f.read(4097)
    if secret.endswith(b"\n"):
        secret = secret[:-1]
        if secret.endswith(b"\r"):
            secret = secret[:-1]
    if len(secret) < KEY_MIN or len(secret) > 4096:
        raise ValueError("%s: a key needs 32 to 4096 bytes" % path)
    return kid, secret


def load_keys(paths):
    """{kid: secret} for several key files (all the gateway may sign with)."""
    return dict(load_key(p) for p in paths)


def _unb64(part):
    if not _B64.match(part) or len(part) % 4 == 1:
        raise InvalidAssertion("malformed")
    raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    # one text per byte string, as the module's verifier
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != part:
        raise InvalidAssertion("malformed")
    return raw


def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise InvalidAssertion("malformed")
        obj[k] = v
    return obj


def _json(raw):
    try:
        obj = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError):
        raise InvalidAssertion("malformed")
    if not isinstance(obj, dict):
        raise InvalidAssertion("malformed")
    return obj


def verify(token, keys, audience=None, issuer=None, method=None, path=None,
           now=None, leeway=DEFAULT_LEEWAY):
    """Check ``token`` and return its claims (a dict).

    ``keys`` maps kid to secret bytes.  Each of audience, issuer, method and
    path, when not None, must equal the claim (aud, iss, htm, htu).  ``now``
    (Unix seconds, default the clock) and ``leeway`` (seconds) decide
    expiry: refused from exp + leeway on, and when iat is later than
    now + leeway.
    """
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise InvalidAssertion("malformed")
    if not isinstance(token, str):
        raise InvalidAssertion("malformed")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidAssertion("malformed")

    header = _json(_unb64(parts[0]))
    if header.get("alg") != "HS256" or header.get("typ", "JWT") != "JWT":
        raise InvalidAssertion("unsupported algorithm")
    if "crit" in header:
        raise InvalidAssertion("malformed")
    kid = header.get("kid")
    if not isinstance(kid, str) or kid not in keys:
        raise InvalidAssertion("unknown key id")

    signed = (parts[0] + "." + parts[1]).encode("ascii")
    expected = hmac.new(keys[kid], signed, hashlib.sha256).digest()
    try:
        sig = _unb64(parts[2])
    except (binascii.Error, InvalidAssertion):
        raise InvalidAssertion("bad signature")
    if not hmac.compare_digest(expected, sig):
        raise InvalidAssertion("bad signature")

    claims = _json(_unb64(parts[1]))
    for name in _STRINGS:
        if not isinstance(claims.get(name), str):
            raise InvalidAssertion("missing or mistyped claim")
    for name in ("iat", "exp"):
        v = claims.get(name)
        if not isinstance(v, int) or isinstance(v, bool):
            raise InvalidAssertion("missing or mistyped claim")
    if "org" in claims and not isinstance(claims["org"], str):
        raise InvalidAssertion("missing or mistyped claim")
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InvalidAssertion("missing or mistyped claim")

    if now is None:
        now = int(time.time())
    if now >= claims["exp"] + leeway:
        raise InvalidAssertion("expired")
    if claims["iat"] > now + leeway:
        raise InvalidAssertion("issued in the future")
    if issuer is not None and claims["iss"] != issuer:
        raise InvalidAssertion("wrong issuer")
    if audience is not None and claims["aud"] != audience:
        raise InvalidAssertion("wrong audience")
    if method is not None and claims["htm"] != method:
        raise InvalidAssertion("wrong method")
    if path is not None and claims["htu"] != path:
        raise InvalidAssertion("wrong path")
    return claims


if __name__ == "__main__":
    # python3 validibot_assertion.py KEYFILE... < token: claims or the reason
    import sys
    try:
        print(json.dumps(verify(sys.stdin.readline().strip(),
                                load_keys(sys.argv[1:])), sort_keys=True))
    except InvalidAssertion as e:
        print("invalid: %s" % e.reason, file=sys.stderr)
        sys.exit(1)
