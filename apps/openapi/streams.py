"""``/openapi/v1/userDataStream``: create (POST), keepalive (PUT) and close (DELETE) a listen key."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.openapi.base import OBJECT, SIGNED, OpenApiView, query, responses
from apps.openapi.listen_keys import listen_key_close, listen_key_create, listen_key_keepalive

LISTEN_KEY = query("listenKey", str, True)


class UserDataStreamApi(OpenApiView):
    @extend_schema(
        parameters=SIGNED,
        request=None,
        responses=responses({"type": "object", "properties": {"listenKey": {"type": "string"}}}),
        summary="Start a user data stream: a listen key valid for 60 minutes",
        tags=["openapi-stream"],
    )
    def post(self, request: Request) -> Response:
        caller = self.signed(request, "read")
        return Response({"listenKey": listen_key_create(api_key=caller.api_key)})

    @extend_schema(
        parameters=[LISTEN_KEY, *SIGNED],
        request=None,
        responses=responses(OBJECT),
        summary="Keep a user data stream alive for 60 more minutes",
        tags=["openapi-stream"],
    )
    def put(self, request: Request) -> Response:
        caller = self.signed(request, "read")
        listen_key_keepalive(api_key=caller.api_key, listen_key=self.params.required("listenKey", max_length=128))
        return Response({})

    @extend_schema(
        parameters=[LISTEN_KEY, *SIGNED],
        request=None,
        responses=responses(OBJECT),
        summary="Close a user data stream",
        tags=["openapi-stream"],
    )
    def delete(self, request: Request) -> Response:
        caller = self.signed(request, "read")
        listen_key_close(api_key=caller.api_key, listen_key=self.params.required("listenKey", max_length=128))
        return Response({})
