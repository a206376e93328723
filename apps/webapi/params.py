"""Query-string parsing shared by the User API views."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.request import Request

from apps.core.errors import InvalidParameter


def query_int(request: Request, name: str) -> int | None:
    """An optional integer query parameter; a present but non-integer value is a clear 400."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidParameter(_("%(name)s must be an integer") % {"name": name}) from None
