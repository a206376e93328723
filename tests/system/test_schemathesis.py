"""Schema fuzzing of every REST surface (issue #10, DESIGN.md §13).

schemathesis generates requests from the OpenAPI document that ``/api/schema/`` serves (drf-spectacular's
generator, the same one that view uses) and sends each one to the Django application in-process.
Every operation of the schema is one test item; each must hold two properties for every generated
request:

* ``not_a_server_error``: no 5xx answer (an unhandled exception's traceback is attached to the failure);
* ``response_schema_conformance``: a documented response matches its own schema.

Requests are authenticated as the surface in front of them expects, so that fuzzing reaches past the
authentication into the endpoints:

* ``/api/v1/`` (User API): a fresh logged-in session per request, with the CSRF cookie and header;
* ``/openapi/`` (BHEX OpenAPI, except the public ``/openapi/quote/``): a user API key, ``timestamp``
  and the lowercase hex HMAC over the query string followed by the form body;
* ``/api/v2/org/`` (Org API): an organization key, the same signature scheme;
* ``/v1/`` (BGE API): ``ACCESS-KEY``/``ACCESS-TIMESTAMP``/``ACCESS-SIGN`` (base64 HMAC of timestamp,
  method, path, query and body);
* ``/api/v2/oauth2/`` resource endpoints: a bearer token holding every scope.

Generated values for the signing parameters themselves are replaced by valid ones. Rate limits and
the replay cache are cleared before each request (a fuzzer is not a client to throttle). The budget is
bounded: ``FUZZ_EXAMPLES`` examples per operation (default 2), no deadline.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import got_request_exception, request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.transport.prepare import prepare_path
from werkzeug.test import Client as WsgiClient
from werkzeug.test import TestResponse

from apps.apikeys.services import api_key_create, org_api_key_create
from apps.core.signing import bge_sign, bhex_sign
from apps.tokens.models import Symbol
from apps.users.models import Organization, User

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))
SIGNING_PARAMS = ("timestamp", "signature", "recvWindow")


def _schema_document() -> dict[str, Any]:
    """The document ``/api/schema/`` serves, as JSON (the generator and renderer that view uses)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))


schema = schemathesis.openapi.from_dict(_schema_document())
_application: list[Any] = []


def _app() -> Any:
    if not _application:
        _application.append(get_wsgi_application())
    return _application[0]


class World:
    """Who calls: a funded user with a session, a user API key, an org key, an OAuth token."""

    def __init__(self, org: Organization, user: User, symbol: Symbol) -> None:
        self.org = org
        self.user = user
        self.symbol = symbol
        key, self.key_secret = api_key_create(user=user, permissions=("read", "trade", "withdraw", "transfer"))
        self.key = key.key
        org_key, self.org_secret = org_api_key_create(organization=org, ip_whitelist=["127.0.0.1"])
        self.org_key = org_key.key
        self.bearer = self._oauth_token()
        self._session: dict[str, str] = {}

    def _oauth_token(self) -> str | None:
        try:
            import secrets
            from datetime import timedelta

            from django.utils import timezone
            from oauth2_provider.models import AccessToken, set_token_value

            from apps.oauth.scopes import SCOPES
            from apps.oauth.services import oauth_app_create
        except ImportError:  # the OAuth provider is not part of this build
            return None
        application, _ = oauth_app_create(
            name="Fuzzer",
            organization=self.org,
            redirect_uris=["https://fuzz.example/callback"],
            scopes=SCOPES,
            approve=True,
        )
        raw = secrets.token_urlsafe(30)
        access = AccessToken(
            user=self.user,
            application=application,
            scope=" ".join(SCOPES),
            expires=timezone.now() + timedelta(hours=1),
        )
        set_token_value(access, raw)
        access.save()
        return raw

    def session_cookies(self) -> dict[str, str]:
        """A logged-in session (a new one after a fuzzed request ended it: logout, password change)."""
        from django.contrib.sessions.backends.db import SessionStore

        if not self._session or not SessionStore().exists(self._session["sessionid"]):
            client = Client()
            client.force_login(self.user)
            self._session = {"sessionid": client.cookies["sessionid"].value, "csrftoken": "f" * 32}
        return self._session


@pytest.fixture
def world(org: Organization, make_user: Any, fund: Any, btcusdt: Symbol, settings: Any) -> Iterator[World]:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    user = make_user(kyc_level=2)
    fund(user, "BTC", "10")
    fund(user, "USDT", "100000")
    # Django's test client does this too: the in-process app must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield World(org, user, btcusdt)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _encode(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return "" if value is None else str(value)


