from typing import Any

from django.core.management.base import CommandParser

from apps.core.management.base import JsonCommand
from apps.oauth.services import oauth_app_create
from apps.users.selectors import organization_resolve


class Command(JsonCommand):
    help = (
        "Register and approve a third-party OAuth application (authorization code + PKCE). Prints "
        '{"client_id": …, "client_secret": …}; the secret is shown only now (null for --public).'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--redirect-uri", action="append", required=True, help="exact redirect URI (repeatable)")
        parser.add_argument("--scopes", required=True, help='e.g. "userInfo accountInfo tradeInfo"')
        parser.add_argument("--public", action="store_true", help="public client (no secret; PKCE required)")
        parser.add_argument("--organization", type=int, default=None, help="broker id (default: the first)")
        parser.add_argument("--description", default="")

    def run(self, **options: Any) -> dict[str, Any]:
        organization = organization_resolve(organization_id=options["organization"])
        application, secret = oauth_app_create(
            name=options["name"],
            organization=organization,
            redirect_uris=options["redirect_uri"],
            scopes=[options["scopes"]],
            public=options["public"],
            description=options["description"],
            approve=True,  # running this command is the staff action that approves
        )
        return {
            "client_id": application.client_id,
            "client_secret": secret,
            "client_type": application.client_type,
            "redirect_uris": application.redirect_uris.split(),
            "scopes": application.registration.allowed_scopes.split(),  # type: ignore[attr-defined]
            "organization_id": organization.pk,
        }
