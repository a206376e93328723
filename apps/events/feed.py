"""The organization event feed: outbox types under their Org API names (seed 001 §4) and one body.

The websocket feed, the REST long-poll and webhooks all send ``feed_body(event)``:

    {"event_id": <org_seq>, "event_type": "org.userRegister", "created_at": <ms>, "event": {...}}

``event`` is the outbox payload with the Org API's snake_case names (``token`` → ``token_id``,
``symbol`` → ``symbol_id``), numeric ids as numbers, and the user's ``uid`` when the event concerns
a user. A trade event carries only the organization's own order: the counterparty's order may belong
to another organization and is never named (seed 001 §5).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from apps.events.models import OutboxEvent

# Outbox type → Org API name. ``airdrop`` and ``order.update`` depend on the payload (below).
ORG_EVENT_NAMES: dict[str, str] = {
    "user.register": "org.userRegister",
    "user.login": "org.userLogin",
    "user.security.changed": "org.userUpdateInfo",
    "user.kyc.submitted": "org.userUpdateKYCInfo",
    "user.kyc.result": "org.userUpdateKYCResult",
    "user.password.changed": "org.userUpdatePassword",
    "deposit.credited": "org.userDepositNotice",
    "withdrawal.requested": "org.userWithdraw",
    "withdrawal.updated": "org.userWithdrawNotice",
    "balance.changed": "org.userBalanceChanged",
    "trade.match": "org.tradeMatch",
    "lock": "org.userLock",
    "unlock": "org.userUnLock",
    "mapping": "org.mapping",
    "convert": "org.convert",
    # Not in seed 001's list; sent under these names so nothing the broker records is hidden.
    "bonus.granted": "org.bonusGranted",
    "bonus.released": "org.bonusReleased",
    "commission": "org.commission",
}
AIRDROP_BATCH = "org.airdrop"  # the broker's batch was created / completed
AIRDROP_RECEIVED = "org.userReceiveAirdrop"  # one user received their row
PLACE_ORDER = "org.placeOrder"  # an order was accepted or changed state (opt-in)
CANCEL_ORDER = "org.cancelOrder"  # an order was canceled (opt-in)

# Seed 001 §4.3: order events are "not provided by default" — a subscriber names them explicitly.
OPT_IN_TYPES = frozenset({PLACE_ORDER, CANCEL_ORDER})
ALL_TYPES = frozenset({*ORG_EVENT_NAMES.values(), AIRDROP_BATCH, AIRDROP_RECEIVED, *OPT_IN_TYPES})
DEFAULT_TYPES = ALL_TYPES - OPT_IN_TYPES

_RENAMES = {"token": "token_id", "symbol": "symbol_id", "from_token": "from_token_id", "to_token": "to_token_id"}
_NUMERIC_IDS = frozenset(
    {
        "order_id",
        "trade_id",
        "deposit_id",
        "withdrawal_id",
        "lockup_id",
        "quote_id",
        "mapping_id",
        "application_id",
        "bank_card_id",
        "grant_id",
        "transaction_id",
        "account_id",
    }
)


def org_event_type(type: str, payload: dict[str, Any]) -> str | None:
    """The Org API name of an outbox event, or None when the feed does not carry it."""
    if type == "airdrop":
        return AIRDROP_RECEIVED if payload.get("stage") == "received" else AIRDROP_BATCH
    if type == "order.update":
        return CANCEL_ORDER if payload.get("status") == "canceled" else PLACE_ORDER
    return ORG_EVENT_NAMES.get(type)


def types_clean(types: list[str] | None) -> frozenset[str]:
    """A subscription's type list: empty or ``*`` means the default types; unknown names are refused."""
    from apps.core.errors import InvalidParameter

    wanted = {t.strip() for t in (types or []) if t and t.strip()}
    if not wanted or wanted == {"*"}:
        return DEFAULT_TYPES
    unknown = sorted(wanted - ALL_TYPES)
    if unknown:
        raise InvalidParameter(_("Unknown event type: %(types)s") % {"types": ", ".join(unknown)})
    return frozenset(wanted)


def _shape(payload: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {}
    for key, value in payload.items():
        name = _RENAMES.get(key, key)
        if name in _NUMERIC_IDS and isinstance(value, str) and value.isdigit():
            shaped[name] = int(value)
        else:
            shaped[name] = value
    return shaped


def feed_body(event: OutboxEvent, *, uid: int | None = None) -> dict[str, Any]:
    """What a feed subscriber receives for ``event`` (delivered, so ``org_seq`` is set)."""
    event_type = org_event_type(event.type, event.payload) or event.type
    body = _shape(event.payload)
    if uid is None and event.user_id is not None and event.user is not None:
        uid = event.user.uid
    if uid is not None:
        body.setdefault("uid", str(uid))
    return {
        "event_id": event.org_seq,
        "event_type": event_type,
        "created_at": int(event.created_at.timestamp() * 1000),
        "event": body,
    }
