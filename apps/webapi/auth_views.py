"""User API: registration, login (password, then TOTP), logout, verification codes, forgot password.

These endpoints work without a session, yet still require the CSRF token on writes (login CSRF):
``GET /api/v1/auth/csrf`` sets the cookie; send it back in ``X-CSRFToken``. Registration and login
use the first organization unless ``org_id`` is given (docs/users.md).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from apps.core.errors import InvalidParameter, NotAuthenticated, SecondFactorRequired
from apps.users import login as login_services
from apps.users.models import CodePurpose, Organization, User
from apps.users.security import password_reset
from apps.users.selectors import organization_resolve, user_find_by_contact
from apps.users.services import code_request, user_register
from apps.users.verification import code_check, code_status, target_normalize
from apps.webapi.users import ProfileSerializer, profile_payload

PENDING_KEY = "pending_login"
PENDING_SECONDS = 300
PENDING_TRIES = 5
BACKEND = "apps.users.backends.ContactBackend"


class CsrfSessionAuthentication(SessionAuthentication):
    """Session auth that checks CSRF on unsafe methods for anonymous callers too."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None and request.method not in ("GET", "HEAD", "OPTIONS"):
            self.enforce_csrf(request)
        return result


class CsrfSessionScheme(SessionScheme):
    target_class = "apps.webapi.auth_views.CsrfSessionAuthentication"
    name = "cookieAuthOptional"


class AnonymousApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = [CsrfSessionAuthentication]

    @staticmethod
    def organization(request: Request, data: dict[str, Any] | None = None) -> Organization:
        user = request.user
        if isinstance(user, User) and user.organization is not None:
            return user.organization
        raw = (data or {}).get("org_id") or request.query_params.get("org_id")
        if raw in (None, ""):
            return organization_resolve(organization_id=None)
        try:
            return organization_resolve(organization_id=int(str(raw)))
        except (TypeError, ValueError):
            raise InvalidParameter(_("org_id must be an integer")) from None


def _logged_in(user: Any) -> User | None:
    return user if isinstance(user, User) else None


@extend_schema_serializer(component_name="OkResult")
class OkSerializer(serializers.Serializer):  # type: ignore[type-arg]
    ok = serializers.BooleanField()


class CsrfApi(AnonymousApi):
    @extend_schema_serializer(component_name="CsrfToken")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        csrf_token = serializers.CharField()

    @extend_schema(responses=OutputSerializer, summary="Set the CSRF cookie; send it back in X-CSRFToken")
    def get(self, request: Request) -> Response:
        return Response({"csrf_token": get_token(request._request)})


class ContactCheckApi(AnonymousApi):
    @extend_schema_serializer(component_name="ContactTaken")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        taken = serializers.BooleanField()

    @extend_schema(
        parameters=[OpenApiParameter("target", str, required=True), OpenApiParameter("org_id", int)],
        responses=OutputSerializer,
        summary="Whether an email or phone number is already registered",
    )
    def get(self, request: Request) -> Response:
        organization = self.organization(request)
        target = target_normalize(request.query_params.get("target", ""))
        return Response({"taken": user_find_by_contact(organization_id=organization.pk, target=target) is not None})


class CodeSendThrottle(SimpleRateThrottle):
    """Per-IP limit on code sends (the per-target cooldown alone would let one client spam many targets)."""

    scope = "code_send"

    def get_rate(self) -> str:
        return str(settings.VERIFICATION_CODE_SEND_RATE)

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class CodeSendApi(AnonymousApi):
    throttle_classes = [CodeSendThrottle]

    @extend_schema_serializer(component_name="CodeSendInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        purpose = serializers.ChoiceField(choices=CodePurpose.choices)
        target = serializers.CharField(required=False, default="", help_text="Email or phone (register, bind, reset)")
        channel = serializers.ChoiceField(
            choices=["email", "sms"], required=False, default="", help_text="Own contact (security, fund reset)"
        )
        org_id = serializers.IntegerField(required=False)

    @extend_schema_serializer(component_name="CodeSent")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        sent_to = serializers.CharField()
        expires_in = serializers.IntegerField()
        resend_in = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="Send a 6-digit verification code")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization = self.organization(request, data.validated_data)
        target = code_request(
            purpose=data.validated_data["purpose"],
            organization=organization,
            user=_logged_in(request.user),
            target=data.validated_data["target"],
            channel=data.validated_data["channel"],
        )
        status = code_status(organization_id=organization.pk, target=target, purpose=data.validated_data["purpose"])
        return Response({"sent_to": _mask(target), "expires_in": status.expires_in, "resend_in": status.resend_in})


def _mask(target: str) -> str:
    if "@" in target:
        name, domain = target.split("@", 1)
        return f"{name[:2]}***@{domain}"
    return f"{target[:3]}****{target[-2:]}"


def _code_target(request: Request, target: str, channel: str) -> str:
    if channel:
        user = _logged_in(request.user)
        if user is None:
            raise NotAuthenticated()
        return user.email if channel == "email" else user.phone
    return target


@extend_schema_serializer(component_name="CodeStatus")
class CodeStatusSerializer(serializers.Serializer):  # type: ignore[type-arg]
    active = serializers.BooleanField()
    expires_in = serializers.IntegerField()
    resend_in = serializers.IntegerField()
    attempts_left = serializers.IntegerField()


