"""Finance operations: every write of ``apps.finance`` (docs/finance.md).

Each service runs in one ``transaction.atomic()``: it posts through ``ledger_post`` (the only way a
balance changes) with an idempotency key derived from what makes the operation unique (a batch row,
a quote id, a client order id, an organization and a day), writes its record row pointing at the
ledger transaction, and writes its outbox event; delivery and follow-up tasks run after commit.
Every ledger reference starts with ``fin:`` so the admin's operation history can find them.

Who may act: ``acting_user`` is the person acting. A staff member needs the model permission
(``finance.add_airdrop`` …); an end user acts only on their own lock-ups, quotes and mappings.
``acting_user=None`` is the system or an Org API key, already authorized by its surface and scoped
by ``organization``.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.ledger import Leg, ledger_post
from apps.accounts.models import Account, AccountType, Balance, Bucket, LedgerTransaction, TransactionKind
from apps.accounts.services import positive_amount, system_account, user_account
from apps.core.errors import (
    AmountBelowMinimum,
    BrokerError,
    FinanceLimitExceeded,
    InsufficientBalance,
    InvalidAmount,
    InvalidParameter,
    LockupNotDue,
    NotFound,
    OperatingBalanceInsufficient,
    PairNotOffered,
    PermissionDenied,
    PriceUnavailable,
    QuoteExpired,
    UnknownToken,
    UserNotFound,
)
from apps.core.locks import parent_row_lock
from apps.core.money import ZERO, fmt, money_context, quantize_down
from apps.events.models import OutboxEvent
from apps.events.services import event_emit, events_emit_many
from apps.finance.models import (
    AccountTransferLock,
    Airdrop,
    AirdropBucket,
    AirdropItem,
    AirdropItemStatus,
    AirdropStatus,
    BonusGrant,
    BonusStatus,
    CommissionConfig,
    CommissionRecord,
    ConvertPair,
    ConvertQuote,
    ConvertQuoteStatus,
    Lockup,
    LockupSource,
    LockupStatus,
    MappingPair,
    MappingRecord,
    TransferDirection,
)
from apps.tokens.models import Token
from apps.trading.models import SymbolMatchState, Trade
from apps.users.models import Organization, User

logger = logging.getLogger(__name__)

CLIENT_ID = re.compile(r"^[A-Za-z0-9_\-.:]{1,64}$")
AIRDROP_MAX_ROWS = 50_000
AIRDROP_CHUNK = 200
PairT = TypeVar("PairT", ConvertPair, MappingPair)


# --- shared -----------------------------------------------------------------------------------------


def _require_perm(acting_user: User | None, perm: str) -> None:
    if acting_user is not None and not acting_user.has_perm(perm):
        raise PermissionDenied(_("Missing permission %(perm)s") % {"perm": perm})


def _client_id(value: str | None, *, field: str = "client_order_id") -> str:
    if value is None or value == "":
        return ""
    if not CLIENT_ID.match(value):
        raise InvalidParameter(_("%(field)s must be 1–64 characters of A-Z a-z 0-9 _ - . :") % {"field": field})
    return value


def _token(token_id: str) -> Token:
    token = Token.objects.filter(pk=token_id).first()
    if token is None:
        raise UnknownToken(_("Unknown token: %(token)s") % {"token": token_id})
    return token


def _org_id(user: User) -> int:
    if user.organization_id is None:
        raise InvalidParameter(_("Staff users without an organization have no accounts"))
    return user.organization_id


def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def _available(account_id: int, token_id: str) -> Decimal:
    row = Balance.objects.filter(account_id=account_id, token_id=token_id).values_list("available", flat=True).first()
    return row if row is not None else ZERO


def _lock_user_row(user: User) -> None:
    """Serialize one user's limit checks (mapping / convert) so two requests cannot both pass a limit."""
    parent_row_lock(User, user.pk)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


# --- airdrop ----------------------------------------------------------------------------------------


