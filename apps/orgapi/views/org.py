"""Seed 001 §3.1: the organization itself (its id comes from the API key, never from a parameter)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.orgapi import selectors
from apps.orgapi.base import OBJECT, SIGNED, OrgApiView, WriteInput, responses
from apps.orgapi.shapes import SymbolSerializer, TokenSerializer, org_object, org_settings, symbol_object, token_object
from apps.tokens.models import Symbol, Token
from apps.tokens.selectors import symbols_offered, tokens_offered
from apps.users.services import organization_settings_update

TAG = ["orgapi: organization"]


class OrgInfoApi(OrgApiView):
    operation = "org/getInfo"

    @extend_schema_serializer(component_name="OrgApiOrgInfoInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        pass

    @extend_schema(
        parameters=SIGNED, responses=responses(OBJECT), tags=TAG, summary="The organization and its settings"
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        return {**org_object(self.organization), "settings": org_settings(self.organization)}


class ListTypeInput(serializers.Serializer):  # type: ignore[type-arg]
    list_type = serializers.ChoiceField(choices=["simple", "full"], required=False, default="full")


class OrgTokensApi(OrgApiView):
    operation = "org/getTokens"

    @extend_schema_serializer(component_name="OrgApiTokensInput")
    class InputSerializer(ListTypeInput):
        pass

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(TokenSerializer(many=True)),
        tags=TAG,
        summary="Tokens the organization offers (token simple / full)",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        full = data["list_type"] == "full"
        updated = selectors.catalog_updated_at(Token)
        return [
            token_object(t, self.organization, full=full, updated_at=updated.get(t.pk))
            for t in tokens_offered(organization_id=self.organization.pk)
        ]


class OrgSymbolsApi(OrgApiView):
    operation = "org/getSymbols"

    @extend_schema_serializer(component_name="OrgApiSymbolsInput")
    class InputSerializer(ListTypeInput):
        pass

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(SymbolSerializer(many=True)),
        tags=TAG,
        summary="Symbols the organization offers (symbol simple / full)",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        full = data["list_type"] == "full"
        updated = selectors.catalog_updated_at(Symbol)
        return [
            symbol_object(s, self.organization, full=full, updated_at=updated.get(s.pk))
            for s in symbols_offered(organization_id=self.organization.pk)
        ]


class OrgUpdateSettingsApi(OrgApiView):
    operation = "org/updateSettings"
    permission = "trade"

    @extend_schema_serializer(component_name="OrgApiUpdateSettingsInput")
    class InputSerializer(WriteInput):
        withdraw_auto_approve_threshold = serializers.DecimalField(
            max_digits=38,
            decimal_places=18,
            required=False,
            min_value=Decimal(0),
            help_text="Withdrawals up to this amount are approved without staff review",
        )
        withdraw_dual_approval_threshold = serializers.DecimalField(
            max_digits=38,
            decimal_places=18,
            required=False,
            min_value=Decimal(0),
            help_text="Withdrawals above this amount need two staff approvals",
        )
        trading_kyc_level = serializers.IntegerField(required=False, min_value=0, max_value=3)
        allow_internal_transfer = serializers.BooleanField(required=False)

    @extend_schema(
        parameters=SIGNED,
        request=InputSerializer,
        responses=responses(OBJECT),
        tags=TAG,
        summary="Change withdrawal approval thresholds, the trading KYC level, internal transfers",
    )
    def post(self, request: Request) -> Response:
        return self.respond_write()

    def write(self, data: dict[str, Any]) -> Any:
        changes = {k: v for k, v in data.items() if k != "client_order_id"}
        organization = organization_settings_update(organization=self.organization, **changes)
        return {**org_object(organization), "settings": org_settings(organization)}
