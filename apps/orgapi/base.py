"""The base views of the Org API, tenant isolation, and the schema pieces every endpoint shares.

Views are DRF ``APIView``s used for routing, input validation and the schema. Before a view does
anything, ``initial`` reads the raw request, authenticates the organization key (``apps.orgapi.auth``),
checks the key's permission for the operation (``read`` for reads, ``trade`` for writes — a read-only
key is refused every write — and ``withdraw`` / ``transfer`` for withdrawals and finance), and counts
the request against the endpoint's polling limit. Every object is then resolved inside the key's
organization: a uid, order or lock-up of another organization is answered exactly like one that does
not exist, and the attempt is written to the ``apps.orgapi.security`` log.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.apikeys.auth import api_key_require
from apps.apikeys.models import ApiKey
from apps.core.errors import InvalidParameter, NotFound, OrderNotFound, UserNotFound
from apps.core.throttles import rate_limit
from apps.orgapi import selectors
from apps.orgapi.auth import org_authenticate, security_log
from apps.orgapi.errors import exception_handler
from apps.orgapi.params import Params, time_window
from apps.orgapi.writes import write_once
from apps.users.models import Organization, User
from apps.users.selectors import user_get_by_uid

# Polling limits per key and endpoint (seed principle 6), on top of the key's 10 requests/s.
LIST_POLL = (60, 60.0)  # list / history pulls: 60 per minute
STATS_POLL = (10, 60.0)  # statistics: 10 per minute


class OrgApiView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    operation: ClassVar[str] = ""
    permission: ClassVar[str] = "read"
    poll_limit: ClassVar[tuple[int, float] | None] = None
    sensitive: ClassVar[bool] = False  # the answer carries a secret: stored encrypted
    InputSerializer: ClassVar[type[serializers.Serializer]]  # type: ignore[type-arg]

    params: Params
    api_key: ApiKey
    organization: Organization

    def get_exception_handler(self) -> Any:
        return exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # The raw bytes first: the signature covers them as received.
        self.params = Params.of(request._request)
        self.api_key = org_authenticate(request._request, self.params)
        api_key_require(self.api_key, "read")
        if self.permission != "read":
            api_key_require(self.api_key, "trade")
            api_key_require(self.api_key, self.permission)
        if self.poll_limit is not None:
            limit, period = self.poll_limit
            rate_limit(f"orgapi:{self.api_key.pk}:{self.operation}", limit=limit, period=period)
        self.organization = self.api_key.organization

    # --- input ---------------------------------------------------------------------------------
    def input(self) -> dict[str, Any]:
        serializer = self.InputSerializer(data=self.params.values)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @staticmethod
    def window(data: dict[str, Any]) -> tuple[int | None, int | None]:
        return time_window(data.get("start_time"), data.get("end_time"))

    # --- tenant isolation ------------------------------------------------------------------------
    def audit_foreign(self, what: str, ident: object, owner: int | None) -> None:
        """Log an attempt on another organization's object (the caller then answers "not found")."""
        if owner is not None and owner != self.organization.pk:
            security_log.warning(
                "cross-organization access refused: key %s of organization %s asked for %s %s of organization %s (%s)",
                self.api_key.pk,
                self.organization.pk,
                what,
                ident,
                owner,
                self.operation,
            )

    def user(self, uid: object) -> User:
        """The organization's user ``uid``; another organization's user is "not found" (and logged)."""
        text = "" if uid is None else str(uid).strip()
        if not text.isdigit():
            raise InvalidParameter(_("uid must be a user id (digits)"))
        user = user_get_by_uid(uid=int(text), organization_id=self.organization.pk)
        if user is None:
            self.audit_foreign("uid", text, selectors.uid_owner(int(text)))
            raise UserNotFound()
        return user

    def foreign_order(self, order_id: int | None) -> OrderNotFound:
        if order_id is not None:
            self.audit_foreign("order", order_id, selectors.order_owner(order_id))
        return OrderNotFound()

    def foreign_lockup(self, lockup_id: int) -> NotFound:
        self.audit_foreign("lockup", lockup_id, selectors.lockup_owner(lockup_id))
        return NotFound("Lock-up does not exist")

    # --- answers -------------------------------------------------------------------------------
    def read(self, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def write(self, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def respond_read(self) -> Response:
        return Response(self.read(self.input()))

    def respond_write(self) -> Response:
        data = self.input()
        answer, ran = write_once(
            organization=self.organization,
            api_key=self.api_key,
            client_order_id=data.get("client_order_id", ""),
            operation=self.operation,
            parameters=self.params.business(),
            run=lambda: self.write(data),
            sensitive=self.sensitive,
        )
        response = Response(answer)
        if not ran:
            response["X-Idempotent-Replay"] = "true"
        return response


def listing(items: list[Any], list_type: str, *, full: Any, simple: Any) -> list[Any]:
    """``list_type=full`` (default): whole objects; ``simple``: only their ids (seed 001 §3)."""
    render = simple if list_type == "simple" else full
    return [render(item) for item in items]


# --- input pieces ---------------------------------------------------------------------------------
@extend_schema_serializer(component_name="OrgApiWriteInput")
class WriteInput(serializers.Serializer):  # type: ignore[type-arg]
    client_order_id = serializers.CharField(
        max_length=64, help_text="Unique per organization; a retry with the same id returns the first answer"
    )


@extend_schema_serializer(component_name="OrgApiUidInput")
class UidInput(serializers.Serializer):  # type: ignore[type-arg]
    uid = serializers.CharField(help_text="The user's uid")


@extend_schema_serializer(component_name="OrgApiUidWriteInput")
class UidWriteInput(WriteInput):
    uid = serializers.CharField(help_text="The user's uid")


class PageFields(serializers.Serializer):  # type: ignore[type-arg]
    from_id = serializers.IntegerField(required=False, min_value=0, help_text="Rows older than this id")
    to_id = serializers.IntegerField(required=False, min_value=0, help_text="Rows newer than this id")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100)
    list_type = serializers.ChoiceField(choices=["simple", "full"], required=False, default="full")


class RangeFields(serializers.Serializer):  # type: ignore[type-arg]
    start_time = serializers.IntegerField(required=False, min_value=0, help_text="ms; the range is at most 12 hours")
    end_time = serializers.IntegerField(required=False, min_value=0, help_text="ms; the range is at most 12 hours")


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class CommaList(serializers.Field):  # type: ignore[type-arg]
    """A list given as a JSON array or as ``a,b,c`` (form bodies)."""

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, list):
            return [str(v).strip() for v in data if str(v).strip()]
        return [part.strip() for part in str(data).split(",") if part.strip()]

    def to_representation(self, value: Any) -> Any:
        return value


# --- schema pieces ---------------------------------------------------------------------------------
SIGNED = [
    OpenApiParameter("X-BH-APIKEY", str, OpenApiParameter.HEADER, required=True, description="Org API key"),
    OpenApiParameter("timestamp", int, OpenApiParameter.QUERY, required=True, description="ms since the epoch"),
    OpenApiParameter("recvWindow", int, OpenApiParameter.QUERY, description="ms the request stays valid (5000)"),
    OpenApiParameter(
        "signature",
        str,
        OpenApiParameter.QUERY,
        required=True,
        description="hex HMAC-SHA256 of the raw query string (without signature) followed by the raw body",
    ),
]
ERROR: dict[str, Any] = {
    "type": "object",
    "properties": {"code": {"type": "integer"}, "msg": {"type": "string"}},
    "required": ["code", "msg"],
}
OBJECT: dict[str, Any] = {"type": "object"}
ARRAY: dict[str, Any] = {"type": "array", "items": {}}


def responses(ok: Any) -> dict[int, Any]:
    return {200: ok, 400: ERROR, 429: ERROR, 500: ERROR}
