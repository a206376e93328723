"""Seed 001 §3.3: a user's accounts, balances, statement, deposits and withdrawals (by ``uid``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.funding import deposit_address_get, withdrawal_quota, withdrawal_request
from apps.accounts.models import AccountType
from apps.accounts.selectors import balance_flow, deposits_of, user_balances, withdrawals_of
from apps.orgapi import selectors
from apps.orgapi.base import (
    LIST_POLL,
    OBJECT,
    SIGNED,
    OrgApiView,
    PageFields,
    RangeFields,
    UidInput,
    UidWriteInput,
    listing,
    responses,
)
from apps.orgapi.shapes import (
    BalanceSerializer,
    account_object,
    balance_object,
    deposit_object,
    flow_object,
    withdrawal_object,
)
from apps.orgapi.views.user import DEFAULT_REASON, freeze_set
from apps.users.models import FreezeKind

TAG = ["orgapi: account"]
ACCOUNT_TYPES = [AccountType.SPOT, AccountType.FUNDING]


class AccountFreezeApi(OrgApiView):
    operation = "account/frozenUser"
    permission = "trade"

    @extend_schema_serializer(component_name="OrgApiAccountFreezeInput")
    class InputSerializer(UidWriteInput):
        token_id = serializers.CharField(required=False, default="", allow_blank=True, help_text="Empty: every token")
        frozen = serializers.BooleanField(help_text="true freezes, false lifts the freeze")
        reason = serializers.CharField(required=False, default=DEFAULT_REASON, max_length=255)

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Freeze or unfreeze the user's assets of one token (or all): no withdrawals",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        user = self.user(data["uid"])
        token_id = data["token_id"].upper() or None
        frozen = freeze_set(
            user=user, kind=FreezeKind.WITHDRAW, frozen=data["frozen"], reason=data["reason"], token_id=token_id
        )
        return {"uid": str(user.uid), "freeze_type": FreezeKind.WITHDRAW, "token_id": token_id or "", "frozen": frozen}


class AccountInfoApi(OrgApiView):
    operation = "account/getInfo"

    @extend_schema_serializer(component_name="OrgApiAccountInfoInput")
    class InputSerializer(UidInput):
        pass

    @extend_schema(
        parameters=[*SIGNED, InputSerializer], responses=responses(OBJECT), tags=TAG, summary="The user's accounts"
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        user = self.user(data["uid"])
        return {"uid": str(user.uid), "accounts": [account_object(a) for a in selectors.user_accounts_all(user=user)]}


class AssetApi(OrgApiView):
    operation = "account/getAsset"

    @extend_schema_serializer(component_name="OrgApiAssetInput")
    class InputSerializer(UidInput):
        token_id = serializers.CharField(required=False, default="", allow_blank=True)
        account_type = serializers.ChoiceField(choices=ACCOUNT_TYPES, required=False, default=AccountType.SPOT)
        account_index = serializers.IntegerField(required=False, default=0, min_value=0)

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(BalanceSerializer(many=True)),
        tags=TAG,
        summary="Balances of one of the user's accounts (main SPOT by default)",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        rows = user_balances(
            user=self.user(data["uid"]), account_type=data["account_type"], index=data["account_index"]
        )
        if data["token_id"]:
            rows = rows.filter(token_id=data["token_id"].upper())
        return [balance_object(b) for b in rows]


class BalanceFlowApi(OrgApiView):
    operation = "account/getBalanceFlow"
    poll_limit = LIST_POLL

    @extend_schema_serializer(component_name="OrgApiBalanceFlowInput")
    class InputSerializer(UidInput, PageFields, RangeFields):
        token_id = serializers.CharField(required=False, default="", allow_blank=True)
        account_type = serializers.ChoiceField(choices=ACCOUNT_TYPES, required=False)

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(OBJECT),
        tags=TAG,
        summary="The user's statement: one row per posting (flow_type is the ledger transaction kind)",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        start, end = self.window(data)
        rows = balance_flow(
            user=self.user(data["uid"]),
            token_id=data["token_id"].upper() or None,
            account_type=data.get("account_type"),
            from_id=data.get("from_id"),
            to_id=data.get("to_id"),
            limit=data["limit"],
            start_ms=start,
            end_ms=end,
        )
        return listing(rows, data["list_type"], full=flow_object, simple=lambda p: p.pk)


class DepositAddressApi(OrgApiView):
    operation = "account/getDepositAddress"

    @extend_schema_serializer(component_name="OrgApiDepositAddressInput")
    class InputSerializer(UidInput):
        token_id = serializers.CharField()
        chain = serializers.CharField(required=False, default="", allow_blank=True)

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(OBJECT),
        tags=TAG,
        summary="The user's deposit address for a token (issued on first request, then stable)",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        user = self.user(data["uid"])
        address = deposit_address_get(user=user, token_id=data["token_id"], chain=data["chain"] or None)
        return {
            "uid": str(user.uid),
            "token_id": address.token_id,
            "chain": address.chain.chain,
            "address": address.address,
            "memo": address.memo,
        }


class DepositHistoryApi(OrgApiView):
    operation = "account/getDepositHistory"
    poll_limit = LIST_POLL

    @extend_schema_serializer(component_name="OrgApiDepositHistoryInput")
    class InputSerializer(UidInput, PageFields, RangeFields):
        token_id = serializers.CharField(required=False, default="", allow_blank=True)

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(OBJECT),
        tags=TAG,
        summary="Deposits, including those still confirming",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        start, end = self.window(data)
        rows = deposits_of(
            user=self.user(data["uid"]),
            token_id=data["token_id"] or None,
            from_id=data.get("from_id"),
            to_id=data.get("to_id"),
            limit=data["limit"],
            start_ms=start,
            end_ms=end,
        )
        return listing(rows, data["list_type"], full=deposit_object, simple=lambda d: d.pk)


class WithdrawQuotaApi(OrgApiView):
    operation = "account/getWithdrawQuota"

    @extend_schema_serializer(component_name="OrgApiWithdrawQuotaInput")
    class InputSerializer(UidInput):
        token_id = serializers.CharField()
        chain = serializers.CharField(required=False, default="", allow_blank=True)

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(OBJECT),
        tags=TAG,
        summary="Withdrawal fee, minimum, limits and what remains of them",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        user = self.user(data["uid"])
        quota = withdrawal_quota(user=user, token_id=data["token_id"], chain=data["chain"] or None)
        quota["token_id"] = quota.pop("token")
        return {"uid": str(user.uid), **quota}


class CreateWithdrawApi(OrgApiView):
    operation = "account/createWithdraw"
    permission = "withdraw"

    @extend_schema_serializer(component_name="OrgApiCreateWithdrawInput")
    class InputSerializer(UidWriteInput):
        token_id = serializers.CharField()
        chain = serializers.CharField(required=False, default="", allow_blank=True)
        address = serializers.CharField(required=False, default="", allow_blank=True)
        memo = serializers.CharField(required=False, default="", allow_blank=True)
        amount = serializers.CharField()
        bank_card_id = serializers.IntegerField(required=False, help_text="Fiat withdrawals")

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Request a withdrawal for the user (no second factor: the broker vouches for it)",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        withdrawal = withdrawal_request(
            user=self.user(data["uid"]),
            token_id=data["token_id"],
            amount=data["amount"],
            chain=data["chain"] or None,
            address=data["address"],
            memo=data["memo"],
            bank_card_id=data.get("bank_card_id"),
            client_order_id=data["client_order_id"],
            fund_password=None,
            totp_code=None,
            requested_by_organization=True,
        )
        return withdrawal_object(withdrawal)


class WithdrawHistoryApi(OrgApiView):
    operation = "account/getWithdrawHistory"
    poll_limit = LIST_POLL

    @extend_schema_serializer(component_name="OrgApiWithdrawHistoryInput")
    class InputSerializer(UidInput, PageFields, RangeFields):
        token_id = serializers.CharField(required=False, default="", allow_blank=True)

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(OBJECT),
        tags=TAG,
        summary="Withdrawals, including those in progress",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        start, end = self.window(data)
        rows = withdrawals_of(
            user=self.user(data["uid"]),
            token_id=data["token_id"] or None,
            from_id=data.get("from_id"),
            to_id=data.get("to_id"),
            limit=data["limit"],
            start_ms=start,
            end_ms=end,
        )
        return listing(rows, data["list_type"], full=withdrawal_object, simple=lambda w: w.pk)
