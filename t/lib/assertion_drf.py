"""Test driver for t/013-assertion.t: the Django REST framework class of
verifiers/python/validibot_drf.py behind a real Django test client.

    assertion_drf.py KEY_DIR < "METHOD RAW_URI TOKEN"

A view that needs an authenticated user answers who the class made
request.user and request.auth.  Prints one line per case: the status and
what the view or DRF said.  Run with /usr/bin/python3 (Debian's
python3-django and python3-djangorestframework).
"""

import base64
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "verifiers", "python"))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

KEY_DIR = sys.argv[1]

settings.configure(
    DEBUG=False,
    SECRET_KEY="test only",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                           "NAME": ":memory:"}},
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth",
                    "rest_framework"],
    MIDDLEWARE=[],
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "validibot_drf.ValidibotAssertionAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": [
            "rest_framework.permissions.IsAuthenticated"],
        "UNAUTHENTICATED_USER": None,
    },
    VALIDIBOT_ASSERTION={
        "KEYS": [os.path.join(KEY_DIR, "gw-1.key"),
                 os.path.join(KEY_DIR, "gw-2.key")],
        "AUDIENCE": "api.example.com",
        "ISSUER": "validibot-gateway",
    },
)
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.urls import re_path  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from validibot_drf import ValidibotAssertionAuthentication  # noqa: E402


class WhoAmI(APIView):
    def get(self, request, *args, **kwargs):
        return Response({"user": request.user.pk, "org": request.auth.org,
                         "roles": sorted(request.auth.roles),
                         "key": request.auth.key_id})

    post = put = patch = delete = get


urlpatterns = [re_path(r"^.*$", WhoAmI.as_view())]


def claims_of(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def call(method, uri, token, now):
    ValidibotAssertionAuthentication.now = now
    extra = {} if token is None else {"HTTP_X_VALIDIBOT_ASSERTION": token}
    r = Client().generic(method, uri, **extra)
    body = json.loads(r.content)
    if r.status_code == 200:
        return "200 user=%s org=%s roles=%s key=%s" % (
            body["user"], body["org"], ",".join(body["roles"]),
            "public_id" if len(body["key"]) == 32 else body["key"])
    return "%d %s" % (r.status_code, body.get("detail"))


def main():
    method, uri, token = sys.stdin.read().strip().split(" ", 2)
    c = claims_of(token)
    path, _, query = uri.partition("?")
    other = path + "other/" + ("?" + query if query else "")

    call_command("migrate", verbosity=0)
    User = get_user_model()
    user = User.objects.create(id=int(c["sub"]), username="u" + c["sub"])

    print("fresh: " + call(method, uri, token, c["iat"]))
    print("replayed to another path: " + call(method, other, token, c["iat"]))
    print("expired: " + call(method, uri, token, c["exp"] + 30))
    with override_settings(VALIDIBOT_ASSERTION={
            "KEYS": [os.path.join(KEY_DIR, "wrong", "gw-1.key")],
            "AUDIENCE": "api.example.com"}):
        print("another key: " + call(method, uri, token, c["iat"]))
    with override_settings(VALIDIBOT_ASSERTION={
            "KEYS": [os.path.join(KEY_DIR, "gw-1.key")],
            "AUDIENCE": "other.example.com"}):
        print("another audience: " + call(method, uri, token, c["iat"]))
    print("no assertion: " + call(method, uri, None, c["iat"]))
    user.is_active = False
    user.save()
    print("inactive user: " + call(method, uri, token, c["iat"]))


main()
