"""Statistics reads: the dashboard, and the Org API's statistics endpoints (seed 001 §3.6).

Three selectors, one per endpoint, all with the same shape::

    statistics_user(*, organization_id, interval, start, end) -> list[UserStatistics]
    statistics_token(*, organization_id, interval, start, end, token_id=None) -> list[TokenStatistics]
    statistics_symbol(*, organization_id, interval, start, end, symbol_id=None) -> list[SymbolStatistics]

* ``organization_id``: the organization's rows; ``None`` = the whole exchange.
* ``interval``: ``"1d"``, ``"1h"`` or ``"1m"``. Days come from the daily tables (a day missing there
  is computed on the fly, not stored); hours and minutes are computed on demand from the source
  tables and the range may span at most 12 hours (DESIGN.md §11 paging rule).
* ``start`` (inclusive) and ``end`` (exclusive) are aware datetimes, widened to whole intervals (UTC).
  At most 366 days for ``"1d"``.
* One row per interval (and per token / symbol), zeros included, oldest first; ``time`` is the start
  of the interval. Holder counts and holdings are the state at the end of the interval (or now, for an
  interval not finished yet).

Definitions: registrations by ``date_joined``; logins are successful ``LoginRecord`` rows; KYC by
submission time and review time; deposits when credited; withdrawals when completed (``amount``
includes the fee); orders when placed; cancels by the order's last update once it ended canceled, with
its unfilled quantity; trades and fees by trade time. A trade between users of two organizations
counts in both organizations' rows and once in the exchange's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, DateTimeField, F, Q, QuerySet, Sum
from django.db.models.functions import Trunc
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Balance, Deposit, DepositStatus, Posting, Withdrawal, WithdrawalStatus
from apps.backoffice.models import DailySymbolStatistics, DailyTokenStatistics, DailyUserStatistics
from apps.core.errors import InvalidParameter
from apps.core.money import fmt
from apps.kyc.models import KycApplication, KycState
from apps.tokens.models import Symbol, Token
from apps.trading.models import Order, OrderStatus, Trade
from apps.users.models import LoginRecord, LoginResult, User

INTERVALS: dict[str, tuple[str, timedelta]] = {
    "1m": ("minute", timedelta(minutes=1)),
    "1h": ("hour", timedelta(hours=1)),
    "1d": ("day", timedelta(days=1)),
}
ON_DEMAND_MAX = timedelta(hours=12)
MAX_DAYS = 366
ZERO = Decimal(0)


@dataclass(frozen=True)
class UserStatistics:
    time: datetime
    registrations: int = 0
    logins: int = 0
    login_users: int = 0
    kyc_submitted: int = 0
    kyc_approved: int = 0
    kyc_rejected: int = 0


@dataclass(frozen=True)
class TokenStatistics:
    time: datetime
    token_id: str
    holders: int = 0
    holdings: Decimal = ZERO
    deposit_count: int = 0
    deposit_amount: Decimal = ZERO
    withdrawal_count: int = 0
    withdrawal_amount: Decimal = ZERO
    deposit_total: Decimal = ZERO
    withdrawal_total: Decimal = ZERO


@dataclass(frozen=True)
class SymbolStatistics:
    time: datetime
    symbol_id: str
    order_count: int = 0
    order_quantity: Decimal = ZERO
    cancel_count: int = 0
    cancel_quantity: Decimal = ZERO
    trade_count: int = 0
    trade_quantity: Decimal = ZERO
    trade_amount: Decimal = ZERO
    fee_base: Decimal = ZERO
    fee_quote: Decimal = ZERO


def _stat_fields(cls: type) -> list[str]:
    return [f.name for f in fields(cls) if f.name not in ("time", "token_id", "symbol_id")]


# --- time ranges ----------------------------------------------------------------------------------


def _floor(value: datetime, kind: str) -> datetime:
    value = value.astimezone(UTC)
    if kind == "day":
        return value.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "hour":
        return value.replace(minute=0, second=0, microsecond=0)
    return value.replace(second=0, microsecond=0)


def _range(interval: str, start: datetime, end: datetime) -> tuple[str, timedelta, list[datetime]]:
    if interval not in INTERVALS:
        raise InvalidParameter(_("interval must be one of 1m, 1h, 1d"))
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise InvalidParameter(_("start and end must carry a time zone"))
    kind, step = INTERVALS[interval]
    first = _floor(start, kind)
    last = _floor(end, kind)
    if last < end.astimezone(UTC):
        last += step
    if last <= first:
        raise InvalidParameter(_("end must be after start"))
    if kind != "day" and last - first > ON_DEMAND_MAX:
        raise InvalidParameter(_("Hourly and minute statistics cover at most 12 hours"))
    if kind == "day" and last - first > timedelta(days=MAX_DAYS):
        raise InvalidParameter(_("Daily statistics cover at most %(days)s days") % {"days": MAX_DAYS})
    buckets = []
    moment = first
    while moment < last:
        buckets.append(moment)
        moment += step
    return kind, step, buckets


def _in_org(path: str, organization_id: int | None) -> Q:
    """Rows of one organization, or of every organization (never staff without one)."""
    if organization_id is None:
        return Q(**{f"{path}__isnull": False})
    return Q(**{path: organization_id})


def _grouped(
    queryset: QuerySet[Any],
    time_field: str,
    kind: str,
    buckets: list[datetime],
    step: timedelta,
    group: str | None,
    **aggregates: Any,
) -> dict[tuple[datetime, Any], dict[str, Any]]:
    rows = (
        queryset.filter(**{f"{time_field}__gte": buckets[0], f"{time_field}__lt": buckets[-1] + step})
        .annotate(_bucket=Trunc(time_field, kind, output_field=DateTimeField(), tzinfo=UTC))
        .order_by()
        .values("_bucket", *([group] if group else []))
        .annotate(**aggregates)
    )
    return {(row["_bucket"], row[group] if group else None): row for row in rows}


def _n(row: dict[str, Any] | None, key: str) -> Any:
    value = row.get(key) if row else None
    return value if value is not None else 0


# --- users ----------------------------------------------------------------------------------------


def _compute_users(
    organization_id: int | None, kind: str, step: timedelta, buckets: list[datetime]
) -> list[UserStatistics]:
    def per_bucket(queryset: QuerySet[Any], time_field: str, **aggregates: Any) -> dict[tuple[datetime, Any], Any]:
        return _grouped(queryset, time_field, kind, buckets, step, None, **aggregates)

    registrations = per_bucket(
        User.objects.filter(_in_org("organization_id", organization_id)), "date_joined", n=Count("id")
    )
    logins = per_bucket(
        LoginRecord.objects.filter(_in_org("user__organization_id", organization_id), result=LoginResult.SUCCESS),
        "created_at",
        n=Count("id"),
        users=Count("user_id", distinct=True),
    )
    applications = KycApplication.objects.filter(_in_org("user__organization_id", organization_id))
    submitted = per_bucket(applications, "created_at", n=Count("id"))
    approved = per_bucket(applications.filter(state=KycState.APPROVED), "reviewed_at", n=Count("id"))
    rejected = per_bucket(applications.filter(state=KycState.REJECTED), "reviewed_at", n=Count("id"))
    return [
        UserStatistics(
            time=bucket,
            registrations=_n(registrations.get((bucket, None)), "n"),
            logins=_n(logins.get((bucket, None)), "n"),
            login_users=_n(logins.get((bucket, None)), "users"),
            kyc_submitted=_n(submitted.get((bucket, None)), "n"),
            kyc_approved=_n(approved.get((bucket, None)), "n"),
            kyc_rejected=_n(rejected.get((bucket, None)), "n"),
        )
        for bucket in buckets
    ]


# --- tokens ---------------------------------------------------------------------------------------

_TOTAL = F("available") + F("hold") + F("lockup")  # annotated as "_total" (Balance.total is a property)


def _holdings(
    organization_id: int | None, kind: str, step: timedelta, buckets: list[datetime], token_ids: list[str]
) -> dict[tuple[datetime, str], tuple[int, Decimal]]:
    """(holders, holdings) of each token at the end of each bucket.

    Starts from today's balances and walks back through the postings: first those after the last
    bucket (aggregated per account), then bucket by bucket, tracking only the accounts that moved.
    """
    now = timezone.now()
    last_end = min(buckets[-1] + step, now)
    balances = Balance.objects.filter(
        _in_org("account__user__organization_id", organization_id), token_id__in=token_ids
    ).annotate(_total=_TOTAL)
    holders: dict[str, int] = defaultdict(int)
    holdings: dict[str, Decimal] = defaultdict(Decimal)
    for row in balances.filter(_total__gt=0).order_by().values("token_id").annotate(n=Count("id"), s=Sum("_total")):
        holders[row["token_id"]], holdings[row["token_id"]] = row["n"], row["s"] or ZERO

    postings = Posting.objects.filter(
        _in_org("account__user__organization_id", organization_id), token_id__in=token_ids
    ).order_by()
    after = {
        (row["account_id"], row["token_id"]): row["s"]
        for row in postings.filter(transaction__created_at__gte=last_end)
        .values("account_id", "token_id")
        .annotate(s=Sum("amount"))
    }
    inside: dict[datetime, list[tuple[tuple[int, str], Decimal]]] = defaultdict(list)
    for row in (
        postings.filter(transaction__created_at__gte=buckets[0], transaction__created_at__lt=last_end)
        .annotate(_bucket=Trunc("transaction__created_at", kind, output_field=DateTimeField(), tzinfo=UTC))
        .values("_bucket", "account_id", "token_id")
        .annotate(s=Sum("amount"))
    ):
        inside[row["_bucket"]].append(((row["account_id"], row["token_id"]), row["s"]))

    touched = set(after) | {key for moves in inside.values() for key, _ in moves}
    state: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    account_ids = sorted({account_id for account_id, _ in touched})
    for i in range(0, len(account_ids), 1000):
        for row in balances.filter(account_id__in=account_ids[i : i + 1000]).values("account_id", "token_id", "_total"):
            state[(row["account_id"], row["token_id"])] = row["_total"]

    def move(key: tuple[int, str], delta: Decimal) -> None:
        # Undo ``delta``: the account's total before it was posted.
        before, after_ = state[key] - delta, state[key]
        holders[key[1]] += int(before > 0) - int(after_ > 0)
        holdings[key[1]] -= delta
        state[key] = before

    for key, delta in after.items():
        move(key, delta)
    result: dict[tuple[datetime, str], tuple[int, Decimal]] = {}
    for bucket in reversed(buckets):
        for token_id in token_ids:
            result[(bucket, token_id)] = (holders[token_id], holdings[token_id])
        for key, delta in inside.get(bucket, []):
            move(key, delta)
    return result


def _compute_tokens(
    organization_id: int | None, kind: str, step: timedelta, buckets: list[datetime], token_ids: list[str]
) -> list[TokenStatistics]:
    if not token_ids:
        return []

    def per_bucket(queryset: QuerySet[Any], time_field: str, **aggregates: Any) -> dict[tuple[datetime, Any], Any]:
        return _grouped(queryset, time_field, kind, buckets, step, "token_id", **aggregates)

    deposits = Deposit.objects.filter(
        _in_org("organization_id", organization_id), status=DepositStatus.CREDITED, token_id__in=token_ids
    )
    withdrawals = Withdrawal.objects.filter(
        _in_org("organization_id", organization_id), status=WithdrawalStatus.COMPLETED, token_id__in=token_ids
    )
    deposited = per_bucket(deposits, "credited_at", n=Count("id"), s=Sum("amount"))
    withdrawn = per_bucket(withdrawals, "finished_at", n=Count("id"), s=Sum("amount"))
    deposit_total = {
        row["token_id"]: row["s"] or ZERO
        for row in deposits.filter(credited_at__lt=buckets[0]).order_by().values("token_id").annotate(s=Sum("amount"))
    }
    withdrawal_total = {
        row["token_id"]: row["s"] or ZERO
        for row in withdrawals.filter(finished_at__lt=buckets[0])
        .order_by()
        .values("token_id")
        .annotate(s=Sum("amount"))
    }
    held = _holdings(organization_id, kind, step, buckets, token_ids)
    rows = []
    for bucket in buckets:
        for token_id in token_ids:
            d, w = deposited.get((bucket, token_id)), withdrawn.get((bucket, token_id))
            deposit_total[token_id] = deposit_total.get(token_id, ZERO) + _n(d, "s")
            withdrawal_total[token_id] = withdrawal_total.get(token_id, ZERO) + _n(w, "s")
            holders, holdings = held[(bucket, token_id)]
            rows.append(
                TokenStatistics(
                    time=bucket,
                    token_id=token_id,
                    holders=holders,
                    holdings=holdings,
                    deposit_count=_n(d, "n"),
                    deposit_amount=_n(d, "s") or ZERO,
                    withdrawal_count=_n(w, "n"),
                    withdrawal_amount=_n(w, "s") or ZERO,
                    deposit_total=deposit_total[token_id],
                    withdrawal_total=withdrawal_total[token_id],
                )
            )
    return rows


# --- symbols --------------------------------------------------------------------------------------


def _compute_symbols(
    organization_id: int | None, kind: str, step: timedelta, buckets: list[datetime], symbol_ids: list[str]
) -> list[SymbolStatistics]:
    if not symbol_ids:
        return []

    def per_bucket(queryset: QuerySet[Any], time_field: str, **aggregates: Any) -> dict[tuple[datetime, Any], Any]:
        return _grouped(queryset, time_field, kind, buckets, step, "symbol_id", **aggregates)

    orders = Order.objects.filter(symbol_id__in=symbol_ids)
    if organization_id is not None:
        orders = orders.filter(organization_id=organization_id)
    placed = per_bucket(orders, "created_at", n=Count("id"), q=Sum("quantity"))
    canceled = per_bucket(
        orders.filter(status=OrderStatus.CANCELED),
        "updated_at",
        n=Count("id"),
        q=Sum(F("quantity") - F("executed_quantity")),
    )
    trades = Trade.objects.filter(symbol_id__in=symbol_ids)
    volume = {"n": Count("id"), "q": Sum("quantity"), "a": Sum("quote_quantity")}
    if organization_id is None:
        everything = per_bucket(trades, "created_at", **volume, fb=Sum("buyer_fee"), fq=Sum("seller_fee"))
        buys, sells, both = everything, {}, {}
    else:
        # Trades with a side in the organization: buyer side + seller side − trades with both sides.
        buys = per_bucket(
            trades.filter(buyer__organization_id=organization_id), "created_at", **volume, fb=Sum("buyer_fee")
        )
        sells = per_bucket(
            trades.filter(seller__organization_id=organization_id), "created_at", **volume, fq=Sum("seller_fee")
        )
        both = per_bucket(
            trades.filter(buyer__organization_id=organization_id, seller__organization_id=organization_id),
            "created_at",
            **volume,
        )
    rows = []
    for bucket in buckets:
        for symbol_id in symbol_ids:
            key = (bucket, symbol_id)
            b, s, x = buys.get(key), sells.get(key), both.get(key)
            rows.append(
                SymbolStatistics(
                    time=bucket,
                    symbol_id=symbol_id,
                    order_count=_n(placed.get(key), "n"),
                    order_quantity=_n(placed.get(key), "q") or ZERO,
                    cancel_count=_n(canceled.get(key), "n"),
                    cancel_quantity=_n(canceled.get(key), "q") or ZERO,
                    trade_count=_n(b, "n") + _n(s, "n") - _n(x, "n"),
                    trade_quantity=(_n(b, "q") + _n(s, "q") - _n(x, "q")) or ZERO,
                    trade_amount=(_n(b, "a") + _n(s, "a") - _n(x, "a")) or ZERO,
                    fee_base=_n(b, "fb") or ZERO,
                    fee_quote=_n(b, "fq") + _n(s, "fq") or ZERO,
                )
            )
    return rows


# --- the daily tables -----------------------------------------------------------------------------


def statistics_compute_day(
    *, day: date, organization_id: int | None
) -> tuple[UserStatistics, list[TokenStatistics], list[SymbolStatistics]]:
    """One day's figures from the source tables (what ``statistics_day_store`` writes)."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    kind, step, buckets = _range("1d", start, start + timedelta(days=1))
    token_ids = list(Token.objects.order_by("pk").values_list("pk", flat=True))
    symbol_ids = list(Symbol.objects.order_by("pk").values_list("pk", flat=True))
    return (
        _compute_users(organization_id, kind, step, buckets)[0],
        _compute_tokens(organization_id, kind, step, buckets, token_ids),
        _compute_symbols(organization_id, kind, step, buckets, symbol_ids),
    )


