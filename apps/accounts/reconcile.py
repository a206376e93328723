"""Reconciliation (DESIGN.md §6): recompute every balance from the postings and compare.

Reports four kinds of difference: a balance bucket that differs from the sum of its postings, a
(account, token) with postings but no balance row, a ledger transaction whose postings do not sum
to zero per token, and a bucket below zero where the account does not allow it.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum

from apps.accounts.models import Balance, Bucket, Posting
from apps.core.money import ZERO, fmt


def reconcile(*, max_items: int = 100) -> dict[str, Any]:
    expected: dict[tuple[int, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for row in Posting.objects.values("account_id", "token_id", "bucket").annotate(total=Sum("amount")):
        expected[(row["account_id"], row["token_id"])][row["bucket"]] = row["total"] or ZERO

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
        {"transaction_id": r["transaction_id"], "token": r["token_id"], "sum": fmt(r["total"])}
        for r in Posting.objects.values("transaction_id", "token_id")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
        .order_by("transaction_id")[:max_items]
    ]
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
