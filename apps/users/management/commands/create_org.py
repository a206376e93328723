from typing import Any

from django.core.management.base import CommandParser

from apps.core.management.base import JsonCommand
from apps.users.services import organization_create


class Command(JsonCommand):
    help = 'Create an organization (a tenant broker) with its system accounts. Prints {"org_id": …}.'

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)

    def run(self, **options: Any) -> dict[str, Any]:
        organization = organization_create(name=options["name"])
        return {"org_id": organization.pk}