def _stored(model: type[Any], organization_id: int | None, buckets: list[datetime], **filters: Any) -> QuerySet[Any]:
    days = [b.date() for b in buckets]
    queryset = model.objects.filter(day__gte=days[0], day__lte=days[-1], **filters)
    if organization_id is None:
        return queryset.filter(organization__isnull=True)
    return queryset.filter(organization_id=organization_id)


def _from_row(cls: type[Any], row: Any, **extra: Any) -> Any:
    return cls(
        time=datetime.combine(row.day, time.min, tzinfo=UTC),
        **extra,
        **{name: getattr(row, name) for name in _stat_fields(cls)},
    )


# --- public selectors -----------------------------------------------------------------------------


def statistics_user(
    *, organization_id: int | None, interval: str, start: datetime, end: datetime
) -> list[UserStatistics]:
    """Registrations, logins and KYC counts per interval (see the module docstring)."""
    kind, step, buckets = _range(interval, start, end)
    if kind != "day":
        return _compute_users(organization_id, kind, step, buckets)
    stored = {row.day: row for row in _stored(DailyUserStatistics, organization_id, buckets)}
    return [
        _from_row(UserStatistics, stored[b.date()])
        if b.date() in stored
        else _compute_users(organization_id, kind, step, [b])[0]
        for b in buckets
    ]


