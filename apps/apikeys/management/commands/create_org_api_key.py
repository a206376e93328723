from typing import Any

from django.core.management.base import CommandError, CommandParser

from apps.apikeys.services import org_api_key_create
from apps.core.management.base import JsonCommand
from apps.users.models import Organization


class Command(JsonCommand):
    help = 'Create an Org API key (IP whitelist mandatory). Prints {"api_key": …, "secret": …}.'

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", type=int, required=True, help="organization id")
        parser.add_argument("--ip", action="append", default=[], help="whitelisted IP or CIDR (repeatable, ≤ 10)")
        parser.add_argument("--read-only", action="store_true")
        parser.add_argument("--label", default="")

    def run(self, **options: Any) -> dict[str, Any]:
        organization = Organization.objects.filter(pk=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization with id {options['org']}")
        api_key, secret = org_api_key_create(
            organization=organization,
            ip_whitelist=options["ip"],
            read_only=options["read_only"],
            label=options["label"],
        )
        return {
            "api_key": api_key.key,
            "secret": secret,
            "organization": organization.pk,
            "permissions": api_key.permissions,
            "ip_whitelist": api_key.ip_whitelist,
        }
