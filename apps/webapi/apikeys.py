"""The user's own API keys (docs/apikeys.md): list, create (second factor), update, delete."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.apikeys import services
from apps.apikeys.models import ApiKey, ApiPermission
from apps.core.errors import NotFound
from apps.users.security import second_factor_check
from apps.webapi.auth import current_user
from apps.webapi.users import FactorsSerializer


@extend_schema_serializer(component_name="ApiKey")
class ApiKeyOutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]
    api_key = serializers.CharField(source="key")
    permissions = serializers.ListField(child=serializers.CharField())
    ip_whitelist = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


def _own_key(request: Request, key_id: int) -> ApiKey:
    api_key = ApiKey.objects.filter(pk=key_id, user=current_user(request)).first()
    if api_key is None:
        raise NotFound(_("API key not found"))
    return api_key


class ApiKeyListCreateApi(APIView):
    @extend_schema_serializer(component_name="ApiKeyCreateInput")
    class InputSerializer(FactorsSerializer):
        label = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")  # type: ignore[assignment]
        permissions = serializers.ListField(
            child=serializers.ChoiceField(choices=ApiPermission.choices), required=False, default=["read", "trade"]
        )
        ip_whitelist = serializers.ListField(child=serializers.CharField(), required=False, default=list)

    @extend_schema_serializer(component_name="ApiKeyCreated")
    class CreatedSerializer(ApiKeyOutputSerializer):
        secret = serializers.CharField(help_text="Shown once, now; store it safely.")

    @extend_schema(responses=ApiKeyOutputSerializer(many=True), summary="My API keys (never their secrets)")
    def get(self, request: Request) -> Response:
        keys = ApiKey.objects.filter(user=current_user(request)).order_by("-id")
        return Response(ApiKeyOutputSerializer(keys, many=True).data)

    @extend_schema(request=InputSerializer, responses=CreatedSerializer, summary="Create an API key (second factor)")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key, secret = services.api_key_create_by_user(
            user=current_user(request),
            factors=data.factors(),
            label=data.validated_data["label"],
            permissions=data.validated_data["permissions"],
            ip_whitelist=data.validated_data["ip_whitelist"],
        )
        body = dict(ApiKeyOutputSerializer(api_key).data)
        body["secret"] = secret
        return Response(body, status=201)


class ApiKeyDetailApi(APIView):
    @extend_schema_serializer(component_name="ApiKeyUpdateInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        label = serializers.CharField(required=False, allow_blank=True, max_length=64)  # type: ignore[assignment]
        permissions = serializers.ListField(
            child=serializers.ChoiceField(choices=ApiPermission.choices), required=False
        )
        ip_whitelist = serializers.ListField(child=serializers.CharField(), required=False)
        enabled = serializers.BooleanField(required=False)

    @extend_schema(responses=ApiKeyOutputSerializer, summary="One of my API keys")
    def get(self, request: Request, key_id: int) -> Response:
        return Response(ApiKeyOutputSerializer(_own_key(request, key_id)).data)

    @extend_schema(request=InputSerializer, responses=ApiKeyOutputSerializer, summary="Edit, enable or disable a key")
    def patch(self, request: Request, key_id: int) -> Response:
        api_key = _own_key(request, key_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if "permissions" in values and ApiPermission.WITHDRAW in values["permissions"]:
            # widening to withdrawals needs the same second factor as creating the key
            factors = FactorsSerializer(data=request.data)
            factors.is_valid(raise_exception=True)
            second_factor_check(user=current_user(request), factors=factors.factors())
        services.api_key_update(
            api_key=api_key,
            label=values.get("label"),
            permissions=values.get("permissions"),
            ip_whitelist=values.get("ip_whitelist"),
            enabled=values.get("enabled"),
        )
        return Response(ApiKeyOutputSerializer(api_key).data)

    @extend_schema(responses={204: None}, summary="Delete a key")
    def delete(self, request: Request, key_id: int) -> Response:
        services.api_key_delete(api_key=_own_key(request, key_id))
        return Response(status=204)
