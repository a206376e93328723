"""``from_id`` / ``to_id`` paging (seed principles 4–5; BHEX ``fromId``/``toId`` semantics).

No page numbers: a client walks a list by ids, so new rows never shift what it has already seen.

* neither set: the most recent rows, newest first;
* ``from_id`` only: rows older than ``from_id`` (``id < from_id``), newest first;
* ``to_id`` only: rows newer than ``to_id`` (``id > to_id``), oldest first;
* both: rows strictly between them, newest first.
"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from apps.core.errors import InvalidParameter

M = TypeVar("M", bound=Model)

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000


def page_by_id(
    queryset: QuerySet[M],
    *,
    from_id: int | None = None,
    to_id: int | None = None,
    limit: int | None = None,
    default_limit: int = DEFAULT_LIMIT,
    max_limit: int = MAX_LIMIT,
) -> list[M]:
    size = default_limit if limit is None else limit
    if size < 1 or size > max_limit:
        raise InvalidParameter(_("limit must be between 1 and %(max_limit)s") % {"max_limit": max_limit})
    if (from_id is not None and from_id < 0) or (to_id is not None and to_id < 0):
        raise InvalidParameter(_("from_id/to_id must be non-negative"))
    if from_id is not None:
        queryset = queryset.filter(pk__lt=from_id)
    if to_id is not None:
        queryset = queryset.filter(pk__gt=to_id)
    ascending = to_id is not None and from_id is None
    return list(queryset.order_by("pk" if ascending else "-pk")[:size])
