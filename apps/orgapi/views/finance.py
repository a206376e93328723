"""Seed 001 §3.5: finance operations of the broker (apps/finance): airdrop, lock, unlock, convert, mapping.

Money comes from the organization's OPERATING account unless the operation names a source user
(``from_uid`` on airdrops). The client_order_id of each write is the operation's idempotency key in
the domain too (an airdrop's ``batch_id``, a lock-up's or mapping's ``client_order_id``).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import InvalidParameter, NotFound
from apps.finance.models import AirdropBucket
from apps.finance.selectors import airdrop_get
from apps.finance.services import (
    airdrop_batch_create,
    convert_execute,
    convert_quote,
    lockup_create,
    lockup_release,
    mapping_execute,
)
from apps.orgapi import selectors
from apps.orgapi.base import OBJECT, SIGNED, OrgApiView, UidWriteInput, WriteInput, responses
from apps.orgapi.params import ms_to_datetime
from apps.orgapi.shapes import airdrop_object, convert_object, lockup_object, mapping_object

TAG = ["orgapi: finance"]
AIRDROP_ROWS_MAX = 50_000


class AirdropApi(OrgApiView):
    operation = "finance/airdrop"
    permission = "transfer"

    @extend_schema_serializer(component_name="OrgApiAirdropInput")
    class InputSerializer(WriteInput):
        token_id = serializers.CharField()
        rows = serializers.ListField(
            child=serializers.DictField(), required=False, help_text='JSON body: [{"uid": "…", "amount": "…"}, …]'
        )
        uid = serializers.CharField(required=False, help_text="A single recipient (instead of rows)")
        amount = serializers.CharField(required=False, help_text="With uid")
        bucket = serializers.ChoiceField(choices=AirdropBucket.values, required=False, default="available")
        unlock_at = serializers.IntegerField(required=False, min_value=0, help_text="ms; lockup airdrops")
        from_uid = serializers.CharField(required=False, help_text="Pay from this user instead of OPERATING")
        memo = serializers.CharField(required=False, default="", allow_blank=True, max_length=255)

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Airdrop to one or many users (available or lock-up); processed in the background",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        rows: list[dict[str, Any]] = list(data.get("rows") or [])
        if data.get("uid"):
            rows.append({"uid": data["uid"], "amount": data.get("amount", "")})
        if not rows:
            raise InvalidParameter(_("rows (or uid and amount) are required"))
        if len(rows) > AIRDROP_ROWS_MAX:
            raise InvalidParameter(_("At most %(max)s rows") % {"max": AIRDROP_ROWS_MAX})
        for row in rows:
            text = str(row.get("uid", "")).strip()
            if text.isdigit():
                # The domain records another organization's uid as "unknown user"; it is logged here.
                self.audit_foreign("uid", text, selectors.uid_owner(int(text)))
        source = self.user(data["from_uid"]) if data.get("from_uid") else None
        airdrop = airdrop_batch_create(
            organization=self.organization,
            batch_id=data["client_order_id"],
            token_id=data["token_id"].upper(),
            rows=rows,
            bucket=data["bucket"],
            unlock_at=ms_to_datetime(data["unlock_at"]) if data.get("unlock_at") else None,
            source_uid=source.uid if source is not None else None,
            memo=data["memo"],
        )
        return airdrop_object(airdrop)


class AirdropInfoApi(OrgApiView):
    operation = "finance/getAirdrop"

    @extend_schema_serializer(component_name="OrgApiAirdropInfoInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        client_order_id = serializers.CharField(max_length=64, help_text="The airdrop's client_order_id")

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(OBJECT),
        tags=TAG,
        summary="Progress of an airdrop batch",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        return airdrop_object(airdrop_get(organization=self.organization, batch_id=data["client_order_id"]))


class LockApi(OrgApiView):
    operation = "finance/lock"
    permission = "transfer"

    @extend_schema_serializer(component_name="OrgApiLockInput")
    class InputSerializer(UidWriteInput):
        token_id = serializers.CharField()
        amount = serializers.CharField()
        unlock_at = serializers.IntegerField(required=False, min_value=0, help_text="ms; empty: until unlocked")
        memo = serializers.CharField(required=False, default="", allow_blank=True, max_length=255)

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Lock up part of the user's available balance",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        lockup = lockup_create(
            user=self.user(data["uid"]),
            token_id=data["token_id"].upper(),
            amount=data["amount"],
            unlock_at=ms_to_datetime(data["unlock_at"]) if data.get("unlock_at") else None,
            client_order_id=data["client_order_id"],
            memo=data["memo"],
            acting_user=None,
        )
        return lockup_object(lockup)


class UnlockApi(OrgApiView):
    operation = "finance/unlock"
    permission = "transfer"

    @extend_schema_serializer(component_name="OrgApiUnlockInput")
    class InputSerializer(WriteInput):
        lockup_id = serializers.IntegerField(min_value=1)
        uid = serializers.CharField(required=False, help_text="When given, the lock-up must be this user's")

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Release a lock-up now (also before its unlock date)",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        if data.get("uid"):
            user = self.user(data["uid"])
            if selectors.lockup_user(data["lockup_id"]) != user.pk:
                raise self.foreign_lockup(data["lockup_id"])
        try:
            lockup = lockup_release(lockup_id=data["lockup_id"], user=None, organization=self.organization)
        except NotFound:
            raise self.foreign_lockup(data["lockup_id"]) from None
        return lockup_object(lockup)


class ConvertApi(OrgApiView):
    operation = "finance/convert"
    permission = "transfer"

    @extend_schema_serializer(component_name="OrgApiConvertInput")
    class InputSerializer(UidWriteInput):
        from_token_id = serializers.CharField()
        to_token_id = serializers.CharField()
        amount = serializers.CharField(help_text="Amount of from_token_id to convert")

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Convert at the current (floating) rate, through the OPERATING account",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        user = self.user(data["uid"])
        quote = convert_quote(
            user=user,
            from_token=data["from_token_id"].upper(),
            to_token=data["to_token_id"].upper(),
            from_amount=data["amount"],
        )
        return convert_object(convert_execute(user=user, quote_id=quote.pk), user)


class MappingApi(OrgApiView):
    operation = "finance/mapping"
    permission = "transfer"

    @extend_schema_serializer(component_name="OrgApiMappingInput")
    class InputSerializer(UidWriteInput):
        from_token_id = serializers.CharField()
        to_token_id = serializers.CharField()
        amount = serializers.CharField(help_text="Amount of from_token_id to map")

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Exchange at the staff-set fixed rate, through the OPERATING account",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        user = self.user(data["uid"])
        record = mapping_execute(
            user=user,
            from_token=data["from_token_id"].upper(),
            to_token=data["to_token_id"].upper(),
            amount=data["amount"],
            client_order_id=data["client_order_id"],
            acting_user=None,
        )
        return mapping_object(record, user)
