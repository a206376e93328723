"""The authorization code flow driven by a standard client library (requests-oauthlib): login,
consent, token, resource call, refresh, revoke; PKCE; the consent and login pages."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests
from django.utils import translation
from django.utils.html import escape
from oauth2_provider.models import AccessToken
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError
from requests_oauthlib import OAuth2Session

from apps.oauth.scopes import SCOPE_DESCRIPTIONS
from apps.users.models import SecurityRecord
from tests.oauth.conftest import (
    AUTHORIZE_URL,
    BASE,
    REDIRECT_URI,
    REFRESH_URL,
    TOKEN_URL,
    Browser,
    form_inputs,
    mount,
    query_of,
)
from tests.users.helpers import bind_totp, totp_now

pytestmark = pytest.mark.django_db


def test_confidential_client_code_flow_with_pkce_refresh_and_revoke(app, make_user, browser):
    application, secret = app
    alice = make_user(email="alice@example.com")
    client = mount(
        OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo", "tradeInfo"], pkce="S256")
    )
    url, state = client.authorization_url(AUTHORIZE_URL)
    assert "code_challenge_method=S256" in url

    callback = browser.authorize(url, "alice@example.com")
    assert callback.startswith(REDIRECT_URI + "?")
    assert query_of(callback)["state"] == state
    assert query_of(callback)["iss"] == BASE  # RFC 9207 issuer

    token = client.fetch_token(TOKEN_URL, authorization_response=callback, client_secret=secret)
    assert token["token_type"] == "Bearer"
    assert sorted(token["scope"]) == ["tradeInfo", "userInfo"]
    assert 0 < token["expires_in"] <= 900  # short-lived access tokens

    # Stored hashed: the database never holds a usable token.
    assert not AccessToken.objects.filter(token=token["access_token"]).exists()
    assert AccessToken.objects.filter(user=alice).count() == 1

    me = client.get(f"{BASE}/api/v2/oauth2/user/getInfo")
    assert me.status_code == 200, me.text
    assert me.json()["uid"] == str(alice.uid) and me.json()["email"] == "alice@example.com"

    # Refresh at the seed's refresh endpoint: a new pair; the refresh token rotates.
    old_access, old_refresh = token["access_token"], token["refresh_token"]
    new = client.refresh_token(REFRESH_URL, client_id=application.client_id, client_secret=secret)
    assert new["access_token"] != old_access and new["refresh_token"] != old_refresh
    assert client.get(f"{BASE}/api/v2/oauth2/trade/spot/getOpenOrderList").status_code == 200
    stale = mount(requests.Session()).get(
        f"{BASE}/api/v2/oauth2/user/getInfo", headers={"Authorization": f"Bearer {old_access}"}
    )
    assert stale.status_code == 401 and stale.json()["code"] == "invalid_token"
    # The rotated-out refresh token is dead (and replaying it revokes the whole family).
    replay = OAuth2Session(application.client_id, token={"refresh_token": old_refresh, "token_type": "Bearer"})
    with pytest.raises(InvalidGrantError):
        mount(replay).refresh_token(TOKEN_URL, client_id=application.client_id, client_secret=secret)
    assert client.get(f"{BASE}/api/v2/oauth2/user/getInfo").status_code == 401

    # Revocation (RFC 7009) of a fresh token ends access at once.
    fresh_session = mount(
        OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo"], pkce="S256")
    )
    url, _ = fresh_session.authorization_url(AUTHORIZE_URL)
    fresh = fresh_session.fetch_token(TOKEN_URL, authorization_response=browser.decide(url), client_secret=secret)
    assert fresh_session.get(f"{BASE}/api/v2/oauth2/user/getInfo").status_code == 200
    revoked = fresh_session.post(
        f"{BASE}/api/v2/oauth2/revoke_token",
        data={"token": fresh["access_token"]},
        auth=(application.client_id, secret),
    )
    assert revoked.status_code == 200
    assert fresh_session.get(f"{BASE}/api/v2/oauth2/user/getInfo").status_code == 401
    with pytest.raises(InvalidGrantError):
        fresh_session.refresh_token(TOKEN_URL, client_id=application.client_id, client_secret=secret)

    # The consent decisions are in the user's security records.
    actions = list(SecurityRecord.objects.filter(user=alice).values_list("action", flat=True))
    assert actions.count("oauth_authorize") == 2


def test_public_client_with_pkce_gets_a_token_without_a_secret(make_app, make_user, browser):
    application, secret = make_app(public=True, scopes=("userInfo",))
    assert secret is None
    make_user(email="pub@example.com")
    client = mount(OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo"], pkce="S256"))
    url, _ = client.authorization_url(AUTHORIZE_URL)
    callback = browser.authorize(url, "pub@example.com")
    token = client.fetch_token(TOKEN_URL, authorization_response=callback, include_client_id=True)
    assert token["scope"] == ["userInfo"]
    assert client.get(f"{BASE}/api/v2/oauth2/user/getInfo").json()["email"] == "pub@example.com"


def test_public_client_without_pkce_is_refused(make_app, make_user, browser):
    application, _ = make_app(public=True, scopes=("userInfo",))
    make_user(email="nopkce@example.com")
    client = OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo"])
    url, state = client.authorization_url(AUTHORIZE_URL)
    assert "code_challenge" not in url
    # Refused before anyone logs in, and again once logged in: never a code.
    for logged_in in (False, True):
        if logged_in:
            browser.client.force_login(make_user(email=f"nopkce{logged_in}@example.com"))
        refused = browser.client.get(url)
        assert refused.status_code == 302 and refused["Location"].startswith(REDIRECT_URI)
        answer = query_of(refused["Location"])
        assert answer["error"] == "invalid_request" and "Code challenge required" in answer["error_description"]
        assert answer["state"] == state and "code" not in answer


def test_plain_pkce_method_is_refused(app, make_user, browser):
    application, _ = app
    browser.client.force_login(make_user(email="plain@example.com"))
    url = (
        AUTHORIZE_URL
        + "?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": application.client_id,
                "redirect_uri": REDIRECT_URI,
                "scope": "userInfo",
                "state": "s1",
                "code_challenge": "a" * 43,
                "code_challenge_method": "plain",
            }
        )
    )
    location = browser.decide(url)
    answer = query_of(location)
    assert answer["error"] == "invalid_request" and "S256" in answer["error_description"]
    assert "code" not in answer


def test_code_without_the_verifier_is_refused(app, make_user, browser):
    application, secret = app
    make_user(email="verifier@example.com")
    client = mount(OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo"], pkce="S256"))
    url, _ = client.authorization_url(AUTHORIZE_URL)
    code = query_of(browser.authorize(url, "verifier@example.com"))["code"]
    answer = browser.client.post(
        "/api/v2/oauth2/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": "x" * 50,
        },
        HTTP_AUTHORIZATION=_basic(application.client_id, secret),
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_user_may_grant_only_some_of_the_requested_scopes(app, make_user, browser, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")  # the client accepts a narrower grant
    application, secret = app
    make_user(email="partial@example.com")
    client = mount(
        OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo", "trade"], pkce="S256")
    )
    url, _ = client.authorization_url(AUTHORIZE_URL)
    callback = browser.authorize(url, "partial@example.com", untick=("trade",))
    token = client.fetch_token(TOKEN_URL, authorization_response=callback, client_secret=secret)
    assert token["scope"] == ["userInfo"]
    placed = client.post(f"{BASE}/api/v2/oauth2/trade/spot/placeOrder", json={})
    assert placed.status_code == 403 and placed.json()["code"] == "insufficient_scope"


def test_consent_page_lists_each_requested_scope_in_the_users_language(app, make_user):
    application, _ = app
    make_user(email="ko@example.com", language="ko")
    browser = Browser(HTTP_ACCEPT_LANGUAGE="en")
    client = OAuth2Session(
        application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo", "accountDetail", "trade"], pkce="S256"
    )
    url, _ = client.authorization_url(AUTHORIZE_URL)
    login = browser.log_in(url, "ko@example.com")
    assert login.status_code == 302
    page = browser.consent_page(url)
    html = page.content.decode()
    assert page.status_code == 200 and page["Content-Language"] == "ko" and '<html lang="ko">' in html
    assert "Portfolio Tracker" in html and "Test Broker" in html
    for scope in ("userInfo", "accountDetail", "trade"):
        assert f'name="grant_scope" value="{scope}" checked' in html
    with translation.override("ko"):
        for scope in ("userInfo", "accountDetail", "trade"):
            assert escape(str(SCOPE_DESCRIPTIONS[scope])) in html
    assert "accountInfo" not in html and "tradeInfo" not in html
    assert "oauth/oauth.css" in html and "cdn" not in html.lower()
    assert page["X-Frame-Options"] == "DENY"


def test_login_page_follows_accept_language_and_users_language_afterwards(app, make_user):
    application, _ = app
    make_user(email="zh@example.com", language="zh-hans")
    client = OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo"], pkce="S256")
    url, _ = client.authorization_url(AUTHORIZE_URL)
    browser = Browser(HTTP_ACCEPT_LANGUAGE="ko,en;q=0.5")
    to_login = browser.client.get(url)
    login_page = browser.client.get(to_login["Location"])
    assert login_page["Content-Language"] == "ko"
    browser.log_in(url, "zh@example.com")
    assert browser.consent_page(url)["Content-Language"] == "zh-hans"


def test_login_with_totp_second_step(app, make_user, browser):
    application, _ = app
    user = make_user(email="totp@example.com")
    device = bind_totp(user)
    client = OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo"], pkce="S256")
    url, _ = client.authorization_url(AUTHORIZE_URL)
    step = browser.log_in(url, "totp@example.com")
    assert step.status_code == 200 and 'name="code"' in step.content.decode()
    assert browser.consent_page(url).status_code == 302  # not logged in yet
    login_url = browser.client.get(url)["Location"]
    hidden = form_inputs(step.content.decode()).hidden
    assert hidden["step"] == "totp"
    wrong = browser.client.post(login_url, {**hidden, "code": "000000"})
    assert wrong.status_code == 400 and "authenticator code is wrong" in wrong.content.decode()
    device.refresh_from_db()
    device.throttle_reset()  # django-otp slows retries down after a failure
    done = browser.client.post(login_url, {**hidden, "code": totp_now(device)})
    assert done.status_code == 302 and done["Location"] == hidden["next"]
    assert browser.consent_page(url).status_code == 200


def test_wrong_password_shows_the_error_on_the_login_page(app, make_user, browser):
    application, _ = app
    make_user(email="wrong@example.com")
    client = OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo"], pkce="S256")
    url, _ = client.authorization_url(AUTHORIZE_URL)
    login_url = browser.client.get(url)["Location"]
    hidden = form_inputs(browser.client.get(login_url).content.decode()).hidden
    page = browser.client.post(login_url, {**hidden, "account": "wrong@example.com", "password": "nope"})
    assert page.status_code == 401 and "Wrong account or password" in page.content.decode()
    assert 'name="password"' in page.content.decode()


def test_login_page_refuses_a_next_url_elsewhere(app, browser):
    for target in ("https://evil.example/api/v2/oauth2/authorize", "/admin/"):
        page = browser.client.get("/api/v2/oauth2/login", {"next": target})
        assert page.status_code == 400 and "Location" not in page


def test_only_users_of_the_apps_broker_can_authorize_it(app, make_user, other_org, browser):
    application, _ = app
    make_user(email="elsewhere@example.com", organization=other_org)
    client = OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo"], pkce="S256")
    url, _ = client.authorization_url(AUTHORIZE_URL)
    # The login runs inside the app's broker: an account of another broker is unknown there.
    assert browser.log_in(url, "elsewhere@example.com").status_code == 401


def test_a_logged_in_user_of_another_broker_is_asked_to_sign_in_again(app, make_user, other_org, browser):
    application, _ = app
    outsider = make_user(email="outsider@example.com", organization=other_org)
    browser.client.force_login(outsider)
    client = OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo"], pkce="S256")
    url, _ = client.authorization_url(AUTHORIZE_URL)
    answer = browser.client.get(url)
    assert answer.status_code == 302 and "switch=1" in answer["Location"]
    page = browser.client.get(answer["Location"])
    assert "You are signed in as" in page.content.decode()


def test_unapproved_app_is_refused_at_authorize_and_token(make_app, make_user, browser):
    application, secret = make_app(approve=False)
    client = OAuth2Session(application.client_id, redirect_uri=REDIRECT_URI, scope=["userInfo"], pkce="S256")
    url, _ = client.authorization_url(AUTHORIZE_URL)
    page = browser.client.get(url)
    assert page.status_code == 400 and "unauthorized_client" in page.content.decode()
    answer = browser.client.post(
        "/api/v2/oauth2/token",
        {"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT_URI},
        HTTP_AUTHORIZATION=_basic(application.client_id, secret),
    )
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_check_token_introspection_for_the_owning_client(app, make_app, make_user, issue_token, browser):
    application, secret = app
    other, other_secret = make_app(name="Other App")
    user = make_user()
    token = issue_token(user, application, "userInfo trade")
    own = browser.client.get(
        "/api/v2/oauth2/check_token", {"token": token}, HTTP_AUTHORIZATION=_basic(application.client_id, secret)
    )
    body = own.json()
    assert own.status_code == 200 and body["active"] is True
    assert body["scope"] == "userInfo trade" and body["client_id"] == application.client_id
    assert body["uid"] == str(user.uid) and body["exp"] > body["iat"]
    # Another client learns nothing about it.
    foreign = browser.client.get(
        "/api/v2/oauth2/check_token", {"token": token}, HTTP_AUTHORIZATION=_basic(other.client_id, other_secret)
    )
    assert foreign.json() == {"active": False}
    bad = browser.client.get(
        "/api/v2/oauth2/check_token", {"token": token}, HTTP_AUTHORIZATION=_basic(application.client_id, "wrong")
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    unknown = browser.client.post(
        "/api/v2/oauth2/check_token",
        {"token": "nope", "client_id": application.client_id, "client_secret": secret},
    )
    assert unknown.json() == {"active": False}


def test_error_page_is_readable(client):
    page = client.get("/api/v2/oauth2/error", {"error": "access_denied", "error_description": "The user said no"})
    html = page.content.decode()
    assert page.status_code == 200 and "Authorization failed" in html
    assert "access_denied" in html and "The user said no" in html and "Access was denied." in html


def test_token_endpoint_answers_get_with_the_oauth_error(client):
    answer = client.get("/api/v2/oauth2/token")
    assert answer.status_code == 405 and answer.json()["error"] == "invalid_request"


def _basic(client_id: str, secret: str | None) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{client_id}:{secret or ''}".encode()).decode()
