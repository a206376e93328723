"""User API: lock-ups, convert, mapping, bonus credits and referral commission (docs/finance.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.money import fmt
from apps.finance import selectors, services
from apps.finance.models import (
    BonusGrant,
    CommissionRecord,
    ConvertPair,
    ConvertQuote,
    Lockup,
    MappingPair,
    MappingRecord,
)
from apps.webapi.auth import current_user
from apps.webapi.params import query_int


def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def _paging(request: Request) -> dict[str, Any]:
    return {
        "from_id": query_int(request, "from_id"),
        "to_id": query_int(request, "to_id"),
        "limit": query_int(request, "limit"),
    }


_PAGING = [OpenApiParameter("from_id", int), OpenApiParameter("to_id", int), OpenApiParameter("limit", int)]


def lockup_payload(lockup: Lockup) -> dict[str, Any]:
    return {
        "lockup_id": str(lockup.pk),
        "client_order_id": lockup.client_order_id,
        "token": lockup.token_id,
        "amount": fmt(lockup.amount),
        "source": lockup.source,
        "status": lockup.status,
        "unlock_at": _ms(lockup.unlock_at),
        "created_at": _ms(lockup.created_at),
        "released_at": _ms(lockup.released_at),
    }


def quote_payload(quote: ConvertQuote) -> dict[str, Any]:
    return {
        "quote_id": str(quote.pk),
        "from_token": quote.pair.from_token_id,
        "to_token": quote.pair.to_token_id,
        "from_amount": fmt(quote.from_amount),
        "to_amount": fmt(quote.to_amount),
        "rate": fmt(quote.rate),
        "status": quote.status,
        "expires_at": _ms(quote.expires_at),
        "executed_at": _ms(quote.executed_at),
    }


def mapping_payload(record: MappingRecord) -> dict[str, Any]:
    return {
        "mapping_id": str(record.pk),
        "client_order_id": record.client_order_id,
        "from_token": record.pair.from_token_id,
        "to_token": record.pair.to_token_id,
        "from_amount": fmt(record.from_amount),
        "to_amount": fmt(record.to_amount),
        "rate": fmt(record.rate),
        "created_at": _ms(record.created_at),
    }


def _pair_payload(pair: ConvertPair | MappingPair) -> dict[str, Any]:
    return {
        "from_token": pair.from_token_id,
        "to_token": pair.to_token_id,
        "min_amount": fmt(pair.min_amount),
        "max_amount": fmt(pair.max_amount),
        "daily_user_limit": fmt(pair.daily_user_limit),
    }


@extend_schema_serializer(component_name="FinanceLockup")
class LockupSerializer(serializers.Serializer):  # type: ignore[type-arg]
    lockup_id = serializers.CharField()
    client_order_id = serializers.CharField()
    token = serializers.CharField()
    amount = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.source
    status = serializers.CharField()
    unlock_at = serializers.IntegerField(allow_null=True)
    created_at = serializers.IntegerField()
    released_at = serializers.IntegerField(allow_null=True)


@extend_schema_serializer(component_name="FinanceConvertQuote")
class QuoteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    quote_id = serializers.CharField()
    from_token = serializers.CharField()
    to_token = serializers.CharField()
    from_amount = serializers.CharField()
    to_amount = serializers.CharField()
    rate = serializers.CharField()
    status = serializers.CharField()
    expires_at = serializers.IntegerField()
    executed_at = serializers.IntegerField(allow_null=True)


@extend_schema_serializer(component_name="FinanceMapping")
class MappingSerializer(serializers.Serializer):  # type: ignore[type-arg]
    mapping_id = serializers.CharField()
    client_order_id = serializers.CharField()
    from_token = serializers.CharField()
    to_token = serializers.CharField()
    from_amount = serializers.CharField()
    to_amount = serializers.CharField()
    rate = serializers.CharField()
    created_at = serializers.IntegerField()


class LockupListCreateApi(APIView):
    @extend_schema_serializer(component_name="FinanceLockupInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        token = serializers.CharField()
        amount = serializers.CharField()
        unlock_at = serializers.IntegerField(required=False, help_text="ms; omitted = release any time")
        client_order_id = serializers.CharField(required=False, max_length=64)

    @extend_schema(
        parameters=[*_PAGING, OpenApiParameter("status", str), OpenApiParameter("token", str)],
        responses=LockupSerializer(many=True),
        summary="The user's lock-ups",
    )
    def get(self, request: Request) -> Response:
        rows = selectors.lockups_of(
            user=current_user(request),
            status=request.query_params.get("status") or None,
            token_id=request.query_params.get("token") or None,
            **_paging(request),
        )
        return Response([lockup_payload(r) for r in rows])

    @extend_schema(
        request=InputSerializer,
        responses={200: LockupSerializer, 201: LockupSerializer},
        summary="Lock funds (available → lockup); a repeated client_order_id returns the first lock-up with 200",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = current_user(request)
        unlock_ms = data.validated_data.get("unlock_at")
        lockup = services.lockup_create(
            user=user,
            token_id=data.validated_data["token"],
            amount=data.validated_data["amount"],
            unlock_at=datetime.fromtimestamp(unlock_ms / 1000, tz=UTC) if unlock_ms is not None else None,
            client_order_id=data.validated_data.get("client_order_id"),
            acting_user=user,
        )
        return Response(lockup_payload(lockup), status=201 if getattr(lockup, "created", True) else 200)


class LockupReleaseApi(APIView):
    @extend_schema(request=None, responses=LockupSerializer, summary="Release a lock-up that is due (idempotent)")
    def post(self, request: Request, lockup_id: int) -> Response:
        lockup = services.lockup_release(lockup_id=lockup_id, user=current_user(request))
        return Response(lockup_payload(lockup))


class ConvertPairListApi(APIView):
    @extend_schema_serializer(component_name="FinanceConvertPair")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        from_token = serializers.CharField()
        to_token = serializers.CharField()
        min_amount = serializers.CharField()
        max_amount = serializers.CharField()
        daily_user_limit = serializers.CharField()
        quote_ttl_seconds = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer(many=True), summary="Conversions offered (floating rate)")
    def get(self, request: Request) -> Response:
        user = current_user(request)
        if user.organization_id is None:
            return Response([])
        pairs = selectors.convert_pairs_offered(organization_id=user.organization_id)
        return Response([{**_pair_payload(p), "quote_ttl_seconds": p.quote_ttl_seconds} for p in pairs])


class ConvertQuoteApi(APIView):
    @extend_schema_serializer(component_name="FinanceConvertQuoteInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        from_token = serializers.CharField()
        to_token = serializers.CharField()
        from_amount = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: QuoteSerializer}, summary="Quote a conversion")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        quote = services.convert_quote(user=current_user(request), **data.validated_data)
        return Response(quote_payload(quote), status=201)


class ConvertExecuteApi(APIView):
    @extend_schema_serializer(component_name="FinanceConvertExecuteInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        quote_id = serializers.IntegerField()

    @extend_schema(
        request=InputSerializer,
        responses=QuoteSerializer,
        summary="Execute a quote at its rate before it expires (executing it again has no second effect)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        quote = services.convert_execute(user=current_user(request), quote_id=data.validated_data["quote_id"])
        return Response(quote_payload(quote))


class MappingPairListApi(APIView):
    @extend_schema_serializer(component_name="FinanceMappingPair")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        from_token = serializers.CharField()
        to_token = serializers.CharField()
        rate = serializers.CharField()
        min_amount = serializers.CharField()
        max_amount = serializers.CharField()
        daily_user_limit = serializers.CharField()
        total_user_limit = serializers.CharField()

    @extend_schema(responses=OutputSerializer(many=True), summary="Mappings offered (fixed rate)")
    def get(self, request: Request) -> Response:
        user = current_user(request)
        if user.organization_id is None:
            return Response([])
        pairs = selectors.mapping_pairs_offered(organization_id=user.organization_id)
        return Response(
            [{**_pair_payload(p), "rate": fmt(p.rate), "total_user_limit": fmt(p.total_user_limit)} for p in pairs]
        )


class MappingListCreateApi(APIView):
    @extend_schema_serializer(component_name="FinanceMappingInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        from_token = serializers.CharField()
        to_token = serializers.CharField()
        amount = serializers.CharField()
        client_order_id = serializers.CharField(required=False, max_length=64)

    @extend_schema(parameters=_PAGING, responses=MappingSerializer(many=True), summary="The user's mappings")
    def get(self, request: Request) -> Response:
        rows = selectors.mappings_of(user=current_user(request), **_paging(request))
        return Response([mapping_payload(r) for r in rows])

    @extend_schema(
        request=InputSerializer,
        responses={200: MappingSerializer, 201: MappingSerializer},
        summary="Map tokens at the fixed rate; a repeated client_order_id returns the first mapping with 200",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = current_user(request)
        record = services.mapping_execute(user=user, acting_user=user, **data.validated_data)
        return Response(mapping_payload(record), status=201 if getattr(record, "created", True) else 200)


class BonusListApi(APIView):
    @extend_schema_serializer(component_name="FinanceBonus")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        bonus_id = serializers.CharField()
        token = serializers.CharField()
        amount = serializers.CharField()
        withdrawable = serializers.BooleanField()
        status = serializers.CharField()
        memo = serializers.CharField()
        created_at = serializers.IntegerField()
        released_at = serializers.IntegerField(allow_null=True)

    @extend_schema(
        parameters=_PAGING, responses=OutputSerializer(many=True), summary="Bonus credits granted to the user"
    )
    def get(self, request: Request) -> Response:
        rows: list[BonusGrant] = selectors.bonus_grants_of(user=current_user(request), **_paging(request))
        return Response(
            [
                {
                    "bonus_id": str(g.pk),
                    "token": g.token_id,
                    "amount": fmt(g.amount),
                    "withdrawable": g.withdrawable,
                    "status": g.status,
                    "memo": g.memo,
                    "created_at": _ms(g.created_at),
                    "released_at": _ms(g.released_at),
                }
                for g in rows
            ]
        )


class CommissionListApi(APIView):
    @extend_schema_serializer(component_name="FinanceCommission")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        commission_id = serializers.CharField()
        day = serializers.CharField()
        level = serializers.IntegerField()
        invitee_uid = serializers.CharField()
        token = serializers.CharField()
        fee_amount = serializers.CharField()
        rate = serializers.CharField()
        amount = serializers.CharField()
        created_at = serializers.IntegerField()

    @extend_schema(
        parameters=_PAGING, responses=OutputSerializer(many=True), summary="Referral commission paid to the user"
    )
    def get(self, request: Request) -> Response:
        rows: list[CommissionRecord] = selectors.commissions_of(inviter=current_user(request), **_paging(request))
        return Response(
            [
                {
                    "commission_id": str(r.pk),
                    "day": r.day.isoformat(),
                    "level": r.level,
                    "invitee_uid": str(r.invitee.uid) if r.invitee.uid else "",
                    "token": r.token_id,
                    "fee_amount": fmt(r.fee_amount),
                    "rate": fmt(r.rate),
                    "amount": fmt(r.amount),
                    "created_at": _ms(r.created_at),
                }
                for r in rows
            ]
        )
