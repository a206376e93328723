"""The OAuth 2.0 endpoints (seed 001 "OAuth 자체인증 endpoint") on django-oauth-toolkit.

* ``authorize`` — GET checks the request (unknown, unapproved client or a redirect URI that is
  not registered exactly: a readable error page, never a redirect), sends a visitor to ``login``
  first, then shows the consent page listing each requested scope; POST records the decision and
  redirects to the client with a code or ``error=access_denied``. The user may untick scopes:
  the code carries only the ticked ones.
* ``login`` — email or phone + password within the app's broker, then the TOTP step when the user
  bound one (the same services as the User API's login).
* ``token`` (authorization code and refresh grants), ``refresh_token`` (the refresh grant only),
  ``revoke_token`` (RFC 7009), ``check_token`` (RFC 7662 introspection for the client that owns
  the token) answer with the standard OAuth JSON.
* ``error`` — the readable error page.

Pages are rendered in the user's language (their profile's when logged in, else the browser's
Accept-Language; an OAuth ``ui_locales`` hint wins).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

from django.contrib.auth import login
from django.contrib.auth.hashers import check_password, identify_hasher
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.response import SimpleTemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.crypto import constant_time_compare
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import (
    AbstractApplication,
    AccessToken,
    Application,
    RefreshToken,
    refresh_token_expire_timedelta,
)
from oauth2_provider.views.mixins import OAuthLibMixin

from apps.core.errors import BrokerError, SecondFactorRequired
from apps.oauth.scopes import SCOPE_DESCRIPTIONS, scopes_parse
from apps.oauth.selectors import application_by_client_id, application_is_approved, registration_of
from apps.oauth.services import oauth_consent_record
from apps.users import login as login_services
from apps.users.models import User

BACKEND = "apps.users.backends.ContactBackend"
PENDING_KEY = "oauth_pending_login"
PENDING_SECONDS = 300
PENDING_TRIES = 5

# Human explanations of the standard error codes, for the error page.
ERROR_TEXT = {
    "invalid_request": _("The request from the application is incomplete or malformed."),
    "invalid_client": _("The application is unknown or not approved by the broker."),
    "unauthorized_client": _("This application is not approved by the broker yet."),
    "access_denied": _("Access was denied."),
    "unsupported_response_type": _("The application asked for a kind of authorization this server does not give."),
    "invalid_scope": _("The application asked for permissions it is not allowed to request."),
    "server_error": _("Something went wrong on our side. Please try again."),
    "temporarily_unavailable": _("The service is temporarily unavailable. Please try again later."),
}

LOGIN_ERROR_TEXT = {
    "WRONG_CREDENTIALS": _("Wrong account or password."),
    "LOGIN_LOCKED": _("Too many failed attempts. Try again later."),
    "ACCOUNT_FROZEN": _("This account cannot log in. Please contact support."),
    "WRONG_SECOND_FACTOR": _("The authenticator code is wrong or expired."),
    "SECOND_FACTOR_REQUIRED": _("Your sign-in expired. Enter your password again."),
}


# --- language -----------------------------------------------------------------------------------
def page_language(request: HttpRequest) -> str:
    hints = request.GET.get("ui_locales", "").split()
    user = getattr(request, "user", None)
    if isinstance(user, User) and user.language:
        hints.append(user.language)
    for hint in hints:
        try:
            return translation.get_supported_language_variant(hint)
        except LookupError:
            continue
    return translation.get_language_from_request(request)


class LocalizedPage(View):
    """Renders the page in ``page_language`` (the project has no LocaleMiddleware)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        language = page_language(request)
        with translation.override(language):
            response = super().dispatch(request, *args, **kwargs)
            if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                response.render()
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ["Accept-Language", "Cookie"])
        return response


def error_page(request: HttpRequest, error: str, description: str = "", *, status: int = 400) -> HttpResponse:
    context = {"error": error, "description": description, "explanation": ERROR_TEXT.get(error, "")}
    return render(request, "oauth/error.html", context, status=status)


