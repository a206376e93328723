"""User API: KYC status and applications (multipart uploads). Documents are never served here."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.kyc import selectors, services
from apps.kyc.models import AccountType, DocumentKind, KycApplication, KycLevel
from apps.webapi.auth import current_user


@extend_schema_serializer(component_name="KycApplication")
class ApplicationSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    level = serializers.IntegerField()
    account_type = serializers.CharField()
    country = serializers.CharField()
    state = serializers.CharField()
    reason = serializers.CharField()
    documents = serializers.ListField(child=serializers.CharField(), help_text="Kinds uploaded (files stay private)")
    created_at = serializers.IntegerField()
    reviewed_at = serializers.IntegerField(allow_null=True)


def application_payload(application: KycApplication) -> dict[str, Any]:
    return {
        "id": application.pk,
        "level": application.level,
        "account_type": application.account_type,
        "country": application.country_id,
        "state": application.state,
        "reason": application.reason,
        "documents": [d.kind for d in application.documents.all()],
        "created_at": int(application.created_at.timestamp() * 1000),
        "reviewed_at": int(application.reviewed_at.timestamp() * 1000) if application.reviewed_at else None,
    }


class KycStatusApi(APIView):
    @extend_schema_serializer(component_name="KycStatus")
    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        level = serializers.IntegerField()
        next_level = serializers.IntegerField(allow_null=True)
        applications = ApplicationSerializer(many=True)

    @extend_schema(responses=OutputSerializer, summary="The user's KYC level and applications")
    def get(self, request: Request) -> Response:
        user = current_user(request)
        return Response(
            {
                "level": user.kyc_level,
                "next_level": user.kyc_level + 1 if user.kyc_level < max(KycLevel.values) else None,
                "applications": [application_payload(a) for a in selectors.kyc_applications_of(user=user)],
            }
        )


class KycApplyApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema_serializer(component_name="KycApplyInput")
    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        level = serializers.ChoiceField(choices=KycLevel.choices)
        country = serializers.CharField(max_length=2)
        account_type = serializers.ChoiceField(choices=AccountType.choices, default=AccountType.INDIVIDUAL)
        first_name = serializers.CharField(required=False, default="", allow_blank=True)
        last_name = serializers.CharField(required=False, default="", allow_blank=True)
        company_name = serializers.CharField(required=False, default="", allow_blank=True)
        id_type = serializers.CharField(required=False, default="", allow_blank=True)
        id_number = serializers.CharField(required=False, default="", allow_blank=True)
        address = serializers.CharField(required=False, default="", allow_blank=True)
        id_front = serializers.FileField(required=False)
        id_back = serializers.FileField(required=False)
        selfie = serializers.FileField(required=False)
        proof_of_address = serializers.FileField(required=False)
        company_registration = serializers.FileField(required=False)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: ApplicationSerializer},
        summary="Apply for the next KYC level (PNG/JPEG/PDF documents)",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        uploads = [services.Upload(kind=kind, file=values.pop(kind)) for kind in DocumentKind.values if kind in values]
        application = services.kyc_application_submit(
            user=current_user(request), country_code=values.pop("country"), documents=uploads, **values
        )
        return Response(application_payload(application), status=201)
