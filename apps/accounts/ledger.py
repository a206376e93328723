"""The one function that changes balances (DESIGN.md §6 "Locking").

``ledger_post`` validates a set of legs, then in one DB transaction: records the
``LedgerTransaction`` (its unique idempotency key makes a retry return the first one), locks the
affected ``Balance`` rows with ``SELECT … FOR UPDATE`` in a fixed order (account id, token id) so
two posters can never deadlock, applies the deltas, refuses any bucket that would go below zero with
``InsufficientBalance``, and writes the postings. Nothing else updates balances.

On SQLite ``FOR UPDATE`` is a no-op; the connection's IMMEDIATE transaction mode takes the database
write lock at BEGIN instead, so posters are serialized there too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Account, Balance, Bucket, LedgerTransaction, Posting, TransactionKind
from apps.core.db import insert_rows, update_rows
from apps.core.errors import InsufficientBalance, InvalidAmount, UnbalancedTransaction, UnknownAccount, UnknownToken
from apps.core.money import ZERO, check_storable, money_context
from apps.events.services import balance_owners, balances_changed_emit
from apps.tokens.models import Token

_BUCKETS = frozenset(Bucket.values)


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of a posting: ``amount`` (signed) into ``bucket`` of (account, token)."""

    account_id: int
    token_id: str
    bucket: str
    amount: Decimal


def _validate(legs: Sequence[Leg]) -> None:
    if not legs:
        raise UnbalancedTransaction("A ledger transaction needs at least one posting")
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    with money_context():
        for leg in legs:
            if not isinstance(leg.amount, Decimal) or not leg.amount.is_finite():
                raise InvalidAmount(f"Posting amount must be a finite Decimal, got {leg.amount!r}")
            if leg.amount == 0:
                raise InvalidAmount("Posting amount must not be zero")
            check_storable(leg.amount)
            if leg.bucket not in _BUCKETS:
                raise InvalidAmount(f"Unknown bucket {leg.bucket!r}")
            sums[leg.token_id] += leg.amount
    unbalanced = {token: total for token, total in sums.items() if total != 0}
    if unbalanced:
        detail = ", ".join(f"{token}: {total}" for token, total in sorted(unbalanced.items()))
        raise UnbalancedTransaction(f"Postings must sum to zero per token ({detail})", sums=unbalanced)
    known = set(Token.objects.filter(pk__in=sums.keys()).values_list("pk", flat=True))
    missing = sorted(set(sums) - known)
    if missing:
        raise UnknownToken(_("Unknown token: %(token)s") % {"token": ", ".join(missing)}, tokens=missing)


def _lock_balances(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], Balance]:
    account_ids = sorted({a for a, _ in pairs})
    # account × token covers every pair (and at most a few extra rows of the same accounts, locked
    # in the same fixed order); one IN-list query instead of an OR of pairs.
    pair_filter = Q(account_id__in=account_ids, token_id__in=sorted({t for _, t in pairs}))
    locked = Balance.objects.select_for_update().filter(pair_filter).order_by("account_id", "token_id")
    balances = {(b.account_id, b.token_id): b for b in locked}
    # Lock first: the rows almost always exist, so the common case is one query. A missing row is
    # created, then the whole set is locked again in the same order (re-locking a held row is free).
    missing = pairs - set(balances)
    if missing:
        # Only now are the accounts read (a balance row's account exists by its foreign key).
        accounts = dict(Account.objects.filter(pk__in=account_ids).values_list("pk", "allow_negative"))
        if len(accounts) != len(account_ids):
            raise UnknownAccount(f"Unknown account: {sorted(set(account_ids) - set(accounts))}")
        # Concurrent posters may race to create the same row: ignore_conflicts lets both proceed to
        # the lock below, where they queue on the one row that exists.
        Balance.objects.bulk_create(
            [Balance(account_id=a, token_id=t, allow_negative=accounts[a]) for a, t in sorted(missing)],
            ignore_conflicts=True,
        )
        locked = Balance.objects.select_for_update().filter(pair_filter).order_by("account_id", "token_id")
        balances = {(b.account_id, b.token_id): b for b in locked}
    return balances


def ledger_post(
    *,
    kind: str,
    legs: Sequence[Leg],
    organization_id: int | None,
    reference: str = "",
    idempotency_key: str | None = None,
    memo: str = "",
    acting_user_id: int | None = None,
) -> LedgerTransaction:
    """Post ``legs`` as one transaction; returns it. ``tx.created`` is False for an idempotent replay."""
    _validate(legs)
    with transaction.atomic():
        ledger_tx = LedgerTransaction(
            organization_id=organization_id,
            kind=kind,
            reference=reference,
            idempotency_key=idempotency_key,
            memo=memo[:255],
            created_by_id=acting_user_id,
        )
        if idempotency_key is not None:
            try:
                with transaction.atomic():
                    ledger_tx.save(force_insert=True)
            except IntegrityError:
                first = LedgerTransaction.objects.get(idempotency_key=idempotency_key)
                first.created = False  # type: ignore[attr-defined]
                return first
        else:
            ledger_tx.save(force_insert=True)

        # Everything that can be read or written before the balances are locked is: concurrent
        # postings of the same users (a matching batch among them) wait only for what follows.
        owners = balance_owners(leg.account_id for leg in legs) if kind != TransactionKind.TRADE else None
        balances = _lock_balances({(leg.account_id, leg.token_id) for leg in legs})
        # (account, token, bucket, amount, total after) per posting: plain rows, no model instances.
        postings: list[tuple[int, str, str, Decimal, Decimal]] = []
        with money_context():
            for leg in legs:
                balance = balances[(leg.account_id, leg.token_id)]
                setattr(balance, leg.bucket, getattr(balance, leg.bucket) + leg.amount)
                total = balance.available + balance.hold + balance.lockup
                postings.append((leg.account_id, leg.token_id, str(leg.bucket), leg.amount, total))
        touched = [balances[key] for key in sorted({(leg.account_id, leg.token_id) for leg in legs})]
        for balance in touched:
            short = [
                bucket
                for bucket in (Bucket.AVAILABLE, Bucket.HOLD, Bucket.LOCKUP)
                if getattr(balance, bucket) < 0 and not (bucket == Bucket.AVAILABLE and balance.allow_negative)
            ]
            if short:
                raise InsufficientBalance(
                    _("Insufficient %(token)s balance (%(buckets)s)")
                    % {"token": balance.token_id, "buckets": ", ".join(short)},
                    account_id=balance.account_id,
                    token=balance.token_id,
                )
        now = timezone.now()
        for balance in touched:
            balance.updated_at = now
        update_rows(
            Balance,
            ("available", "hold", "lockup"),
            [(b.pk, b.available, b.hold, b.lockup) for b in touched],
            constants={"updated_at": now},
        )
        insert_rows(
            Posting,
            ("account_id", "token_id", "bucket", "amount", "total_after"),
            postings,
            constants={"transaction_id": ledger_tx.pk, "created_at": now},
        )
        if owners is not None:
            # Matching batches are left out: their fills reach users as ``trade.match`` (docs/events.md).
            balances_changed_emit(transaction_id=ledger_tx.pk, kind=kind, balances=touched, owners=owners)
    ledger_tx.created = True  # type: ignore[attr-defined]
    return ledger_tx