def oauth_error(error: str, description: str, *, status: int = 400, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _user_may_authorize(user: Any, application: Application | None) -> bool:
    """Only an end user of the broker the app serves may authorize it (not staff, not other brokers)."""
    registration = registration_of(application) if application is not None else None
    return (
        isinstance(user, User)
        and user.is_active
        and registration is not None
        and user.organization_id == registration.organization_id
    )


def _mask(contact: str) -> str:
    if "@" in contact:
        name, domain = contact.split("@", 1)
        return f"{name[:2]}***@{domain}"
    return f"{contact[:3]}****{contact[-2:]}" if len(contact) > 5 else contact


# --- authorize ----------------------------------------------------------------------------------
@method_decorator(never_cache, name="dispatch")
class AuthorizeView(LocalizedPage, dot_views.AuthorizationView):
    template_name = "oauth/authorize.html"

    def _client_id(self) -> str:
        return str(self.request.GET.get("client_id") or self.request.POST.get("client_id") or "")

    def _unapproved(self, application: Application | None) -> HttpResponse | None:
        """The readable refusal for a registered application staff has not approved (or suspended)."""
        if application is not None and not application_is_approved(application):
            return error_page(self.request, "unauthorized_client", "This application is not approved by the broker")
        return None

    def _to_login(self, *, switch: bool) -> HttpResponse:
        query = {"next": self.request.get_full_path()}
        if switch:
            query["switch"] = "1"
        return HttpResponseRedirect(f"{reverse('oauth-login')}?{urlencode(query)}")

    def handle_no_permission(self) -> HttpResponse:
        """A visitor: check the request first (a bad one gets the error page), then the login page."""
        application = application_by_client_id(self._client_id())
        refusal = self._unapproved(application)
        if refusal is not None:
            return refusal
        if self.request.method == "GET":
            try:
                self.validate_authorization_request(self.request)
            except OAuthToolkitError as error:
                return self.error_response(error, application=None)
        return self._to_login(switch=False)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        application = application_by_client_id(self._client_id())
        refusal = self._unapproved(application)
        if refusal is not None:
            return refusal
        if application is not None and not _user_may_authorize(request.user, application):
            return self._to_login(switch=True)
        return super().get(request, *args, **kwargs)  # type: ignore[no-any-return]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        application = application_by_client_id(self._client_id())
        refusal = self._unapproved(application)
        if refusal is not None:
            return refusal
        if application is None:
            return error_page(request, "invalid_client", "Unknown client_id")
        if not _user_may_authorize(request.user, application):
            return self._to_login(switch=True)
        return super().post(request, *args, **kwargs)  # type: ignore[no-any-return]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        application = context.get("application")
        user = self.request.user
        context["registration"] = registration_of(application) if application is not None else None
        context["scope_items"] = [(name, SCOPE_DESCRIPTIONS.get(name, name)) for name in context.get("scopes", [])]
        context["account_label"] = _mask(user.email or user.phone) if isinstance(user, User) else ""
        context["switch_url"] = (
            f"{reverse('oauth-login')}?{urlencode({'next': self.request.get_full_path(), 'switch': '1'})}"
        )
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        requested = scopes_parse(form.cleaned_data.get("scope") or "")
        ticked = set(self.request.POST.getlist("grant_scope"))
        granted = [name for name in requested if name in ticked]
        allow = bool(form.cleaned_data.get("allow")) and bool(granted)
        form.cleaned_data["allow"] = allow
        if allow:
            form.cleaned_data["scope"] = " ".join(granted)
        response: HttpResponse = super().form_valid(form)
        application = application_by_client_id(form.cleaned_data["client_id"])
        issued = allow and bool(getattr(self, "success_url", None))
        if application is not None and isinstance(self.request.user, User) and (issued or not allow):
            oauth_consent_record(
                user=self.request.user, application=application, scopes=granted if allow else requested, allowed=allow
            )
        return response

    def form_invalid(self, form: Any) -> HttpResponse:
        return error_page(self.request, "invalid_request", "The consent form was incomplete")

    def error_response(self, error: Any, application: Any, **kwargs: Any) -> HttpResponse:
        redirect, info = OAuthLibMixin.error_response(self, error, **kwargs)
        if redirect:
            return self.redirect(info["url"], application)  # type: ignore[no-any-return]
        oauth_err = info["error"]
        return error_page(self.request, oauth_err.error, oauth_err.description or "", status=oauth_err.status_code)


# --- login on the consent flow ------------------------------------------------------------------
def _safe_next(value: str, request: HttpRequest) -> str | None:
    """The authorize endpoint on this site, as a relative URL; anything else is refused (no open redirect)."""
    parts = urlsplit(value or "")
    if parts.netloc and (parts.scheme not in ("http", "https") or parts.netloc != request.get_host()):
        return None
    if parts.path != reverse("oauth-authorize"):
        return None
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _application_of_next(next_url: str) -> Application | None:
    client_id = (parse_qs(urlsplit(next_url).query).get("client_id") or [""])[0]
    application = application_by_client_id(client_id)
    if application is None or not application_is_approved(application):
        return None
    return application


@method_decorator(never_cache, name="dispatch")
class LoginView(LocalizedPage):
    template_name = "oauth/login.html"

    def _page(
        self, *, next_url: str, application: Application, step: str, error: str = "", status: int = 200
    ) -> HttpResponse:
        registration = registration_of(application)
        user = self.request.user
        context = {
            "next": next_url,
            "application": application,
            "organization": registration.organization if registration else None,
            "step": step,
            "error": error,
            "switch": self.request.GET.get("switch") == "1" and isinstance(user, User),
            "current_account": _mask(user.email or user.phone or user.username) if isinstance(user, User) else "",
        }
        return render(self.request, self.template_name, context, status=status)

    def _target(self) -> tuple[str, Application] | HttpResponse:
        next_url = _safe_next(self.request.POST.get("next") or self.request.GET.get("next") or "", self.request)
        if next_url is None:
            return error_page(self.request, "invalid_request", "Open this page from an application's sign-in link")
        application = _application_of_next(next_url)
        if application is None:
            return error_page(self.request, "invalid_client", "Unknown or unapproved application")
        return next_url, application

    def get(self, request: HttpRequest) -> HttpResponse:
        target = self._target()
        if isinstance(target, HttpResponse):
            return target
        next_url, application = target
        if request.GET.get("switch") != "1" and _user_may_authorize(request.user, application):
            return HttpResponseRedirect(next_url)
        request.session.pop(PENDING_KEY, None)
        return self._page(next_url=next_url, application=application, step="password")

    def post(self, request: HttpRequest) -> HttpResponse:
        target = self._target()
        if isinstance(target, HttpResponse):
            return target
        next_url, application = target
        step = "totp" if request.POST.get("step") == "totp" else "password"
        try:
            user = self._totp_step() if step == "totp" else self._password_step(application)
        except BrokerError as exc:
            if isinstance(exc, SecondFactorRequired):
                step = "password"
            message = LOGIN_ERROR_TEXT.get(exc.code, exc.message)
            return self._page(
                next_url=next_url, application=application, step=step, error=str(message), status=exc.http_status
            )
        if user is None:
            return self._page(next_url=next_url, application=application, step="totp")
        login_services.login_succeeded(request=request, user=user)
        login(request, user, backend=BACKEND)
        return HttpResponseRedirect(next_url)

    def _password_step(self, application: Application) -> User | None:
        registration = registration_of(application)
        assert registration is not None  # _application_of_next only returns approved, registered apps
        user = login_services.login_password_check(
            request=self.request,
            organization=registration.organization,
            account=(self.request.POST.get("account") or "").strip(),
            password=self.request.POST.get("password") or "",
        )
        if login_services.login_needs_totp(user):
            self.request.session[PENDING_KEY] = {"user_id": user.pk, "at": time.time(), "tries": 0}
            return None
        return user

    def _totp_step(self) -> User:
        pending = self.request.session.get(PENDING_KEY)
        if not pending or time.time() - pending["at"] > PENDING_SECONDS or pending["tries"] >= PENDING_TRIES:
            self.request.session.pop(PENDING_KEY, None)
            raise SecondFactorRequired()
        user = User.objects.filter(pk=pending["user_id"], is_active=True).first()
        if user is None:
            raise SecondFactorRequired()
        pending["tries"] += 1
        self.request.session[PENDING_KEY] = pending
        login_services.login_totp_check(request=self.request, user=user, code=self.request.POST.get("code"))
        self.request.session.pop(PENDING_KEY, None)
        return user


# --- token endpoints ----------------------------------------------------------------------------
class TokenView(dot_views.TokenView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # RFC 6749 §3.2: the token endpoint takes POST only (credentials never travel in a URL).
        return oauth_error("invalid_request", "The token endpoint accepts POST only", status=405, Allow="POST")


class RefreshTokenView(dot_views.TokenView):
    """The refresh grant alone; ``grant_type`` may be left out."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        grant_type = request.POST.get("grant_type")
        if grant_type and grant_type != "refresh_token":
            return oauth_error("unsupported_grant_type", "This endpoint only refreshes tokens")
        if not grant_type:
            params = request.POST.copy()
            params["grant_type"] = "refresh_token"
            request.POST = params  # type: ignore[assignment]
        return super().post(request, *args, **kwargs)  # type: ignore[no-any-return]


class RevokeTokenView(dot_views.RevokeTokenView):
    pass


def _client_credentials(request: HttpRequest) -> tuple[str, str | None]:
    """(client_id, client_secret) from HTTP Basic (preferred, RFC 6749 §2.3.1) or the parameters."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "", None
        client_id, _, secret = decoded.partition(":")
        return unquote_plus(client_id), unquote_plus(secret)
    params = request.POST if request.method == "POST" else request.GET
    return params.get("client_id", ""), params.get("client_secret")


def _secret_matches(provided: str, stored: str) -> bool:
    try:
        identify_hasher(stored)
    except ValueError:
        return constant_time_compare(provided, stored)
    return check_password(provided, stored)


def _authenticated_client(request: HttpRequest) -> Application | None:
    client_id, secret = _client_credentials(request)
    application = application_by_client_id(client_id)
    if application is None or not application_is_approved(application):
        return None
    if application.client_type == AbstractApplication.CLIENT_CONFIDENTIAL:
        if not secret or not _secret_matches(secret, application.client_secret):
            return None
    return application


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(never_cache, name="dispatch")
class CheckTokenView(View):
    """RFC 7662 introspection: a client learns whether a token it holds is active, and for whom.

    Confidential clients authenticate (HTTP Basic or ``client_id``/``client_secret``); a public
    client names its ``client_id``. A token of another client is reported as inactive.
    """

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._introspect(request, request.GET.get("token", ""), request.GET.get("token_type_hint", ""))

    def post(self, request: HttpRequest) -> HttpResponse:
        return self._introspect(request, request.POST.get("token", ""), request.POST.get("token_type_hint", ""))

    def _introspect(self, request: HttpRequest, token: str, hint: str) -> HttpResponse:
        client = _authenticated_client(request)
        if client is None:
            return oauth_error(
                "invalid_client", "Client authentication failed", status=401, WWW_Authenticate='Basic realm="oauth"'
            )
        if not token:
            return oauth_error("invalid_request", "The token parameter is missing")
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        access = None if hint == "refresh_token" else self._access(checksum, client)
        if access is not None:
            return JsonResponse(self._describe(access, client, "access_token"))
        refresh = self._refresh(checksum, client)
        if refresh is not None:
            return JsonResponse(self._describe(refresh.access_token, client, "refresh_token"))
        if hint == "refresh_token":
            access = self._access(checksum, client)
            if access is not None:
                return JsonResponse(self._describe(access, client, "access_token"))
        return JsonResponse({"active": False})

    @staticmethod
    def _access(checksum: str, client: Application) -> AccessToken | None:
        access = AccessToken.objects.select_related("user").filter(token_checksum=checksum, application=client).first()
        if access is None or access.is_expired() or access.user is None or not access.user.is_active:
            return None
        return access

    @staticmethod
    def _refresh(checksum: str, client: Application) -> RefreshToken | None:
        refresh = (
            RefreshToken.objects.select_related("access_token", "access_token__user")
            .filter(token_checksum=checksum, application=client, revoked__isnull=True)
            .first()
        )
        if refresh is None or refresh.access_token is None or not refresh.user or not refresh.user.is_active:
            return None
        lifetime = refresh_token_expire_timedelta()
        if lifetime is not None and refresh.access_token.expires + lifetime <= timezone.now():
            return None
        return refresh

    @staticmethod
    def _describe(access: AccessToken, client: Application, kind: str) -> dict[str, Any]:
        user = access.user
        uid = str(user.uid) if isinstance(user, User) and user.uid else ""
        body: dict[str, Any] = {
            "active": True,
            "scope": access.scope,
            "client_id": client.client_id,
            "token_type": "Bearer" if kind == "access_token" else "refresh_token",
            "sub": uid,
            "uid": uid,
            "iat": int(access.created.timestamp()),
        }
        if kind == "access_token":
            body["exp"] = int(access.expires.timestamp())
        return body


# --- error page ---------------------------------------------------------------------------------
class ErrorPageView(LocalizedPage):
    def get(self, request: HttpRequest) -> HttpResponse:
        error = request.GET.get("error", "")[:64] or "invalid_request"
        return error_page(request, error, request.GET.get("error_description", "")[:500], status=200)
