"""Order placement and cancellation (DESIGN.md §8 "Command log").

``order_place`` validates against the symbol's filters, bands, status, switches, freezes and the
organization's KYC gate; then, in one DB transaction, inserts the order as ``PENDING``, moves its
funds to ``hold`` through the ledger and records a place command. ``(account, client_order_id)`` is
unique, so a retry returns the first order and holds nothing twice. Cancels are recorded as commands
the same way (one per order: repeating a cancel is a no-op). After commit the symbol's matching task
is queued.
"""

from __future__ import annotations

import logging
import re
import uuid
import zlib
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.ledger import Leg, ledger_post
from apps.accounts.models import AccountType, Bucket, TransactionKind
from apps.accounts.services import user_account
from apps.core.errors import (
    BrokerError,
    CancelRejected,
    InvalidParameter,
    NotionalTooSmall,
    OrderNotFound,
    PermissionDenied,
    PrecisionTooHigh,
    PriceOutOfBand,
    QuantityTooLarge,
    QuantityTooSmall,
    SymbolNotTrading,
    TradingFrozen,
    UnknownSymbol,
    UserFrozen,
)
from apps.core.money import is_multiple, money_context, quantize_down, quantize_up, to_decimal
from apps.tokens.models import Symbol, SymbolStatus
from apps.tokens.selectors import symbols_offered
from apps.trading.models import (
    OPEN_STATUSES,
    CommandKind,
    MatchCommand,
    Order,
    OrderSide,
    OrderType,
    SelfTradePrevention,
    SymbolMatchState,
    TimeInForce,
)
from apps.users.models import FreezeKind, User
from apps.users.selectors import user_freezes_applying

logger = logging.getLogger(__name__)

CLIENT_ORDER_ID = re.compile(r"^[A-Za-z0-9_\-.:]{1,64}$")


def match_queue(symbol_id: str) -> str:
    """The Celery queue of the matching shard that owns ``symbol_id``."""
    return f"match.{zlib.crc32(symbol_id.encode()) % max(1, settings.MATCH_SHARDS)}"


MATCH_QUEUED_TTL_S = 2


def tasks_inline() -> bool:
    """Embedded mode (and tests): tasks run in this process, the matching task at commit."""
    from celery import current_app

    return bool(current_app.conf.task_always_eager)


def match_queued_key(symbol_id: str) -> str:
    return f"match-queued:{symbol_id}"


def queue_match(symbol_id: str) -> None:
    """Queue the symbol's matching task, unless one is already waiting.

    One task drains every pending command of the symbol, so placements in the same instant share one
    message: the first sets a mark in the cache and publishes, the others see the mark. The worker
    clears the mark before it reads the pending commands (``apps.trading.tasks.match_symbol``), so a
    command committed after that read queues a new task. The mark expires after two seconds (a lost
    message) and the sweeper re-queues symbols with waiting commands every five. The order is already
    committed here: if the cache or the broker is unreachable, that is logged, not raised, and the
    sweeper (or the worker's start) picks the command up.
    """
    from apps.trading.tasks import match_symbol

    if tasks_inline():
        match_symbol.apply_async(args=(symbol_id,), queue=match_queue(symbol_id))
        return
    try:
        if not cache.add(match_queued_key(symbol_id), 1, timeout=MATCH_QUEUED_TTL_S):
            return
    except Exception:
        logger.warning("match mark unavailable for %s; publishing anyway", symbol_id, exc_info=True)
    try:
        match_symbol.apply_async(args=(symbol_id,), queue=match_queue(symbol_id))
    except Exception:
        logger.exception("could not queue matching of %s; the sweeper will", symbol_id)


@dataclass(frozen=True)
class OrderDraft:
    """A validated order, ready to be placed."""

    symbol: Symbol
    side: str
    type: str
    time_in_force: str
    stp: str
    price: Decimal | None
    quantity: Decimal | None
    quote_amount: Decimal | None
    protection_price: Decimal | None
    hold_token_id: str
    hold_amount: Decimal


