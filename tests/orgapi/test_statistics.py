"""Seed 001 §3.6: statistics by day / hour / minute, from apps.backoffice's selectors."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.django_db

HOUR = 3600_000


def window(hours: int) -> dict[str, int]:
    end = (int(time.time() * 1000) // HOUR + 1) * HOUR
    return {"start_time": end - hours * HOUR, "end_time": end}


def test_user_statistics_by_hour_count_this_organizations_registrations(api, make_user, other_org):
    make_user()
    make_user()
    make_user(organization=other_org)
    rows = api.get("statistics/user", {"interval": "hour", **window(2)}).body
    assert len(rows) == 2 and [r["registrations"] for r in rows] == [0, 2]
    assert len(str(rows[0]["time"])) == 13


def test_token_statistics_by_minute(api, make_user, fund, tokens):
    fund(make_user(), "BTC", "1.5")
    rows = api.get("statistics/token", {"interval": "minute", "token_id": "BTC", **window(1)}).body
    assert len(rows) == 60 and {r["token_id"] for r in rows} == {"BTC"}
    assert rows[-1]["holders"] == 1 and rows[-1]["holdings"] == "1.5"


def test_symbol_statistics_by_day(api, btcusdt):
    rows = api.get("statistics/symbol", {"interval": "day", **window(48)}).body
    assert {r["symbol_id"] for r in rows} == {"BTCUSDT"} and all(r["order_count"] == 0 for r in rows)


def test_minute_and_hour_series_cover_at_most_12_hours(api):
    for interval in ("minute", "hour"):
        answer = api.get("statistics/user", {"interval": interval, **window(13)})
        assert (answer.status, answer.code) == (400, 1102)
    assert api.get("statistics/user", {"interval": "day", **window(13)}).status == 200
