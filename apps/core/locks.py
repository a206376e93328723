"""Row locks used as mutexes: one user's (or one organization's) writes at a time.

Some services must see a stable set of a parent's rows while they check a rule, e.g. a withdrawal
adds up the user's withdrawals of the day before it inserts one, and API key creation counts the
user's keys against the cap. They serialize on the parent row (the user or the organization).

That lock is ``FOR NO KEY UPDATE``, never ``FOR UPDATE``: every insert of a row that references the
parent (an order, a posting, an outbox event; the foreign keys are deferred) takes ``FOR KEY SHARE``
on it at commit, which ``FOR UPDATE`` blocks and ``FOR NO KEY UPDATE`` does not. With ``FOR UPDATE`` a
withdrawal (user row, then balance rows) and an order placement (balance rows, then the user row at
commit) deadlocked under load (bench/load.py). ``FOR NO KEY UPDATE`` still excludes every other
holder of the same mutex. SQLite (one writer at a time) ignores it.
"""

from __future__ import annotations

from django.db import models


def parent_row_lock(model: type[models.Model], pk: object) -> bool:
    """Lock row ``pk`` of ``model`` until the end of the current transaction; False if it does not exist."""
    return (
        model._default_manager.select_for_update(no_key=True).filter(pk=pk).values_list("pk", flat=True).first()
        is not None
    )
