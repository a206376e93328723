"""Back-office tables: daily statistics, and the staff permissions that belong to no model.

The three ``Daily*Statistics`` tables are filled by ``apps.backoffice.tasks.statistics_refresh``
(Celery beat) through ``apps.backoffice.services.statistics_day_store``; the dashboard and the Org
API's statistics selectors read them. One row per day and organization, plus one row with
``organization = NULL`` for the whole exchange: a trade between users of two organizations counts in
both organizations' rows and once in the exchange row, so the exchange row is not the sum of the rest.
Times are UTC; a day's row describes ``[day 00:00, day+1 00:00)``, and holder counts and holdings
are taken at the end of that interval (or when the row was computed, for today).
"""

from __future__ import annotations

from django.db import models

from apps.core.money import AmountField


class StaffPermission(models.Model):
    """No table: only carries permissions that guard back-office features rather than one model."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", "Can see the back-office dashboard and statistics"),
            ("export_csv", "Can export admin lists as CSV"),
            ("cancel_order", "Can cancel users' orders and all resting orders of a symbol"),
        ]

    def __str__(self) -> str:
        return "back-office permission"


def _unique_per_day(*fields: str, name: str) -> list[models.BaseConstraint]:
    # One exchange-wide row (organization NULL) and one row per organization; NULLs are distinct in
    # a plain unique constraint, hence the two partial ones.
    return [
        models.UniqueConstraint(
            fields=["day", *fields], condition=models.Q(organization__isnull=True), name=f"{name}_exchange"
        ),
        models.UniqueConstraint(
            fields=["day", "organization", *fields],
            condition=models.Q(organization__isnull=False),
            name=f"{name}_org",
        ),
    ]


class DailyUserStatistics(models.Model):
    day = models.DateField()
    organization = models.ForeignKey("users.Organization", on_delete=models.CASCADE, null=True, blank=True)
    registrations = models.PositiveIntegerField(default=0)
    logins = models.PositiveIntegerField(default=0)  # successful logins
    login_users = models.PositiveIntegerField(default=0)  # distinct users who logged in
    kyc_submitted = models.PositiveIntegerField(default=0)
    kyc_approved = models.PositiveIntegerField(default=0)
    kyc_rejected = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day"]
        verbose_name_plural = "daily user statistics"
        constraints = _unique_per_day(name="daily_user_stats")

    def __str__(self) -> str:
        return f"users {self.day} org {self.organization_id or 'all'}"


class DailyTokenStatistics(models.Model):
    day = models.DateField()
    organization = models.ForeignKey("users.Organization", on_delete=models.CASCADE, null=True, blank=True)
    token = models.ForeignKey("tokens.Token", on_delete=models.PROTECT, related_name="+")
    holders = models.PositiveIntegerField(default=0)  # users with a total > 0 at the end of the day
    holdings = AmountField()  # sum of users' totals (available + hold + lockup) at the end of the day
    deposit_count = models.PositiveIntegerField(default=0)  # credited that day
    deposit_amount = AmountField()
    withdrawal_count = models.PositiveIntegerField(default=0)  # completed that day
    withdrawal_amount = AmountField()
    deposit_total = AmountField()  # cumulative credited deposits up to the end of the day
    withdrawal_total = AmountField()  # cumulative completed withdrawals up to the end of the day
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "token_id"]
        verbose_name_plural = "daily token statistics"
        constraints = _unique_per_day("token", name="daily_token_stats")

    def __str__(self) -> str:
        return f"{self.token_id} {self.day} org {self.organization_id or 'all'}"


class DailySymbolStatistics(models.Model):
    day = models.DateField()
    organization = models.ForeignKey("users.Organization", on_delete=models.CASCADE, null=True, blank=True)
    symbol = models.ForeignKey("tokens.Symbol", on_delete=models.PROTECT, related_name="+")
    order_count = models.PositiveIntegerField(default=0)  # orders placed
    order_quantity = AmountField()  # base quantity of the orders placed (market buys by quote count 0)
    cancel_count = models.PositiveIntegerField(default=0)  # orders that ended canceled
    cancel_quantity = AmountField()  # their unfilled base quantity
    trade_count = models.PositiveIntegerField(default=0)
    trade_quantity = AmountField()  # base volume
    trade_amount = AmountField()  # quote volume
    fee_base = AmountField()  # fees paid by buyers, in the base token
    fee_quote = AmountField()  # fees paid by sellers, in the quote token
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "symbol_id"]
        verbose_name_plural = "daily symbol statistics"
        constraints = _unique_per_day("symbol", name="daily_symbol_stats")

    def __str__(self) -> str:
        return f"{self.symbol_id} {self.day} org {self.organization_id or 'all'}"
