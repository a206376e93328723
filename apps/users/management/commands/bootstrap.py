"""Set up a broker: the default organization, its system accounts, staff groups and a superuser.

Idempotent: running it again changes nothing that exists. ``--demo`` adds BTC/ETH/USDT, the
BTCUSDT and ETHUSDT symbols and two funded demo users. The superuser's password is random on the
first run, and the superuser gets a TOTP device for the admin's sign-in step (docs/backoffice.md);
both are kept in ``var/staff-login.json`` (git-ignored) so ``make run`` can show them again.
"""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser
from django.db import transaction

from apps.accounts.services import manual_credit, organization_open_system_accounts
from apps.backoffice.roles import ROLES, roles_sync
from apps.backoffice.services import staff_totp_device, statistics_refresh
from apps.core.management.base import JsonCommand
from apps.tokens.models import Symbol, Token
from apps.tokens.services import chain_create, symbol_create, token_create
from apps.users.models import Organization, User
from apps.users.security import totp_secret
from apps.users.services import organization_create, user_create

DEFAULT_ORG = "Default Broker"

# The DESIGN.md §12 staff roles live in apps/backoffice/roles.py; this name keeps older imports working.
STAFF_GROUPS: dict[str, list[str]] = {role.name: list(role.permissions) for role in ROLES}

DEMO_TOKENS: list[dict[str, Any]] = [
    {
        "id": "BTC",
        "name": "BTC",
        "full_name": "Bitcoin",
        "precision": 8,
        "min_deposit": Decimal("0.0001"),
        "chains": [
            {
                "chain": "BTC",
                "confirmations_required": 2,
                "withdraw_fee": Decimal("0.0005"),
                "min_withdraw": Decimal("0.001"),
                "address_regex": r"^(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,62}$",
            }
        ],
    },
    {
        "id": "ETH",
        "name": "ETH",
        "full_name": "Ethereum",
        "precision": 8,
        "min_deposit": Decimal("0.001"),
        "chains": [
            {
                "chain": "ERC20",
                "confirmations_required": 12,
                "withdraw_fee": Decimal("0.005"),
                "min_withdraw": Decimal("0.01"),
                "address_regex": r"^0x[0-9a-fA-F]{40}$",
            }
        ],
    },
    {
        "id": "USDT",
        "name": "USDT",
        "full_name": "Tether USD",
        "precision": 6,
        "min_deposit": Decimal("1"),
        "chains": [
            {
                "chain": "ERC20",
                "confirmations_required": 12,
                "withdraw_fee": Decimal("5"),
                "min_withdraw": Decimal("10"),
                "address_regex": r"^0x[0-9a-fA-F]{40}$",
            },
            {
                "chain": "TRC20",
                "confirmations_required": 20,
                "withdraw_fee": Decimal("1"),
                "min_withdraw": Decimal("10"),
                "address_regex": r"^T[1-9A-HJ-NP-Za-km-z]{33}$",
            },
        ],
    },
]
DEMO_SYMBOLS: list[dict[str, Any]] = [
    {
        "base": "BTC",
        "quote": "USDT",
        "price_tick": Decimal("0.01"),
        "quantity_step": Decimal("0.000001"),
        "min_quantity": Decimal("0.000001"),
        "max_quantity": Decimal("1000"),
        "min_notional": Decimal("1"),
        "merge_levels": "0.01,0.1,1,10",
    },
    {
        "base": "ETH",
        "quote": "USDT",
        "price_tick": Decimal("0.01"),
        "quantity_step": Decimal("0.0001"),
        "min_quantity": Decimal("0.0001"),
        "max_quantity": Decimal("10000"),
        "min_notional": Decimal("1"),
        "merge_levels": "0.01,0.1,1",
    },
]
DEMO_USERS: list[dict[str, Any]] = [
    {"email": "alice@demo.local", "balances": {"USDT": "100000", "BTC": "2", "ETH": "20"}},
    {"email": "bob@demo.local", "balances": {"USDT": "100000", "BTC": "2", "ETH": "20"}},
]