def airdrop_batch_create(
    *,
    organization: Organization,
    batch_id: str,
    token_id: str,
    rows: Sequence[Mapping[str, object]],
    bucket: str = AirdropBucket.AVAILABLE,
    unlock_at: datetime | None = None,
    source_uid: int | None = None,
    memo: str = "",
    acting_user: User | None = None,
) -> Airdrop:
    """Record an airdrop batch and queue it; the same ``batch_id`` again returns the first batch.

    ``rows`` are ``{"uid", "amount"}`` mappings (a parsed CSV or a JSON list). Rows naming no user of
    the organization or an invalid amount are recorded as failed with the reason; the rest are
    pending. If the source's available balance cannot cover the valid rows the whole batch is
    refused with ``InsufficientBalance`` and nothing is recorded.
    """
    _require_perm(acting_user, "finance.add_airdrop")
    batch_id = _client_id(batch_id, field="batch_id")
    if not batch_id:
        raise InvalidParameter(_("batch_id is required"))
    existing = Airdrop.objects.filter(organization=organization, batch_id=batch_id).first()
    if existing is not None:
        existing.created = False  # type: ignore[attr-defined]
        return existing
    token = _token(token_id)
    if bucket not in AirdropBucket.values:
        raise InvalidParameter(_("bucket must be available or lockup"))
    if unlock_at is not None and bucket != AirdropBucket.LOCKUP:
        raise InvalidParameter(_("unlock_at applies to airdrops into lockup only"))
    if not rows:
        raise InvalidParameter(_("An airdrop needs at least one row"))
    if len(rows) > AIRDROP_MAX_ROWS:
        raise InvalidParameter(_("At most %(max)s rows per batch") % {"max": AIRDROP_MAX_ROWS})

    source_user: User | None = None
    if source_uid is not None:
        source_user = User.objects.filter(uid=source_uid, organization=organization).first()
        if source_user is None:
            raise UserNotFound(_("Source user not found"))
        source = user_account(user=source_user)
    else:
        source = system_account(organization_id=organization.pk, type=AccountType.OPERATING)

    uids: set[int] = set()
    for row in rows:
        text = str(row.get("uid", "")).strip()
        if text.isdigit():
            uids.add(int(text))
    users = {u.uid: u for u in User.objects.filter(organization=organization, uid__in=uids, is_active=True)}

    items: list[AirdropItem] = []
    total = ZERO
    with money_context():
        for position, row in enumerate(rows, start=1):
            uid_text = str(row.get("uid", "")).strip()[:32]
            amount_value = row.get("amount", "")
            amount_text = str(amount_value).strip()[:64]
            item = AirdropItem(row=position, uid=uid_text, amount_text=amount_text)
            recipient = users.get(int(uid_text)) if uid_text.isdigit() else None
            try:
                amount = positive_amount(amount_value, token=token)
            except InvalidAmount as exc:
                item.status, item.reason = AirdropItemStatus.FAILED, f"bad amount: {exc.message}"[:255]
            else:
                item.amount = amount
            if recipient is None:
                item.status, item.reason = AirdropItemStatus.FAILED, "unknown user"
            elif source_user is not None and recipient.pk == source_user.pk:
                item.status, item.reason = AirdropItemStatus.FAILED, "recipient is the source"
            else:
                item.user = recipient
            if item.status == AirdropItemStatus.PENDING:
                assert item.amount is not None
                total += item.amount
            items.append(item)
    if total > _available(source.pk, token.pk):
        raise InsufficientBalance(
            _("The source has less than the batch total of %(total)s %(token)s available; nothing was airdropped")
            % {"total": fmt(total), "token": token.pk},
            account_id=source.pk,
            token=token.pk,
        )
    failed = sum(1 for i in items if i.status == AirdropItemStatus.FAILED)
    try:
        with transaction.atomic():
            airdrop = Airdrop.objects.create(
                organization=organization,
                batch_id=batch_id,
                token=token,
                source_user=source_user,
                source_account=source,
                bucket=bucket,
                unlock_at=unlock_at,
                memo=memo[:255],
                total_rows=len(items),
                valid_amount=total,
                processed_rows=failed,
                failed_rows=failed,
                created_by=acting_user,
            )
            for item in items:
                item.airdrop = airdrop
            AirdropItem.objects.bulk_create(items, batch_size=1000)
            event_emit(
                type="airdrop",
                organization_id=organization.pk,
                payload={
                    "stage": "created",
                    "batch_id": batch_id,
                    "token": token.pk,
                    "bucket": bucket,
                    "rows": len(items),
                    "failed_rows": failed,
                    "amount": fmt(total),
                },
            )
            transaction.on_commit(lambda: _queue_airdrop(airdrop.pk))
    except IntegrityError:
        # A concurrent request with the same batch id won the insert.
        first = Airdrop.objects.get(organization=organization, batch_id=batch_id)
        first.created = False  # type: ignore[attr-defined]
        return first
    airdrop.created = True  # type: ignore[attr-defined]
    return airdrop


def _queue_airdrop(airdrop_id: int) -> None:
    from apps.finance.tasks import airdrop_batch_run

    airdrop_batch_run.delay(airdrop_id)


def airdrop_batch_process(*, airdrop_id: int) -> Airdrop:
    """Post the pending rows of a batch, a chunk per DB transaction, updating the progress counters.

    Safe to run again (a retry, a second worker): finished batches are left alone, and each row's
    posting has the idempotency key ``fin:airdrop:<batch pk>:<row>``. Before the first row the
    source must still cover every pending row; otherwise the batch is marked rejected and nothing moves.
    """
    with transaction.atomic():
        airdrop = Airdrop.objects.select_for_update(of=("self",)).select_related("token").get(pk=airdrop_id)
        if airdrop.status in (AirdropStatus.COMPLETED, AirdropStatus.REJECTED):
            return airdrop
        if airdrop.status == AirdropStatus.PENDING:
            # Only before the first row: once rows are paid, a shortfall fails rows, not the batch.
            pending = AirdropItem.objects.filter(airdrop=airdrop, status=AirdropItemStatus.PENDING)
            with money_context():
                needed = sum((a for a in pending.values_list("amount", flat=True) if a is not None), ZERO)
            if needed > _available(airdrop.source_account_id, airdrop.token_id):
                airdrop.status = AirdropStatus.REJECTED
                airdrop.reason = f"source has less than {fmt(needed)} {airdrop.token_id} available"
                airdrop.finished_at = timezone.now()
                airdrop.save(update_fields=["status", "reason", "finished_at"])
                return airdrop
            airdrop.status = AirdropStatus.PROCESSING
            airdrop.save(update_fields=["status"])

    while _airdrop_process_chunk(airdrop):
        pass

    with transaction.atomic():
        airdrop = Airdrop.objects.select_for_update().get(pk=airdrop_id)
        # Rows another worker is still posting keep the batch open; that worker completes it.
        unfinished = AirdropItem.objects.filter(airdrop=airdrop, status=AirdropItemStatus.PENDING).exists()
        if airdrop.status == AirdropStatus.PROCESSING and not unfinished:
            airdrop.status = AirdropStatus.COMPLETED
            airdrop.finished_at = timezone.now()
            airdrop.save(update_fields=["status", "finished_at"])
            event_emit(
                type="airdrop",
                organization_id=airdrop.organization_id,
                payload={
                    "stage": "completed",
                    "batch_id": airdrop.batch_id,
                    "succeeded_rows": airdrop.succeeded_rows,
                    "failed_rows": airdrop.failed_rows,
                },
            )
    return airdrop


