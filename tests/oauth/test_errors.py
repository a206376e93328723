"""The standard OAuth errors (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1) where a client meets them."""

from __future__ import annotations

import base64

import pytest
import time_machine
from django.utils import timezone
from requests_oauthlib import OAuth2Session

from tests.oauth.conftest import AUTHORIZE_URL, REDIRECT_URI, query_of

pytestmark = pytest.mark.django_db


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _code(browser, application, account: str, **session_kwargs):
    session = OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo"], pkce="S256")
    url, _ = session.authorization_url(AUTHORIZE_URL)
    callback = browser.authorize(url, account, **session_kwargs)
    return query_of(callback)["code"], session._code_verifier


def _exchange(browser, application, secret, code, verifier, redirect_uri=REDIRECT_URI):
    return browser.client.post(
        "/api/v2/oauth2/token",
        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier},
        HTTP_AUTHORIZATION=_basic(application.client_id, secret),
    )


def test_denied_consent_redirects_with_access_denied(app, make_user, browser):
    application, _ = app
    user = make_user(email="deny@example.com")
    session = OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo"], pkce="S256")
    url, state = session.authorization_url(AUTHORIZE_URL)
    location = browser.authorize(url, "deny@example.com", allow=False)
    answer = query_of(location)
    assert location.startswith(REDIRECT_URI)
    assert answer == {"error": "access_denied", "state": state}
    assert user.security_records.filter(action="oauth_deny").count() == 1


def test_unticking_every_scope_is_a_denial(app, make_user, browser):
    application, _ = app
    make_user(email="none@example.com")
    session = OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo"], pkce="S256")
    url, _ = session.authorization_url(AUTHORIZE_URL)
    location = browser.authorize(url, "none@example.com", untick=("userInfo",))
    assert query_of(location)["error"] == "access_denied"


def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(app, browser, make_user):
    application, _ = app
    make_user(email="redir@example.com")
    for wrong in ("https://evil.example/callback", REDIRECT_URI + "/more", REDIRECT_URI + "?x=1"):
        session = OAuth2Session(application.client_id, redirect_uri=wrong, scope=["userInfo"], pkce="S256")
        url, _ = session.authorization_url(AUTHORIZE_URL)
        page = browser.client.get(url)  # before any login: a bad request is refused at once
        assert page.status_code == 400, wrong
        assert "Location" not in page
        html = page.content.decode()
        assert "invalid_request" in html and "redirect" in html.lower()
    # Logged in, the same.
    browser.client.force_login(make_user(email="redir2@example.com"))
    page = browser.client.get(url)
    assert page.status_code == 400 and "Location" not in page


def test_redirect_uri_must_match_at_the_token_endpoint_too(app, make_user, browser):
    application, secret = app
    make_user(email="redir3@example.com")
    code, verifier = _code(browser, application, "redir3@example.com")
    answer = _exchange(browser, application, secret, code, verifier, redirect_uri="https://client.example/other")
    assert answer.status_code == 400 and answer.json()["error"] in ("invalid_request", "invalid_grant")
    assert "access_token" not in answer.json()


def test_unknown_client_gets_the_error_page(browser):
    page = browser.client.get(
        "/api/v2/oauth2/authorize",
        {"client_id": "nope", "response_type": "code", "redirect_uri": REDIRECT_URI, "code_challenge": "x" * 43},
    )
    assert page.status_code == 400 and "Location" not in page and "invalid_request" in page.content.decode()


def test_scope_the_app_is_not_allowed_redirects_with_invalid_scope(make_app, make_user, browser):
    application, _ = make_app(scopes=("userInfo",))
    browser.client.force_login(make_user(email="scope@example.com"))
    session = OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo", "trade"], pkce="S256")
    url, state = session.authorization_url(AUTHORIZE_URL)
    answer = browser.client.get(url)
    assert answer.status_code == 302 and answer["Location"].startswith(REDIRECT_URI)
    params = query_of(answer["Location"])
    assert params["error"] == "invalid_scope" and params["state"] == state and "code" not in params


def test_reused_code_is_invalid_grant(app, make_user, browser):
    application, secret = app
    make_user(email="reuse@example.com")
    code, verifier = _code(browser, application, "reuse@example.com")
    first = _exchange(browser, application, secret, code, verifier)
    assert first.status_code == 200 and "access_token" in first.json()
    again = _exchange(browser, application, secret, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_expired_code_is_invalid_grant(app, make_user, browser):
    application, secret = app
    make_user(email="slow@example.com")
    code, verifier = _code(browser, application, "slow@example.com")
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=61)):
        answer = _exchange(browser, application, secret, code, verifier)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_wrong_client_secret_is_invalid_client(app, make_user, browser):
    application, secret = app
    make_user(email="secret@example.com")
    code, verifier = _code(browser, application, "secret@example.com")
    answer = _exchange(browser, application, secret + "x", code, verifier)
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    # The code was not spent by the failed attempt: the right secret still works.
    assert _exchange(browser, application, secret, code, verifier).status_code == 200


def test_expired_access_token_is_invalid_token(app, make_user, issue_token, api):
    application, _ = app
    token = issue_token(make_user(), application, "userInfo")
    assert api("GET", "user/getInfo", token).status_code == 200
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=901)):
        answer = api("GET", "user/getInfo", token)
    assert answer.status_code == 401
    assert answer.json() == {"code": "invalid_token", "msg": "The access token has expired."}
    assert 'error="invalid_token"' in answer["WWW-Authenticate"]


def test_missing_or_unknown_token_is_invalid_token(api):
    for token in (None, "not-a-token"):
        answer = api("GET", "user/getInfo", token)
        assert answer.status_code == 401 and answer.json()["code"] == "invalid_token"
        assert answer["WWW-Authenticate"].startswith("Bearer ")


def test_token_in_the_query_string_is_not_accepted(app, make_user, issue_token, client):
    application, _ = app
    token = issue_token(make_user(), application, "userInfo")
    answer = client.get("/api/v2/oauth2/user/getInfo", {"access_token": token})
    assert answer.status_code == 401


def test_suspended_app_tokens_stop_working(app, make_user, issue_token, api):
    from apps.oauth.services import oauth_app_suspend

    application, _ = app
    token = issue_token(make_user(), application, "userInfo")
    assert api("GET", "user/getInfo", token).status_code == 200
    oauth_app_suspend(registration=application.registration, acting_user=None)
    assert api("GET", "user/getInfo", token).status_code == 401


def test_refresh_endpoint_refuses_other_grants(app, browser):
    application, secret = app
    answer = browser.client.post(
        "/api/v2/oauth2/refresh_token",
        {"grant_type": "authorization_code", "code": "x"},
        HTTP_AUTHORIZATION=_basic(application.client_id, secret),
    )
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"


def test_client_credentials_grant_is_refused(app, browser):
    application, secret = app
    answer = browser.client.post(
        "/api/v2/oauth2/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(application.client_id, secret),
    )
    assert answer.status_code in (400, 401) and answer.json()["error"] in (
        "unauthorized_client",
        "unsupported_grant_type",
    )


def test_refresh_endpoint_needs_no_grant_type(app, make_user, browser):
    application, secret = app
    make_user(email="refresh@example.com")
    code, verifier = _code(browser, application, "refresh@example.com")
    tokens = _exchange(browser, application, secret, code, verifier).json()
    answer = browser.client.post(
        "/api/v2/oauth2/refresh_token",
        {"refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=_basic(application.client_id, secret),
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["refresh_token"] != tokens["refresh_token"] and answer.json()["scope"] == "userInfo"
