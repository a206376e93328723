"""Seed 001 §3.2: users of the organization (every endpoint takes the user's ``uid``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.apikeys.services import api_key_create
from apps.core.errors import Conflict, InvalidParameter
from apps.kyc.models import AccountType, DocumentKind
from apps.kyc.services import Upload, kyc_application_approve, kyc_application_reject, kyc_application_submit
from apps.orgapi import selectors
from apps.orgapi.base import (
    LIST_POLL,
    OBJECT,
    SIGNED,
    CommaList,
    OrgApiView,
    PageFields,
    RangeFields,
    UidInput,
    UidWriteInput,
    WriteInput,
    listing,
    responses,
)
from apps.orgapi.login import as_end_user, session_open
from apps.orgapi.notices import CHANNELS, notice_send
from apps.orgapi.params import is_multipart
from apps.orgapi.shapes import (
    UserSerializer,
    api_key_object,
    freeze_object,
    inviter_object,
    login_object,
    ms,
    user_object,
)
from apps.orgapi.writes import answer_stored, write_once
from apps.tokens.selectors import symbols_offered
from apps.users import login as login_services
from apps.users.models import FreezeKind, User
from apps.users.selectors import favorites, invitees
from apps.users.services import (
    favorite_add,
    favorite_remove,
    user_create,
    user_freeze,
    user_freeze_lift,
    user_update_by_organization,
)
from apps.users.verification import target_normalize

TAG = ["orgapi: user"]
DEFAULT_REASON = "Org API"


def user_with_inviter(user: User) -> dict[str, Any]:
    return {**user_object(user, selectors.user_accounts(user=user)), "inviter": inviter_object(user.invited_by)}


def freeze_set(*, user: User, kind: str, frozen: bool, reason: str, **scope: str | None) -> bool:
    """Freeze (once) or lift every active freeze of ``kind`` on this scope; returns the new state."""
    active = selectors.active_freezes(user=user, kind=kind, **scope)
    if frozen and not active:
        user_freeze(user=user, kind=kind, reason=reason, acting_user=None, **scope)
    if not frozen:
        for freeze in active:
            user_freeze_lift(freeze=freeze, acting_user=None, reason=reason)
    return frozen


class FreezeInput(UidWriteInput):
    frozen = serializers.BooleanField(help_text="true freezes, false lifts the freeze")
    reason = serializers.CharField(required=False, default=DEFAULT_REASON, max_length=255)


class RegisterUserApi(OrgApiView):
    operation = "user/registerUser"
    permission = "trade"

    @extend_schema_serializer(component_name="OrgApiRegisterUserInput")
    class InputSerializer(WriteInput):
        email = serializers.CharField(required=False, default="", allow_blank=True)
        phone = serializers.CharField(required=False, default="", allow_blank=True)
        password = serializers.CharField(required=False, write_only=True, help_text="Omitted: no password login")
        language = serializers.ChoiceField(choices=["en", "zh-hans", "ko"], required=False, default="en")
        invite_code = serializers.CharField(required=False, default="", allow_blank=True)
        inviter_uid = serializers.CharField(required=False, default="", allow_blank=True)

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(UserSerializer),
        tags=TAG,
        summary="Register a new user directly (no verification code)",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        inviter: User | None = None
        if data["inviter_uid"]:
            inviter = self.user(data["inviter_uid"])
        elif data["invite_code"]:
            inviter = User.objects.filter(
                organization=self.organization, invite_code=data["invite_code"].strip().upper()
            ).first()
            if inviter is None:
                raise InvalidParameter(_("Unknown invite code"))
        phone = target_normalize(data["phone"]) if data["phone"] else ""
        user = user_create(
            organization=self.organization,
            email=data["email"],
            phone=phone,
            password=data.get("password"),
            language=data["language"],
            invited_by=inviter,
        )
        return user_with_inviter(user)


class LoginApi(OrgApiView):
    operation = "user/login"
    permission = "trade"
    sensitive = True

    @extend_schema_serializer(component_name="OrgApiLoginInput")
    class InputSerializer(WriteInput):
        account = serializers.CharField(help_text="Email or phone number")
        password = serializers.CharField(write_only=True)
        totp_code = serializers.CharField(required=False, default="", allow_blank=True)
        user_ip = serializers.CharField(required=False, default="", allow_blank=True)
        user_agent = serializers.CharField(required=False, default="", allow_blank=True)

    @extend_schema_serializer(component_name="OrgApiLoginResult")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        user = UserSerializer()
        token = serializers.CharField(help_text="A User API session key (the sessionid cookie)")

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OutputSerializer),
        tags=TAG,
        summary="Log a user in with their password (and TOTP when bound); returns a session token",
    )
    def post(self, request: Request) -> Response:
        data = self.input()
        parameters = self.params.business()
        stored = answer_stored(
            organization=self.organization,
            client_order_id=data["client_order_id"],
            operation=self.operation,
            parameters=parameters,
        )
        if stored is not None:
            response = Response(stored)
            response["X-Idempotent-Replay"] = "true"
            return response
        # Outside the write's transaction: a refused login stays recorded and counts toward the lockout.
        proxy = as_end_user(request._request, ip=data["user_ip"], user_agent=data["user_agent"])
        user = login_services.login_password_check(
            request=proxy, organization=self.organization, account=data["account"].strip(), password=data["password"]
        )
        if login_services.login_needs_totp(user):
            login_services.login_totp_check(request=proxy, user=user, code=data["totp_code"] or None)

        def succeed() -> Any:
            login_services.login_succeeded(request=proxy, user=user)
            return {"user": user_object(user, selectors.user_accounts(user=user)), "token": session_open(user)}

        answer, ran = write_once(
            organization=self.organization,
            api_key=self.api_key,
            client_order_id=data["client_order_id"],
            operation=self.operation,
            parameters=parameters,
            run=succeed,
            sensitive=True,
        )
        response = Response(answer)
        if not ran:
            response["X-Idempotent-Replay"] = "true"
        return response


class UserInfoApi(OrgApiView):
    operation = "user/getInfo"

    @extend_schema_serializer(component_name="OrgApiUserInfoInput")
    class InputSerializer(UidInput):
        pass

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(UserSerializer),
        tags=TAG,
        summary="A user, with who invited them (inviter)",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        return user_with_inviter(self.user(data["uid"]))


class UpdateInfoApi(OrgApiView):
    operation = "user/updateInfo"
    permission = "trade"

    @extend_schema_serializer(component_name="OrgApiUpdateInfoInput")
    class InputSerializer(UidWriteInput):
        email = serializers.CharField(required=False, help_text="Set or change the email")
        phone = serializers.CharField(required=False, help_text="Set or change the phone number")
        remove_email = serializers.BooleanField(required=False, default=False)
        remove_phone = serializers.BooleanField(required=False, default=False)
        password = serializers.CharField(required=False, write_only=True, help_text="New login password")
        fund_password = serializers.CharField(required=False, write_only=True, help_text="New fund password")
        totp_reset = serializers.BooleanField(required=False, default=False, help_text="Remove Google Authenticator")
        language = serializers.ChoiceField(choices=["en", "zh-hans", "ko"], required=False)

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(UserSerializer),
        tags=TAG,
        summary="Set or remove email / phone, set passwords, remove Google Authenticator, set the language",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        user = user_update_by_organization(
            user=self.user(data["uid"]),
            email="" if data["remove_email"] else data.get("email"),
            phone="" if data["remove_phone"] else data.get("phone"),
            password=data.get("password"),
            fund_password=data.get("fund_password"),
            totp_reset=data["totp_reset"],
            language=data.get("language"),
        )
        return user_with_inviter(user)


class UpdateKycInfoApi(OrgApiView):
    operation = "user/updateKYCInfo"
    permission = "trade"

    @extend_schema_serializer(component_name="OrgApiUpdateKycInfoInput")
    class InputSerializer(UidWriteInput):
        level = serializers.IntegerField(min_value=1, max_value=3)
        country_code = serializers.CharField(max_length=2)
        account_type = serializers.ChoiceField(choices=AccountType.values, required=False, default="individual")
        first_name = serializers.CharField(required=False, default="", allow_blank=True)
        last_name = serializers.CharField(required=False, default="", allow_blank=True)
        company_name = serializers.CharField(required=False, default="", allow_blank=True)
        id_type = serializers.CharField(required=False, default="", allow_blank=True)
        id_number = serializers.CharField(required=False, default="", allow_blank=True)
        address = serializers.CharField(required=False, default="", allow_blank=True)

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Submit the user's KYC details; documents as multipart file parts named by kind",
        description=(
            "Documents (PNG, JPEG or PDF) are multipart file parts named id_front, id_back, selfie, "
            "proof_of_address or company_registration; a multipart request carries its parameters "
            "in the (signed) query string."
        ),
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        user = self.user(data["uid"])
        documents: list[Upload] = []
        if is_multipart(self.request._request):
            files = self.request._request.FILES
            for kind in files:
                if kind not in DocumentKind.values:
                    raise InvalidParameter(_("Unknown document part %(kind)r") % {"kind": kind})
                documents.append(Upload(kind=kind, file=files[kind]))  # type: ignore[arg-type]
        application = kyc_application_submit(
            user=user,
            level=data["level"],
            country_code=data["country_code"],
            account_type=data["account_type"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            company_name=data["company_name"],
            id_type=data["id_type"],
            id_number=data["id_number"],
            address=data["address"],
            documents=documents,
        )
        return {
            "uid": str(user.uid),
            "application_id": application.pk,
            "level": application.level,
            "state": application.state,
            "documents": sorted(d.kind for d in documents),
            "created_at": ms(application.created_at),
        }


class LoginHistoryApi(OrgApiView):
    operation = "user/getLoginHistory"
    poll_limit = LIST_POLL

    @extend_schema_serializer(component_name="OrgApiLoginHistoryInput")
    class InputSerializer(UidInput, PageFields, RangeFields):
        pass

    @extend_schema(parameters=[*SIGNED, InputSerializer], responses=responses(OBJECT), tags=TAG, summary="Logins")
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        start, end = self.window(data)
        rows = selectors.login_history(
            user=self.user(data["uid"]),
            from_id=data.get("from_id"),
            to_id=data.get("to_id"),
            limit=data["limit"],
            start_ms=start,
            end_ms=end,
        )
        return listing(rows, data["list_type"], full=login_object, simple=lambda r: r.pk)


class InviteListApi(OrgApiView):
    operation = "user/getInviteList"
    poll_limit = LIST_POLL

    @extend_schema_serializer(component_name="OrgApiInviteListInput")
    class InputSerializer(UidInput, PageFields):
        level = serializers.ChoiceField(choices=[1, 2], required=False, default=1, help_text="1 direct, 2 indirect")

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(UserSerializer(many=True)),
        tags=TAG,
        summary="Users this user invited (level 1) or their invitees invited (level 2)",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        rows = invitees(
            user=self.user(data["uid"]),
            level=data["level"],
            from_id=data.get("from_id"),
            to_id=data.get("to_id"),
            limit=data["limit"],
        )
        return listing(rows, data["list_type"], full=user_object, simple=lambda u: str(u.uid))


class FrozenUserApi(OrgApiView):
    operation = "user/frozenUser"
    permission = "trade"

    @extend_schema_serializer(component_name="OrgApiUserFreezeInput")
    class InputSerializer(FreezeInput):
        pass

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Freeze or unfreeze the user's login",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        user = self.user(data["uid"])
        frozen = freeze_set(user=user, kind=FreezeKind.LOGIN, frozen=data["frozen"], reason=data["reason"])
        return {"uid": str(user.uid), "freeze_type": FreezeKind.LOGIN, "frozen": frozen}


class FrozenUserListApi(OrgApiView):
    operation = "user/getFrozenUserList"
    poll_limit = LIST_POLL

    @extend_schema_serializer(component_name="OrgApiFrozenUserListInput")
    class InputSerializer(PageFields):
        freeze_type = serializers.ChoiceField(choices=FreezeKind.values, required=False)

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(OBJECT),
        tags=TAG,
        summary="Active freezes of the organization's users (login, trade, withdraw)",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        rows = selectors.frozen_users(
            organization=self.organization,
            kind=data.get("freeze_type"),
            from_id=data.get("from_id"),
            to_id=data.get("to_id"),
            limit=data["limit"],
        )
        return listing(rows, data["list_type"], full=freeze_object, simple=lambda f: str(f.user.uid))


class VerifyKycApi(OrgApiView):
    operation = "user/verifyKYC"
    permission = "trade"

    @extend_schema_serializer(component_name="OrgApiVerifyKycInput")
    class InputSerializer(UidWriteInput):
        passed = serializers.BooleanField(help_text="true approves, false rejects the waiting application")
        reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=255)

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Approve or reject the user's KYC application that waits for review",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        user = self.user(data["uid"])
        application = selectors.kyc_application_pending(user=user)
        if application is None:
            raise Conflict(_("No KYC application of this user is waiting for review"))
        if data["passed"]:
            application = kyc_application_approve(application=application, acting_user=None)
        else:
            application = kyc_application_reject(
                application=application, acting_user=None, reason=data["reason"] or "Rejected by the broker"
            )
        user.refresh_from_db(fields=["kyc_level"])
        return {
            "uid": str(user.uid),
            "application_id": application.pk,
            "level": application.level,
            "state": application.state,
            "reason": application.reason,
            "kyc_level": user.kyc_level,
        }


class UpdateFavoriteApi(OrgApiView):
    operation = "user/updateFavorite"
    permission = "trade"

    @extend_schema_serializer(component_name="OrgApiUpdateFavoriteInput")
    class InputSerializer(UidWriteInput):
        symbol_ids = CommaList(help_text="The whole favorite list (replaces it), e.g. BTCUSDT,ETHUSDT")

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Replace the user's favorite symbols",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        user = self.user(data["uid"])
        wanted = list(dict.fromkeys(s.upper() for s in data["symbol_ids"]))
        offered = set(
            symbols_offered(organization_id=self.organization.pk).filter(pk__in=wanted).values_list("pk", flat=True)
        )
        unknown = [s for s in wanted if s not in offered]
        if unknown:
            raise InvalidParameter(_("Unknown symbol: %(symbol)s") % {"symbol": ", ".join(unknown)})
        current = {f.symbol_id for f in favorites(user=user)}
        for symbol_id in current - set(wanted):
            favorite_remove(user=user, symbol_id=symbol_id)
        for symbol_id in wanted:
            if symbol_id not in current:
                favorite_add(user=user, symbol_id=symbol_id)
        return {"uid": str(user.uid), "symbol_ids": [f.symbol_id for f in favorites(user=user)]}


class FavoriteListApi(OrgApiView):
    operation = "user/getFavoriteList"

    @extend_schema_serializer(component_name="OrgApiFavoriteListInput")
    class InputSerializer(UidInput):
        list_type = serializers.ChoiceField(choices=["simple", "full"], required=False, default="full")

    @extend_schema(parameters=[*SIGNED, InputSerializer], responses=responses(OBJECT), tags=TAG, summary="Favorites")
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        rows = list(favorites(user=self.user(data["uid"])))
        return listing(
            rows,
            data["list_type"],
            full=lambda f: {"symbol_id": f.symbol_id, "created_at": ms(f.created_at)},
            simple=lambda f: f.symbol_id,
        )


class CreateOpenApiKeyApi(OrgApiView):
    operation = "user/createOpenAPI"
    permission = "trade"
    sensitive = True

    @extend_schema_serializer(component_name="OrgApiCreateOpenApiInput")
    class InputSerializer(UidWriteInput):
        label = serializers.CharField(  # type: ignore[assignment]
            required=False, default="", allow_blank=True, max_length=64
        )
        permissions = CommaList(required=False, default=["read"], help_text="read,trade (withdraw, transfer)")
        ip_whitelist = CommaList(required=False, default=[], help_text="Up to 10 IPs or networks")

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Open the BHEX OpenAPI for the user: a new user API key (the secret is shown once)",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        api_key, secret = api_key_create(
            user=self.user(data["uid"]),
            label=data["label"],
            permissions=data["permissions"],
            ip_whitelist=data["ip_whitelist"],
        )
        return api_key_object(api_key, secret)


class SendNoticeApi(OrgApiView):
    operation = "user/sendNotice"
    permission = "trade"

    @extend_schema_serializer(component_name="OrgApiSendNoticeInput")
    class InputSerializer(UidWriteInput):
        title = serializers.CharField(max_length=200)
        content = serializers.CharField(max_length=5000)
        channels = CommaList(required=False, default=["in_site"], help_text=f"Any of {', '.join(CHANNELS)}")

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Send the user a message: in-site inbox, email and/or SMS",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        return notice_send(
            organization=self.organization,
            user=self.user(data["uid"]),
            title=data["title"],
            content=data["content"],
            channels=data["channels"],
        )