def credentials_path() -> Path:
    return Path(settings.BASE_DIR) / "var" / "staff-login.json"


class Command(JsonCommand):
    help = "Create the default organization, staff groups and superuser; --demo adds tokens, symbols and users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--demo", action="store_true", help="Add demo tokens, symbols and funded users")
        parser.add_argument("--admin-username", default="admin")

    def run(self, **options: Any) -> dict[str, Any]:
        with transaction.atomic():
            organization = Organization.objects.filter(name=DEFAULT_ORG).first()
            if organization is None:
                organization = organization_create(name=DEFAULT_ORG)
            organization_open_system_accounts(organization=organization)
            groups = roles_sync()
            login = self._superuser(options["admin_username"])
            result: dict[str, Any] = {"org_id": organization.pk, "staff_groups": groups, **login}
            if options["demo"]:
                result["demo"] = self._demo(organization)
        if options["demo"]:
            statistics_refresh(days=2)  # the dashboard's charts have today's demo activity at once
        return result

    def _totp(self, user: User) -> dict[str, Any]:
        """The superuser's TOTP device (created once), saved beside the password."""
        device, _ = staff_totp_device(user=user)
        path = credentials_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        saved = json.loads(path.read_text()) if path.exists() else {}
        saved.update({"totp_uri": device.config_url, "totp_secret": totp_secret(device)})
        path.write_text(json.dumps(saved))
        path.chmod(0o600)
        return {"staff_totp_uri": device.config_url, "staff_totp_secret": totp_secret(device)}

    def _superuser(self, username: str) -> dict[str, Any]:
        path = credentials_path()
        user = User.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(username=username, email="", password=password)
            path.parent.mkdir(parents=True, exist_ok=True)
            saved = json.loads(path.read_text()) if path.exists() else {}
            path.write_text(json.dumps({**saved, "username": username, "password": password}))
            path.chmod(0o600)
            user = User.objects.get(username=username)
            return {"staff_username": username, "staff_password": password, **self._totp(user), "created": True}
        saved = json.loads(path.read_text()) if path.exists() else {}
        known = saved.get("password") if saved.get("username") == username else None
        return {"staff_username": username, "staff_password": known, **self._totp(user), "created": False}

    def _demo(self, organization: Organization) -> dict[str, Any]:
        for spec in DEMO_TOKENS:
            spec = dict(spec)
            chains = spec.pop("chains")
            if not Token.objects.filter(pk=spec["id"]).exists():
                token = token_create(**spec)
                for chain in chains:
                    chain_create(token=token, **chain)
        for spec in DEMO_SYMBOLS:
            spec = dict(spec)
            base, quote = Token.objects.get(pk=spec.pop("base")), Token.objects.get(pk=spec.pop("quote"))
            if not Symbol.objects.filter(pk=f"{base.pk}{quote.pk}").exists():
                symbol_create(base=base, quote=quote, **spec)
        path = credentials_path()
        saved = json.loads(path.read_text()) if path.exists() else {}
        demo_password = saved.get("demo_password") or secrets.token_urlsafe(10)
        users = []
        for spec in DEMO_USERS:
            user = User.objects.filter(organization=organization, email=spec["email"]).first()
            if user is None:
                user = user_create(organization=organization, email=spec["email"], password=demo_password, kyc_level=2)
            for token_id, amount in spec["balances"].items():
                manual_credit(
                    user=user,
                    token_id=token_id,
                    amount=amount,
                    reason="demo balance",
                    idempotency_key=f"bootstrap:demo:{user.uid}:{token_id}",
                )
            users.append({"uid": str(user.uid), "email": user.email})
        saved["demo_password"] = demo_password
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(saved))
        path.chmod(0o600)
        return {
            "tokens": [t["id"] for t in DEMO_TOKENS],
            "symbols": [f"{s['base']}{s['quote']}" for s in DEMO_SYMBOLS],
            "users": users,
            "demo_password": demo_password,
        }