def _airdrop_process_chunk(airdrop: Airdrop) -> bool:
    """Post up to ``AIRDROP_CHUNK`` pending rows in one transaction; False when none were left."""
    with transaction.atomic():
        items = list(
            # skip_locked: a second worker on the same batch takes the next rows instead of waiting.
            AirdropItem.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(airdrop=airdrop, status=AirdropItemStatus.PENDING)
            .select_related("user")
            .order_by("row")[:AIRDROP_CHUNK]
        )
        if not items:
            return False
        to_bucket = Bucket.LOCKUP if airdrop.bucket == AirdropBucket.LOCKUP else Bucket.AVAILABLE
        events: list[OutboxEvent] = []
        succeeded = failed = 0
        for item in items:
            assert item.user is not None and item.amount is not None
            reference = f"fin:airdrop:{airdrop.pk}:{item.row}"
            try:
                with transaction.atomic():
                    target = user_account(user=item.user)
                    ledger_tx = ledger_post(
                        kind=TransactionKind.AIRDROP,
                        organization_id=airdrop.organization_id,
                        legs=[
                            Leg(airdrop.source_account_id, airdrop.token_id, Bucket.AVAILABLE, -item.amount),
                            Leg(target.pk, airdrop.token_id, to_bucket, item.amount),
                        ],
                        reference=reference,
                        idempotency_key=reference,
                        memo=airdrop.memo or f"airdrop {airdrop.batch_id}",
                        acting_user_id=airdrop.created_by_id,
                    )
                    if to_bucket == Bucket.LOCKUP:
                        Lockup.objects.get_or_create(
                            airdrop_item=item,
                            defaults={
                                "organization_id": airdrop.organization_id,
                                "user": item.user,
                                "account": target,
                                "token_id": airdrop.token_id,
                                "amount": item.amount,
                                "source": LockupSource.AIRDROP,
                                "unlock_at": airdrop.unlock_at,
                                "lock_transaction": ledger_tx,
                                "memo": f"airdrop {airdrop.batch_id}",
                                "created_by_id": airdrop.created_by_id,
                            },
                        )
            except BrokerError as exc:
                item.status, item.reason = AirdropItemStatus.FAILED, exc.message[:255]
                failed += 1
                continue
            item.status, item.ledger_transaction = AirdropItemStatus.SUCCEEDED, ledger_tx
            succeeded += 1
            events.append(
                OutboxEvent(
                    type="airdrop",
                    organization_id=airdrop.organization_id,
                    user=item.user,
                    payload={
                        "stage": "received",
                        "batch_id": airdrop.batch_id,
                        "row": item.row,
                        "uid": str(item.user.uid),
                        "token": airdrop.token_id,
                        "amount": fmt(item.amount),
                        "bucket": airdrop.bucket,
                    },
                )
            )
        AirdropItem.objects.bulk_update(items, ["status", "reason", "ledger_transaction"])
        Airdrop.objects.filter(pk=airdrop.pk).update(
            processed_rows=F("processed_rows") + succeeded + failed,
            succeeded_rows=F("succeeded_rows") + succeeded,
            failed_rows=F("failed_rows") + failed,
        )
        events_emit_many(events)
    return True


# --- lock-ups ---------------------------------------------------------------------------------------


def lockup_create(
    *,
    user: User,
    token_id: str,
    amount: object,
    unlock_at: datetime | None = None,
    client_order_id: str | None = None,
    memo: str = "",
    acting_user: User | None = None,
) -> Lockup:
    """Move ``amount`` of the user's main SPOT account from ``available`` to ``lockup``.

    The user locks their own funds (``acting_user`` = the user), or staff / the Org API do. A
    repeated ``client_order_id`` returns the first lock-up.
    """
    org_id = _org_id(user)
    by_user = acting_user is not None and acting_user.pk == user.pk
    if not by_user:
        _require_perm(acting_user, "finance.add_lockup")
    cid = _client_id(client_order_id)
    if cid:
        first = Lockup.objects.filter(user=user, client_order_id=cid).first()
        if first is not None:
            first.created = False  # type: ignore[attr-defined]
            return first
    token = _token(token_id)
    value = positive_amount(amount, token=token)
    if unlock_at is not None and unlock_at <= timezone.now():
        raise InvalidParameter(_("unlock_at must be in the future"))
    account = user_account(user=user)
    reference = f"fin:lock:{user.pk}:{cid or uuid.uuid4().hex}"
    with transaction.atomic():
        ledger_tx = ledger_post(
            kind=TransactionKind.LOCK,
            organization_id=org_id,
            legs=[
                Leg(account.pk, token.pk, Bucket.AVAILABLE, -value),
                Leg(account.pk, token.pk, Bucket.LOCKUP, value),
            ],
            reference=reference,
            idempotency_key=reference,
            memo=memo or "lock-up",
            acting_user_id=acting_user.pk if acting_user else None,
        )
        if not getattr(ledger_tx, "created", True):
            first = Lockup.objects.get(lock_transaction=ledger_tx)
            first.created = False  # type: ignore[attr-defined]
            return first
        lockup = Lockup.objects.create(
            organization_id=org_id,
            user=user,
            account=account,
            token=token,
            amount=value,
            source=LockupSource.USER if by_user else LockupSource.STAFF,
            unlock_at=unlock_at,
            client_order_id=cid,
            lock_transaction=ledger_tx,
            memo=memo[:255],
            created_by=acting_user,
        )
        event_emit(type="lock", organization_id=org_id, user=user, payload=lockup_event_payload(lockup))
    lockup.created = True  # type: ignore[attr-defined]
    return lockup