def statistics_token(
    *, organization_id: int | None, interval: str, start: datetime, end: datetime, token_id: str | None = None
) -> list[TokenStatistics]:
    """Holders, holdings, deposits and withdrawals per interval and token (see the module docstring)."""
    kind, step, buckets = _range(interval, start, end)
    tokens = Token.objects.order_by("pk")
    token_ids = list((tokens.filter(pk=token_id) if token_id else tokens).values_list("pk", flat=True))
    if kind != "day":
        return _compute_tokens(organization_id, kind, step, buckets, token_ids)
    stored = {
        (r.day, r.token_id): r for r in _stored(DailyTokenStatistics, organization_id, buckets, token_id__in=token_ids)
    }
    rows: list[TokenStatistics] = []
    for bucket in buckets:
        if all((bucket.date(), t) in stored for t in token_ids):
            rows.extend(_from_row(TokenStatistics, stored[(bucket.date(), t)], token_id=t) for t in token_ids)
        else:
            rows.extend(_compute_tokens(organization_id, kind, step, [bucket], token_ids))
    return rows


def statistics_symbol(
    *, organization_id: int | None, interval: str, start: datetime, end: datetime, symbol_id: str | None = None
) -> list[SymbolStatistics]:
    """Orders, cancels, trades, volume and fees per interval and symbol (see the module docstring)."""
    kind, step, buckets = _range(interval, start, end)
    symbols = Symbol.objects.order_by("pk")
    symbol_ids = list((symbols.filter(pk=symbol_id) if symbol_id else symbols).values_list("pk", flat=True))
    if kind != "day":
        return _compute_symbols(organization_id, kind, step, buckets, symbol_ids)
    stored = {
        (symbol_row.day, symbol_row.symbol_id): symbol_row
        for symbol_row in _stored(DailySymbolStatistics, organization_id, buckets, symbol_id__in=symbol_ids)
    }
    rows: list[SymbolStatistics] = []
    for bucket in buckets:
        if all((bucket.date(), s) in stored for s in symbol_ids):
            rows.extend(_from_row(SymbolStatistics, stored[(bucket.date(), s)], symbol_id=s) for s in symbol_ids)
        else:
            rows.extend(_compute_symbols(organization_id, kind, step, [bucket], symbol_ids))
    return rows


