"""What an organization offers: listed items minus its opt-outs."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.tokens.models import OrganizationSymbol, OrganizationToken, Symbol, Token


def tokens_offered(*, organization_id: int) -> QuerySet[Token]:
    disabled = OrganizationToken.objects.filter(organization_id=organization_id, enabled=False).values("token_id")
    return Token.objects.filter(is_listed=True).exclude(pk__in=disabled).order_by("pk")


def symbols_offered(*, organization_id: int) -> QuerySet[Symbol]:
    disabled = OrganizationSymbol.objects.filter(organization_id=organization_id, enabled=False).values("symbol_id")
    return (
        Symbol.objects.filter(is_listed=True)
        .exclude(pk__in=disabled)
        .exclude(
            base__in=OrganizationToken.objects.filter(organization_id=organization_id, enabled=False).values("token_id")
        )
        .exclude(
            quote__in=OrganizationToken.objects.filter(organization_id=organization_id, enabled=False).values(
                "token_id"
            )
        )
        .select_related("base", "quote")
        .order_by("pk")
    )


def symbol_get_offered(*, organization_id: int, symbol_id: str) -> Symbol | None:
    return symbols_offered(organization_id=organization_id).filter(pk=symbol_id.upper()).first()