def lockup_event_payload(lockup: Lockup) -> dict[str, object]:
    return {
        "lockup_id": str(lockup.pk),
        "uid": str(lockup.user.uid) if lockup.user.uid else "",
        "token": lockup.token_id,
        "amount": fmt(lockup.amount),
        "source": lockup.source,
        "status": lockup.status,
        "unlock_at": _ms(lockup.unlock_at),
    }


def lockup_release(
    *,
    lockup_id: int,
    user: User | None = None,
    organization: Organization | None = None,
    acting_user: User | None = None,
    now: datetime | None = None,
) -> Lockup:
    """Move a lock-up back to ``available``; releasing a released lock-up returns it unchanged.

    With ``user`` (the User API) the lock-up must be theirs and due (no unlock date, or it passed).
    A staff ``acting_user`` needs ``finance.release_lockup`` and may release early; so may the Org
    API (``organization`` given). The periodic task releases due lock-ups with neither, passing
    its own clock as ``now``.
    """
    if user is None:
        _require_perm(acting_user, "finance.release_lockup")
    with transaction.atomic():
        scope = Lockup.objects.select_for_update(of=("self",)).select_related("user")
        if user is not None:
            scope = scope.filter(user=user)
        if organization is not None:
            scope = scope.filter(organization=organization)
        lockup = scope.filter(pk=lockup_id).first()
        if lockup is None:
            raise NotFound(_("Lock-up does not exist"))
        if lockup.status == LockupStatus.RELEASED:
            lockup.created = False  # type: ignore[attr-defined]
            return lockup
        now = now or timezone.now()
        early = lockup.unlock_at is not None and lockup.unlock_at > now
        if early and user is not None:
            raise LockupNotDue(_("This lock-up unlocks at %(unlock_at)s") % {"unlock_at": lockup.unlock_at.isoformat()})  # type: ignore[union-attr]
        if early and acting_user is None and organization is None:
            raise LockupNotDue()
        reference = f"fin:unlock:{lockup.pk}"
        ledger_tx = ledger_post(
            kind=TransactionKind.UNLOCK,
            organization_id=lockup.organization_id,
            legs=[
                Leg(lockup.account_id, lockup.token_id, Bucket.LOCKUP, -lockup.amount),
                Leg(lockup.account_id, lockup.token_id, Bucket.AVAILABLE, lockup.amount),
            ],
            reference=reference,
            idempotency_key=reference,
            memo="lock-up released",
            acting_user_id=acting_user.pk if acting_user else (user.pk if user else None),
        )
        lockup.status = LockupStatus.RELEASED
        lockup.release_transaction = ledger_tx
        lockup.released_at = now
        lockup.released_by = acting_user or user
        lockup.save(update_fields=["status", "release_transaction", "released_at", "released_by"])
        event_emit(
            type="unlock",
            organization_id=lockup.organization_id,
            user=lockup.user,
            payload=lockup_event_payload(lockup),
        )
    lockup.created = True  # type: ignore[attr-defined]
    return lockup


def lockups_release_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Release lock-ups whose unlock date has passed (periodic task); returns how many were released."""
    moment = now or timezone.now()
    ids = list(
        Lockup.objects.filter(status=LockupStatus.LOCKED, unlock_at__lte=moment)
        .order_by("unlock_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    released = 0
    for lockup_id in ids:
        try:
            lockup_release(lockup_id=lockup_id, now=moment)
        except BrokerError as exc:
            logger.error("lock-up %s not released: %s", lockup_id, exc.message)
            continue
        released += 1
    return released


# --- convert (floating rate) ------------------------------------------------------------------------


def _pair_for(model: type[PairT], user: User, from_token: str, to_token: str) -> PairT:
    pair = (
        model.objects.select_related("from_token", "to_token")
        .filter(organization_id=_org_id(user), from_token_id=from_token, to_token_id=to_token, is_active=True)
        .first()
    )
    if pair is None:
        raise PairNotOffered(
            _("%(from_token)s → %(to_token)s is not offered") % {"from_token": from_token, "to_token": to_token}
        )
    return pair


def _check_amount_limits(pair: ConvertPair | MappingPair, amount: Decimal) -> None:
    token = pair.from_token_id
    if pair.min_amount and amount < pair.min_amount:
        raise AmountBelowMinimum(
            _("The minimum is %(minimum)s %(token)s") % {"minimum": fmt(pair.min_amount), "token": token}
        )
    if pair.max_amount and amount > pair.max_amount:
        raise FinanceLimitExceeded(
            _("The maximum per operation is %(maximum)s %(token)s") % {"maximum": fmt(pair.max_amount), "token": token}
        )


def _convert_used_today(user: User, pair: ConvertPair) -> Decimal:
    start, end = _day_bounds(timezone.now().astimezone(UTC).date())
    amounts = ConvertQuote.objects.filter(
        user=user, pair=pair, status=ConvertQuoteStatus.EXECUTED, executed_at__gte=start, executed_at__lt=end
    ).values_list("from_amount", flat=True)
    with money_context():
        return sum(amounts, ZERO)


def convert_rate(*, pair: ConvertPair) -> Decimal:
    """to-token per from-token: the symbol's last trade price (inverted for quote → base) less the spread."""
    price = SymbolMatchState.objects.filter(symbol_id=pair.symbol_id).values_list("last_price", flat=True).first()
    if not price:
        raise PriceUnavailable(_("%(symbol)s has no last price yet") % {"symbol": pair.symbol_id})
    symbol = pair.symbol
    with money_context():
        if (pair.from_token_id, pair.to_token_id) == (symbol.base_id, symbol.quote_id):
            mid = price
        elif (pair.from_token_id, pair.to_token_id) == (symbol.quote_id, symbol.base_id):
            mid = Decimal(1) / price
        else:
            raise PriceUnavailable(
                _("%(symbol)s does not price %(from_token)s → %(to_token)s")
                % {"symbol": pair.symbol_id, "from_token": pair.from_token_id, "to_token": pair.to_token_id}
            )
        return quantize_down(mid * (Decimal(1) - pair.spread), 18)


