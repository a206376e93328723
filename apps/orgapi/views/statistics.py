"""Seed 001 §3.6: operating statistics of the organization by day, hour or minute.

The numbers come from ``apps.backoffice.selectors`` (the daily statistics table, or the source tables
for hours, minutes and days not stored yet): the Org API only checks the range and renders the rows.
Minute and hour series cover at most 12 hours (seed principle 5); day series at most 366 days.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.backoffice.selectors import statistics_symbol, statistics_token, statistics_user
from apps.core.errors import InvalidParameter
from apps.core.money import fmt
from apps.orgapi.base import OBJECT, SIGNED, STATS_POLL, OrgApiView, responses
from apps.orgapi.errors import time_range_too_long
from apps.orgapi.params import ms_to_datetime

TAG = ["orgapi: statistics"]
INTERVALS = {"day": "1d", "hour": "1h", "minute": "1m", "1d": "1d", "1h": "1h", "1m": "1m"}
SHORT_RANGE = timedelta(hours=12)
DAY_RANGE = timedelta(days=366)


def _row(stat: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for field in dataclasses.fields(stat):
        value = getattr(stat, field.name)
        if field.name == "time":
            body["time"] = int(value.timestamp() * 1000)
        elif isinstance(value, Decimal):
            body[field.name] = fmt(value)
        else:
            body[field.name] = value
    return body


class StatisticsInput(serializers.Serializer):  # type: ignore[type-arg]
    interval = serializers.ChoiceField(choices=sorted(INTERVALS), required=False, default="day")
    start_time = serializers.IntegerField(min_value=0, help_text="ms (inclusive)")
    end_time = serializers.IntegerField(min_value=0, help_text="ms (exclusive)")


class StatisticsApi(OrgApiView):
    poll_limit = STATS_POLL

    def series(self, data: dict[str, Any]) -> tuple[str, Any, Any]:
        interval = INTERVALS[data["interval"]]
        start, end = ms_to_datetime(data["start_time"]), ms_to_datetime(data["end_time"])
        if end <= start:
            raise InvalidParameter(_("end_time must be after start_time"))
        if interval != "1d" and end - start > SHORT_RANGE:
            raise time_range_too_long()
        if interval == "1d" and end - start > DAY_RANGE:
            raise InvalidParameter(_("Daily statistics cover at most 366 days"))
        return interval, start, end


class UserStatisticsApi(StatisticsApi):
    operation = "statistics/user"

    @extend_schema_serializer(component_name="OrgApiUserStatisticsInput")
    class InputSerializer(StatisticsInput):
        pass

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(OBJECT),
        tags=TAG,
        summary="Registrations, logins and KYC submissions / results per interval",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        interval, start, end = self.series(data)
        rows = statistics_user(organization_id=self.organization.pk, interval=interval, start=start, end=end)
        return [_row(r) for r in rows]


class TokenStatisticsApi(StatisticsApi):
    operation = "statistics/token"

    @extend_schema_serializer(component_name="OrgApiTokenStatisticsInput")
    class InputSerializer(StatisticsInput):
        token_id = serializers.CharField(required=False, default="", allow_blank=True)

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(OBJECT),
        tags=TAG,
        summary="Holders, holdings, deposits and withdrawals per interval and token",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        interval, start, end = self.series(data)
        rows = statistics_token(
            organization_id=self.organization.pk,
            interval=interval,
            start=start,
            end=end,
            token_id=data["token_id"].upper() or None,
        )
        return [_row(r) for r in rows]


class SymbolStatisticsApi(StatisticsApi):
    operation = "statistics/symbol"

    @extend_schema_serializer(component_name="OrgApiSymbolStatisticsInput")
    class InputSerializer(StatisticsInput):
        symbol_id = serializers.CharField(required=False, default="", allow_blank=True)

    @extend_schema(
        parameters=[*SIGNED, InputSerializer],
        responses=responses(OBJECT),
        tags=TAG,
        summary="Orders, cancels and trades (counts and quantities) per interval and symbol",
    )
    def get(self, request: Request) -> Response:
        return self.respond_read()

    def read(self, data: dict[str, Any]) -> Any:
        interval, start, end = self.series(data)
        rows = statistics_symbol(
            organization_id=self.organization.pk,
            interval=interval,
            start=start,
            end=end,
            symbol_id=data["symbol_id"].upper() or None,
        )
        return [_row(r) for r in rows]
