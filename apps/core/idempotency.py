"""Upstream idempotency (seed principle 1).

Every write a client can retry carries a client-supplied id. The guarantee is a database unique
constraint, never a lookup-then-insert: ``create_once`` inserts inside a savepoint and, when the
constraint fires, returns the row that won, so concurrent retries converge on the first result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Model

M = TypeVar("M", bound=Model)

CLIENT_ID_MAX = 64


def create_once(model: type[M], *, lookup: dict[str, Any], create: Callable[[], M]) -> tuple[M, bool]:
    """Run ``create`` (which inserts a row unique on ``lookup``) once; a duplicate returns the first row.

    Returns ``(row, created)``. Must be called inside the caller's ``transaction.atomic``.
    """
    try:
        with transaction.atomic():
            return create(), True
    except IntegrityError:
        existing = model._default_manager.filter(**lookup).first()
        if existing is None:
            raise
        return existing, False