def convert_quote(*, user: User, from_token: str, to_token: str, from_amount: object) -> ConvertQuote:
    """Quote a conversion at the current rate; the quote is executable until it expires."""
    pair = _pair_for(ConvertPair, user, from_token, to_token)
    value = positive_amount(from_amount, token=pair.from_token, field="from_amount")
    _check_amount_limits(pair, value)
    if pair.daily_user_limit:
        with money_context():
            if _convert_used_today(user, pair) + value > pair.daily_user_limit:
                raise FinanceLimitExceeded(
                    _("Daily conversion limit is %(limit)s %(token)s")
                    % {"limit": fmt(pair.daily_user_limit), "token": from_token}
                )
    rate = convert_rate(pair=pair)
    with money_context():
        to_amount = quantize_down(value * rate, pair.to_token.precision)
    if to_amount <= 0:
        raise InvalidAmount(_("The amount is too small to convert"))
    with transaction.atomic():
        quote = ConvertQuote.objects.create(
            organization_id=pair.organization_id,
            user=user,
            pair=pair,
            from_amount=value,
            to_amount=to_amount,
            rate=rate,
            expires_at=timezone.now() + timedelta(seconds=pair.quote_ttl_seconds),
        )
    return quote


def convert_execute(*, user: User, quote_id: int) -> ConvertQuote:
    """Execute a quote at its rate: from-token user → OPERATING, to-token OPERATING → user.

    Executing the same quote again returns it with no second effect (``created`` False).
    """
    with transaction.atomic():
        _lock_user_row(user)
        quote = (
            ConvertQuote.objects.select_for_update(of=("self",))
            .select_related("pair", "pair__from_token", "pair__to_token")
            .filter(pk=quote_id, user=user)
            .first()
        )
        if quote is None:
            raise NotFound(_("Quote does not exist"))
        if quote.status == ConvertQuoteStatus.EXECUTED:
            quote.created = False  # type: ignore[attr-defined]
            return quote
        now = timezone.now()
        if now > quote.expires_at:
            raise QuoteExpired()
        pair = quote.pair
        if not pair.is_active:
            raise PairNotOffered()
        if pair.daily_user_limit:
            with money_context():
                if _convert_used_today(user, pair) + quote.from_amount > pair.daily_user_limit:
                    raise FinanceLimitExceeded(
                        _("Daily conversion limit is %(limit)s %(token)s")
                        % {"limit": fmt(pair.daily_user_limit), "token": pair.from_token_id}
                    )
        account = user_account(user=user)
        operating = system_account(organization_id=quote.organization_id, type=AccountType.OPERATING)
        reference = f"fin:convert:{quote.pk}"
        ledger_tx = _post_exchange(
            kind=TransactionKind.CONVERT,
            organization_id=quote.organization_id,
            account=account,
            operating=operating,
            from_token=pair.from_token_id,
            from_amount=quote.from_amount,
            to_token=pair.to_token_id,
            to_amount=quote.to_amount,
            reference=reference,
            memo=f"convert at {fmt(quote.rate)}",
            acting_user_id=user.pk,
        )
        quote.status = ConvertQuoteStatus.EXECUTED
        quote.ledger_transaction = ledger_tx
        quote.executed_at = now
        quote.save(update_fields=["status", "ledger_transaction", "executed_at"])
        event_emit(
            type="convert",
            organization_id=quote.organization_id,
            user=user,
            payload={
                "quote_id": str(quote.pk),
                "uid": str(user.uid) if user.uid else "",
                "from_token": pair.from_token_id,
                "from_amount": fmt(quote.from_amount),
                "to_token": pair.to_token_id,
                "to_amount": fmt(quote.to_amount),
                "rate": fmt(quote.rate),
            },
        )
    quote.created = True  # type: ignore[attr-defined]
    return quote


def _post_exchange(
    *,
    kind: str,
    organization_id: int,
    account: Account,
    operating: Account,
    from_token: str,
    from_amount: Decimal,
    to_token: str,
    to_amount: Decimal,
    reference: str,
    memo: str,
    acting_user_id: int | None,
) -> LedgerTransaction:
    try:
        return ledger_post(
            kind=kind,
            organization_id=organization_id,
            legs=[
                Leg(account.pk, from_token, Bucket.AVAILABLE, -from_amount),
                Leg(operating.pk, from_token, Bucket.AVAILABLE, from_amount),
                Leg(operating.pk, to_token, Bucket.AVAILABLE, -to_amount),
                Leg(account.pk, to_token, Bucket.AVAILABLE, to_amount),
            ],
            reference=reference,
            idempotency_key=reference,
            memo=memo,
            acting_user_id=acting_user_id,
        )
    except InsufficientBalance as exc:
        if exc.details.get("account_id") == operating.pk:
            raise OperatingBalanceInsufficient(
                _("The broker cannot pay out %(token)s right now") % {"token": to_token}
            ) from None
        raise


