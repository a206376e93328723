"""User API: the third-party applications the user authorized through OAuth, and revoking them.

The grants are read from and revoked in the OAuth provider's registry (``apps.oauth.selectors`` /
``apps.oauth.services``), not through the OAuth surface's views (docs/oauth.md).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.oauth.scopes import SCOPE_DESCRIPTIONS
from apps.oauth.selectors import oauth_grants_of, registration_of
from apps.oauth.services import oauth_grant_revoke
from apps.webapi.auth import current_user
from apps.webapi.auth_views import OkSerializer


@extend_schema_serializer(component_name="OAuthGrantScope")
class GrantScopeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    scope = serializers.CharField()
    description = serializers.CharField()


@extend_schema_serializer(component_name="OAuthGrant")
class GrantSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client_id = serializers.CharField()
    name = serializers.CharField()
    homepage = serializers.CharField()
    scopes = GrantScopeSerializer(many=True)
    authorized_at = serializers.IntegerField(help_text="When the user first allowed it (ms)")


class OAuthGrantListApi(APIView):
    @extend_schema(
        responses=GrantSerializer(many=True),
        summary="Third-party applications that hold access to the user's account (OAuth)",
    )
    def get(self, request: Request) -> Response:
        rows = []
        for grant in oauth_grants_of(user=current_user(request)):
            registration = registration_of(grant.application)
            rows.append(
                {
                    "client_id": grant.application.client_id,
                    "name": grant.application.name,
                    "homepage": registration.homepage if registration else "",
                    "scopes": [{"scope": s, "description": str(SCOPE_DESCRIPTIONS[s])} for s in grant.scopes],
                    "authorized_at": int(grant.authorized_at.timestamp() * 1000),
                }
            )
        return Response(rows)


class OAuthGrantDetailApi(APIView):
    @extend_schema(
        request=None,
        responses=OkSerializer,
        summary="Revoke an application's access: its tokens stop working at once",
    )
    def delete(self, request: Request, client_id: str) -> Response:
        oauth_grant_revoke(user=current_user(request), client_id=client_id)
        return Response({"ok": True})
