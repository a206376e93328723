"""A demo market maker, so a fresh `make run` shows a live market.

Two bot users of the default organization: a maker that keeps a ladder of bids and asks around a
reference price that random-walks, and a taker that sends small market orders so trades (and klines,
tickers, fills) appear. Everything goes through the trading services, like any user.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import AccountType, Balance
from apps.accounts.services import manual_credit
from apps.core import errors
from apps.core.money import quantize_down
from apps.tokens.models import Symbol
from apps.trading.services import last_price, order_cancel_all, order_place
from apps.users.models import Organization, User
from apps.users.services import user_create

DEFAULT_PRICES = {"BTC": Decimal("60000"), "ETH": Decimal("3000")}
LEVELS = 5


class Command(BaseCommand):
    help = "Quote and trade a symbol around a reference price (demo liquidity). Ctrl-C stops."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--symbol", required=True)
        parser.add_argument("--iterations", type=int, default=0, help="0 = run until stopped")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between rounds")
        parser.add_argument("--reference", default=None, help="starting price (default: last price)")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        symbol = Symbol.objects.select_related("base", "quote").filter(pk=options["symbol"].upper()).first()
        if symbol is None:
            raise CommandError(f"Unknown symbol {options['symbol']}")
        rng = random.Random(options["seed"])
        maker, taker = self._bot("mm-maker"), self._bot("mm-taker")
        price = (
            Decimal(options["reference"])
            if options["reference"]
            else (last_price(symbol) or DEFAULT_PRICES.get(symbol.base_id, Decimal("100")))
        )
        iteration = 0
        while not options["iterations"] or iteration < options["iterations"]:
            iteration += 1
            if iteration % 50 == 1:
                for bot in (maker, taker):
                    self._top_up(bot, symbol, price)
            price = self._round(symbol, price * (1 + Decimal(rng.uniform(-0.002, 0.002))))
            try:
                self._quote(symbol, maker, price, rng)
                self._take(symbol, taker, price, rng)
            except errors.BrokerError as exc:
                self.stderr.write(f"market maker: {exc.code}: {exc.message}")
            self.stdout.write(f"{symbol.pk} round {iteration}: reference {price}")
            if options["interval"]:
                time.sleep(options["interval"])

    def _bot(self, name: str) -> User:
        organization = Organization.objects.order_by("pk").first()
        if organization is None:
            raise CommandError("Run `manage.py bootstrap` first")
        email = f"{name}@demo.local"
        user = User.objects.filter(organization=organization, email=email).first()
        if user is not None:
            return user
        try:
            return user_create(organization=organization, email=email, password=None, kyc_level=3)
        except errors.Conflict:
            # another market maker (one runs per symbol) created the bot at the same moment
            return User.objects.get(organization=organization, email=email)

    def _top_up(self, bot: User, symbol: Symbol, price: Decimal) -> None:
        wanted = {symbol.base_id: Decimal(100_000) / price * 10, symbol.quote_id: Decimal(1_000_000)}
        for token, target in wanted.items():
            row = Balance.objects.filter(account__user=bot, account__type=AccountType.SPOT, token_id=token).first()
            have = row.available if row else Decimal(0)
            if have < target / 2:
                precision = symbol.base.precision if token == symbol.base_id else symbol.quote.precision
                amount = quantize_down(target - have, precision)
                manual_credit(user=bot, token_id=token, amount=amount, reason="demo market maker")

    @staticmethod
    def _round(symbol: Symbol, value: Decimal) -> Decimal:
        return max(symbol.price_tick, (value / symbol.price_tick).quantize(Decimal(1)) * symbol.price_tick)

    def _quote(self, symbol: Symbol, maker: User, price: Decimal, rng: random.Random) -> None:
        order_cancel_all(user=maker, symbol_id=symbol.pk, reason="requote")
        for level in range(1, LEVELS + 1):
            offset = Decimal("0.0005") * level
            for side, level_price in (("buy", price * (1 - offset)), ("sell", price * (1 + offset))):
                qty = self._quantity(symbol, Decimal(rng.uniform(200, 2000)) / price)
                order_place(
                    user=maker,
                    symbol_id=symbol.pk,
                    side=side,
                    type="limit",
                    price=self._round(symbol, level_price),
                    quantity=qty,
                )

    def _take(self, symbol: Symbol, taker: User, price: Decimal, rng: random.Random) -> None:
        if rng.random() < 0.5:
            order_place(
                user=taker,
                symbol_id=symbol.pk,
                side="buy",
                type="market",
                quote_amount=quantize_down(Decimal(rng.uniform(20, 300)), min(2, symbol.quote.precision)),
            )
        else:
            qty = self._quantity(symbol, Decimal(rng.uniform(20, 300)) / price)
            order_place(user=taker, symbol_id=symbol.pk, side="sell", type="market", quantity=qty)

    @staticmethod
    def _quantity(symbol: Symbol, value: Decimal) -> Decimal:
        steps = max(1, int(value / symbol.quantity_step))
        qty = steps * symbol.quantity_step
        return min(max(qty, symbol.min_quantity), symbol.max_quantity)
