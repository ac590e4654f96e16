"""A Django REST framework authentication class for the gateway's assertion.

Settings (all but KEYS optional)::

    VALIDIBOT_ASSERTION = {
        "KEYS": ["/etc/validibot/assertion-2026b.key",     # key files, or
                 "/etc/validibot/assertion-2026a.key"],    # {kid: bytes}
        "AUDIENCE": "api.example.com",  # the gateway's validibot_assertion
        "ISSUER": "validibot-gateway",  # audience= and issuer=
        "HEADER": "X-Validibot-Assertion",
        "LEEWAY": 30,                   # seconds of clock skew
    }

    REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": [
        "validibot_drf.ValidibotAssertionAuthentication"]}

A valid assertion for this request's method and path gives
``request.user``: the active user whose primary key is ``sub``, and
``request.auth``: a ``ValidibotIdentity`` (org, roles, key_id, claims).
No header: not this class's business (None), so another class may try;
an assertion that does not verify: 401, never a fallback.
"""

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

import validibot_assertion


class ValidibotIdentity:
    """What the gateway checked: request.auth."""

    def __init__(self, claims):
        self.claims = claims
        self.org = claims.get("org")
        self.roles = frozenset(claims.get("roles", ()))
        self.key_id = claims["kid"]
        self.user_id = claims["sub"]

    def has_role(self, role):
        return role in self.roles


class ValidibotAssertionAuthentication(BaseAuthentication):

    # tests set a fixed clock here; None: the system clock
    now = None

    def _config(self):
        conf = getattr(settings, "VALIDIBOT_ASSERTION", None)
        if not conf or not conf.get("KEYS"):
            raise exceptions.AuthenticationFailed(
                "Gateway assertion keys are not configured")
        keys = conf["KEYS"]
        if not isinstance(keys, dict):
            keys = validibot_assertion.load_keys(keys)
        return conf, keys

    def authenticate(self, request):
        conf, keys = self._config()
        header = conf.get("HEADER", "X-Validibot-Assertion")
        token = request.headers.get(header)
        if token is None:
            return None

        now = self.now() if callable(self.now) else self.now
        try:
            claims = validibot_assertion.verify(
                token, keys,
                audience=conf.get("AUDIENCE"),
                issuer=conf.get("ISSUER"),
                method=request.method,
                path=request.path,
                now=int(now) if now is not None else int(time.time()),
                leeway=conf.get("LEEWAY", validibot_assertion.DEFAULT_LEEWAY))
        except validibot_assertion.InvalidAssertion as e:
            raise exceptions.AuthenticationFailed(
                "Invalid gateway assertion: %s" % e.reason)

        User = get_user_model()
        try:
            user = User.objects.get(pk=claims["sub"], is_active=True)
        except (User.DoesNotExist, ValueError):
            raise exceptions.AuthenticationFailed("Unknown or inactive user")

        return user, ValidibotIdentity(claims)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
