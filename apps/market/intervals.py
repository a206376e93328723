"""Kline bucket boundaries, in UTC milliseconds (weeks start on Monday, months on the 1st)."""

from __future__ import annotations

from datetime import UTC, datetime

MINUTE = 60_000
_FIXED = {
    "1m": MINUTE,
    "3m": 3 * MINUTE,
    "5m": 5 * MINUTE,
    "15m": 15 * MINUTE,
    "30m": 30 * MINUTE,
    "1h": 60 * MINUTE,
    "2h": 120 * MINUTE,
    "4h": 240 * MINUTE,
    "6h": 360 * MINUTE,
    "8h": 480 * MINUTE,
    "12h": 720 * MINUTE,
    "1d": 1440 * MINUTE,
    "3d": 3 * 1440 * MINUTE,
}
WEEK = 7 * 1440 * MINUTE
_MONDAY_OFFSET = 3 * 1440 * MINUTE  # 1970-01-01 was a Thursday: the Monday of its week was 3 days earlier


def bucket_start(interval: str, ts_ms: int) -> int:
    if interval in _FIXED:
        size = _FIXED[interval]
        return ts_ms - ts_ms % size
    if interval == "1w":
        shifted = ts_ms + _MONDAY_OFFSET
        return shifted - shifted % WEEK - _MONDAY_OFFSET
    if interval == "1M":
        moment = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
        return int(datetime(moment.year, moment.month, 1, tzinfo=UTC).timestamp() * 1000)
    raise ValueError(f"unknown interval {interval!r}")


def bucket_ms(interval: str) -> int:
    """Nominal length of a bucket (a month counts 31 days: used only to bound queries)."""
    if interval in _FIXED:
        return _FIXED[interval]
    return WEEK if interval == "1w" else 31 * 1440 * MINUTE
