"""CSV export of finance operations for the admin.

Cells that a spreadsheet would read as a formula (starting with ``= + - @``, or a tab / carriage
return) are prefixed with ``'`` — CSV injection (OWASP). Amounts are rendered as plain strings, so a
negative amount is exported as ``'-12.5``; spreadsheets still show the digits.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet

from apps.accounts.models import LedgerTransaction
from apps.core.money import fmt
from apps.finance.selectors import operation_of

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
HEADER = [
    "transaction_id",
    "created_at",
    "organization_id",
    "operation",
    "kind",
    "reference",
    "memo",
    "acting_user_id",
    "account_id",
    "token",
    "bucket",
    "amount",
]


def csv_safe(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def operation_rows(transactions: QuerySet[LedgerTransaction]) -> Iterator[list[str]]:
    """One row per posting of each transaction."""
    yield HEADER
    for tx in transactions.prefetch_related("postings").iterator(chunk_size=500):
        for posting in tx.postings.all():
            yield [
                csv_safe(v)
                for v in (
                    tx.pk,
                    tx.created_at.isoformat(),
                    tx.organization_id,
                    operation_of(tx.reference),
                    tx.kind,
                    tx.reference,
                    tx.memo,
                    tx.created_by_id or "",
                    posting.account_id,
                    posting.token_id,
                    posting.bucket,
                    fmt(posting.amount),
                )
            ]


def csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)
