"""User API (web/app) views: thin, one per operation (STYLE.md)."""

from __future__ import annotations

import time

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.selectors import user_balances
from apps.core.money import fmt
from apps.webapi.auth import current_user


class ServerTimeApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema_serializer(component_name="ServerTime")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        server_time = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer, summary="Server time in milliseconds")
    def get(self, request: Request) -> Response:
        return Response({"server_time": int(time.time() * 1000)})


class BalanceListApi(APIView):
    @extend_schema_serializer(component_name="Balance")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        token = serializers.CharField()
        available = serializers.CharField()
        hold = serializers.CharField()
        lockup = serializers.CharField()
        total = serializers.CharField()

    @extend_schema(responses=OutputSerializer(many=True), summary="The user's main SPOT account balances")
    def get(self, request: Request) -> Response:
        rows = [
            {
                "token": b.token_id,
                "available": fmt(b.available),
                "hold": fmt(b.hold),
                "lockup": fmt(b.lockup),
                "total": fmt(b.total),
            }
            for b in user_balances(user=current_user(request))
        ]
        return Response(rows)