# --- mapping (fixed rate) ---------------------------------------------------------------------------


def mapping_execute(
    *,
    user: User,
    from_token: str,
    to_token: str,
    amount: object,
    client_order_id: str | None = None,
    acting_user: User | None = None,
) -> MappingRecord:
    """Exchange ``amount`` of ``from_token`` for ``to_token`` at the staff-set fixed rate, within the limits."""
    if acting_user is not None and acting_user.pk != user.pk:
        _require_perm(acting_user, "finance.add_mappingrecord")
    cid = _client_id(client_order_id)
    if cid:
        first = MappingRecord.objects.filter(user=user, client_order_id=cid).first()
        if first is not None:
            first.created = False  # type: ignore[attr-defined]
            return first
    pair = _pair_for(MappingPair, user, from_token, to_token)
    value = positive_amount(amount, token=pair.from_token)
    _check_amount_limits(pair, value)
    with money_context():
        to_amount = quantize_down(value * pair.rate, pair.to_token.precision)
    if to_amount <= 0:
        raise InvalidAmount(_("The amount is too small to map"))
    org_id = pair.organization_id
    reference = f"fin:mapping:{user.pk}:{cid or uuid.uuid4().hex}"
    with transaction.atomic():
        _lock_user_row(user)
        used = MappingRecord.objects.filter(user=user, pair=pair)
        with money_context():
            if pair.total_user_limit:
                total = sum(used.values_list("from_amount", flat=True), ZERO)
                if total + value > pair.total_user_limit:
                    raise FinanceLimitExceeded(
                        _("Mapping limit is %(limit)s %(token)s per user")
                        % {"limit": fmt(pair.total_user_limit), "token": from_token}
                    )
            if pair.daily_user_limit:
                start, end = _day_bounds(timezone.now().astimezone(UTC).date())
                today = used.filter(created_at__gte=start, created_at__lt=end)
                if sum(today.values_list("from_amount", flat=True), ZERO) + value > pair.daily_user_limit:
                    raise FinanceLimitExceeded(
                        _("Daily mapping limit is %(limit)s %(token)s")
                        % {"limit": fmt(pair.daily_user_limit), "token": from_token}
                    )
        ledger_tx = _post_exchange(
            kind=TransactionKind.CONVERT,
            organization_id=org_id,
            account=user_account(user=user),
            operating=system_account(organization_id=org_id, type=AccountType.OPERATING),
            from_token=pair.from_token_id,
            from_amount=value,
            to_token=pair.to_token_id,
            to_amount=to_amount,
            reference=reference,
            memo=f"mapping at {fmt(pair.rate)}",
            acting_user_id=(acting_user or user).pk,
        )
        if not getattr(ledger_tx, "created", True):
            first = MappingRecord.objects.get(ledger_transaction=ledger_tx)
            first.created = False  # type: ignore[attr-defined]
            return first
        record = MappingRecord.objects.create(
            organization_id=org_id,
            user=user,
            pair=pair,
            from_amount=value,
            to_amount=to_amount,
            rate=pair.rate,
            client_order_id=cid,
            ledger_transaction=ledger_tx,
            created_by=acting_user,
        )
        event_emit(
            type="mapping",
            organization_id=org_id,
            user=user,
            payload={
                "mapping_id": str(record.pk),
                "uid": str(user.uid) if user.uid else "",
                "from_token": pair.from_token_id,
                "from_amount": fmt(value),
                "to_token": pair.to_token_id,
                "to_amount": fmt(to_amount),
                "rate": fmt(pair.rate),
            },
        )
    record.created = True  # type: ignore[attr-defined]
    return record


# --- bonus credits (赠金) ---------------------------------------------------------------------------


def bonus_grant(
    *,
    user: User,
    token_id: str,
    amount: object,
    withdrawable: bool,
    client_order_id: str | None = None,
    memo: str = "",
    acting_user: User | None = None,
) -> BonusGrant:
    """Grant a bonus from the OPERATING account: withdrawable → ``available``, otherwise → ``lockup``."""
    _require_perm(acting_user, "finance.add_bonusgrant")
    org_id = _org_id(user)
    cid = _client_id(client_order_id)
    if cid:
        first = BonusGrant.objects.filter(organization_id=org_id, client_order_id=cid).first()
        if first is not None:
            first.created = False  # type: ignore[attr-defined]
            return first
    token = _token(token_id)
    value = positive_amount(amount, token=token)
    account = user_account(user=user)
    operating = system_account(organization_id=org_id, type=AccountType.OPERATING)
    reference = f"fin:bonus:{org_id}:{cid or uuid.uuid4().hex}"
    with transaction.atomic():
        try:
            ledger_tx = ledger_post(
                kind=TransactionKind.ADJUSTMENT,
                organization_id=org_id,
                legs=[
                    Leg(operating.pk, token.pk, Bucket.AVAILABLE, -value),
                    Leg(account.pk, token.pk, Bucket.AVAILABLE if withdrawable else Bucket.LOCKUP, value),
                ],
                reference=reference,
                idempotency_key=reference,
                memo=memo or ("bonus (withdrawable)" if withdrawable else "bonus (non-withdrawable)"),
                acting_user_id=acting_user.pk if acting_user else None,
            )
        except InsufficientBalance:
            raise OperatingBalanceInsufficient(
                _("The operating account has less than %(amount)s %(token)s")
                % {"amount": fmt(value), "token": token.pk}
            ) from None
        if not getattr(ledger_tx, "created", True):
            first = BonusGrant.objects.get(grant_transaction=ledger_tx)
            first.created = False  # type: ignore[attr-defined]
            return first
        grant = BonusGrant.objects.create(
            organization_id=org_id,
            user=user,
            account=account,
            token=token,
            amount=value,
            withdrawable=withdrawable,
            client_order_id=cid,
            memo=memo[:255],
            grant_transaction=ledger_tx,
            created_by=acting_user,
        )
        event_emit(type="bonus.granted", organization_id=org_id, user=user, payload=bonus_event_payload(grant))
    grant.created = True  # type: ignore[attr-defined]
    return grant


