"""User API: deposits, withdrawals, transfers, address book and bank cards (session cookie + CSRF)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import funding, selectors
from apps.accounts.models import AddressBookEntry, BankCard
from apps.core.money import fmt
from apps.webapi.auth import current_user
from apps.webapi.params import query_int

_PAGE_PARAMS = [
    OpenApiParameter("token", str),
    OpenApiParameter("from_id", int),
    OpenApiParameter("to_id", int),
    OpenApiParameter("limit", int),
]


def _page_args(request: Request) -> dict[str, Any]:
    return {
        "token_id": request.query_params.get("token") or None,
        "from_id": query_int(request, "from_id"),
        "to_id": query_int(request, "to_id"),
        "limit": query_int(request, "limit"),
    }


@extend_schema_serializer(component_name="FundingDeposit")
class DepositSerializer(serializers.Serializer):  # type: ignore[type-arg]
    deposit_id = serializers.CharField()
    token = serializers.CharField()
    kind = serializers.CharField()
    chain = serializers.CharField()
    address = serializers.CharField()
    memo = serializers.CharField()
    txid = serializers.CharField()
    output_index = serializers.IntegerField()
    bank_reference = serializers.CharField()
    amount = serializers.CharField()
    confirmations = serializers.IntegerField()
    confirmations_required = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.IntegerField()
    credited_at = serializers.IntegerField(allow_null=True)


@extend_schema_serializer(component_name="FundingWithdrawal")
class WithdrawalSerializer(serializers.Serializer):  # type: ignore[type-arg]
    withdrawal_id = serializers.CharField()
    client_order_id = serializers.CharField()
    token = serializers.CharField()
    kind = serializers.CharField()
    chain = serializers.CharField()
    address = serializers.CharField()
    memo = serializers.CharField()
    bank_card_id = serializers.CharField()
    amount = serializers.CharField()
    fee = serializers.CharField()
    arrival_amount = serializers.CharField()
    status = serializers.CharField()
    txid = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.IntegerField()
    updated_at = serializers.IntegerField()


@extend_schema_serializer(component_name="FundingAccountRef")
class AccountRefSerializer(serializers.Serializer):  # type: ignore[type-arg]
    type = serializers.CharField()
    index = serializers.IntegerField()


@extend_schema_serializer(component_name="FundingTransfer")
class TransferSerializer(serializers.Serializer):  # type: ignore[type-arg]
    transfer_id = serializers.CharField()
    client_order_id = serializers.CharField()
    token = serializers.CharField()
    amount = serializers.CharField()
    from_account = AccountRefSerializer()
    to_account = AccountRefSerializer()
    to_uid = serializers.CharField()
    direction = serializers.ChoiceField(choices=["in", "out"])
    created_at = serializers.IntegerField()


@extend_schema_serializer(component_name="FundingAddressBookEntry")
class AddressBookEntrySerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.CharField()
    token = serializers.CharField()
    chain = serializers.CharField()
    address = serializers.CharField()
    memo = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]


@extend_schema_serializer(component_name="FundingBankCard")
class BankCardSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.CharField()
    bank_name = serializers.CharField()
    holder_name = serializers.CharField()
    card_number = serializers.CharField(help_text="Masked: only the last four characters are shown")


def _entry_payload(entry: AddressBookEntry) -> dict[str, Any]:
    return {
        "id": str(entry.pk),
        "token": entry.token_id,
        "chain": entry.chain.chain,
        "address": entry.address,
        "memo": entry.memo,
        "label": entry.label,
    }


def _card_payload(card: BankCard) -> dict[str, Any]:
    return {
        "id": str(card.pk),
        "bank_name": card.bank_name,
        "holder_name": card.holder_name,
        "card_number": f"****{card.card_number[-4:]}",
    }


# --- deposits -----------------------------------------------------------------------------------
class DepositAddressApi(APIView):
    @extend_schema_serializer(component_name="FundingDepositAddress")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        token = serializers.CharField()
        chain = serializers.CharField()
        address = serializers.CharField()
        memo = serializers.CharField()
        confirmations_required = serializers.IntegerField()
        min_deposit = serializers.CharField()

    @extend_schema(
        parameters=[OpenApiParameter("token", str, required=True), OpenApiParameter("chain", str)],
        responses=OutputSerializer,
        summary="The user's deposit address for a token on a chain (stable once issued)",
    )
    def get(self, request: Request) -> Response:
        row = funding.deposit_address_get(
            user=current_user(request),
            token_id=request.query_params.get("token", ""),
            chain=request.query_params.get("chain") or None,
        )
        return Response(
            {
                "token": row.token_id,
                "chain": row.chain.chain,
                "address": row.address,
                "memo": row.memo,
                "confirmations_required": row.chain.confirmations_required,
                "min_deposit": fmt(row.token.min_deposit),
            }
        )


class DepositListApi(APIView):
    @extend_schema(parameters=_PAGE_PARAMS, responses=DepositSerializer(many=True), summary="Deposit history")
    def get(self, request: Request) -> Response:
        rows = selectors.deposits_of(user=current_user(request), **_page_args(request))
        return Response([funding.deposit_payload(d) for d in rows])


class FiatDepositApi(APIView):
    @extend_schema_serializer(component_name="FundingFiatDepositInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        token = serializers.CharField()
        amount = serializers.CharField()

    @extend_schema(
        request=InputSerializer,
        responses={201: DepositSerializer},
        summary="Request a fiat deposit: transfer with the returned bank_reference; staff confirm it",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deposit = funding.deposit_fiat_request(
            user=current_user(request), token_id=data.validated_data["token"], amount=data.validated_data["amount"]
        )
        return Response(funding.deposit_payload(deposit), status=201)


# --- withdrawals --------------------------------------------------------------------------------
class WithdrawalQuotaApi(APIView):
    @extend_schema_serializer(component_name="FundingWithdrawalQuota")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        token = serializers.CharField()
        chain = serializers.CharField()
        fee = serializers.CharField()
        min_amount = serializers.CharField()
        available = serializers.CharField()
        daily_limit = serializers.CharField(allow_null=True, help_text="null: no limit")
        monthly_limit = serializers.CharField(allow_null=True)
        used_today = serializers.CharField()
        used_this_month = serializers.CharField()
        remaining_today = serializers.CharField(allow_null=True)
        remaining_this_month = serializers.CharField(allow_null=True)

    @extend_schema(
        parameters=[OpenApiParameter("token", str, required=True), OpenApiParameter("chain", str)],
        responses=OutputSerializer,
        summary="Withdrawal fee, minimum, limits and what remains of them today / this month",
    )
    def get(self, request: Request) -> Response:
        return Response(
            funding.withdrawal_quota(
                user=current_user(request),
                token_id=request.query_params.get("token", ""),
                chain=request.query_params.get("chain") or None,
            )
        )


class WithdrawalListCreateApi(APIView):
    @extend_schema_serializer(component_name="FundingWithdrawalInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        token = serializers.CharField()
        amount = serializers.CharField(help_text="Debited from the balance; amount − fee arrives")
        chain = serializers.CharField(required=False)
        address = serializers.CharField(required=False)
        memo = serializers.CharField(required=False, allow_blank=True)
        address_book_id = serializers.IntegerField(required=False)
        bank_card_id = serializers.IntegerField(required=False, help_text="Fiat withdrawals")
        fund_password = serializers.CharField(required=False, allow_blank=True)
        totp_code = serializers.CharField(required=False, allow_blank=True)
        client_order_id = serializers.CharField(required=False, max_length=64)

    @extend_schema(
        request=InputSerializer,
        responses={200: WithdrawalSerializer, 201: WithdrawalSerializer},
        summary="Request a withdrawal (fund password + TOTP; a repeated client_order_id returns the first with 200)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        withdrawal = funding.withdrawal_request(
            user=current_user(request),
            token_id=values["token"],
            amount=values["amount"],
            chain=values.get("chain"),
            address=values.get("address"),
            memo=values.get("memo", ""),
            address_book_id=values.get("address_book_id"),
            bank_card_id=values.get("bank_card_id"),
            fund_password=values.get("fund_password"),
            totp_code=values.get("totp_code"),
            client_order_id=values.get("client_order_id"),
        )
        created = getattr(withdrawal, "created", True)
        return Response(funding.withdrawal_payload(withdrawal), status=201 if created else 200)

    @extend_schema(parameters=_PAGE_PARAMS, responses=WithdrawalSerializer(many=True), summary="Withdrawal history")
    def get(self, request: Request) -> Response:
        rows = selectors.withdrawals_of(user=current_user(request), **_page_args(request))
        return Response([funding.withdrawal_payload(w) for w in rows])


class WithdrawalDetailApi(APIView):
    @extend_schema(responses=WithdrawalSerializer, summary="One withdrawal")
    def get(self, request: Request, withdrawal_id: int) -> Response:
        withdrawal = selectors.withdrawal_of(user=current_user(request), withdrawal_id=withdrawal_id)
        return Response(funding.withdrawal_payload(withdrawal))


class WithdrawalCancelApi(APIView):
    @extend_schema(request=None, responses=WithdrawalSerializer, summary="Cancel a withdrawal not yet approved")
    def post(self, request: Request, withdrawal_id: int) -> Response:
        user = current_user(request)
        funding.withdrawal_cancel(user=user, withdrawal_id=withdrawal_id)
        return Response(funding.withdrawal_payload(selectors.withdrawal_of(user=user, withdrawal_id=withdrawal_id)))


# --- transfers ----------------------------------------------------------------------------------
class TransferListCreateApi(APIView):
    @extend_schema_serializer(component_name="FundingTransferInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        token = serializers.CharField()
        amount = serializers.CharField()
        from_type = serializers.CharField(default="spot", help_text="spot or funding")
        from_index = serializers.IntegerField(default=0, min_value=0)
        to_type = serializers.CharField(default="spot", help_text="spot or funding")
        to_index = serializers.IntegerField(default=0, min_value=0)
        to_uid = serializers.IntegerField(required=False, help_text="Another user of the same broker")
        client_order_id = serializers.CharField(required=False, max_length=64)

    @extend_schema(
        request=InputSerializer,
        responses={200: TransferSerializer, 201: TransferSerializer},
        summary="Transfer between your accounts or to another user of the broker (where allowed)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        transfer = funding.transfer_create(
            user=current_user(request),
            token_id=values["token"],
            amount=values["amount"],
            from_type=values["from_type"],
            from_index=values["from_index"],
            to_type=values["to_type"],
            to_index=values["to_index"],
            to_uid=values.get("to_uid"),
            client_order_id=values.get("client_order_id"),
        )
        created = getattr(transfer, "created", True)
        return Response(funding.transfer_payload(transfer), status=201 if created else 200)

    @extend_schema(
        parameters=_PAGE_PARAMS, responses=TransferSerializer(many=True), summary="Transfers sent or received"
    )
    def get(self, request: Request) -> Response:
        user = current_user(request)
        rows = []
        for transfer in selectors.transfers_of(user=user, **_page_args(request)):
            payload = funding.transfer_payload(transfer)
            if transfer.user_id != user.pk:
                payload["direction"] = "in"
            rows.append(payload)
        return Response(rows)


# --- address book and bank cards ----------------------------------------------------------------
class AddressBookApi(APIView):
    @extend_schema_serializer(component_name="FundingAddressBookInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        token = serializers.CharField()
        chain = serializers.CharField(required=False)
        address = serializers.CharField()
        memo = serializers.CharField(required=False, allow_blank=True)
        label = serializers.CharField(required=False, allow_blank=True, max_length=64)  # type: ignore[assignment]

    @extend_schema(
        parameters=[OpenApiParameter("token", str)],
        responses=AddressBookEntrySerializer(many=True),
        summary="The user's withdrawal address book",
    )
    def get(self, request: Request) -> Response:
        entries = selectors.address_book_of(user=current_user(request), token_id=request.query_params.get("token"))
        return Response([_entry_payload(e) for e in entries])

    @extend_schema(request=InputSerializer, responses={201: AddressBookEntrySerializer}, summary="Add an address")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        entry = funding.address_book_add(
            user=current_user(request),
            token_id=values["token"],
            chain=values.get("chain"),
            address=values["address"],
            memo=values.get("memo", ""),
            label=values.get("label", ""),
        )
        return Response(_entry_payload(entry), status=201)


class AddressBookEntryApi(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Remove an address book entry")
    def delete(self, request: Request, entry_id: int) -> Response:
        funding.address_book_delete(user=current_user(request), entry_id=entry_id)
        return Response(status=204)


class BankCardApi(APIView):
    @extend_schema_serializer(component_name="FundingBankCardInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        bank_name = serializers.CharField(max_length=100)
        holder_name = serializers.CharField(max_length=100)
        card_number = serializers.CharField(max_length=50)

    @extend_schema(responses=BankCardSerializer(many=True), summary="Registered bank cards (fiat withdrawals)")
    def get(self, request: Request) -> Response:
        return Response([_card_payload(c) for c in selectors.bank_cards_of(user=current_user(request))])

    @extend_schema(request=InputSerializer, responses={201: BankCardSerializer}, summary="Register a bank card")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        card = funding.bank_card_add(user=current_user(request), **data.validated_data)
        return Response(_card_payload(card), status=201)


class BankCardEntryApi(APIView):
    @extend_schema(request=None, responses={204: None}, summary="Remove a bank card")
    def delete(self, request: Request, card_id: int) -> Response:
        funding.bank_card_remove(user=current_user(request), card_id=card_id)
        return Response(status=204)


class BalanceFlowApi(APIView):
    @extend_schema_serializer(component_name="FundingBalanceFlowEntry")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        id = serializers.CharField()
        account_type = serializers.CharField()
        account_index = serializers.IntegerField()
        token = serializers.CharField()
        bucket = serializers.CharField()
        amount = serializers.CharField()
        total_after = serializers.CharField()
        kind = serializers.CharField()
        reference = serializers.CharField()
        created_at = serializers.IntegerField()

    @extend_schema(
        parameters=_PAGE_PARAMS,
        responses=OutputSerializer(many=True),
        summary="Balance flow: the user's ledger postings (deposits, withdrawals, transfers, trades), by id",
    )
    def get(self, request: Request) -> Response:
        postings = selectors.balance_flow(user=current_user(request), **_page_args(request))
        return Response(
            [
                {
                    "id": str(p.pk),
                    "account_type": p.account.type,
                    "account_index": p.account.index,
                    "token": p.token_id,
                    "bucket": p.bucket,
                    "amount": fmt(p.amount),
                    "total_after": fmt(p.total_after),
                    "kind": p.transaction.kind,
                    "reference": p.transaction.reference,
                    "created_at": int(p.created_at.timestamp() * 1000),
                }
                for p in postings
            ]
        )
