"""The broker's rules on top of django-oauth-toolkit's validator (DESIGN.md §12).

* Only applications staff approved exist, as far as OAuth is concerned: an unapproved (or
  suspended) application is an unknown client at every endpoint, and its tokens stop working.
* Only the authorization code grant (and refreshing its tokens); implicit, password and client
  credentials are refused. Only ``response_type=code``.
* PKCE is required for public clients; ``plain`` is refused everywhere (settings), so it is S256.
* An application may ask only for its allowed scopes (``apps.oauth.scopes.ApplicationScopes``).
* A token works only while its user is active.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from oauth2_provider.models import AbstractApplication, Application
from oauth2_provider.oauth2_validators import OAuth2Validator

from apps.oauth.selectors import application_is_approved

GRANT_TYPES = ("authorization_code", "refresh_token")


class BrokerOAuth2Validator(OAuth2Validator):
    def _load_application(self, client_id: str, request: Any) -> Application | None:
        application = super()._load_application(client_id, request)
        if application is None:
            return None
        if not application_is_approved(application):
            request.client = None
            return None
        return application

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if grant_type not in GRANT_TYPES:
            return False
        return bool(super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs))

    def validate_response_type(
        self, client_id: str, response_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if response_type != "code":
            return False
        return bool(super().validate_response_type(client_id, response_type, client, request, *args, **kwargs))

    def is_pkce_required(self, client_id: str, request: Any) -> bool:
        client = request.client if isinstance(request.client, Application) else None
        if client is None or client.client_id != client_id:
            client = self._load_application(client_id, request)
        # An unknown client fails elsewhere; asking for PKCE here never lets anything through.
        return client is None or client.client_type == AbstractApplication.CLIENT_PUBLIC

    def validate_bearer_token(self, token: str, scopes: list[str], request: Any) -> bool:
        if not super().validate_bearer_token(token, scopes, request):
            return False
        access_token = request.access_token
        application = access_token.application
        if application is None or not application_is_approved(application):
            request.oauth2_error = OrderedDict(
                [("error", "invalid_token"), ("error_description", "The application is not approved")]
            )
            return False
        user = access_token.user
        if user is None or not user.is_active:
            request.oauth2_error = OrderedDict(
                [("error", "invalid_token"), ("error_description", "The user is no longer active")]
            )
            return False
        return True