def bonus_event_payload(grant: BonusGrant) -> dict[str, object]:
    return {
        "bonus_id": str(grant.pk),
        "uid": str(grant.user.uid) if grant.user.uid else "",
        "token": grant.token_id,
        "amount": fmt(grant.amount),
        "withdrawable": grant.withdrawable,
        "status": grant.status,
    }


def bonus_release(
    *, grant_id: int, organization: Organization | None = None, acting_user: User | None = None
) -> BonusGrant:
    """Release a non-withdrawable bonus: ``lockup`` → ``available``. Releasing twice has one effect."""
    _require_perm(acting_user, "finance.release_bonusgrant")
    with transaction.atomic():
        scope = BonusGrant.objects.select_for_update(of=("self",)).select_related("user")
        if organization is not None:
            scope = scope.filter(organization=organization)
        grant = scope.filter(pk=grant_id).first()
        if grant is None:
            raise NotFound(_("Bonus grant does not exist"))
        if grant.withdrawable:
            raise InvalidParameter(_("A withdrawable bonus is already available; there is nothing to release"))
        if grant.status == BonusStatus.RELEASED:
            grant.created = False  # type: ignore[attr-defined]
            return grant
        reference = f"fin:bonus-release:{grant.pk}"
        ledger_tx = ledger_post(
            kind=TransactionKind.UNLOCK,
            organization_id=grant.organization_id,
            legs=[
                Leg(grant.account_id, grant.token_id, Bucket.LOCKUP, -grant.amount),
                Leg(grant.account_id, grant.token_id, Bucket.AVAILABLE, grant.amount),
            ],
            reference=reference,
            idempotency_key=reference,
            memo="bonus released",
            acting_user_id=acting_user.pk if acting_user else None,
        )
        grant.status = BonusStatus.RELEASED
        grant.release_transaction = ledger_tx
        grant.released_at = timezone.now()
        grant.released_by = acting_user
        grant.save(update_fields=["status", "release_transaction", "released_at", "released_by"])
        event_emit(
            type="bonus.released",
            organization_id=grant.organization_id,
            user=grant.user,
            payload=bonus_event_payload(grant),
        )
    grant.created = True  # type: ignore[attr-defined]
    return grant


# --- transfer locks ---------------------------------------------------------------------------------


def account_transfer_lock(
    *, account: Account, direction: str, reason: str, acting_user: User | None = None
) -> AccountTransferLock:
    """Lock transfers into (``in``), out of (``out``) or both ways of one user account."""
    _require_perm(acting_user, "finance.add_accounttransferlock")
    if account.user_id is None:
        raise InvalidParameter(_("Transfer locks apply to user accounts"))
    if direction not in TransferDirection.values:
        raise InvalidParameter(_("direction must be in, out or both"))
    if not reason.strip():
        raise InvalidParameter(_("A reason is required"))
    with transaction.atomic():
        lock = AccountTransferLock.objects.create(
            account=account, direction=direction, reason=reason[:255], created_by=acting_user
        )
    return lock


def account_transfer_unlock(
    *, lock_id: int, organization: Organization | None = None, acting_user: User | None = None
) -> AccountTransferLock:
    """Lift a transfer lock; lifting a lifted lock changes nothing."""
    _require_perm(acting_user, "finance.change_accounttransferlock")
    with transaction.atomic():
        scope = AccountTransferLock.objects.select_for_update(of=("self",))
        if organization is not None:
            scope = scope.filter(account__organization=organization)
        lock = scope.filter(pk=lock_id).first()
        if lock is None:
            raise NotFound(_("Transfer lock does not exist"))
        if lock.is_active:
            lock.is_active = False
            lock.lifted_at = timezone.now()
            lock.lifted_by = acting_user
            lock.save(update_fields=["is_active", "lifted_at", "lifted_by"])
    return lock


# --- referral commission ----------------------------------------------------------------------------


def commission_config_set(
    *, organization: Organization, level1_rate: Decimal, level2_rate: Decimal, is_active: bool = True
) -> CommissionConfig:
    with money_context():
        if level1_rate < 0 or level2_rate < 0 or level1_rate + level2_rate > 1:
            raise InvalidParameter(_("Rates must be ≥ 0 and sum to at most 1"))
    config, _created = CommissionConfig.objects.update_or_create(
        organization=organization,
        defaults={"level1_rate": level1_rate, "level2_rate": level2_rate, "is_active": is_active},
    )
    return config