def _query(items: dict[str, Any] | None) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in (items or {}).items():
        for one in value if isinstance(value, list) else [value]:
            pairs.append((name, _encode(one)))
    return pairs


def _body(case: Any) -> tuple[bytes, str | None]:
    """The generated body as bytes, with its content type."""
    body = case.body
    media = case.media_type
    if body is None or type(body).__name__ == "NotSet" or media is None:
        return b"", None
    if "json" in media:
        return json.dumps(body, default=str).encode(), "application/json"
    if media == "application/x-www-form-urlencoded":
        return urlencode(_query(body) if isinstance(body, dict) else []).encode(), media
    if media.startswith("multipart/"):
        # Form parts are enough to reach the views; files are not generated.
        text = urlencode(_query(body) if isinstance(body, dict) else [])
        return text.encode(), "application/x-www-form-urlencoded"
    if isinstance(body, bytes):
        return body, media
    return str(body).encode(), media


def _surface(path: str) -> str:
    if path.startswith("/api/v1/"):
        return "session"
    if path.startswith("/openapi/quote/"):
        return "public"
    if path.startswith("/openapi/"):
        return "bhex"
    if path.startswith("/api/v2/org/"):
        return "org"
    if path.startswith("/api/v2/oauth2/"):
        return "oauth"
    if path.startswith("/v1/"):
        return "bge"
    return "public"


def send(case: Any, world: World) -> tuple[TestResponse, dict[str, str], list[str]]:
    """Send ``case`` signed for its surface; returns the response, the headers sent and any traceback."""
    path = case.operation.schema.get_full_path(prepare_path(case.path, case.path_parameters))
    headers = {k: _encode(v) for k, v in (case.headers or {}).items()}
    cookies = {k: _encode(v) for k, v in (case.cookies or {}).items()}
    body, content_type = _body(case)
    query = _query(case.query)
    surface = _surface(case.path)
    if surface in ("bhex", "org"):
        query = [(k, v) for k, v in query if k not in SIGNING_PARAMS]
        query.append(("timestamp", str(int(time.time() * 1000))))
        query.append(("recvWindow", "60000"))
        if content_type == "application/x-www-form-urlencoded":
            body = urlencode([(k, v) for k, v in _query(case.body) if k not in SIGNING_PARAMS]).encode()
        raw_query = urlencode(query)
        secret, key = (world.key_secret, world.key) if surface == "bhex" else (world.org_secret, world.org_key)
        raw_query += "&signature=" + bhex_sign(secret, raw_query.encode() + body)
        headers["X-BH-APIKEY"] = key
    else:
        raw_query = urlencode(query)
    if surface == "bge":
        stamp = str(int(time.time() * 1000))
        headers.update(
            {
                "ACCESS-KEY": world.key,
                "ACCESS-TIMESTAMP": stamp,
                "ACCESS-SIGN": bge_sign(
                    world.key_secret,
                    timestamp=stamp,
                    method=case.method,
                    path=path,
                    query=raw_query,
                    body=body.decode("utf-8", "replace"),
                ),
            }
        )
    elif surface == "oauth" and world.bearer:
        headers.setdefault("Authorization", f"Bearer {world.bearer}")
    elif surface == "session":
        cookies.update(world.session_cookies())
        headers["X-CSRFToken"] = cookies["csrftoken"]
    if content_type:
        headers["Content-Type"] = content_type

    cache.clear()  # rate limits and the replay cache start empty for every request
    client = WsgiClient(_app())
    for name, value in cookies.items():
        client.set_cookie(name, value)
    errors: list[str] = []

    def record(**_: Any) -> None:
        errors.append(traceback.format_exc())

    got_request_exception.connect(record, weak=False)
    try:
        response = client.open(path, method=case.method, query_string=raw_query, data=body, headers=headers)
    finally:
        got_request_exception.disconnect(record)
    return response, headers, errors


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db
def test_every_operation_answers_within_its_schema(case: Any, world: World) -> None:
    response, headers, errors = send(case, world)
    if response.status_code >= 500 and errors:
        raise AssertionError(f"{case.method} {case.formatted_path} → {response.status_code}\n" + "\n".join(errors))
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance], headers=headers)


@pytest.mark.django_db
def test_the_fuzzed_document_is_the_served_one(client: Any) -> None:
    served = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert served.status_code == 200
    document = json.loads(served.content, parse_float=Decimal)
    assert set(document["paths"]) == set(schema.raw_schema["paths"])