class CodeVerifyApi(AnonymousApi):
    @extend_schema_serializer(component_name="CodeVerifyInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        purpose = serializers.ChoiceField(choices=CodePurpose.choices)
        target = serializers.CharField(required=False, default="")
        channel = serializers.ChoiceField(choices=["email", "sms"], required=False, default="")
        code = serializers.CharField(max_length=6)
        org_id = serializers.IntegerField(required=False)

    @extend_schema(
        request=InputSerializer,
        responses=OkSerializer,
        summary="Check a code without spending it (counts as an attempt)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization = self.organization(request, data.validated_data)
        code_check(
            organization_id=organization.pk,
            target=_code_target(request, data.validated_data["target"], data.validated_data["channel"]),
            purpose=data.validated_data["purpose"],
            code=data.validated_data["code"],
        )
        return Response({"ok": True})


class CodeStatusApi(AnonymousApi):
    @extend_schema(
        parameters=[
            OpenApiParameter("purpose", str, required=True, enum=CodePurpose.values),
            OpenApiParameter("target", str),
            OpenApiParameter("channel", str, enum=["email", "sms"]),
            OpenApiParameter("org_id", int),
        ],
        responses=CodeStatusSerializer,
        summary="Whether a live code exists, seconds until it expires and until a resend is allowed",
    )
    def get(self, request: Request) -> Response:
        organization = self.organization(request)
        purpose = request.query_params.get("purpose", "")
        if purpose not in CodePurpose.values:
            raise InvalidParameter(_("Unknown purpose"))
        target = _code_target(request, request.query_params.get("target", ""), request.query_params.get("channel", ""))
        status = code_status(organization_id=organization.pk, target=target, purpose=purpose)
        return Response(CodeStatusSerializer(status).data)


class RegisterApi(AnonymousApi):
    @extend_schema_serializer(component_name="RegisterInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        target = serializers.CharField(help_text="Email or phone number")
        code = serializers.CharField(max_length=6, help_text="The register code sent to target")
        password = serializers.CharField(write_only=True)
        invite_code = serializers.CharField(required=False, default="", allow_blank=True)
        org_id = serializers.IntegerField(required=False, help_text="Default: the first organization")

    @extend_schema(request=InputSerializer, responses={201: ProfileSerializer}, summary="Register and log in")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_register(
            organization=self.organization(request, data.validated_data),
            target=data.validated_data["target"],
            code=data.validated_data["code"],
            password=data.validated_data["password"],
            invite_code=data.validated_data["invite_code"],
            language=translation.get_language(),  # the request's (Accept-Language): their preference from now
        )
        login_services.login_succeeded(request=request._request, user=user)
        login(request._request, user, backend=BACKEND)
        return Response(profile_payload(user), status=201)


@extend_schema_serializer(component_name="LoginResult")
class LoginResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(choices=["ok", "totp_required"])
    user = ProfileSerializer(required=False)


class LoginApi(AnonymousApi):
    @extend_schema_serializer(component_name="LoginInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        account = serializers.CharField(help_text="Email or phone number")
        password = serializers.CharField(write_only=True)
        org_id = serializers.IntegerField(required=False)

    @extend_schema(
        request=InputSerializer,
        responses=LoginResultSerializer,
        summary="Log in with a password; answers totp_required when the user bound Google Authenticator",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = data.validated_data["account"].strip()
        user = login_services.login_password_check(
            request=request._request,
            organization=self.organization(request, data.validated_data),
            account=account,
            password=data.validated_data["password"],
        )
        if login_services.login_needs_totp(user):
            request.session[PENDING_KEY] = {"user_id": user.pk, "at": time.time(), "tries": 0}
            return Response({"status": "totp_required"})
        login_services.login_succeeded(request=request._request, user=user)
        login(request._request, user, backend=BACKEND)
        return Response({"status": "ok", "user": profile_payload(user)})


class LoginTotpApi(AnonymousApi):
    @extend_schema_serializer(component_name="LoginTotpInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        code = serializers.CharField(max_length=8)

    @extend_schema(request=InputSerializer, responses=LoginResultSerializer, summary="Second login step: TOTP code")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pending = request.session.get(PENDING_KEY)
        if not pending or time.time() - pending["at"] > PENDING_SECONDS or pending["tries"] >= PENDING_TRIES:
            request.session.pop(PENDING_KEY, None)
            raise SecondFactorRequired(_("Log in with your password first"))
        user = User.objects.filter(pk=pending["user_id"], is_active=True).first()
        if user is None:
            raise SecondFactorRequired(_("Log in with your password first"))
        pending["tries"] += 1
        request.session[PENDING_KEY] = pending
        login_services.login_totp_check(request=request._request, user=user, code=data.validated_data["code"])
        request.session.pop(PENDING_KEY, None)
        login_services.login_succeeded(request=request._request, user=user)
        login(request._request, user, backend=BACKEND)
        return Response({"status": "ok", "user": profile_payload(user)})


class LogoutApi(APIView):
    @extend_schema(request=None, responses=OkSerializer, summary="Log out")
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response({"ok": True})


class PasswordResetApi(AnonymousApi):
    @extend_schema_serializer(component_name="PasswordResetInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        target = serializers.CharField(help_text="The account's email or phone")
        code = serializers.CharField(max_length=6, help_text="The reset_password code")
        new_password = serializers.CharField(write_only=True)
        totp_code = serializers.CharField(
            required=False, allow_blank=True, help_text="If Google Authenticator is bound"
        )
        org_id = serializers.IntegerField(required=False)

    @extend_schema(request=InputSerializer, responses=OkSerializer, summary="Forgot password: reset it with a code")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset(
            organization=self.organization(request, data.validated_data),
            target=data.validated_data["target"],
            code=data.validated_data["code"],
            new_password=data.validated_data["new_password"],
            totp_code=data.validated_data.get("totp_code") or None,
        )
        return Response({"ok": True})


def axes_lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: keep the API's own ``{"code": "LOGIN_LOCKED"}`` answer; plain text elsewhere."""
    if original_response is not None and request.path.startswith("/api/"):
        return original_response
    return HttpResponse("Too many failed logins; try again later.", status=429, content_type="text/plain")
