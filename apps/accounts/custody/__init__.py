"""The custody gateway (DESIGN.md §7): ``get_gateway()`` returns the backend ``CUSTODY_BACKEND`` names."""

from __future__ import annotations

from apps.accounts.custody.base import CustodyGateway, IssuedAddress, SubmittedWithdrawal, get_gateway

__all__ = ["CustodyGateway", "IssuedAddress", "SubmittedWithdrawal", "get_gateway"]
