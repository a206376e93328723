"""Reconciliation (DESIGN.md §6): recompute every balance from the postings and compare.

Reports four kinds of difference: a balance bucket that differs from the sum of its postings, a
(account, token) with postings but no balance row, a ledger transaction whose postings do not sum
to zero per token, and a bucket below zero where the account does not allow it.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q, Sum

from apps.accounts.models import Balance, Bucket, Posting
from apps.core.money import ZERO, fmt


def _sums(keys: tuple[str, ...]) -> dict[tuple[Any, ...], Decimal]:
    """Exact per-key sums of posting amounts.

    SQLite's SUM() goes through floating point, which is not exact for DECIMAL(38,18); there the
    sums are taken in Python with Decimal. PostgreSQL's numeric SUM is exact and runs in the database.
    """
    if connection.vendor == "sqlite":
        totals: dict[tuple[Any, ...], Decimal] = defaultdict(lambda: ZERO)
        for row in Posting.objects.values_list(*keys, "amount").iterator(chunk_size=5000):
            totals[row[:-1]] += row[-1]
        return dict(totals)
    return {
        tuple(row[k] for k in keys): row["total"] or ZERO
        for row in Posting.objects.values(*keys).annotate(total=Sum("amount")).order_by()
    }


def reconcile(*, max_items: int = 100) -> dict[str, Any]:
    expected: dict[tuple[int, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for (account_id, token_id, bucket), total in _sums(("account_id", "token_id", "bucket")).items():
        expected[(account_id, token_id)][bucket] = total

    mismatches: list[dict[str, Any]] = []
    seen: set[tuple[int, str]] = set()
    balances = 0
    for balance in Balance.objects.all().iterator(chunk_size=2000):
        balances += 1
        key = (balance.account_id, balance.token_id)
        seen.add(key)
        for bucket in Bucket.values:
            want = expected[key][bucket] if key in expected else ZERO
            have = getattr(balance, bucket)
            if have != want:
                mismatches.append(
                    {
                        "account_id": balance.account_id,
                        "token": balance.token_id,
                        "bucket": bucket,
                        "balance": fmt(have),
                        "postings": fmt(want),
                    }
                )
    missing_rows = [
        {"account_id": a, "token": t} for (a, t) in expected if (a, t) not in seen and any(expected[(a, t)].values())
    ]
    unbalanced = [
        {"transaction_id": tx, "token": token, "sum": fmt(total)}
        for (tx, token), total in sorted(_sums(("transaction_id", "token_id")).items())
        if total != 0
    ][:max_items]
    negative = [
        {"account_id": b.account_id, "token": b.token_id}
        for b in Balance.objects.filter(Q(hold__lt=0) | Q(lockup__lt=0) | Q(available__lt=0, allow_negative=False))[
            :max_items
        ]
    ]
    ok = not (mismatches or missing_rows or unbalanced or negative)
    return {
        "ok": ok,
        "balances_checked": balances,
        "postings": Posting.objects.count(),
        "mismatches": mismatches[:max_items],
        "missing_balance_rows": missing_rows[:max_items],
        "unbalanced_transactions": unbalanced,
        "negative_balances": negative,
    }
