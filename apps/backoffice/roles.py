"""Staff roles (DESIGN.md §12): Django groups holding explicit permissions.

Each role is a group whose permissions are exactly the list below; ``roles_sync`` (run after every
``migrate`` and by ``bootstrap``) creates missing groups and resets each group to its list, so a role
means the same on every deployment. Django's admin enforces the model permissions on every page
(view / add / change / delete); each admin action names the permission it needs, and each domain
service checks its own (``kyc.review_kycapplication``, ``accounts.approve_withdrawal``, …) again.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db.models import Q


@dataclass(frozen=True)
class Role:
    slug: str  # what `create_staff --group` accepts besides the name
    name: str  # the Django group's name
    description: str
    permissions: tuple[str, ...]  # "app_label.codename"; "*.view" = every view permission


DASHBOARD = "backoffice.view_dashboard"
EXPORT = "backoffice.export_csv"
CANCEL_ORDER = "backoffice.cancel_order"

ROLES: tuple[Role, ...] = (
    Role(
        "kyc-reviewer",
        "KYC reviewer",
        "Reviews KYC applications and their documents; sees users.",
        (
            DASHBOARD,
            "users.view_user",
            "users.view_userfreeze",
            "users.view_loginrecord",
            "kyc.view_kyccountry",
            "kyc.view_kycapplication",
            "kyc.change_kycapplication",
            "kyc.review_kycapplication",
        ),
    ),
    Role(
        "withdrawal-approver",
        "Withdrawal approver",
        "Approves or rejects withdrawals; sees balances, deposits and the funding audit.",
        (
            DASHBOARD,
            "users.view_user",
            "accounts.view_account",
            "accounts.view_balance",
            "accounts.view_withdrawal",
            "accounts.approve_withdrawal",
            "accounts.view_withdrawalapproval",
            "accounts.view_deposit",
            "accounts.view_depositaddress",
            "accounts.view_addressbookentry",
            "accounts.view_fundingaudit",
            "accounts.view_withdrawallimit",
        ),
    ),
    Role(
        "listing-manager",
        "Listing manager",
        "Lists, pauses and delists tokens and symbols; cancels resting orders.",
        (
            DASHBOARD,
            "tokens.view_token",
            "tokens.add_token",
            "tokens.change_token",
            "tokens.view_chainnetwork",
            "tokens.add_chainnetwork",
            "tokens.change_chainnetwork",
            "tokens.view_symbol",
            "tokens.add_symbol",
            "tokens.change_symbol",
            "tokens.view_organizationtoken",
            "tokens.add_organizationtoken",
            "tokens.change_organizationtoken",
            "tokens.view_organizationsymbol",
            "tokens.add_organizationsymbol",
            "tokens.change_organizationsymbol",
            "trading.view_order",
            "trading.view_trade",
            CANCEL_ORDER,
        ),
    ),
    Role(
        "finance-operator",
        "Finance operator",
        "Airdrops, lock-ups, bonuses, conversions, fiat confirmations and payouts; exports.",
        (
            DASHBOARD,
            EXPORT,
            "users.view_user",
            "accounts.view_account",
            "accounts.view_balance",
            "accounts.view_ledgertransaction",
            "accounts.view_posting",
            "accounts.view_deposit",
            "accounts.view_depositaddress",
            "accounts.confirm_fiat_deposit",
            "accounts.simulate_deposit",
            "accounts.view_withdrawal",
            "accounts.payout_withdrawal",
            "accounts.view_withdrawallimit",
            "accounts.add_withdrawallimit",
            "accounts.change_withdrawallimit",
            "accounts.view_transfer",
            "accounts.view_fundingaudit",
            "trading.view_order",
            "trading.view_trade",
            "finance.view_airdrop",
            "finance.add_airdrop",
            "finance.view_airdropitem",
            "finance.view_lockup",
            "finance.add_lockup",
            "finance.release_lockup",
            "finance.view_bonusgrant",
            "finance.add_bonusgrant",
            "finance.release_bonusgrant",
            "finance.view_accounttransferlock",
            "finance.add_accounttransferlock",
            "finance.change_accounttransferlock",
            "finance.view_convertpair",
            "finance.add_convertpair",
            "finance.change_convertpair",
            "finance.view_convertquote",
            "finance.view_mappingpair",
            "finance.add_mappingpair",
            "finance.change_mappingpair",
            "finance.view_mappingrecord",
            "finance.add_mappingrecord",
            "finance.view_commissionconfig",
            "finance.change_commissionconfig",
            "finance.view_commissionrecord",
            "finance.add_commissionrecord",
            "finance.view_systembalance",
            "finance.view_financeoperation",
            "finance.export_financeoperation",
            "backoffice.view_dailyuserstatistics",
            "backoffice.view_dailytokenstatistics",
            "backoffice.view_dailysymbolstatistics",
        ),
    ),
    Role(
        "content-editor",
        "Content editor",
        "Announcements, banners and in-site messages (website management).",
        (
            DASHBOARD,
            "users.view_user",
            "content.view_announcement",
            "content.add_announcement",
            "content.change_announcement",
            "content.publish_announcement",
            "content.view_banner",
            "content.add_banner",
            "content.change_banner",
            "content.view_message",
            "content.add_message",
            "content.change_message",
        ),
    ),
    Role(
        "support",
        "Support",
        "Read-only: every list and object page; no action, no export, no KYC documents.",
        (DASHBOARD, "*.view"),
    ),
)


def role_find(value: str) -> Role | None:
    """A role by slug or group name, case-insensitively."""
    wanted = value.strip().lower()
    return next((r for r in ROLES if wanted in (r.slug, r.name.lower())), None)


def role_permissions(role: Role, *, using: str = "default") -> list[Permission]:
    """The permissions of ``role`` that exist (apps added later grant theirs after their migrate)."""
    query = Q(pk__in=[])
    for perm in role.permissions:
        app_label, codename = perm.split(".", 1)
        if app_label == "*":
            query |= Q(codename__startswith=f"{codename}_")
        else:
            query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.using(using).filter(query))


def roles_sync(*, using: str = "default") -> list[str]:
    """Create the role groups and set each one's permissions to exactly its list."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    # post_migrate runs app by app: make sure every app's permissions exist before granting them.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    for role in ROLES:
        group, _ = Group.objects.using(using).get_or_create(name=role.name)
        group.permissions.set(role_permissions(role, using=using))
    return [role.name for role in ROLES]
