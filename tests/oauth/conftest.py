"""Fixtures for the OAuth provider: registered apps, a browser that logs in and consents, and a
``requests`` transport that hands a standard OAuth client library's requests to Django's test
client (no network, no live server)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken, set_token_value
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from apps.oauth.scopes import SCOPES
from apps.oauth.services import oauth_app_create
from apps.users.models import Organization, User

BASE = "http://testserver"
AUTHORIZE_URL = f"{BASE}/api/v2/oauth2/authorize"
TOKEN_URL = f"{BASE}/api/v2/oauth2/token"
REFRESH_URL = f"{BASE}/api/v2/oauth2/refresh_token"
REDIRECT_URI = "https://client.example/callback"
PASSWORD = "correct horse battery staple"  # tests/conftest.py make_user's password


class DjangoClientAdapter(BaseAdapter):
    """A ``requests`` transport: sends each request through ``django.test.Client`` instead of a socket."""

    def __init__(self, client: Client) -> None:
        super().__init__()
        self.client = client

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = urlsplit(request.url or "")
        headers = {
            "HTTP_" + name.upper().replace("-", "_"): value
            for name, value in request.headers.items()
            if name.lower() not in ("content-type", "content-length")
        }
        body = request.body or b""
        answer = self.client.generic(
            request.method or "GET",
            url.path + (f"?{url.query}" if url.query else ""),
            data=body.encode() if isinstance(body, str) else body,
            content_type=request.headers.get("Content-Type", ""),
            **headers,
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.content
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def mount(session: requests.Session) -> requests.Session:
    """Route a requests session (e.g. requests-oauthlib's OAuth2Session) to the Django app."""
    session.mount(BASE, DjangoClientAdapter(Client()))
    return session


class _FormInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.checkboxes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "input":
            return
        values = dict(attrs)
        if values.get("type") == "hidden" and values.get("name"):
            self.hidden[str(values["name"])] = values.get("value") or ""
        if values.get("type") == "checkbox" and values.get("name") == "grant_scope":
            self.checkboxes.append(values.get("value") or "")


def form_inputs(html: str) -> _FormInputs:
    parser = _FormInputs()
    parser.feed(html)
    return parser


def query_of(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


class Browser:
    """The user's browser on the login and consent pages (a Django test client keeps the session)."""

    def __init__(self, **headers: str) -> None:
        self.client = Client(**headers)

    def log_in(self, authorize_url: str, account: str, password: str = PASSWORD) -> Any:
        """Open the app's authorize link while logged out, sign in; returns the response after login."""
        first = self.client.get(authorize_url)
        assert first.status_code == 302 and "/api/v2/oauth2/login" in first["Location"], first
        page = self.client.get(first["Location"])
        assert page.status_code == 200
        inputs = form_inputs(page.content.decode())
        return self.client.post(first["Location"], {**inputs.hidden, "account": account, "password": password})

    def consent_page(self, authorize_url: str) -> Any:
        return self.client.get(authorize_url)

    def decide(self, authorize_url: str, *, allow: bool = True, untick: tuple[str, ...] = ()) -> str:
        """On the consent page, tick (all but ``untick``) and press Allow or Deny; returns the redirect."""
        page = self.consent_page(authorize_url)
        assert page.status_code == 200, page.content.decode()[:500]
        inputs = form_inputs(page.content.decode())
        data: dict[str, Any] = dict(inputs.hidden)
        data["grant_scope"] = [name for name in inputs.checkboxes if name not in untick]
        if allow:
            data["allow"] = "on"
        response = self.client.post(authorize_url, data)
        assert response.status_code == 302, response.content.decode()[:500]
        return str(response["Location"])

    def authorize(self, authorize_url: str, account: str, **decision: Any) -> str:
        login = self.log_in(authorize_url, account)
        assert login.status_code == 302, login.content.decode()[:500]
        return self.decide(authorize_url, **decision)


@pytest.fixture(autouse=True)
def _plain_http_test_server(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test server is http://testserver; oauthlib's client refuses plain http unless told.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def browser() -> Browser:
    return Browser()


@pytest.fixture
def make_app(org: Organization) -> Callable[..., tuple[Application, str | None]]:
    def make(
        *,
        public: bool = False,
        scopes: tuple[str, ...] = SCOPES,
        approve: bool = True,
        organization: Organization | None = None,
        redirect_uri: str = REDIRECT_URI,
        name: str = "Portfolio Tracker",
    ) -> tuple[Application, str | None]:
        return oauth_app_create(
            name=name,
            organization=organization or org,
            redirect_uris=[redirect_uri],
            scopes=scopes,
            public=public,
            approve=approve,
        )

    return make


@pytest.fixture
def app(make_app: Callable[..., tuple[Application, str | None]]) -> tuple[Application, str]:
    application, secret = make_app()
    assert secret is not None
    return application, secret


@pytest.fixture
def issue_token() -> Callable[..., str]:
    """Mint an access token (with its refresh token) directly, for tests of the resource API."""

    def issue(user: User, application: Application, scopes: str, *, expires_in: int = 900) -> str:
        raw = secrets.token_urlsafe(30)
        access = AccessToken(
            user=user, application=application, scope=scopes, expires=timezone.now() + timedelta(seconds=expires_in)
        )
        set_token_value(access, raw)
        access.save()
        refresh = RefreshToken(user=user, application=application, access_token=access)
        set_token_value(refresh, secrets.token_urlsafe(30))
        refresh.save()
        return raw

    return issue


@pytest.fixture
def api() -> Callable[..., Any]:
    """Call the resource API with a bearer token (a client without cookies, as a third-party server)."""
    client = Client()

    def call(method: str, path: str, token: str | None, **params: Any) -> Any:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        url = f"/api/v2/oauth2/{path}"
        if method == "GET":
            return client.get(url, params, **headers)
        return client.post(url, params, content_type="application/json", **headers)

    return call