# --- the dashboard --------------------------------------------------------------------------------


def dashboard_queues() -> dict[str, int]:
    """What staff must act on: KYC applications and withdrawals waiting for review, fiat deposits."""
    return {
        "kyc_pending": KycApplication.objects.filter(state=KycState.SUBMITTED).count(),
        "withdrawals_reviewing": Withdrawal.objects.filter(status=WithdrawalStatus.REVIEWING).count(),
        "fiat_deposits_pending": Deposit.objects.filter(status=DepositStatus.PENDING).count(),
    }


def dashboard_series(*, days: int, organization_id: int | None, today: date | None = None) -> dict[str, Any]:
    """The daily tables of the last ``days`` days (today included), shaped for the dashboard's charts.

    Amounts are strings (never floats); the page's script turns them into chart points.
    """
    last = today or timezone.now().date()
    day_list = [last - timedelta(days=n) for n in range(days - 1, -1, -1)]
    org = Q(organization__isnull=True) if organization_id is None else Q(organization_id=organization_id)
    window = Q(day__gte=day_list[0], day__lte=last) & org
    index = {d: i for i, d in enumerate(day_list)}

    def series(length: int = len(day_list)) -> list[Any]:
        return [0] * length

    users = {name: series() for name in _stat_fields(UserStatistics)}
    for row in DailyUserStatistics.objects.filter(window):
        for name in users:
            users[name][index[row.day]] = getattr(row, name)
    token_fields = ("deposit_count", "deposit_amount", "withdrawal_count", "withdrawal_amount", "holders", "holdings")
    tokens: dict[str, dict[str, list[Any]]] = {}
    for token_row in DailyTokenStatistics.objects.filter(window).order_by("token_id", "day"):
        entry = tokens.setdefault(token_row.token_id, {name: series() for name in token_fields})
        for name in token_fields:
            value = getattr(token_row, name)
            entry[name][index[token_row.day]] = fmt(value) if isinstance(value, Decimal) else value
    symbol_fields = ("trade_count", "trade_quantity", "trade_amount", "fee_base", "fee_quote", "order_count")
    symbols: dict[str, dict[str, list[Any]]] = {}
    for symbol_row in DailySymbolStatistics.objects.filter(window).order_by("symbol_id", "day"):
        entry = symbols.setdefault(symbol_row.symbol_id, {name: series() for name in symbol_fields})
        for name in symbol_fields:
            value = getattr(symbol_row, name)
            entry[name][index[symbol_row.day]] = fmt(value) if isinstance(value, Decimal) else value
    refreshed = DailyUserStatistics.objects.filter(window).order_by("-updated_at").values_list("updated_at", flat=True)
    return {
        "days": [d.isoformat() for d in day_list],
        "users": users,
        "tokens": tokens,
        "symbols": symbols,
        "refreshed_at": refreshed.first().strftime("%Y-%m-%d %H:%M") if refreshed.exists() else None,  # type: ignore[union-attr]
    }


