"""Signed funding endpoints (rest-api-cn.md): deposits, withdrawals, deposit address, sub-accounts,
transfers and the balance flow."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts import funding
from apps.accounts import selectors as accounts
from apps.accounts.models import AccountType
from apps.core.errors import DepositDisabled
from apps.core.money import fmt
from apps.openapi import shapes
from apps.openapi.base import ARRAY, OBJECT, SIGNED, OpenApiView, query, responses
from apps.openapi.errors import OpenApiError, invalid, mandatory
from apps.tokens.selectors import tokens_offered

# BHEX account types: 1 token (spot) trading, 2 options, 3 contracts. Only spot accounts exist here.
SPOT_ACCOUNT_TYPE = 1


def _spot_only(value: int | None, name: str) -> str:
    if value not in (None, SPOT_ACCOUNT_TYPE):
        raise invalid(name, "Only token trading accounts (1) exist on this broker.")
    return AccountType.SPOT


class DepositOrdersApi(OpenApiView):
    @extend_schema(
        parameters=[
            query("token", str, False, "All tokens when absent"),
            query("startTime", int),
            query("endTime", int),
            query("fromId", int, False, "Deposits with a greater id, oldest first"),
            query("limit", int, False, "Default 500; max 1000"),
            *SIGNED,
        ],
        responses=responses(ARRAY),
        summary="Deposit history (USER_DATA)",
        tags=["openapi-funding"],
    )
    def get(self, request: Request) -> Response:
        caller = self.signed(request, "read")
        rows = accounts.deposits_of(
            user=caller.user,
            token_id=self.params.text("token", max_length=16) or self.params.text("tokenId", max_length=16),
            # rest-api.md: "If fromId is set, it will get orders > that fromId".
            to_id=self.params.integer("fromId", minimum=0),
            start_ms=self.params.integer("startTime"),
            end_ms=self.params.integer("endTime"),
            limit=self.params.limit(default=500, maximum=1000),
        )
        return Response([shapes.deposit(d) for d in rows])


class WithdrawalOrdersApi(OpenApiView):
    @extend_schema(
        parameters=[
            query("token", str, False, "All tokens when absent"),
            query("startTime", int),
            query("endTime", int),
            query("fromId", int, False, "Withdrawals with a smaller id, newest first"),
            query("limit", int, False, "Default 500; max 1000"),
            *SIGNED,
        ],
        responses=responses(ARRAY),
        summary="Withdrawal history (USER_DATA)",
        tags=["openapi-funding"],
    )
    def get(self, request: Request) -> Response:
        caller = self.signed(request, "read")
        rows = accounts.withdrawals_of(
            user=caller.user,
            token_id=self.params.text("token", max_length=16) or self.params.text("tokenId", max_length=16),
            from_id=self.params.integer("fromId", minimum=0),
            start_ms=self.params.integer("startTime"),
            end_ms=self.params.integer("endTime"),
            limit=self.params.limit(default=500, maximum=1000),
        )
        return Response([shapes.withdrawal(w) for w in rows])


class WithdrawDetailApi(OpenApiView):
    @extend_schema(
        parameters=[query("orderId", int), query("clientOrderId", str), *SIGNED],
        responses=responses(OBJECT),
        summary="One withdrawal (USER_DATA)",
        tags=["openapi-funding"],
    )
    def get(self, request: Request) -> Response:
        caller = self.signed(request, "read")
        order_id = self.params.integer("orderId")
        client_order_id = self.params.text("clientOrderId", max_length=64)
        if order_id is None and not client_order_id:
            raise OpenApiError(-1102, "Param 'orderId' or 'clientOrderId' must be sent, but both were empty/null!")
        row = accounts.withdrawal_of(
            user=caller.user, withdrawal_id=order_id, client_order_id=None if order_id is not None else client_order_id
        )
        return Response(shapes.withdrawal(row))


class DepositAddressApi(OpenApiView):
    @extend_schema(
        parameters=[query("tokenId", str, True), query("chainType", str, False, "e.g. ERC20, TRC20"), *SIGNED],
        responses=responses(OBJECT),
        summary="Deposit address of a token (USER_DATA)",
        tags=["openapi-funding"],
    )
    def get(self, request: Request) -> Response:
        caller = self.signed(request, "read")
        token_id = self.params.required("tokenId", max_length=16)
        chain = self.params.text("chainType", max_length=32)
        try:
            address = funding.deposit_address_get(user=caller.user, token_id=token_id, chain=chain)
        except DepositDisabled:
            token = tokens_offered(organization_id=caller.api_key.organization_id).filter(pk=token_id.upper()).first()
            return Response(
                {
                    "allowDeposit": False,
                    "address": "",
                    "addressExt": "",
                    "minQuantity": fmt(token.min_deposit if token else None),
                    "requiredConfirmNum": 0,
                    "canWithdrawConfirmNum": 0,
                    "tokenType": chain or "",
                }
            )
        network = address.chain
        token = address.token
        return Response(
            {
                "allowDeposit": True,
                "address": address.address,
                "addressExt": address.memo,
                "minQuantity": fmt(token.min_deposit),
                "requiredConfirmNum": network.confirmations_required,
                "canWithdrawConfirmNum": network.confirmations_required,
                "tokenType": network.chain,
            }
        )


class WithdrawApi(OpenApiView):
    @extend_schema(
        parameters=[
            query("tokenId", str, True),
            query("clientOrderId", str, True, "Your unique id: repeating it returns the first withdrawal"),
            query("address", str, True, "Must be saved in your address book"),
            query("addressExt", str, False, "Memo / tag"),
            query("withdrawQuantity", str, True),
            query("chainType", str, False),
            *SIGNED,
        ],
        request=None,
        responses=responses(OBJECT),
        summary="Withdraw (needs the withdraw permission)",
        tags=["openapi-funding"],
    )
    def post(self, request: Request) -> Response:
        caller = self.signed(request, "withdraw")
        params = self.params
        token_id = params.required("tokenId", max_length=16)
        client_order_id = params.required("clientOrderId", max_length=64)
        address = params.required("address", max_length=255)
        quantity = params.required("withdrawQuantity", max_length=64)
        withdrawal = funding.withdrawal_request(
            user=caller.user,
            token_id=token_id,
            amount=quantity,
            fund_password=None,
            totp_code=None,
            chain=params.text("chainType", max_length=32),
            address=address,
            memo=params.text("addressExt", max_length=128) or "",
            client_order_id=client_order_id,
            api_key_authorized=True,
        )
        return Response(
            {
                "status": 0,
                "success": True,
                "needBrokerAudit": withdrawal.status == "reviewing",
                "orderId": str(withdrawal.pk),
            }
        )


class SubAccountsApi(OpenApiView):
    @extend_schema(
        parameters=SIGNED,
        request=None,
        responses=responses(ARRAY),
        summary="Sub-account list",
        tags=["openapi-funding"],
    )
    def post(self, request: Request) -> Response:
        caller = self.signed(request, "read")
        rows = [
            {
                "accountId": str(account.pk),
                "accountName": account.name,
                "accountType": SPOT_ACCOUNT_TYPE,
                "accountIndex": account.index,
            }
            for account in accounts.user_accounts(user=caller.user)
            if account.type == AccountType.SPOT
        ]
        return Response(rows)


class TransferApi(OpenApiView):
    @extend_schema(
        parameters=[
            query("fromAccountType", int, True, "1: token trading account"),
            query("fromAccountIndex", int, True),
            query("toAccountType", int, True, "1: token trading account"),
            query("toAccountIndex", int, True),
            query("tokenId", str, True),
            query("amount", str, True),
            query("clientOrderId", str, False, "Optional unique id: repeating it has no second effect"),
            *SIGNED,
        ],
        request=None,
        responses=responses({"type": "object", "properties": {"success": {"type": "string"}}}),
        summary="Transfer between the main account and sub-accounts (needs the transfer permission)",
        tags=["openapi-funding"],
    )
    def post(self, request: Request) -> Response:
        caller = self.signed(request, "transfer")
        params = self.params
        from_type = _spot_only(params.integer("fromAccountType"), "fromAccountType")
        to_type = _spot_only(params.integer("toAccountType"), "toAccountType")
        from_index = params.integer("fromAccountIndex", minimum=0) or 0
        to_index = params.integer("toAccountIndex", minimum=0) or 0
        if from_index != 0 and to_index != 0:
            raise invalid("fromAccountIndex", "Either side of a transfer must be the main account (index 0).")
        token_id = params.required("tokenId", max_length=16)
        amount = params.text("amount", max_length=64)
        if amount is None:
            raise mandatory("amount")
        funding.transfer_create(
            user=caller.user,
            token_id=token_id,
            amount=amount,
            from_type=from_type,
            from_index=from_index,
            to_type=to_type,
            to_index=to_index,
            client_order_id=params.text("clientOrderId", max_length=64),
        )
        return Response({"success": "true"})


class BalanceFlowApi(OpenApiView):
    @extend_schema(
        parameters=[
            query("accountType", int, False, "Default 1"),
            query("accountIndex", int, False, "Default 0"),
            query("tokenId", str),
            query("fromFlowId", int, False, "Entries with a smaller id"),
            query("endFlowId", int, False, "Entries with a greater id"),
            query("startTime", int),
            query("endTime", int),
            query("limit", int, False, "Default 50; max 100"),
            *SIGNED,
        ],
        request=None,
        responses=responses(ARRAY),
        summary="Balance flow: the account's ledger postings",
        tags=["openapi-funding"],
    )
    def post(self, request: Request) -> Response:
        caller = self.signed(request, "read")
        params = self.params
        token_id = params.text("tokenId", max_length=16)
        postings = accounts.balance_flow(
            user=caller.user,
            account_type=_spot_only(params.integer("accountType"), "accountType"),
            account_index=params.integer("accountIndex", minimum=0) or 0,
            token_id=token_id.upper() if token_id else None,
            from_id=params.integer("fromFlowId", minimum=0),
            to_id=params.integer("endFlowId", minimum=0),
            start_ms=params.integer("startTime"),
            end_ms=params.integer("endTime"),
            limit=params.limit(default=50, maximum=100),
        )
        return Response([shapes.balance_flow(p) for p in postings])
