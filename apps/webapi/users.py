"""User API: profile, invites, favorites, login history, security settings, account closure, dictionary."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import logout, update_session_auth_hash
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.users import security, selectors, services
from apps.users.models import User
from apps.webapi.auth import current_user
from apps.webapi.params import query_int


def _ms(value: Any) -> int:
    return int(value.timestamp() * 1000)


PAGING = [OpenApiParameter("from_id", int), OpenApiParameter("to_id", int), OpenApiParameter("limit", int)]


@extend_schema_serializer(component_name="Profile")
class ProfileSerializer(serializers.Serializer):  # type: ignore[type-arg]
    uid = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    kyc_level = serializers.IntegerField()
    language = serializers.CharField()
    invite_code = serializers.CharField()
    inviter_uid = serializers.CharField(allow_null=True)
    totp_bound = serializers.BooleanField()
    fund_password_set = serializers.BooleanField()
    created_at = serializers.IntegerField()


def profile_payload(user: User) -> dict[str, Any]:
    inviter = user.invited_by
    return {
        "uid": str(user.uid),
        "email": user.email,
        "phone": user.phone,
        "kyc_level": user.kyc_level,
        "language": user.language,
        "invite_code": user.invite_code or "",
        "inviter_uid": str(inviter.uid) if inviter is not None else None,
        "totp_bound": security.totp_device(user) is not None,
        "fund_password_set": bool(user.fund_password),
        "created_at": _ms(user.date_joined),
    }


class FactorsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The second factor: ``totp_code`` when Google Authenticator is bound, else an email/SMS code."""

    totp_code = serializers.CharField(required=False, allow_blank=True)
    email_code = serializers.CharField(required=False, allow_blank=True)
    sms_code = serializers.CharField(required=False, allow_blank=True)

    def factors(self) -> security.Factors:
        data = self.validated_data
        return security.Factors(
            totp_code=data.get("totp_code") or None,
            email_code=data.get("email_code") or None,
            sms_code=data.get("sms_code") or None,
        )


