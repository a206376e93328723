from typing import Any

from django.core.management.base import CommandError, CommandParser

from apps.core.management.base import JsonCommand
from apps.users.models import Organization
from apps.users.services import user_create


class Command(JsonCommand):
    help = 'Register an end user and open their accounts. Prints {"uid": …, "email": …}.'

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--org", type=int, help="Organization id (default: the first organization)")
        parser.add_argument("--kyc-level", type=int, default=0)
        parser.add_argument("--phone", default="")

    def run(self, **options: Any) -> dict[str, Any]:
        if options["org"] is not None:
            organization = Organization.objects.filter(pk=options["org"]).first()
        else:
            organization = Organization.objects.order_by("pk").first()
        if organization is None:
            raise CommandError("No such organization (run `manage.py bootstrap` first)")
        user = user_create(
            organization=organization,
            email=options["email"],
            phone=options["phone"],
            password=options["password"],
            kyc_level=options["kyc_level"],
        )
        return {"uid": str(user.uid), "email": user.email}
