from typing import Any

from django.core.management.base import CommandError, CommandParser

from apps.apikeys.services import api_key_create
from apps.core.management.base import JsonCommand
from apps.users.models import User


class Command(JsonCommand):
    help = 'Create an API key for an end user. Prints {"api_key": …, "secret": …} (the secret only now).'

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="the user's uid")
        parser.add_argument("--permissions", default="read,trade", help="comma list of read,trade,withdraw,transfer")
        parser.add_argument("--ip", action="append", default=[], help="whitelisted IP or CIDR (repeatable, ≤ 10)")
        parser.add_argument("--label", default="")

    def run(self, **options: Any) -> dict[str, Any]:
        user = User.objects.filter(uid=options["user"]).first()
        if user is None:
            raise CommandError(f"No user with uid {options['user']}")
        api_key, secret = api_key_create(
            user=user,
            label=options["label"],
            permissions=options["permissions"].split(","),
            ip_whitelist=options["ip"],
        )
        return {
            "api_key": api_key.key,
            "secret": secret,
            "permissions": api_key.permissions,
            "ip_whitelist": api_key.ip_whitelist,
            "expires_at": api_key.expires_at.isoformat() if api_key.expires_at else None,
        }