class MeApi(APIView):
    @extend_schema_serializer(component_name="ProfileUpdateInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        language = serializers.CharField(max_length=10)

    @extend_schema(responses=ProfileSerializer, summary="The logged-in user's profile")
    def get(self, request: Request) -> Response:
        return Response(profile_payload(current_user(request)))

    @extend_schema(request=InputSerializer, responses=ProfileSerializer, summary="Set the language preference")
    def patch(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_language_set(user=current_user(request), language=data.validated_data["language"])
        return Response(profile_payload(user))


class LoginHistoryApi(APIView):
    @extend_schema_serializer(component_name="LoginRecord")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        id = serializers.IntegerField()
        time = serializers.IntegerField()
        ip = serializers.CharField(allow_null=True)
        user_agent = serializers.CharField()
        result = serializers.CharField()

    @extend_schema(parameters=PAGING, responses=OutputSerializer(many=True), summary="Login history, newest first")
    def get(self, request: Request) -> Response:
        rows = selectors.login_records(
            user=current_user(request),
            from_id=query_int(request, "from_id"),
            to_id=query_int(request, "to_id"),
            limit=query_int(request, "limit"),
        )
        return Response(
            [
                {"id": r.pk, "time": _ms(r.created_at), "ip": r.ip, "user_agent": r.user_agent, "result": r.result}
                for r in rows
            ]
        )


class InviteeListApi(APIView):
    @extend_schema_serializer(component_name="Invitee")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        id = serializers.IntegerField()
        uid = serializers.CharField()
        level = serializers.IntegerField()
        created_at = serializers.IntegerField()

    @extend_schema(
        parameters=[OpenApiParameter("level", int, enum=[1, 2]), *PAGING],
        responses=OutputSerializer(many=True),
        summary="Users you invited (level 1) and that they invited (level 2)",
    )
    def get(self, request: Request) -> Response:
        level = query_int(request, "level") or 1
        rows = selectors.invitees(
            user=current_user(request),
            level=level,
            from_id=query_int(request, "from_id"),
            to_id=query_int(request, "to_id"),
            limit=query_int(request, "limit"),
        )
        return Response(
            [{"id": u.pk, "uid": str(u.uid), "level": level, "created_at": _ms(u.date_joined)} for u in rows]
        )


@extend_schema_serializer(component_name="Favorite")
class FavoriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    symbol = serializers.CharField()
    created_at = serializers.IntegerField()


class FavoriteListApi(APIView):
    @extend_schema_serializer(component_name="FavoriteInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        symbol = serializers.CharField(max_length=32)

    @extend_schema(responses=FavoriteSerializer(many=True), summary="Favorite symbols")
    def get(self, request: Request) -> Response:
        rows = selectors.favorites(user=current_user(request))
        return Response([{"symbol": f.symbol_id, "created_at": _ms(f.created_at)} for f in rows])

    @extend_schema(request=InputSerializer, responses={201: FavoriteSerializer}, summary="Add a favorite (idempotent)")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        favorite = services.favorite_add(user=current_user(request), symbol_id=data.validated_data["symbol"])
        return Response({"symbol": favorite.symbol_id, "created_at": _ms(favorite.created_at)}, status=201)


class FavoriteDetailApi(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Remove a favorite")
    def delete(self, request: Request, symbol: str) -> Response:
        services.favorite_remove(user=current_user(request), symbol_id=symbol)
        return Response(status=204)


class AccountCloseApi(APIView):
    @extend_schema_serializer(component_name="AccountCloseInput")
    class InputSerializer(FactorsSerializer):
        password = serializers.CharField(write_only=True)

    @extend_schema(
        request=InputSerializer,
        responses={204: None},
        summary="Close the account: zero balances and no open orders; logs out for good",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_close(
            user=current_user(request), password=data.validated_data["password"], factors=data.factors()
        )
        logout(request._request)
        return Response(status=204)


# --- security settings ----------------------------------------------------------------------------
class SecurityStatusApi(APIView):
    @extend_schema_serializer(component_name="SecurityStatus")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        email = serializers.CharField()
        phone = serializers.CharField()
        totp_bound = serializers.BooleanField()
        fund_password_set = serializers.BooleanField()
        login_password_set = serializers.BooleanField()

    @extend_schema(responses=OutputSerializer, summary="What the user has bound")
    def get(self, request: Request) -> Response:
        user = current_user(request)
        return Response(
            {
                "email": user.email,
                "phone": user.phone,
                "totp_bound": security.totp_device(user) is not None,
                "fund_password_set": bool(user.fund_password),
                "login_password_set": user.has_usable_password(),
            }
        )


@extend_schema_serializer(component_name="SecurityOk")
class OkSerializer(serializers.Serializer):  # type: ignore[type-arg]
    ok = serializers.BooleanField()


class PasswordChangeApi(APIView):
    @extend_schema_serializer(component_name="PasswordChangeInput")
    class InputSerializer(FactorsSerializer):
        old_password = serializers.CharField(required=False, allow_blank=True, write_only=True)
        new_password = serializers.CharField(write_only=True)

    @extend_schema(request=InputSerializer, responses=OkSerializer, summary="Set or change the login password")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = current_user(request)
        security.password_change(
            user=user,
            old_password=data.validated_data.get("old_password"),
            new_password=data.validated_data["new_password"],
            factors=data.factors(),
        )
        update_session_auth_hash(request._request, user)
        return Response({"ok": True})


class FundPasswordApi(APIView):
    @extend_schema_serializer(component_name="FundPasswordInput")
    class InputSerializer(FactorsSerializer):
        password = serializers.CharField(write_only=True)
        old_password = serializers.CharField(required=False, allow_blank=True, write_only=True)

    @extend_schema(request=InputSerializer, responses=OkSerializer, summary="Set or change the fund password")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        security.fund_password_change(
            user=current_user(request),
            password=data.validated_data["password"],
            old_password=data.validated_data.get("old_password"),
            factors=data.factors(),
        )
        return Response({"ok": True})


class FundPasswordResetApi(APIView):
    @extend_schema_serializer(component_name="FundPasswordResetInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        password = serializers.CharField(write_only=True)
        target = serializers.CharField(help_text="Your email or phone the reset_fund_password code went to")
        code = serializers.CharField(max_length=6)
        totp_code = serializers.CharField(required=False, allow_blank=True)

    @extend_schema(request=InputSerializer, responses=OkSerializer, summary="Forgot fund password: reset with a code")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        security.fund_password_reset(
            user=current_user(request),
            password=data.validated_data["password"],
            target=data.validated_data["target"],
            code=data.validated_data["code"],
            totp_code=data.validated_data.get("totp_code") or None,
        )
        return Response({"ok": True})


class ContactBindApi(APIView):
    @extend_schema_serializer(component_name="ContactBindInput")
    class InputSerializer(FactorsSerializer):
        target = serializers.CharField(help_text="The new email or phone")
        new_code = serializers.CharField(max_length=6, help_text="The bind code sent to the new address")
        old_code = serializers.CharField(
            required=False, allow_blank=True, help_text="When changing: the security code sent to the current one"
        )

    @extend_schema(request=InputSerializer, responses=OkSerializer, summary="Bind or change the email or phone")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        security.contact_bind(
            user=current_user(request),
            target=data.validated_data["target"],
            new_code=data.validated_data["new_code"],
            old_code=data.validated_data.get("old_code") or None,
            factors=data.factors(),
        )
        return Response({"ok": True})


class ContactUnbindApi(APIView):
    @extend_schema_serializer(component_name="ContactUnbindInput")
    class InputSerializer(FactorsSerializer):
        field = serializers.ChoiceField(choices=["email", "phone"])

    @extend_schema(request=InputSerializer, responses=OkSerializer, summary="Unbind the email or phone")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        security.contact_unbind(user=current_user(request), field=data.validated_data["field"], factors=data.factors())
        return Response({"ok": True})


class TotpSetupApi(APIView):
    @extend_schema_serializer(component_name="TotpSetup")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        secret = serializers.CharField()
        otpauth_url = serializers.CharField()
        qr_code = serializers.CharField(help_text="data: URI of an SVG QR code")

    @extend_schema(request=None, responses=OutputSerializer, summary="Start binding Google Authenticator")
    def post(self, request: Request) -> Response:
        device, url = security.totp_setup(user=current_user(request))
        return Response(
            {"secret": security.totp_secret(device), "otpauth_url": url, "qr_code": security.totp_qr_svg(url)}
        )


class TotpBindApi(APIView):
    @extend_schema_serializer(component_name="TotpBindInput")
    class InputSerializer(FactorsSerializer):
        code = serializers.CharField(max_length=8, help_text="A code the authenticator app shows")

    @extend_schema(request=InputSerializer, responses=OkSerializer, summary="Confirm Google Authenticator")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        security.totp_bind(user=current_user(request), code=data.validated_data["code"], factors=data.factors())
        return Response({"ok": True})


class TotpUnbindApi(APIView):
    @extend_schema_serializer(component_name="TotpUnbindInput")
    class InputSerializer(FactorsSerializer):
        pass

    @extend_schema(request=InputSerializer, responses=OkSerializer, summary="Unbind Google Authenticator")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        security.totp_unbind(user=current_user(request), factors=data.factors())
        return Response({"ok": True})


class DictionaryApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema_serializer(component_name="Dictionary")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        order_statuses = serializers.ListField(child=serializers.CharField())
        order_types = serializers.ListField(child=serializers.CharField())
        kyc_levels = serializers.ListField(child=serializers.DictField())
        countries = serializers.ListField(child=serializers.DictField())
        chains = serializers.ListField(child=serializers.DictField())
        languages = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer, summary="Enums clients need: statuses, KYC levels, countries, chains")
    def get(self, request: Request) -> Response:
        from apps.users.dictionary import dictionary

        return Response(dictionary())