def commission_settle_day(
    *, organization: Organization, day: date, acting_user: User | None = None
) -> list[CommissionRecord]:
    """Pay inviters their share of the trading fees their invitees paid on UTC ``day``, from the FEE account.

    Level 1 is the trader's ``invited_by``, level 2 that inviter's ``invited_by`` (both of the same
    organization). Fees are counted in the token they were paid in (a buyer's base fee, a seller's
    quote fee); each share is rounded down to the token's precision, so the remainder stays in FEE.
    One ledger transaction per organization and day (idempotency key ``fin:commission:<org>:<day>``):
    settling a day twice returns the first records.
    """
    _require_perm(acting_user, "finance.add_commissionrecord")
    if day >= timezone.now().astimezone(UTC).date():
        raise InvalidParameter(_("Only a finished UTC day can be settled"))
    reference = f"fin:commission:{organization.pk}:{day.isoformat()}"
    done = LedgerTransaction.objects.filter(idempotency_key=reference).first()
    if done is not None:
        return list(CommissionRecord.objects.filter(ledger_transaction=done))
    config = CommissionConfig.objects.filter(organization=organization, is_active=True).first()
    if config is None or (not config.level1_rate and not config.level2_rate):
        return []
    start, end = _day_bounds(day)
    fees: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    trades = Trade.objects.filter(created_at__gte=start, created_at__lt=end)
    with money_context():
        for buyer_id, base, fee in trades.filter(buyer__organization=organization, buyer_fee__gt=0).values_list(
            "buyer_id", "symbol__base_id", "buyer_fee"
        ):
            fees[(buyer_id, base)] += fee
        for seller_id, quote, fee in trades.filter(seller__organization=organization, seller_fee__gt=0).values_list(
            "seller_id", "symbol__quote_id", "seller_fee"
        ):
            fees[(seller_id, quote)] += fee
    if not fees:
        return []
    inviters = {
        pk: (l1, l2)
        for pk, l1, l2 in User.objects.filter(pk__in={u for u, _ in fees}, invited_by__organization=organization)
        .values_list("pk", "invited_by_id", "invited_by__invited_by_id")
        .iterator()
    }
    level2_ok = set(
        User.objects.filter(pk__in={l2 for _, l2 in inviters.values() if l2}, organization=organization).values_list(
            "pk", flat=True
        )
    )
    precision = dict(Token.objects.filter(pk__in={t for _, t in fees}).values_list("pk", "precision"))
    records: list[CommissionRecord] = []
    with money_context():
        for (trader_id, token_id), fee in sorted(fees.items()):
            if trader_id not in inviters:
                continue
            level1, level2 = inviters[trader_id]
            for level, inviter_id, rate in ((1, level1, config.level1_rate), (2, level2, config.level2_rate)):
                if inviter_id is None or not rate or (level == 2 and inviter_id not in level2_ok):
                    continue
                amount = quantize_down(fee * rate, precision[token_id])
                if amount <= 0:
                    continue
                records.append(
                    CommissionRecord(
                        organization=organization,
                        inviter_id=inviter_id,
                        invitee_id=trader_id,
                        level=level,
                        day=day,
                        token_id=token_id,
                        fee_amount=fee,
                        rate=rate,
                        amount=amount,
                    )
                )
    if not records:
        return []
    accounts = {
        a.user_id: a
        for a in Account.objects.filter(
            user_id__in={r.inviter_id for r in records}, type=AccountType.SPOT, index=0
        ).select_related("user")
    }
    for inviter_id in {r.inviter_id for r in records} - set(accounts):
        accounts[inviter_id] = user_account(user=User.objects.get(pk=inviter_id))
    fee_account = system_account(organization_id=organization.pk, type=AccountType.FEE)
    credits: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    debits: dict[str, Decimal] = defaultdict(lambda: ZERO)
    with money_context():
        for record in records:
            credits[(accounts[record.inviter_id].pk, record.token_id)] += record.amount
            debits[record.token_id] += record.amount
    legs = [Leg(fee_account.pk, token, Bucket.AVAILABLE, -total) for token, total in sorted(debits.items())]
    legs += [Leg(account_id, token, Bucket.AVAILABLE, total) for (account_id, token), total in sorted(credits.items())]
    with transaction.atomic():
        ledger_tx = ledger_post(
            kind=TransactionKind.ADJUSTMENT,
            organization_id=organization.pk,
            legs=legs,
            reference=reference,
            idempotency_key=reference,
            memo=f"referral commission for {day.isoformat()}",
            acting_user_id=acting_user.pk if acting_user else None,
        )
        if not getattr(ledger_tx, "created", True):
            return list(CommissionRecord.objects.filter(ledger_transaction=ledger_tx))
        for record in records:
            record.ledger_transaction = ledger_tx
        CommissionRecord.objects.bulk_create(records, batch_size=1000)
        by_inviter = {a.user_id: a.user for a in accounts.values()}
        events_emit_many(
            [
                OutboxEvent(
                    type="commission",
                    organization_id=organization.pk,
                    user=by_inviter[inviter_id],
                    payload={"day": day.isoformat(), "token": token_id, "amount": fmt(total)},
                )
                for (inviter_id, token_id), total in sorted(_sum_by_inviter(records).items())
            ]
        )
    return records


def _sum_by_inviter(records: Sequence[CommissionRecord]) -> dict[tuple[int, str], Decimal]:
    totals: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    with money_context():
        for record in records:
            totals[(record.inviter_id, record.token_id)] += record.amount
    return totals


def commission_settle_yesterday(*, today: date | None = None) -> dict[int, int]:
    """Settle yesterday (UTC) for every organization with an active commission config (periodic task)."""
    day = (today or timezone.now().astimezone(UTC).date()) - timedelta(days=1)
    result: dict[int, int] = {}
    orgs = Organization.objects.filter(
        pk__in=CommissionConfig.objects.filter(is_active=True).values("organization_id")
    ).filter(Q(is_active=True))
    for organization in orgs:
        try:
            result[organization.pk] = len(commission_settle_day(organization=organization, day=day))
        except BrokerError as exc:
            logger.error("commission for org %s on %s not settled: %s", organization.pk, day, exc.message)
    return result