def dashboard_totals(*, days: int, organization_id: int | None, today: date | None = None) -> dict[str, Any]:
    """Sums over the last ``days`` days per token and per symbol, for the dashboard's tables."""
    last = today or timezone.now().date()
    org = Q(organization__isnull=True) if organization_id is None else Q(organization_id=organization_id)
    window = Q(day__gte=last - timedelta(days=days - 1), day__lte=last) & org
    tokens = list(
        DailyTokenStatistics.objects.filter(window)
        .order_by("token_id")
        .values("token_id")
        .annotate(
            deposit_count=Sum("deposit_count"),
            deposit_amount=Sum("deposit_amount"),
            withdrawal_count=Sum("withdrawal_count"),
            withdrawal_amount=Sum("withdrawal_amount"),
        )
    )
    symbols = list(
        DailySymbolStatistics.objects.filter(window)
        .order_by("symbol_id")
        .values("symbol_id", "symbol__base_id", "symbol__quote_id")
        .annotate(
            order_count=Sum("order_count"),
            trade_count=Sum("trade_count"),
            trade_quantity=Sum("trade_quantity"),
            trade_amount=Sum("trade_amount"),
            fee_base=Sum("fee_base"),
            fee_quote=Sum("fee_quote"),
        )
    )
    users = DailyUserStatistics.objects.filter(window).aggregate(
        registrations=Sum("registrations"), kyc_submitted=Sum("kyc_submitted"), kyc_approved=Sum("kyc_approved")
    )
    for row in (*tokens, *symbols):
        for key, value in row.items():
            if isinstance(value, Decimal):
                row[key] = fmt(value)
    return {"tokens": tokens, "symbols": symbols, "users": {k: v or 0 for k, v in users.items()}}