def _choice(value: str | None, choices: type, field: str, default: str | None = None) -> str:
    if value is None or value == "":
        if default is None:
            raise InvalidParameter(_("%(name)s is required") % {"name": field})
        return default
    normalized = str(value).lower()
    if normalized not in choices.values:  # type: ignore[attr-defined]
        raise InvalidParameter(
            _("%(field)s must be one of %(choices)s") % {"field": field, "choices": ", ".join(choices.values)}  # type: ignore[attr-defined]
        )
    return normalized


def _optional_decimal(value: object, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    return to_decimal(value, field=field)


def last_price(symbol: Symbol) -> Decimal | None:
    return SymbolMatchState.objects.filter(symbol=symbol).values_list("last_price", flat=True).first()


def order_validate(
    *,
    user: User,
    symbol_id: str,
    side: str,
    type: str,
    quantity: object = None,
    price: object = None,
    quote_amount: object = None,
    time_in_force: str | None = None,
    stp: str | None = None,
) -> OrderDraft:
    """Every check of an order that does not need a lock; raises the first violation."""
    side = _choice(side, OrderSide, "side")
    order_type = _choice(type, OrderType, "type")
    default_tif = TimeInForce.IOC if order_type == OrderType.MARKET else TimeInForce.GTC
    tif = _choice(time_in_force, TimeInForce, "time_in_force", default_tif)
    stp_mode = _choice(stp, SelfTradePrevention, "stp", SelfTradePrevention.DC)
    if user.organization_id is None:
        raise PermissionDenied(_("Only users of an organization can trade"))
    if not user.is_active:
        raise UserFrozen(_("This user is disabled"))
    # One query: the symbol as offered to the organization, its last price and the user's freezes.
    symbol = (
        symbols_offered(organization_id=user.organization_id)
        .filter(pk=(symbol_id or "").upper())
        .annotate(
            reference_price=Subquery(SymbolMatchState.objects.filter(symbol=OuterRef("pk")).values("last_price")[:1]),
            trade_frozen=Exists(user_freezes_applying(user=user, kind=FreezeKind.TRADE, symbol_id=OuterRef("pk"))),
        )
        .first()
    )
    if symbol is None:
        raise UnknownSymbol(_("Unknown symbol: %(symbol)s") % {"symbol": symbol_id})
    if symbol.status != SymbolStatus.ON:
        raise SymbolNotTrading(
            _("%(symbol)s is not trading (status %(status)s)") % {"symbol": symbol.pk, "status": symbol.status}
        )
    if (side == OrderSide.BUY and not symbol.buy_enabled) or (side == OrderSide.SELL and not symbol.sell_enabled):
        raise SymbolNotTrading(_("%(side)s orders are disabled on %(symbol)s") % {"side": side, "symbol": symbol.pk})
    if symbol.trade_frozen:  # type: ignore[attr-defined]
        raise TradingFrozen(_("Trading on %(symbol)s is frozen for this user") % {"symbol": symbol.pk})
    required_kyc = user.organization.trading_kyc_level if user.organization else 0
    if user.kyc_level < required_kyc:
        raise PermissionDenied(_("KYC level %(level)s is required to trade") % {"level": required_kyc})

    qty = _optional_decimal(quantity, "quantity")
    px = _optional_decimal(price, "price")
    funds = _optional_decimal(quote_amount, "quote_amount")
    reference: Decimal | None = symbol.reference_price  # type: ignore[attr-defined]
    protection: Decimal | None = None

    with money_context():
        if order_type in (OrderType.LIMIT, OrderType.LIMIT_MAKER):
            if px is None or qty is None:
                raise InvalidParameter(_("A limit order needs price and quantity"))
            if order_type == OrderType.LIMIT_MAKER and tif != TimeInForce.GTC:
                raise InvalidParameter(_("A post-only (limit maker) order is good-till-canceled only"))
            _check_price(symbol, px, reference)
            _check_quantity(symbol, qty)
            if px * qty < symbol.min_notional:
                raise NotionalTooSmall(
                    _("Order value must be at least %(minimum)s")
                    % {"minimum": format(symbol.min_notional.normalize(), "f")}
                )
            if side == OrderSide.BUY:
                hold_token, hold = symbol.quote_id, px * qty
            else:
                hold_token, hold = symbol.base_id, qty
            funds = None
        else:
            if tif == TimeInForce.GTC:
                raise InvalidParameter(_("A market order cannot rest: use time_in_force ioc or fok"))
            if px is not None:
                raise InvalidParameter(_("A market order takes no price"))
            if side == OrderSide.BUY:
                if funds is None or qty is not None:
                    raise InvalidParameter(_("A market buy takes quote_amount (the quote to spend), not quantity"))
                if funds <= 0:
                    raise InvalidParameter(
                        _("quote_amount must be greater than zero"), field="quote_amount", rule="positive"
                    )
                if funds != quantize_down(funds, symbol.quote.precision):
                    raise PrecisionTooHigh(
                        _("quote_amount allows %(precision)s decimal places") % {"precision": symbol.quote.precision},
                        field="quote_amount",
                    )
                if funds < symbol.min_notional:
                    raise NotionalTooSmall(
                        _("Order value must be at least %(minimum)s")
                        % {"minimum": format(symbol.min_notional.normalize(), "f")}
                    )
                hold_token, hold = symbol.quote_id, funds
            else:
                if qty is None or funds is not None:
                    raise InvalidParameter(_("A market sell takes quantity, not quote_amount"))
                _check_quantity(symbol, qty)
                if reference is not None and qty * reference < symbol.min_notional:
                    raise NotionalTooSmall(
                        _("Order value must be at least %(minimum)s")
                        % {"minimum": format(symbol.min_notional.normalize(), "f")}
                    )
                hold_token, hold = symbol.base_id, qty
            if reference is not None and symbol.market_band_rate > 0:
                if side == OrderSide.BUY:
                    bound = reference * (1 + symbol.market_band_rate)
                    protection = quantize_down(bound / symbol.price_tick, 0) * symbol.price_tick
                else:
                    bound = reference * (1 - symbol.market_band_rate)
                    protection = quantize_up(bound / symbol.price_tick, 0) * symbol.price_tick
                    if protection <= 0:
                        protection = symbol.price_tick
    return OrderDraft(
        symbol=symbol,
        side=side,
        type=order_type,
        time_in_force=tif,
        stp=stp_mode,
        price=px,
        quantity=qty,
        quote_amount=funds,
        protection_price=protection,
        hold_token_id=hold_token,
        hold_amount=hold,
    )


def _check_price(symbol: Symbol, price: Decimal, reference: Decimal | None) -> None:
    if price <= 0:
        raise InvalidParameter(_("price must be greater than zero"), field="price", rule="positive")
    if not is_multiple(price, symbol.price_tick):
        raise PrecisionTooHigh(
            _("price must be a multiple of %(tick)s") % {"tick": format(symbol.price_tick.normalize(), "f")},
            field="price",
        )
    if reference is not None and symbol.price_band_rate > 0:
        low = reference * (1 - symbol.price_band_rate)
        high = reference * (1 + symbol.price_band_rate)
        if not low <= price <= high:
            raise PriceOutOfBand(
                _("price must be within %(low)s and %(high)s")
                % {"low": format(low.normalize(), "f"), "high": format(high.normalize(), "f")},
                bound="min" if price < low else "max",
            )


def _check_quantity(symbol: Symbol, qty: Decimal) -> None:
    if qty <= 0:
        raise InvalidParameter(_("quantity must be greater than zero"), field="quantity", rule="positive")
    if not is_multiple(qty, symbol.quantity_step):
        raise PrecisionTooHigh(
            _("quantity must be a multiple of %(step)s") % {"step": format(symbol.quantity_step.normalize(), "f")},
            field="quantity",
        )
    if qty < symbol.min_quantity:
        raise QuantityTooSmall(
            _("quantity must be at least %(minimum)s") % {"minimum": format(symbol.min_quantity.normalize(), "f")}
        )
    if qty > symbol.max_quantity:
        raise QuantityTooLarge(
            _("quantity must be at most %(maximum)s") % {"maximum": format(symbol.max_quantity.normalize(), "f")}
        )


def order_place(
    *,
    user: User,
    symbol_id: str,
    side: str,
    type: str,
    quantity: object = None,
    price: object = None,
    quote_amount: object = None,
    time_in_force: str | None = None,
    stp: str | None = None,
    client_order_id: str | None = None,
    account_index: int = 0,
) -> Order:
    """Place an order. ``order.created`` is False when ``client_order_id`` repeats an earlier order."""
    # Idempotency is the unique (account, client_order_id): a retry's insert fails and returns the
    # first order. A retry that no longer validates (the symbol paused since, say) returns it too.
    if client_order_id and not CLIENT_ORDER_ID.match(client_order_id):
        raise InvalidParameter(_("client_order_id: 1–64 characters of A-Z a-z 0-9 _ - . :"))
    try:
        draft = order_validate(
            user=user,
            symbol_id=symbol_id,
            side=side,
            type=type,
            quantity=quantity,
            price=price,
            quote_amount=quote_amount,
            time_in_force=time_in_force,
            stp=stp,
        )
    except BrokerError:
        existing = _order_placed_before(user, account_index, client_order_id)
        if existing is None:
            raise
        return existing
    account = user_account(user=user, type=AccountType.SPOT, index=account_index)
    with transaction.atomic():
        order = Order(
            organization_id=account.organization_id,
            user=user,
            account=account,
            symbol=draft.symbol,
            client_order_id=client_order_id or f"auto-{uuid.uuid4().hex}",
            side=draft.side,
            type=draft.type,
            time_in_force=draft.time_in_force,
            stp=draft.stp,
            price=draft.price,
            quantity=draft.quantity,
            quote_amount=draft.quote_amount,
            protection_price=draft.protection_price,
            leaves_quantity=draft.quantity or Decimal(0),
            hold_token_id=draft.hold_token_id,
            hold_amount=draft.hold_amount,
            hold_remaining=draft.hold_amount,
        )
        try:
            with transaction.atomic():
                order.save(force_insert=True)
        except IntegrityError:
            # A concurrent retry with the same client_order_id won the insert: return its order.
            first = Order.objects.get(account=account, client_order_id=order.client_order_id)
            first.created = False  # type: ignore[attr-defined]
            return first
        # The command before the hold: the hold locks the user's balance until the commit, and a
        # matching batch settling this user's trades waits for that lock (docs/benchmarks.md).
        MatchCommand.objects.create(symbol=draft.symbol, kind=CommandKind.PLACE, order=order)
        ledger_post(
            kind=TransactionKind.ORDER_HOLD,
            organization_id=user.organization_id,
            legs=[
                Leg(account.pk, draft.hold_token_id, Bucket.AVAILABLE, -draft.hold_amount),
                Leg(account.pk, draft.hold_token_id, Bucket.HOLD, draft.hold_amount),
            ],
            reference=f"order:{order.pk}",
            idempotency_key=f"order:{order.pk}:hold",
            acting_user_id=user.pk,
        )
        symbol_pk = draft.symbol.pk
        transaction.on_commit(lambda: queue_match(symbol_pk))
    if tasks_inline():
        order.refresh_from_db()  # in embedded mode the engine has already run (on commit)
    order.created = True  # type: ignore[attr-defined]
    return order


def _order_placed_before(user: User, account_index: int, client_order_id: str | None) -> Order | None:
    if not client_order_id:
        return None
    existing = Order.objects.filter(
        user=user, account__type=AccountType.SPOT, account__index=account_index, client_order_id=client_order_id
    ).first()
    if existing is not None:
        existing.created = False  # type: ignore[attr-defined]
    return existing


def order_get(*, user: User, order_id: int | None = None, client_order_id: str | None = None) -> Order:
    queryset = Order.objects.filter(user=user).select_related("symbol")
    if order_id is not None:
        order = queryset.filter(pk=order_id).first()
    elif client_order_id:
        order = queryset.filter(client_order_id=client_order_id).order_by("-pk").first()
    else:
        raise InvalidParameter(_("order_id or client_order_id is required"))
    if order is None:
        raise OrderNotFound()
    return order


def order_cancel(
    *, user: User, order_id: int | None = None, client_order_id: str | None = None, reason: str = "canceled"
) -> Order:
    """Request a cancel. Idempotent: a second request for the same order changes nothing."""
    order = order_get(user=user, order_id=order_id, client_order_id=client_order_id)
    if not order.is_open:
        raise CancelRejected(_("Order is already %(status)s") % {"status": order.status})
    with transaction.atomic():
        _command, created = _cancel_command(order, reason)
        if created:
            symbol_pk = order.symbol_id
            transaction.on_commit(lambda: queue_match(symbol_pk))
    order.refresh_from_db()
    return order


def _cancel_command(order: Order, reason: str) -> tuple[MatchCommand | None, bool]:
    try:
        with transaction.atomic():
            command = MatchCommand.objects.create(
                symbol_id=order.symbol_id, kind=CommandKind.CANCEL, order=order, reason=reason[:64]
            )
            return command, True
    except IntegrityError:
        return None, False


def order_cancel_all(*, user: User, symbol_id: str | None = None, reason: str = "canceled") -> int:
    """Request cancels for every open order of ``user`` (on one symbol, or all); returns how many."""
    return len(order_cancel_all_requested(user=user, symbol_id=symbol_id, reason=reason))


def order_cancel_all_requested(*, user: User, symbol_id: str | None = None, reason: str = "canceled") -> list[int]:
    """``order_cancel_all`` returning the ids of the orders whose cancel was requested (BGE API)."""
    queryset = Order.objects.filter(user=user, status__in=OPEN_STATUSES)
    if symbol_id:
        queryset = queryset.filter(symbol_id=symbol_id.upper())
    return _cancel_many(queryset, reason)


def symbol_cancel_resting(*, symbol: Symbol, reason: str) -> int:
    """Cancel every open order of a symbol (symbol delisted, or staff action)."""
    return len(_cancel_many(Order.objects.filter(symbol=symbol, status__in=OPEN_STATUSES), reason))


def _cancel_many(queryset: QuerySet[Order], reason: str) -> list[int]:
    with transaction.atomic():
        orders = list(queryset.only("pk", "symbol_id"))
        commands = [
            MatchCommand(symbol_id=o.symbol_id, kind=CommandKind.CANCEL, order_id=o.pk, reason=reason[:64])
            for o in orders
        ]
        MatchCommand.objects.bulk_create(commands, ignore_conflicts=True)
        for symbol_pk in sorted({o.symbol_id for o in orders}):
            transaction.on_commit(lambda s=symbol_pk: queue_match(s))  # type: ignore[misc]
    return [o.pk for o in orders]


def stale_symbols() -> list[str]:
    """Symbols with commands waiting (used by the sweeper to re-queue lost task messages)."""
    return sorted(
        set(MatchCommand.objects.filter(processed_at__isnull=True).values_list("symbol_id", flat=True).distinct())
    )


def now_ms() -> int:
    return int(timezone.now().timestamp() * 1000)
